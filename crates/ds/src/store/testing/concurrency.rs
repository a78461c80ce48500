//! Concurrent callers on several instances of one store: what provider
//! instances sharing one database do (docs/scale-out.md, DS-STORE-1).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use super::fixtures::*;
use crate::error::DsError;
use crate::store::*;

/// How many callers race in each check.
const CALLERS: usize = 6;

/// Commits raced for, one epoch after another.
const ROUNDS: u64 = 8;

/// Messages each writer appends in the inbox and outbox checks.
const PER_WRITER: usize = 25;

/// DS-STORE-1: the single-instance guarantees hold with concurrent callers
/// spread over several instances of one store (`instances(n)` opens `n`
/// handles on one new, empty store): of competing commits for one epoch,
/// exactly one wins and the others get the conflict, and the log, state
/// and fan-out are the winner's; a message id submitted at once through
/// several instances is stored once, and so is a replayed delivery; of
/// simultaneous creations of one group, one wins; a device's inbox read
/// with a cursor (and acknowledged through it) while six writers append to
/// it gets every message exactly once and in each writer's order,
/// positions only growing; a peer's outbox drained while six conversations
/// queue for it forwards every entry once, in each conversation's order.
pub fn check_concurrency<S: DsStore>(
    instances: impl Fn(usize) -> Vec<Arc<S>>,
) -> Result<(), String> {
    check_commits(&instances(2))?;
    check_duplicates(&instances(2))?;
    check_inbox_order(&instances(2))?;
    check_outbox_order(&instances(2))?;
    Ok(())
}

/// Runs `call(i, store)` for callers `0..CALLERS` at once, caller `i` on
/// instance `i % stores.len()`; their answers in caller order.
fn race<S: DsStore, T: Send>(stores: &[Arc<S>], call: impl Fn(usize, &S) -> T + Sync) -> Vec<T> {
    let start = Barrier::new(CALLERS);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (start, call) = (&start, &call);
                let store = &*stores[i % stores.len()];
                scope.spawn(move || {
                    start.wait();
                    call(i, store)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Counts each outcome; any error fails.
fn outcomes(
    what: &str,
    answers: Vec<Result<Outcome, DsError>>,
) -> Result<BTreeMap<String, usize>, String> {
    let mut counts = BTreeMap::new();
    for answer in answers {
        let outcome = match answer {
            Ok(o) => format!("{o:?}"),
            Err(DsError::ConversationExists) => "ConversationExists".to_owned(),
            Err(e) => return Err(format!("{what}: unexpected error: {e}")),
        };
        *counts.entry(outcome).or_default() += 1;
    }
    Ok(counts)
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// A conversation `group_id` hosted on `store`, created by Alice.
fn host<S: DsStore>(store: &S, group_id: &[u8], members: &[Member]) -> Result<(), String> {
    let mut c = conversation(group_id, 1);
    c.members = members.to_vec();
    let id = format!("create {}", String::from_utf8_lossy(group_id));
    let outcome = ok("create", store.create(&c, &creating(&c, &id, 100)))?;
    same("a new conversation", outcome, Outcome::Stored)
}

/// [`GROUP`] hosted on `store` (era 1, epoch 1), created at time 100.
fn create_group<S: DsStore>(store: &S) -> Result<(), String> {
    let c = conversation(GROUP, 1);
    let outcome = ok("create", store.create(&c, &creating(&c, "create", 100)))?;
    same("a new conversation", outcome, Outcome::Stored)
}

/// An application message in `group_id` (epoch 1) to `to`.
fn post(group_id: &[u8], message_id: &str, to: &[Member], at: u64) -> Accepted {
    Accepted {
        group_id: group_id.to_vec(),
        message_id: message_id.to_owned(),
        epoch: 1,
        new_state: None,
        opens: None,
        pin: None,
        fanout: fanout(to, message_id, message_id.as_bytes()),
        at,
    }
}

/// Competing commits for each epoch, through both instances: one wins.
fn check_commits<S: DsStore>(stores: &[Arc<S>]) -> Result<(), String> {
    let members = conversation(GROUP, 1).members;
    create_group(&*stores[0])?;
    let store = &stores[0];
    let mut winners = Vec::new();
    for round in 0..ROUNDS {
        let epoch = 1 + round;
        let answers = race(stores, |i, store| {
            let committer = if i % 2 == 0 { alice() } else { bob() };
            let id = format!("c{round}-{i}");
            store.accept(&commit(committer, &id, epoch, &members, false, 200 + round))
        });
        let winner = answers
            .iter()
            .position(|a| matches!(a, Ok(Outcome::Stored)));
        same(
            "competing commits for one epoch",
            outcomes("competing commits", answers)?,
            counts(&[("Stored", 1), ("Conflict", CALLERS - 1)]),
        )?;
        let id = format!("c{round}-{}", winner.unwrap_or(0));
        let now = hosted(&*stores[1], GROUP)?;
        same("the epoch after a raced commit", now.epoch, epoch + 1)?;
        same(
            "the state after a raced commit",
            now.state,
            format!("state after {id}").into_bytes(),
        )?;
        winners.push(id);
    }
    let log: Vec<(u64, String)> = ok("commits", stores[1].commits(GROUP, 1, 100))?
        .into_iter()
        .map(|q| (q.seq, q.message_id))
        .collect();
    same(
        "the commit log after raced commits",
        log,
        (1..=ROUNDS).zip(winners.iter().cloned()).collect(),
    )?;
    let mut expected = vec!["create".to_owned()];
    expected.extend(winners.iter().cloned());
    same(
        "Bob's inbox after raced commits",
        ids(&**store, &bob())?,
        expected.clone(),
    )?;
    same(
        "the outbox after raced commits",
        outbox_ids(&*stores[1], PEER)?
            .into_iter()
            .map(|(id, _)| id)
            .collect::<Vec<_>>(),
        expected,
    )
}

/// One message id, one delivery, one creation, submitted at once.
fn check_duplicates<S: DsStore>(stores: &[Arc<S>]) -> Result<(), String> {
    create_group(&*stores[0])?;
    let to = [here(bob()), here(carol())];
    let answers = race(stores, |_, store| {
        store.accept(&message(alice(), "same", 1, [1; 32], &to, 300))
    });
    same(
        "one message id submitted at once",
        outcomes("one message id submitted at once", answers)?,
        counts(&[("Stored", 1), ("Duplicate", CALLERS - 1)]),
    )?;
    same(
        "Carol's inbox after one message id submitted at once",
        ids(&*stores[1], &carol())?,
        vec!["same".to_owned()],
    )?;

    let answers = race(stores, |_, store| {
        store.deliver_from_hub(
            PEER,
            OTHER_GROUP,
            &deliveries(&[carol()], "f", b"f"),
            true,
            301,
        )
    });
    let mut woken = Vec::new();
    for answer in answers {
        woken.extend(ok("a delivery replayed at once", answer)?);
    }
    same(
        "recipients woken by a delivery replayed at once",
        woken,
        vec![carol()],
    )?;
    same(
        "Carol's inbox after a delivery replayed at once",
        ids(&*stores[0], &carol())?,
        vec!["same".to_owned(), "f".to_owned()],
    )?;
    same(
        "the conversation a delivery made known",
        ok("conversation", stores[1].conversation(OTHER_GROUP))?,
        Some(Hosting::Follower {
            hub: PEER.to_owned(),
        }),
    )?;

    let answers = race(stores, |i, store| {
        let c = conversation(b"group-3", 1);
        store.create(&c, &creating(&c, &format!("create-{i}"), 302))
    });
    same(
        "one group created at once",
        outcomes("one group created at once", answers)?,
        counts(&[("ConversationExists", CALLERS - 1), ("Stored", 1)]),
    )?;
    let creations = ids(&*stores[1], &bob())?
        .into_iter()
        .filter(|id| id.starts_with("create-"))
        .count();
    same("Welcomes of one group created at once", creations, 1)
}

/// Six writers append to Carol's (and Bob's) inbox, half through
/// conversations hosted here, half through deliveries from a hub, while
/// Carol reads with a cursor and acknowledges through it.
fn check_inbox_order<S: DsStore>(stores: &[Arc<S>]) -> Result<(), String> {
    let group = |i: usize| format!("group-w{i}").into_bytes();
    for i in (0..CALLERS).step_by(2) {
        host(&*stores[i % stores.len()], &group(i), &[here(alice())])?;
    }
    let finished = AtomicUsize::new(0);
    let start = Barrier::new(CALLERS + 1);
    let (read, written) = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (start, finished, group) = (&start, &finished, &group);
                let store = &*stores[i % stores.len()];
                scope.spawn(move || {
                    start.wait();
                    let result = (|| {
                        for k in 0..PER_WRITER {
                            let id = format!("w{i}-{k:02}");
                            if i % 2 == 0 {
                                let to = [here(bob()), here(carol())];
                                let outcome =
                                    ok("accept", store.accept(&post(&group(i), &id, &to, 400)))?;
                                same("a message appended", outcome, Outcome::Stored)?;
                            } else {
                                // Listed in the other order: the store
                                // locks inboxes in its own order.
                                let to = [carol(), bob()];
                                ok(
                                    "deliver_from_hub",
                                    store.deliver_from_hub(
                                        PEER,
                                        &group(i),
                                        &deliveries(&to, &id, id.as_bytes()),
                                        true,
                                        400,
                                    ),
                                )?;
                            }
                        }
                        Ok::<_, String>(())
                    })();
                    finished.fetch_add(1, Ordering::SeqCst);
                    result
                })
            })
            .collect();
        let (start, finished) = (&start, &finished);
        let store = &*stores[1];
        let reader = scope.spawn(move || {
            start.wait();
            let mut cursor = 0u64;
            let mut got = Vec::new();
            loop {
                let done = finished.load(Ordering::SeqCst) == CALLERS;
                let page = ok("inbox", store.inbox(&carol(), cursor, 7))?;
                for q in &page {
                    if q.seq <= cursor {
                        return Err(format!(
                            "Carol's inbox under concurrent appends: position {} after cursor {cursor}",
                            q.seq
                        ));
                    }
                    cursor = q.seq;
                    got.push(q.message_id.clone());
                }
                if !page.is_empty() {
                    // The device processed everything up to its cursor.
                    ok("ack_through", store.ack_through(&carol(), cursor))?;
                } else if done {
                    return Ok(got);
                }
            }
        });
        let written: Result<Vec<()>, String> = writers
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        let read = reader
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (read, written)
    });
    written?;
    let read = read?;
    let expected: Vec<String> = (0..CALLERS)
        .flat_map(|i| (0..PER_WRITER).map(move |k| format!("w{i}-{k:02}")))
        .collect();
    in_writer_order("Carol's reads under concurrent appends", &read, &expected)?;
    let bobs = ok(
        "inbox",
        stores[0].inbox(&bob(), 0, 10 * CALLERS * PER_WRITER),
    )?;
    if bobs.windows(2).any(|w| w[0].seq >= w[1].seq) {
        return Err("Bob's positions after concurrent appends do not grow".into());
    }
    let bobs: Vec<String> = bobs.into_iter().map(|q| q.message_id).collect();
    in_writer_order("Bob's inbox after concurrent appends", &bobs, &expected)
}

/// `got` holds each of `expected` exactly once, and each writer's (the
/// prefix before `-`) in its order.
fn in_writer_order(what: &str, got: &[String], expected: &[String]) -> Result<(), String> {
    let distinct: BTreeSet<&String> = got.iter().collect();
    same(
        &format!("{what}: messages seen twice"),
        got.len() - distinct.len(),
        0,
    )?;
    let missing: Vec<&String> = expected
        .iter()
        .filter(|id| !distinct.contains(id))
        .collect();
    same(&format!("{what}: messages missed"), missing, Vec::new())?;
    same(
        &format!("{what}: messages seen"),
        distinct.len(),
        expected.len(),
    )?;
    let mut by_writer: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for id in got {
        let writer = id.split('-').next().unwrap_or_default();
        by_writer.entry(writer).or_default().push(id);
    }
    for (writer, ids) in by_writer {
        if ids.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!("{what}: writer {writer}'s messages out of order"));
        }
    }
    Ok(())
}

/// Six conversations queue for Dave at a peer while a pump drains the
/// outbox.
fn check_outbox_order<S: DsStore>(stores: &[Arc<S>]) -> Result<(), String> {
    let group = |i: usize| format!("group-o{i}").into_bytes();
    let dave = at_peer(dave(), PEER);
    for i in 0..CALLERS {
        host(
            &*stores[i % stores.len()],
            &group(i),
            &[here(alice()), dave.clone()],
        )?;
    }
    // The Welcomes of the creations go first.
    let welcomes = ok("outbox", stores[0].outbox(PEER, 100))?;
    same("Welcomes queued", welcomes.len(), CALLERS)?;
    ok(
        "outbox_done",
        stores[1].outbox_done(&welcomes.iter().map(|e| e.seq).collect::<Vec<_>>()),
    )?;
    let finished = AtomicUsize::new(0);
    let start = Barrier::new(CALLERS + 1);
    let (pumped, written) = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (start, finished, group, dave) = (&start, &finished, &group, &dave);
                let store = &*stores[i % stores.len()];
                scope.spawn(move || {
                    start.wait();
                    let result = (|| {
                        for k in 0..PER_WRITER {
                            let id = format!("o{i}-{k:02}");
                            let to = [dave.clone()];
                            let outcome =
                                ok("accept", store.accept(&post(&group(i), &id, &to, 500)))?;
                            same("a message queued", outcome, Outcome::Stored)?;
                        }
                        Ok::<_, String>(())
                    })();
                    finished.fetch_add(1, Ordering::SeqCst);
                    result
                })
            })
            .collect();
        let (start, finished) = (&start, &finished);
        let store = &*stores[1];
        let pump = scope.spawn(move || {
            start.wait();
            let mut got = Vec::new();
            loop {
                let done = finished.load(Ordering::SeqCst) == CALLERS;
                let batch = ok("outbox", store.outbox(PEER, 10))?;
                if batch.is_empty() && done {
                    return Ok(got);
                }
                for e in &batch {
                    if e.group_id != group(e.message_id[1..2].parse().unwrap_or(99)) {
                        return Err(format!("{} queued with another group", e.message_id));
                    }
                }
                ok(
                    "outbox_done",
                    store.outbox_done(&batch.iter().map(|e| e.seq).collect::<Vec<_>>()),
                )?;
                got.extend(batch.into_iter().map(|e| e.message_id));
            }
        });
        let written: Result<Vec<()>, String> = writers
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        let pumped = pump.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (pumped, written)
    });
    written?;
    let pumped = pumped?;
    let expected: Vec<String> = (0..CALLERS)
        .flat_map(|i| (0..PER_WRITER).map(move |k| format!("o{i}-{k:02}")))
        .collect();
    in_writer_order(
        "the outbox drained under concurrent queueing",
        &pumped,
        &expected,
    )?;
    same(
        "the outbox after it was drained",
        outbox_ids(&*stores[0], PEER)?,
        Vec::new(),
    )
}
