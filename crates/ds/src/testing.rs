//! Test support, not used by the service: a conformance check for
//! [`DeviceAuth`] implementations.
//!
//! Every implementation the DS is wired with should pass
//! [`check_device_auth`] in its own tests (the provider's over its KDS
//! store does; so does the one the DS integration tests use).

use crosslock_wire::api::ds::DeviceRef;

use crate::auth::DeviceAuth;

/// The devices behind a [`DeviceAuth`] under test: the check enrols and
/// revokes through this and asks the implementation about them.
pub trait DeviceAuthFixture {
    /// The implementation under test, seeing this fixture's devices.
    fn auth(&self) -> &dyn DeviceAuth;
    /// Enrols `device` holding bearer `token` (both new).
    fn enroll(&mut self, device: &DeviceRef, token: &str);
    /// Revokes `device`.
    fn revoke(&mut self, device: &DeviceRef);
}

/// Enrols the `n`th device of the check under `number`: the device and its
/// token, distinct for each `n`.
fn enroll_nth(fixture: &mut dyn DeviceAuthFixture, number: &str, n: u32) -> (DeviceRef, String) {
    let device = DeviceRef {
        number: number.to_owned(),
        device: format!("device-{n}"),
    };
    let token = format!("token-{n}");
    fixture.enroll(&device, &token);
    (device, token)
}

/// Checks the [`DeviceAuth`] contract on a fresh fixture (no devices
/// enrolled yet): unknown tokens are nobody; an enrolled device's token is
/// that device, and the device is current; a revoked device is not
/// current at once, and its token is nobody if it was not checked before
/// the revocation (an implementation may remember a checked token for a
/// bounded time, so a token checked earlier is not asked about); other
/// devices are unaffected. The first violation is the error.
pub fn check_device_auth(fixture: &mut dyn DeviceAuthFixture) -> Result<(), String> {
    let alice = "+15550100001";
    let bob = "+15550100002";

    for token in ["", "not-a-token", "Bearer not-a-token"] {
        expect_token(fixture, token, None, "an unknown token")?;
    }

    let (a1, token_a1) = enroll_nth(fixture, alice, 1);
    let (a2, token_a2) = enroll_nth(fixture, alice, 2);
    let (b1, token_b1) = enroll_nth(fixture, bob, 3);
    for (device, token) in [(&a1, &token_a1), (&a2, &token_a2), (&b1, &token_b1)] {
        expect_token(fixture, token, Some(device), "an enrolled device's token")?;
        // Again: a remembered answer is the same answer.
        expect_token(fixture, token, Some(device), "a token checked before")?;
        expect_current(fixture, device, true, "an enrolled device")?;
    }
    expect_token(
        fixture,
        &format!("{token_a1}x"),
        None,
        "an enrolled device's token with a byte more",
    )?;

    let strangers = [
        DeviceRef {
            number: alice.into(),
            device: "no-such-device".into(),
        },
        DeviceRef {
            number: "+15550100009".into(),
            device: a1.device.clone(),
        },
        DeviceRef {
            number: bob.into(),
            device: a1.device.clone(),
        },
    ];
    for device in &strangers {
        expect_current(
            fixture,
            device,
            false,
            "a device not enrolled under that number",
        )?;
    }

    // Revoked before its token was ever checked: nobody, and not current.
    let (a3, token_a3) = enroll_nth(fixture, alice, 4);
    fixture.revoke(&a3);
    expect_token(
        fixture,
        &token_a3,
        None,
        "a device revoked before any check",
    )?;
    expect_current(fixture, &a3, false, "a revoked device")?;

    // Revoked after its token was checked: not current at once (the token
    // may be remembered for a while, so it is not asked about).
    fixture.revoke(&a2);
    expect_current(fixture, &a2, false, "a device revoked after a check")?;

    // The others are unaffected.
    expect_token(
        fixture,
        &token_a1,
        Some(&a1),
        "another device of the number",
    )?;
    expect_current(fixture, &a1, true, "another device of the number")?;
    expect_token(fixture, &token_b1, Some(&b1), "another number's device")?;
    expect_current(fixture, &b1, true, "another number's device")?;
    Ok(())
}

fn expect_token(
    fixture: &dyn DeviceAuthFixture,
    token: &str,
    expected: Option<&DeviceRef>,
    what: &str,
) -> Result<(), String> {
    let got = fixture
        .auth()
        .authenticate(token)
        .map_err(|e| format!("authenticate({token:?}), {what}: {e}"))?;
    if got.as_ref() != expected {
        return Err(format!(
            "authenticate({token:?}), {what}: {got:?}, expected {expected:?}"
        ));
    }
    Ok(())
}

fn expect_current(
    fixture: &dyn DeviceAuthFixture,
    device: &DeviceRef,
    expected: bool,
    what: &str,
) -> Result<(), String> {
    let got = fixture
        .auth()
        .is_current(device)
        .map_err(|e| format!("is_current({device:?}), {what}: {e}"))?;
    if got != expected {
        return Err(format!(
            "is_current({device:?}), {what}: {got}, expected {expected}"
        ));
    }
    Ok(())
}
