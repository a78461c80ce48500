//! Key transparency through the KDS and real client cores: enrollments and
//! revocations reach the directory in the next epoch, claims carry lookup
//! proofs that clients check, and the attacks key transparency exists for
//! (a secret key for a number, a stale or forked view, a key the owner did
//! not enrol) are caught.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use crosslock_client::kt::{Binding, KtError, TrustedLog};
use crosslock_client::*;
use crosslock_kt::server::{KtLog, KtLogOptions, LogKeys, VrfSecret};
use crosslock_wire::api::B64;
use crosslock_wire::api::kds::*;
use crosslock_wire::api::kt::{HistoryAnswer, LookupAnswer, NumberRequest};

const ALICE: &str = "+15550100001";
const BOB: &str = "+15550100002";
const CAROL: &str = "+15550100003";

async fn provider() -> Provider {
    Provider::start(ProviderSetup {
        transparency: Some(LogKeys::generate().unwrap()),
        ..ProviderSetup::default()
    })
    .await
}

/// A phone that requires transparency proofs from `provider`'s log.
fn kt_phone(provider: &Provider, number: &str) -> Device {
    let mut config = DeviceConfig::new(provider.trust());
    config.transparency = TransparencyPolicy::new(vec![provider.trusted_log()]);
    phone_with(number, DeviceProfile::Android, config)
}

fn kt_refusal(result: Result<PendingCommit, ClientError>) -> KtError {
    match result {
        Err(ClientError::Transparency { source, .. }) => source,
        other => panic!("expected a transparency refusal, got {other:?}"),
    }
}

async fn claim(p: &Provider, token: &str, number: &str) -> ClaimResponse {
    let (status, body) = p.claim(token, number).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

async fn history(p: &Provider, token: &str, number: &str) -> (u16, serde_json::Value) {
    p.post(
        "/v1/kt/history",
        Some(token),
        &NumberRequest {
            number: number.into(),
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn claims_carry_proofs_that_clients_check_through_enrol_roll_and_revoke() {
    let a = provider().await;
    let mut alice = kt_phone(&a, ALICE);
    let mut bob = kt_phone(&a, BOB);
    let alice_token = a.enroll(&mut alice, false).await;
    let bob_token = a.enroll(&mut bob, false).await;
    a.publish(&mut bob, &bob_token, 3).await;

    // Enrolled but not yet published: the KDS says when to come back.
    let (status, body) = a.claim(&alice_token, BOB).await;
    assert_eq!(
        (status, reason(&body)),
        (503, "kt-not-yet-published".into())
    );

    let root = a.epoch().await.expect("an epoch with both numbers");
    assert_eq!(root.statement.epoch, 1);
    assert!(a.epoch().await.is_none(), "nothing queued: no epoch");

    let answer = claim(&a, &alice_token, BOB).await;
    assert_eq!(
        answer.transparency.as_ref().unwrap().root.statement.epoch,
        1
    );
    let participant = ParticipantKeyPackages::from_claim(&answer).unwrap();
    let pending = alice
        .create_conversation(NewConversation::OneToOne, &[participant])
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let state = alice.security_state(&pending.conversation).unwrap();
    let bob_number = bob.number().clone();
    assert_eq!(
        state.transparency[&bob_number],
        TransparencyStatus::Proven {
            directory: "kds.a.example".into(),
            epoch: 1
        }
    );

    // Bob re-enrolls the same device (a key roll, with its current token).
    // Until the next epoch his new KeyPackages do not match his proven
    // binding: refused.
    let old_credential = bob.credential_chain(bob.suites()[0])[0].clone();
    let mut bob2 = kt_phone(&a, BOB);
    let request = EnrollRequest {
        device_id: bob.device_id().to_owned(),
        ..a.enroll_request(&bob2, false).await
    };
    let bob2_token = a
        .complete_enrollment_with(&mut bob2, request, Some(&bob_token))
        .await;
    a.publish(&mut bob2, &bob2_token, 2).await;
    let stale = claim(&a, &alice_token, BOB).await;
    let mut carol = kt_phone(&a, CAROL);
    a.enroll(&mut carol, false).await;
    let refused = kt_refusal(carol.create_conversation(
        NewConversation::OneToOne,
        &[ParticipantKeyPackages::from_claim(&stale).unwrap()],
    ));
    assert!(
        matches!(refused, KtError::NotInBinding { .. }),
        "{refused:?}"
    );

    assert_eq!(a.epoch().await.unwrap().statement.epoch, 2);
    let fresh = claim(&a, &alice_token, BOB).await;
    carol
        .create_conversation(
            NewConversation::OneToOne,
            &[ParticipantKeyPackages::from_claim(&fresh).unwrap()],
        )
        .unwrap();

    // Revocation: the binding becomes a revocation marker.
    let (status, _) = a
        .post("/v1/revoke", Some(&bob2_token), &serde_json::json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(a.epoch().await.unwrap().statement.epoch, 3);
    let log = a.kt.as_ref().unwrap();
    let trust = a.trusted_log();
    let lookup = log.lookup(&bob_number).await.unwrap();
    let proven = trust.verify_lookup(&bob_number, &lookup, now()).unwrap();
    assert_eq!((proven.version, proven.binding), (3, Binding::Revoked));

    // The history holds the three versions, in order, with the keys.
    let bob_history: HistoryAnswer = {
        let (status, body) = history(&a, &alice_token, ALICE).await;
        assert_eq!(status, 200, "{body}");
        let alice_history: HistoryAnswer = serde_json::from_value(body).unwrap();
        let h = trust
            .verify_history(alice.number(), &alice_history, now())
            .unwrap();
        assert_eq!(h.entries.len(), 1);
        log.history(&bob_number).await.unwrap()
    };
    let h = trust
        .verify_history(&bob_number, &bob_history, now())
        .unwrap();
    let versions: Vec<(u64, u64)> = h.entries.iter().map(|e| (e.version, e.epoch)).collect();
    assert_eq!(versions, vec![(1, 1), (2, 2), (3, 3)]);
    assert!(h.entries[0].binding.keys().iter().any(|k| k.credential_sha256
        == <[u8; 32]>::from(sha2::Sha256::digest(&old_credential))));
    // KT-SUITE-1: every published key lists the suites it serves (the
    // Ed25519 key 0x0001 and X-Wing, the P-256 key 0x0002).
    let mut served: Vec<Vec<u16>> = h.entries[0]
        .binding
        .keys()
        .iter()
        .map(|k| k.suites.clone())
        .collect();
    served.sort();
    assert_eq!(served, vec![vec![0x0001, 0x004F], vec![0x0002]]);
    assert_eq!(h.entries[2].binding, Binding::Revoked);

    // A device may not fetch another number's history.
    let (status, body) = history(&a, &alice_token, CAROL).await;
    assert_eq!((status, reason(&body)), (403, "not-your-number".into()));

    // The public audit endpoint proves every epoch extends the last.
    let (status, body) = a.get("/v1/kt/audit?from=0&to=3", None).await;
    assert_eq!(status, 200, "{body}");
    let audit = serde_json::from_value(body).unwrap();
    crosslock_kt::server::verify_audit(&trust.log_key, "kds.a.example", &audit)
        .await
        .unwrap();
}

use sha2::Digest as _;

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_key_for_a_number_is_refused() {
    let a = provider().await;
    let mut alice = kt_phone(&a, ALICE);
    let mut bob = kt_phone(&a, BOB);
    a.enroll(&mut alice, false).await;
    let bob_token = a.enroll(&mut bob, false).await;
    a.publish(&mut bob, &bob_token, 1).await;
    a.epoch().await.unwrap();

    // The provider (or whoever controls it) certifies a second key for
    // Bob's number and hands its KeyPackages to Alice with Bob's genuine
    // proof, never publishing the key.
    let mut mallory = kt_phone(&a, BOB);
    a.enroll(&mut mallory, false).await;
    let kps = mallory.generate_key_packages(1).unwrap();
    let bob_number = bob.number().clone();
    let genuine: LookupAnswer = a.kt.as_ref().unwrap().lookup(&bob_number).await.unwrap();
    let forged = ClaimResponse {
        number: BOB.into(),
        home_kds: "kds.a.example".into(),
        devices: vec![ClaimedDevice {
            device_id: mallory.device_id().to_owned(),
            key_packages: kps
                .key_packages
                .iter()
                .map(|(_, k)| B64(k.clone()))
                .collect(),
        }],
        transparency: Some(genuine.clone()),
    };
    let participant = ParticipantKeyPackages::from_claim(&forged).unwrap();
    let refused = kt_refusal(alice.create_conversation(
        NewConversation::OneToOne,
        std::slice::from_ref(&participant),
    ));
    assert!(
        matches!(refused, KtError::NotInBinding { .. }),
        "{refused:?}"
    );
    let state_before = alice.conversations().unwrap();
    assert!(state_before.is_empty(), "a refusal creates nothing");

    // Without key transparency the same answer is accepted: the attack
    // this closes.
    let mut naive = phone(CAROL, DeviceProfile::Ios, a.trust());
    a.enroll(&mut naive, false).await;
    naive
        .create_conversation(
            NewConversation::OneToOne,
            std::slice::from_ref(&participant),
        )
        .unwrap();

    // No proof at all, a proof for another number, a forged proof, a root
    // the log did not sign: each refused.
    let mut no_proof = participant.clone();
    no_proof.transparency = None;
    let e = kt_refusal(alice.create_conversation(NewConversation::OneToOne, &[no_proof]));
    assert_eq!(e, KtError::MissingProof);

    let alice_number = alice.number().clone();
    let mut other = participant.clone();
    other.transparency = Some(a.kt.as_ref().unwrap().lookup(&alice_number).await.unwrap());
    let e = kt_refusal(alice.create_conversation(NewConversation::OneToOne, &[other]));
    assert!(matches!(e, KtError::ProofInvalid { .. }), "{e:?}");

    let mut tampered = participant.clone();
    let proof = &mut tampered.transparency.as_mut().unwrap().proof.0;
    let middle = proof.len() / 2;
    proof[middle] ^= 0x40;
    let e = kt_refusal(alice.create_conversation(NewConversation::OneToOne, &[tampered]));
    assert!(
        matches!(e, KtError::ProofInvalid { .. } | KtError::Malformed { .. }),
        "{e:?}"
    );

    let mut resigned = participant.clone();
    let other_key = crosslock_kt::SigningKey::generate().unwrap();
    let statement = genuine.root.statement.clone();
    resigned.transparency.as_mut().unwrap().root =
        crosslock_kt::sign_root(&other_key, statement).unwrap();
    let e = kt_refusal(alice.create_conversation(NewConversation::OneToOne, &[resigned]));
    assert!(matches!(e, KtError::BadLogSignature { .. }), "{e:?}");

    // A policy asking for one witness refuses a root nobody co-signed.
    let mut strict_config = DeviceConfig::new(a.trust());
    let mut witnessed = a.trusted_log();
    witnessed.witnesses = vec![crosslock_kt::SigningKey::generate().unwrap().public_key()];
    witnessed.threshold = 1;
    strict_config.transparency = TransparencyPolicy::new(vec![witnessed]);
    let mut strict = phone_with("+15550100004", DeviceProfile::Android, strict_config);
    a.enroll(&mut strict, false).await;
    let mut requester = kt_phone(&a, "+15550100005");
    let requester_token = a.enroll(&mut requester, false).await;
    let bob_claim = claim(&a, &requester_token, BOB).await;
    let e = kt_refusal(strict.create_conversation(
        NewConversation::OneToOne,
        &[ParticipantKeyPackages::from_claim(&bob_claim).unwrap()],
    ));
    assert!(
        matches!(
            e,
            KtError::TooFewCosignatures {
                valid: 0,
                required: 1,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_views_and_unknown_logs_are_refused() {
    let a = provider().await;
    let mut alice = kt_phone(&a, ALICE);
    let mut bob = kt_phone(&a, BOB);
    let mut carol = kt_phone(&a, CAROL);
    let alice_token = a.enroll(&mut alice, false).await;
    let bob_token = a.enroll(&mut bob, false).await;
    a.enroll(&mut carol, false).await;
    a.publish(&mut bob, &bob_token, 3).await;
    a.epoch().await.unwrap();
    let old = claim(&a, &alice_token, BOB).await;

    // Alice sees epoch 2 (Carol's lookup after Carol's re-enrollment) ...
    let mut carol2 = kt_phone(&a, CAROL);
    a.enroll(&mut carol2, true).await;
    a.epoch().await.unwrap();
    let carol_number = carol.number().clone();
    let lookup = a.kt.as_ref().unwrap().lookup(&carol_number).await.unwrap();
    alice.record_lookup(&carol_number, &lookup).unwrap();

    // ... so a proof at epoch 1, replayed by a log hiding epoch 2, is stale.
    let e = kt_refusal(alice.create_conversation(
        NewConversation::OneToOne,
        &[ParticipantKeyPackages::from_claim(&old).unwrap()],
    ));
    assert_eq!(e, KtError::StaleEpoch { epoch: 1, seen: 2 });

    // A device that trusts no log for this directory refuses its proofs.
    let mut config = DeviceConfig::new(a.trust());
    let mut elsewhere = a.trusted_log();
    elsewhere.directory = "kds.b.example".into();
    config.transparency = TransparencyPolicy::new(vec![elsewhere]);
    let mut dave = phone_with("+15550100004", DeviceProfile::Ios, config);
    a.enroll(&mut dave, false).await;
    let fresh = claim(&a, &alice_token, BOB).await;
    let e = kt_refusal(dave.create_conversation(
        NewConversation::OneToOne,
        &[ParticipantKeyPackages::from_claim(&fresh).unwrap()],
    ));
    assert_eq!(e, KtError::UnknownDirectory("kds.a.example".into()));

    // Lookups are rate limited per requester and target, like claims.
    let mut limited = 0;
    for _ in 0..8 {
        let (status, _) = a
            .post(
                "/v1/kt/lookup",
                Some(&alice_token),
                &NumberRequest { number: BOB.into() },
            )
            .await;
        if status == 429 {
            limited += 1;
        } else {
            assert_eq!(status, 200);
        }
    }
    assert_eq!(limited, 2, "burst of 6, then refused");
}

#[tokio::test(flavor = "multi_thread")]
async fn monitoring_catches_keys_the_owner_did_not_enrol() {
    let a = provider().await;
    let mut bob = kt_phone(&a, BOB);
    let bob_token = a.enroll(&mut bob, false).await;
    a.epoch().await.unwrap();
    let fetch = |token: String| {
        let a = &a;
        async move {
            let (status, body) = history(a, &token, BOB).await;
            assert_eq!(status, 200, "{body}");
            serde_json::from_value::<HistoryAnswer>(body).unwrap()
        }
    };
    assert!(bob.history_check_due().unwrap());
    assert_eq!(
        bob.check_own_history(&fetch(bob_token.clone()).await)
            .unwrap(),
        vec![]
    );
    assert!(!bob.history_check_due().unwrap());

    // Someone enrols another device for Bob's number (and it is published,
    // as it must be for anyone to use it): Bob is told.
    let mut tablet = kt_phone(&a, BOB);
    a.enroll(&mut tablet, false).await;
    a.epoch().await.unwrap();
    let alerts = bob
        .check_own_history(&fetch(bob_token.clone()).await)
        .unwrap();
    // One alert per credential the tablet holds (one per cipher suite).
    assert_eq!(
        alerts.len(),
        2,
        "expected the tablet's two credentials, got {alerts:?}"
    );
    let mut credentials = std::collections::BTreeSet::new();
    for alert in &alerts {
        let TransparencyAlert::NewDevice {
            device_id,
            credential,
            version: 2,
            ..
        } = alert
        else {
            panic!("expected new-device alerts at version 2, got {alerts:?}");
        };
        assert_eq!(device_id, tablet.device_id());
        credentials.insert(credential.clone());
    }
    assert_eq!(credentials.len(), 2, "{alerts:?}");
    // It was Bob's own tablet: he approves it and the alerts go.
    for credential in &credentials {
        bob.approve_device(tablet.device_id(), credential).unwrap();
    }
    assert!(bob.transparency_alerts().unwrap().is_empty());
    assert_eq!(
        bob.check_own_history(&fetch(bob_token.clone()).await)
            .unwrap(),
        vec![]
    );

    // An attacker holding Bob's device token (stolen from the phone, or an
    // insider) re-enrols Bob's own device id with its keys: an unknown key
    // under Bob's id, and Bob's key gone from his binding. (Without the
    // token the KDS refuses it: attacks.rs.)
    let mut mallory = kt_phone(&a, BOB);
    let request = EnrollRequest {
        device_id: bob.device_id().to_owned(),
        ..a.enroll_request(&mallory, false).await
    };
    let mallory_token = a
        .complete_enrollment_with(&mut mallory, request, Some(&bob_token))
        .await;
    a.epoch().await.unwrap();
    let alerts = bob.check_own_history(&fetch(mallory_token).await).unwrap();
    assert!(
        alerts
            .iter()
            .any(|a| matches!(a, TransparencyAlert::UnknownKey { version: 3, .. })),
        "{alerts:?}"
    );
    assert!(
        alerts
            .iter()
            .any(|a| matches!(a, TransparencyAlert::OwnKeyMissing { epoch: 3 })),
        "{alerts:?}"
    );
    assert_eq!(bob.transparency_alerts().unwrap().len(), alerts.len());
}

/// A malicious operator runs two directories with the same keys and shows
/// each to different people: the views agree up to epoch 1 and split at
/// epoch 2. Alice and Bob gossip their roots inside their conversation and
/// catch it.
#[tokio::test(flavor = "multi_thread")]
async fn contacts_gossiping_roots_detect_a_split_view() {
    let keys_dir = tempfile::tempdir().unwrap();
    let keys = LogKeys::load_or_create(keys_dir.path()).unwrap();
    let twin_keys = || LogKeys {
        log_key: crosslock_kt::SigningKey::from_pkcs8(keys.log_key.pkcs8()).unwrap(),
        vrf: VrfSecret::from_bytes(keys.vrf.to_bytes()),
    };
    let a = Provider::start(ProviderSetup {
        transparency: Some(twin_keys()),
        ..ProviderSetup::default()
    })
    .await;
    let mut alice = kt_phone(&a, ALICE);
    let mut bob = kt_phone(&a, BOB);
    let mut carol = kt_phone(&a, CAROL);
    let alice_token = a.enroll(&mut alice, false).await;
    let bob_token = a.enroll(&mut bob, false).await;
    a.enroll(&mut carol, false).await;
    a.publish(&mut bob, &bob_token, 1).await;
    let epoch1 = a.epoch().await.unwrap();

    // The twin directory: same keys, same first epoch.
    let twin_dir = tempfile::tempdir().unwrap();
    let twin = KtLog::open(
        twin_dir.path(),
        "kds.a.example",
        twin_keys(),
        KtLogOptions::default(),
        now(),
    )
    .await
    .unwrap();
    let log = a.kt.as_ref().unwrap();
    let mut first = Vec::new();
    for number in [ALICE, BOB, CAROL] {
        let n = crosslock_credential::PhoneNumber::parse(number).unwrap();
        first.push((n.clone(), log.current_binding(&n).await.unwrap().unwrap()));
    }
    let twin1 = twin.publish(first, now()).await.unwrap();
    assert_eq!(
        twin1.statement.root_hash, epoch1.statement.root_hash,
        "same history so far"
    );

    // Alice and Bob talk (proofs at epoch 1).
    let answer = claim(&a, &alice_token, BOB).await;
    let pending = alice
        .create_conversation(
            NewConversation::OneToOne,
            &[ParticipantKeyPackages::from_claim(&answer).unwrap()],
        )
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    bob.receive_with_tree(
        &welcome.message_id,
        &welcome.envelope,
        Some(&pending.ratchet_tree),
    )
    .unwrap();

    // Epoch 2 splits: the real directory publishes Carol's new phone; the
    // twin publishes an interception key for Carol, shown only to Bob.
    let mut carol2 = kt_phone(&a, CAROL);
    a.enroll(&mut carol2, true).await;
    a.epoch().await.unwrap();
    let carol_number = carol.number().clone();
    let interception = Binding::of(vec![crosslock_kt::BoundKey::new(
        "mallory-device",
        vec![4; 65],
        b"interception credential",
    )])
    .unwrap();
    twin.publish(vec![(carol_number.clone(), interception)], now())
        .await
        .unwrap();
    alice
        .record_lookup(&carol_number, &log.lookup(&carol_number).await.unwrap())
        .unwrap();
    bob.record_lookup(&carol_number, &twin.lookup(&carol_number).await.unwrap())
        .unwrap();

    // Bob gossips his newest root; Alice compares and catches the fork.
    assert!(bob.gossip_due(&pending.conversation).unwrap());
    let sent = bob
        .send_transparency_gossip(&pending.conversation)
        .unwrap()
        .unwrap();
    assert!(!bob.gossip_due(&pending.conversation).unwrap());
    let received = alice
        .receive(&sent.outbound.message_id, &sent.outbound.envelope)
        .unwrap();
    let Received::Transparency { alerts, .. } = received else {
        panic!("expected gossip, got {received:?}");
    };
    let [
        TransparencyAlert::Fork {
            epoch: 2, evidence, ..
        },
    ] = alerts.as_slice()
    else {
        panic!("expected a fork alert, got {alerts:?}");
    };
    assert!(evidence.verify(&a.trusted_log().log_key));
    assert!(
        alice
            .security_state(&pending.conversation)
            .unwrap()
            .transparency_alerts
    );
    assert_eq!(alice.transparency_alerts().unwrap().len(), 1);

    // And Bob, shown the twin, now refuses the real directory's epoch-2
    // root when it reaches him in a lookup: same epoch, other hash.
    let e = bob
        .record_lookup(&carol_number, &log.lookup(&carol_number).await.unwrap())
        .unwrap_err();
    assert!(
        matches!(
            &e,
            ClientError::Transparency {
                source: KtError::Fork(_),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        bob.transparency_alerts().unwrap().len(),
        1,
        "kept as an alert"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publisher_crash_between_epoch_and_dequeue_loses_nothing() {
    let a = provider().await;
    let mut bob = kt_phone(&a, BOB);
    a.enroll(&mut bob, false).await;
    let log = a.kt.as_ref().unwrap();
    let bob_number = bob.number().clone();
    // The epoch was published but the queue was not cleared (a crash).
    let binding = a.kds.binding_of(BOB).unwrap();
    assert_eq!(binding.keys().len(), 2, "P-256 and Ed25519 credentials");
    let epoch1 = log
        .publish(vec![(bob_number.clone(), binding)], now())
        .await
        .unwrap();
    // The restarted publisher publishes the queue again: the binding is
    // unchanged, so no second epoch, and the queue is cleared.
    let after = a.epoch().await.unwrap();
    assert_eq!(after.statement.epoch, epoch1.statement.epoch);
    assert!(a.epoch().await.is_none());
    let trust: TrustedLog = a.trusted_log();
    let proven = trust
        .verify_lookup(&bob_number, &log.lookup(&bob_number).await.unwrap(), now())
        .unwrap();
    assert_eq!(proven.version, 1);
}

/// KT-SUITE-1 on upgrade: a directory whose latest binding for a number
/// is version 1 (what a KDS published before suites were recorded) is
/// republished once, with suites, when the upgraded publisher first
/// starts; later starts queue nothing. The owner's history check alerts
/// while its binding lacks its suites, and not once it lists them
/// (KT-SUITE-4).
#[tokio::test(flavor = "multi_thread")]
async fn bindings_without_suites_are_republished_once_with_them() {
    let a = provider().await;
    let mut alice = kt_phone(&a, ALICE);
    let alice_token = a.enroll(&mut alice, false).await;
    let log = a.kt.as_ref().unwrap();
    a.epoch().await.unwrap();
    // What the older KDS published last: the same keys, no suites.
    let mut keys = a.kds.binding_of(ALICE).unwrap().keys().to_vec();
    assert!(keys.iter().all(|k| !k.suites.is_empty()));
    for k in &mut keys {
        k.suites.clear();
    }
    let old = Binding::of(keys).unwrap();
    assert_eq!(old.encode()[0], 1);
    log.publish(vec![(alice.number().clone(), old)], now())
        .await
        .unwrap();
    let (status, body) = history(&a, &alice_token, ALICE).await;
    assert_eq!(status, 200, "{body}");
    let before: HistoryAnswer = serde_json::from_value(body).unwrap();
    let alerts = alice.check_own_history(&before).unwrap();
    assert!(
        alerts
            .iter()
            .any(|x| matches!(x, TransparencyAlert::OwnSuitesMissing { .. })),
        "{alerts:?}"
    );

    // The upgraded publisher starts: every number queued once.
    assert_eq!(a.kds.queue_on_start().await.unwrap(), 1);
    a.epoch().await.unwrap();
    assert_eq!(a.kds.queue_on_start().await.unwrap(), 0, "only once");
    let (status, body) = history(&a, &alice_token, ALICE).await;
    assert_eq!(status, 200, "{body}");
    let after: HistoryAnswer = serde_json::from_value(body).unwrap();
    let alerts = alice.check_own_history(&after).unwrap();
    assert!(
        !alerts
            .iter()
            .any(|x| matches!(x, TransparencyAlert::OwnSuitesMissing { .. })),
        "{alerts:?}"
    );
}
