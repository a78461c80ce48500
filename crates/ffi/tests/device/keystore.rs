//! The app's key store is checked before anything it signed is used
//! (FFI-KEY-1): a store that signs with another key, or returns garbage,
//! cannot make a device (creating one signs with the P-256 key), and the
//! app gets `CrosslockError::KeyStore`.

use std::sync::Arc;

use crosslock_ffi::{CrosslockDevice, CrosslockError, DeviceKeys, PlatformKeyStore};

use crate::common::*;

fn create_with(
    net: &Net,
    name: &str,
    number: &str,
    fault: Fault,
) -> Result<Arc<CrosslockDevice>, CrosslockError> {
    let store = TestKeyStore::new(fault);
    let result = CrosslockDevice::create(
        dir_string(&net.path(name)),
        net.setup(number),
        DeviceKeys {
            database_key: None,
            key_store: Some(store.clone() as Arc<dyn PlatformKeyStore>),
        },
    );
    assert_eq!(
        store.made.lock().unwrap().len(),
        1,
        "the P-256 key is the platform's"
    );
    result
}

fn refused(result: Result<Arc<CrosslockDevice>, CrosslockError>) -> String {
    match result {
        Err(CrosslockError::KeyStore { reason }) => reason,
        other => panic!("expected a KeyStore error, got {other:?}"),
    }
}

#[test]
fn a_key_store_that_signs_with_another_key_or_garbage_is_refused() {
    let net = Net::start();
    let reason = refused(create_with(&net, "other-key", ALICE, Fault::OtherKey));
    assert!(
        reason.contains("does not verify under the public key"),
        "{reason}"
    );
    let reason = refused(create_with(&net, "garbage", BOB, Fault::Garbage));
    assert!(
        reason.contains("does not verify under the public key"),
        "{reason}"
    );
    // Nothing was left to open.
    assert!(
        CrosslockDevice::open(
            dir_string(&net.path("garbage")),
            DeviceKeys {
                database_key: None,
                key_store: None,
            },
        )
        .is_err()
    );

    // The same store, honest, makes a device that enrols and signs with it.
    let device = create_with(&net, "honest", CAROL, Fault::Honest).unwrap();
    device.enroll("any-subscriber".into(), false, None).unwrap();
    assert!(device.is_enrolled());
}
