//! The KDS with its CA key inside a PKCS#11 token (SoftHSM2): enrollment
//! issues credentials signed in the token, which devices accept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use std::sync::Arc;

use common::*;
use crosslock_client::DeviceProfile;
use crosslock_client::credential::{CertificateAuthority, TrustedCarriers};
use crosslock_hsm::Pkcs11Token;
use crosslock_hsm::testing::{PIN, TOKEN, module, with_token};
use crosslock_kds::store::SqliteKdsStore;
use crosslock_kds::{AttestationRequirement, FederationClient, Kds, KdsConfig};

#[test]
fn the_ca_key_in_a_token_issues_credentials_devices_accept() {
    with_token(
        "the_ca_key_in_a_token_issues_credentials_devices_accept",
        || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let token = Pkcs11Token::open(module(), TOKEN, PIN).unwrap();
                let signer = Arc::new(token.generate_p256("kds-ca").unwrap());
                let t = now();
                let ca = CertificateAuthority::new_root(
                    "kds.hsm.example root",
                    t - 60,
                    t + 3650 * 86_400,
                    [3; 16],
                    signer.as_ref(),
                )
                .unwrap();
                // A provider whose CA signs in the token.
                let mut provider = Provider::start(ProviderSetup {
                    kds_id: "kds.hsm.example",
                    ..ProviderSetup::default()
                })
                .await;
                let carriers = TrustedCarriers::new(vec![(
                    provider.acs.carrier_id().to_owned(),
                    provider.acs.public_key().clone(),
                )]);
                let config = KdsConfig::new(
                    "kds.hsm.example",
                    ca.clone(),
                    signer.clone(),
                    carriers,
                    AttestationRequirement::Optional(crosslock_attest::AttestationPolicy::Strict),
                )
                .unwrap();
                let dir = tempfile::tempdir().unwrap();
                let kds = Arc::new(Kds::new(
                    config,
                    Arc::new(SqliteKdsStore::open(&dir.path().join("kds.db")).unwrap()),
                    FederationClient::none(),
                    crosslock_client::env::Environment::system(),
                ));
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                provider.url = format!("http://{}", listener.local_addr().unwrap());
                provider.kds = kds.clone();
                provider.ca_key = signer.public_key().clone();
                provider.ca_cert = ca.certificate().to_vec();
                tokio::spawn(async move {
                    axum::serve(listener, crosslock_kds::router(kds))
                        .await
                        .unwrap()
                });

                let mut alice = phone("+15550100001", DeviceProfile::Android, provider.trust());
                let token = provider.enroll(&mut alice, false).await;
                provider.publish(&mut alice, &token, 1).await;

                // After a restart the CA is reloaded from its certificate and the
                // token key, and keeps issuing.
                let reopened = Pkcs11Token::open(module(), TOKEN, PIN)
                    .unwrap()
                    .find_p256("kds-ca")
                    .unwrap();
                let reloaded =
                    CertificateAuthority::load("kds.hsm.example root", ca.certificate().to_vec())
                        .unwrap();
                assert_eq!(reloaded.public_key().unwrap(), *reopened.public_key());
            });
        },
    );
}
