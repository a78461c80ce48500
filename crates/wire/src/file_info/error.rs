//! The error type of the FileInfo codec.

use crate::cbor::ScanError;
use thiserror::Error;

/// Why a FileInfo was refused (on decoding) or could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FileInfoError {
    /// The bytes are not acceptable CBOR (ill-formed, truncated, indefinite
    /// lengths, trailing bytes, unsupported simple values, invalid UTF-8).
    #[error("invalid CBOR: {0}")]
    Cbor(String),
    /// The input is over [`super::MAX_FILE_INFO_BYTES`] or holds too many items.
    #[error("FileInfo is too large")]
    TooLarge,
    /// CBOR nesting is over its limit, or a thumbnail has a thumbnail.
    #[error("FileInfo is nested too deep")]
    TooDeep,
    /// Well-formed CBOR that is not a FileInfo (wrong shape or field type).
    #[error("invalid FileInfo: {0}")]
    Invalid(&'static str),
    /// A field number this version does not define: refused, not skipped.
    #[error("unknown FileInfo field {0}")]
    UnknownField(u64),
    /// A field appears twice.
    #[error("duplicate FileInfo field {0}")]
    DuplicateField(u64),
    /// A required field is absent.
    #[error("FileInfo lacks its {0} field")]
    MissingField(&'static str),
    /// The download URL is empty, too long, not `https`, or has characters
    /// RFC 3986 does not allow.
    #[error("invalid download URL: {0}")]
    Url(&'static str),
    /// The file name is not a bare, safe file name.
    #[error("unsafe or invalid file name: {0}")]
    Name(&'static str),
    /// The media type is not a `type/subtype` of RFC 6838 names.
    #[error("invalid media type: {0}")]
    MediaType(&'static str),
    /// Valid content in another encoding than the deterministic one.
    #[error("FileInfo is not deterministically encoded (RFC 8949 §4.2.1)")]
    NotCanonical,
}

impl From<ScanError> for FileInfoError {
    fn from(e: ScanError) -> Self {
        match e {
            ScanError::TooLarge | ScanError::TooManyItems => FileInfoError::TooLarge,
            ScanError::TooDeep => FileInfoError::TooDeep,
            other => FileInfoError::Cbor(other.describe()),
        }
    }
}
