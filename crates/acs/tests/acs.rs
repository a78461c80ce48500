//! The ACS over HTTP: only the subscriber gets a proof, and the proof
//! verifies under the carrier's key for exactly what was asked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use crosslock_acs::{Acs, ProofRequest, ProofResponse, router};
use crosslock_credential::{AwsLcVerifier, PhoneNumber, TrustedCarriers};
use crosslock_profile::Environment;
use crosslock_profile::env::{ManualClock, SeededEntropy};
use crosslock_tls::KeyPair;
use crosslock_wire::api::{B64, ErrorBody};

/// When the tests run: the ACS dates its proofs by this fixed clock.
const NOW: u64 = 1_790_000_000;

fn env() -> Environment {
    Environment {
        clock: Arc::new(ManualClock::new(NOW)),
        entropy: Arc::new(SeededEntropy::new(1)),
    }
}

#[tokio::test]
async fn proofs_only_for_the_authenticated_subscriber() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let acs = Arc::new(Acs::new(
        "carrier.example",
        "kds.a.example",
        Arc::new(KeyPair::generate().unwrap()),
        3 * 86_400,
        env(),
    ));
    acs.add_subscriber(&PhoneNumber::parse("+15550100001").unwrap(), "sim-secret");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/acs/v1/proof", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(acs.clone())).await.unwrap() });
    let device_key = KeyPair::generate().unwrap();
    let request = |number: &str, token: &str, keys: Vec<B64>| ProofRequest {
        number: number.into(),
        subscriber_token: token.into(),
        participant_keys: keys,
        home_kds: "kds.a.example".into(),
    };
    let key = vec![B64(device_key.public_key_sec1().to_vec())];
    let http = reqwest::Client::new();
    let send = |r: ProofRequest| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let response = http.post(&url).json(&r).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    // The subscriber (number given in another notation) gets a proof.
    let (status, body) = send(request("+1 (555) 010-0001", "sim-secret", key.clone())).await;
    assert_eq!(status, 200, "{body}");
    let proof: ProofResponse = serde_json::from_str(&body).unwrap();
    // Wrong token, unknown number, bad keys, garbage.
    for (r, expected_status, expected) in [
        (
            request("+15550100001", "guess", key.clone()),
            403,
            "unauthorized",
        ),
        (
            request("+15550100002", "sim-secret", key.clone()),
            403,
            "unauthorized",
        ),
        (
            request("+15550100001", "sim-secret", vec![B64(vec![4; 10])]),
            400,
            "invalid-keys",
        ),
        (
            request("+15550100001", "sim-secret", vec![]),
            400,
            "invalid-keys",
        ),
        (
            request("555", "sim-secret", key.clone()),
            400,
            "invalid-number",
        ),
    ] {
        let (status, body) = send(r).await;
        let error: ErrorBody = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (status, error.error.as_str()),
            (expected_status, expected),
            "{body}"
        );
    }
    let response = http
        .post(&url)
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);

    // The proof verifies under the carrier's key and says what was asked.
    let carrier_key = KeyPair::generate().unwrap();
    let wrong = TrustedCarriers::new(vec![(
        "carrier.example".into(),
        carrier_key.public_key().clone(),
    )]);
    assert!(
        wrong
            .verify(&proof.proof.0, proof.not_after - 10, &AwsLcVerifier)
            .is_err()
    );
}

#[test]
fn the_proof_binds_number_keys_and_home() {
    let signer = Arc::new(KeyPair::generate().unwrap());
    let acs = Acs::new(
        "carrier.example",
        "kds.b.example",
        signer.clone(),
        86_400,
        env(),
    );
    acs.add_subscriber(&PhoneNumber::parse("+447700900123").unwrap(), "t");
    let k = KeyPair::generate().unwrap();
    let proof = acs
        .prove(
            &ProofRequest {
                number: "+447700900123".into(),
                subscriber_token: "t".into(),
                participant_keys: vec![B64(k.public_key_sec1().to_vec())],
                home_kds: "kds.b.example".into(),
            },
            1_000,
        )
        .unwrap();
    let trusted = TrustedCarriers::new(vec![(
        "carrier.example".into(),
        signer.public_key().clone(),
    )]);
    let claims = trusted
        .verify(&proof.proof.0, 1_000, &AwsLcVerifier)
        .unwrap();
    assert_eq!(claims.number.as_str(), "+447700900123");
    assert_eq!(claims.home_kds, "kds.b.example");
    assert!(claims.covers(k.public_key_sec1()));
    assert_eq!(claims.not_after, 1_000 + 86_400);
    assert!(
        trusted
            .verify(&proof.proof.0, 1_000 + 86_401, &AwsLcVerifier)
            .is_err()
    );
}

/// Development open enrolment proves numbers nobody registered, never a
/// registered subscriber's number without its token.
#[test]
fn open_enrolment_never_bypasses_a_registered_subscriber() {
    let acs = Acs::new(
        "carrier.example",
        "kds.a.example",
        Arc::new(KeyPair::generate().unwrap()),
        3600,
        env(),
    );
    acs.add_subscriber(&PhoneNumber::parse("+15550100001").unwrap(), "sim-secret");
    let key = vec![B64(KeyPair::generate().unwrap().public_key_sec1().to_vec())];
    let request = |number: &str, token: &str| ProofRequest {
        number: number.into(),
        subscriber_token: token.into(),
        participant_keys: key.clone(),
        home_kds: "kds.a.example".into(),
    };
    // Closed (the default): strangers are refused.
    assert!(
        acs.prove(&request("+15550100002", "any"), 1_700_000_000)
            .is_err()
    );
    acs.set_open_enrolment(true);
    assert!(
        acs.prove(&request("+15550100002", "any"), 1_700_000_000)
            .is_ok()
    );
    // A registered number still needs its own token.
    assert!(
        acs.prove(&request("+15550100001", "guess"), 1_700_000_000)
            .is_err()
    );
    assert!(
        acs.prove(&request("+15550100001", "sim-secret"), 1_700_000_000)
            .is_ok()
    );
    // Still only well-formed requests.
    assert!(
        acs.prove(&request("not a number", "any"), 1_700_000_000)
            .is_err()
    );
    acs.set_open_enrolment(false);
    assert!(
        acs.prove(&request("+15550100002", "any"), 1_700_000_000)
            .is_err()
    );
}
