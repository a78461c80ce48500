//! Apple App Attest attestation objects (`crosslock_attest`): CBOR and
//! base64 decoding, then verification against the pinned Apple root at the
//! samples' time, with the samples' client data hash and app id.
//!
//! Input: one mode byte (even: CBOR object, odd: base64 text), then the body.
#![no_main]

use std::time::{Duration, SystemTime};

use crosslock_attest::{AttestationPolicy, UnverifiedAppAttest};
use libfuzzer_sys::fuzz_target;

/// ios-14.4.yaml: client data hash, app id, and a time its chain is valid.
const APP_ID: &str = "6MURL8TA57.de.vincent-haupert.apple-appattest-poc";
const AT: u64 = 1_611_360_000; // 2021-01-23

fuzz_target!(|data: &[u8]| {
    let (mode, body) = data.split_first().unwrap_or((&0, &[]));
    let parsed = if mode % 2 == 0 {
        UnverifiedAppAttest::from_cbor(body)
    } else {
        match std::str::from_utf8(body) {
            Ok(text) => UnverifiedAppAttest::from_base64(text),
            Err(_) => return,
        }
    };
    let Ok(parsed) = parsed else { return };
    let _ = parsed.receipt();
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(AT);
    let hash = crosslock_fuzz::APP_ATTEST_CLIENT_DATA_HASH;
    for policy in [AttestationPolicy::Strict, AttestationPolicy::Development] {
        for key_id in [None, Some(&crosslock_fuzz::APP_ATTEST_KEY_ID[..])] {
            if let Ok(v) = parsed.verify(&hash, APP_ID, key_id, policy, at) {
                let _ = (v.environment(), v.key_id(), v.public_key());
            }
        }
    }
});
