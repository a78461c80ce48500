//! What the checks build and how they compare: devices, conversations,
//! accepted messages, deliveries; assertions answering the first
//! violation as the error.

use std::fmt::Debug;

use crosslock_wire::api::ds::DeviceRef;

use crate::error::DsError;
use crate::store::*;

pub(super) const GROUP: &[u8] = b"group-1";
pub(super) const OTHER_GROUP: &[u8] = b"group-2";
pub(super) const PEER: &str = "b.example";
pub(super) const OTHER_PEER: &str = "c.example";

pub(super) fn device(number: &str, id: &str) -> DeviceRef {
    DeviceRef {
        number: number.to_owned(),
        device: id.to_owned(),
    }
}

pub(super) fn alice() -> DeviceRef {
    device("+15550100001", "alice-1")
}

pub(super) fn bob() -> DeviceRef {
    device("+15550100002", "bob-1")
}

pub(super) fn carol() -> DeviceRef {
    device("+15550100003", "carol-1")
}

/// Dave is homed at [`PEER`].
pub(super) fn dave() -> DeviceRef {
    device("+15550100004", "dave-1")
}

pub(super) fn here(device: DeviceRef) -> Member {
    Member { device, home: None }
}

pub(super) fn at_peer(device: DeviceRef, peer: &str) -> Member {
    Member {
        device,
        home: Some(peer.to_owned()),
    }
}

pub(super) fn fanout(to: &[Member], message_id: &str, envelope: &[u8]) -> Vec<Fanout> {
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
pub(super) fn conversation(group_id: &[u8], era: u32) -> HostedConversation {
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
pub(super) fn creating(conversation: &HostedConversation, message_id: &str, at: u64) -> Accepted {
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
pub(super) fn message(
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
pub(super) fn commit(
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
pub(super) fn deliveries(to: &[DeviceRef], message_id: &str, envelope: &[u8]) -> Vec<Fanout> {
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
pub(super) fn hosting<S: DsStore>(fresh: &impl Fn() -> S) -> Result<S, String> {
    let store = fresh();
    let c = conversation(GROUP, 1);
    let outcome = ok("create", store.create(&c, &creating(&c, "create", 100)))?;
    same("a new conversation", outcome, Outcome::Stored)?;
    Ok(store)
}

// ---- assertions ----------------------------------------------------------------

pub(super) fn ok<T>(what: &str, result: Result<T, DsError>) -> Result<T, String> {
    result.map_err(|e| format!("{what}: unexpected error: {e}"))
}

pub(super) fn same<T: PartialEq + Debug>(what: &str, got: T, expected: T) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, expected {expected:?}"))
    }
}

/// `result` is the error `expected` (compared by variant).
pub(super) fn refused<T: Debug>(
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
pub(super) fn ids(store: &impl InboxStore, device: &DeviceRef) -> Result<Vec<String>, String> {
    Ok(ok("inbox", store.inbox(device, 0, 1000))?
        .into_iter()
        .map(|q| q.message_id)
        .collect())
}

/// The message ids waiting for `peer`, with their recipients, in order.
pub(super) fn outbox_ids(
    store: &impl OutboxStore,
    peer: &str,
) -> Result<Vec<(String, DeviceRef)>, String> {
    Ok(ok("outbox", store.outbox(peer, 1000))?
        .into_iter()
        .map(|e| (e.message_id, e.recipient))
        .collect())
}

pub(super) fn hosted(
    store: &impl ConversationStore,
    group_id: &[u8],
) -> Result<HostedConversation, String> {
    match ok("conversation", store.conversation(group_id))? {
        Some(Hosting::Hub(c)) => Ok(c),
        other => Err(format!(
            "conversation: got {other:?}, expected one hosted here"
        )),
    }
}
