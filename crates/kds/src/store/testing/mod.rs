//! Test support, not used by the service: the conformance checks every
//! [`KdsStore`] implementation passes (GUIDE §3.5), one per narrow trait,
//! plus the concurrent callers that several provider instances on one
//! store are (docs/scale-out.md); and direct writes for tests of code that
//! reads the device table.
//!
//! Each check takes `fresh`, which makes a new, empty store each time it
//! is called, and answers the first violation as the error. A check may
//! use the other traits to observe what the one under test did (a revoked
//! device's KeyPackages are gone from its stock), so each asks for a whole
//! [`KdsStore`]. They include what an attacker wants a store to get wrong:
//! an enrollment nonce or a KeyPackage used twice, a device id taken from
//! another number, one carrier proof enrolling too many devices, a rate
//! limit that leaks, a refused request that leaves something behind.

mod concurrency;
mod devices;
mod fixtures;
mod key_packages;
mod nonces;
mod rates;
mod secrets;
mod transparency;

pub use concurrency::check_concurrency;
pub use devices::check_device_store;
pub use key_packages::check_key_package_store;
pub use nonces::check_nonce_store;
pub use rates::check_rate_store;
pub use secrets::check_secret_store;
pub use transparency::check_transparency_queue;

use super::{DeviceRecord, DeviceStore, Enrolment, KdsStore, token_hash};
use crate::error::KdsError;
use crosslock_wire::api::kds::Assurance;

/// Every single-instance check on stores from `fresh`.
pub fn check_kds_store<S: KdsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    check_nonce_store(&fresh)?;
    check_device_store(&fresh)?;
    check_key_package_store(&fresh)?;
    check_rate_store(&fresh)?;
    check_secret_store(&fresh)?;
    check_transparency_queue(&fresh)?;
    Ok(())
}

/// Records device `device_id` of `number` holding bearer `token`
/// (enrolled at time 1000, hardware assurance).
pub fn enroll_device(
    store: &dyn DeviceStore,
    number: &str,
    device_id: &str,
    token: &str,
) -> Result<(), KdsError> {
    let record = DeviceRecord {
        device_id: device_id.to_owned(),
        number: number.to_owned(),
        token_hash: token_hash(token),
        assurance: Assurance::Hardware,
        enrolled_at: 1_000,
        revoked_at: None,
    };
    store.enroll(&Enrolment {
        device: &record,
        credentials: &[],
        replace_others: false,
        presented_token_hash: None,
        proof_digest: token_hash(device_id),
        proof_not_after: u64::MAX / 2,
        max_devices: 10,
        max_per_proof: 1,
    })
}

/// Revokes device `device_id` at time 2000; how many were revoked.
pub fn revoke_device(store: &dyn DeviceStore, device_id: &str) -> Result<usize, KdsError> {
    store.revoke(Some(device_id), None, 2_000)
}
