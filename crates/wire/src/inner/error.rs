//! The error type of the application payload codec.

use thiserror::Error;

/// Why an MLS application message plaintext was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum InnerError {
    /// The frame's version is not 1 (fact sheet §3b).
    #[error("unsupported payload version {0}")]
    UnsupportedVersion(u16),
    /// The frame's format (payload type) is not 1, text/MIME (fact sheet
    /// §3b; type 4 was reported for group metadata keys, unconfirmed).
    #[error("unsupported payload format {0}")]
    UnsupportedFormat(u16),
    /// The frame's length prefix is not minimally encoded (RFC 9420 §2.1.2).
    #[error("payload length is not minimally encoded")]
    NonMinimalLength,
    /// The frame's length prefix is not the length of the rest of the input.
    #[error("payload length {declared} does not match the {actual} bytes that follow")]
    LengthMismatch {
        /// The length the prefix declares.
        declared: usize,
        /// The bytes after the prefix.
        actual: usize,
    },
    /// The input ended inside the frame header or the MIME header section.
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
    /// More than one Content-Disposition or Content-Length header.
    #[error("payload has more than one {0}")]
    DuplicateHeader(&'static str),
    /// The Content-Type is not a media type.
    #[error("Content-Type is not a media type")]
    InvalidContentType,
    /// The Content-Disposition is neither `inline` nor `attachment`.
    #[error("Content-Disposition is neither inline nor attachment")]
    InvalidDisposition,
    /// The Content-Length is not a decimal number.
    #[error("Content-Length is not a decimal number")]
    InvalidContentLength,
    /// The Content-Length is not the body's length.
    #[error("Content-Length does not match the body")]
    ContentLengthMismatch,
}
