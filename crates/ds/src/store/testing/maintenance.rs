//! The conformance check of [`Maintenance`].

use super::fixtures::*;
use crate::store::*;

/// [`Maintenance`]: purging what was stored before a time (inbox items,
/// idempotency records, commits, epoch authenticators and owners), keeping
/// conversations, creation proofs, outbox entries and push tokens; flushing.
pub fn check_maintenance<S: DsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    let store = hosting(&fresh)?; // at 100
    ok("flush", store.flush())?;
    same("nothing to purge", ok("purge", store.purge(100))?, 0)?;
    let everyone = conversation(GROUP, 1).members;
    ok(
        "accept",
        store.accept(&message(alice(), "old", 1, [0xaa; 32], &everyone, 110)),
    )?;
    ok(
        "accept",
        store.accept(&commit(bob(), "old commit", 1, &everyone, true, 120)),
    )?;
    ok(
        "deliver_from_hub",
        store.deliver_from_hub(
            PEER,
            OTHER_GROUP,
            &deliveries(&[carol()], "followed", b"x"),
            true,
            130,
        ),
    )?;
    ok(
        "accept",
        store.accept(&message(bob(), "new", 2, [0xbb; 32], &everyone, 200)),
    )?;
    ok("set_push_token", store.set_push_token(&bob(), "token"))?;
    // Bob acknowledged one old item: it is gone already, not counted.
    let bobs = ok("inbox", store.inbox(&bob(), 0, 10))?;
    ok("ack", store.ack(&bob(), &[bobs[0].seq]))?;
    ok("flush", store.flush())?;
    same(
        "Bob's inbox before the purge",
        ids(&store, &bob())?,
        ["old", "old commit", "new"].map(String::from).to_vec(),
    )?;

    // Before 200: Bob's two old items, Carol's followed item (Alice sent
    // "old" and commits go to every member, so hers count too).
    let alices = ids(&store, &alice())?;
    let expected = 2 + 1 + alices.iter().filter(|m| *m != "new").count() as u64;
    same(
        "inbox items purged",
        ok("purge", store.purge(200))?,
        expected,
    )?;
    same(
        "Bob's inbox after the purge",
        ids(&store, &bob())?,
        vec!["new".to_owned()],
    )?;
    same(
        "Carol's inbox after the purge",
        ids(&store, &carol())?,
        Vec::<String>::new(),
    )?;
    // Not at the cut-off itself.
    same(
        "an item stored at the cut-off stays",
        ok("purge", store.purge(200))?,
        0,
    )?;
    // Idempotency records, commits, pins and owners went with them.
    same(
        "an old message id is forgotten",
        ok(
            "accept",
            store.accept(&message(alice(), "old", 2, [0xaa; 32], &[], 201)),
        )?,
        Outcome::Stored,
    )?;
    same(
        "a new message id is remembered",
        ok(
            "accept",
            store.accept(&message(bob(), "new", 2, [0xbb; 32], &[], 202)),
        )?,
        Outcome::Duplicate,
    )?;
    same(
        "old commits",
        ok("commits", store.commits(GROUP, 0, 10))?,
        vec![],
    )?;
    same(
        "old external commits",
        ok(
            "external_commits_since",
            store.external_commits_since(GROUP, 0),
        )?,
        0,
    )?;
    same(
        "an old pin",
        ok(
            "epoch_authenticator",
            store.epoch_authenticator(GROUP, 1, 1),
        )?,
        None,
    )?;
    same(
        "a pin stored at the cut-off stays",
        ok(
            "epoch_authenticator",
            store.epoch_authenticator(GROUP, 1, 2),
        )?,
        Some([0xbb; 32]),
    )?;
    // Alice's ownership of epoch 1 (recorded at 100) went too.
    ok(
        "accept",
        store.accept(&message(alice(), "owner gone", 1, [0xa1; 32], &[], 203)),
    )?;
    same(
        "an old owner pins nothing",
        ok(
            "epoch_authenticator",
            store.epoch_authenticator(GROUP, 1, 1),
        )?,
        None,
    )?;
    // What stays.
    same("the conversation", hosted(&store, GROUP)?.epoch, 2)?;
    same(
        "the followed conversation",
        ok("conversation", store.conversation(OTHER_GROUP))?,
        Some(Hosting::Follower { hub: PEER.into() }),
    )?;
    same(
        "the creation proof",
        ok("creation", store.creation(GROUP))?.map(|c| c.created_at),
        Some(100),
    )?;
    same("the outbox", outbox_ids(&store, PEER)?.len(), 4)?;
    same(
        "the push token",
        ok("push_token", store.push_token(&bob()))?,
        Some("token".into()),
    )?;
    ok("flush", store.flush())?;
    same(
        "a flush changes nothing",
        ids(&store, &bob())?,
        vec!["new".to_owned()],
    )?;
    Ok(())
}
