//! Errors: [`StoreError`] for opening a store; inside akd's trait, SQLite
//! failures become [`akd::errors::StorageError`] values.

use akd::errors::StorageError;
use rusqlite::ErrorCode;

use crate::codec::Malformed;

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite refused an operation while opening or preparing the file (I/O
    /// error, locked by another writer past the busy timeout, not a database).
    #[error("key-transparency store: {op}: {source}")]
    Sqlite {
        /// What the store was doing.
        op: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file (or PostgreSQL database) was written by a newer Crosslock
    /// whose schema this build does not know; it is left untouched. On
    /// PostgreSQL `found` is the first migration this build does not know.
    #[error(
        "key-transparency store has schema version {found}, this build supports up to {supported}"
    )]
    NewerSchema {
        /// Version found in the file.
        found: i64,
        /// Newest version this build reads and writes.
        supported: i64,
    },
    /// The file is some other SQLite database (another application id, or
    /// tables but no key-transparency schema row); it is left untouched.
    #[error("not a key-transparency store: {0}")]
    ForeignDatabase(&'static str),
    /// The file does not support what the store needs (write-ahead logging).
    #[error("key-transparency store: {0}")]
    Unsupported(String),
    /// PostgreSQL could not be reached, refused the login, or the schema
    /// `kt` could not be migrated (a shipped migration edited since it was
    /// applied, a failed migration); nothing is served. The text never
    /// holds the URL.
    #[cfg(feature = "postgres")]
    #[error("key-transparency store: {0}")]
    Postgres(#[source] crosslock_pg::Error),
}

impl StoreError {
    pub(crate) fn sqlite(op: &'static str) -> impl FnOnce(rusqlite::Error) -> Self {
        move |source| Self::Sqlite { op, source }
    }
}

/// Maps an SQLite failure inside akd's trait. Busy/locked and I/O failures
/// are `Connection` (retrying later may succeed); everything else is
/// `Other`. Messages name the operation, never a label or value: labels are
/// phone-number derived.
pub(crate) fn storage_error(op: &'static str) -> impl Fn(rusqlite::Error) -> StorageError {
    move |error| {
        let transient = matches!(
            error.sqlite_error_code(),
            Some(
                ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::DiskFull
                    | ErrorCode::CannotOpen
                    | ErrorCode::OutOfMemory
            )
        );
        let message = format!("sqlite {op}: {error}");
        if transient {
            StorageError::Connection(message)
        } else {
            StorageError::Other(message)
        }
    }
}

pub(crate) fn malformed(op: &'static str) -> impl Fn(Malformed) -> StorageError {
    move |Malformed(why)| StorageError::Other(format!("corrupt record in {op}: {why}"))
}

pub(crate) fn out_of_range(what: &'static str) -> StorageError {
    StorageError::Other(format!("{what} exceeds the store's range (i64::MAX)"))
}
