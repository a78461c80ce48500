#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The hostile-input catalogue, KDS part: one test per attack on the KDS's
//! HTTP API. Each asserts the HTTP status and the typed reason of the
//! refusal, that the KDS's tables (devices, credentials, KeyPackages, the
//! single-use ledger, the transparency queue) are exactly as before, and,
//! where cheap, that the legitimate request still succeeds afterwards.
//! Nonces and rate buckets are excluded from the snapshot: consuming them
//! on a refused attempt is what they are for.

mod common;

use std::sync::Arc;

use common::*;
use crosslock_acs::ProofRequest;
use crosslock_client::*;
use crosslock_wire::api::B64;
use crosslock_wire::api::kds::*;
use crosslock_wire::api::kt::NumberRequest;

// ---- shared setup -------------------------------------------------------------

/// A provider with Alice and Bob enrolled; Bob has KeyPackages in stock.
struct World {
    p: Provider,
    alice: Device,
    alice_token: String,
    bob: Device,
    bob_token: String,
}

async fn world_with(setup: ProviderSetup) -> World {
    let p = Provider::start(setup).await;
    let mut alice = phone("+15550100001", DeviceProfile::Android, p.trust());
    let mut bob = phone("+15550100002", DeviceProfile::Ios, p.trust());
    let alice_token = p.enroll(&mut alice, false).await;
    let bob_token = p.enroll(&mut bob, false).await;
    p.publish(&mut bob, &bob_token, 3).await;
    World {
        p,
        alice,
        alice_token,
        bob,
        bob_token,
    }
}

async fn world() -> World {
    world_with(ProviderSetup::default()).await
}

/// An HTTP request with raw body; answers status, headers and JSON body.
async fn send(
    p: &Provider,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut request = http()
        .request(method, format!("{}{path}", p.url))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// Asserts a typed refusal: the status and the `ErrorBody::error` reason.
fn refused(answer: (u16, serde_json::Value), status: u16, expected: &str) {
    let (got, body) = answer;
    assert_eq!((got, reason(&body).as_str()), (status, expected), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// A proof request for `phone`'s keys.
fn proof_request(phone: &Device, token: &str, home: &str) -> ProofRequest {
    ProofRequest {
        number: phone.number().as_str().to_owned(),
        subscriber_token: token.to_owned(),
        participant_keys: phone
            .participant_keys()
            .unwrap()
            .iter()
            .map(|k| B64(k.as_bytes().to_vec()))
            .collect(),
        home_kds: home.to_owned(),
    }
}

/// Posts an enrollment that must be refused with `status`/`expected`, and
/// checks that nothing was stored.
async fn enrol_refused(w: &World, request: &EnrollRequest, status: u16, expected: &str) {
    let before = snapshot(&w.p);
    refused(
        w.p.post("/v1/enrollment", None, request).await,
        status,
        expected,
    );
    assert_eq!(
        snapshot(&w.p),
        before,
        "a refused enrollment stored nothing"
    );
}

/// A legitimate enrollment of a new phone still succeeds.
async fn legit_enrollment_still_works(w: &World) {
    let mut carol = phone("+15550100003", DeviceProfile::Android, w.p.trust());
    w.p.enroll(&mut carol, false).await;
}

/// Single-use KeyPackages of `phone`, without last-resort ones.
fn single_use(phone: &mut Device, per_suite: usize) -> Vec<B64> {
    phone
        .generate_key_packages(per_suite)
        .unwrap()
        .key_packages
        .into_iter()
        .map(|(_, k)| B64(k))
        .collect()
}

fn upload_of(key_packages: Vec<B64>) -> UploadKeyPackages {
    UploadKeyPackages {
        key_packages,
        last_resort: vec![],
    }
}

async fn upload_refused(w: &World, token: &str, upload: &UploadKeyPackages, expected: &str) {
    let before = snapshot(&w.p);
    let status = match expected {
        "unauthenticated" => 401,
        "revoked" => 403,
        _ => 400,
    };
    refused(
        w.p.post("/v1/keypackages", Some(token), upload).await,
        status,
        expected,
    );
    assert_eq!(snapshot(&w.p), before, "a refused upload stored nothing");
}

// ---- enrollment: forged carrier proofs ------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn enrol_carrier_proof_signed_by_unknown_key() {
    let w = world().await;
    let victim = phone("+15550100009", DeviceProfile::Ios, w.p.trust());
    // Same carrier id, another key: a rogue "carrier".
    let rogue = crosslock_acs::Acs::new(
        "carrier.example",
        "kds.a.example",
        Arc::new(SoftSigner::new()),
        86_400,
        crosslock_client::env::Environment::system(),
    );
    rogue.add_subscriber(victim.number(), "t");
    let forged = rogue
        .prove(&proof_request(&victim, "t", "kds.a.example"), now())
        .unwrap();
    let mut request = w.p.enroll_request(&victim, false).await;
    request.carrier_proof = forged.proof;
    enrol_refused(&w, &request, 403, "carrier-proof-refused").await;
    legit_enrollment_still_works(&w).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_carrier_proof_expired() {
    let w = world().await;
    let victim = phone("+15550100009", DeviceProfile::Ios, w.p.trust());
    let token = w.p.subscribe(victim.number().as_str());
    // Genuine carrier signature, issued 8 days ago with a 7-day life.
    let old =
        w.p.acs
            .prove(
                &proof_request(&victim, &token, "kds.a.example"),
                now() - 8 * 86_400,
            )
            .unwrap();
    assert!(old.not_after < now());
    let mut request = w.p.enroll_request(&victim, false).await;
    request.carrier_proof = old.proof;
    enrol_refused(&w, &request, 403, "carrier-proof-refused").await;
    legit_enrollment_still_works(&w).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_victims_carrier_proof_with_attacker_keys() {
    let w = world().await;
    // Mallory holds a genuine proof for Bob's number and Bob's keys (e.g.
    // sniffed), and sends it with CSRs for her own keys.
    let mallory = phone("+15550100002", DeviceProfile::Android, w.p.trust());
    let mut request = w.p.enroll_request(&w.bob, false).await;
    request.csrs = mallory
        .certificate_requests()
        .unwrap()
        .into_iter()
        .map(B64)
        .collect();
    request.device_id = mallory.device_id().to_owned();
    enrol_refused(&w, &request, 400, "csr-refused").await;
    // Bob's number still has exactly Bob's device.
    let (status, answer) = w.p.claim(&w.alice_token, "+15550100002").await;
    assert_eq!(status, 200, "{answer}");
    let claimed = participant(&answer);
    assert_eq!(claimed.devices.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_carrier_proof_for_another_home_kds() {
    let w = world().await;
    let victim = phone("+15550100009", DeviceProfile::Ios, w.p.trust());
    let mut request = w.p.enroll_request(&victim, false).await;
    request.carrier_proof = B64(w.p.carrier_proof(&victim, "kds.b.example"));
    enrol_refused(&w, &request, 403, "wrong-home-kds").await;
    legit_enrollment_still_works(&w).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_replayed_nonce() {
    let w = world().await;
    let mut carol = phone("+15550100003", DeviceProfile::Android, w.p.trust());
    let request = w.p.enroll_request(&carol, false).await;
    w.p.complete_enrollment(&mut carol, request.clone()).await;
    // The same request (nonce, proof, CSRs) replayed verbatim.
    enrol_refused(&w, &request, 409, "bad-nonce").await;
    // Replayed with the flag that would evict the genuine device.
    let mut evicting = request.clone();
    evicting.replace_existing = true;
    enrol_refused(&w, &evicting, 409, "bad-nonce").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_attestation_for_another_key() {
    let root = Arc::new(common::android::AttestationRoot::new());
    let roots = crosslock_attest::AndroidRoots::from_roots_json(&root.roots_json()).unwrap();
    let w = world_with(ProviderSetup {
        configure: Box::new(move |c| c.android_roots = roots),
        ..ProviderSetup::default()
    })
    .await;
    let victim = phone("+15550100009", DeviceProfile::Android, w.p.trust());
    let mut request = w.p.enroll_request(&victim, false).await;
    // The right challenge, but the attested key is a software key of the
    // attacker's, not the participant key the CSR names.
    let challenge = crosslock_attest::android_enrollment_challenge(&request.nonce.0);
    let other = phone("+15550100009", DeviceProfile::Android, w.p.trust())
        .participant_keys()
        .unwrap()[0]
        .clone();
    request.attestation = Some(AttestationBody::Android {
        chain: root
            .attest(&other, &challenge)
            .into_iter()
            .map(B64)
            .collect(),
    });
    enrol_refused(&w, &request, 403, "attestation-refused").await;
    // The same phone with an attestation of its own key is enrolled.
    let good = w.p.enroll_request_attested(&victim, &root).await;
    let (status, body) = w.p.post("/v1/enrollment", None, &good).await;
    assert_eq!(status, 200, "{body}");
}

// ---- enrollment: hostile encodings ----------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn enrol_device_id_path_traversal_and_nul() {
    let w = world().await;
    let victim = phone("+15550100009", DeviceProfile::Ios, w.p.trust());
    for id in [
        "../../admin/v1/revoke",
        "..%2f..%2fkds.db",
        "00000000-0000-0000-0000-000000000000\0x",
        "\0",
        "",
    ] {
        let mut request = w.p.enroll_request(&victim, false).await;
        request.device_id = id.to_owned();
        enrol_refused(&w, &request, 400, "malformed-request").await;
    }
    legit_enrollment_still_works(&w).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_device_id_very_long() {
    let w = world().await;
    let victim = phone("+15550100009", DeviceProfile::Ios, w.p.trust());
    let mut request = w.p.enroll_request(&victim, false).await;
    request.device_id = "a".repeat(200_000);
    enrol_refused(&w, &request, 400, "malformed-request").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_truncated_json() {
    let w = world().await;
    let victim = phone("+15550100009", DeviceProfile::Ios, w.p.trust());
    let request = w.p.enroll_request(&victim, false).await;
    let body = serde_json::to_vec(&request).unwrap();
    let before = snapshot(&w.p);
    for cut in [1, body.len() / 2, body.len() - 1] {
        refused(
            w.p.post_raw("/v1/enrollment", body[..cut].to_vec()).await,
            400,
            "malformed-request",
        );
    }
    assert_eq!(snapshot(&w.p), before);
    // The whole body (its nonce was not consumed by the cut ones) enrols.
    let (status, answer) = w.p.post_raw("/v1/enrollment", body).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_invalid_utf8_in_json_string() {
    let w = world().await;
    let victim = phone("+15550100009", DeviceProfile::Ios, w.p.trust());
    let request = w.p.enroll_request(&victim, false).await;
    let body = serde_json::to_vec(&request).unwrap();
    let text = String::from_utf8(body).unwrap();
    let at = text.find(&request.device_id).unwrap();
    let mut bad = text.into_bytes();
    bad[at] = 0xC3; // starts a 2-byte sequence ...
    bad[at + 1] = 0x28; // ... that does not continue
    let before = snapshot(&w.p);
    refused(
        w.p.post_raw("/v1/enrollment", bad).await,
        400,
        "malformed-request",
    );
    // A lone surrogate escape is not a string either.
    let surrogate = br#"{"nonce":"AAAA","device_id":"\ud800","csrs":[],"carrier_proof":"AAAA","replace_existing":false}"#;
    refused(
        w.p.post_raw("/v1/enrollment", surrogate.to_vec()).await,
        400,
        "malformed-request",
    );
    assert_eq!(snapshot(&w.p), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_oversize_body() {
    let w = world().await;
    let victim = phone("+15550100009", DeviceProfile::Ios, w.p.trust());
    let mut request = w.p.enroll_request(&victim, false).await;
    // A well-formed request padded past the 1 MiB body limit.
    request
        .carrier_proof
        .0
        .extend(std::iter::repeat_n(0, 1024 * 1024));
    let body = serde_json::to_vec(&request).unwrap();
    let before = snapshot(&w.p);
    refused(w.p.post_raw("/v1/enrollment", body).await, 413, "too-large");
    assert_eq!(snapshot(&w.p), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn enrol_unknown_fields_are_ignored_not_trusted() {
    let w = world().await;
    let mut victim = phone("+15550100009", DeviceProfile::Ios, w.p.trust());
    let request = w.p.enroll_request(&victim, false).await;
    // Fields the server does not know try to pick the number, the
    // assurance and the device's credentials.
    let mut body = serde_json::to_value(&request).unwrap();
    body["number"] = "+15550100002".into();
    body["assurance"] = "hardware-verified".into();
    body["credentials"] = serde_json::json!([["AAAA"]]);
    let before = snapshot(&w.p);
    let (status, answer) = w.p.post("/v1/enrollment", None, &body).await;
    assert_eq!(status, 200, "{answer}");
    let response: EnrollResponse = serde_json::from_value(answer).unwrap();
    assert_eq!(
        response.assurance,
        Assurance::None,
        "assurance not smuggled"
    );
    victim
        .install_credentials(
            response
                .credentials
                .into_iter()
                .map(|c| c.into_iter().map(|b| b.0).collect())
                .collect(),
        )
        .unwrap();
    // One device more, under the proven number; Bob still has one device.
    let after = snapshot(&w.p);
    assert_eq!(after["devices"].0, before["devices"].0 + 1);
    let (_, bob) = w.p.claim(&w.alice_token, "+15550100002").await;
    assert_eq!(participant(&bob).devices.len(), 1);
    let (status, _) = w.p.claim(&w.alice_token, "+15550100009").await;
    assert_eq!(status, 200);
}

// ---- KeyPackages ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn upload_same_key_package_twice() {
    let mut w = world().await;
    let kps = single_use(&mut w.bob, 1);
    let upload = upload_of(kps.clone());
    let (status, body) =
        w.p.post("/v1/keypackages", Some(&w.bob_token), &upload)
            .await;
    assert_eq!(status, 200, "{body}");
    // A retry (or a replay) of the same upload: refused whole.
    upload_refused(&w, &w.bob_token, &upload, "key-package-refused").await;
    // One already stored, mixed with fresh ones: refused whole too.
    let mut mixed = single_use(&mut w.bob, 1);
    mixed.push(kps[0].clone());
    upload_refused(&w, &w.bob_token, &upload_of(mixed), "key-package-refused").await;
    // Fresh ones are accepted.
    let fresh = upload_of(single_use(&mut w.bob, 1));
    let (status, body) =
        w.p.post("/v1/keypackages", Some(&w.bob_token), &fresh)
            .await;
    assert_eq!(status, 200, "{body}");
}

/// SUITE-PQ-3: a KeyPackage on the retired private post-quantum code
/// point 0xFE4C (what an outdated build would upload), with genuine ones:
/// the upload is refused whole, saying the suite is retired.
#[tokio::test(flavor = "multi_thread")]
async fn upload_retired_suite_key_package() {
    let mut w = world().await;
    let mut kps = single_use(&mut w.bob, 1);
    let mut retired = kps[0].0.clone();
    retired[6..8].copy_from_slice(&0xFE4Cu16.to_be_bytes());
    kps.push(B64(retired));
    let upload = upload_of(kps);
    upload_refused(&w, &w.bob_token, &upload, "key-package-refused").await;
    let (status, body) =
        w.p.post("/v1/keypackages", Some(&w.bob_token), &upload)
            .await;
    assert_eq!(status, 400);
    assert!(body.to_string().contains("retired"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_duplicate_key_package_in_one_batch() {
    let mut w = world().await;
    let kp = single_use(&mut w.bob, 1).remove(0);
    let upload = upload_of(vec![kp.clone(), kp.clone()]);
    upload_refused(&w, &w.bob_token, &upload, "key-package-refused").await;
    // Sent once, it is accepted.
    let (status, body) =
        w.p.post("/v1/keypackages", Some(&w.bob_token), &upload_of(vec![kp]))
            .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_claimed_key_package_again() {
    let mut w = world().await;
    // Claim everything Bob has, remembering what was handed out.
    let mut handed_out = std::collections::HashSet::new();
    for _ in 0..3 {
        let (status, answer) = w.p.claim(&w.alice_token, "+15550100002").await;
        assert_eq!(status, 200, "{answer}");
        let claim: ClaimResponse = serde_json::from_value(answer).unwrap();
        for kp in &claim.devices[0].key_packages {
            assert!(handed_out.insert(kp.0.clone()), "handed out twice");
        }
    }
    // Re-uploading claimed KeyPackages would let them be handed out again.
    let again = upload_of(handed_out.iter().cloned().map(B64).collect());
    upload_refused(&w, &w.bob_token, &again, "key-package-refused").await;
    let one = upload_of(vec![B64(handed_out.iter().next().unwrap().clone())]);
    upload_refused(&w, &w.bob_token, &one, "key-package-refused").await;
    // The next claim gets last-resort KeyPackages only, none of the claimed.
    let (_, answer) = w.p.claim(&w.alice_token, "+15550100002").await;
    let claim: ClaimResponse = serde_json::from_value(answer).unwrap();
    assert!(
        claim.devices[0]
            .key_packages
            .iter()
            .all(|kp| !handed_out.contains(&kp.0))
    );
    // Fresh ones are accepted.
    let fresh = upload_of(single_use(&mut w.bob, 1));
    let (status, body) =
        w.p.post("/v1/keypackages", Some(&w.bob_token), &fresh)
            .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_key_package_of_another_device() {
    let mut w = world().await;
    // Alice uploads one of Bob's KeyPackages as hers.
    let bobs = single_use(&mut w.bob, 1);
    let token = w.alice_token.clone();
    upload_refused(&w, &token, &upload_of(bobs), "key-package-refused").await;
    let own = upload_of(single_use(&mut w.alice, 1));
    let (status, body) =
        w.p.post("/v1/keypackages", Some(&w.alice_token), &own)
            .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_key_package_with_downgraded_suite() {
    let mut w = world().await;
    for downgrade in [0x0003u16, 0x0000, 0x0001] {
        let mut kps = single_use(&mut w.bob, 1);
        // MLSMessage: version, wire format, then the KeyPackage's version
        // and cipher suite. Rewrite the suite of a non-0x0001 package.
        let kp = kps
            .iter_mut()
            .find(|k| k.0[6..8] != [0, 1])
            .expect("a package of another suite");
        kp.0[6..8].copy_from_slice(&downgrade.to_be_bytes());
        upload_refused(&w, &w.bob_token, &upload_of(kps), "key-package-refused").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_key_package_with_short_lived_credential() {
    // Credentials issued for 10 days: less than the 30 days a KeyPackage's
    // credential must have left (a credential about to expire).
    let p = Provider::start(ProviderSetup {
        configure: Box::new(|c| c.credential_lifetime_secs = 10 * 86_400),
        ..ProviderSetup::default()
    })
    .await;
    let mut alice = phone("+15550100001", DeviceProfile::Android, p.trust());
    let token = p.enroll(&mut alice, false).await;
    let upload = upload_of(single_use(&mut alice, 1));
    let before = snapshot(&p);
    refused(
        p.post("/v1/keypackages", Some(&token), &upload).await,
        400,
        "key-package-refused",
    );
    assert_eq!(snapshot(&p), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_without_or_with_forged_token() {
    let mut w = world().await;
    let upload = upload_of(single_use(&mut w.bob, 1));
    let before = snapshot(&w.p);
    refused(
        w.p.post("/v1/keypackages", None, &upload).await,
        401,
        "unauthenticated",
    );
    for token in [
        "0000",
        &"f".repeat(64),
        &w.bob_token[..63],
        &w.bob_token.to_uppercase(),
    ] {
        refused(
            w.p.post("/v1/keypackages", Some(token), &upload).await,
            401,
            "unauthenticated",
        );
    }
    // Not a Bearer token at all.
    let (status, _, body) = send(
        &w.p,
        reqwest::Method::POST,
        "/v1/keypackages",
        None,
        serde_json::to_vec(&upload).unwrap(),
    )
    .await;
    refused((status, body), 401, "unauthenticated");
    assert_eq!(snapshot(&w.p), before);
    let (status, body) =
        w.p.post("/v1/keypackages", Some(&w.bob_token), &upload)
            .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_from_revoked_device() {
    let mut w = world().await;
    let upload = upload_of(single_use(&mut w.bob, 1));
    let (status, body) =
        w.p.post("/v1/revoke", Some(&w.bob_token), &serde_json::json!({}))
            .await;
    assert_eq!(status, 200, "{body}");
    let token = w.bob_token.clone();
    upload_refused(&w, &token, &upload, "revoked").await;
}

// ---- claims, admin, queries -----------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn claim_number_with_odd_characters() {
    let w = world().await;
    let before = snapshot(&w.p);
    for number in [
        "+1555010000\u{0}2",
        "../+15550100002",
        "+15550100002/../../admin",
        "%2e%2e%2f",
        &"9".repeat(100_000),
        "",
    ] {
        refused(
            w.p.claim(&w.alice_token, number).await,
            400,
            "invalid-number",
        );
    }
    assert_eq!(snapshot(&w.p), before, "no KeyPackage was handed out");
    let (status, answer) = w.p.claim(&w.alice_token, "+15550100002").await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn claim_flood_is_rate_limited() {
    let w = world_with(ProviderSetup {
        configure: Box::new(|c| {
            c.claim_rate = crosslock_kds::RateLimit {
                burst: 2,
                refill_secs: 3600,
            }
        }),
        ..ProviderSetup::default()
    })
    .await;
    let kps_before = w.p.kds.store().stock(w.bob.device_id(), now()).unwrap();
    let body = serde_json::to_vec(&ClaimRequest {
        number: "+15550100002".into(),
    })
    .unwrap();
    let mut ok = 0;
    let mut limited = 0;
    for _ in 0..10 {
        let (status, headers, answer) = send(
            &w.p,
            reqwest::Method::POST,
            "/v1/claim",
            Some(&w.alice_token),
            body.clone(),
        )
        .await;
        match status {
            200 => ok += 1,
            429 => {
                limited += 1;
                assert_eq!(reason(&answer), "rate-limited");
                let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((1..=3600).contains(&retry), "{retry}");
            }
            other => panic!("HTTP {other}: {answer}"),
        }
    }
    assert_eq!((ok, limited), (2, 8));
    // Exactly the burst's KeyPackages left the stock (one per suite each).
    let kps_after = w.p.kds.store().stock(w.bob.device_id(), now()).unwrap();
    for (suite, n) in &kps_before.available {
        assert_eq!(kps_after.available.get(suite).copied().unwrap_or(0), n - 2);
    }
    // Another requester is not affected.
    let (status, answer) = w.p.claim(&w.bob_token, "+15550100001").await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_revoke_with_wrong_token() {
    let w = world().await;
    let request = serde_json::json!({ "number": "+15550100002" });
    let before = snapshot(&w.p);
    for token in [
        None,
        Some("admin-secre"),
        Some("Admin-secret"),
        Some(w.bob_token.as_str()),
    ] {
        refused(
            w.p.post("/admin/v1/revoke", token, &request).await,
            403,
            "forbidden",
        );
    }
    assert_eq!(snapshot(&w.p), before, "nobody was revoked");
    let (status, answer) = w.p.claim(&w.alice_token, "+15550100002").await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_list_with_malformed_query() {
    let w = world().await;
    let before = snapshot(&w.p);
    for query in ["?since=..%2f..%2f", "?since=-1", "?since=%00", "?since=1e3"] {
        let (status, _, body) = send(
            &w.p,
            reqwest::Method::GET,
            &format!("/v1/revoked{query}"),
            Some(&w.alice_token),
            Vec::new(),
        )
        .await;
        refused((status, body), 400, "malformed-request");
    }
    assert_eq!(snapshot(&w.p), before);
    let (status, body) = w.p.get("/v1/revoked?since=0", Some(&w.alice_token)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kt_history_of_another_number() {
    let w = world_with(ProviderSetup {
        transparency: Some(crosslock_kt::server::LogKeys::generate().unwrap()),
        ..ProviderSetup::default()
    })
    .await;
    w.p.epoch().await;
    let log = w.p.kt.as_ref().unwrap();
    let root_before = log.latest_root().unwrap();
    let before = snapshot(&w.p);
    let request = NumberRequest {
        number: "+15550100002".into(),
    };
    refused(
        w.p.post("/v1/kt/history", Some(&w.alice_token), &request)
            .await,
        403,
        "not-your-number",
    );
    refused(
        w.p.post("/v1/kt/history", None, &request).await,
        401,
        "unauthenticated",
    );
    assert_eq!(snapshot(&w.p), before);
    assert_eq!(log.latest_root().unwrap(), root_before);
    // Bob may read his own history.
    let (status, body) =
        w.p.post("/v1/kt/history", Some(&w.bob_token), &request)
            .await;
    assert_eq!(status, 200, "{body}");
}
