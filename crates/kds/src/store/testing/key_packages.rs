//! The conformance check of [`KeyPackageStore`].

use super::fixtures::*;
use crate::error::KdsError;
use crate::store::*;

/// [`KeyPackageStore`]: stock per suite, single use (a claimed KeyPackage
/// is never handed out again, nor accepted again; KDS-CLM-2), the
/// last-resort package served when none is left and replaced by the next,
/// expired ones never served, the per-suite limit (KDS-KP-4), and a refused
/// upload storing nothing.
pub fn check_key_package_store<S: KdsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    check_upload(&fresh)?;
    check_claims(&fresh)?;
    Ok(())
}

fn check_upload<S: KdsStore>(fresh: &impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    ok("enroll", enrol(ALICE, "d1", "t1", 1000).run(&store))?;
    ok("enroll", enrol(BOB, "d2", "t2", 1000).run(&store))?;
    let add = |device: &str, kps: &[StoredKeyPackage], max, now| {
        store.add_key_packages(device, kps, max, now)
    };
    let first = [
        kp(SUITE, "s1", 5000),
        kp(SUITE, "s2", 5000),
        kp(SUITE, "s3", 5000),
        last_resort(SUITE, "l1", 5000),
        kp(OTHER_SUITE, "o1", 5000),
        kp(OTHER_SUITE, "o2", 5000),
    ];
    same(
        "the stock after an upload",
        ok("add_key_packages", add("d1", &first, 10, 1000))?,
        stock(&[(SUITE, 3), (OTHER_SUITE, 2)], &[SUITE]),
    )?;
    same(
        "the stock",
        stock_of(&store, "d1", 1000)?,
        stock(&[(SUITE, 3), (OTHER_SUITE, 2)], &[SUITE]),
    )?;
    same(
        "another device's stock",
        stock_of(&store, "d2", 1000)?,
        stock(&[], &[]),
    )?;

    // A KeyPackage uploaded again (a replay, or a retry) refuses its whole
    // upload: single use means accepted once.
    let replayed = [kp(SUITE, "s4", 5000), kp(SUITE, "s1", 5000)];
    refused(
        "an upload with a KeyPackage uploaded before",
        add("d1", &replayed, 10, 1001),
        KdsError::KeyPackage(String::new()),
    )?;
    refused(
        "another device uploading the same KeyPackage",
        add("d2", &[kp(SUITE, "s2", 5000)], 10, 1001),
        KdsError::KeyPackage(String::new()),
    )?;
    refused(
        "an upload with the same KeyPackage twice",
        add(
            "d1",
            &[kp(SUITE, "s5", 5000), kp(SUITE, "s5", 5000)],
            10,
            1001,
        ),
        KdsError::KeyPackage(String::new()),
    )?;
    same(
        "the stock after refused uploads",
        stock_of(&store, "d1", 1001)?,
        stock(&[(SUITE, 3), (OTHER_SUITE, 2)], &[SUITE]),
    )?;
    same(
        "the other device's stock after",
        stock_of(&store, "d2", 1001)?,
        stock(&[], &[]),
    )?;
    // Nothing of a refused upload was remembered.
    same(
        "a KeyPackage of a refused upload",
        ok(
            "add_key_packages",
            add(
                "d1",
                &[kp(SUITE, "s4", 5000), kp(SUITE, "s5", 5000)],
                10,
                1002,
            ),
        )?,
        stock(&[(SUITE, 5), (OTHER_SUITE, 2)], &[SUITE]),
    )?;

    // KDS-KP-4: at most `max_per_suite` single-use packages per suite; an
    // upload going over stores nothing.
    refused(
        "an upload over the limit",
        add(
            "d1",
            &[kp(SUITE, "s6", 5000), kp(OTHER_SUITE, "o3", 5000)],
            5,
            1003,
        ),
        KdsError::TooManyKeyPackages(5),
    )?;
    same(
        "the stock after the refusal",
        stock_of(&store, "d1", 1003)?,
        stock(&[(SUITE, 5), (OTHER_SUITE, 2)], &[SUITE]),
    )?;
    same(
        "the other suite of the refused upload",
        ok(
            "add_key_packages",
            add("d1", &[kp(OTHER_SUITE, "o3", 5000)], 5, 1003),
        )?,
        stock(&[(SUITE, 5), (OTHER_SUITE, 3)], &[SUITE]),
    )?;
    // Last-resort packages do not count, and replace each other.
    same(
        "a new last-resort package",
        ok(
            "add_key_packages",
            add("d1", &[last_resort(SUITE, "l2", 5000)], 5, 1004),
        )?,
        stock(&[(SUITE, 5), (OTHER_SUITE, 3)], &[SUITE]),
    )?;
    same(
        "the same last-resort package again",
        ok(
            "add_key_packages",
            add("d1", &[last_resort(SUITE, "l2", 5000)], 5, 1004),
        )?,
        stock(&[(SUITE, 5), (OTHER_SUITE, 3)], &[SUITE]),
    )?;

    // Expired packages leave the stock.
    same(
        "a short-lived package",
        ok(
            "add_key_packages",
            add("d1", &[kp(OTHER_SUITE, "short", 2000)], 10, 1005),
        )?,
        stock(&[(SUITE, 5), (OTHER_SUITE, 4)], &[SUITE]),
    )?;
    same(
        "the stock when it expired",
        stock_of(&store, "d1", 2000)?,
        stock(&[(SUITE, 5), (OTHER_SUITE, 3)], &[SUITE]),
    )?;
    same(
        "everything expired",
        stock_of(&store, "d1", 5000)?,
        stock(&[], &[]),
    )?;
    Ok(())
}

fn check_claims<S: KdsStore>(fresh: &impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    ok("enroll", enrol(ALICE, "d1", "t1", 1000).run(&store))?;
    ok("enroll", enrol(ALICE, "d2", "t2", 1001).run(&store))?;
    ok("enroll", enrol(ALICE, "d3", "t3", 1002).run(&store))?;
    ok("enroll", enrol(BOB, "b1", "t4", 1003).run(&store))?;
    ok(
        "add_key_packages",
        store.add_key_packages(
            "d1",
            &[
                kp(SUITE, "s1", 5000),
                kp(SUITE, "s2", 5000),
                kp(SUITE, "s3", 5000),
                kp(SUITE, "soon", 1500),
                last_resort(SUITE, "l1", 5000),
                kp(OTHER_SUITE, "o1", 5000),
            ],
            10,
            1003,
        ),
    )?;
    ok(
        "add_key_packages",
        store.add_key_packages("d2", &[last_resort(SUITE, "d2", 1800)], 10, 1003),
    )?;
    ok(
        "add_key_packages",
        store.add_key_packages("b1", &[kp(SUITE, "b1", 5000)], 10, 1003),
    )?;

    // Each claim: every active device of the number, one KeyPackage per
    // suite it has; single-use ones go once, expired ones never.
    let mut handed: Vec<String> = Vec::new();
    for round in 0..3 {
        let answer = claimed(&store, ALICE, None, 1600)?;
        let devices: Vec<&str> = answer.iter().map(|(d, _)| d.as_str()).collect();
        same(
            &format!("claim {round}: devices"),
            devices,
            vec!["d1", "d2", "d3"],
        )?;
        let d1 = &answer[0].1;
        let expected_o = if round == 0 { 2 } else { 1 };
        same(
            &format!("claim {round}: d1's packages"),
            d1.len(),
            expected_o,
        )?;
        handed.extend(d1.iter().cloned());
        same(
            &format!("claim {round}: d2's last resort"),
            answer[1].1.clone(),
            strings(&["last resort d2"]),
        )?;
        same(
            &format!("claim {round}: d3 has none"),
            answer[2].1.clone(),
            Vec::<String>::new(),
        )?;
    }
    handed.sort();
    same(
        "the single-use packages handed out, each once",
        handed,
        strings(&["kp o1", "kp s1", "kp s2", "kp s3"]),
    )?;
    for round in 0..2 {
        same(
            &format!("claim {round} once they are gone"),
            claimed(&store, ALICE, Some(&strings(&["d1"])), 1600)?,
            vec![("d1".to_owned(), strings(&["last resort l1"]))],
        )?;
    }
    same(
        "the stock once they are gone",
        stock_of(&store, "d1", 1600)?,
        stock(&[], &[SUITE]),
    )?;
    // A claimed package is never accepted again.
    refused(
        "a claimed KeyPackage uploaded again",
        store.add_key_packages("d1", &[kp(SUITE, "s1", 5000)], 10, 1601),
        KdsError::KeyPackage(String::new()),
    )?;
    // A new last resort replaces the old one.
    ok(
        "add_key_packages",
        store.add_key_packages("d1", &[last_resort(SUITE, "l2", 5000)], 10, 1601),
    )?;
    same(
        "the replaced last resort",
        claimed(&store, ALICE, Some(&strings(&["d1", "zz"])), 1601)?,
        vec![("d1".to_owned(), strings(&["last resort l2"]))],
    )?;
    // An expired last resort is not served either.
    same(
        "an expired last resort",
        claimed(&store, ALICE, Some(&strings(&["d2"])), 1800)?,
        vec![("d2".to_owned(), Vec::<String>::new())],
    )?;
    same(
        "an unknown number",
        claimed(&store, CAROL, None, 1601)?,
        vec![],
    )?;
    same(
        "another number's devices",
        claimed(&store, BOB, None, 1601)?,
        vec![("b1".to_owned(), strings(&["kp b1"]))],
    )?;
    same(
        "the other number's stock",
        stock_of(&store, "b1", 1601)?,
        stock(&[], &[]),
    )?;
    same(
        "the last one of the other number is gone",
        claimed(&store, BOB, None, 1601)?,
        vec![("b1".to_owned(), Vec::<String>::new())],
    )?;
    Ok(())
}
