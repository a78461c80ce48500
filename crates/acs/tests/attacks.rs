#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Attacks on the carrier's ACS (issue 14), each run as the attacker would,
//! over HTTP: the attack fails with a typed error and no proof is issued.

use std::sync::Arc;

use crosslock_acs::{Acs, ProofRequest, ProofResponse, router};
use crosslock_credential::{AwsLcVerifier, PhoneNumber, TrustedCarriers};
use crosslock_profile::Environment;
use crosslock_profile::env::{ManualClock, SeededEntropy};
use crosslock_tls::KeyPair;
use crosslock_wire::api::{B64, ErrorBody};

const NUMBER: &str = "+15550100001";
const TOKEN: &str = "sim-secret";
const HOME: &str = "kds.a.example";

/// When the tests run: the ACS dates its proofs by this fixed clock.
const NOW: u64 = 1_790_000_000;

fn env() -> Environment {
    Environment {
        clock: Arc::new(ManualClock::new(NOW)),
        entropy: Arc::new(SeededEntropy::new(1)),
    }
}

/// Finding 1 (ACS side, ACS-4): a genuine subscriber (or anyone holding its
/// SIM secret) asks its carrier for a proof that homes the number at
/// another provider, to enrol it there and take it away from its home. The
/// ACS decides the home: the request is refused with `wrong-home`, no
/// proof is issued, and a request that leaves the home out (or names the
/// carrier's own) gets a proof naming the carrier's home.
#[tokio::test]
async fn subscriber_cannot_choose_the_home_kds() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let signer = Arc::new(KeyPair::generate().unwrap());
    let acs = Arc::new(Acs::new(
        "carrier.example",
        HOME,
        signer.clone(),
        86_400,
        env(),
    ));
    acs.add_subscriber(&PhoneNumber::parse(NUMBER).unwrap(), TOKEN);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/acs/v1/proof", listener.local_addr().unwrap());
    let app = router(acs.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    let key = B64(KeyPair::generate().unwrap().public_key_sec1().to_vec());
    let post = |body: serde_json::Value| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let answer = http.post(&url).json(&body).send().await.unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let request = |home: Option<&str>| {
        let mut body = serde_json::to_value(ProofRequest {
            number: NUMBER.into(),
            subscriber_token: TOKEN.into(),
            participant_keys: vec![key.clone()],
            home_kds: String::new(),
        })
        .unwrap();
        match home {
            Some(h) => body["home_kds"] = h.into(),
            None => {
                body.as_object_mut().unwrap().remove("home_kds");
            }
        }
        body
    };
    for hostile in [
        "kds.b.example",
        "KDS.A.EXAMPLE",
        "kds.a.example.",
        " kds.a.example",
    ] {
        let (status, text) = post(request(Some(hostile))).await;
        let error: ErrorBody = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (status, error.error.as_str()),
            (403, "wrong-home"),
            "{text}"
        );
        assert!(error.message.contains(HOME), "{}", error.message);
        assert!(!text.contains("\"proof\""), "no proof issued: {text}");
    }
    let carriers = TrustedCarriers::new(vec![(
        "carrier.example".into(),
        signer.public_key().clone(),
    )]);
    // The legitimate requests: the home left out (new callers) or named
    // as the carrier's own (old callers).
    for home in [None, Some(""), Some(HOME)] {
        let (status, text) = post(request(home)).await;
        assert_eq!(status, 200, "{text}");
        let proof: ProofResponse = serde_json::from_str(&text).unwrap();
        let claims = carriers
            .verify(&proof.proof.0, NOW, &AwsLcVerifier)
            .unwrap();
        assert_eq!(claims.home_kds, HOME);
        assert_eq!(claims.number.as_str(), NUMBER);
    }
}
