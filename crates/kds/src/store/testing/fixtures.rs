//! What the checks build and how they compare: devices, enrolments,
//! credentials, KeyPackages; assertions answering the first violation as
//! the error.

use std::fmt::Debug;

use crosslock_wire::api::kds::{Assurance, Stock};

use crate::error::KdsError;
use crate::store::*;

pub(super) const ALICE: &str = "+15550100001";
pub(super) const BOB: &str = "+15550100002";
pub(super) const CAROL: &str = "+15550100003";
/// A cipher suite code point (the checks do not look inside KeyPackages).
pub(super) const SUITE: u16 = 1;
pub(super) const OTHER_SUITE: u16 = 2;

/// A device record of `number` whose bearer token is `token`.
pub(super) fn record(number: &str, device_id: &str, token: &str, at: u64) -> DeviceRecord {
    DeviceRecord {
        device_id: device_id.to_owned(),
        number: number.to_owned(),
        token_hash: token_hash(token),
        assurance: Assurance::HardwareVerified,
        enrolled_at: at,
        revoked_at: None,
    }
}

/// A credential of `device_id` (chain of two certificates).
pub(super) fn credential(device_id: &str, serial: &str) -> IssuedCredential {
    IssuedCredential {
        serial: serial.to_owned(),
        device_id: device_id.to_owned(),
        public_key: format!("key of {serial}").into_bytes(),
        chain: vec![
            format!("leaf {serial}").into_bytes(),
            b"intermediate".to_vec(),
        ],
        not_after: 1_000_000,
    }
}

/// An enrolment, with what the store checks (KDS-ENR-8..10).
#[derive(Debug, Clone)]
pub(super) struct Enrol {
    pub(super) device: DeviceRecord,
    pub(super) credentials: Vec<IssuedCredential>,
    pub(super) replace_others: bool,
    pub(super) presented_token: Option<String>,
    pub(super) proof: String,
    pub(super) proof_not_after: u64,
    pub(super) max_devices: usize,
    pub(super) max_per_proof: u32,
}

/// Device `device_id` of `number` with token `token` at time `at`, one
/// credential (serial `<device_id>/<token>`), its own proof, generous limits.
pub(super) fn enrol(number: &str, device_id: &str, token: &str, at: u64) -> Enrol {
    Enrol {
        device: record(number, device_id, token, at),
        credentials: vec![credential(device_id, &format!("{device_id}/{token}"))],
        replace_others: false,
        presented_token: None,
        proof: format!("proof of {device_id}/{token}"),
        proof_not_after: 1_000_000,
        max_devices: 10,
        max_per_proof: 1,
    }
}

impl Enrol {
    pub(super) fn run(&self, store: &impl DeviceStore) -> Result<(), KdsError> {
        store.enroll(&Enrolment {
            device: &self.device,
            credentials: &self.credentials,
            replace_others: self.replace_others,
            presented_token_hash: self.presented_token.as_deref().map(token_hash),
            proof_digest: token_hash(&self.proof),
            proof_not_after: self.proof_not_after,
            max_devices: self.max_devices,
            max_per_proof: self.max_per_proof,
        })
    }
}

/// A single-use KeyPackage of `suite` whose bytes say `name`.
pub(super) fn kp(suite: u16, name: &str, not_after: u64) -> StoredKeyPackage {
    StoredKeyPackage {
        suite,
        last_resort: false,
        not_after,
        bytes: format!("kp {name}").into_bytes(),
    }
}

/// A last-resort KeyPackage of `suite` whose bytes say `name`.
pub(super) fn last_resort(suite: u16, name: &str, not_after: u64) -> StoredKeyPackage {
    StoredKeyPackage {
        suite,
        last_resort: true,
        not_after,
        bytes: format!("last resort {name}").into_bytes(),
    }
}

/// A stock of `available` single-use KeyPackages per suite and last-resort
/// ones for `last_resort`.
pub(super) fn stock(available: &[(u16, u32)], last_resort: &[u16]) -> Stock {
    Stock {
        available: available.iter().copied().collect(),
        last_resort: last_resort.to_vec(),
    }
}

/// The ids of the number's active devices, in the store's order.
pub(super) fn active(store: &impl DeviceStore, number: &str) -> Result<Vec<String>, String> {
    Ok(ok("active_devices", store.active_devices(number))?
        .into_iter()
        .map(|d| d.device_id)
        .collect())
}

/// The serials of a device's credentials, in the store's order.
pub(super) fn serials(store: &impl DeviceStore, device_id: &str) -> Result<Vec<String>, String> {
    Ok(ok("credentials_of", store.credentials_of(device_id))?
        .into_iter()
        .map(|c| c.serial)
        .collect())
}

/// The queued numbers, oldest first.
pub(super) fn queued(store: &impl TransparencyQueue) -> Result<Vec<String>, String> {
    Ok(ok("queued", store.queued(1000))?
        .into_iter()
        .map(|q| q.number)
        .collect())
}

/// The stock, with the last-resort suites sorted (the trait does not
/// order them).
pub(super) fn stock_of(
    store: &impl KeyPackageStore,
    device_id: &str,
    now: u64,
) -> Result<Stock, String> {
    let mut s = ok("stock", store.stock(device_id, now))?;
    s.last_resort.sort_unstable();
    Ok(s)
}

/// A claim's answer as (device, KeyPackage texts).
pub(super) fn claimed(
    store: &impl KeyPackageStore,
    number: &str,
    only: Option<&[String]>,
    now: u64,
) -> Result<Vec<(String, Vec<String>)>, String> {
    Ok(ok("claim", store.claim(number, only, now))?
        .into_iter()
        .map(|(d, kps)| {
            (
                d,
                kps.into_iter()
                    .map(|k| String::from_utf8_lossy(&k).into_owned())
                    .collect(),
            )
        })
        .collect())
}

// ---- assertions ----------------------------------------------------------------

pub(super) fn ok<T>(what: &str, result: Result<T, KdsError>) -> Result<T, String> {
    result.map_err(|e| format!("{what}: unexpected error: {e}"))
}

pub(super) fn same<T: PartialEq + Debug>(what: &str, got: T, expected: T) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, expected {expected:?}"))
    }
}

/// `result` is the error `expected` (compared by variant).
pub(super) fn refused<T: Debug>(
    what: &str,
    result: Result<T, KdsError>,
    expected: KdsError,
) -> Result<(), String> {
    match result {
        Err(e) if std::mem::discriminant(&e) == std::mem::discriminant(&expected) => Ok(()),
        other => Err(format!("{what}: got {other:?}, expected Err({expected:?})")),
    }
}

pub(super) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}
