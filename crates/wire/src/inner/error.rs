//! The error type of the application payload codec.

use thiserror::Error;

/// Why an MLS application message plaintext was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum InnerError {
    /// The input ended inside the header section.
    #[error("payload is truncated")]
    Truncated,
    /// The header section, header count or body is over its limit.
    #[error("payload is over a size limit")]
    TooLarge,
    /// The header section breaks RFC 5322 syntax.
    #[error("malformed payload: {0}")]
    Malformed(&'static str),
    /// No Content-Type header.
    #[error("payload has no Content-Type")]
    MissingContentType,
    /// More than one Content-Type header.
    #[error("payload has more than one Content-Type")]
    DuplicateContentType,
    /// The Content-Type is not a media type.
    #[error("Content-Type is not a media type")]
    InvalidContentType,
}
