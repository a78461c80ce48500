//! Android key attestation chains (`crosslock_attest`): DER chains (u16
//! length-prefixed certificates, leaf first) and PEM text, verified
//! against Google's roots at a fixed time under both policies.
//!
//! Input: one mode byte (even: DER chain, odd: PEM text), then the body.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use crosslock_attest::{AndroidRoots, AttestationPolicy, UnverifiedAndroidAttestation};
use crosslock_fuzz::split;
use libfuzzer_sys::fuzz_target;

/// When the samples' chains are valid: 2019-06-01, 2020-01-01, 2024-09-27,
/// 2025-09-26 (the mode byte picks one).
const TIMES: [u64; 4] = [1_559_347_200, 1_577_836_800, 1_727_395_200, 1_758_888_000];

fn roots() -> &'static AndroidRoots {
    static ROOTS: OnceLock<AndroidRoots> = OnceLock::new();
    ROOTS.get_or_init(|| AndroidRoots::google().expect("embedded roots"))
}

fuzz_target!(|data: &[u8]| {
    let (mode, body) = data.split_first().unwrap_or((&0, &[]));
    let parsed = if mode % 2 == 0 {
        UnverifiedAndroidAttestation::from_der_chain(split(body, 8))
    } else {
        match std::str::from_utf8(body) {
            Ok(text) => UnverifiedAndroidAttestation::from_pem(text),
            Err(_) => return,
        }
    };
    let Ok(parsed) = parsed else { return };
    let _ = parsed.key_description().to_json();
    let _ = parsed.chain_len();
    let at =
        SystemTime::UNIX_EPOCH + Duration::from_secs(TIMES[usize::from(mode / 2) % TIMES.len()]);
    for policy in [AttestationPolicy::Strict, AttestationPolicy::Development] {
        for challenge in [None, Some(&b"challenge"[..])] {
            if let Ok(verified) = parsed.verify(roots(), at, policy, challenge) {
                assert!(!verified.attested_public_key().is_empty());
                if let Some(c) = challenge {
                    assert_eq!(verified.challenge(), c);
                }
                let _ = verified.to_json();
            }
        }
    }
});
