//! The error type of the MIMI codecs.

use crate::cbor::ScanError;
use thiserror::Error;

/// Why MIMI content was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MimiError {
    /// The bytes are not acceptable CBOR (ill-formed, truncated, indefinite
    /// lengths, trailing bytes, unsupported simple values).
    #[error("invalid CBOR: {0}")]
    Cbor(String),
    /// The input is over [`super::MAX_CONTENT_BYTES`] or holds too many items.
    #[error("MIMI content is too large")]
    TooLarge,
    /// CBOR or part nesting is over its limit.
    #[error("MIMI content is nested too deep")]
    TooDeep,
    /// Well-formed CBOR that breaks the MIMI content schema or its rules.
    #[error("invalid MIMI content: {0}")]
    Invalid(&'static str),
    /// A text string is not valid UTF-8 (RFC 8949 §3.1, draft §6.2).
    #[error("invalid UTF-8 in a text string")]
    InvalidUtf8,
}

impl From<ScanError> for MimiError {
    fn from(e: ScanError) -> Self {
        match e {
            ScanError::TooLarge | ScanError::TooManyItems => MimiError::TooLarge,
            ScanError::TooDeep => MimiError::TooDeep,
            ScanError::InvalidUtf8 => MimiError::InvalidUtf8,
            other => MimiError::Cbor(other.describe()),
        }
    }
}
