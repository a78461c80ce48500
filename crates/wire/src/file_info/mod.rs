//! The FileInfo message (`message/mls-rcs-file-info`): what a sender puts
//! inside MLS so recipients can fetch and decrypt a file.
//!
//! RCC.16 file transfer (GUIDE §4): a file is encrypted under a fresh key,
//! uploaded to the content server under the visible name `encrypted_file`,
//! and the key travels only inside MLS, in a FileInfo. The encryption
//! itself is the client's (`crosslock_client::file`); this module is the
//! message format.
//!
//! Crosslock encodes FileInfo as a CBOR map with unsigned integer keys
//! (RCC.16 leaves the body to the implementation here; Crosslock uses
//! deterministic CBOR like its other formats):
//!
//! ```text
//! FileInfo = {
//!   1 => tstr,           ; download URL (the content server's capability URL)
//!   2 => bstr .size 32,  ; file key
//!   3 => uint,           ; plaintext size in bytes
//!   4 => uint,           ; encrypted (uploaded) size in bytes
//!   5 => tstr,           ; media type, `type/subtype`
//!   6 => tstr,           ; original file name, shown to the user
//!   8 => uint,           ; expiry of the download URL, UNIX seconds
//!   ? 9 => FileInfo,     ; thumbnail, which has no thumbnail of its own
//! }
//! ```
//!
//! Key 7 is retired (an early draft carried the blob's SHA-256 there; the
//! HMAC tag inside the blob already authenticates it) and is refused as an
//! unknown field.
//!
//! Decoding is strict: unknown, duplicate or missing fields are refused,
//! as are a thumbnail inside a thumbnail, fields over their bounds (URL
//! [`MAX_URL_BYTES`], name [`MAX_NAME_BYTES`], media type
//! [`MAX_MEDIA_TYPE_BYTES`]), a name that is not a bare file name
//! ([`check_file_name`]), and any encoding but the deterministic one (RFC
//! 8949 §4.2.1: the decoder re-encodes what it read and compares). Input
//! over [`MAX_FILE_INFO_BYTES`] or nested deeper than a thumbnail is
//! refused by the iterative scan before a value tree is built.

mod error;
mod fields;
mod key;

pub use error::FileInfoError;
pub use fields::{check_file_name, check_media_type};
pub use key::FileKey;

use crate::cbor::{self, ScanLimits, read, write};
use ciborium::Value;

/// The longest download URL, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// The longest file name, in bytes of UTF-8 (the common file-system limit).
pub const MAX_NAME_BYTES: usize = 255;
/// The longest media type, in bytes (RFC 6838 §4.2 bounds each half at 127).
pub const MAX_MEDIA_TYPE_BYTES: usize = 127;
/// The largest encoded FileInfo, thumbnail included, in bytes. One FileInfo
/// with every field at its bound encodes to about 2.6 KB.
pub const MAX_FILE_INFO_BYTES: usize = 6144;

const LIMITS: ScanLimits = ScanLimits {
    max_bytes: MAX_FILE_INFO_BYTES,
    // The map, and the thumbnail's map inside it.
    max_depth: 2,
    // A map item plus eight keys and eight values, twice.
    max_items: 2 * 17,
};

const URL: u64 = 1;
const KEY: u64 = 2;
const SIZE: u64 = 3;
const ENCRYPTED_SIZE: u64 = 4;
const MEDIA_TYPE: u64 = 5;
const NAME: u64 = 6;
const EXPIRES: u64 = 8;
const THUMBNAIL: u64 = 9;

/// The fields of a FileInfo, unchecked; [`FileInfo::new`] checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfoFields {
    /// Where to download the encrypted blob: the content server's
    /// capability URL (`https` only).
    pub url: String,
    /// The file key.
    pub key: FileKey,
    /// The plaintext size in bytes.
    pub size: u64,
    /// The size of the uploaded blob in bytes.
    pub encrypted_size: u64,
    /// The media type of the plaintext, e.g. `image/jpeg`.
    pub media_type: String,
    /// The original file name shown to the user (a bare name).
    pub name: String,
    /// When the download URL expires, in UNIX seconds.
    pub expires: u64,
}

/// A checked FileInfo: every field within its bounds, a safe file name, at
/// most one level of thumbnail. Build one with [`FileInfo::new`] (and
/// [`FileInfo::with_thumbnail`]) or [`FileInfo::decode`].
///
/// `Debug` shows everything but the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    fields: FileInfoFields,
    thumbnail: Option<Box<FileInfo>>,
}

impl FileInfo {
    /// Checks `fields` and makes a FileInfo without a thumbnail.
    pub fn new(fields: FileInfoFields) -> Result<FileInfo, FileInfoError> {
        fields::check_url(&fields.url)?;
        check_file_name(&fields.name)?;
        check_media_type(&fields.media_type)?;
        Ok(FileInfo {
            fields,
            thumbnail: None,
        })
    }

    /// Attaches a thumbnail (itself an encrypted file with its own key).
    /// A thumbnail that has a thumbnail of its own is refused.
    pub fn with_thumbnail(mut self, thumbnail: FileInfo) -> Result<FileInfo, FileInfoError> {
        if thumbnail.thumbnail.is_some() {
            return Err(FileInfoError::TooDeep);
        }
        self.thumbnail = Some(Box::new(thumbnail));
        Ok(self)
    }

    /// The download URL of the encrypted blob.
    pub fn url(&self) -> &str {
        &self.fields.url
    }

    /// The file key.
    pub fn key(&self) -> &FileKey {
        &self.fields.key
    }

    /// The plaintext size in bytes.
    pub fn size(&self) -> u64 {
        self.fields.size
    }

    /// The size of the uploaded blob in bytes.
    pub fn encrypted_size(&self) -> u64 {
        self.fields.encrypted_size
    }

    /// The media type of the plaintext.
    pub fn media_type(&self) -> &str {
        &self.fields.media_type
    }

    /// The file name as the sender gave it, for display. To save the file,
    /// use [`FileInfo::safe_file_name`].
    pub fn name(&self) -> &str {
        &self.fields.name
    }

    /// The name to save the file under: always a bare name (no separator,
    /// no `..`, no control character, never `.`), with characters that are
    /// legal but misleading on a file system (bidirectional controls, `:`,
    /// a leading `.`, trailing dots and spaces) replaced or dropped.
    pub fn safe_file_name(&self) -> String {
        fields::safe_file_name(&self.fields.name)
    }

    /// When the download URL expires, in UNIX seconds.
    pub fn expires(&self) -> u64 {
        self.fields.expires
    }

    /// Whether the download URL has expired at `now` (UNIX seconds).
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.fields.expires
    }

    /// The thumbnail, if the sender attached one.
    pub fn thumbnail(&self) -> Option<&FileInfo> {
        self.thumbnail.as_deref()
    }

    /// All fields but the thumbnail.
    pub fn fields(&self) -> &FileInfoFields {
        &self.fields
    }

    /// The deterministic CBOR encoding (RFC 8949 §4.2.1).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        let f = &self.fields;
        write::map(out, if self.thumbnail.is_some() { 8 } else { 7 });
        write::uint(out, URL);
        write::text(out, &f.url);
        write::uint(out, KEY);
        write::bytes(out, f.key.as_bytes());
        write::uint(out, SIZE);
        write::uint(out, f.size);
        write::uint(out, ENCRYPTED_SIZE);
        write::uint(out, f.encrypted_size);
        write::uint(out, MEDIA_TYPE);
        write::text(out, &f.media_type);
        write::uint(out, NAME);
        write::text(out, &f.name);
        write::uint(out, EXPIRES);
        write::uint(out, f.expires);
        if let Some(thumbnail) = &self.thumbnail {
            write::uint(out, THUMBNAIL);
            thumbnail.write(out);
        }
    }

    /// Decodes and checks a FileInfo from untrusted bytes (FILE-INFO-1 to
    /// FILE-INFO-4, docs/validation-rules.md).
    pub fn decode(bytes: &[u8]) -> Result<FileInfo, FileInfoError> {
        let value = cbor::parse(bytes, &LIMITS)?;
        let info = FileInfo::read(&value, true)?;
        // FILE-INFO-1: only the deterministic encoding.
        if info.encode() != bytes {
            return Err(FileInfoError::NotCanonical);
        }
        Ok(info)
    }

    fn read(value: &Value, top: bool) -> Result<FileInfo, FileInfoError> {
        let Value::Map(entries) = value else {
            return Err(FileInfoError::Invalid("a FileInfo must be a map"));
        };
        let mut slots: [Option<&Value>; 8] = [None; 8];
        for (k, v) in entries {
            let field: u64 = read::uint(k, "field keys must be unsigned integers")
                .map_err(FileInfoError::Invalid)?;
            let slot = match field {
                URL..=NAME => &mut slots[(field - 1) as usize],
                EXPIRES | THUMBNAIL => &mut slots[(field - 2) as usize],
                other => return Err(FileInfoError::UnknownField(other)),
            };
            if slot.replace(v).is_some() {
                return Err(FileInfoError::DuplicateField(field));
            }
        }
        let [
            url,
            key,
            size,
            encrypted_size,
            media_type,
            name,
            expires,
            thumbnail,
        ] = slots;
        let invalid = FileInfoError::Invalid;
        let fields = FileInfoFields {
            url: read::text(need(url, "url")?, "url must be a text string")
                .map_err(invalid)?
                .to_owned(),
            key: read::fixed(need(key, "key")?, "key must be 32 bytes")
                .map(FileKey::from_bytes)
                .map_err(invalid)?,
            size: read::uint(need(size, "size")?, "size must be a uint").map_err(invalid)?,
            encrypted_size: read::uint(
                need(encrypted_size, "encrypted size")?,
                "encrypted size must be a uint",
            )
            .map_err(invalid)?,
            media_type: read::text(
                need(media_type, "media type")?,
                "media type must be a text string",
            )
            .map_err(invalid)?
            .to_owned(),
            name: read::text(need(name, "name")?, "name must be a text string")
                .map_err(invalid)?
                .to_owned(),
            expires: read::uint(need(expires, "expires")?, "expires must be a uint")
                .map_err(invalid)?,
        };
        let info = FileInfo::new(fields)?;
        match thumbnail {
            None => Ok(info),
            // One level only: the scan's depth limit refuses deeper input
            // first; this is the second fence.
            Some(_) if !top => Err(FileInfoError::TooDeep),
            Some(t) => info.with_thumbnail(FileInfo::read(t, false)?),
        }
    }
}

/// A required field's value.
fn need<'a>(v: Option<&'a Value>, what: &'static str) -> Result<&'a Value, FileInfoError> {
    v.ok_or(FileInfoError::MissingField(what))
}

#[cfg(test)]
mod tests;
