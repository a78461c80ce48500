//! Errors of the provider-side directory and witness.

use thiserror::Error;

use crate::error::KtError;

/// A failure of the directory, its root store or a witness.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KtServerError {
    /// The number has never been published.
    #[error("the number is not in the key-transparency directory")]
    UnknownNumber,
    /// An epoch range that does not exist (or is empty) was asked for.
    #[error("epochs {from}..={to} are not available (latest is {latest})")]
    InvalidRange {
        /// First epoch asked.
        from: u64,
        /// Last epoch asked.
        to: u64,
        /// The latest epoch.
        latest: u64,
    },
    /// The files belong to another directory or were created with other keys.
    #[error("the key-transparency store at {path} belongs to {what}; refusing to open it")]
    Mismatch {
        /// The store.
        path: String,
        /// What it belongs to.
        what: String,
    },
    /// akd failed.
    #[error("directory operation failed: {0}")]
    Akd(String),
    /// The root store failed.
    #[error("root store ({context}): {source}")]
    Sqlite {
        /// What was being done.
        context: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A key file could not be read or written.
    #[error("key file {path}: {why}")]
    KeyFile {
        /// The file.
        path: String,
        /// Why.
        why: String,
    },
    /// A witness did not co-sign.
    #[error("witness: {0}")]
    Witness(String),
    /// A proof, root or request was refused.
    #[error(transparent)]
    Kt(#[from] KtError),
}

impl KtServerError {
    pub(crate) fn sqlite(context: &'static str) -> impl FnOnce(rusqlite::Error) -> Self {
        move |source| KtServerError::Sqlite { context, source }
    }

    pub(crate) fn akd(e: impl std::fmt::Display) -> Self {
        KtServerError::Akd(e.to_string())
    }
}
