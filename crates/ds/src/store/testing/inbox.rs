//! The conformance check of [`InboxStore`].

use super::fixtures::*;
use crate::store::*;

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
