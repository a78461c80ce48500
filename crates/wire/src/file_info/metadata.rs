//! FileMetadata and FileEncryptionInfo (RCC.16 §7.8.1 as deployed,
//! rcc16-deployed.md §2).

use super::error::FileInfoError;
use super::key::FileKey;
use super::proto::{self, Reader, WireType};
use super::{Fields, check_file_name, check_media_type, fields};

/// IV length in bytes (Annex C.2: 96 bits).
pub const IV_LEN: usize = 12;
/// Tag length in bytes (HMAC-SHA256, all 32 kept).
pub const TAG_LEN: usize = 32;
/// `AES256_CTR_HMAC_SHA256_256TAG`, the only algorithm.
const ALGORITHM: u64 = 1;

/// What decrypts one file (RCC.16 Annex C.2): its key, IV, tag and the
/// plaintext length. The algorithm is always `AES256_CTR_HMAC_SHA256_256TAG`.
///
/// `Debug` never shows the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEncryptionInfo {
    /// `key_material`: the content key `K`.
    pub key: FileKey,
    /// `initialization_vector`: 12 bytes.
    pub iv: [u8; IV_LEN],
    /// `hmac_tag`: 32 bytes.
    pub tag: [u8; TAG_LEN],
    /// `file_length_hint`: the plaintext length. Always sent; `None` only
    /// when a peer left it out.
    pub length_hint: Option<u32>,
}

impl FileEncryptionInfo {
    fn encode(&self, out: &mut Vec<u8>) {
        proto::put_bytes(out, 1, self.key.as_bytes());
        proto::put_bytes(out, 2, &self.iv);
        proto::put_bytes(out, 3, &self.tag);
        proto::put_tag(out, 4, WireType::Varint);
        proto::put_varint(out, ALGORITHM);
        if let Some(hint) = self.length_hint {
            proto::put_tag(out, 5, WireType::I32);
            out.extend_from_slice(&hint.to_le_bytes());
        }
    }

    fn decode(bytes: &[u8]) -> Result<FileEncryptionInfo, FileInfoError> {
        let mut r = Reader::new(bytes);
        let mut seen = Fields::default();
        let (mut key, mut iv, mut tag) = (None, None, None);
        let mut algorithm = 0;
        let mut length_hint = None;
        while let Some((n, wire)) = r.field()? {
            match n {
                1..=3 => {
                    seen.known(n, wire, WireType::Len)?;
                    let v = r.len_delimited()?;
                    match n {
                        1 => key = Some(v),
                        2 => iv = Some(v),
                        _ => tag = Some(v),
                    }
                }
                4 => {
                    seen.known(n, wire, WireType::Varint)?;
                    algorithm = r.varint()?;
                }
                5 => {
                    seen.known(n, wire, WireType::I32)?;
                    length_hint = Some(r.fixed32()?);
                }
                _ => seen.unknown(&mut r, wire)?,
            }
        }
        // FILE-PB-5: the algorithm; FILE-PB-6: the sizes.
        if algorithm != ALGORITHM {
            return Err(FileInfoError::Algorithm(algorithm));
        }
        Ok(FileEncryptionInfo {
            key: FileKey::from_bytes(exact(key, "key_material")?),
            iv: exact(iv, "initialization_vector")?,
            tag: exact(tag, "hmac_tag")?,
            length_hint,
        })
    }
}

/// A required bytes field of exactly `N` bytes.
fn exact<const N: usize>(v: Option<&[u8]>, what: &'static str) -> Result<[u8; N], FileInfoError> {
    let v = v.ok_or(FileInfoError::MissingField(what))?;
    v.try_into()
        .map_err(|_| FileInfoError::Length { what, len: v.len() })
}

/// One file's name, type and keys: what fills a FileInfo slot. The name
/// is checked ([`check_file_name`]) and so is a non-empty content type
/// ([`check_media_type`]).
///
/// `Debug` never shows the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMetadata {
    file_name: String,
    content_type: String,
    encryption: FileEncryptionInfo,
}

impl FileMetadata {
    /// Checks and assembles a FileMetadata. `file_name` is the original
    /// name, which is also the HKDF info of the file's keys (`group_icon`
    /// / `group_subject` for the group metadata); `content_type` the
    /// plaintext's media type (may be empty).
    pub fn new(
        file_name: impl Into<String>,
        content_type: impl Into<String>,
        encryption: FileEncryptionInfo,
    ) -> Result<FileMetadata, FileInfoError> {
        let (file_name, content_type) = (file_name.into(), content_type.into());
        check_file_name(&file_name)?;
        if !content_type.is_empty() {
            check_media_type(&content_type)?;
        }
        Ok(FileMetadata {
            file_name,
            content_type,
            encryption,
        })
    }

    /// The original file name as the sender gave it, for display and as
    /// the HKDF info. To save the file, use [`FileMetadata::safe_file_name`].
    pub fn file_name(&self) -> &str {
        &self.file_name
    }

    /// The plaintext's media type (empty when the sender gave none).
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The key, IV, tag and length hint.
    pub fn encryption(&self) -> &FileEncryptionInfo {
        &self.encryption
    }

    /// The name to save the file under: always a bare name (no separator,
    /// no `..`, no control character, never `.`), with characters that are
    /// legal but misleading on a file system (bidirectional controls, `:`,
    /// a leading `.`, trailing dots and spaces) replaced or dropped.
    pub fn safe_file_name(&self) -> String {
        fields::safe_file_name(&self.file_name)
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        let mut enc = Vec::with_capacity(90);
        self.encryption.encode(&mut enc);
        let mut out = Vec::with_capacity(enc.len() + self.file_name.len() + 40);
        proto::put_bytes(&mut out, 1, self.file_name.as_bytes());
        proto::put_bytes(&mut out, 2, self.content_type.as_bytes());
        proto::put_bytes(&mut out, 3, &enc);
        out
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<FileMetadata, FileInfoError> {
        let mut r = Reader::new(bytes);
        let mut seen = Fields::default();
        let (mut name, mut content_type, mut encryption) = (None, None, None);
        while let Some((n, wire)) = r.field()? {
            match n {
                1..=3 => {
                    seen.known(n, wire, WireType::Len)?;
                    let v = r.len_delimited()?;
                    match n {
                        1 => name = Some(utf8(v, "file_name")?),
                        2 => content_type = Some(utf8(v, "content_type")?),
                        _ => encryption = Some(FileEncryptionInfo::decode(v)?),
                    }
                }
                _ => seen.unknown(&mut r, wire)?,
            }
        }
        // FILE-PB-7 (and FILE-INFO-3, FILE-INFO-4 on the strings).
        let encryption = encryption.ok_or(FileInfoError::MissingField("encryption_info"))?;
        FileMetadata::new(
            name.unwrap_or_default(),
            content_type.unwrap_or_default(),
            encryption,
        )
    }
}

fn utf8(v: &[u8], what: &'static str) -> Result<String, FileInfoError> {
    String::from_utf8(v.to_vec()).map_err(|_| FileInfoError::Utf8(what))
}
