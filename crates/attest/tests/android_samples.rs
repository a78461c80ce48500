//! Every Android sample of `tests/data/android` with its expected verdict
//! (tests/data/README.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{MARLIN, VALID_ANDROID, at, read};
use crosslock_attest::android::{SecurityLevel, VerifiedBootState};
use crosslock_attest::{
    AndroidRoots, AttestError, AttestationPolicy, KeyDescriptionError,
    UnverifiedAndroidAttestation, verify_android_attestation,
};

fn roots() -> AndroidRoots {
    AndroidRoots::google().unwrap()
}

fn verify(
    name: &str,
    when: &str,
    policy: AttestationPolicy,
    challenge: Option<&[u8]>,
) -> Result<crosslock_attest::VerifiedAndroidAttestation, AttestError> {
    let chain = UnverifiedAndroidAttestation::from_pem(&read(&format!("android/{name}.pem")))?;
    verify_android_attestation(&chain, &roots(), at(when), policy, challenge)
}

#[test]
fn embedded_roots_are_the_published_roots_json() {
    let published = AndroidRoots::from_roots_json(&read("android/roots.json")).unwrap();
    assert_eq!(published, roots());
    assert_eq!(published.hardware_root_count(), 2);
}

#[test]
fn valid_samples_pass_development_policy_and_match_their_json() {
    for sample in VALID_ANDROID {
        let verified = verify(
            sample.name,
            sample.at,
            AttestationPolicy::Development,
            Some(sample.challenge),
        )
        .unwrap_or_else(|e| panic!("{}: {e:?}", sample.name));
        assert_eq!(
            verified.key_description().to_json(),
            sample.expected_json(),
            "{}",
            sample.name
        );
        assert_eq!(verified.challenge(), sample.challenge);
        assert!(verified.security_level().is_hardware());
        assert_eq!(verified.policy(), AttestationPolicy::Development);
        // The JSON report is the sample's view plus a top-level verdict.
        let mut report = verified.to_json();
        let report = report.as_object_mut().unwrap();
        assert_eq!(report.remove("verdict").unwrap(), "accepted");
        assert_eq!(
            serde_json::Value::Object(report.clone()),
            sample.expected_json()
        );
        // The attested key is the leaf's public key.
        let leaf = &sample.chain()[0];
        assert!(
            leaf.windows(verified.attested_public_key().len())
                .any(|w| w == verified.attested_public_key()),
            "{}",
            sample.name
        );
    }
}

#[test]
fn strict_policy_accepts_only_caiman() {
    for sample in VALID_ANDROID {
        let result = verify(sample.name, sample.at, AttestationPolicy::Strict, None);
        if sample.name.starts_with("caiman") {
            let verified = result.unwrap();
            let rot = verified.root_of_trust().unwrap();
            assert!(rot.device_locked);
            assert_eq!(rot.verified_boot_state, VerifiedBootState::Verified);
        } else {
            // akita and blueline: unlocked bootloader (checked before the
            // boot state, which is UNVERIFIED on both).
            assert_eq!(
                result.unwrap_err(),
                AttestError::BootloaderUnlocked,
                "{}",
                sample.name
            );
        }
    }
}

#[test]
fn caiman_tee_facts() {
    let sample = VALID_ANDROID[5];
    assert_eq!(sample.name, "caiman_sdk36_TEE_EC_RKP");
    let verified = verify(
        sample.name,
        sample.at,
        AttestationPolicy::Strict,
        Some(sample.challenge),
    )
    .unwrap();
    let kd = verified.key_description();
    assert_eq!(kd.attestation_version, 400);
    assert_eq!(
        kd.attestation_security_level,
        SecurityLevel::TrustedEnvironment
    );
    assert_eq!(kd.hardware_enforced.os_version, Some(160_000));
    assert_eq!(kd.hardware_enforced.os_patch_level, Some(202_511));
    assert_eq!(kd.hardware_enforced.vendor_patch_level, Some(20_251_105));
    assert_eq!(kd.hardware_enforced.boot_patch_level, Some(20_251_105));
    assert_eq!(
        kd.hardware_enforced.attestation_id_model.as_deref(),
        Some("Pixel 9 Pro")
    );
    let app = verified.attestation_application_id().unwrap();
    assert_eq!(app.packages[0].name, "com.google.android.attestation");
    assert_eq!(app.signatures.len(), 1);
}

#[test]
fn challenge_is_checked_when_expected() {
    for sample in VALID_ANDROID {
        let err = verify(
            sample.name,
            sample.at,
            AttestationPolicy::Development,
            Some(b"another challenge"),
        )
        .unwrap_err();
        assert_eq!(err, AttestError::ChallengeMismatch, "{}", sample.name);
    }
}

#[test]
fn marlin_chains_to_the_software_root_and_is_refused_by_every_policy() {
    for policy in [AttestationPolicy::Strict, AttestationPolicy::Development] {
        assert_eq!(
            verify(MARLIN.name, MARLIN.at, policy, None).unwrap_err(),
            AttestError::SoftwareRoot
        );
    }
    // The parse still reports what the chain claims.
    let chain = UnverifiedAndroidAttestation::from_pem(&MARLIN.pem()).unwrap();
    assert_eq!(chain.key_description().to_json(), MARLIN.expected_json());
    assert_eq!(
        chain.key_description().attestation_security_level,
        SecurityLevel::Software
    );
}

#[test]
fn malformed_root_of_trust_is_a_parse_error() {
    let err = UnverifiedAndroidAttestation::from_pem(&read(
        "android/invalid_malformed_rot_device_locked.pem",
    ))
    .unwrap_err();
    match err {
        AttestError::KeyDescription(KeyDescriptionError::Field { field, .. }) => {
            // deviceLocked is BOOLEAN 0x01: BER, not DER.
            assert_eq!(field, "rootOfTrust.deviceLocked");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn tags_out_of_order_are_refused() {
    let err = UnverifiedAndroidAttestation::from_pem(&read(
        "android/invalid_tags_not_in_ascending_order.pem",
    ))
    .unwrap_err();
    assert_eq!(
        err,
        AttestError::KeyDescription(KeyDescriptionError::TagsNotAscending {
            list: "hardwareEnforced",
            previous: 2,
            tag: 1,
        })
    );
}

#[test]
fn intermediate_validity_is_enforced() {
    let caiman = VALID_ANDROID[5];
    // Certificate 1 (the remotely provisioned attestation key) lives 2025-09-24 to 2025-10-03.
    assert_eq!(
        verify(
            caiman.name,
            "2025-09-20T00:00:00Z",
            AttestationPolicy::Strict,
            None
        )
        .unwrap_err(),
        AttestError::NotYetValid { index: 1 }
    );
    assert_eq!(
        verify(
            caiman.name,
            "2025-10-04T00:00:00Z",
            AttestationPolicy::Strict,
            None
        )
        .unwrap_err(),
        AttestError::Expired { index: 1 }
    );
    // blueline's batch key and intermediate expire in 2028.
    assert_eq!(
        verify(
            "blueline_sdk28_TEE_EC_NONE",
            "2029-01-01T00:00:00Z",
            AttestationPolicy::Development,
            None
        )
        .unwrap_err(),
        AttestError::Expired { index: 1 }
    );
}

#[test]
fn root_certificate_validity_is_not_enforced_the_key_is_pinned() {
    // blueline ends in the 2016 certificate of the RSA root key, which
    // expired 2026-05-24; the key is still Google's root.
    verify(
        "blueline_sdk28_TEE_EC_NONE",
        "2027-01-01T00:00:00Z",
        AttestationPolicy::Development,
        None,
    )
    .unwrap();
}

#[test]
fn unknown_roots_are_refused() {
    let sample = VALID_ANDROID[5];
    let chain = UnverifiedAndroidAttestation::from_pem(&sample.pem()).unwrap();
    let no_roots = AndroidRoots::from_roots_json("[]").unwrap();
    assert_eq!(
        chain
            .verify(&no_roots, sample.time(), AttestationPolicy::Strict, None)
            .unwrap_err(),
        AttestError::UntrustedRoot
    );
    // Dropping the root certificate leaves the chain unanchored.
    let mut certs = sample.chain();
    certs.pop();
    let chain = UnverifiedAndroidAttestation::from_der_chain(&certs).unwrap();
    assert_eq!(
        chain
            .verify(&roots(), sample.time(), AttestationPolicy::Strict, None)
            .unwrap_err(),
        AttestError::UntrustedRoot
    );
}

#[test]
fn chain_structure_is_checked() {
    let certs = VALID_ANDROID[5].chain();
    // A lone leaf.
    assert_eq!(
        UnverifiedAndroidAttestation::from_der_chain(&certs[..1]).unwrap_err(),
        AttestError::ChainLength { len: 1 }
    );
    // A chain without the leaf: no KeyDescription.
    assert_eq!(
        UnverifiedAndroidAttestation::from_der_chain(&certs[1..]).unwrap_err(),
        AttestError::MissingKeyDescription
    );
    // Chain extension: a certificate below the attested leaf.
    let mut extended = vec![certs[0].clone()];
    extended.extend(certs.iter().cloned());
    assert_eq!(
        UnverifiedAndroidAttestation::from_der_chain(&extended).unwrap_err(),
        AttestError::KeyDescriptionOutsideLeaf { index: 1 }
    );
    // Certificates out of order do not verify.
    let mut swapped = certs.clone();
    swapped.swap(1, 2);
    let chain = UnverifiedAndroidAttestation::from_der_chain(&swapped).unwrap();
    assert_eq!(
        chain
            .verify(
                &roots(),
                VALID_ANDROID[5].time(),
                AttestationPolicy::Strict,
                None
            )
            .unwrap_err(),
        AttestError::ChainSignature { index: 0 }
    );
    // Too long.
    let long: Vec<_> = std::iter::repeat_n(certs[1].clone(), 11).collect();
    assert!(matches!(
        UnverifiedAndroidAttestation::from_der_chain(&long),
        Err(AttestError::ChainLength { .. })
    ));
}

#[test]
fn pem_and_der_parse_the_same_chain() {
    for sample in VALID_ANDROID {
        let from_pem = UnverifiedAndroidAttestation::from_pem(&sample.pem()).unwrap();
        let from_der = UnverifiedAndroidAttestation::from_der_chain(sample.chain()).unwrap();
        assert_eq!(from_pem.key_description(), from_der.key_description());
        assert_eq!(from_pem.chain_len(), from_der.chain_len());
    }
}

#[test]
fn enrollment_challenge_is_what_the_kds_expects() {
    // The real samples carry their collector's challenge; an enrollment one
    // is different, so the KDS would refuse them.
    let challenge = crosslock_attest::android_enrollment_challenge(b"nonce");
    let sample = VALID_ANDROID[5];
    assert_eq!(
        verify(
            sample.name,
            sample.at,
            AttestationPolicy::Strict,
            Some(&challenge)
        )
        .unwrap_err(),
        AttestError::ChallengeMismatch
    );
}
