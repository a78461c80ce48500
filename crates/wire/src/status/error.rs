//! The error type of the message status codec.

use crate::cbor::ScanError;
use thiserror::Error;

/// Why a message status report was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StatusError {
    /// The bytes are not acceptable CBOR.
    #[error("invalid CBOR: {0}")]
    Cbor(String),
    /// The input is larger than a report of [`super::MAX_ENTRIES`] entries.
    #[error("status report is too large")]
    TooLarge,
    /// More than [`super::MAX_ENTRIES`] entries.
    #[error("status report has too many entries")]
    TooMany,
    /// Well-formed CBOR that is not a status report.
    #[error("invalid status report: {0}")]
    Invalid(&'static str),
    /// A status value this implementation does not know.
    #[error("unknown message status {0}")]
    UnknownStatus(u64),
}

impl From<ScanError> for StatusError {
    fn from(e: ScanError) -> Self {
        match e {
            ScanError::TooLarge | ScanError::TooManyItems => StatusError::TooLarge,
            other => StatusError::Cbor(other.describe()),
        }
    }
}
