#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Acknowledgements are batched in memory; `Maintenance::flush` (which the DS
//! calls every second) writes them, so that a crash after a lone
//! acknowledgement does not redeliver the item.

use crosslock_ds::store::{
    ConversationStore, Fanout, InboxStore, Maintenance, Member, SqliteDsStore,
};
use crosslock_wire::api::ds::DeviceRef;

fn bob() -> DeviceRef {
    DeviceRef {
        number: "+15550100002".into(),
        device: "bob-1".into(),
    }
}

/// Two items in Bob's inbox, delivered as a peer hub would (its creation
/// proof checked by the caller).
fn two_items(store: &SqliteDsStore) {
    let deliveries: Vec<Fanout> = ["m1", "m2"]
        .iter()
        .map(|id| Fanout {
            recipient: Member {
                device: bob(),
                home: None,
            },
            message_id: (*id).into(),
            envelope: b"envelope".to_vec(),
            ratchet_tree: None,
        })
        .collect();
    store
        .deliver_from_hub("hub.example", b"group", &deliveries, true, 1)
        .unwrap();
}

/// What a second process opening the same file sees: the pending
/// acknowledgements of the first live only in the first's memory.
fn seen_by_another_process(path: &std::path::Path) -> Vec<String> {
    let other = SqliteDsStore::open(path).unwrap();
    let ids = other
        .inbox(&bob(), 0, 10)
        .unwrap()
        .into_iter()
        .map(|q| q.message_id)
        .collect();
    std::mem::forget(other); // no flush of its own on drop
    ids
}

#[test]
fn a_lone_acknowledgement_is_written_by_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ds.sqlite3");
    let store = SqliteDsStore::open(&path).unwrap();
    two_items(&store);
    let first = store.inbox(&bob(), 0, 10).unwrap()[0].seq;
    store.ack(&bob(), &[first]).unwrap();
    // Hidden from this process at once, but not yet written.
    assert_eq!(store.inbox(&bob(), 0, 10).unwrap().len(), 1);
    assert_eq!(seen_by_another_process(&path), ["m1", "m2"]);
    store.flush().unwrap();
    assert_eq!(seen_by_another_process(&path), ["m2"]);
    // Nothing pending: flushing again changes nothing.
    store.flush().unwrap();
    assert_eq!(seen_by_another_process(&path), ["m2"]);
}
