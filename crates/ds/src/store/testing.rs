//! Test support, not used by the service: the conformance checks every
//! [`DsStore`] implementation passes (GUIDE §3.5), one per narrow trait.
//!
//! Each check takes `fresh`, which makes a new, empty store each time it
//! is called, and answers the first violation as the error. A check may use
//! the other traits to observe what the one under test did (an accepted
//! message is seen in an inbox), so each asks for a whole [`DsStore`].
//! They include what a hostile device or peer would want a store to get
//! wrong: acknowledging another device's message, a peer delivering into a
//! conversation hosted here or followed at another hub, replaying a
//! delivery, pinning an epoch it did not open.

use std::fmt::Debug;

use crosslock_wire::api::ds::DeviceRef;

use super::*;

/// Every check on stores from `fresh`.
pub fn check_ds_store<S: DsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    check_conversation_store(&fresh)?;
    check_epoch_log(&fresh)?;
    check_inbox_store(&fresh)?;
    check_outbox_store(&fresh)?;
    check_push_tokens(&fresh)?;
    check_maintenance(&fresh)?;
    Ok(())
}

// ---- fixtures ------------------------------------------------------------------

const GROUP: &[u8] = b"group-1";
const OTHER_GROUP: &[u8] = b"group-2";
const PEER: &str = "b.example";
const OTHER_PEER: &str = "c.example";

fn device(number: &str, id: &str) -> DeviceRef {
    DeviceRef {
        number: number.to_owned(),
        device: id.to_owned(),
    }
}

fn alice() -> DeviceRef {
    device("+15550100001", "alice-1")
}

fn bob() -> DeviceRef {
    device("+15550100002", "bob-1")
}

fn carol() -> DeviceRef {
    device("+15550100003", "carol-1")
}

/// Dave is homed at [`PEER`].
fn dave() -> DeviceRef {
    device("+15550100004", "dave-1")
}

fn here(device: DeviceRef) -> Member {
    Member { device, home: None }
}

fn at_peer(device: DeviceRef, peer: &str) -> Member {
    Member {
        device,
        home: Some(peer.to_owned()),
    }
}

fn fanout(to: &[Member], message_id: &str, envelope: &[u8]) -> Vec<Fanout> {
    to.iter()
        .map(|recipient| Fanout {
            recipient: recipient.clone(),
            message_id: message_id.to_owned(),
            envelope: envelope.to_vec(),
            ratchet_tree: None,
        })
        .collect()
}

/// A conversation hosted here at epoch 1 of `era`: Alice and Bob here,
/// Dave at [`PEER`].
fn conversation(group_id: &[u8], era: u32) -> HostedConversation {
    HostedConversation {
        group_id: group_id.to_vec(),
        era,
        epoch: 1,
        state: format!("state {era}/1").into_bytes(),
        group_info: format!("group info {era}/1").into_bytes(),
        ratchet_tree: format!("tree {era}/1").into_bytes(),
        members: vec![here(alice()), here(bob()), at_peer(dave(), PEER)],
        ended: false,
    }
}

/// Alice's first commit of `conversation`: she opens epoch 1; the Welcome
/// goes to Bob and Dave with the tree beside it.
fn creating(conversation: &HostedConversation, message_id: &str, at: u64) -> Accepted {
    let welcome = conversation.members[1..]
        .iter()
        .map(|recipient| Fanout {
            recipient: recipient.clone(),
            message_id: message_id.to_owned(),
            envelope: format!("welcome {message_id}").into_bytes(),
            ratchet_tree: Some(conversation.ratchet_tree.clone()),
        })
        .collect();
    Accepted {
        group_id: conversation.group_id.clone(),
        message_id: message_id.to_owned(),
        epoch: 0,
        new_state: None,
        opens: Some(EpochOwner {
            epoch: conversation.epoch,
            device: alice(),
        }),
        pin: None,
        fanout: welcome,
        at,
    }
}

/// An application message of `from` in `epoch`, claiming `authenticator`.
fn message(
    from: DeviceRef,
    message_id: &str,
    epoch: u64,
    authenticator: [u8; 32],
    to: &[Member],
    at: u64,
) -> Accepted {
    Accepted {
        group_id: GROUP.to_vec(),
        message_id: message_id.to_owned(),
        epoch,
        new_state: None,
        opens: None,
        pin: Some(Pin {
            epoch,
            authenticator,
            sender: from,
        }),
        fanout: fanout(to, message_id, message_id.as_bytes()),
        at,
    }
}

/// `committer`'s commit ending `epoch` (opening `epoch + 1`), with new
/// members `members`.
fn commit(
    committer: DeviceRef,
    message_id: &str,
    epoch: u64,
    members: &[Member],
    external: bool,
    at: u64,
) -> Accepted {
    let next = epoch + 1;
    Accepted {
        group_id: GROUP.to_vec(),
        message_id: message_id.to_owned(),
        epoch,
        new_state: Some(NewState {
            epoch: next,
            state: format!("state after {message_id}").into_bytes(),
            group_info: format!("group info after {message_id}").into_bytes(),
            ratchet_tree: format!("tree after {message_id}").into_bytes(),
            members: members.to_vec(),
            ended: false,
            commit: Some(format!("commit {message_id}").into_bytes()),
            external,
        }),
        opens: Some(EpochOwner {
            epoch: next,
            device: committer.clone(),
        }),
        pin: None,
        fanout: fanout(members, message_id, b"commit"),
        at,
    }
}

/// Deliveries a hub forwards, to devices homed here.
fn deliveries(to: &[DeviceRef], message_id: &str, envelope: &[u8]) -> Vec<Fanout> {
    to.iter()
        .map(|d| Fanout {
            recipient: here(d.clone()),
            message_id: message_id.to_owned(),
            envelope: envelope.to_vec(),
            ratchet_tree: None,
        })
        .collect()
}

/// A store hosting [`GROUP`] (era 1, epoch 1), created at time 100.
fn hosting<S: DsStore>(fresh: &impl Fn() -> S) -> Result<S, String> {
    let store = fresh();
    let c = conversation(GROUP, 1);
    let outcome = ok("create", store.create(&c, &creating(&c, "create", 100)))?;
    same("a new conversation", outcome, Outcome::Stored)?;
    Ok(store)
}

// ---- assertions ----------------------------------------------------------------

fn ok<T>(what: &str, result: Result<T, DsError>) -> Result<T, String> {
    result.map_err(|e| format!("{what}: unexpected error: {e}"))
}

fn same<T: PartialEq + Debug>(what: &str, got: T, expected: T) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, expected {expected:?}"))
    }
}

/// `result` is the error `expected` (compared by variant).
fn refused<T: Debug>(
    what: &str,
    result: Result<T, DsError>,
    expected: DsError,
) -> Result<(), String> {
    match result {
        Err(e) if std::mem::discriminant(&e) == std::mem::discriminant(&expected) => Ok(()),
        other => Err(format!("{what}: got {other:?}, expected Err({expected:?})")),
    }
}

/// The message ids waiting in `device`'s inbox, in order.
fn ids(store: &impl InboxStore, device: &DeviceRef) -> Result<Vec<String>, String> {
    Ok(ok("inbox", store.inbox(device, 0, 1000))?
        .into_iter()
        .map(|q| q.message_id)
        .collect())
}

/// The message ids waiting for `peer`, with their recipients, in order.
fn outbox_ids(store: &impl OutboxStore, peer: &str) -> Result<Vec<(String, DeviceRef)>, String> {
    Ok(ok("outbox", store.outbox(peer, 1000))?
        .into_iter()
        .map(|e| (e.message_id, e.recipient))
        .collect())
}

fn hosted(store: &impl ConversationStore, group_id: &[u8]) -> Result<HostedConversation, String> {
    match ok("conversation", store.conversation(group_id))? {
        Some(Hosting::Hub(c)) => Ok(c),
        other => Err(format!(
            "conversation: got {other:?}, expected one hosted here"
        )),
    }
}

// ---- ConversationStore ---------------------------------------------------------

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

// ---- EpochLog --------------------------------------------------------------------

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

// ---- InboxStore ------------------------------------------------------------------

/// [`InboxStore`]: per-device order (positions grow, never reused),
/// paging, acknowledgements removing only the device's own messages.
pub fn check_inbox_store<S: DsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    let store = hosting(&fresh)?;
    same(
        "an empty inbox",
        ids(&store, &carol())?,
        Vec::<String>::new(),
    )?;
    // Interleaved: from the hub's acceptance and from a peer hub.
    let both = [here(bob()), here(carol())];
    ok(
        "accept",
        store.accept(&message(alice(), "m1", 1, [1; 32], &both, 101)),
    )?;
    ok(
        "deliver_from_hub",
        store.deliver_from_hub(
            PEER,
            OTHER_GROUP,
            &deliveries(&[carol()], "f1", b"f1"),
            true,
            102,
        ),
    )?;
    ok(
        "accept",
        store.accept(&message(alice(), "m2", 1, [1; 32], &both[..1], 103)),
    )?;
    ok(
        "accept",
        store.accept(&message(alice(), "m3", 1, [1; 32], &both, 104)),
    )?;
    ok(
        "deliver_from_hub",
        store.deliver_from_hub(
            PEER,
            OTHER_GROUP,
            &deliveries(&[bob(), carol()], "f2", b"f2"),
            false,
            105,
        ),
    )?;
    same(
        "Bob's inbox in order",
        ids(&store, &bob())?,
        ["create", "m1", "m2", "m3", "f2"]
            .map(String::from)
            .to_vec(),
    )?;
    same(
        "Carol's inbox in order",
        ids(&store, &carol())?,
        ["m1", "f1", "m3", "f2"].map(String::from).to_vec(),
    )?;
    let bobs = ok("inbox", store.inbox(&bob(), 0, 100))?;
    let carols = ok("inbox", store.inbox(&carol(), 0, 100))?;
    let seqs: Vec<u64> = bobs.iter().map(|q| q.seq).collect();
    if seqs.first() == Some(&0) || seqs.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!(
            "Bob's positions are not increasing from 1: {seqs:?}"
        ));
    }
    same(
        "Bob's envelopes",
        bobs[1].envelope.as_slice(),
        b"m1".as_slice(),
    )?;
    same(
        "no tree beside a message",
        bobs[1].ratchet_tree.clone(),
        None,
    )?;
    same(
        "the tree beside a Welcome",
        bobs[0].ratchet_tree.is_some(),
        true,
    )?;

    // Paging by position.
    let page = |after, limit| -> Result<Vec<String>, String> {
        Ok(ok("inbox", store.inbox(&bob(), after, limit))?
            .into_iter()
            .map(|q| q.message_id)
            .collect())
    };
    same(
        "a first page",
        page(0, 2)?,
        vec!["create".to_owned(), "m1".to_owned()],
    )?;
    same(
        "the next page",
        page(seqs[1], 2)?,
        vec!["m2".to_owned(), "m3".to_owned()],
    )?;
    same("the last page", page(seqs[3], 2)?, vec!["f2".to_owned()])?;
    same("after the last", page(seqs[4], 2)?, Vec::<String>::new())?;
    same(
        "after the farthest position",
        page(u64::MAX, 2)?,
        Vec::<String>::new(),
    )?;
    same("a limit of zero", page(0, 0)?, Vec::<String>::new())?;

    // Carol acknowledges Bob's positions: nothing of Bob's goes.
    ok("ack", store.ack(&carol(), &seqs))?;
    ok("ack_through", store.ack_through(&carol(), 0))?;
    same(
        "Bob's inbox after Carol's acks",
        ids(&store, &bob())?,
        ["create", "m1", "m2", "m3", "f2"]
            .map(String::from)
            .to_vec(),
    )?;
    // Carol's positions that are not Bob's are hers: m1 and m3 are shared
    // messages but separate items; only hers went.
    let carols_left = ids(&store, &carol())?;
    let expected_carol: Vec<String> = carols
        .iter()
        .filter(|q| !seqs.contains(&q.seq))
        .map(|q| q.message_id.clone())
        .collect();
    same(
        "Carol's inbox after acking Bob's positions",
        carols_left,
        expected_carol,
    )?;
    // A device with the same id under another number, or the same number
    // with another id, is another device.
    for stranger in [
        device(&bob().number, "bob-2"),
        device("+15550100009", &bob().device),
    ] {
        ok("ack", store.ack(&stranger, &seqs))?;
        ok("ack_through", store.ack_through(&stranger, u64::MAX))?;
    }
    same(
        "Bob's inbox after strangers' acks",
        ids(&store, &bob())?.len(),
        5,
    )?;

    // Bob's own acknowledgements: by position (unknown positions and
    // repeats are fine) and by cursor.
    ok("ack", store.ack(&bob(), &[seqs[1], seqs[1], u64::MAX]))?;
    same(
        "Bob's inbox after an ack",
        ids(&store, &bob())?,
        ["create", "m2", "m3", "f2"].map(String::from).to_vec(),
    )?;
    ok("ack_through", store.ack_through(&bob(), seqs[2]))?;
    same(
        "Bob's inbox after a cursor ack",
        ids(&store, &bob())?,
        ["m3", "f2"].map(String::from).to_vec(),
    )?;
    ok("ack_through", store.ack_through(&bob(), seqs[1]))?;
    same("an older cursor", ids(&store, &bob())?.len(), 2)?;
    let carols_last = carols.last().map_or(0, |q| q.seq);
    ok("ack_through", store.ack_through(&carol(), carols_last))?;
    same(
        "Carol's inbox after acking all",
        ids(&store, &carol())?,
        Vec::<String>::new(),
    )?;
    same(
        "Bob's inbox after Carol acked all",
        ids(&store, &bob())?.len(),
        2,
    )?;

    // Positions are never reused: what arrives next comes after every
    // position handed out, acknowledged or not, so a cursor misses nothing.
    ok(
        "accept",
        store.accept(&message(alice(), "m4", 1, [1; 32], &both, 106)),
    )?;
    let newest = ok("inbox", store.inbox(&carol(), 0, 10))?;
    let highest = bobs.iter().chain(&carols).map(|q| q.seq).max().unwrap_or(0);
    match newest.as_slice() {
        [q] if q.seq > highest && q.message_id == "m4" => {}
        other => {
            return Err(format!(
                "a new item after acks: {other:?}, expected m4 after position {highest}"
            ));
        }
    }
    same(
        "a cursor past acknowledged items",
        page(seqs[4], 10)?,
        vec!["m4".to_owned()],
    )?;
    // While a message waits, the same message id is not stored twice for
    // the device, whichever path it comes by.
    let bobs_last = ok("inbox", store.inbox(&bob(), 0, 100))?
        .last()
        .map_or(0, |q| q.seq);
    ok("ack_through", store.ack_through(&bob(), bobs_last))?;
    ok(
        "accept",
        store.accept(&message(alice(), "m5", 1, [1; 32], &both[..1], 107)),
    )?;
    ok(
        "deliver_from_hub",
        store.deliver_from_hub(
            PEER,
            OTHER_GROUP,
            &deliveries(&[bob()], "m5", b"again"),
            false,
            108,
        ),
    )?;
    same(
        "a message waiting is stored once",
        ids(&store, &bob())?,
        vec!["m5".to_owned()],
    )?;
    Ok(())
}

// ---- OutboxStore ---------------------------------------------------------------

/// [`OutboxStore`]: fan-out to peers queued per peer in order, removal of
/// what a peer took, the creation proof of conversations hosted here
/// (DS-FED-5) and of nothing else.
pub fn check_outbox_store<S: DsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    same(
        "an empty outbox",
        ok("outbox", store.outbox(PEER, 10))?,
        vec![],
    )?;
    same("no creation", ok("creation", store.creation(GROUP))?, None)?;
    let c = conversation(GROUP, 1);
    ok("create", store.create(&c, &creating(&c, "create", 100)))?;
    let erin = device("+15550100005", "erin-1");
    let remote = [
        at_peer(dave(), PEER),
        at_peer(erin.clone(), OTHER_PEER),
        here(bob()),
    ];
    let mut tree_message = message(alice(), "m1", 1, [1; 32], &remote, 101);
    tree_message.fanout[0].ratchet_tree = Some(b"tree".to_vec());
    ok("accept", store.accept(&tree_message))?;
    ok(
        "accept",
        store.accept(&message(alice(), "m2", 1, [1; 32], &remote[..1], 102)),
    )?;
    ok(
        "accept",
        store.accept(&message(alice(), "m1", 1, [1; 32], &remote, 103)),
    )?;
    ok(
        "accept",
        store.accept(&commit(alice(), "c1", 1, &remote, false, 104)),
    )?;
    let queued = ok("outbox", store.outbox(PEER, 10))?;
    same(
        "the peer's outbox in order, once each",
        queued
            .iter()
            .map(|e| (e.message_id.as_str(), &e.recipient))
            .collect::<Vec<_>>(),
        vec![
            ("create", &dave()),
            ("m1", &dave()),
            ("m2", &dave()),
            ("c1", &dave()),
        ],
    )?;
    let seqs: Vec<u64> = queued.iter().map(|e| e.seq).collect();
    if seqs.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!("outbox positions are not increasing: {seqs:?}"));
    }
    same(
        "an outbox entry",
        queued[1].clone(),
        OutboxEntry {
            seq: seqs[1],
            peer: PEER.into(),
            group_id: GROUP.to_vec(),
            recipient: dave(),
            message_id: "m1".into(),
            envelope: b"m1".to_vec(),
            ratchet_tree: Some(b"tree".to_vec()),
        },
    )?;
    same(
        "the Welcome's tree in the outbox",
        queued[0].ratchet_tree.clone(),
        Some(c.ratchet_tree.clone()),
    )?;
    same(
        "another peer's outbox",
        outbox_ids(&store, OTHER_PEER)?,
        vec![
            ("m1".to_owned(), erin.clone()),
            ("c1".to_owned(), erin.clone()),
        ],
    )?;
    same(
        "an unknown peer's outbox",
        outbox_ids(&store, "d.example")?,
        vec![],
    )?;
    same(
        "a limit",
        ok("outbox", store.outbox(PEER, 2))?,
        queued[..2].to_vec(),
    )?;
    same(
        "Bob's inbox holds no peer's entries",
        ids(&store, &bob())?,
        ["create", "m1", "c1"].map(String::from).to_vec(),
    )?;

    // Done: removed, whatever peer; unknown positions are fine.
    let other = ok("outbox", store.outbox(OTHER_PEER, 10))?;
    ok(
        "outbox_done",
        store.outbox_done(&[seqs[0], seqs[2], other[0].seq, u64::MAX]),
    )?;
    same(
        "the peer's outbox after done",
        outbox_ids(&store, PEER)?,
        vec![("m1".to_owned(), dave()), ("c1".to_owned(), dave())],
    )?;
    same(
        "the other peer's outbox after done",
        outbox_ids(&store, OTHER_PEER)?,
        vec![("c1".to_owned(), erin)],
    )?;
    ok("outbox_done", store.outbox_done(&[seqs[0]]))?;
    ok(
        "accept",
        store.accept(&message(alice(), "m3", 1, [1; 32], &remote[..1], 105)),
    )?;
    let last = ok("outbox", store.outbox(PEER, 10))?;
    match last.last() {
        Some(e) if e.message_id == "m3" && e.seq > seqs[3] => {}
        other => {
            return Err(format!(
                "a new entry after done: {other:?}, expected m3 after {}",
                seqs[3]
            ));
        }
    }

    // DS-FED-5: the creation proof is epoch 1's GroupInfo and tree of the
    // current era, and when it was created; commits do not change it.
    same(
        "the creation proof",
        ok("creation", store.creation(GROUP))?,
        Some(Creation {
            group_info: c.group_info.clone(),
            ratchet_tree: Some(c.ratchet_tree.clone()),
            created_at: 100,
        }),
    )?;
    let era2 = conversation(GROUP, 2);
    ok(
        "create",
        store.create(&era2, &creating(&era2, "era 2", 200)),
    )?;
    same(
        "the creation proof of a new era",
        ok("creation", store.creation(GROUP))?,
        Some(Creation {
            group_info: era2.group_info.clone(),
            ratchet_tree: Some(era2.ratchet_tree.clone()),
            created_at: 200,
        }),
    )?;
    // A refused creation changes no proof.
    let mut impostor = conversation(GROUP, 2);
    impostor.group_info = b"impostor".to_vec();
    refused(
        "creating a hosted group id again",
        store.create(&impostor, &creating(&impostor, "impostor", 201)),
        DsError::ConversationExists,
    )?;
    same(
        "the creation proof after a refused creation",
        ok("creation", store.creation(GROUP))?.map(|c| c.group_info),
        Some(era2.group_info),
    )?;
    // A followed conversation has no proof here: this provider is not its hub.
    ok(
        "deliver_from_hub",
        store.deliver_from_hub(PEER, OTHER_GROUP, &[], true, 202),
    )?;
    same(
        "no creation for a followed conversation",
        ok("creation", store.creation(OTHER_GROUP))?,
        None,
    )?;
    Ok(())
}

// ---- PushTokens ------------------------------------------------------------------

/// [`PushTokens`]: one token per device, replaced by the next.
pub fn check_push_tokens<S: DsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    same(
        "no token",
        ok("push_token", store.push_token(&bob()))?,
        None,
    )?;
    ok("set_push_token", store.set_push_token(&bob(), "token-1"))?;
    same(
        "a token",
        ok("push_token", store.push_token(&bob()))?,
        Some("token-1".into()),
    )?;
    ok("set_push_token", store.set_push_token(&bob(), "token-2"))?;
    same(
        "a replaced token",
        ok("push_token", store.push_token(&bob()))?,
        Some("token-2".into()),
    )?;
    for stranger in [
        device(&bob().number, "bob-2"),
        device("+15550100009", &bob().device),
        carol(),
    ] {
        same(
            "another device's token",
            ok("push_token", store.push_token(&stranger))?,
            None,
        )?;
    }
    ok("set_push_token", store.set_push_token(&carol(), "token-2"))?;
    same(
        "a token shared by two devices",
        ok("push_token", store.push_token(&carol()))?,
        Some("token-2".into()),
    )?;
    same(
        "the first device's token",
        ok("push_token", store.push_token(&bob()))?,
        Some("token-2".into()),
    )?;
    Ok(())
}

// ---- Maintenance ------------------------------------------------------------------

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
