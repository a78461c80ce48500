//! What the KDS keeps, behind narrow traits (one per concern):
//! [`NonceStore`], [`DeviceStore`], [`KeyPackageStore`], [`RateStore`],
//! [`SecretStore`] and [`TransparencyQueue`]; [`KdsStore`] is all of them.
//! Every method is one transaction. [`SqliteKdsStore`] is the embedded
//! default; `PgKdsStore` (cargo feature `postgres`) keeps the same in
//! PostgreSQL, for several provider instances on one database. Both pass
//! the checks in [`testing`], which include concurrent callers on several
//! instances of one store.

#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;
pub mod testing;

#[cfg(feature = "postgres")]
pub use postgres::PgKdsStore;
pub use sqlite::{KdsStoreMetrics, SqliteKdsStore};

use crosslock_wire::api::kds::{Assurance, Stock};
use sha2::{Digest, Sha256};

use crate::config::RateLimit;
use crate::error::KdsError;

/// What the store keeps of a device's bearer token
/// ([`DeviceRecord::token_hash`]): its SHA-256. For whoever looks a token
/// up with [`DeviceStore::device_by_token`] outside the KDS.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

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

/// An enrollment to record, with what the store checks in the same
/// transaction (KDS-ENR-8..10): nothing is written when one fails.
#[derive(Debug, Clone, Copy)]
pub struct Enrolment<'a> {
    /// The device (its id, number and new token).
    pub device: &'a DeviceRecord,
    /// Its new credentials.
    pub credentials: &'a [IssuedCredential],
    /// Revoke every other device of the number (a new phone).
    pub replace_others: bool,
    /// SHA-256 of the device token the caller presented: re-enrolling an
    /// existing device id needs the one it holds now (KDS-ENR-8).
    pub presented_token_hash: Option<[u8; 32]>,
    /// SHA-256 of the carrier proof (KDS-ENR-10).
    pub proof_digest: [u8; 32],
    /// When the carrier proof expires (its use count is kept until then).
    pub proof_not_after: u64,
    /// Most active devices the number may have after this enrollment.
    pub max_devices: usize,
    /// Most devices one carrier proof may enrol.
    pub max_per_proof: u32,
}

/// One-time enrollment nonces.
pub trait NonceStore: Send + Sync {
    /// Remembers a nonce until `expires_at`.
    fn insert_nonce(&self, nonce: &[u8], expires_at: u64) -> Result<(), KdsError>;
    /// Consumes a nonce: true exactly once, if it exists and has not expired.
    fn take_nonce(&self, nonce: &[u8], now: u64) -> Result<bool, KdsError>;
}

/// Devices and their credentials.
pub trait DeviceStore: Send + Sync {
    /// Records an enrollment, in one transaction, after checking that the
    /// device id is not another number's (`DeviceIdTaken`), that an
    /// existing device id comes with its current token
    /// (`DeviceProofRequired`), that the number stays within
    /// `max_devices` (`TooManyDevices`) and the proof within
    /// `max_per_proof` (`ProofUsedUp`). With `replace_others`, every other
    /// device of the number is revoked in the same transaction.
    fn enroll(&self, enrolment: &Enrolment<'_>) -> Result<(), KdsError>;
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

/// One token bucket of a rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Which bucket (an opaque key).
    pub key: Vec<u8>,
    /// Its size and refill.
    pub limit: RateLimit,
}

/// Token buckets for rate limits.
pub trait RateStore: Send + Sync {
    /// Takes one token from every bucket, or from none: `Err(seconds)`
    /// says when every bucket will have one again.
    fn take_tokens(&self, buckets: &[Bucket], now: u64) -> Result<Result<(), u64>, KdsError>;

    /// Takes one token from the bucket `key` (capacity `burst`, refilled one
    /// token per `refill_secs`). `Err(seconds)` says when one will be there.
    fn take_token(
        &self,
        key: &[u8],
        now: u64,
        burst: u32,
        refill_secs: u64,
    ) -> Result<Result<(), u64>, KdsError> {
        self.take_tokens(
            &[Bucket {
                key: key.to_vec(),
                limit: RateLimit { burst, refill_secs },
            }],
            now,
        )
    }
}

/// Secrets the KDS makes once and keeps (e.g. the key of the requester
/// ids it forwards to peers).
pub trait SecretStore: Send + Sync {
    /// The secret called `name`: `fresh` is stored and returned the first
    /// time, the stored one every later time.
    fn secret(&self, name: &str, fresh: [u8; 32]) -> Result<[u8; 32], KdsError>;
}

/// A number waiting for the next key-transparency epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedNumber {
    /// The number (E.164).
    pub number: String,
    /// When it was (last) queued, as a sequence number.
    pub seq: i64,
}

/// A queued number the publisher left out of an epoch because its binding
/// could not be published (KDS-KT-1). It is taken off the queue so the
/// others go on; a later change of the number queues it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedNumber {
    /// The number (E.164, as stored).
    pub number: String,
    /// Its queue entry's sequence number.
    pub seq: i64,
    /// Why (never the number itself).
    pub reason: String,
    /// When it was skipped.
    pub skipped_at: u64,
}

/// Numbers whose binding changed (enrollment, re-enrollment, revocation)
/// and must go into the next key-transparency epoch. [`DeviceStore`]
/// queues them in the same transaction as the change.
pub trait TransparencyQueue: Send + Sync {
    /// Up to `limit` queued numbers, oldest first.
    fn queued(&self, limit: usize) -> Result<Vec<QueuedNumber>, KdsError>;
    /// How many numbers are queued.
    fn queue_len(&self) -> Result<usize, KdsError>;
    /// Removes published entries, unless queued again since they were read
    /// (and forgets that they were skipped before).
    fn dequeue(&self, published: &[QueuedNumber]) -> Result<(), KdsError>;
    /// Records numbers left out of an epoch and removes their queue
    /// entries, unless queued again since they were read.
    fn skip(&self, skipped: &[SkippedNumber]) -> Result<(), KdsError>;
    /// The numbers skipped and not published since.
    fn skipped(&self) -> Result<Vec<SkippedNumber>, KdsError>;
    /// Queues every number that ever had a device (a directory starting on
    /// an existing KDS). Returns how many.
    fn queue_all_numbers(&self) -> Result<usize, KdsError>;
    /// The unrevoked credentials of the number's active devices.
    fn keys_of_number(&self, number: &str) -> Result<Vec<IssuedCredential>, KdsError>;
}

/// Everything the KDS stores.
pub trait KdsStore:
    NonceStore + DeviceStore + KeyPackageStore + RateStore + TransparencyQueue + SecretStore
{
}
impl<T: NonceStore + DeviceStore + KeyPackageStore + RateStore + TransparencyQueue + SecretStore>
    KdsStore for T
{
}

/// Chains are stored as u32-length-prefixed DER certificates.
pub(crate) fn encode_chain(chain: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for cert in chain {
        out.extend_from_slice(&(cert.len() as u32).to_be_bytes());
        out.extend_from_slice(cert);
    }
    out
}

pub(crate) fn decode_chain(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, KdsError> {
    let mut chain = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes
            .split_at_checked(4)
            .ok_or_else(|| KdsError::Storage("corrupt chain".into()))?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let (cert, rest) = rest
            .split_at_checked(len)
            .ok_or_else(|| KdsError::Storage("corrupt chain".into()))?;
        chain.push(cert.to_vec());
        bytes = rest;
    }
    Ok(chain)
}

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
