//! The conformance check of [`OutboxStore`].

use super::fixtures::*;
use crate::store::*;

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
