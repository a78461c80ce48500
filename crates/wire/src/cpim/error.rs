//! The error type of the CPIM codecs.

use thiserror::Error;

/// Why a CPIM message or an RCC.16 envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CpimError {
    /// The input ended before the header sections were complete.
    #[error("CPIM message is truncated")]
    Truncated,
    /// The header section, the header count or the body is over its limit.
    #[error("CPIM message is over a size limit")]
    TooLarge,
    /// The message does not follow the RFC 3862 structure.
    #[error("malformed CPIM message: {0}")]
    Malformed(&'static str),
    /// A required header is absent (RCC.16: the body is dropped).
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header that may appear once appears more than once.
    #[error("duplicate header {0}")]
    DuplicateHeader(String),
    /// A header's name or value breaks its rule.
    #[error("invalid header {name}: {reason}")]
    InvalidHeader {
        /// The header name as received.
        name: String,
        /// Which rule it broke.
        reason: &'static str,
    },
    /// The body's Content-Type is not one the envelope accepts.
    #[error("unsupported content type {0:?}")]
    UnsupportedContentType(String),
    /// Content-Length does not equal the body's length.
    #[error("Content-Length does not match the body")]
    ContentLengthMismatch,
}
