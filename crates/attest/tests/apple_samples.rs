//! Every App Attest sample of `tests/data/apple` with its expected verdict
//! (tests/data/README.md): accepted at its own timestamp, development
//! environment, the documented key id and public key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{APPLE_FILES, AppleSample, apple_sample, at};
use crosslock_attest::{
    AppAttestEnvironment, AttestError, AttestationPolicy, UnverifiedAppAttest, verify_app_attest,
};

const APP_ID: &str = "6MURL8TA57.de.vincent-haupert.apple-appattest-poc";

fn samples() -> Vec<AppleSample> {
    APPLE_FILES.iter().map(|f| apple_sample(f)).collect()
}

fn verify(
    sample: &AppleSample,
    policy: AttestationPolicy,
) -> Result<crosslock_attest::VerifiedAppAttest, AttestError> {
    verify_app_attest(
        &sample.object(),
        &sample.client_data_hash,
        &sample.app_id,
        Some(&sample.key_id),
        policy,
        sample.time(),
    )
}

fn pem_lines(pem: &str) -> Vec<String> {
    pem.lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn every_sample_is_accepted_in_development() {
    for sample in samples() {
        assert_eq!(sample.app_id, APP_ID);
        assert_eq!(sample.environment, "development");
        let verified = verify(&sample, AttestationPolicy::Development)
            .unwrap_or_else(|e| panic!("{}: {e:?}", sample.file));
        assert_eq!(verified.environment(), AppAttestEnvironment::Development);
        assert_eq!(verified.key_id().as_slice(), sample.key_id.as_slice());
        assert_eq!(
            pem_lines(&verified.public_key_pem()),
            pem_lines(&sample.public_key_pem),
            "{}",
            sample.file
        );
        assert!(!verified.receipt().is_empty());
        let json = verified.to_json();
        assert_eq!(json["verdict"], "accepted");
        assert_eq!(json["environment"], "development");
        assert_eq!(
            common::b64(json["keyId"].as_str().unwrap()),
            sample.key_id,
            "{}",
            sample.file
        );
    }
}

#[test]
fn strict_policy_requires_production() {
    for sample in samples() {
        assert_eq!(
            verify(&sample, AttestationPolicy::Strict).unwrap_err(),
            AttestError::DevelopmentEnvironment,
            "{}",
            sample.file
        );
    }
}

#[test]
fn key_id_is_optional_but_checked_when_given() {
    for sample in samples() {
        let object = sample.object();
        let without = verify_app_attest(
            &object,
            &sample.client_data_hash,
            APP_ID,
            None,
            AttestationPolicy::Development,
            sample.time(),
        )
        .unwrap();
        assert_eq!(without.key_id().as_slice(), sample.key_id.as_slice());
        let mut wrong = sample.key_id.clone();
        wrong[0] ^= 0x80;
        assert_eq!(
            verify_app_attest(
                &object,
                &sample.client_data_hash,
                APP_ID,
                Some(&wrong),
                AttestationPolicy::Development,
                sample.time(),
            )
            .unwrap_err(),
            AttestError::KeyIdMismatch
        );
    }
}

#[test]
fn app_id_and_client_data_hash_are_bound() {
    for sample in samples() {
        let object = sample.object();
        let time = sample.time();
        assert_eq!(
            verify_app_attest(
                &object,
                &sample.client_data_hash,
                "6MURL8TA57.de.vincent-haupert.other-app",
                None,
                AttestationPolicy::Development,
                time,
            )
            .unwrap_err(),
            AttestError::RpIdMismatch
        );
        let mut other_hash = sample.client_data_hash;
        other_hash[31] ^= 1;
        assert_eq!(
            verify_app_attest(
                &object,
                &other_hash,
                APP_ID,
                None,
                AttestationPolicy::Development,
                time,
            )
            .unwrap_err(),
            AttestError::NonceMismatch
        );
    }
}

#[test]
fn the_credential_certificate_is_short_lived() {
    let sample = apple_sample("ios-14.2.yaml");
    // Its credential certificate is valid 2020-11-20T22:13:02Z to 2020-11-23T22:13:02Z.
    let check = |when: &str| {
        verify_app_attest(
            &sample.object(),
            &sample.client_data_hash,
            APP_ID,
            None,
            AttestationPolicy::Development,
            at(when),
        )
    };
    assert_eq!(
        check("2020-11-24T00:00:00Z").unwrap_err(),
        AttestError::Expired { index: 0 }
    );
    assert_eq!(
        check("2020-11-20T00:00:00Z").unwrap_err(),
        AttestError::NotYetValid { index: 0 }
    );
    // Before the root exists, everything is not yet valid; the leaf is reported first.
    assert_eq!(
        check("2019-01-01T00:00:00Z").unwrap_err(),
        AttestError::NotYetValid { index: 0 }
    );
}

#[test]
fn base64_and_cbor_inputs_agree() {
    for sample in samples() {
        let a = UnverifiedAppAttest::from_base64(&sample.attestation_base64).unwrap();
        let b = UnverifiedAppAttest::from_cbor(&sample.object()).unwrap();
        assert_eq!(a.receipt(), b.receipt());
    }
    assert!(matches!(
        UnverifiedAppAttest::from_base64("not base64!"),
        Err(AttestError::Malformed(_))
    ));
}
