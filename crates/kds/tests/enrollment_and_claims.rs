//! Enrollment, KeyPackages and claims through the KDS's HTTP API, with real
//! client cores on both ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use crosslock_client::*;
use crosslock_wire::api::B64;
use crosslock_wire::api::kds::*;

#[tokio::test(flavor = "multi_thread")]
async fn enroll_publish_claim_and_talk_with_provider_credentials() {
    let a = Provider::start(ProviderSetup::default()).await;
    let mut alice = phone("+15550100001", DeviceProfile::Android, a.trust());
    let mut bob = phone("+15550100002", DeviceProfile::Ios, a.trust());
    let alice_token = a.enroll(&mut alice, false).await;
    let bob_token = a.enroll(&mut bob, false).await;
    let stock = a.publish(&mut bob, &bob_token, 2).await;
    assert_eq!(
        stock.available.values().copied().collect::<Vec<_>>(),
        vec![2, 2, 2]
    );
    assert_eq!(stock.last_resort.len(), 3);

    // Alice claims Bob: one KeyPackage per suite for his one device.
    let (status, answer) = a.claim(&alice_token, "+1 555 010 0002").await;
    assert_eq!(status, 200, "{answer}");
    let claimed = participant(&answer);
    assert_eq!(claimed.devices.len(), 1);
    assert_eq!(claimed.devices[0].0.len(), 3);

    // Claims are single use: the next one hands out different KeyPackages,
    // and once single-use ones run out the last-resort one is served.
    let (_, second) = a.claim(&alice_token, "+15550100002").await;
    assert_ne!(participant(&second).devices[0].0, claimed.devices[0].0);
    let (_, third) = a.claim(&alice_token, "+15550100002").await;
    let (_, fourth) = a.claim(&alice_token, "+15550100002").await;
    assert_eq!(
        participant(&third).devices[0].0,
        participant(&fourth).devices[0].0,
        "last resort repeats"
    );
    let (_, stock) = a.get("/v1/keypackages/stock", Some(&bob_token)).await;
    let stock: Stock = serde_json::from_value(stock).unwrap();
    assert!(stock.available.is_empty());

    // The claimed KeyPackages carry provider credentials that Alice's client
    // core accepts under production trust (chain, carrier proof, number).
    let pending = alice
        .create_conversation(NewConversation::OneToOne, &[claimed])
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    assert!(matches!(
        bob.receive_with_tree(
            &welcome.message_id,
            &welcome.envelope,
            Some(&pending.ratchet_tree)
        )
        .unwrap(),
        Received::Joined { .. }
    ));
    let m = alice
        .send_text(&pending.conversation, "enrolled and encrypted")
        .unwrap();
    match bob
        .receive(&m.outbound.message_id, &m.outbound.envelope)
        .unwrap()
    {
        Received::Message(r) => assert!(matches!(r.content, ReceivedContent::Mimi { .. })),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_enrollments_are_refused_with_a_reason_and_store_nothing() {
    let a = Provider::start(ProviderSetup::default()).await;
    let mut alice = phone("+15550100001", DeviceProfile::Android, a.trust());
    let alice_token = a.enroll(&mut alice, false).await;
    let victim = phone("+15550100009", DeviceProfile::Ios, a.trust());

    let mut cases: Vec<(&str, EnrollRequest, u16, &str)> = Vec::new();
    // Unknown nonce.
    let mut r = a.enroll_request(&victim, false).await;
    r.nonce = B64(vec![7; 32]);
    cases.push(("unknown nonce", r, 409, "bad-nonce"));
    // A proof signed by a carrier the KDS does not trust.
    let rogue = crosslock_acs::Acs::new(
        "carrier.example",
        "kds.a.example",
        std::sync::Arc::new(SoftSigner::new()),
        86_400,
        crosslock_client::env::Environment::system(),
    );
    rogue.add_subscriber(victim.number(), "t");
    let forged = rogue
        .prove(
            &crosslock_acs::ProofRequest {
                number: victim.number().as_str().into(),
                subscriber_token: "t".into(),
                participant_keys: victim
                    .participant_keys()
                    .unwrap()
                    .iter()
                    .map(|k| B64(k.as_bytes().to_vec()))
                    .collect(),
                home_kds: "kds.a.example".into(),
            },
            now(),
        )
        .unwrap();
    let mut r = a.enroll_request(&victim, false).await;
    r.carrier_proof = forged.proof;
    cases.push(("forged carrier proof", r, 403, "carrier-proof-refused"));
    // A genuine proof, but for another home KDS.
    let mut r = a.enroll_request(&victim, false).await;
    r.carrier_proof = B64(a.carrier_proof(&victim, "kds.b.example"));
    cases.push(("proof for another KDS", r, 403, "wrong-home-kds"));
    // A CSR for a key the carrier proof does not name (the attacker's key).
    let attacker = phone("+15550100009", DeviceProfile::Ios, a.trust());
    let mut r = a.enroll_request(&victim, false).await;
    r.csrs = attacker
        .certificate_requests()
        .unwrap()
        .into_iter()
        .map(B64)
        .collect();
    cases.push(("CSR key differs from the proven one", r, 400, "csr-refused"));
    // A CSR whose self-signature is broken.
    let mut r = a.enroll_request(&victim, false).await;
    let last = r.csrs[0].0.len() - 2;
    r.csrs[0].0[last] ^= 1;
    cases.push(("broken CSR", r, 400, "csr-refused"));
    // No CSR at all.
    let mut r = a.enroll_request(&victim, false).await;
    r.csrs.clear();
    cases.push(("no CSR", r, 400, "csr-refused"));
    // An Android attestation of another key (a real phone's chain).
    let mut r = a.enroll_request(&victim, false).await;
    let pem = include_str!("../../attest/tests/data/android/caiman_sdk36_TEE_EC_RKP.pem");
    let chain = pem
        .split("-----END CERTIFICATE-----")
        .filter(|b| b.contains("BEGIN"))
        .map(|b| {
            let body: String = b
                .lines()
                .filter(|l| !l.starts_with("-----") && !l.trim().is_empty())
                .collect();
            use base64::Engine;
            B64(base64::engine::general_purpose::STANDARD
                .decode(body.trim())
                .unwrap())
        })
        .collect();
    r.attestation = Some(AttestationBody::Android { chain });
    cases.push(("attestation for another key", r, 403, "attestation-refused"));

    for (what, request, status, expected) in cases {
        let (got, body) = a.post("/v1/enrollment", None, &request).await;
        assert_eq!(
            (got, reason(&body).as_str()),
            (status, expected),
            "{what}: {body}"
        );
    }
    // Malformed and oversize bodies.
    let (got, body) = a.post_raw("/v1/enrollment", b"{not json".to_vec()).await;
    assert_eq!((got, reason(&body).as_str()), (400, "malformed-request"));
    let (got, body) = a
        .post_raw("/v1/enrollment", vec![b' '; 2 * 1024 * 1024])
        .await;
    assert_eq!((got, reason(&body).as_str()), (413, "too-large"), "{body}");
    // A used nonce cannot be replayed.
    let request = a.enroll_request(&victim, false).await;
    let (ok, _) = a.post("/v1/enrollment", None, &request).await;
    assert_eq!(ok, 200);
    let (got, body) = a.post("/v1/enrollment", None, &request).await;
    assert_eq!((got, reason(&body).as_str()), (409, "bad-nonce"));
    // Nothing of the refused attempts was stored: the victim's number has
    // exactly the one device enrolled by the genuine request.
    assert_eq!(a.kds.config().kds_id, "kds.a.example");
    let (status, answer) = a.claim(&alice_token, "+15550100009").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(participant(&answer).devices.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn attestation_can_be_required() {
    let a = Provider::start(ProviderSetup {
        attestation: AttestationRequirementStrict::required(),
        ..ProviderSetup::default()
    })
    .await;
    let alice = phone("+15550100001", DeviceProfile::Android, a.trust());
    let request = a.enroll_request(&alice, false).await;
    let (status, body) = a.post("/v1/enrollment", None, &request).await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (403, "attestation-required")
    );
}

struct AttestationRequirementStrict;
impl AttestationRequirementStrict {
    fn required() -> crosslock_kds::AttestationRequirement {
        crosslock_kds::AttestationRequirement::Required(crosslock_attest::AttestationPolicy::Strict)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn key_package_uploads_are_validated_whole() {
    let a = Provider::start(ProviderSetup::default()).await;
    let mut alice = phone("+15550100001", DeviceProfile::Android, a.trust());
    let mut mallory = phone("+15550100066", DeviceProfile::Android, a.trust());
    let alice_token = a.enroll(&mut alice, false).await;
    let _ = a.enroll(&mut mallory, false).await;
    a.publish(&mut alice, &alice_token, 1).await;
    let before: Stock =
        serde_json::from_value(a.get("/v1/keypackages/stock", Some(&alice_token)).await.1).unwrap();

    // Mallory's KeyPackage uploaded with Alice's token: not Alice's credential.
    let foreign = mallory.generate_key_packages(1).unwrap().key_packages[0]
        .1
        .clone();
    let good = alice.generate_key_packages(1).unwrap().key_packages[0]
        .1
        .clone();
    let upload = UploadKeyPackages {
        key_packages: vec![B64(good.clone()), B64(foreign)],
        last_resort: vec![],
    };
    let (status, body) = a.post("/v1/keypackages", Some(&alice_token), &upload).await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (400, "key-package-refused"),
        "{body}"
    );
    // Garbage.
    let upload = UploadKeyPackages {
        key_packages: vec![B64(vec![0, 1, 2])],
        last_resort: vec![],
    };
    let (status, body) = a.post("/v1/keypackages", Some(&alice_token), &upload).await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (400, "key-package-refused")
    );
    // A single-use KeyPackage sent as last resort.
    let upload = UploadKeyPackages {
        key_packages: vec![],
        last_resort: vec![B64(good)],
    };
    let (status, body) = a.post("/v1/keypackages", Some(&alice_token), &upload).await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (400, "key-package-refused")
    );
    // More than 100 per suite.
    let batch = alice.generate_key_packages(101).unwrap();
    let upload = UploadKeyPackages {
        key_packages: batch
            .key_packages
            .iter()
            .filter(|(s, _)| s.code() == 1)
            .map(|(_, k)| B64(k.clone()))
            .collect(),
        last_resort: vec![],
    };
    let (status, body) = a.post("/v1/keypackages", Some(&alice_token), &upload).await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (409, "too-many-key-packages"),
        "{body}"
    );
    // No token, a wrong token.
    let (status, _) = a
        .post("/v1/keypackages", None, &UploadKeyPackages::default())
        .await;
    assert_eq!(status, 401);
    let (status, _) = a
        .post(
            "/v1/keypackages",
            Some("0000"),
            &UploadKeyPackages::default(),
        )
        .await;
    assert_eq!(status, 401);
    // Nothing of the refused uploads was stored.
    let after: Stock =
        serde_json::from_value(a.get("/v1/keypackages/stock", Some(&alice_token)).await.1).unwrap();
    assert_eq!(after, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn overlong_key_packages_are_refused() {
    let a = Provider::start(ProviderSetup::default()).await;
    let mut config = DeviceConfig::new(a.trust());
    // Longer than 365 days + 1 h from the certificate's notBefore.
    config.key_packages.lifetime_secs = 367 * 86_400;
    let store: std::sync::Arc<dyn crosslock_client::store::StateStore> =
        std::sync::Arc::new(crosslock_client::store::MemoryStore::new());
    let keystore = std::sync::Arc::new(crosslock_client::keystore::SoftwareKeyStore::new(
        store.clone(),
    ));
    let mut alice = Device::create(
        store,
        keystore,
        NewDevice {
            number: crosslock_client::credential::PhoneNumber::parse("+15550100001").unwrap(),
            profile: DeviceProfile::Android,
        },
        config,
        crosslock_client::env::Environment::system(),
    )
    .unwrap();
    let token = a.enroll(&mut alice, false).await;
    let kp = alice.generate_key_packages(1).unwrap().key_packages[0]
        .1
        .clone();
    let upload = UploadKeyPackages {
        key_packages: vec![B64(kp)],
        last_resort: vec![],
    };
    let (status, body) = a.post("/v1/keypackages", Some(&token), &upload).await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (400, "key-package-refused"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn claims_are_rate_limited_per_requester_and_target() {
    let a = Provider::start(ProviderSetup::default()).await;
    let mut alice = phone("+15550100001", DeviceProfile::Android, a.trust());
    let mut bob = phone("+15550100002", DeviceProfile::Ios, a.trust());
    let mut carol = phone("+15550100003", DeviceProfile::Ios, a.trust());
    let alice_token = a.enroll(&mut alice, false).await;
    let bob_token = a.enroll(&mut bob, false).await;
    let carol_token = a.enroll(&mut carol, false).await;
    a.publish(&mut bob, &bob_token, 1).await;
    for i in 0..6 {
        let (status, body) = a.claim(&alice_token, "+15550100002").await;
        assert_eq!(status, 200, "claim {i}: {body}");
    }
    let response = http()
        .post(format!("{}/v1/claim", a.url))
        .bearer_auth(&alice_token)
        .json(&ClaimRequest {
            number: "+15550100002".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 600);
    // Another requester, or another target, has its own budget.
    assert_eq!(a.claim(&carol_token, "+15550100002").await.0, 200);
    assert_eq!(a.claim(&alice_token, "+15550100003").await.0, 200);
    // Unknown and invalid numbers.
    assert_eq!(
        reason(&a.claim(&alice_token, "+15559999999").await.1),
        "unknown-number"
    );
    assert_eq!(
        reason(&a.claim(&alice_token, "5550100002").await.1),
        "invalid-number"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_devices_are_refused_and_reported() {
    let a = Provider::start(ProviderSetup::default()).await;
    let mut alice = phone("+15550100001", DeviceProfile::Android, a.trust());
    let mut bob = phone("+15550100002", DeviceProfile::Ios, a.trust());
    let mut bob_tablet = phone("+15550100002", DeviceProfile::Ios, a.trust());
    let alice_token = a.enroll(&mut alice, false).await;
    let bob_token = a.enroll(&mut bob, false).await;
    let tablet_token = a.enroll(&mut bob_tablet, false).await;
    a.publish(&mut bob, &bob_token, 2).await;
    a.publish(&mut bob_tablet, &tablet_token, 2).await;
    assert_eq!(
        participant(&a.claim(&alice_token, "+15550100002").await.1)
            .devices
            .len(),
        2
    );

    // The tablet is lost: Bob revokes it from the tablet's token.
    let (status, _) = a
        .post("/v1/revoke", Some(&tablet_token), &serde_json::json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        participant(&a.claim(&alice_token, "+15550100002").await.1)
            .devices
            .len(),
        1
    );
    let (status, body) = a
        .post(
            "/v1/keypackages",
            Some(&tablet_token),
            &UploadKeyPackages::default(),
        )
        .await;
    assert_eq!((status, reason(&body).as_str()), (403, "revoked"));
    let (_, revoked) = a.get("/v1/revoked?since=0", Some(&alice_token)).await;
    assert_eq!(
        serde_json::from_value::<RevokedList>(revoked)
            .unwrap()
            .serials
            .len(),
        2
    );

    // The administrator revokes the whole number; a wrong admin token is refused.
    let revoke = RevokeRequest {
        device_id: None,
        number: Some("+15550100002".into()),
    };
    let (status, body) = a.post("/admin/v1/revoke", Some("guess"), &revoke).await;
    assert_eq!((status, reason(&body).as_str()), (403, "forbidden"));
    let (status, _) = a
        .post("/admin/v1/revoke", Some("admin-secret"), &revoke)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        reason(&a.claim(&alice_token, "+15550100002").await.1),
        "unknown-number"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reinstall_is_a_visible_key_change() {
    let a = Provider::start(ProviderSetup::default()).await;
    let mut alice = phone("+15550100001", DeviceProfile::Android, a.trust());
    let mut bob = phone("+15550100002", DeviceProfile::Ios, a.trust());
    let alice_token = a.enroll(&mut alice, false).await;
    let bob_token = a.enroll(&mut bob, false).await;
    a.publish(&mut bob, &bob_token, 1).await;
    let pending = alice
        .create_conversation(
            NewConversation::OneToOne,
            &[participant(&a.claim(&alice_token, "+15550100002").await.1)],
        )
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let state = alice.security_state(&pending.conversation).unwrap();
    assert_eq!(state.verification[bob.number()], Verification::Unverified);

    // Bob reinstalls: a new device, new keys, replacing the old one.
    let mut bob2 = phone("+15550100002", DeviceProfile::Ios, a.trust());
    let bob2_token = a.enroll(&mut bob2, true).await;
    a.publish(&mut bob2, &bob2_token, 1).await;
    let (_, answer) = a.claim(&alice_token, "+15550100002").await;
    let claimed = participant(&answer);
    assert_eq!(claimed.devices.len(), 1, "the old device was revoked");
    let again = alice
        .create_conversation(NewConversation::OneToOne, &[claimed])
        .unwrap();
    alice.commit_accepted(&again).unwrap();
    let state = alice.security_state(&again.conversation).unwrap();
    assert_eq!(state.verification[bob.number()], Verification::KeyChanged);
}

/// An Android attestation chain by `root` of `key` with `challenge`.
fn android(
    root: &common::android::AttestationRoot,
    key: &crosslock_client::credential::PublicKey,
    challenge: &[u8],
) -> AttestationBody {
    AttestationBody::Android {
        chain: root.attest(key, challenge).into_iter().map(B64).collect(),
    }
}

/// Posts an enrolment the KDS must refuse for its attestation, storing nothing.
async fn refused_attestation(a: &Provider, request: &EnrollRequest, token: Option<&str>) {
    let before = snapshot(a);
    let (status, body) = a.post("/v1/enrollment", token, request).await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (403, "attestation-refused"),
        "{body}"
    );
    assert_eq!(snapshot(a), before, "a refused enrolment stores nothing");
}

/// KDS-ENR-5 for Android: the challenge is `android_enrollment_challenge`
/// of this enrolment's nonce (fresh), and the chain attests the P-256
/// participant key itself. An attestation made for another enrolment
/// (another nonce), with the key-bound challenge App Attest uses, for
/// another key, or replayed, is refused; nothing is stored.
#[tokio::test(flavor = "multi_thread")]
async fn an_attested_hardware_key_enrolls_with_verified_assurance() {
    let root = std::sync::Arc::new(common::android::AttestationRoot::new());
    let roots = crosslock_attest::AndroidRoots::from_roots_json(&root.roots_json()).unwrap();
    let a = Provider::start(ProviderSetup {
        attestation: AttestationRequirementStrict::required(),
        configure: Box::new(move |c| c.android_roots = roots),
        ..ProviderSetup::default()
    })
    .await;
    let mut alice = phone("+15550100001", DeviceProfile::Android, a.trust());
    let p256 = alice.participant_keys().unwrap()[0].clone();

    // The right key with a challenge of nothing in particular.
    let mut request = a.enroll_request(&alice, false).await;
    request.attestation = Some(android(&root, &p256, &[0u8; 32]));
    refused_attestation(&a, &request, None).await;

    // Made for another enrolment: the challenge of another nonce the KDS
    // issued (still unused), under this request's fresh nonce.
    let other_nonce = a.nonce().await;
    let mut request = a.enroll_request(&alice, false).await;
    request.attestation = Some(android(
        &root,
        &p256,
        &crosslock_attest::android_enrollment_challenge(&other_nonce),
    ));
    refused_attestation(&a, &request, None).await;

    // The key-bound challenge of App Attest is not Android's: the labels
    // keep the two apart.
    let mut request = a.enroll_request(&alice, false).await;
    request.attestation = Some(android(
        &root,
        &p256,
        &crosslock_attest::enrollment_challenge(&request.nonce.0, p256.as_bytes()),
    ));
    refused_attestation(&a, &request, None).await;

    // Another key with this nonce's challenge.
    let mut request = a.enroll_request(&alice, false).await;
    let other = phone("+15550100001", DeviceProfile::Android, a.trust())
        .participant_keys()
        .unwrap()[0]
        .clone();
    request.attestation = Some(android(
        &root,
        &other,
        &crosslock_attest::android_enrollment_challenge(&request.nonce.0),
    ));
    refused_attestation(&a, &request, None).await;
    let (status, _) = a.get("/v1/devices", None).await;
    let _ = status;

    // The right key and challenge: enrolled with verified hardware assurance,
    // which the credential records for contacts to see.
    let mut request = a.enroll_request(&alice, false).await;
    let attestation = android(
        &root,
        &p256,
        &crosslock_attest::android_enrollment_challenge(&request.nonce.0),
    );
    request.attestation = Some(attestation.clone());
    let (status, body) = a.post("/v1/enrollment", None, &request).await;
    assert_eq!(status, 200, "{body}");
    let response: EnrollResponse = serde_json::from_value(body).unwrap();
    assert_eq!(response.assurance, Assurance::HardwareVerified);

    // Replayed: the whole request (its nonce is used up), and its
    // attestation under a fresh nonce (the challenge is the old nonce's).
    let (status, body) = a.post("/v1/enrollment", None, &request).await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (409, "bad-nonce"),
        "{body}"
    );
    let mut replay = a.enroll_request(&alice, false).await;
    replay.attestation = Some(attestation);
    refused_attestation(&a, &replay, Some(&response.device_token)).await;

    alice
        .install_credentials(
            response
                .credentials
                .into_iter()
                .map(|c| c.into_iter().map(|b| b.0).collect())
                .collect(),
        )
        .unwrap();

    // KDS-ENR-11: renewing the same attested key, with the device's token
    // and no attestation (Android attests a key only when it is made),
    // keeps its verified assurance. (A second later, so that the carrier's
    // proof is a new one: each proof enrols once.)
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let renewal = a.enroll_request(&alice, false).await;
    assert!(renewal.attestation.is_none());
    let (status, body) = a
        .post("/v1/enrollment", Some(&response.device_token), &renewal)
        .await;
    assert_eq!(status, 200, "{body}");
    let renewed: EnrollResponse = serde_json::from_value(body).unwrap();
    assert_eq!(renewed.assurance, Assurance::HardwareVerified);

    // Without the token, or with the old one (the renewal replaced it),
    // nothing is carried over: attestation is required again.
    for token in [None, Some(response.device_token.as_str())] {
        let request = a.enroll_request(&alice, false).await;
        let before = snapshot(&a);
        let (status, body) = a.post("/v1/enrollment", token, &request).await;
        assert_eq!(
            (status, reason(&body).as_str()),
            (403, "attestation-required"),
            "{body}"
        );
        assert_eq!(snapshot(&a), before, "a refused enrolment stores nothing");
    }

    // Another key under Alice's device id, with her current token: a key
    // never attested carries nothing.
    let stranger = phone("+15550100001", DeviceProfile::Android, a.trust());
    let mut swapped = a.enroll_request(&stranger, false).await;
    swapped.device_id = alice.device_id().to_owned();
    let before = snapshot(&a);
    let (status, body) = a
        .post("/v1/enrollment", Some(&renewed.device_token), &swapped)
        .await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (403, "attestation-required"),
        "{body}"
    );
    assert_eq!(snapshot(&a), before, "a refused enrolment stores nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_refuse_credentials_their_provider_revoked() {
    let a = Provider::start(ProviderSetup::default()).await;
    let mut alice = phone("+15550100001", DeviceProfile::Android, a.trust());
    let mut bob = phone("+15550100002", DeviceProfile::Ios, a.trust());
    let alice_token = a.enroll(&mut alice, false).await;
    let bob_token = a.enroll(&mut bob, false).await;
    a.publish(&mut bob, &bob_token, 1).await;
    // Alice holds a KeyPackage claimed before the revocation.
    let claimed = participant(&a.claim(&alice_token, "+15550100002").await.1);
    let (status, _) = a
        .post("/v1/revoke", Some(&bob_token), &serde_json::json!({}))
        .await;
    assert_eq!(status, 200);
    let (_, revoked) = a.get("/v1/revoked?since=0", Some(&alice_token)).await;
    let revoked: RevokedList = serde_json::from_value(revoked).unwrap();
    alice.note_revoked(&a.ca_key, &revoked.serials).unwrap();
    let refused = alice.create_conversation(NewConversation::OneToOne, &[claimed]);
    assert!(
        matches!(
            refused,
            Err(ClientError::Credential(
                crosslock_client::credential::CredentialError::Revoked { .. }
            ))
        ),
        "{refused:?}"
    );
}
