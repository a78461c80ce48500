//! Concurrent callers on several instances of one store: what provider
//! instances sharing one database do (docs/scale-out.md).

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};

use super::fixtures::*;
use crate::config::RateLimit;
use crate::error::KdsError;
use crate::store::*;

/// How many callers race in each check.
const CALLERS: usize = 6;

/// Runs `call(i, store)` for callers `0..CALLERS` at once, caller `i` on
/// instance `i % stores.len()`; their answers in caller order.
fn race<S: KdsStore, T: Send>(stores: &[S], call: impl Fn(usize, &S) -> T + Sync) -> Vec<T> {
    let start = Barrier::new(CALLERS);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (start, call) = (&start, &call);
                let store = &stores[i % stores.len()];
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

/// Counts the answers that are `Ok`, failing on any error other than
/// `refusal` (compared by variant).
fn successes<T: std::fmt::Debug>(
    what: &str,
    answers: Vec<Result<T, KdsError>>,
    refusal: &KdsError,
) -> Result<usize, String> {
    let mut n = 0;
    for answer in answers {
        match answer {
            Ok(_) => n += 1,
            Err(e) if std::mem::discriminant(&e) == std::mem::discriminant(refusal) => {}
            Err(e) => return Err(format!("{what}: unexpected error: {e}")),
        }
    }
    Ok(n)
}

/// KDS-STORE-1: the single-instance guarantees hold with concurrent
/// callers spread over several instances of one store (`instances(n)` opens `n` handles on one
/// new, empty store): a KeyPackage is claimed once, however many claim at
/// once, and none is lost; a rate bucket gives exactly its burst; a nonce
/// is taken once; a number's device limit, a proof's use limit and a
/// device id's owner hold against simultaneous enrolments; a KeyPackage
/// uploaded at once by several devices is accepted once; a secret is
/// chosen once; a publisher draining the transparency queue while numbers
/// change ends with every number's last binding published (KDS-KT-1).
pub fn check_concurrency<S: KdsStore>(instances: impl Fn(usize) -> Vec<S>) -> Result<(), String> {
    check_claims(&instances(2))?;
    check_rate(&instances(2))?;
    check_nonces(&instances(2))?;
    check_enrolments(&instances(2))?;
    check_uploads(&instances(2))?;
    check_secret(&instances(2))?;
    check_queue(&instances(2))?;
    Ok(())
}

fn check_claims<S: KdsStore>(stores: &[S]) -> Result<(), String> {
    const PACKAGES: usize = 48;
    ok("enroll", enrol(ALICE, "d1", "t1", 1000).run(&stores[0]))?;
    let mut upload: Vec<StoredKeyPackage> = (0..PACKAGES)
        .map(|i| kp(SUITE, &format!("{i:02}"), 5000))
        .collect();
    upload.push(last_resort(SUITE, "l", 5000));
    ok(
        "add_key_packages",
        stores[0].add_key_packages("d1", &upload, PACKAGES, 1000),
    )?;
    let answers = race(stores, |_, store| {
        let mut got = Vec::new();
        // Bounded: a store that never runs out fails below, not forever.
        for _ in 0..=PACKAGES {
            let claim = store.claim(ALICE, None, 2000)?;
            let kp = claim
                .into_iter()
                .find(|(d, _)| d == "d1")
                .and_then(|(_, kps)| kps.into_iter().next());
            match kp {
                Some(kp) if kp != b"last resort l" => got.push(kp),
                _ => break,
            }
        }
        Ok::<_, KdsError>(got)
    });
    let mut all = Vec::new();
    for answer in answers {
        all.extend(ok("concurrent claims", answer)?);
    }
    let distinct: BTreeSet<_> = all.iter().cloned().collect();
    same(
        "KeyPackages handed out twice by concurrent claims",
        all.len() - distinct.len(),
        0,
    )?;
    same(
        "KeyPackages handed out by concurrent claims",
        distinct,
        upload[..PACKAGES].iter().map(|k| k.bytes.clone()).collect(),
    )?;
    same(
        "the stock after concurrent claims",
        stock_of(&stores[1], "d1", 2000)?,
        stock(&[], &[SUITE]),
    )?;
    Ok(())
}

fn check_rate<S: KdsStore>(stores: &[S]) -> Result<(), String> {
    const BURST: u32 = 25;
    let answers = race(stores, |_, store| {
        let mut taken = Vec::new();
        for _ in 0..10 {
            let bucket = Bucket {
                key: b"shared".to_vec(),
                limit: RateLimit {
                    burst: BURST,
                    refill_secs: 1_000_000,
                },
            };
            taken.push(store.take_tokens(&[bucket], 1000));
        }
        taken
    });
    let mut given = 0;
    for answer in answers.into_iter().flatten() {
        if ok("concurrent take_tokens", answer)?.is_ok() {
            given += 1;
        }
    }
    same("tokens given by concurrent takers", given, BURST as usize)
}

fn check_nonces<S: KdsStore>(stores: &[S]) -> Result<(), String> {
    const NONCES: usize = 16;
    for n in 0..NONCES {
        ok(
            "insert_nonce",
            stores[n % 2].insert_nonce(&[n as u8; 32], 5000),
        )?;
    }
    let answers = race(stores, |i, store| {
        (0..NONCES)
            .map(|k| {
                let n = (k + i * 5) % NONCES;
                store.take_nonce(&[n as u8; 32], 1000).map(|t| (n, t))
            })
            .collect::<Vec<_>>()
    });
    let mut taken = vec![0; NONCES];
    for answer in answers.into_iter().flatten() {
        let (n, t) = ok("concurrent take_nonce", answer)?;
        taken[n] += usize::from(t);
    }
    same("times each nonce was taken", taken, vec![1; NONCES])
}

fn check_enrolments<S: KdsStore>(stores: &[S]) -> Result<(), String> {
    // KDS-ENR-9: a number's device limit.
    let answers = race(stores, |i, store| {
        let mut e = enrol(BOB, &format!("b{i}"), &format!("tb{i}"), 1000);
        e.max_devices = 3;
        e.run(store)
    });
    same(
        "devices enrolled at once for one number, limit 3",
        successes(
            "concurrent enrolments",
            answers,
            &KdsError::TooManyDevices(0),
        )?,
        3,
    )?;
    same("the number's devices", active(&stores[0], BOB)?.len(), 3)?;

    // KDS-ENR-10: a proof's use limit.
    let answers = race(stores, |i, store| {
        let mut e = enrol(
            &format!("+1555020{i:04}"),
            &format!("p{i}"),
            &format!("tp{i}"),
            1000,
        );
        e.proof = "one proof".into();
        e.max_per_proof = 2;
        e.run(store)
    });
    same(
        "devices enrolled at once with one proof, limit 2",
        successes("concurrent enrolments", answers, &KdsError::ProofUsedUp(0))?,
        2,
    )?;

    // KDS-ENR-8: one device id, one number.
    let answers = race(stores, |i, store| {
        enrol(
            &format!("+1555030{i:04}"),
            "shared-id",
            &format!("ts{i}"),
            1000,
        )
        .run(store)
    });
    same(
        "numbers taking one device id at once",
        successes("concurrent enrolments", answers, &KdsError::DeviceIdTaken)?,
        1,
    )?;
    let owners: usize = (0..CALLERS)
        .map(|i| active(&stores[1], &format!("+1555030{i:04}")).map(|d| d.len()))
        .sum::<Result<usize, String>>()?;
    same("owners of the device id", owners, 1)
}

fn check_uploads<S: KdsStore>(stores: &[S]) -> Result<(), String> {
    for i in 0..CALLERS {
        ok(
            "enroll",
            enrol(CAROL, &format!("c{i}"), &format!("tc{i}"), 1000).run(&stores[0]),
        )?;
    }
    let answers = race(stores, |i, store| {
        store.add_key_packages(&format!("c{i}"), &[kp(SUITE, "replayed", 5000)], 10, 1000)
    });
    same(
        "devices uploading one KeyPackage at once",
        successes(
            "concurrent uploads",
            answers,
            &KdsError::KeyPackage(String::new()),
        )?,
        1,
    )?;
    let in_stock: u32 = (0..CALLERS)
        .map(|i| {
            stock_of(&stores[1], &format!("c{i}"), 1000)
                .map(|s| s.available.get(&SUITE).copied().unwrap_or(0))
        })
        .sum::<Result<u32, String>>()?;
    same("copies of the KeyPackage in stock", in_stock, 1)
}

fn check_secret<S: KdsStore>(stores: &[S]) -> Result<(), String> {
    let answers = race(stores, |i, store| {
        store.secret("chosen once", [i as u8; 32])
    });
    let mut values = BTreeSet::new();
    for answer in answers {
        values.insert(ok("concurrent secret", answer)?);
    }
    same("secrets chosen at once", values.len(), 1)
}

fn check_queue<S: KdsStore>(stores: &[S]) -> Result<(), String> {
    const NUMBERS: usize = 4;
    const ENROLMENTS: usize = 6;
    let number = |n: usize| format!("+1555040{n:04}");
    let enrollers_done = AtomicUsize::new(0);
    // What the publisher last published per number: its device count.
    let published: Mutex<BTreeMap<String, usize>> = Mutex::default();
    let answers = race(stores, |i, store| {
        if i > 0 {
            // Enrollers: each adds devices to every number in turn.
            let result = (0..ENROLMENTS).try_for_each(|k| {
                let n = number((i + k) % NUMBERS);
                enrol(&n, &format!("q{i}-{k}"), &format!("tq{i}-{k}"), 1000).run(store)
            });
            enrollers_done.fetch_add(1, Ordering::SeqCst);
            return result.map_err(|e| e.to_string());
        }
        // The publisher: read the queue, read each binding, dequeue what
        // was read; until the enrollers are done and the queue is empty.
        for _ in 0..100_000 {
            let done = enrollers_done.load(Ordering::SeqCst) == CALLERS - 1;
            let queued = store.queued(100).map_err(|e| e.to_string())?;
            if done && queued.is_empty() {
                return Ok(());
            }
            for q in &queued {
                let devices = store.active_devices(&q.number).map_err(|e| e.to_string())?;
                if let Ok(mut p) = published.lock() {
                    p.insert(q.number.clone(), devices.len());
                }
            }
            store.dequeue(&queued).map_err(|e| e.to_string())?;
        }
        Err("the publisher never saw the queue empty".into())
    });
    for answer in answers {
        answer.map_err(|e| format!("concurrent publishing: {e}"))?;
    }
    let published = published.into_inner().map_err(|_| "poisoned")?;
    for n in 0..NUMBERS {
        let now = active(&stores[0], &number(n))?.len();
        same(
            &format!("the last binding published for number {n} while it changed"),
            published.get(&number(n)).copied(),
            Some(now),
        )?;
    }
    Ok(())
}
