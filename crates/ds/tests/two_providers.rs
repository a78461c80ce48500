//! Provider A (Android users) and provider B (iPhone users): conversations
//! hosted by one provider's delivery service and followed by the other's,
//! over mutually authenticated TLS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use crosslock_client::credential::{CertSigner, TrustAnchors, TrustPolicy, TrustedCarriers};
use crosslock_client::wire::status::{MessageStatus, PerMessageStatus};
use crosslock_client::*;
use crosslock_ds::{Federation, PeerDs};
use crosslock_kds::{FederationClient, PeerKds};
use crosslock_tls::{ClientAuth, TlsCa};

pub(crate) struct Two {
    pub(crate) a: Provider,
    pub(crate) b: Provider,
    pub(crate) ds_a: DsServer,
    pub(crate) ds_b: DsServer,
    pub(crate) trust: TrustPolicy,
}

async fn listener() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", l.local_addr().unwrap());
    (l, url)
}

async fn two_providers() -> Two {
    let keys_a = ProviderKeys::new("kds.a.example", "carrier-a");
    let keys_b = ProviderKeys::new("kds.b.example", "carrier-b");
    let tls_a = TlsCa::generate("provider A TLS").unwrap();
    let tls_b = TlsCa::generate("provider B TLS").unwrap();
    let localhost = [std::net::IpAddr::from([127, 0, 0, 1])];
    let client_a = tls_a.issue_client("kds.a.example").unwrap();
    let client_b = tls_b.issue_client("kds.b.example").unwrap();
    let server = |own: &TlsCa, peer: &TlsCa| {
        crosslock_tls::server_config(
            &own.issue_server(&["localhost"], &localhost).unwrap(),
            ClientAuth::Required {
                roots: vec![peer.certificate_der().to_vec()],
            },
        )
        .unwrap()
    };
    let (server_a, server_b) = (server(&tls_a, &tls_b), server(&tls_b, &tls_a));
    let client_tls_a =
        crosslock_tls::client_config(&[tls_b.certificate_der().to_vec()], Some(&client_a)).unwrap();
    let client_tls_b =
        crosslock_tls::client_config(&[tls_a.certificate_der().to_vec()], Some(&client_b)).unwrap();
    let (kds_listen_a, kds_url_a) = listener().await;
    let (kds_listen_b, kds_url_b) = listener().await;
    let (ds_listen_a, ds_url_a) = listener().await;
    let (ds_listen_b, ds_url_b) = listener().await;
    let carriers = vec![keys_a.carrier(), keys_b.carrier()];
    let trust_of = |keys: &ProviderKeys| TrustPolicy::Production {
        anchors: TrustAnchors::new(vec![keys.ca_signer.public_key().clone()]),
        carriers: TrustedCarriers::new(vec![keys.carrier()]),
    };
    let (trust_a, trust_b) = (trust_of(&keys_a), trust_of(&keys_b));
    let trust = trust_a.merged(&trust_b);
    let peer_kds_b = PeerKds {
        kds_id: "kds.b.example".into(),
        federation_url: kds_url_b,
        prefixes: vec!["+44".into()],
        credential_root: keys_b.ca.certificate().to_vec(),
        client_cert_sha256: client_b.leaf_sha256(),
    };
    let peer_kds_a = PeerKds {
        kds_id: "kds.a.example".into(),
        federation_url: kds_url_a,
        prefixes: vec!["+1".into()],
        credential_root: keys_a.ca.certificate().to_vec(),
        client_cert_sha256: client_a.leaf_sha256(),
    };
    let (c1, c2) = (carriers.clone(), carriers);
    let a = Provider::start(ProviderSetup {
        kds_id: "kds.a.example",
        keys: Some(keys_a),
        federation: Some((
            kds_listen_a,
            server_a.clone(),
            FederationClient::new(client_tls_a.clone()).unwrap(),
        )),
        configure: Box::new(move |c| {
            c.peers = vec![peer_kds_b];
            c.carriers = TrustedCarriers::new(c1);
        }),
        ..ProviderSetup::default()
    })
    .await;
    let b = Provider::start(ProviderSetup {
        kds_id: "kds.b.example",
        keys: Some(keys_b),
        federation: Some((
            kds_listen_b,
            server_b.clone(),
            FederationClient::new(client_tls_b.clone()).unwrap(),
        )),
        configure: Box::new(move |c| {
            c.peers = vec![peer_kds_a];
            c.carriers = TrustedCarriers::new(c2);
        }),
        ..ProviderSetup::default()
    })
    .await;
    let peer_ds_b = PeerDs {
        name: "kds.b.example".into(),
        federation_url: ds_url_b,
        tls_fingerprint: client_b.leaf_sha256(),
        credentials: trust_b.clone(),
    };
    let peer_ds_a = PeerDs {
        name: "kds.a.example".into(),
        federation_url: ds_url_a,
        tls_fingerprint: client_a.leaf_sha256(),
        credentials: trust_a.clone(),
    };
    let fed_a = Federation::new(client_tls_a, vec![peer_ds_b.clone()]).unwrap();
    let fed_b = Federation::new(client_tls_b, vec![peer_ds_a.clone()]).unwrap();
    let ds_a = start_ds(&a, trust_a, fed_a, |c| c.peers = vec![peer_ds_b]).await;
    let ds_b = start_ds(&b, trust_b, fed_b, |c| c.peers = vec![peer_ds_a]).await;
    for (ds, listen, tls) in [
        (&ds_a, ds_listen_a, server_a),
        (&ds_b, ds_listen_b, server_b),
    ] {
        tokio::spawn(crosslock_tls::serve(
            listen,
            crosslock_ds::federation_router(ds.ds.clone()),
            Some(tls),
            std::future::pending(),
        ));
    }
    Two {
        a,
        b,
        ds_a,
        ds_b,
        trust,
    }
}

/// Syncs until `n` results arrived (federation is asynchronous).
async fn sync_n(phone: &mut Phone, n: usize) -> Vec<Result<Received, ClientError>> {
    let mut all = Vec::new();
    for _ in 0..50 {
        all.extend(phone.sync_wait(2).await);
        if all.len() >= n {
            break;
        }
    }
    assert_eq!(all.len(), n, "{all:?}");
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn android_at_a_and_iphone_at_b_one_to_one_with_receipts_and_typing() {
    let p = two_providers().await;
    let mut alice = Phone::enroll(
        &p.a,
        &p.ds_a,
        "+15550100001",
        DeviceProfile::Android,
        p.trust.clone(),
    )
    .await;
    let mut bob = Phone::enroll(
        &p.b,
        &p.ds_b,
        "+447700900123",
        DeviceProfile::Ios,
        p.trust.clone(),
    )
    .await;
    let pending = alice
        .device
        .create_conversation(
            NewConversation::OneToOne,
            &[alice.claim(&p.a, "+447700900123").await],
        )
        .unwrap();
    let id = pending.conversation.clone();
    alice.submit(&pending).await.unwrap();
    let hello = alice.text(&id, "hello from android").await;
    // Bob (at B) gets the Welcome and the message through B's DS.
    let got = sync_n(&mut bob, 2).await;
    assert!(matches!(got[0], Ok(Received::Joined { .. })), "{got:?}");
    assert_eq!(texts(&got[1..]), ["hello from android"]);
    // Bob's answer, read receipt and typing go B → A (the hub) → Alice.
    let typing = bob.device.send_typing(&id, true).unwrap();
    bob.ds.message(&typing.outbound.envelope).await.unwrap();
    let read = bob
        .device
        .send_status(
            &id,
            vec![PerMessageStatus {
                message_id: hello.mimi_id.unwrap(),
                status: MessageStatus::Read,
            }],
        )
        .unwrap();
    bob.ds.message(&read.outbound.envelope).await.unwrap();
    bob.text(&id, "hello from iphone").await;
    let got = sync_n(&mut alice, 3).await;
    assert!(matches!(got[0], Ok(Received::Typing { .. })), "{got:?}");
    match &got[1] {
        Ok(Received::Message(m)) => match &m.content {
            ReceivedContent::Status(s) => {
                assert_eq!(s.statuses[0].status, MessageStatus::Read);
                assert_eq!(Some(&s.statuses[0].message_id), hello.mimi_id.as_ref());
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(texts(&got[2..]), ["hello from iphone"]);
    // The hub (A) holds the conversation; B only follows it.
    assert!(matches!(
        p.ds_a.ds.store().conversation(id.as_bytes()).unwrap(),
        Some(crosslock_ds::store::Hosting::Hub(_))
    ));
    assert!(matches!(
        p.ds_b.ds.store().conversation(id.as_bytes()).unwrap(),
        Some(crosslock_ds::store::Hosting::Follower { .. })
    ));
    assert_eq!(
        alice
            .device
            .security_state(&id)
            .unwrap()
            .epoch_authenticator,
        bob.device.security_state(&id).unwrap().epoch_authenticator
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_across_providers_with_a_two_device_participant_an_add_a_removal_and_a_late_device()
{
    let p = two_providers().await;
    let t = p.trust.clone();
    let mut alice = Phone::enroll(
        &p.a,
        &p.ds_a,
        "+15550100001",
        DeviceProfile::Android,
        t.clone(),
    )
    .await;
    let mut bob = Phone::enroll(
        &p.b,
        &p.ds_b,
        "+447700900123",
        DeviceProfile::Ios,
        t.clone(),
    )
    .await;
    let mut carol_phone = Phone::enroll(
        &p.b,
        &p.ds_b,
        "+447700900456",
        DeviceProfile::Ios,
        t.clone(),
    )
    .await;
    let mut carol_tablet = Phone::enroll(
        &p.b,
        &p.ds_b,
        "+447700900456",
        DeviceProfile::Ios,
        t.clone(),
    )
    .await;
    let mut dave = Phone::enroll(
        &p.a,
        &p.ds_a,
        "+15550100004",
        DeviceProfile::Android,
        t.clone(),
    )
    .await;

    let bob_kps = alice.claim(&p.a, "+447700900123").await;
    let carol_kps = alice.claim(&p.a, "+447700900456").await;
    assert_eq!(carol_kps.devices.len(), 2, "both of Carol's devices");
    let pending = alice
        .device
        .create_conversation(
            NewConversation::Group {
                group_id: b"rcs-group-1".to_vec(),
            },
            &[bob_kps, carol_kps],
        )
        .unwrap();
    let id = pending.conversation.clone();
    alice.submit(&pending).await.unwrap();
    alice.text(&id, "welcome all").await;
    assert_eq!(texts(&sync_n(&mut bob, 2).await), ["welcome all"]);
    assert_eq!(texts(&sync_n(&mut carol_phone, 2).await), ["welcome all"]);

    // Carol's phone (B) sends a photo with a thumbnail-free FileInfo: the
    // blob goes to B's content server, the key inside MLS; Alice (A)
    // downloads it with the capability URL and decrypts it.
    let photo: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let info = carol_phone
        .send_file(&id, &photo, "beach.jpg", "image/jpeg")
        .await;
    let got = sync_n(&mut alice, 1).await;
    let received = match &got[0] {
        Ok(Received::Message(m)) => match &m.content {
            ReceivedContent::FileInfo(i) => i.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    assert_eq!(received, info);
    assert_eq!(alice.fetch_file(&received).await, photo);
    assert_eq!(received.name(), "beach.jpg");
    // What the servers stored: the blob's size, not its name or content.
    let blob = http()
        .get(received.url())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(blob.len() > photo.len() && !blob.windows(9).any(|w| w == b"beach.jpg"));
    assert_eq!(sync_n(&mut bob, 1).await.len(), 1);

    // Bob (follower B) adds Dave (A): forwarded to the hub, fanned out.
    let dave_kps = bob.claim(&p.b, "+15550100004").await;
    let add = bob.device.add_participants(&id, &[dave_kps]).unwrap();
    bob.submit(&add).await.unwrap();
    assert!(matches!(
        sync_n(&mut dave, 1).await[0],
        Ok(Received::Joined { .. })
    ));
    assert!(matches!(
        sync_n(&mut alice, 1).await[0],
        Ok(Received::Commit(_))
    ));
    assert!(matches!(
        sync_n(&mut carol_phone, 1).await[0],
        Ok(Received::Commit(_))
    ));
    dave.text(&id, "thanks bob").await;
    assert_eq!(texts(&sync_n(&mut bob, 1).await), ["thanks bob"]);

    // Alice removes Dave; he learns it and cannot read what follows.
    let remove = alice
        .device
        .remove_participant(
            &id,
            &crosslock_client::credential::PhoneNumber::parse("+15550100004").unwrap(),
        )
        .unwrap();
    alice.submit(&remove).await.unwrap();
    let removed = sync_n(&mut dave, 1).await;
    assert!(
        removed
            .iter()
            .any(|r| matches!(r, Ok(Received::Commit(c)) if c.removed_self)),
        "{removed:?}"
    );
    alice.text(&id, "after dave left").await;
    assert!(
        dave.sync_wait(1).await.is_empty(),
        "a removed device gets nothing new"
    );
    assert_eq!(
        texts(&sync_n(&mut carol_phone, 3).await),
        ["thanks bob", "after dave left"]
    );

    // Carol's tablet was offline the whole time: everything is waiting, in
    // order, and it ends in the same state as everyone.
    let late = sync_n(&mut carol_tablet, 7).await;
    assert!(matches!(late[0], Ok(Received::Joined { .. })), "{late:?}");
    assert_eq!(
        texts(&late),
        ["welcome all", "thanks bob", "after dave left"]
    );
    let reference = alice.device.security_state(&id).unwrap();
    for phone in [&mut bob, &mut carol_phone, &mut carol_tablet] {
        phone.sync().await;
        let state = phone.device.security_state(&id).unwrap();
        assert_eq!(state.epoch, reference.epoch);
        assert_eq!(state.epoch_authenticator, reference.epoch_authenticator);
    }
    // Dave's device refuses to send after its removal.
    assert!(matches!(
        dave.device.send_text(&id, "still here?"),
        Err(ClientError::NotAMember)
    ));
}
