//! The conformance check of [`TransparencyQueue`].

use super::fixtures::*;
use crate::store::*;

/// [`TransparencyQueue`]: every enrolment and revocation queues its number
/// (moving it to the back); publishing or skipping an entry removes it
/// unless the number was queued again since it was read (so no change is
/// ever left unpublished, KDS-KT-1); skipped numbers are listed until
/// published; the keys a binding publishes.
pub fn check_transparency_queue<S: KdsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    same("an empty queue", queued(&store)?, Vec::<String>::new())?;
    same("its length", ok("queue_len", store.queue_len())?, 0)?;
    ok("enroll", enrol(ALICE, "a1", "t1", 1000).run(&store))?;
    ok("enroll", enrol(BOB, "b1", "t2", 1001).run(&store))?;
    ok("enroll", enrol(CAROL, "c1", "t3", 1002).run(&store))?;
    same(
        "enrolled numbers",
        queued(&store)?,
        strings(&[ALICE, BOB, CAROL]),
    )?;
    same("their count", ok("queue_len", store.queue_len())?, 3)?;
    same(
        "the oldest two",
        ok("queued", store.queued(2))?
            .into_iter()
            .map(|q| q.number)
            .collect::<Vec<_>>(),
        strings(&[ALICE, BOB]),
    )?;
    let before = ok("queued", store.queued(10))?;
    if before.windows(2).any(|w| w[0].seq >= w[1].seq) {
        return Err(format!("queue positions do not grow: {before:?}"));
    }
    // A change moves the number to the back, above every position.
    ok("enroll", enrol(ALICE, "a2", "t4", 1003).run(&store))?;
    let after = ok("queued", store.queued(10))?;
    same(
        "a number queued again",
        after.iter().map(|q| q.number.as_str()).collect::<Vec<_>>(),
        vec![BOB, CAROL, ALICE],
    )?;
    if after[2].seq <= before.iter().map(|q| q.seq).max().unwrap_or(0) {
        return Err(format!(
            "a number queued again kept an old position: {after:?}"
        ));
    }

    // Publishing what was read removes it, unless it changed since.
    ok("enroll", enrol(BOB, "b2", "t5", 1004).run(&store))?;
    ok("dequeue", store.dequeue(&after))?;
    same(
        "after publishing, a number changed since",
        queued(&store)?,
        strings(&[BOB]),
    )?;
    same("its count", ok("queue_len", store.queue_len())?, 1)?;

    // Skipping (KDS-KT-1) removes the entry and remembers why.
    let bob = ok("queued", store.queued(10))?;
    let skip = |q: &QueuedNumber, reason: &str, at| SkippedNumber {
        number: q.number.clone(),
        seq: q.seq,
        reason: reason.to_owned(),
        skipped_at: at,
    };
    ok("skip", store.skip(&[skip(&bob[0], "no credential", 3000)]))?;
    same("after skipping", queued(&store)?, Vec::<String>::new())?;
    same(
        "the skipped number",
        ok("skipped", store.skipped())?,
        vec![skip(&bob[0], "no credential", 3000)],
    )?;
    // A skip of an entry queued again since leaves the new entry.
    ok("enroll", enrol(CAROL, "c2", "t6", 1005).run(&store))?;
    let carol = ok("queued", store.queued(10))?;
    let stale = QueuedNumber {
        number: CAROL.to_owned(),
        seq: carol[0].seq - 1,
    };
    ok("skip", store.skip(&[skip(&stale, "stale", 2999)]))?;
    same("after a stale skip", queued(&store)?, strings(&[CAROL]))?;
    same(
        "skipped numbers, oldest first",
        ok("skipped", store.skipped())?
            .into_iter()
            .map(|s| s.number)
            .collect::<Vec<_>>(),
        strings(&[CAROL, BOB]),
    )?;
    // Publishing a number forgets that it was skipped.
    ok("dequeue", store.dequeue(&carol))?;
    same("after publishing it", queued(&store)?, Vec::<String>::new())?;
    same(
        "skipped numbers after",
        ok("skipped", store.skipped())?
            .into_iter()
            .map(|s| s.number)
            .collect::<Vec<_>>(),
        strings(&[BOB]),
    )?;

    // A revocation queues its number.
    same(
        "revoke",
        ok("revoke", store.revoke(Some("a1"), None, 4000))?,
        1,
    )?;
    same("after a revocation", queued(&store)?, strings(&[ALICE]))?;
    // Every number that ever had a device, revoked or not.
    same(
        "revoke",
        ok("revoke", store.revoke(None, Some(CAROL), 4001))?,
        2,
    )?;
    same(
        "queue every number",
        ok("queue_all_numbers", store.queue_all_numbers())?,
        3,
    )?;
    let mut all = queued(&store)?;
    all.sort();
    same("every number queued", all, strings(&[ALICE, BOB, CAROL]))?;

    // The keys of a binding: current credentials of active devices.
    let mut a0 = enrol(ALICE, "a0", "t7", 4002);
    a0.credentials = vec![credential("a0", "a0/z"), credential("a0", "a0/a")];
    ok("enroll", a0.run(&store))?;
    same(
        "the keys of a number",
        ok("keys_of_number", store.keys_of_number(ALICE))?,
        vec![
            credential("a0", "a0/z"),
            credential("a0", "a0/a"),
            credential("a2", "a2/t4"),
        ],
    )?;
    same(
        "the keys of a number without devices",
        ok("keys_of_number", store.keys_of_number(CAROL))?,
        vec![],
    )?;
    Ok(())
}
