//! Two providers: a claim for a number homed at the other provider goes
//! KDS → peer KDS over mutually authenticated TLS, and the answer is
//! validated at both ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use std::sync::Arc;

use common::*;
use crosslock_client::credential::{CertSigner, TrustAnchors, TrustPolicy, TrustedCarriers};
use crosslock_client::*;
use crosslock_kds::{FederationClient, PeerKds};
use crosslock_tls::{ClientAuth, TlsCa};

/// Provider A (Android users, +1…) and provider B (iPhone users, +44…),
/// peers of each other.
struct TwoProviders {
    a: Provider,
    b: Provider,
    /// What every phone trusts: both providers' roots and carriers.
    trust: TrustPolicy,
    b_federation_url: String,
    b_tls_ca: TlsCa,
    a_tls_ca: TlsCa,
}

async fn two_providers() -> TwoProviders {
    let keys_a = ProviderKeys::new("kds.a.example", "carrier-a");
    let keys_b = ProviderKeys::new("kds.b.example", "carrier-b");
    let (tls_a, tls_b) = (
        TlsCa::generate("provider A TLS").unwrap(),
        TlsCa::generate("provider B TLS").unwrap(),
    );
    let localhost = [std::net::IpAddr::from([127, 0, 0, 1])];
    let (client_a, client_b) = (
        tls_a.issue_client("kds.a.example").unwrap(),
        tls_b.issue_client("kds.b.example").unwrap(),
    );
    let listen_a = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listen_b = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (url_a, url_b) = (
        format!("https://{}", listen_a.local_addr().unwrap()),
        format!("https://{}", listen_b.local_addr().unwrap()),
    );
    let server_a = crosslock_tls::server_config(
        &tls_a.issue_server(&["localhost"], &localhost).unwrap(),
        ClientAuth::Required {
            roots: vec![tls_b.certificate_der().to_vec()],
        },
    )
    .unwrap();
    let server_b = crosslock_tls::server_config(
        &tls_b.issue_server(&["localhost"], &localhost).unwrap(),
        ClientAuth::Required {
            roots: vec![tls_a.certificate_der().to_vec()],
        },
    )
    .unwrap();
    let fed_a = FederationClient::new(
        crosslock_tls::client_config(&[tls_b.certificate_der().to_vec()], Some(&client_a)).unwrap(),
    )
    .unwrap();
    let fed_b = FederationClient::new(
        crosslock_tls::client_config(&[tls_a.certificate_der().to_vec()], Some(&client_b)).unwrap(),
    )
    .unwrap();
    let carriers = vec![keys_a.carrier(), keys_b.carrier()];
    let peer_b = PeerKds {
        kds_id: "kds.b.example".into(),
        federation_url: url_b.clone(),
        prefixes: vec!["+44".into()],
        credential_root: keys_b.ca.certificate().to_vec(),
        client_cert_sha256: client_b.leaf_sha256(),
        carriers: TrustedCarriers::new(vec![keys_b.carrier()]),
    };
    let peer_a = PeerKds {
        kds_id: "kds.a.example".into(),
        federation_url: url_a,
        prefixes: vec!["+1".into()],
        credential_root: keys_a.ca.certificate().to_vec(),
        client_cert_sha256: client_a.leaf_sha256(),
        carriers: TrustedCarriers::new(vec![keys_a.carrier()]),
    };
    let trust = TrustPolicy::Production {
        anchors: TrustAnchors::new(vec![
            keys_a.ca_signer.public_key().clone(),
            keys_b.ca_signer.public_key().clone(),
        ]),
        carriers: TrustedCarriers::new(carriers.clone()),
    };
    let (c1, c2) = (carriers.clone(), carriers);
    let a = Provider::start(ProviderSetup {
        kds_id: "kds.a.example",
        keys: Some(keys_a),
        federation: Some((listen_a, server_a, fed_a)),
        configure: Box::new(move |c| {
            c.peers = vec![peer_b];
            c.carriers = TrustedCarriers::new(c1);
        }),
        ..ProviderSetup::default()
    })
    .await;
    let b = Provider::start(ProviderSetup {
        kds_id: "kds.b.example",
        keys: Some(keys_b),
        federation: Some((listen_b, server_b, fed_b)),
        configure: Box::new(move |c| {
            c.peers = vec![peer_a];
            c.carriers = TrustedCarriers::new(c2);
        }),
        ..ProviderSetup::default()
    })
    .await;
    TwoProviders {
        a,
        b,
        trust,
        b_federation_url: url_b,
        b_tls_ca: tls_b,
        a_tls_ca: tls_a,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_android_user_at_a_claims_an_iphone_user_at_b_over_mutual_tls() {
    let p = two_providers().await;
    let mut alice = phone("+15550100001", DeviceProfile::Android, p.trust.clone());
    let mut bob = phone("+447700900123", DeviceProfile::Ios, p.trust.clone());
    let alice_token = p.a.enroll(&mut alice, false).await;
    let bob_token = p.b.enroll(&mut bob, false).await;
    p.b.publish(&mut bob, &bob_token, 2).await;

    // Alice asks her own provider; it fetches from B over mTLS.
    let (status, answer) = p.a.claim(&alice_token, "+447700900123").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["home_kds"], "kds.b.example");
    let claimed = participant(&answer);
    assert_eq!(claimed.devices.len(), 1);
    // B handed those KeyPackages out once: its stock went down.
    let (_, stock) = p.b.get("/v1/keypackages/stock", Some(&bob_token)).await;
    assert!(
        stock["available"]
            .as_object()
            .unwrap()
            .values()
            .all(|v| v == 1),
        "{stock}"
    );

    // The devices talk end-to-end across providers.
    let pending = alice
        .create_conversation(NewConversation::OneToOne, &[claimed])
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let w = pending.welcome.clone().unwrap();
    assert!(matches!(
        bob.receive_with_tree(&w.message_id, &w.envelope, Some(&pending.ratchet_tree))
            .unwrap(),
        Received::Joined { .. }
    ));
    let m = bob
        .send_text(&pending.conversation, "hello from provider B")
        .unwrap();
    assert!(matches!(
        alice
            .receive(&m.outbound.message_id, &m.outbound.envelope)
            .unwrap(),
        Received::Message(_)
    ));

    // Unknown numbers at the peer are reported as such.
    assert_eq!(
        reason(&p.a.claim(&alice_token, "+447700900999").await.1),
        "unknown-number"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_federation_api_only_answers_pinned_peers() {
    let p = two_providers().await;
    let body = serde_json::json!({ "number": "+447700900123" });
    let url = format!("{}/federation/v1/claim", p.b_federation_url);
    let requester = "00".repeat(32);
    // No client certificate: refused during the handshake.
    let anonymous = crosslock_tls::https_client(
        crosslock_tls::client_config(&[p.b_tls_ca.certificate_der().to_vec()], None).unwrap(),
    )
    .unwrap();
    assert!(
        anonymous
            .post(&url)
            .header("x-crosslock-requester", &requester)
            .json(&body)
            .send()
            .await
            .is_err()
    );
    // A certificate from a CA B does not trust: refused during the handshake.
    let stranger_ca = TlsCa::generate("stranger").unwrap();
    let stranger = stranger_ca.issue_client("kds.evil.example").unwrap();
    let evil = crosslock_tls::https_client(
        crosslock_tls::client_config(&[p.b_tls_ca.certificate_der().to_vec()], Some(&stranger))
            .unwrap(),
    )
    .unwrap();
    assert!(
        evil.post(&url)
            .header("x-crosslock-requester", &requester)
            .json(&body)
            .send()
            .await
            .is_err()
    );
    // A certificate from a CA B trusts, but not the one pinned for the peer:
    // the handshake succeeds, the API refuses.
    let other = p.a_tls_ca.issue_client("kds.a-test.example").unwrap();
    let unpinned = crosslock_tls::https_client(
        crosslock_tls::client_config(&[p.b_tls_ca.certificate_der().to_vec()], Some(&other))
            .unwrap(),
    )
    .unwrap();
    let response = unpinned
        .post(&url)
        .header("x-crosslock-requester", &requester)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(reason(&response.json().await.unwrap()), "unknown-peer");
    let _ = &p.a;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peer_that_is_down_or_lies_is_refused() {
    // A peer whose federation endpoint is a liar: it answers every claim
    // with KeyPackages of a number it was not asked about.
    let p = two_providers().await;
    let mut carol = phone("+447700900555", DeviceProfile::Ios, p.trust.clone());
    let carol_token = p.b.enroll(&mut carol, false).await;
    p.b.publish(&mut carol, &carol_token, 1).await;
    let liar_answer = p.b.claim(&carol_token, "+447700900555").await.1;
    let liar_tls = TlsCa::generate("liar TLS").unwrap();
    let liar_server = liar_tls
        .issue_server(&["localhost"], &[std::net::IpAddr::from([127, 0, 0, 1])])
        .unwrap();
    let liar_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let liar_url = format!("https://{}", liar_listener.local_addr().unwrap());
    let answer = Arc::new(liar_answer);
    let router = axum::Router::new().route(
        "/federation/v1/claim",
        axum::routing::post(move || {
            let answer = answer.clone();
            async move {
                let mut a = (*answer).clone();
                a["number"] = "+447700900123".into();
                axum::Json(a)
            }
        }),
    );
    tokio::spawn(crosslock_tls::serve(
        liar_listener,
        router,
        Some(crosslock_tls::server_config(&liar_server, ClientAuth::None).unwrap()),
        std::future::pending(),
    ));
    let keys = ProviderKeys::new("kds.c.example", "carrier-c");
    let c_carrier = keys.carrier();
    let me = TlsCa::generate("C TLS")
        .unwrap()
        .issue_client("kds.c.example")
        .unwrap();
    let fed = FederationClient::new(
        crosslock_tls::client_config(&[liar_tls.certificate_der().to_vec()], Some(&me)).unwrap(),
    )
    .unwrap();
    let b_carrier = (
        p.b.acs.carrier_id().to_owned(),
        p.b.acs.public_key().clone(),
    );
    let liar_peer = PeerKds {
        kds_id: "kds.b.example".into(),
        federation_url: liar_url,
        prefixes: vec!["+44".into()],
        credential_root: p.b.ca_cert.clone(),
        client_cert_sha256: [0; 32],
        carriers: TrustedCarriers::new(vec![b_carrier.clone()]),
    };
    let down_peer = PeerKds {
        kds_id: "kds.d.example".into(),
        federation_url: "https://127.0.0.1:9".into(),
        prefixes: vec!["+33".into()],
        credential_root: p.b.ca_cert.clone(),
        client_cert_sha256: [0; 32],
        carriers: TrustedCarriers::default(),
    };
    let c = Provider::start(ProviderSetup {
        kds_id: "kds.c.example",
        keys: Some(keys),
        federation: Some((
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
            crosslock_tls::server_config(&liar_server, ClientAuth::None).unwrap(),
            fed,
        )),
        configure: Box::new(move |c| {
            c.peers = vec![liar_peer, down_peer];
            c.carriers = TrustedCarriers::new(vec![b_carrier, c_carrier]);
        }),
        ..ProviderSetup::default()
    })
    .await;
    let mut dave = phone("+15550100004", DeviceProfile::Android, c.trust());
    let dave_token = c.enroll(&mut dave, false).await;
    let (status, body) = c.claim(&dave_token, "+447700900123").await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (502, "peer-failed"),
        "{body}"
    );
    let (status, body) = c.claim(&dave_token, "+33612345678").await;
    assert_eq!(
        (status, reason(&body).as_str()),
        (502, "peer-failed"),
        "{body}"
    );
}
