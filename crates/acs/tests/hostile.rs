#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The hostile-input catalogue, carrier ACS part: one test per attack on
//! `POST /acs/v1/proof`. Each asserts the HTTP status and typed reason,
//! that no proof was issued, and that the ACS's subscriber table is as
//! before: the genuine subscriber still gets a proof for exactly what it
//! asks, and the attacker's credentials still get nothing.

use std::sync::Arc;

use crosslock_acs::{Acs, ProofRequest, ProofResponse, router};
use crosslock_credential::{AwsLcVerifier, PhoneNumber, TrustedCarriers};
use crosslock_profile::Environment;
use crosslock_profile::env::{ManualClock, SeededEntropy};
use crosslock_tls::KeyPair;
use crosslock_wire::api::{B64, ErrorBody};

const NUMBER: &str = "+15550100001";
const TOKEN: &str = "sim-secret";

/// When the tests run: the ACS dates its proofs by this fixed clock.
const NOW: u64 = 1_790_000_000;

fn env() -> Environment {
    Environment {
        clock: Arc::new(ManualClock::new(NOW)),
        entropy: Arc::new(SeededEntropy::new(1)),
    }
}

/// An ACS on loopback with one subscriber, and a device key.
struct World {
    acs: Arc<Acs>,
    url: String,
    key: B64,
    http: reqwest::Client,
}

async fn world() -> World {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let acs = Arc::new(Acs::new(
        "carrier.example",
        "kds.a.example",
        Arc::new(KeyPair::generate().unwrap()),
        3 * 86_400,
        env(),
    ));
    acs.add_subscriber(&PhoneNumber::parse(NUMBER).unwrap(), TOKEN);
    acs.add_subscriber(&PhoneNumber::parse("+15550100666").unwrap(), "mallory");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/acs/v1/proof", listener.local_addr().unwrap());
    let app = router(acs.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    World {
        acs,
        url,
        key: B64(KeyPair::generate().unwrap().public_key_sec1().to_vec()),
        http: reqwest::Client::new(),
    }
}

impl World {
    fn request(&self, number: &str, token: &str) -> ProofRequest {
        ProofRequest {
            number: number.into(),
            subscriber_token: token.into(),
            participant_keys: vec![self.key.clone()],
            home_kds: "kds.a.example".into(),
        }
    }

    async fn post_raw(&self, content_type: &str, body: Vec<u8>) -> (u16, String) {
        let answer = self
            .http
            .post(&self.url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        (answer.status().as_u16(), answer.text().await.unwrap())
    }

    /// Expects a typed refusal and no proof in the answer.
    async fn refused_raw(&self, body: Vec<u8>, want: (u16, &str)) {
        let (status, text) = self.post_raw("application/json", body).await;
        let error: ErrorBody =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: HTTP {status} {text}"));
        assert_eq!((status, error.error.as_str()), want, "{}", error.message);
        assert!(!error.message.is_empty());
        assert!(!text.contains("\"proof\""), "no proof issued: {text}");
        self.unchanged().await;
    }

    async fn refused(&self, request: &ProofRequest, want: (u16, &str)) {
        self.refused_raw(serde_json::to_vec(request).unwrap(), want)
            .await;
    }

    /// The subscriber table is as it was: the subscriber still gets a proof
    /// that verifies for exactly its number and key; a guessed token still
    /// gets nothing.
    async fn unchanged(&self) {
        let body = serde_json::to_vec(&self.request(NUMBER, TOKEN)).unwrap();
        let (status, text) = self.post_raw("application/json", body).await;
        assert_eq!(status, 200, "{text}");
        let proof: ProofResponse = serde_json::from_str(&text).unwrap();
        let carriers = TrustedCarriers::new(vec![(
            "carrier.example".into(),
            self.acs.public_key().clone(),
        )]);
        let claims = carriers
            .verify(&proof.proof.0, NOW, &AwsLcVerifier)
            .unwrap();
        assert_eq!(claims.number.as_str(), NUMBER);
        assert!(claims.covers(&self.key.0));
        let body = serde_json::to_vec(&self.request(NUMBER, "mallory")).unwrap();
        let (status, _) = self.post_raw("application/json", body).await;
        assert_eq!(status, 403);
    }
}

#[tokio::test]
async fn acs_wrong_subscriber_token() {
    let w = world().await;
    for token in ["guess", "", "sim-secre", "SIM-SECRET", "sim-secret\0"] {
        w.refused(&w.request(NUMBER, token), (403, "unauthorized"))
            .await;
    }
}

#[tokio::test]
async fn acs_proof_for_another_number() {
    let w = world().await;
    // Mallory is a subscriber, and asks with her own token for Alice's
    // number, and for a number nobody subscribed.
    w.refused(&w.request(NUMBER, "mallory"), (403, "unauthorized"))
        .await;
    w.refused(&w.request("+15550100002", TOKEN), (403, "unauthorized"))
        .await;
    // Alice's number in another notation does not change whose it is.
    w.refused(
        &w.request("+1 (555) 010-0001", "mallory"),
        (403, "unauthorized"),
    )
    .await;
}

#[tokio::test]
async fn acs_number_with_odd_characters() {
    let w = world().await;
    for number in [
        "+15550100001\0",
        "../+15550100001",
        "+1555/../0100001",
        "tel:+15550100001;phone-context=evil",
        "%2B15550100001",
        &format!("+1{}", "5".repeat(10_000)),
        "",
    ] {
        w.refused(&w.request(number, TOKEN), (400, "invalid-number"))
            .await;
    }
}

#[tokio::test]
async fn acs_invalid_or_too_many_keys() {
    let w = world().await;
    let mut request = w.request(NUMBER, TOKEN);
    for keys in [
        vec![],
        vec![B64(vec![4; 10])],
        vec![B64(vec![5; 65])],
        vec![B64(vec![4; 65])],
        vec![B64(vec![4; 64])],
        vec![w.key.clone(); 5],
    ] {
        request.participant_keys = keys;
        w.refused(&request, (400, "invalid-keys")).await;
    }
}

#[tokio::test]
async fn acs_home_kds_out_of_range() {
    let w = world().await;
    let mut request = w.request(NUMBER, TOKEN);
    // The ACS decides the home (ACS-4): anything but its own is refused.
    for home in ["k".repeat(256), "k".into()] {
        request.home_kds = home;
        w.refused(&request, (403, "wrong-home")).await;
    }
}

#[tokio::test]
async fn acs_oversize_body() {
    let w = world().await;
    // A well-formed request padded past the 16 KiB body limit.
    let mut request = w.request(NUMBER, TOKEN);
    request.home_kds = "k".repeat(20 * 1024);
    w.refused(&request, (413, "too-large")).await;
}

#[tokio::test]
async fn acs_truncated_json() {
    let w = world().await;
    let body = serde_json::to_vec(&w.request(NUMBER, TOKEN)).unwrap();
    for cut in [0, 1, body.len() / 2, body.len() - 1] {
        w.refused_raw(body[..cut].to_vec(), (400, "malformed-request"))
            .await;
    }
}

#[tokio::test]
async fn acs_invalid_utf8_in_json_string() {
    let w = world().await;
    let body = serde_json::to_vec(&w.request(NUMBER, TOKEN)).unwrap();
    let at = body
        .windows(TOKEN.len())
        .position(|s| s == TOKEN.as_bytes())
        .unwrap();
    let mut bad = body.clone();
    bad[at] = 0xC3;
    bad[at + 1] = 0x28;
    w.refused_raw(bad, (400, "malformed-request")).await;
    let surrogate = serde_json::to_string(&w.request(NUMBER, TOKEN))
        .unwrap()
        .replace(TOKEN, "\\ud800");
    w.refused_raw(surrogate.into_bytes(), (400, "malformed-request"))
        .await;
}

#[tokio::test]
async fn acs_unknown_fields_cannot_choose_the_carrier() {
    let w = world().await;
    // Fields the ACS does not know try to pick the proof's lifetime and
    // carrier; the request is otherwise a wrong guess, so it is refused.
    let mut body = serde_json::to_value(w.request(NUMBER, "guess")).unwrap();
    body["not_after"] = u64::MAX.into();
    body["carrier_id"] = "other.carrier".into();
    body["open_enrolment"] = true.into();
    w.refused_raw(serde_json::to_vec(&body).unwrap(), (403, "unauthorized"))
        .await;
    // With the right token they are ignored: the proof is the carrier's
    // own, with its own lifetime.
    let mut body = serde_json::to_value(w.request(NUMBER, TOKEN)).unwrap();
    body["not_after"] = u64::MAX.into();
    body["carrier_id"] = "other.carrier".into();
    let (status, text) = w
        .post_raw("application/json", serde_json::to_vec(&body).unwrap())
        .await;
    assert_eq!(status, 200, "{text}");
    let proof: ProofResponse = serde_json::from_str(&text).unwrap();
    assert!(proof.not_after < u64::MAX / 2);
    let carriers =
        TrustedCarriers::new(vec![("carrier.example".into(), w.acs.public_key().clone())]);
    let now = proof.not_after - 3 * 86_400;
    let claims = carriers
        .verify(&proof.proof.0, now, &AwsLcVerifier)
        .unwrap();
    assert_eq!(claims.carrier_id, "carrier.example");
}
