//! The error type of the FileInfo codec.

use thiserror::Error;

/// Why a FileInfo was refused (on decoding) or could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FileInfoError {
    /// The bytes are not well-formed protobuf as we accept it: truncated,
    /// a non-minimal or over-long varint, a length past the end, field
    /// number 0.
    #[error("invalid protobuf: {0}")]
    Protobuf(&'static str),
    /// A group or reserved wire type (3, 4, 6, 7).
    #[error("unsupported protobuf wire type {0}")]
    WireType(u8),
    /// A known field with another wire type than its declared one.
    #[error("field {0} has the wrong wire type")]
    WrongWireType(u64),
    /// A known field appears twice (deployed encoders never repeat one).
    #[error("duplicate field {0}")]
    DuplicateField(u64),
    /// The input is over [`super::MAX_FILE_INFO_BYTES`] or holds more than
    /// 16 unknown fields in one message.
    #[error("FileInfo is too large")]
    TooLarge,
    /// A required field is absent.
    #[error("FileInfo lacks its {0} field")]
    MissingField(&'static str),
    /// No slot (file, thumbnail, subject, icon) is set, or more than one:
    /// one FileInfo fills exactly one slot.
    #[error("a FileInfo must fill exactly one slot, it fills {0}")]
    Slots(usize),
    /// The algorithm is not 1 (`AES256_CTR_HMAC_SHA256_256TAG`); absent
    /// means 0, `UNSPECIFIED`.
    #[error("unsupported file encryption algorithm {0}")]
    Algorithm(u64),
    /// `key_material` is not 32 bytes, `initialization_vector` not 12 or
    /// `hmac_tag` not 32.
    #[error("{what} is {len} bytes")]
    Length {
        /// Which field.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// A string field is not UTF-8.
    #[error("{0} is not UTF-8")]
    Utf8(&'static str),
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
}
