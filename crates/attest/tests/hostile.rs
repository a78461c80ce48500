#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hostile-input catalogue, part 1: device attestation.
//!
//! Each case takes a real sample (tests/data, a copy of
//! shared/testdata/attestation), makes it hostile in one way, and checks
//! that the verifier refuses it with the named `AttestError` variant and
//! the matching stable refusal reason (`AttestError::reason`, the `reason`
//! of the refusal JSON). Verification is pure: nothing is stored.

mod common;

use ciborium::Value;
use common::{
    AndroidSample, AppleSample, MARLIN, VALID_ANDROID, apple_sample, at, flipped, pem_chain, read,
};
use crosslock_attest::{
    AndroidRoots, AttestError, AttestationPolicy, KeyDescriptionError,
    UnverifiedAndroidAttestation, android_enrollment_challenge, enrollment_challenge, refusal_json,
    verify_app_attest,
};

/// One case: the expression must be `Err(pattern)`, whose refusal JSON
/// says `refused` with `reason`.
macro_rules! case {
    ($(#[$doc:meta])* $name:ident, $reason:literal, $result:expr, $pattern:pat) => {
        $(#[$doc])*
        #[test]
        fn $name() {
            let result: Result<(), AttestError> = $result;
            let err = match result {
                Err(e) => e,
                Ok(()) => panic!("{}: hostile attestation accepted", stringify!($name)),
            };
            assert!(
                matches!(err, $pattern),
                "{}: expected {}, got {err:?}",
                stringify!($name),
                stringify!($pattern)
            );
            let json = refusal_json(&err);
            assert_eq!(json["verdict"], "refused");
            assert_eq!(json["reason"], $reason, "{}", stringify!($name));
        }
    };
}

// ---------------------------------------------------------------- Android

/// akita TEE EC: valid chain, device unlocked, boot unverified.
const AKITA: AndroidSample = VALID_ANDROID[0];
/// blueline TEE EC: factory-provisioned, valid until the 2020s.
const BLUELINE: AndroidSample = VALID_ANDROID[3];

fn android(
    sample: &AndroidSample,
    chain: &[Vec<u8>],
    roots: &AndroidRoots,
    policy: AttestationPolicy,
    challenge: &[u8],
    time: std::time::SystemTime,
) -> Result<(), AttestError> {
    UnverifiedAndroidAttestation::from_der_chain(chain)?
        .verify(roots, time, policy, Some(challenge))
        .map(|_| {
            let _ = sample;
        })
}

fn google() -> AndroidRoots {
    AndroidRoots::google().unwrap()
}

/// Development policy, the sample's own challenge and time.
fn android_dev(sample: &AndroidSample, chain: &[Vec<u8>]) -> Result<(), AttestError> {
    android(
        sample,
        chain,
        &google(),
        AttestationPolicy::Development,
        sample.challenge,
        sample.time(),
    )
}

/// A roots.json pinning exactly the given PEM certificates.
fn roots_json(pems: &[String]) -> String {
    serde_json::to_string(pems).unwrap()
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

case!(
    /// The attestation is genuine but for another enrollment: its
    /// challenge is not this enrollment's nonce's.
    android_challenge_for_another_enrollment,
    "challenge-mismatch",
    {
        let expected = android_enrollment_challenge(b"kds-nonce of this enrollment");
        android(&AKITA, &AKITA.chain(), &google(), AttestationPolicy::Development, &expected, AKITA.time())
    },
    AttestError::ChallengeMismatch
);

case!(
    /// marlin: chains to the AOSP software root, whose private key is public.
    android_software_root,
    "software-root",
    android_dev(&MARLIN, &MARLIN.chain()),
    AttestError::SoftwareRoot
);

case!(
    /// marlin's chain under a (misconfigured) roots.json that pins the
    /// software root as if it were hardware: the SOFTWARE security level
    /// is still refused.
    android_software_security_level,
    "not-hardware-backed",
    {
        let chain = MARLIN.chain();
        let roots = AndroidRoots::from_roots_json(&roots_json(&[pem_of(chain.last().unwrap())])).unwrap();
        android(&MARLIN, &chain, &roots, AttestationPolicy::Development, MARLIN.challenge, MARLIN.time())
    },
    AttestError::NotHardwareBacked { .. }
);

case!(
    /// A genuine chain whose Google root is not pinned (a revoked or
    /// unknown root: only the Apple root is trusted here).
    android_unknown_root,
    "untrusted-root",
    {
        let apple_root = read("apple/Apple_App_Attestation_Root_CA.pem");
        let roots = AndroidRoots::from_roots_json(&roots_json(&[apple_root])).unwrap();
        android(&AKITA, &AKITA.chain(), &roots, AttestationPolicy::Development, AKITA.challenge, AKITA.time())
    },
    AttestError::UntrustedRoot
);

case!(
    /// akita under the strict policy: the bootloader is unlocked.
    android_unlocked_bootloader_strict,
    "bootloader-unlocked",
    android(&AKITA, &AKITA.chain(), &google(), AttestationPolicy::Strict, AKITA.challenge, AKITA.time()),
    AttestError::BootloaderUnlocked
);

case!(
    /// A malformed RootOfTrust in the KeyDescription (README: parse error).
    android_malformed_root_of_trust,
    "key-description",
    UnverifiedAndroidAttestation::from_pem(&read("android/invalid_malformed_rot_device_locked.pem")).map(|_| ()),
    AttestError::KeyDescription(_)
);

case!(
    /// AuthorizationList tags out of ascending order (README: refused).
    android_tags_not_ascending,
    "key-description",
    UnverifiedAndroidAttestation::from_pem(&read("android/invalid_tags_not_in_ascending_order.pem")).map(|_| ()),
    AttestError::KeyDescription(KeyDescriptionError::TagsNotAscending { .. })
);

case!(
    /// Only the leaf: nothing anchors it.
    android_leaf_only,
    "chain-length",
    android_dev(&AKITA, &AKITA.chain()[..1]),
    AttestError::ChainLength { len: 1 }
);

case!(
    /// The intermediates removed: the root did not sign the leaf.
    android_intermediates_removed,
    "chain-signature",
    {
        let chain = AKITA.chain();
        android_dev(&AKITA, &[chain[0].clone(), chain.last().unwrap().clone()])
    },
    AttestError::ChainSignature { index: 0 }
);

case!(
    /// Chain extension: a second KeyDescription-bearing certificate placed
    /// above the leaf (an attacker re-using a genuine attested key as CA).
    android_key_description_outside_leaf,
    "key-description-outside-leaf",
    {
        let mut chain = AKITA.chain();
        chain.insert(1, chain[0].clone());
        android_dev(&AKITA, &chain)
    },
    AttestError::KeyDescriptionOutsideLeaf { index: 1 }
);

case!(
    /// blueline verified in 2060: its batch certificates have expired.
    android_expired_intermediate,
    "expired",
    android(&BLUELINE, &BLUELINE.chain(), &google(), AttestationPolicy::Development, BLUELINE.challenge, at("2060-01-01T00:00:00Z")),
    AttestError::Expired { .. }
);

case!(
    /// A leaf with a flipped signature byte.
    android_forged_leaf_signature,
    "chain-signature",
    {
        let mut chain = AKITA.chain();
        let last = chain[0].len() - 1;
        chain[0] = flipped(&chain[0], last);
        android_dev(&AKITA, &chain)
    },
    AttestError::ChainSignature { index: 0 }
);

case!(
    /// Eleven certificates (at most ten are accepted).
    android_overlong_chain,
    "chain-length",
    {
        let chain = AKITA.chain();
        let mut long = vec![chain[0].clone()];
        long.extend(std::iter::repeat_n(chain[1].clone(), 10));
        android_dev(&AKITA, &long)
    },
    AttestError::ChainLength { len: 11 }
);

case!(
    /// A PEM upload of 300 KiB.
    android_oversize_pem,
    "too-large",
    UnverifiedAndroidAttestation::from_pem(&"A".repeat(300 * 1024)).map(|_| ()),
    AttestError::TooLarge { .. }
);

case!(
    /// A "certificate" that is a DER SEQUENCE declaring 4 GiB.
    android_huge_declared_length,
    "malformed",
    {
        let mut chain = pem_chain(&AKITA.pem());
        chain[0] = vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x00];
        android_dev(&AKITA, &chain)
    },
    AttestError::Malformed(_)
);

// ------------------------------------------------------------------ Apple

fn apple() -> AppleSample {
    apple_sample("ios-14.4.yaml")
}

fn app_attest(
    sample: &AppleSample,
    object: &[u8],
    client_data_hash: &[u8; 32],
    app_id: &str,
    key_id: &[u8],
    policy: AttestationPolicy,
    time: std::time::SystemTime,
) -> Result<(), AttestError> {
    let _ = sample;
    verify_app_attest(object, client_data_hash, app_id, Some(key_id), policy, time).map(|_| ())
}

/// Development policy, the sample's own values, the given object.
fn apple_dev(sample: &AppleSample, object: &[u8]) -> Result<(), AttestError> {
    app_attest(
        sample,
        object,
        &sample.client_data_hash,
        &sample.app_id,
        &sample.key_id,
        AttestationPolicy::Development,
        sample.time(),
    )
}

/// The sample's CBOR as a value, edited by `edit`, encoded again.
fn reencoded(sample: &AppleSample, edit: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let mut value: Value = ciborium::de::from_reader(sample.object().as_slice()).unwrap();
    let Value::Map(entries) = &mut value else {
        panic!("not a map")
    };
    edit(entries);
    let mut out = Vec::new();
    ciborium::ser::into_writer(&value, &mut out).unwrap();
    out
}

/// Byte range of the authData byte string inside the object.
fn auth_data_start(sample: &AppleSample) -> usize {
    let object = sample.object();
    let value: Value = ciborium::de::from_reader(object.as_slice()).unwrap();
    let auth = value
        .as_map()
        .unwrap()
        .iter()
        .find(|(k, _)| k.as_text() == Some("authData"))
        .and_then(|(_, v)| v.as_bytes().cloned())
        .unwrap();
    object.windows(auth.len()).position(|w| w == auth).unwrap()
}

case!(
    /// A genuine attestation for another app id.
    apple_wrong_app_id,
    "rp-id-mismatch",
    {
        let s = apple();
        app_attest(&s, &s.object(), &s.client_data_hash, "6MURL8TA57.com.example.evil", &s.key_id, AttestationPolicy::Development, s.time())
    },
    AttestError::RpIdMismatch
);

case!(
    /// A genuine attestation replayed for another challenge (nonce).
    apple_wrong_nonce,
    "nonce-mismatch",
    {
        let s = apple();
        let other = enrollment_challenge(b"fresh kds nonce", b"participant key");
        app_attest(&s, &s.object(), &other, &s.app_id, &s.key_id, AttestationPolicy::Development, s.time())
    },
    AttestError::NonceMismatch
);

case!(
    /// The sign counter in authData raised to 1 (a used key posing as
    /// fresh, or the reverse): the counter is under the certified nonce.
    apple_tampered_counter,
    "nonce-mismatch",
    {
        let s = apple();
        // authData: rpIdHash (32) | flags (1) | counter (4, big-endian).
        let at = auth_data_start(&s) + 32 + 1 + 3;
        apple_dev(&s, &flipped(&s.object(), at))
    },
    AttestError::NonceMismatch
);

case!(
    /// A genuine attestation of another key than the one enrolling.
    apple_wrong_key_id,
    "key-id-mismatch",
    {
        let s = apple();
        let other = apple_sample("ios-14.2.yaml").key_id;
        app_attest(&s, &s.object(), &s.client_data_hash, &s.app_id, &other, AttestationPolicy::Development, s.time())
    },
    AttestError::KeyIdMismatch
);

case!(
    /// A development-environment attestation under the strict policy.
    apple_development_environment_strict,
    "development-environment",
    {
        let s = apple();
        app_attest(&s, &s.object(), &s.client_data_hash, &s.app_id, &s.key_id, AttestationPolicy::Strict, s.time())
    },
    AttestError::DevelopmentEnvironment
);

case!(
    /// Replayed years later: the credential certificate has expired.
    apple_expired_credential_certificate,
    "expired",
    {
        let s = apple();
        app_attest(&s, &s.object(), &s.client_data_hash, &s.app_id, &s.key_id, AttestationPolicy::Development, at("2030-01-01T00:00:00Z"))
    },
    AttestError::Expired { index: 0 }
);

case!(
    /// Another attestation format name.
    apple_wrong_format,
    "unsupported-format",
    {
        let s = apple();
        let object = reencoded(&s, |m| {
            for (k, v) in m.iter_mut() {
                if k.as_text() == Some("fmt") {
                    *v = Value::Text("packed".into());
                }
            }
        });
        apple_dev(&s, &object)
    },
    AttestError::UnsupportedFormat(_)
);

case!(
    /// `authData` twice in the top-level map (which one is checked?).
    apple_duplicate_cbor_key,
    "cbor",
    {
        let s = apple();
        let object = reencoded(&s, |m| {
            let auth = m.iter().find(|(k, _)| k.as_text() == Some("authData")).unwrap().clone();
            m.push(auth);
        });
        apple_dev(&s, &object)
    },
    AttestError::Cbor(_)
);

case!(
    /// An extra top-level key.
    apple_unknown_cbor_key,
    "cbor",
    {
        let s = apple();
        let object = reencoded(&s, |m| m.push((Value::Text("extra".into()), Value::Integer(1.into()))));
        apple_dev(&s, &object)
    },
    AttestError::Cbor(_)
);

case!(
    /// An empty `x5c`.
    apple_empty_certificate_chain,
    "chain-length",
    {
        let s = apple();
        let object = reencoded(&s, |m| {
            for (k, v) in m.iter_mut() {
                if k.as_text() == Some("attStmt") {
                    for (k2, v2) in v.as_map_mut().unwrap().iter_mut() {
                        if k2.as_text() == Some("x5c") {
                            *v2 = Value::Array(Vec::new());
                        }
                    }
                }
            }
        });
        apple_dev(&s, &object)
    },
    AttestError::ChainLength { len: 0 }
);

case!(
    /// The intermediate removed from `x5c`: Apple's root did not sign the leaf.
    apple_intermediate_removed,
    "chain-signature",
    {
        let s = apple();
        let object = reencoded(&s, |m| {
            for (k, v) in m.iter_mut() {
                if k.as_text() == Some("attStmt") {
                    for (k2, v2) in v.as_map_mut().unwrap().iter_mut() {
                        if k2.as_text() == Some("x5c") {
                            v2.as_array_mut().unwrap().truncate(1);
                        }
                    }
                }
            }
        });
        apple_dev(&s, &object)
    },
    AttestError::ChainSignature { index: 0 }
);

case!(
    /// 60,000 nested arrays (within the size limit).
    apple_cbor_nesting_bomb,
    "cbor",
    {
        let s = apple();
        let mut object = vec![0x81; 60_000];
        object.push(0x00);
        apple_dev(&s, &object)
    },
    AttestError::Cbor(_)
);

case!(
    /// A byte string declaring 2^64 - 1 bytes.
    apple_huge_declared_length,
    "cbor",
    {
        let s = apple();
        let mut object = vec![0x5b];
        object.extend_from_slice(&u64::MAX.to_be_bytes());
        object.extend_from_slice(b"abcd");
        apple_dev(&s, &object)
    },
    AttestError::Cbor(_)
);

case!(
    /// A valid object followed by a stray byte.
    apple_trailing_bytes,
    "cbor",
    {
        let s = apple();
        let mut object = s.object();
        object.push(0x00);
        apple_dev(&s, &object)
    },
    AttestError::Cbor(_)
);

case!(
    /// An object of 65 KiB (limit 64 KiB).
    apple_oversize_object,
    "too-large",
    {
        let s = apple();
        apple_dev(&s, &vec![0u8; 65 * 1024])
    },
    AttestError::TooLarge { .. }
);
