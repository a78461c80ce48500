//! Android Key Attestation through the bindings' API: the app's
//! `PlatformKeyStore` generates the P-256 participant key after the KDS's
//! nonce, with its challenge (`generateAttested`), against a provider that
//! requires attestation and trusts the test attestation root.

use std::sync::Arc;

use crosslock_attest::testing::TestAttestationRoot;
use crosslock_client::env::Environment;
use crosslock_ffi::{CrosslockError, PlatformKeyStore};

use crate::common::*;

fn root() -> Arc<TestAttestationRoot> {
    let env = Environment::system();
    Arc::new(TestAttestationRoot::new(env.random(), env.now()).unwrap())
}

/// A provider requiring attestation, trusting `root` for Android.
fn net(root: &TestAttestationRoot) -> Net {
    let json = root.roots_json();
    Net::start_with(move |config, dir| {
        let path = dir.join("roots.json");
        std::fs::write(&path, json).unwrap();
        config.attestation.required = true;
        config.attestation.android_roots = Some(path);
    })
}

#[test]
fn an_android_key_store_attests_the_participant_key_at_enrolment() {
    let root = root();
    let net = net(&root);

    // The store attests with another challenge than the SDK asked for:
    // refused on the phone (FFI-KEY-3), typed as the key store's fault,
    // nothing enrolled; the key made at create stays the participant key.
    let store = TestKeyStore::attesting(&root, Fault::OtherChallenge);
    let phone = net.device(
        "phone",
        ALICE,
        Some(store.clone() as Arc<dyn PlatformKeyStore>),
    );
    match phone.enroll("any-subscriber".into(), false, None) {
        Err(CrosslockError::KeyStore { reason }) => {
            assert!(reason.contains("another challenge"), "{reason}")
        }
        other => panic!("expected a key store refusal, got {other:?}"),
    }
    assert!(!phone.is_enrolled());
    let made = store.made.lock().unwrap().clone();
    assert_eq!(made.len(), 2, "the key made at create, and the refused one");

    // Fixed: enrolled, with the hardware assurance the KDS recorded.
    *store.fault.lock().unwrap() = Fault::Honest;
    let enrolled = phone.enroll("any-subscriber".into(), false, None).unwrap();
    assert_eq!(enrolled.assurance, "hardware-verified");
    assert!(phone.is_enrolled());
    assert_eq!(store.made.lock().unwrap().len(), 3);

    // A phone whose store cannot attest has nothing to offer: this
    // provider requires an attestation.
    let plain = net.device(
        "plain",
        BOB,
        Some(TestKeyStore::new(Fault::Honest) as Arc<dyn PlatformKeyStore>),
    );
    match plain.enroll("any-subscriber".into(), false, None) {
        Err(CrosslockError::Refused { server_code, .. }) => {
            assert_eq!(server_code.as_deref(), Some("attestation-required"))
        }
        other => panic!("expected the KDS to require an attestation, got {other:?}"),
    }
    assert!(!plain.is_enrolled());
}
