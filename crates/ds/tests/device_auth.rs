//! The `DeviceAuth` the DS tests use over a KDS store passes the
//! conformance check (the provider runs the same check on its own).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/devices.rs"]
mod devices;

use std::sync::Arc;

use crosslock_ds::DeviceAuth;
use crosslock_ds::testing::{DeviceAuthFixture, check_device_auth};
use crosslock_kds::store::testing::{enroll_device, revoke_device};
use crosslock_kds::store::{KdsStore, SqliteKdsStore};
use crosslock_wire::api::ds::DeviceRef;
use devices::StoreDevices;

/// Enrols and revokes straight in an in-memory KDS store.
struct Fixture {
    store: Arc<SqliteKdsStore>,
    auth: StoreDevices,
}

impl DeviceAuthFixture for Fixture {
    fn auth(&self) -> &dyn DeviceAuth {
        &self.auth
    }

    fn enroll(&mut self, device: &DeviceRef, token: &str) {
        enroll_device(self.store.as_ref(), &device.number, &device.device, token).unwrap();
    }

    fn revoke(&mut self, device: &DeviceRef) {
        assert_eq!(
            revoke_device(self.store.as_ref(), &device.device).unwrap(),
            1
        );
    }
}

#[test]
fn the_test_device_auth_conforms() {
    let store = Arc::new(SqliteKdsStore::open_in_memory().unwrap());
    let auth = StoreDevices(store.clone() as Arc<dyn KdsStore>);
    let mut fixture = Fixture { store, auth };
    assert_eq!(check_device_auth(&mut fixture), Ok(()));
}
