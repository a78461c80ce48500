//! Where a device keeps its state: a narrow key-value trait with atomic
//! batches, an in-memory implementation, and encrypted SQLite.
//!
//! Every state change of the client core is one [`WriteBatch`] committed
//! in one transaction (GUIDE §3.4): MLS group state, epoch secrets, the
//! replay ledger and the application inbox move together or not at all.

mod memory;
mod sqlite;
mod staged;

pub use memory::MemoryStore;
pub use sqlite::{DatabaseKey, SqliteStore};
pub(crate) use staged::Staged;

use std::fmt::Debug;

/// A table of the device state. The numbers are stored; never reuse one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Table {
    /// Device identity and settings.
    Device = 1,
    /// mls-rs group snapshots, by group id.
    GroupState = 2,
    /// mls-rs prior-epoch secrets, by group id ‖ epoch.
    Epoch = 3,
    /// mls-rs KeyPackage private data, by KeyPackage reference.
    KeyPackage = 4,
    /// Conversation records, by group id.
    Conversation = 5,
    /// Message ids already processed, by group id ‖ message id (replay ledger).
    Seen = 6,
    /// Decrypted messages not yet acknowledged by the application.
    Inbox = 7,
    /// Contacts: pinned participant keys and verification.
    Contact = 8,
    /// Epoch authenticators of recent epochs, by group id ‖ epoch.
    EpochAuthenticator = 9,
    /// Software key store secrets, by alias.
    KeySecret = 10,
    /// A conversation's next group while its commit waits for the delivery
    /// service's verdict (rejoin, new era): mls-rs snapshots, by group id.
    StagedGroupState = 11,
    /// Prior-epoch secrets of a staged group, by group id ‖ epoch.
    StagedEpoch = 12,
    /// Application payloads we sent, kept for resending after a negative
    /// delivery report, by group id ‖ message id.
    Sent = 13,
    /// Group subject and icon: content keys, where the ciphertexts are,
    /// the values, and a change staged with a pending commit; by
    /// `state` ‖ group id, or `pending` ‖ group id ‖ sender (a key
    /// delivery waiting for its descriptor).
    GroupMetadata = 14,
}

impl Table {
    /// Every table, for implementations that create storage per table.
    pub const ALL: [Table; 14] = [
        Table::Device,
        Table::GroupState,
        Table::Epoch,
        Table::KeyPackage,
        Table::Conversation,
        Table::Seen,
        Table::Inbox,
        Table::Contact,
        Table::EpochAuthenticator,
        Table::KeySecret,
        Table::StagedGroupState,
        Table::StagedEpoch,
        Table::Sent,
        Table::GroupMetadata,
    ];
}

/// One write in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Insert or replace.
    Put(Table, Vec<u8>, Vec<u8>),
    /// Delete if present.
    Delete(Table, Vec<u8>),
}

/// Writes applied atomically, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch(pub Vec<Write>);

impl WriteBatch {
    /// Whether nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why the store failed. Internal faults: the caller cannot fix them by
/// changing its input, only by retrying or repairing the device.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed an operation.
    #[error("storage failure: {0}")]
    Backend(String),
    /// The database file cannot be opened with the key given (wrong key or
    /// not a Crosslock database).
    #[error("cannot open the device database: wrong key or not a Crosslock database")]
    WrongKeyOrNotADatabase,
    /// A record did not decode: corruption or a newer schema.
    #[error("stored record is corrupt or from a newer version: {0}")]
    Corrupt(String),
}

/// Key-value pairs returned by a scan, in key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// A key-value store with atomic batches.
///
/// Implementations run the conformance suite in `tests/store_conformance.rs`.
pub trait StateStore: Send + Sync + Debug {
    /// Reads one value.
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// All entries whose key starts with `prefix`, in key order.
    fn scan(&self, table: Table, prefix: &[u8]) -> Result<Entries, StoreError>;
    /// Applies every write of `batch` or none of them.
    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError>;
}

/// Builds keys from variable-length parts without ambiguity: each part is
/// prefixed with its length as u16, so `("ab", "c")` and `("a", "bc")`
/// differ and a scan by the first part never matches a longer one.
pub(crate) fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 2).sum());
    for part in parts {
        let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&part[..usize::from(len).min(part.len())]);
    }
    out
}
