//! The conformance check of [`DeviceStore`].

use super::fixtures::*;
use crate::error::KdsError;
use crate::store::*;

/// [`DeviceStore`]: enrolment with its checks in one transaction
/// (KDS-ENR-8 a device id stays its number's and needs its current token,
/// KDS-ENR-9 the number's device limit, KDS-ENR-10 the carrier proof's
/// use limit; every refusal stores nothing, not even a proof use),
/// replacing the other devices, credentials, revocation.
pub fn check_device_store<S: KdsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    check_enrol(&fresh)?;
    check_device_limit(&fresh)?;
    check_proof_limit(&fresh)?;
    check_replace_others(&fresh)?;
    check_revoke(&fresh)?;
    Ok(())
}

fn by_token<S: KdsStore>(store: &S, token: &str) -> Result<Option<DeviceRecord>, String> {
    ok("device_by_token", store.device_by_token(&token_hash(token)))
}

fn check_enrol<S: KdsStore>(fresh: &impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    let mut a1 = enrol(ALICE, "a1", "t1", 1000);
    a1.credentials.push(credential("a1", "a1/second"));
    ok("enroll", a1.run(&store))?;
    same(
        "the device by its token",
        by_token(&store, "t1")?,
        Some(a1.device.clone()),
    )?;
    same(
        "its credentials, chains included",
        ok("credentials_of", store.credentials_of("a1"))?,
        a1.credentials.clone(),
    )?;
    same(
        "the number's devices",
        active(&store, ALICE)?,
        strings(&["a1"]),
    )?;
    same("an unknown token", by_token(&store, "t0")?, None)?;
    same(
        "an unknown device's credentials",
        serials(&store, "zz")?,
        Vec::<String>::new(),
    )?;

    // KDS-ENR-8: another number cannot take the device id.
    refused(
        "a device id of another number",
        enrol(BOB, "a1", "t2", 1001).run(&store),
        KdsError::DeviceIdTaken,
    )?;
    same(
        "after the refusal, Bob's devices",
        active(&store, BOB)?,
        Vec::<String>::new(),
    )?;
    same(
        "after the refusal, the thief's token",
        by_token(&store, "t2")?,
        None,
    )?;
    same(
        "after the refusal, the device",
        by_token(&store, "t1")?,
        Some(a1.device.clone()),
    )?;

    // KDS-ENR-8: re-enrolling needs the device's current token.
    let mut again = enrol(ALICE, "a1", "t3", 1002);
    refused(
        "re-enrolling without the token",
        again.run(&store),
        KdsError::DeviceProofRequired,
    )?;
    again.presented_token = Some("t-wrong".into());
    refused(
        "re-enrolling with another token",
        again.run(&store),
        KdsError::DeviceProofRequired,
    )?;
    same(
        "after the refusals, the new token",
        by_token(&store, "t3")?,
        None,
    )?;
    same(
        "after the refusals, the credentials",
        serials(&store, "a1")?,
        strings(&["a1/t1", "a1/second"]),
    )?;

    again.presented_token = Some("t1".into());
    ok("re-enroll", again.run(&store))?;
    same("the old token", by_token(&store, "t1")?, None)?;
    same(
        "the new token",
        by_token(&store, "t3")?,
        Some(again.device.clone()),
    )?;
    same(
        "the new credentials only",
        serials(&store, "a1")?,
        strings(&["a1/t3"]),
    )?;
    same(
        "the replaced credentials are revoked",
        ok("revoked_since", store.revoked_since(1002))?,
        strings(&["a1/second", "a1/t1"]),
    )?;
    same("still one device", active(&store, ALICE)?, strings(&["a1"]))?;
    same(
        "nothing revoked later",
        ok("revoked_since", store.revoked_since(1003))?,
        Vec::<String>::new(),
    )?;

    // Devices in enrolment order, then by id.
    ok("enroll", enrol(ALICE, "a3", "t4", 1005).run(&store))?;
    ok("enroll", enrol(ALICE, "a2", "t5", 1005).run(&store))?;
    ok("enroll", enrol(ALICE, "a0", "t6", 1006).run(&store))?;
    same(
        "the order of devices",
        active(&store, ALICE)?,
        strings(&["a1", "a2", "a3", "a0"]),
    )?;
    Ok(())
}

fn check_device_limit<S: KdsStore>(fresh: &impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    let limited = |device: &str, token: &str, at| {
        let mut e = enrol(ALICE, device, token, at);
        e.max_devices = 2;
        e
    };
    ok("enroll", limited("a1", "t1", 1000).run(&store))?;
    ok("enroll", limited("a2", "t2", 1001).run(&store))?;
    // KDS-ENR-9: a third device is refused, and its proof use with it.
    let mut third = limited("a3", "t3", 1002);
    third.proof = "shared proof".into();
    refused(
        "a device over the limit",
        third.run(&store),
        KdsError::TooManyDevices(2),
    )?;
    same(
        "after the refusal, the devices",
        active(&store, ALICE)?,
        strings(&["a1", "a2"]),
    )?;
    same(
        "after the refusal, its token",
        by_token(&store, "t3")?,
        None,
    )?;
    same(
        "after the refusal, its credentials",
        serials(&store, "a3")?,
        Vec::<String>::new(),
    )?;
    same(
        "after the refusal, the queue",
        queued(&store)?,
        strings(&[ALICE]),
    )?;
    // Re-enrolling a device of a full number is no new device.
    let mut a2 = limited("a2", "t2b", 1003);
    a2.presented_token = Some("t2".into());
    ok("re-enrolling at the limit", a2.run(&store))?;
    // With a device revoked, the refused device (same proof, one use) fits:
    // the refusal did not count the proof.
    same(
        "revoke",
        ok("revoke", store.revoke(Some("a1"), None, 1004))?,
        1,
    )?;
    third.device.enrolled_at = 1005;
    ok("the refused device, once there is room", third.run(&store))?;
    same(
        "the devices at last",
        active(&store, ALICE)?,
        strings(&["a2", "a3"]),
    )?;
    Ok(())
}

fn check_proof_limit<S: KdsStore>(fresh: &impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    let family = |number: &str, device: &str, token: &str, at| {
        let mut e = enrol(number, device, token, at);
        e.proof = "family proof".into();
        e.max_per_proof = 2;
        e.proof_not_after = 2000;
        e
    };
    ok("enroll", family(BOB, "b1", "t1", 1000).run(&store))?;
    ok("enroll", family(CAROL, "c1", "t2", 1001).run(&store))?;
    // KDS-ENR-10: a third device with the same proof is refused.
    refused(
        "a proof used up",
        family(BOB, "b2", "t3", 1002).run(&store),
        KdsError::ProofUsedUp(2),
    )?;
    same(
        "after the refusal, the devices",
        active(&store, BOB)?,
        strings(&["b1"]),
    )?;
    same(
        "after the refusal, its token",
        by_token(&store, "t3")?,
        None,
    )?;
    // Another proof is another count.
    ok("enroll", enrol(BOB, "b2", "t3", 1003).run(&store))?;
    // Uses are remembered until the proof expires, not after.
    refused(
        "the proof at its expiry",
        family(BOB, "b3", "t4", 2000).run(&store),
        KdsError::ProofUsedUp(2),
    )?;
    ok(
        "the proof's uses after it expired",
        family(BOB, "b3", "t4", 2001).run(&store),
    )?;
    same(
        "the devices",
        active(&store, BOB)?,
        strings(&["b1", "b2", "b3"]),
    )?;
    Ok(())
}

fn check_replace_others<S: KdsStore>(fresh: &impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    ok("enroll", enrol(CAROL, "c1", "t1", 1000).run(&store))?;
    ok("enroll", enrol(CAROL, "c2", "t2", 1001).run(&store))?;
    ok("enroll", enrol(ALICE, "a1", "t9", 1001).run(&store))?;
    ok(
        "add_key_packages",
        store.add_key_packages(
            "c1",
            &[kp(SUITE, "c1-1", 5000), last_resort(SUITE, "c1", 5000)],
            10,
            1001,
        ),
    )?;
    let mut c3 = enrol(CAROL, "c3", "t3", 1002);
    c3.replace_others = true;
    c3.max_devices = 1;
    ok("a new phone replacing the others", c3.run(&store))?;
    same(
        "the number's devices",
        active(&store, CAROL)?,
        strings(&["c3"]),
    )?;
    same(
        "a replaced device's KeyPackages",
        stock_of(&store, "c1", 1002)?,
        stock(&[], &[]),
    )?;
    same(
        "a replaced device's credentials",
        serials(&store, "c1")?,
        Vec::<String>::new(),
    )?;
    same(
        "a replaced device, by its token",
        by_token(&store, "t2")?.and_then(|d| d.revoked_at),
        Some(1002),
    )?;
    same(
        "the revoked credentials",
        ok("revoked_since", store.revoked_since(1002))?,
        strings(&["c1/t1", "c2/t2"]),
    )?;
    same(
        "another number's device",
        active(&store, ALICE)?,
        strings(&["a1"]),
    )?;
    Ok(())
}

fn check_revoke<S: KdsStore>(fresh: &impl Fn() -> S) -> Result<(), String> {
    let store = fresh();
    for (device, token, at) in [("b1", "t1", 1000), ("b2", "t2", 1001), ("b3", "t3", 1002)] {
        ok("enroll", enrol(BOB, device, token, at).run(&store))?;
    }
    ok("enroll", enrol(ALICE, "a1", "t4", 1003).run(&store))?;
    ok(
        "add_key_packages",
        store.add_key_packages(
            "b1",
            &[kp(SUITE, "b1-1", 5000), last_resort(SUITE, "b1", 5000)],
            10,
            1003,
        ),
    )?;
    let revoke = |device: Option<&str>, number: Option<&str>, now| {
        ok("revoke", store.revoke(device, number, now))
    };
    same("revoking nothing named", revoke(None, None, 2000)?, 0)?;
    same(
        "a device of another number",
        revoke(Some("b1"), Some(ALICE), 2000)?,
        0,
    )?;
    same("an unknown device", revoke(Some("zz"), None, 2000)?, 0)?;
    same(
        "nothing was revoked",
        active(&store, BOB)?,
        strings(&["b1", "b2", "b3"]),
    )?;
    same(
        "nothing was revoked yet",
        ok("revoked_since", store.revoked_since(0))?,
        Vec::<String>::new(),
    )?;

    same("one device", revoke(Some("b1"), None, 3000)?, 1)?;
    same(
        "the same device again",
        revoke(Some("b1"), Some(BOB), 3001)?,
        0,
    )?;
    same(
        "its KeyPackages",
        stock_of(&store, "b1", 3000)?,
        stock(&[], &[]),
    )?;
    same(
        "its claim",
        claimed(&store, BOB, Some(&strings(&["b1"])), 3000)?,
        vec![],
    )?;
    same(
        "a revoked device by its token",
        by_token(&store, "t1")?.map(|d| (d.device_id, d.revoked_at)),
        Some(("b1".to_owned(), Some(3000))),
    )?;
    same(
        "a revoked device's credentials",
        serials(&store, "b1")?,
        Vec::<String>::new(),
    )?;
    same(
        "every device of the number",
        revoke(None, Some(BOB), 3002)?,
        2,
    )?;
    same(
        "the number's devices",
        active(&store, BOB)?,
        Vec::<String>::new(),
    )?;
    same("another number", active(&store, ALICE)?, strings(&["a1"]))?;
    same(
        "revoked since 3000, in order",
        ok("revoked_since", store.revoked_since(3000))?,
        strings(&["b1/t1", "b2/t2", "b3/t3"]),
    )?;
    same(
        "revoked since 3001",
        ok("revoked_since", store.revoked_since(3001))?,
        strings(&["b2/t2", "b3/t3"]),
    )?;
    same(
        "revoked since later",
        ok("revoked_since", store.revoked_since(3003))?,
        Vec::<String>::new(),
    )?;
    // A revoked device enrols again with its token; its number's limit
    // counts active devices only.
    let mut back = enrol(BOB, "b1", "t5", 4000);
    back.presented_token = Some("t1".into());
    back.max_devices = 1;
    ok("a revoked device enrolling again", back.run(&store))?;
    same(
        "the number's devices after",
        active(&store, BOB)?,
        strings(&["b1"]),
    )?;
    Ok(())
}
