//! The `DeviceAuth` the DS tests use over a KDS store passes the
//! conformance check (the provider runs the same check on its own).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/devices.rs"]
mod devices;

use std::sync::Arc;

use crosslock_ds::DeviceAuth;
use crosslock_ds::testing::{DeviceAuthFixture, check_device_auth};
use crosslock_kds::store::{
    DeviceRecord, DeviceStore, Enrolment, KdsStore, SqliteKdsStore, token_hash,
};
use crosslock_wire::api::ds::DeviceRef;
use crosslock_wire::api::kds::Assurance;
use devices::StoreDevices;

/// Enrols and revokes straight in an in-memory KDS store.
struct Fixture {
    store: Arc<SqliteKdsStore>,
    auth: StoreDevices,
    enrolled: u32,
}

impl DeviceAuthFixture for Fixture {
    fn auth(&self) -> &dyn DeviceAuth {
        &self.auth
    }

    fn enroll(&mut self, number: &str) -> (DeviceRef, String) {
        self.enrolled += 1;
        let device_id = format!("device-{}", self.enrolled);
        let token = format!("token-{}", self.enrolled);
        let record = DeviceRecord {
            device_id: device_id.clone(),
            number: number.to_owned(),
            token_hash: token_hash(&token),
            assurance: Assurance::Hardware,
            enrolled_at: 1_000,
            revoked_at: None,
        };
        self.store
            .enroll(&Enrolment {
                device: &record,
                credentials: &[],
                replace_others: false,
                presented_token_hash: None,
                proof_digest: token_hash(&device_id),
                proof_not_after: u64::MAX / 2,
                max_devices: 10,
                max_per_proof: 1,
            })
            .unwrap();
        let device = DeviceRef {
            number: number.to_owned(),
            device: device_id,
        };
        (device, token)
    }

    fn revoke(&mut self, device: &DeviceRef) {
        let revoked = self
            .store
            .revoke(Some(&device.device), None, 2_000)
            .unwrap();
        assert_eq!(revoked, 1);
    }
}

#[test]
fn the_test_device_auth_conforms() {
    let store = Arc::new(SqliteKdsStore::open_in_memory().unwrap());
    let auth = StoreDevices(store.clone() as Arc<dyn KdsStore>);
    let mut fixture = Fixture {
        store,
        auth,
        enrolled: 0,
    };
    assert_eq!(check_device_auth(&mut fixture), Ok(()));
}
