//! Devices for the crate's unit tests: development trust, a memory store,
//! a shared manual clock and seeded entropy (the integration tests have
//! their own in `tests/common`).

use std::sync::Arc;

use crosslock_credential::{PhoneNumber, TrustAnchors, TrustPolicy};

use crate::conversation::{DeviceKeyPackages, ParticipantKeyPackages};
use crate::device::Device;
use crate::env::{Environment, ManualClock, SeededEntropy};
use crate::keystore::SoftwareKeyStore;
use crate::records::DeviceProfile;
use crate::store::{MemoryStore, StateStore};
use crate::{DeviceConfig, NewDevice};

/// The configuration of a test device: development credentials, defaults.
pub(crate) fn dev_config() -> DeviceConfig {
    DeviceConfig::new(TrustPolicy::Development {
        anchors: TrustAnchors::none(),
    })
}

/// A device of `number` in `store`.
pub(crate) fn phone_in(
    store: Arc<dyn StateStore>,
    number: &str,
    profile: DeviceProfile,
    config: DeviceConfig,
    clock: &Arc<ManualClock>,
    seed: u64,
) -> Device {
    let keystore = Arc::new(SoftwareKeyStore::new(store.clone()));
    let env = Environment {
        clock: clock.clone(),
        entropy: Arc::new(SeededEntropy::new(seed)),
    };
    let new = NewDevice {
        number: PhoneNumber::parse(number).unwrap(),
        profile,
    };
    Device::create(store, keystore, new, config, env).unwrap()
}

/// An Android device of `number` in a fresh memory store.
pub(crate) fn phone(number: &str, clock: &Arc<ManualClock>, seed: u64) -> Device {
    phone_in(
        Arc::new(MemoryStore::new()),
        number,
        DeviceProfile::Android,
        dev_config(),
        clock,
        seed,
    )
}

/// One fresh KeyPackage per suite of `device`, as a claim answer.
pub(crate) fn claim(device: &mut Device) -> ParticipantKeyPackages {
    let batch = device.generate_key_packages(1).unwrap();
    ParticipantKeyPackages {
        number: device.number().clone(),
        devices: vec![DeviceKeyPackages(
            batch.key_packages.into_iter().map(|(_, kp)| kp).collect(),
        )],
        transparency: None,
    }
}
