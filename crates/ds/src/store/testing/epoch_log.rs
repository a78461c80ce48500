//! The conformance check of [`EpochLog`].

use super::fixtures::*;
use crate::store::*;

/// [`EpochLog`]: DS-AUTH-1 (only the device that opened an epoch pins its
/// authenticator, the first claim stays), the commit log of the current
/// era, the count of external commits.
pub fn check_epoch_log<S: DsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    let store = hosting(&fresh)?;
    let pinned = |epoch| {
        ok(
            "epoch_authenticator",
            store.epoch_authenticator(GROUP, 1, epoch),
        )
    };
    same("nothing pinned", pinned(1)?, None)?;
    // Bob did not open epoch 1 (Alice did): his claim pins nothing.
    ok(
        "accept",
        store.accept(&message(bob(), "b1", 1, [0xbb; 32], &[], 101)),
    )?;
    same(
        "a claim of a device that did not open the epoch",
        pinned(1)?,
        None,
    )?;
    // Alice's does; her later claims and a duplicate change nothing.
    ok(
        "accept",
        store.accept(&message(alice(), "a1", 1, [0xaa; 32], &[], 102)),
    )?;
    same("the opener's claim", pinned(1)?, Some([0xaa; 32]))?;
    ok(
        "accept",
        store.accept(&message(alice(), "a2", 1, [0xcc; 32], &[], 103)),
    )?;
    ok(
        "accept",
        store.accept(&message(alice(), "b1", 1, [0xdd; 32], &[], 104)),
    )?;
    same("the first claim stays", pinned(1)?, Some([0xaa; 32]))?;
    same(
        "another era",
        ok(
            "epoch_authenticator",
            store.epoch_authenticator(GROUP, 2, 1),
        )?,
        None,
    )?;
    same(
        "another group",
        ok(
            "epoch_authenticator",
            store.epoch_authenticator(OTHER_GROUP, 1, 1),
        )?,
        None,
    )?;
    // Nobody owns epoch 2 yet: Bob's claim of it pins nothing, even once
    // he opens it.
    ok(
        "accept",
        store.accept(&message(bob(), "b2", 2, [0xb2; 32], &[], 105)),
    )?;
    same("a claim of an epoch nobody opened", pinned(2)?, None)?;
    let members = conversation(GROUP, 1).members;
    ok(
        "accept",
        store.accept(&commit(bob(), "c1", 1, &members, false, 106)),
    )?;
    same("an earlier claim does not pin", pinned(2)?, None)?;
    // A commit that opens an epoch and claims it pins at once (an external
    // commit, MLS-EXT-2).
    let mut external = commit(carol(), "c2", 2, &members, true, 107);
    external.pin = Some(Pin {
        epoch: 3,
        authenticator: [0xc3; 32],
        sender: carol(),
    });
    ok("accept", store.accept(&external))?;
    same(
        "the opener's claim in its own commit",
        pinned(3)?,
        Some([0xc3; 32]),
    )?;
    // The owner of an epoch is the first one recorded: a second opener
    // (not a commit a DS accepts, but the store must keep the first) pins
    // nothing.
    let mut second = message(alice(), "second opener", 3, [0xa3; 32], &[], 108);
    second.opens = Some(EpochOwner {
        epoch: 3,
        device: alice(),
    });
    ok("accept", store.accept(&second))?;
    same("a second opener's claim", pinned(3)?, Some([0xc3; 32]))?;
    let mut fourth = message(alice(), "fourth", 4, [0xa4; 32], &[], 109);
    fourth.opens = Some(EpochOwner {
        epoch: 5,
        device: bob(),
    });
    ok("accept", store.accept(&fourth))?;
    ok(
        "accept",
        store.accept(&message(bob(), "b5", 5, [0xb5; 32], &[], 110)),
    )?;
    same(
        "an owner recorded by a message",
        pinned(5)?,
        Some([0xb5; 32]),
    )?;

    // The commit log: commits (not proposals or messages) of the current
    // era, by the epoch they ended.
    let log = |from, limit| ok("commits", store.commits(GROUP, from, limit));
    let entry = |epoch: u64, id: &str| Queued {
        seq: epoch,
        message_id: id.to_owned(),
        envelope: format!("commit {id}").into_bytes(),
        ratchet_tree: None,
    };
    same(
        "the commit log",
        log(0, 10)?,
        vec![entry(1, "c1"), entry(2, "c2")],
    )?;
    same("from an epoch", log(2, 10)?, vec![entry(2, "c2")])?;
    same("a limit", log(0, 1)?, vec![entry(1, "c1")])?;
    same("past the end", log(3, 10)?, vec![])?;
    same("from the farthest epoch", log(u64::MAX, 10)?, vec![])?;
    same(
        "an unknown conversation's commits",
        ok("commits", store.commits(OTHER_GROUP, 0, 10))?,
        vec![],
    )?;
    let mut proposal = commit(alice(), "p1", 3, &members, false, 111);
    if let Some(new) = proposal.new_state.as_mut() {
        new.epoch = 3;
        new.commit = None;
    }
    same(
        "a proposal",
        ok("accept", store.accept(&proposal))?,
        Outcome::Stored,
    )?;
    same("a proposal is no commit", log(0, 10)?.len(), 2)?;
    ok(
        "accept",
        store.accept(&commit(alice(), "c3", 3, &members, true, 200)),
    )?;

    // External commits: counted from `since` on, inclusive.
    let external = |since| {
        ok(
            "external_commits_since",
            store.external_commits_since(GROUP, since),
        )
    };
    same("every external commit", external(0)?, 2)?;
    same("since the first", external(107)?, 2)?;
    same("after the first", external(108)?, 1)?;
    same("after the last", external(201)?, 0)?;
    same(
        "another conversation's",
        ok(
            "external_commits_since",
            store.external_commits_since(OTHER_GROUP, 0),
        )?,
        0,
    )?;

    // A new era: its log starts empty, the old era's authenticators stay
    // under their era, and its external commits still count against the
    // daily limit.
    let era2 = conversation(GROUP, 2);
    ok(
        "create",
        store.create(&era2, &creating(&era2, "era 2", 300)),
    )?;
    same("the commit log of a new era", log(0, 10)?, vec![])?;
    same("the old era's pin", pinned(1)?, Some([0xaa; 32]))?;
    same(
        "the new era's epoch 1",
        ok(
            "epoch_authenticator",
            store.epoch_authenticator(GROUP, 2, 1),
        )?,
        None,
    )?;
    same("external commits across eras", external(0)?, 2)?;
    let mut first = message(alice(), "era 2 a1", 1, [0x21; 32], &[], 301);
    first.group_id = GROUP.to_vec();
    ok("accept", store.accept(&first))?;
    same(
        "the new era's opener pins",
        ok(
            "epoch_authenticator",
            store.epoch_authenticator(GROUP, 2, 1),
        )?,
        Some([0x21; 32]),
    )?;
    Ok(())
}
