#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Attacks on the KDS (issue 14), each run as the attacker would: over the
//! real HTTP API (and the federation API over mutual TLS), against real
//! SQLite stores. Each asserts the typed refusal, that the KDS's tables are
//! exactly as before (`snapshot`, which leaves out nonces and rate
//! buckets: consuming those is what they are for), and that the
//! legitimate path still works.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use crosslock_acs::{Acs, ProofRequest};
use crosslock_client::*;
use crosslock_credential::{NumberingPlan, TrustedCarriers};
use crosslock_kds::{PeerKds, RateLimit};
use crosslock_tls::{ClientAuth, TlsCa};
use crosslock_wire::api::B64;
use crosslock_wire::api::kds::*;
use crosslock_wire::api::kt::{HistoryAnswer, NumberRequest};

const ALICE: &str = "+15550100001";
const BOB: &str = "+15550100002";
const CAROL: &str = "+15550100003";
const UK: &str = "+447700900123";

/// Asserts a typed refusal: the status and the `ErrorBody::error` reason.
fn refused(answer: (u16, serde_json::Value), status: u16, expected: &str) {
    let (got, body) = answer;
    assert_eq!((got, reason(&body).as_str()), (status, expected), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// Posts an enrollment (with `token` as bearer) that must be refused, and
/// checks that nothing was stored.
async fn enrol_refused(
    p: &Provider,
    request: &EnrollRequest,
    token: Option<&str>,
    status: u16,
    expected: &str,
) {
    let before = snapshot(p);
    refused(
        p.post("/v1/enrollment", token, request).await,
        status,
        expected,
    );
    assert_eq!(snapshot(p), before, "a refused enrollment stored nothing");
}

/// The device ids the number's claim answer holds.
async fn devices_of(p: &Provider, token: &str, number: &str) -> Vec<String> {
    let (status, answer) = p.claim(token, number).await;
    assert_eq!(status, 200, "{answer}");
    serde_json::from_value::<ClaimResponse>(answer)
        .unwrap()
        .devices
        .into_iter()
        .map(|d| d.device_id)
        .collect()
}

/// A carrier proof by this provider's carrier for `phone`'s keys, as of
/// `at` (proofs made at different times differ).
fn proof_at(p: &Provider, phone: &Device, at: u64) -> B64 {
    let token = p.subscribe(phone.number().as_str());
    let request = ProofRequest {
        number: phone.number().as_str().to_owned(),
        subscriber_token: token,
        participant_keys: phone
            .participant_keys()
            .unwrap()
            .iter()
            .map(|k| B64(k.as_bytes().to_vec()))
            .collect(),
        home_kds: String::new(),
    };
    p.acs.prove(&request, at).unwrap().proof
}

/// A peer entry for provider B, homing `+44` (its federation endpoint is
/// not used by these tests).
fn peer_b(keys_b: &ProviderKeys) -> PeerKds {
    PeerKds {
        kds_id: "kds.b.example".into(),
        federation_url: "https://127.0.0.1:9".into(),
        prefixes: vec!["+44".into()],
        credential_root: keys_b.ca.certificate().to_vec(),
        client_cert_sha256: [0; 32],
        carriers: TrustedCarriers::new(vec![keys_b.carrier()]),
    }
}

/// Provider A as the provider crate configures it with a peer B: B's
/// carrier is believed for B's claim answers, A's own carrier alone
/// enrols, and the numbering plan homes `+1555` here and `+44` at B.
async fn provider_with_peer(keys_b: &ProviderKeys) -> Provider {
    let peer = peer_b(keys_b);
    let b_carrier = keys_b.carrier();
    Provider::start(ProviderSetup {
        configure: Box::new(move |c| {
            let own = c.carriers.clone();
            c.carriers = own.merged(&TrustedCarriers::new(vec![b_carrier]));
            c.set_enrolment_carriers(own);
            let mut plan = NumberingPlan::new();
            plan.add_all(["+1555"], "kds.a.example").unwrap();
            plan.add_all(["+44"], "kds.b.example").unwrap();
            c.set_numbering_plan(plan);
            c.peers = vec![peer];
        }),
        ..ProviderSetup::default()
    })
    .await
}

// ---- finding 1: a peer's carrier enrols a local number --------------------------

/// A hostile peer B signs, with its own (trusted) carrier key, a proof for
/// Alice's number homed at A, naming A as home, for Mallory's keys, and
/// enrols at A with `replace_existing` to evict Alice. A believes B's
/// carrier only for B's claim answers: refused as
/// `carrier-not-authoritative`, Alice untouched.
#[tokio::test(flavor = "multi_thread")]
async fn peer_carrier_cannot_enrol_a_local_number() {
    let keys_b = ProviderKeys::new("kds.b.example", "carrier.b.example");
    let a = provider_with_peer(&keys_b).await;
    let mut alice = phone(ALICE, DeviceProfile::Android, a.trust());
    let alice_token = a.enroll(&mut alice, false).await;
    let mut bob = phone(BOB, DeviceProfile::Ios, a.trust());
    let bob_token = a.enroll(&mut bob, false).await;
    a.publish(&mut alice, &alice_token, 1).await;

    // B's carrier, run by the hostile peer: it signs whatever B wants.
    let hostile = Acs::new(
        "carrier.b.example",
        "kds.a.example",
        keys_b.carrier_signer.clone(),
        86_400,
        crosslock_client::env::Environment::system(),
    );
    let mallory = phone(ALICE, DeviceProfile::Android, a.trust());
    for replace in [true, false] {
        let mut request = a.enroll_request(&mallory, replace).await;
        request.carrier_proof = B64(carrier_proof_by(&hostile, &mallory));
        enrol_refused(&a, &request, None, 403, "carrier-not-authoritative").await;
    }
    // Alice keeps her number, her device and her token.
    assert_eq!(
        devices_of(&a, &bob_token, ALICE).await,
        [alice.device_id().to_owned()]
    );
    let (status, body) = a.get("/v1/keypackages/stock", Some(&alice_token)).await;
    assert_eq!(status, 200, "{body}");
    // The number's own subscriber, with the home carrier, still replaces
    // her devices (a new phone).
    let mut alice2 = phone(ALICE, DeviceProfile::Android, a.trust());
    a.enroll(&mut alice2, true).await;
    refused(
        a.get("/v1/keypackages/stock", Some(&alice_token)).await,
        403,
        "revoked",
    );
}

/// A's own carrier (or anyone it serves) proves a number the numbering plan
/// homes at peer B, or at nobody, naming A as home: A refuses to enrol it
/// (`not-homed-here`), so A cannot take over B's numbers either.
#[tokio::test(flavor = "multi_thread")]
async fn local_carrier_cannot_enrol_a_number_homed_at_a_peer() {
    let keys_b = ProviderKeys::new("kds.b.example", "carrier.b.example");
    let a = provider_with_peer(&keys_b).await;
    for number in [UK, "+33612345678", "+15560100001"] {
        let stranger = phone(number, DeviceProfile::Ios, a.trust());
        let request = a.enroll_request(&stranger, true).await;
        enrol_refused(&a, &request, None, 403, "not-homed-here").await;
    }
    // Without a plan of their own, the peers' prefixes still count.
    let plain = Provider::start(ProviderSetup {
        configure: Box::new({
            let peer = peer_b(&keys_b);
            move |c| c.peers = vec![peer]
        }),
        ..ProviderSetup::default()
    })
    .await;
    let stranger = phone(UK, DeviceProfile::Ios, plain.trust());
    let request = plain.enroll_request(&stranger, false).await;
    enrol_refused(&plain, &request, None, 403, "not-homed-here").await;
    // A number homed here enrols.
    let mut local = phone(ALICE, DeviceProfile::Ios, a.trust());
    a.enroll(&mut local, false).await;
}

// ---- finding 2: device identity is owned ------------------------------------------

/// Mallory, a genuine subscriber of her own number, enrols with Alice's
/// (public) device id and `replace_existing`, to revoke Alice's device:
/// refused as `device-id-taken`, Alice untouched.
#[tokio::test(flavor = "multi_thread")]
async fn reusing_another_numbers_device_id_is_refused() {
    let p = Provider::start(ProviderSetup::default()).await;
    let mut alice = phone(ALICE, DeviceProfile::Android, p.trust());
    let alice_token = p.enroll(&mut alice, false).await;
    p.publish(&mut alice, &alice_token, 1).await;
    let mut bob = phone(BOB, DeviceProfile::Ios, p.trust());
    let bob_token = p.enroll(&mut bob, false).await;
    let mallory = phone("+15550100666", DeviceProfile::Android, p.trust());
    // Presenting a token of her own does not make Alice's id hers.
    let mallory_token = p
        .enroll(
            &mut phone("+15550100666", DeviceProfile::Android, p.trust()),
            false,
        )
        .await;
    for replace in [false, true] {
        for token in [None, Some(mallory_token.as_str())] {
            let request = EnrollRequest {
                device_id: alice.device_id().to_owned(),
                ..p.enroll_request(&mallory, replace).await
            };
            enrol_refused(&p, &request, token, 403, "device-id-taken").await;
        }
    }
    assert_eq!(
        devices_of(&p, &bob_token, ALICE).await,
        [alice.device_id().to_owned()]
    );
    let (status, body) = p.get("/v1/keypackages/stock", Some(&alice_token)).await;
    assert_eq!(status, 200, "{body}");
}

/// KDS-ENR-12: a token a device chooses for itself is 32 bytes of
/// lowercase hex and no other device's. A short, long, upper-case or
/// non-hex one, or Bob's token, is refused as `malformed-request` and
/// stores nothing; a well-formed one is the token the device then holds
/// (the answer carries it, it opens the device's stock). (A renewal
/// choosing it: crates/sdk/tests/renew.rs.)
#[tokio::test(flavor = "multi_thread")]
async fn a_token_the_device_chooses_is_well_formed_and_its_own() {
    let p = Provider::start(ProviderSetup::default()).await;
    let mut bob = phone(BOB, DeviceProfile::Ios, p.trust());
    let bob_token = p.enroll(&mut bob, false).await;
    let mut alice = phone(ALICE, DeviceProfile::Android, p.trust());
    let good = "0123456789abcdef".repeat(4);
    for bad in [
        String::new(),
        "ab".repeat(31),
        "ab".repeat(33),
        "AB".repeat(32),
        format!("{}zz", "ab".repeat(31)),
        format!("{}\u{e9}", "a".repeat(63)),
        bob_token.clone(),
    ] {
        let request = EnrollRequest {
            next_token: Some(bad.clone()),
            ..p.enroll_request(&alice, false).await
        };
        enrol_refused(&p, &request, None, 400, "malformed-request").await;
    }
    let request = EnrollRequest {
        next_token: Some(good.clone()),
        ..p.enroll_request(&alice, false).await
    };
    let token = p.complete_enrollment_with(&mut alice, request, None).await;
    assert_eq!(token, good);
    let (status, body) = p.get("/v1/keypackages/stock", Some(&good)).await;
    assert_eq!(status, 200, "{body}");
    // Bob's token still opens Bob's stock.
    assert_eq!(
        p.get("/v1/keypackages/stock", Some(&bob_token)).await.0,
        200
    );
}

/// Someone with a proof for Alice's own number (a second SIM on her line,
/// a family plan) re-enrols Alice's device id without that device's token,
/// or with another device's token: refused as `device-proof-required`.
/// Alice's phone, with its current token, re-enrols its id (a key roll).
#[tokio::test(flavor = "multi_thread")]
async fn reenrolling_a_device_id_needs_that_devices_token() {
    let p = Provider::start(ProviderSetup::default()).await;
    let mut alice = phone(ALICE, DeviceProfile::Android, p.trust());
    let alice_token = p.enroll(&mut alice, false).await;
    let mut bob = phone(BOB, DeviceProfile::Ios, p.trust());
    let bob_token = p.enroll(&mut bob, false).await;
    let mut tablet = phone(ALICE, DeviceProfile::Android, p.trust());
    let tablet_token = p.enroll(&mut tablet, false).await;
    let mut mallory = phone(ALICE, DeviceProfile::Android, p.trust());
    let guessed = "0".repeat(64);
    for token in [None, Some(tablet_token.as_str()), Some(guessed.as_str())] {
        let request = EnrollRequest {
            device_id: alice.device_id().to_owned(),
            ..p.enroll_request(&mallory, false).await
        };
        enrol_refused(&p, &request, token, 403, "device-proof-required").await;
    }
    let mut expected = vec![alice.device_id().to_owned(), tablet.device_id().to_owned()];
    expected.sort();
    let mut got = devices_of(&p, &bob_token, ALICE).await;
    got.sort();
    assert_eq!(got, expected);
    // The device itself, with its token, rolls its keys.
    let request = EnrollRequest {
        device_id: alice.device_id().to_owned(),
        ..p.enroll_request(&mallory, false).await
    };
    let new_token = p
        .complete_enrollment_with(&mut mallory, request, Some(&alice_token))
        .await;
    refused(
        p.get("/v1/keypackages/stock", Some(&alice_token)).await,
        401,
        "unauthenticated",
    );
    let (status, body) = p.get("/v1/keypackages/stock", Some(&new_token)).await;
    assert_eq!(status, 200, "{body}");
}

/// One subscriber enrols device after device under its number: refused at
/// the cap (`too-many-devices`) with nothing stored; `replace_existing`
/// (a new phone) still works.
#[tokio::test(flavor = "multi_thread")]
async fn enrolling_past_the_device_cap_is_refused() {
    let p = Provider::start(ProviderSetup {
        configure: Box::new(|c| c.max_devices_per_number = 3),
        ..ProviderSetup::default()
    })
    .await;
    let mut bob = phone(BOB, DeviceProfile::Ios, p.trust());
    p.enroll(&mut bob, false).await;
    for _ in 0..3 {
        let mut d = phone(ALICE, DeviceProfile::Android, p.trust());
        p.enroll(&mut d, false).await;
    }
    let extra = phone(ALICE, DeviceProfile::Android, p.trust());
    let request = p.enroll_request(&extra, false).await;
    enrol_refused(&p, &request, None, 409, "too-many-devices").await;
    let mut fresh = phone(ALICE, DeviceProfile::Android, p.trust());
    p.enroll(&mut fresh, true).await;
    assert_eq!(p.kds.store().active_devices(ALICE).unwrap().len(), 1);
}

/// A carrier proof (sniffed, or the attacker's own) replayed to enrol the
/// same keys under more device ids: refused as `carrier-proof-used-up`.
#[tokio::test(flavor = "multi_thread")]
async fn one_carrier_proof_enrols_one_device() {
    let p = Provider::start(ProviderSetup::default()).await;
    let mut alice = phone(ALICE, DeviceProfile::Android, p.trust());
    let first = p.enroll_request(&alice, false).await;
    let proof = first.carrier_proof.clone();
    p.complete_enrollment(&mut alice, first).await;
    for device_id in [
        "00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000002",
    ] {
        let request = EnrollRequest {
            device_id: device_id.into(),
            carrier_proof: proof.clone(),
            ..p.enroll_request(&alice, false).await
        };
        enrol_refused(&p, &request, None, 409, "carrier-proof-used-up").await;
    }
    // A fresh proof for the same keys enrols one more device.
    let request = EnrollRequest {
        device_id: "00000000-0000-4000-8000-000000000003".into(),
        carrier_proof: proof_at(&p, &alice, now() - 5),
        ..p.enroll_request(&alice, false).await
    };
    let (status, body) = p.post("/v1/enrollment", None, &request).await;
    assert_eq!(status, 200, "{body}");
}

// ---- finding 5: one subscriber stops transparency publishing ----------------------

/// A subscriber enrols 129 devices under one number, to overflow its
/// transparency binding (256 keys) and abort every epoch. Even with the
/// cap configured far too high, the KDS stops at 128 devices
/// (`too-many-devices`), and the number still publishes.
#[tokio::test(flavor = "multi_thread")]
async fn enrolling_past_the_binding_limit_is_refused_at_the_cap() {
    let p = Provider::start(ProviderSetup {
        transparency: Some(crosslock_kt::server::LogKeys::generate().unwrap()),
        configure: Box::new(|c| c.max_devices_per_number = 10_000),
        ..ProviderSetup::default()
    })
    .await;
    let cap = crosslock_kt::MAX_KEYS / 2;
    assert_eq!(p.kds.config().device_cap(), cap);
    let attacker = phone(ALICE, DeviceProfile::Android, p.trust());
    let csrs: Vec<B64> = attacker
        .certificate_requests()
        .unwrap()
        .into_iter()
        .map(B64)
        .collect();
    assert_eq!(csrs.len(), 2, "two keys per device: the worst case");
    let base = now();
    let request = |i: usize, nonce: Vec<u8>| EnrollRequest {
        nonce: B64(nonce),
        device_id: format!("00000000-0000-4000-8000-{i:012x}"),
        csrs: csrs.clone(),
        carrier_proof: proof_at(&p, &attacker, base - i as u64),
        attestation: None,
        replace_existing: false,
        next_token: None,
    };
    for i in 0..cap {
        let (status, body) = p
            .post("/v1/enrollment", None, &request(i, p.nonce().await))
            .await;
        assert_eq!(status, 200, "device {i}: {body}");
    }
    let over = request(cap, p.nonce().await);
    enrol_refused(&p, &over, None, 409, "too-many-devices").await;
    let root = p.epoch().await.unwrap();
    assert_eq!(root.statement.epoch, 1);
    assert!(p.kds.store().skipped().unwrap().is_empty());
    assert_eq!(p.kds.binding_of(ALICE).unwrap().keys().len(), 2 * cap);
}

/// A database from before the cap holds a number with more keys than a
/// binding can take (forced into the tables directly). The publisher
/// leaves that number out (recorded, redacted in logs), publishes the
/// others, empties the queue and keeps refreshing the root.
// Test timeout by the wall clock.
#[allow(clippy::disallowed_methods)]
#[tokio::test(flavor = "multi_thread")]
async fn an_oversize_binding_does_not_stop_publishing() {
    let p = Provider::start(ProviderSetup {
        transparency: Some(crosslock_kt::server::LogKeys::generate().unwrap()),
        configure: Box::new(|c| {
            c.transparency.epoch_interval_secs = 1;
            c.transparency.refresh_interval_secs = 1;
        }),
        ..ProviderSetup::default()
    })
    .await;
    let mut alice = phone(ALICE, DeviceProfile::Android, p.trust());
    p.enroll(&mut alice, false).await;
    let mut bob = phone(BOB, DeviceProfile::Ios, p.trust());
    let bob_token = p.enroll(&mut bob, false).await;

    // The pre-fix database: 130 more devices under Alice's number, each
    // with Alice's two credentials (262 keys), and her number queued.
    {
        let conn = rusqlite::Connection::open(p._dir.path().join("kds.db")).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        let creds: Vec<(Vec<u8>, Vec<u8>, i64)> = conn
            .prepare("SELECT public_key, chain, not_after FROM credentials WHERE device_id = ?1")
            .unwrap()
            .query_map([alice.device_id()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(creds.len(), 2);
        for i in 0..130u32 {
            let id = format!("00000000-0000-4000-8000-{i:012x}");
            let mut token = [0u8; 32];
            token[..4].copy_from_slice(&i.to_be_bytes());
            conn.execute(
                "INSERT INTO devices (device_id, number, token_hash, assurance, enrolled_at) VALUES (?1, ?2, ?3, 'none', 0)",
                rusqlite::params![id, ALICE, &token[..]],
            )
            .unwrap();
            for (k, (key, chain, not_after)) in creds.iter().enumerate() {
                conn.execute(
                    "INSERT INTO credentials (serial, device_id, public_key, chain, not_after) VALUES (?1, ?2, ?3, ?4, ?5)",
                    rusqlite::params![format!("{i}-{k}"), id, key, chain, not_after],
                )
                .unwrap();
            }
        }
    }
    assert!(p.kds.binding_of(ALICE).is_err(), "the binding is oversize");
    let mut carol = phone(CAROL, DeviceProfile::Android, p.trust());
    let carol_token = p.enroll(&mut carol, false).await;

    // The publisher, as the provider runs it.
    let publisher = tokio::spawn(p.kds.clone().run_transparency());
    let log = p.kt.clone().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, _) = p.claim(&bob_token, CAROL).await;
        if status == 200 && p.kds.store().queue_len().unwrap() == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "carol never published"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let skipped = p.kds.store().skipped().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].number, ALICE);
    assert!(skipped[0].reason.contains("256"), "{}", skipped[0].reason);
    assert!(!skipped[0].reason.contains(ALICE), "{}", skipped[0].reason);
    // Bob was published in the same epoch as Carol.
    let (status, answer) = p.claim(&carol_token, BOB).await;
    assert_eq!(status, 200, "{answer}");
    // Nothing left queued, and the root keeps being re-signed.
    let signed = log.latest_root().unwrap().unwrap().statement.signed_at;
    loop {
        let now_signed = log.latest_root().unwrap().unwrap().statement.signed_at;
        if now_signed > signed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the root was never refreshed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    publisher.abort();
}

// ---- finding 11: an evicted device reads its own history ------------------------------

/// Mallory takes Alice's number over (a new phone with `replace_existing`,
/// as a SIM swap would). Alice's evicted phone, with its revoked token,
/// still fetches its own number's history and raises the takeover alert;
/// the revoked token opens nothing else.
#[tokio::test(flavor = "multi_thread")]
async fn evicted_device_can_still_read_its_own_history() {
    let p = Provider::start(ProviderSetup {
        transparency: Some(crosslock_kt::server::LogKeys::generate().unwrap()),
        ..ProviderSetup::default()
    })
    .await;
    let mut config = DeviceConfig::new(p.trust());
    config.transparency = TransparencyPolicy::new(vec![p.trusted_log()]);
    let mut alice = phone_with(ALICE, DeviceProfile::Android, config);
    let alice_token = p.enroll(&mut alice, false).await;
    let mut bob = phone(BOB, DeviceProfile::Ios, p.trust());
    p.enroll(&mut bob, false).await;
    p.epoch().await.unwrap();
    let history = |token: String| {
        let p = &p;
        async move {
            p.post(
                "/v1/kt/history",
                Some(&token),
                &NumberRequest {
                    number: ALICE.into(),
                },
            )
            .await
        }
    };
    let (status, body) = history(alice_token.clone()).await;
    assert_eq!(status, 200, "{body}");
    let first: HistoryAnswer = serde_json::from_value(body).unwrap();
    assert_eq!(alice.check_own_history(&first).unwrap(), vec![]);

    let mut mallory = phone(ALICE, DeviceProfile::Android, p.trust());
    p.enroll(&mut mallory, true).await;
    p.epoch().await.unwrap();
    refused(p.claim(&alice_token, BOB).await, 403, "revoked");
    let (status, body) = history(alice_token.clone()).await;
    assert_eq!(status, 200, "{body}");
    let after: HistoryAnswer = serde_json::from_value(body).unwrap();
    let alerts = alice.check_own_history(&after).unwrap();
    assert!(
        alerts
            .iter()
            .any(|a| matches!(a, TransparencyAlert::OwnKeyMissing { .. })),
        "{alerts:?}"
    );
    // Only its own number's history.
    refused(
        p.post(
            "/v1/kt/history",
            Some(&alice_token),
            &NumberRequest { number: BOB.into() },
        )
        .await,
        403,
        "not-your-number",
    );
}

// ---- finding 12: claim budgets, enumeration, requester ids --------------------------

/// A device enumerates numbers: claims for numbers nobody has, a number
/// whose devices were revoked and a number homed nowhere all give the same
/// answer, and every one, the first claim for each target included, is
/// paid from the requester's budget; when it is spent, a claim for a real
/// number is refused too.
#[tokio::test(flavor = "multi_thread")]
async fn enumerating_numbers_costs_the_requesters_budget() {
    let p = Provider::start(ProviderSetup {
        configure: Box::new(|c| {
            c.claim_rate = RateLimit {
                burst: 1,
                refill_secs: 3600,
            };
            c.requester_rate = RateLimit {
                burst: 4,
                refill_secs: 3600,
            };
        }),
        ..ProviderSetup::default()
    })
    .await;
    let mut alice = phone(ALICE, DeviceProfile::Android, p.trust());
    let alice_token = p.enroll(&mut alice, false).await;
    let mut bob = phone(BOB, DeviceProfile::Ios, p.trust());
    let bob_token = p.enroll(&mut bob, false).await;
    let mut carol = phone(CAROL, DeviceProfile::Ios, p.trust());
    let carol_token = p.enroll(&mut carol, false).await;
    p.publish(&mut carol, &carol_token, 2).await;
    let mut gone = phone("+15550100044", DeviceProfile::Ios, p.trust());
    let gone_token = p.enroll(&mut gone, false).await;
    let (status, _) = p
        .post("/v1/revoke", Some(&gone_token), &serde_json::json!({}))
        .await;
    assert_eq!(status, 200);

    // The first claim for a target is paid: the second is refused.
    let (status, body) = p.claim(&alice_token, BOB).await;
    assert_eq!(status, 200, "{body}");
    refused(p.claim(&alice_token, BOB).await, 429, "rate-limited");
    // Unknown, revoked and unhomed numbers: one answer, each paid.
    let mut answers = Vec::new();
    for number in ["+15550100077", "+15550100044", "+33612345678"] {
        answers.push(p.claim(&alice_token, number).await);
    }
    for answer in &answers {
        assert_eq!(answer, &answers[0]);
    }
    refused(answers[0].clone(), 404, "unknown-number");
    // The budget is spent: a real number, never claimed before, is refused
    // and keeps its KeyPackages.
    let before = snapshot(&p);
    refused(p.claim(&alice_token, CAROL).await, 429, "rate-limited");
    assert_eq!(snapshot(&p), before);
    // Another requester has its own budget.
    let (status, body) = p.claim(&bob_token, CAROL).await;
    assert_eq!(status, 200, "{body}");
}

/// Provider B's federation endpoint, behind mutual TLS that admits A, and
/// an HTTPS client presenting A's federation certificate (the attacker's).
struct Federated {
    b: Provider,
    b_url: String,
    a_client: reqwest::Client,
}

async fn federated(configure: impl FnOnce(&mut crosslock_kds::KdsConfig) + 'static) -> Federated {
    let _ = http();
    let (tls_a, tls_b) = (
        TlsCa::generate("provider A TLS").unwrap(),
        TlsCa::generate("provider B TLS").unwrap(),
    );
    let client_a = tls_a.issue_client("kds.a.example").unwrap();
    let listen_b = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_url = format!("https://{}", listen_b.local_addr().unwrap());
    let server_b = crosslock_tls::server_config(
        &tls_b
            .issue_server(&["localhost"], &[std::net::IpAddr::from([127, 0, 0, 1])])
            .unwrap(),
        ClientAuth::Required {
            roots: vec![tls_a.certificate_der().to_vec()],
        },
    )
    .unwrap();
    let keys_a = ProviderKeys::new("kds.a.example", "carrier.a.example");
    let peer_a = PeerKds {
        kds_id: "kds.a.example".into(),
        federation_url: "https://127.0.0.1:9".into(),
        prefixes: vec!["+1".into()],
        credential_root: keys_a.ca.certificate().to_vec(),
        client_cert_sha256: client_a.leaf_sha256(),
        carriers: TrustedCarriers::new(vec![keys_a.carrier()]),
    };
    let b = Provider::start(ProviderSetup {
        kds_id: "kds.b.example",
        federation: Some((listen_b, server_b, crosslock_kds::FederationClient::none())),
        configure: Box::new(move |c| {
            c.peers = vec![peer_a];
            configure(c);
        }),
        ..ProviderSetup::default()
    })
    .await;
    let a_client = crosslock_tls::https_client(
        crosslock_tls::client_config(&[tls_b.certificate_der().to_vec()], Some(&client_a)).unwrap(),
    )
    .unwrap();
    Federated { b, b_url, a_client }
}

impl Federated {
    /// A federation claim as peer A, naming `requester`.
    async fn claim(&self, requester: &str, number: &str) -> (u16, serde_json::Value) {
        let answer = self
            .a_client
            .post(format!("{}/federation/v1/claim", self.b_url))
            .header(crosslock_kds::REQUESTER_HEADER, requester)
            .json(&ClaimRequest {
                number: number.into(),
            })
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap())
    }
}

/// Peer A names a new requester id on every claim for Carol (homed at B),
/// to drain her KeyPackages past every per-requester bucket. B keys the
/// budget on the authenticated peer: after the per-peer-and-target burst,
/// `rate-limited`, and Carol keeps the rest of her KeyPackages.
#[tokio::test(flavor = "multi_thread")]
async fn peer_rotating_requester_ids_gets_no_more_claims() {
    let f = federated(|c| {
        c.peer_target_rate = RateLimit {
            burst: 3,
            refill_secs: 3600,
        }
    })
    .await;
    let mut carol = phone(UK, DeviceProfile::Ios, f.b.trust());
    let carol_token = f.b.enroll(&mut carol, false).await;
    f.b.publish(&mut carol, &carol_token, 5).await;
    let mut served = 0;
    for i in 0..8u8 {
        let requester = hex::encode([i; 32]);
        let before = snapshot(&f.b);
        let (status, body) = f.claim(&requester, UK).await;
        match status {
            200 => served += 1,
            _ => {
                refused((status, body), 429, "rate-limited");
                assert_eq!(snapshot(&f.b), before, "no KeyPackage handed out");
            }
        }
    }
    assert_eq!(served, 3);
    let stock = f.b.kds.store().stock(carol.device_id(), now()).unwrap();
    assert!(stock.available.values().all(|&n| n == 2), "{stock:?}");
    // B's own devices are not affected.
    let mut dave = phone("+447700900124", DeviceProfile::Ios, f.b.trust());
    let dave_token = f.b.enroll(&mut dave, false).await;
    let (status, body) = f.b.claim(&dave_token, UK).await;
    assert_eq!(status, 200, "{body}");
}

/// Peer A enumerates B's numbers under fresh requester ids: unknown numbers
/// answer alike and are paid from the peer's overall budget, so once it is
/// spent even a real number is refused.
#[tokio::test(flavor = "multi_thread")]
async fn peer_enumerating_numbers_is_paid_from_its_budget() {
    let f = federated(|c| {
        c.peer_rate = RateLimit {
            burst: 4,
            refill_secs: 3600,
        }
    })
    .await;
    let mut carol = phone(UK, DeviceProfile::Ios, f.b.trust());
    let carol_token = f.b.enroll(&mut carol, false).await;
    f.b.publish(&mut carol, &carol_token, 2).await;
    let mut answers = Vec::new();
    for i in 0..4u8 {
        let number = format!("+44770090020{i}");
        answers.push(f.claim(&hex::encode([i; 32]), &number).await);
    }
    for answer in &answers {
        assert_eq!(answer, &answers[0]);
    }
    refused(answers[0].clone(), 404, "unknown-number");
    let before = snapshot(&f.b);
    refused(
        f.claim(&hex::encode([9; 32]), UK).await,
        429,
        "rate-limited",
    );
    assert_eq!(snapshot(&f.b), before);
}

/// What a peer learns about our requesters: the id A forwards is an HMAC
/// under A's own secret, not a hash anyone can recompute from the public
/// device id; stable for one requester (so per-requester limits work),
/// different for two, and different at another provider.
#[tokio::test(flavor = "multi_thread")]
async fn forwarded_requester_id_is_keyed_not_a_plain_hash() {
    // The peer: records the requester header and knows no number.
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let peer_tls = TlsCa::generate("peer TLS").unwrap();
    let server = peer_tls
        .issue_server(&["localhost"], &[std::net::IpAddr::from([127, 0, 0, 1])])
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer_url = format!("https://{}", listener.local_addr().unwrap());
    let router = axum::Router::new().route(
        "/federation/v1/claim",
        axum::routing::post({
            let seen = seen.clone();
            move |headers: axum::http::HeaderMap| {
                let seen = seen.clone();
                async move {
                    let id = headers[crosslock_kds::REQUESTER_HEADER]
                        .to_str()
                        .unwrap()
                        .to_owned();
                    seen.lock().unwrap().push(id);
                    (
                        axum::http::StatusCode::NOT_FOUND,
                        axum::Json(serde_json::json!({
                            "error": "unknown-number",
                            "message": "no device is enrolled for this number"
                        })),
                    )
                }
            }
        }),
    );
    tokio::spawn(crosslock_tls::serve(
        listener,
        router,
        Some(crosslock_tls::server_config(&server, ClientAuth::None).unwrap()),
        std::future::pending(),
    ));
    let start = |kds_id: &'static str| {
        let me = TlsCa::generate("A TLS")
            .unwrap()
            .issue_client(kds_id)
            .unwrap();
        let client = crosslock_kds::FederationClient::new(
            crosslock_tls::client_config(&[peer_tls.certificate_der().to_vec()], Some(&me))
                .unwrap(),
        )
        .unwrap();
        let peer = PeerKds {
            kds_id: "kds.b.example".into(),
            federation_url: peer_url.clone(),
            prefixes: vec!["+44".into()],
            credential_root: Vec::new(),
            client_cert_sha256: [0; 32],
            carriers: TrustedCarriers::default(),
        };
        Provider::start(ProviderSetup {
            kds_id,
            federation: Some((
                std::net::TcpListener::bind("127.0.0.1:0")
                    .map(|l| {
                        l.set_nonblocking(true).unwrap();
                        tokio::net::TcpListener::from_std(l).unwrap()
                    })
                    .unwrap(),
                crosslock_tls::server_config(&server, ClientAuth::None).unwrap(),
                client,
            )),
            configure: Box::new(move |c| c.peers = vec![peer]),
            ..ProviderSetup::default()
        })
    };
    let a = start("kds.a.example").await;
    let mut alice = phone(ALICE, DeviceProfile::Android, a.trust());
    let alice_token = a.enroll(&mut alice, false).await;
    let mut bob = phone(BOB, DeviceProfile::Ios, a.trust());
    let bob_token = a.enroll(&mut bob, false).await;
    for token in [&alice_token, &alice_token, &bob_token] {
        refused(a.claim(token, UK).await, 404, "unknown-number");
    }
    let ids = seen.lock().unwrap().clone();
    assert_eq!(ids.len(), 3);
    assert!(
        ids.iter()
            .all(|id| id.len() == 64 && hex::decode(id).is_ok())
    );
    assert_eq!(ids[0], ids[1], "stable per requester");
    assert_ne!(ids[0], ids[2], "distinct requesters");
    let plain = |device: &str| {
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            format!("device:{device}").as_bytes(),
        ))
    };
    assert_ne!(ids[0], plain(alice.device_id()));
    assert_ne!(ids[2], plain(bob.device_id()));
    // The same device id at another provider (another secret) maps to
    // another id.
    let other = start("kds.c.example").await;
    let request = other.enroll_request(&alice, false).await;
    let (status, body) = other.post("/v1/enrollment", None, &request).await;
    assert_eq!(status, 200, "{body}");
    let token: EnrollResponse = serde_json::from_value(body).unwrap();
    refused(
        other.claim(&token.device_token, UK).await,
        404,
        "unknown-number",
    );
    let ids = seen.lock().unwrap().clone();
    assert_eq!(ids.len(), 4);
    assert_ne!(ids[3], ids[0], "keyed per provider");
}

/// PROV-TLS-2, a network attacker with a hostile peer's help: peer C's
/// TLS CA issues a certificate for the address where A reaches peer B, and
/// C's server answers there. A's federation client for B trusts B's root
/// alone, so the claim never reaches the impostor; a client trusting the
/// union of all peers' roots (what providers did before) would have.
#[tokio::test(flavor = "multi_thread")]
async fn another_peers_ca_cannot_answer_for_a_peers_host() {
    let _ = http();
    let (tls_a, tls_b, tls_c) = (
        TlsCa::generate("provider A TLS").unwrap(),
        TlsCa::generate("provider B TLS").unwrap(),
        TlsCa::generate("provider C TLS").unwrap(),
    );
    let client_a = tls_a.issue_client("kds.a.example").unwrap();
    // The impostor: a KDS presenting C's certificate for 127.0.0.1 at the
    // address A has for B.
    let listen_c = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let impostor_url = format!("https://{}", listen_c.local_addr().unwrap());
    let server_c = crosslock_tls::server_config(
        &tls_c
            .issue_server(&["localhost"], &[std::net::IpAddr::from([127, 0, 0, 1])])
            .unwrap(),
        ClientAuth::Required {
            roots: vec![tls_a.certificate_der().to_vec()],
        },
    )
    .unwrap();
    let keys_a = ProviderKeys::new("kds.a.example", "carrier.a.example");
    let impostor = Provider::start(ProviderSetup {
        kds_id: "kds.b.example",
        federation: Some((listen_c, server_c, crosslock_kds::FederationClient::none())),
        configure: Box::new(move |c| {
            c.peers = vec![PeerKds {
                kds_id: "kds.a.example".into(),
                federation_url: "https://127.0.0.1:9".into(),
                prefixes: vec!["+1".into()],
                credential_root: keys_a.ca.certificate().to_vec(),
                client_cert_sha256: client_a.leaf_sha256(),
                carriers: TrustedCarriers::new(vec![keys_a.carrier()]),
            }]
        }),
        ..ProviderSetup::default()
    })
    .await;
    let listener_root = TlsCa::generate("provider A peers")
        .unwrap()
        .certificate_der()
        .to_vec();
    let start_a = |federation: crosslock_kds::FederationClient| {
        let url = impostor_url.clone();
        let root = listener_root.clone();
        async move {
            let listen = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let server = crosslock_tls::server_config(
                &tls_a_server(),
                ClientAuth::Required { roots: vec![root] },
            )
            .unwrap();
            Provider::start(ProviderSetup {
                kds_id: "kds.a.example",
                federation: Some((listen, server, federation)),
                configure: Box::new(move |c| {
                    c.peers = vec![PeerKds {
                        kds_id: "kds.b.example".into(),
                        federation_url: url,
                        prefixes: vec!["+44".into()],
                        credential_root: Vec::new(),
                        client_cert_sha256: [0; 32],
                        carriers: TrustedCarriers::default(),
                    }]
                }),
                ..ProviderSetup::default()
            })
            .await
        }
    };
    let client_a = tls_a.issue_client("kds.a.example").unwrap();
    let b_root = tls_b.certificate_der().to_vec();
    let c_root = tls_c.certificate_der().to_vec();
    // Pinned: B's root only, as crosslock serve configures it.
    let pinned = crosslock_kds::FederationClient::pinned(vec![(
        "kds.b.example".into(),
        crosslock_tls::client_config(std::slice::from_ref(&b_root), Some(&client_a)).unwrap(),
    )])
    .unwrap();
    let a = start_a(pinned).await;
    let mut alice = phone("+15550100001", DeviceProfile::Android, a.trust());
    let token = a.enroll(&mut alice, false).await;
    let before = snapshot(&impostor);
    let (status, body) = a.claim(&token, UK).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(reason(&body), "peer-failed", "{body}");
    assert!(
        !body["message"]
            .as_str()
            .unwrap_or("")
            .contains("unknown-peer"),
        "{body}"
    );
    assert_eq!(
        snapshot(&impostor),
        before,
        "the impostor was never reached"
    );
    // The same attack against a client trusting every peer's root reaches
    // the impostor, which answers for B's number.
    let union = crosslock_kds::FederationClient::new(
        crosslock_tls::client_config(&[b_root, c_root], Some(&client_a)).unwrap(),
    )
    .unwrap();
    let a2 = start_a(union).await;
    let mut alice2 = phone("+15550100002", DeviceProfile::Android, a2.trust());
    let token2 = a2.enroll(&mut alice2, false).await;
    let (status, body) = a2.claim(&token2, UK).await;
    // The impostor answered over TLS (here: it does not know this A
    // client certificate); with the pinned client no TLS session opened.
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("unknown-peer"),
        "{status} {body}"
    );
}

/// A TLS server identity for provider A's own (unused) federation listener.
fn tls_a_server() -> crosslock_tls::Identity {
    TlsCa::generate("provider A TLS (listener)")
        .unwrap()
        .issue_server(&["localhost"], &[std::net::IpAddr::from([127, 0, 0, 1])])
        .unwrap()
}

/// ATT-R-1, ATT-P-1 at enrolment: a phone whose attestation chain runs
/// through an attestation key Google has withdrawn, or whose attestation
/// names no allowed app, does not enrol, whatever its chain proves
/// otherwise; nothing is stored. The same attestation enrols once the KDS
/// has neither rule (control).
#[tokio::test(flavor = "multi_thread")]
async fn withdrawn_attestation_key_or_foreign_app_does_not_enrol() {
    let root = Arc::new(common::android::AttestationRoot::new());
    // The test root's serial is 01 01 01 01 01 01 01 01.
    let status_list = crosslock_attest::RevocationList::from_json(
        br#"{"entries": {"101010101010101": {"status": "REVOKED", "reason": "KEY_COMPROMISE"}}}"#,
    )
    .unwrap();
    let apps = crosslock_attest::AppPolicy::default().allow("com.example.crosslock", vec![[7; 32]]);
    for (list, apps, refused_for) in [
        (
            status_list,
            crosslock_attest::AppPolicy::default(),
            "revoked",
        ),
        (
            crosslock_attest::RevocationList::default(),
            apps,
            "application",
        ),
    ] {
        let roots = crosslock_attest::AndroidRoots::from_roots_json(&root.roots_json()).unwrap();
        let a = Provider::start(ProviderSetup {
            attestation: crosslock_kds::AttestationRequirement::Required(
                crosslock_attest::AttestationPolicy::Strict,
            ),
            configure: Box::new(move |c| {
                c.android_roots = roots;
                c.android_status_list = list;
                c.android_apps = apps;
            }),
            ..ProviderSetup::default()
        })
        .await;
        let alice = phone("+15550100001", DeviceProfile::Android, a.trust());
        let mut request = a.enroll_request(&alice, false).await;
        let challenge = crosslock_attest::android_enrollment_challenge(&request.nonce.0);
        let p256 = alice.participant_keys().unwrap()[0].clone();
        request.attestation = Some(AttestationBody::Android {
            chain: root
                .attest(&p256, &challenge)
                .into_iter()
                .map(B64)
                .collect(),
        });
        let before = snapshot(&a);
        let (status, body) = a.post("/v1/enrollment", None, &request).await;
        assert_eq!(
            (status, reason(&body).as_str()),
            (403, "attestation-refused"),
            "{body}"
        );
        let message = body["message"].as_str().unwrap_or("").to_lowercase();
        assert!(message.contains(refused_for), "{refused_for}: {body}");
        assert_eq!(snapshot(&a), before, "nothing stored");
    }
    // Control: the same kind of attestation enrols without either rule.
    let roots = crosslock_attest::AndroidRoots::from_roots_json(&root.roots_json()).unwrap();
    let a = Provider::start(ProviderSetup {
        attestation: crosslock_kds::AttestationRequirement::Required(
            crosslock_attest::AttestationPolicy::Strict,
        ),
        configure: Box::new(move |c| c.android_roots = roots),
        ..ProviderSetup::default()
    })
    .await;
    let alice = phone("+15550100001", DeviceProfile::Android, a.trust());
    let mut request = a.enroll_request(&alice, false).await;
    let challenge = crosslock_attest::android_enrollment_challenge(&request.nonce.0);
    let p256 = alice.participant_keys().unwrap()[0].clone();
    request.attestation = Some(AttestationBody::Android {
        chain: root
            .attest(&p256, &challenge)
            .into_iter()
            .map(B64)
            .collect(),
    });
    let (status, body) = a.post("/v1/enrollment", None, &request).await;
    assert_eq!(status, 200, "{body}");
}

// ---- finding 8: no silent post-quantum downgrade ------------------------------

/// The suite of a KeyPackage in a claim answer.
fn suite_of(key_package: &B64) -> u16 {
    let message = mls_rs::MlsMessage::from_bytes(&key_package.0).unwrap();
    *message.as_key_package().unwrap().cipher_suite()
}

/// The binding the KDS publishes lists the suites each of Bob's keys
/// serves (KT-SUITE-1). An insider at the KDS (or a peer relaying its
/// answer) strips Bob's X-Wing KeyPackages from a genuine claim answer so
/// that Alice's phone would negotiate a classical suite: her phone refuses
/// with `SuiteWithheld` (KT-SUITE-2) and creates nothing. The genuine
/// answer gives an X-Wing conversation.
#[tokio::test(flavor = "multi_thread")]
async fn insider_stripping_post_quantum_key_packages_from_a_claim_is_refused() {
    let p = Provider::start(ProviderSetup {
        transparency: Some(crosslock_kt::server::LogKeys::generate().unwrap()),
        ..ProviderSetup::default()
    })
    .await;
    let mut config = DeviceConfig::new(p.trust());
    config.transparency = TransparencyPolicy::new(vec![p.trusted_log()]);
    let mut alice = phone_with(ALICE, DeviceProfile::Android, config.clone());
    let mut bob = phone_with(BOB, DeviceProfile::Ios, config);
    let alice_token = p.enroll(&mut alice, false).await;
    let bob_token = p.enroll(&mut bob, false).await;
    p.publish(&mut bob, &bob_token, 2).await;
    p.epoch().await.unwrap();
    let (status, body) = p.claim(&alice_token, BOB).await;
    assert_eq!(status, 200, "{body}");
    let genuine: ClaimResponse = serde_json::from_value(body).unwrap();
    let proven = p
        .trusted_log()
        .verify_lookup(bob.number(), genuine.transparency.as_ref().unwrap(), now())
        .unwrap();
    assert_eq!(
        proven.binding.suites_of(bob.device_id()),
        Some([0x0001, 0x0002, 0x004F].into_iter().collect())
    );

    let mut stripped = genuine.clone();
    for device in &mut stripped.devices {
        device.key_packages.retain(|kp| suite_of(kp) != 0x004F);
    }
    assert_eq!(
        stripped.devices[0].key_packages.len() + 1,
        genuine.devices[0].key_packages.len()
    );
    let refused = alice.create_conversation(
        NewConversation::OneToOne,
        &[ParticipantKeyPackages::from_claim(&stripped).unwrap()],
    );
    match refused {
        Err(ClientError::Transparency {
            number,
            source: crosslock_client::kt::KtError::SuiteWithheld { device_id, suite },
        }) => {
            assert_eq!(&number, bob.number());
            assert_eq!((device_id.as_str(), suite), (bob.device_id(), 0x004F));
        }
        other => panic!("expected SuiteWithheld, got {other:?}"),
    }
    assert!(alice.conversations().unwrap().is_empty());

    let pending = alice
        .create_conversation(
            NewConversation::OneToOne,
            &[ParticipantKeyPackages::from_claim(&genuine).unwrap()],
        )
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    assert_eq!(
        alice.security_state(&pending.conversation).unwrap().suite,
        crosslock_client::suite::Suite::MlKem768X25519Aes128
    );
}
