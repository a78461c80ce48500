//! Two providers on loopback: A (numbers +1…) and B (numbers +44…), each
//! a KDS, an ACS and a delivery service, their federation APIs over
//! mutually authenticated TLS.

use crosslock_client::credential::{CertSigner, TrustAnchors, TrustPolicy, TrustedCarriers};
use crosslock_ds::{DsConfig, Federation, PeerDs};
use crosslock_kds::{FederationClient, PeerKds};
use crosslock_tls::{ClientAuth, TlsCa};

use super::*;

pub(crate) struct Two {
    pub(crate) a: Provider,
    pub(crate) b: Provider,
    pub(crate) ds_a: DsServer,
    pub(crate) ds_b: DsServer,
    pub(crate) trust: TrustPolicy,
    /// The federation API of A's and B's delivery services (mutual TLS).
    pub(crate) fed_url_a: String,
    pub(crate) fed_url_b: String,
    /// What A and B present to peers (their federation client TLS).
    pub(crate) client_tls_a: rustls::ClientConfig,
    pub(crate) client_tls_b: rustls::ClientConfig,
}

async fn listener() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", l.local_addr().unwrap());
    (l, url)
}

pub(crate) async fn two_providers() -> Two {
    two_providers_with(|_| {}).await
}

/// [`two_providers`] with `configure` applied to provider A's DS.
pub(crate) async fn two_providers_with(configure: impl FnOnce(&mut DsConfig)) -> Two {
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
    let (fed_url_a, fed_url_b) = (ds_url_a.clone(), ds_url_b.clone());
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
        carriers: TrustedCarriers::new(vec![keys_b.carrier()]),
    };
    let peer_kds_a = PeerKds {
        kds_id: "kds.a.example".into(),
        federation_url: kds_url_a,
        prefixes: vec!["+1".into()],
        credential_root: keys_a.ca.certificate().to_vec(),
        client_cert_sha256: client_a.leaf_sha256(),
        carriers: TrustedCarriers::new(vec![keys_a.carrier()]),
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
    let fed_a = Federation::new(client_tls_a.clone(), vec![peer_ds_b.clone()]).unwrap();
    let fed_b = Federation::new(client_tls_b.clone(), vec![peer_ds_a.clone()]).unwrap();
    let ds_a = start_ds(&a, trust_a, fed_a, |c| {
        c.peers = vec![peer_ds_b];
        configure(c);
    })
    .await;
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
        fed_url_a,
        fed_url_b,
        client_tls_a,
        client_tls_b,
    }
}
