//! What the KDS keeps, behind narrow traits (one per concern) so a
//! PostgreSQL backend can slot in; `SqliteKdsStore` is the embedded default.
//! Every method is one transaction.

mod sqlite;

pub use sqlite::{KdsStoreMetrics, SqliteKdsStore};

use crosslock_wire::api::kds::{Assurance, Stock};

use crate::error::KdsError;

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// The device instance id (UUID).
    pub device_id: String,
    /// The participant's number, E.164.
    pub number: String,
    /// SHA-256 of the device's bearer token.
    pub token_hash: [u8; 32],
    /// What attestation established.
    pub assurance: Assurance,
    /// Enrollment time.
    pub enrolled_at: u64,
    /// When revoked, if it was.
    pub revoked_at: Option<u64>,
}

/// A credential the KDS issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCredential {
    /// Certificate serial number, hex.
    pub serial: String,
    /// The device it was issued to.
    pub device_id: String,
    /// The certified participant key (MLS encoding).
    pub public_key: Vec<u8>,
    /// The chain, leaf first, DER.
    pub chain: Vec<Vec<u8>>,
    /// End of validity.
    pub not_after: u64,
}

/// A KeyPackage waiting to be claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKeyPackage {
    /// MLS cipher suite code point.
    pub suite: u16,
    /// Whether it is the device's last-resort KeyPackage for the suite.
    pub last_resort: bool,
    /// When it expires.
    pub not_after: u64,
    /// The KeyPackage (MLS message bytes).
    pub bytes: Vec<u8>,
}

/// A claimed device: its id and one KeyPackage per suite it had.
pub type ClaimedKeyPackages = Vec<(String, Vec<Vec<u8>>)>;

/// One-time enrollment nonces.
pub trait NonceStore: Send + Sync {
    /// Remembers a nonce until `expires_at`.
    fn insert_nonce(&self, nonce: &[u8], expires_at: u64) -> Result<(), KdsError>;
    /// Consumes a nonce: true exactly once, if it exists and has not expired.
    fn take_nonce(&self, nonce: &[u8], now: u64) -> Result<bool, KdsError>;
}

/// Devices and their credentials.
pub trait DeviceStore: Send + Sync {
    /// Records an enrollment. With `replace_others`, every other device of
    /// the number is revoked in the same transaction (a new phone).
    fn enroll(
        &self,
        device: &DeviceRecord,
        credentials: &[IssuedCredential],
        replace_others: bool,
    ) -> Result<(), KdsError>;
    /// The device holding a token (revoked devices included).
    fn device_by_token(&self, token_hash: &[u8; 32]) -> Result<Option<DeviceRecord>, KdsError>;
    /// The credentials issued to a device.
    fn credentials_of(&self, device_id: &str) -> Result<Vec<IssuedCredential>, KdsError>;
    /// Revokes one device, or every device of a number; deletes their
    /// KeyPackages. Returns how many devices were revoked.
    fn revoke(
        &self,
        device_id: Option<&str>,
        number: Option<&str>,
        now: u64,
    ) -> Result<usize, KdsError>;
    /// Serials of credentials revoked at or after `since`.
    fn revoked_since(&self, since: u64) -> Result<Vec<String>, KdsError>;
    /// Active devices of a number.
    fn active_devices(&self, number: &str) -> Result<Vec<DeviceRecord>, KdsError>;
}

/// KeyPackages: single use, except one last-resort package per suite.
pub trait KeyPackageStore: Send + Sync {
    /// Adds KeyPackages for a device. Refuses the whole batch if a suite
    /// would hold more than `max_per_suite` single-use packages; a
    /// last-resort package replaces the previous one of its suite.
    fn add_key_packages(
        &self,
        device_id: &str,
        key_packages: &[StoredKeyPackage],
        max_per_suite: usize,
        now: u64,
    ) -> Result<Stock, KdsError>;
    /// The unexpired KeyPackages a device has.
    fn stock(&self, device_id: &str, now: u64) -> Result<Stock, KdsError>;
    /// For every active device of `number` (restricted to `only` when
    /// given), one unexpired KeyPackage per suite: a single-use one
    /// (deleted in the same transaction, so it is never handed out twice),
    /// or the last-resort one when none is left.
    fn claim(
        &self,
        number: &str,
        only: Option<&[String]>,
        now: u64,
    ) -> Result<ClaimedKeyPackages, KdsError>;
}

/// Token buckets for rate limits.
pub trait RateStore: Send + Sync {
    /// Takes one token from the bucket `key` (capacity `burst`, refilled one
    /// token per `refill_secs`). `Err(seconds)` says when one will be there.
    fn take_token(
        &self,
        key: &[u8],
        now: u64,
        burst: u32,
        refill_secs: u64,
    ) -> Result<Result<(), u64>, KdsError>;
}

/// A number waiting for the next key-transparency epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedNumber {
    /// The number (E.164).
    pub number: String,
    /// When it was (last) queued, as a sequence number.
    pub seq: i64,
}

/// Numbers whose binding changed (enrollment, re-enrollment, revocation)
/// and must go into the next key-transparency epoch. [`DeviceStore`]
/// queues them in the same transaction as the change.
pub trait TransparencyQueue: Send + Sync {
    /// Up to `limit` queued numbers, oldest first.
    fn queued(&self, limit: usize) -> Result<Vec<QueuedNumber>, KdsError>;
    /// How many numbers are queued.
    fn queue_len(&self) -> Result<usize, KdsError>;
    /// Removes published entries, unless queued again since they were read.
    fn dequeue(&self, published: &[QueuedNumber]) -> Result<(), KdsError>;
    /// Queues every number that ever had a device (a directory starting on
    /// an existing KDS). Returns how many.
    fn queue_all_numbers(&self) -> Result<usize, KdsError>;
    /// The unrevoked credentials of the number's active devices.
    fn keys_of_number(&self, number: &str) -> Result<Vec<IssuedCredential>, KdsError>;
}

/// Everything the KDS stores.
pub trait KdsStore:
    NonceStore + DeviceStore + KeyPackageStore + RateStore + TransparencyQueue
{
}
impl<T: NonceStore + DeviceStore + KeyPackageStore + RateStore + TransparencyQueue> KdsStore for T {}

pub(crate) fn assurance_name(a: Assurance) -> &'static str {
    match a {
        Assurance::HardwareVerified => "hardware-verified",
        Assurance::Hardware => "hardware",
        Assurance::None => "none",
    }
}

pub(crate) fn assurance_from(name: &str) -> Assurance {
    match name {
        "hardware-verified" => Assurance::HardwareVerified,
        "hardware" => Assurance::Hardware,
        _ => Assurance::None,
    }
}
