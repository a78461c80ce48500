//! The conformance check of [`ConversationStore`].

use crosslock_wire::api::ds::DeviceRef;

use super::fixtures::*;
use crate::store::*;

/// [`ConversationStore`]: creation (duplicates, taken group ids, a new
/// era), acceptance (duplicates, the compare-and-set of commits, unknown
/// and followed conversations), deliveries from a hub (DS-FED-4 and
/// DS-FED-5 refusals, replays), each refusal storing nothing.
pub fn check_conversation_store<S: DsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    check_create(&fresh)?;
    check_accept(&fresh)?;
    check_deliver_from_hub(&fresh)?;
    Ok(())
}

fn check_create<S: DsStore>(fresh: &impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    same(
        "an unknown conversation",
        ok("conversation", store.conversation(GROUP))?,
        None,
    )?;
    let c = conversation(GROUP, 1);
    same(
        "create",
        ok("create", store.create(&c, &creating(&c, "create", 100)))?,
        Outcome::Stored,
    )?;
    same(
        "the created conversation",
        hosted(&store, GROUP)?,
        c.clone(),
    )?;
    // The Welcome's fan-out landed with it, the tree beside it.
    let bobs = ok("inbox", store.inbox(&bob(), 0, 10))?;
    same("Bob's Welcome", bobs.len(), 1)?;
    same("the Welcome's id", bobs[0].message_id.as_str(), "create")?;
    same(
        "the Welcome's tree",
        bobs[0].ratchet_tree.as_ref(),
        Some(&c.ratchet_tree),
    )?;
    same(
        "the creator's inbox",
        ids(&store, &alice())?,
        Vec::<String>::new(),
    )?;
    same(
        "the Welcome queued for the peer",
        outbox_ids(&store, PEER)?,
        vec![("create".to_owned(), dave())],
    )?;

    // A retry of the creating commit: a duplicate, fanned out once.
    same(
        "the creating commit again",
        ok("create", store.create(&c, &creating(&c, "create", 101)))?,
        Outcome::Duplicate,
    )?;
    same(
        "Bob's inbox after a retry",
        ids(&store, &bob())?,
        vec!["create".to_owned()],
    )?;
    same(
        "the outbox after a retry",
        outbox_ids(&store, PEER)?.len(),
        1,
    )?;

    // Another creation of the same group id in the same or an older era:
    // refused, nothing stored (not even its message id).
    for era in [1, 0] {
        let mut other = conversation(GROUP, era);
        other.state = b"impostor".to_vec();
        refused(
            "creating a hosted group id again",
            store.create(&other, &creating(&other, "impostor", 102)),
            DsError::ConversationExists,
        )?;
    }
    same(
        "the conversation after refusals",
        hosted(&store, GROUP)?,
        c.clone(),
    )?;
    same(
        "Bob's inbox after refusals",
        ids(&store, &bob())?,
        vec!["create".to_owned()],
    )?;
    same(
        "the outbox after refusals",
        outbox_ids(&store, PEER)?.len(),
        1,
    )?;
    same(
        "the refused creation's message id is not taken",
        ok(
            "accept",
            store.accept(&message(bob(), "impostor", 1, [1; 32], &[], 103)),
        )?,
        Outcome::Stored,
    )?;

    // A later era replaces it (RCC.16 recovery, last step).
    let era2 = conversation(GROUP, 2);
    same(
        "a new era",
        ok(
            "create",
            store.create(&era2, &creating(&era2, "era 2", 200)),
        )?,
        Outcome::Stored,
    )?;
    same(
        "the conversation in its new era",
        hosted(&store, GROUP)?,
        era2,
    )?;
    same(
        "Bob's inbox after the new era",
        ids(&store, &bob())?,
        vec!["create".to_owned(), "era 2".to_owned()],
    )?;

    // A group id followed here cannot be created here.
    ok(
        "deliver_from_hub",
        store.deliver_from_hub(
            PEER,
            OTHER_GROUP,
            &deliveries(&[bob()], "m", b"m"),
            true,
            300,
        ),
    )?;
    for era in [1, 99] {
        let followed = conversation(OTHER_GROUP, era);
        refused(
            "creating a group id followed here",
            store.create(&followed, &creating(&followed, "take over", 301)),
            DsError::ConversationExists,
        )?;
    }
    same(
        "the followed conversation",
        ok("conversation", store.conversation(OTHER_GROUP))?,
        Some(Hosting::Follower { hub: PEER.into() }),
    )?;
    same(
        "Bob's inbox after a refused take-over",
        ids(&store, &bob())?,
        vec!["create".to_owned(), "era 2".to_owned(), "m".to_owned()],
    )?;
    same(
        "the outbox after a refused take-over",
        outbox_ids(&store, PEER)?.len(),
        2,
    )?;
    Ok(())
}

fn check_accept<S: DsStore>(fresh: &impl Fn() -> S) -> Result<(), String> {
    // Unknown and followed conversations take nothing.
    let store = fresh();
    refused(
        "a message for an unknown conversation",
        store.accept(&message(bob(), "m1", 1, [1; 32], &[here(carol())], 100)),
        DsError::UnknownConversation,
    )?;
    ok(
        "deliver_from_hub",
        store.deliver_from_hub(PEER, GROUP, &[], true, 100),
    )?;
    refused(
        "a message for a followed conversation",
        store.accept(&message(bob(), "m1", 1, [1; 32], &[here(carol())], 101)),
        DsError::UnknownConversation,
    )?;
    refused(
        "a commit for a followed conversation",
        store.accept(&commit(bob(), "c1", 0, &[here(carol())], false, 101)),
        DsError::UnknownConversation,
    )?;
    same(
        "Carol's inbox",
        ids(&store, &carol())?,
        Vec::<String>::new(),
    )?;

    let store = hosting(fresh)?;
    let c = conversation(GROUP, 1);
    let everyone = c.members.clone();
    // An application message: fanned out, the state unchanged.
    same(
        "a message",
        ok(
            "accept",
            store.accept(&message(bob(), "m1", 1, [1; 32], &everyone[..1], 110)),
        )?,
        Outcome::Stored,
    )?;
    same(
        "Alice's inbox",
        ids(&store, &alice())?,
        vec!["m1".to_owned()],
    )?;
    same(
        "the conversation after a message",
        hosted(&store, GROUP)?,
        c.clone(),
    )?;
    // Its retry, even with another body: a duplicate, fanned out once.
    let mut retry = message(bob(), "m1", 1, [1; 32], &everyone, 111);
    retry.fanout[0].envelope = b"replaced".to_vec();
    same(
        "the message again",
        ok("accept", store.accept(&retry))?,
        Outcome::Duplicate,
    )?;
    let alices = ok("inbox", store.inbox(&alice(), 0, 10))?;
    same("Alice's inbox after a retry", alices.len(), 1)?;
    same(
        "the first body stays",
        alices[0].envelope.as_slice(),
        b"m1".as_slice(),
    )?;
    same(
        "the outbox after a duplicate",
        outbox_ids(&store, PEER)?.len(),
        1,
    )?;
    // A late message of an earlier epoch is stored (no compare-and-set
    // for what changes no state).
    same(
        "a late message",
        ok(
            "accept",
            store.accept(&message(bob(), "late", 0, [1; 32], &everyone[..1], 112)),
        )?,
        Outcome::Stored,
    )?;

    // A commit moves the state, with its fan-out.
    let members = vec![here(alice()), here(bob()), here(carol())];
    same(
        "a commit",
        ok(
            "accept",
            store.accept(&commit(bob(), "c1", 1, &members, false, 120)),
        )?,
        Outcome::Stored,
    )?;
    let after = HostedConversation {
        group_id: GROUP.to_vec(),
        era: 1,
        epoch: 2,
        state: b"state after c1".to_vec(),
        group_info: b"group info after c1".to_vec(),
        ratchet_tree: b"tree after c1".to_vec(),
        members: members.clone(),
        ended: false,
    };
    same(
        "the conversation after a commit",
        hosted(&store, GROUP)?,
        after.clone(),
    )?;
    same(
        "Carol's inbox after the commit",
        ids(&store, &carol())?,
        vec!["c1".to_owned()],
    )?;

    // Another commit of epoch 1 lost the race: a conflict, nothing stored
    // (no state, no fan-out, no commit, no owner, no message id).
    let mut loser = commit(alice(), "c1-loser", 1, &everyone, false, 121);
    loser.pin = Some(Pin {
        epoch: 2,
        authenticator: [9; 32],
        sender: alice(),
    });
    same(
        "a commit from an epoch left",
        ok("accept", store.accept(&loser))?,
        Outcome::Conflict,
    )?;
    same(
        "the conversation after a conflict",
        hosted(&store, GROUP)?,
        after.clone(),
    )?;
    same(
        "Carol's inbox after a conflict",
        ids(&store, &carol())?,
        vec!["c1".to_owned()],
    )?;
    same(
        "the outbox after a conflict",
        outbox_ids(&store, PEER)?.len(),
        1,
    )?;
    same(
        "the commits after a conflict",
        ok("commits", store.commits(GROUP, 0, 10))?.len(),
        1,
    )?;
    same(
        "no authenticator pinned by a conflict",
        ok(
            "epoch_authenticator",
            store.epoch_authenticator(GROUP, 1, 2),
        )?,
        None,
    )?;
    // A proposal (a state change without a commit) from an epoch left:
    // a conflict too.
    let mut proposal = commit(alice(), "p1", 1, &members, false, 122);
    if let Some(new) = proposal.new_state.as_mut() {
        new.epoch = 1;
        new.commit = None;
    }
    same(
        "a proposal from an epoch left",
        ok("accept", store.accept(&proposal))?,
        Outcome::Conflict,
    )?;
    // The loser's message id was not taken: its retry in the current epoch
    // is stored, and Bob (who opened epoch 2) did not own what it pinned.
    same(
        "the loser's retry",
        ok(
            "accept",
            store.accept(&commit(alice(), "c1-loser", 2, &members, false, 123)),
        )?,
        Outcome::Stored,
    )?;
    same("the epoch after the retry", hosted(&store, GROUP)?.epoch, 3)?;
    same(
        "the commit the retry won is logged",
        ok("commits", store.commits(GROUP, 2, 10))?
            .into_iter()
            .map(|q| (q.seq, q.message_id))
            .collect::<Vec<_>>(),
        vec![(2, "c1-loser".to_owned())],
    )?;
    // The winning commit again: a duplicate, not a conflict.
    same(
        "the winning commit again",
        ok(
            "accept",
            store.accept(&commit(bob(), "c1", 1, &members, false, 124)),
        )?,
        Outcome::Duplicate,
    )?;
    Ok(())
}

fn check_deliver_from_hub<S: DsStore>(fresh: &impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    // DS-FED-5: an unknown conversation needs the proof of its creation.
    refused(
        "a delivery for an unknown conversation without a proof",
        store.deliver_from_hub(
            PEER,
            OTHER_GROUP,
            &deliveries(&[bob()], "m1", b"x"),
            false,
            100,
        ),
        DsError::HubUnproven,
    )?;
    same(
        "the unproven conversation",
        ok("conversation", store.conversation(OTHER_GROUP))?,
        None,
    )?;
    same(
        "Bob's inbox after an unproven delivery",
        ids(&store, &bob())?,
        Vec::<String>::new(),
    )?;

    // With it, the peer is the hub from now on.
    let first = [
        deliveries(&[carol(), bob()], "m1", b"m1"),
        deliveries(&[bob()], "m2", b"m2"),
    ]
    .concat();
    same(
        "a proven delivery wakes each recipient once, sorted",
        ok(
            "deliver_from_hub",
            store.deliver_from_hub(PEER, OTHER_GROUP, &first, true, 101),
        )?,
        vec![bob(), carol()],
    )?;
    same(
        "the followed conversation",
        ok("conversation", store.conversation(OTHER_GROUP))?,
        Some(Hosting::Follower { hub: PEER.into() }),
    )?;
    same(
        "Bob's inbox",
        ids(&store, &bob())?,
        vec!["m1".to_owned(), "m2".to_owned()],
    )?;
    same(
        "Carol's inbox",
        ids(&store, &carol())?,
        vec!["m1".to_owned()],
    )?;
    // Its later deliveries need no proof.
    same(
        "a later delivery",
        ok(
            "deliver_from_hub",
            store.deliver_from_hub(
                PEER,
                OTHER_GROUP,
                &deliveries(&[carol()], "m3", b"m3"),
                false,
                102,
            ),
        )?,
        vec![carol()],
    )?;
    // The tree beside a Welcome is kept.
    let mut welcome = deliveries(&[alice()], "w1", b"welcome");
    welcome[0].ratchet_tree = Some(b"tree".to_vec());
    ok(
        "deliver_from_hub",
        store.deliver_from_hub(PEER, OTHER_GROUP, &welcome, false, 103),
    )?;
    let alices = ok("inbox", store.inbox(&alice(), 0, 10))?;
    same(
        "the Welcome's tree",
        alices.first().and_then(|q| q.ratchet_tree.clone()),
        Some(b"tree".to_vec()),
    )?;

    // A replay, even with another body, is stored once and wakes nobody;
    // a replay beside something new wakes only the new item's recipient.
    let mut replay = first.clone();
    replay[0].envelope = b"forged".to_vec();
    same(
        "a replayed delivery",
        ok(
            "deliver_from_hub",
            store.deliver_from_hub(PEER, OTHER_GROUP, &replay, true, 104),
        )?,
        Vec::<DeviceRef>::new(),
    )?;
    let mixed = [first.clone(), deliveries(&[bob()], "m4", b"m4")].concat();
    same(
        "a replay with something new",
        ok(
            "deliver_from_hub",
            store.deliver_from_hub(PEER, OTHER_GROUP, &mixed, false, 105),
        )?,
        vec![bob()],
    )?;
    same(
        "Bob's inbox after replays",
        ids(&store, &bob())?,
        vec!["m1".to_owned(), "m2".to_owned(), "m4".to_owned()],
    )?;
    let carols = ok("inbox", store.inbox(&carol(), 0, 10))?;
    same(
        "Carol's inbox after replays",
        carols
            .iter()
            .map(|q| (q.message_id.as_str(), q.envelope.as_slice()))
            .collect::<Vec<_>>(),
        vec![("m1", b"m1".as_slice()), ("m3", b"m3".as_slice())],
    )?;

    // DS-FED-4: another peer cannot deliver for a conversation followed
    // at this hub, proof or not.
    for proven in [false, true] {
        refused(
            "a delivery from another peer",
            store.deliver_from_hub(
                OTHER_PEER,
                OTHER_GROUP,
                &deliveries(&[bob()], "forged", b"forged"),
                proven,
                106,
            ),
            DsError::NotTheHub,
        )?;
    }
    same(
        "the followed conversation after a forged delivery",
        ok("conversation", store.conversation(OTHER_GROUP))?,
        Some(Hosting::Follower { hub: PEER.into() }),
    )?;

    // DS-FED-4: no peer can deliver for a conversation hosted here, proof
    // or not; nothing is stored and the conversation stays hosted here.
    let c = conversation(GROUP, 1);
    ok("create", store.create(&c, &creating(&c, "create", 107)))?;
    let before = ids(&store, &bob())?;
    for peer in [PEER, OTHER_PEER] {
        for proven in [false, true] {
            refused(
                "a delivery for a conversation hosted here",
                store.deliver_from_hub(
                    peer,
                    GROUP,
                    &deliveries(&[bob(), carol()], "forged", b"forged"),
                    proven,
                    108,
                ),
                DsError::NotTheHub,
            )?;
        }
    }
    same(
        "Bob's inbox after forged deliveries",
        ids(&store, &bob())?,
        before,
    )?;
    same(
        "Carol's inbox after forged deliveries",
        ids(&store, &carol())?,
        vec!["m1".to_owned(), "m3".to_owned()],
    )?;
    same(
        "the hosted conversation after forged deliveries",
        hosted(&store, GROUP)?,
        c,
    )?;
    same(
        "the creation proof after forged deliveries",
        ok("creation", store.creation(GROUP))?.is_some(),
        true,
    )?;
    Ok(())
}
