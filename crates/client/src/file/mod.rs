//! Encrypted files (RCC.16 file transfer, GUIDE §4).
//!
//! A file is encrypted on the device under a fresh key, uploaded to the
//! content server as an opaque blob named [`UPLOAD_FILE_NAME`], and its key
//! travels to the recipients only inside MLS, in a
//! [`FileInfo`](crosslock_wire::file_info::FileInfo)
//! (`message/mls-rcs-file-info`).
//!
//! # Scheme
//!
//! ```text
//! K               32 random bytes, one file only
//! k_enc || k_mac  = HKDF-SHA256(salt = HKDF_SALT, ikm = K, info = HKDF_INFO, L = 64)
//! IV              16 random bytes: the initial AES-CTR counter block
//! padded          = plaintext || 0x00 * (padme(size) - size)
//! ciphertext      = AES-256-CTR(k_enc, IV, padded)
//! tag             = HMAC-SHA256(k_mac, IV || ciphertext)
//! blob            = IV || ciphertext || tag          (16 + padme(size) + 32 bytes)
//! ```
//!
//! The true size, the blob size and K travel in the FileInfo. A receiver
//! checks the blob's length, the tag (in constant time) and the zero
//! padding in a first pass, and decrypts only afterwards
//! ([`decrypt_file`]). The tag under a key only the conversation knows is
//! what makes a swapped blob fail; no separate hash of the blob is carried
//! (it would only cost a third pass over every byte).
//!
//! # Labels: Crosslock's choice
//!
//! The HKDF labels [`HKDF_SALT`] (`"crosslock/rcs-mls-file/v1"`) and
//! [`HKDF_INFO`] (`"RCS MLS file encryption"`), the 16-byte IV and the blob
//! layout above are Crosslock's own. We could not consult the RCC.16 text
//! for this part. A third-party RCC.16 client (LineageOS Messaging,
//! `RccFileCrypto`) describes RCC.16 Annex C.2 differently: salt = the
//! first 256 bits of π in hex (`3243f6a8…`), info = the original file
//! name, a 96-bit IV with a zero 32-bit counter, the sizes as two `u32`
//! after the padding inside the ciphertext, the tag carried in the FileInfo
//! rather than in the blob, and a protobuf FileInfo. Files are therefore
//! not interoperable with other RCC.16 clients; docs/client-core.md
//! ("Files") records this.
//!
//! # Memory and speed
//!
//! Both directions stream through fixed [`BUFFER_SIZE`] buffers, so memory
//! does not depend on the file size; AES-CTR and HMAC-SHA256 come from
//! AWS-LC (AES-NI / VAES and SHA-NI where the CPU has them).

mod decrypt;
mod encrypt;
mod error;
mod keys;
mod padme;
mod prepare;

pub use decrypt::{DecryptParams, decrypt_file};
pub use encrypt::{EncryptedFile, encrypt_file};
pub use error::FileError;
pub use keys::{HKDF_INFO, HKDF_SALT};
pub use padme::padme;
pub use prepare::{PreparedFile, prepare_file};

use std::io::{ErrorKind, Read};

use crosslock_wire::file_info::FileInfo;

use crate::error::ClientError;

/// The file name every upload carries, whatever the real name (RCC.16 file
/// transfer): the content server learns neither name nor type.
pub const UPLOAD_FILE_NAME: &str = "encrypted_file";
/// IV length in bytes (one AES block).
pub const IV_LEN: usize = 16;
/// Tag length in bytes (HMAC-SHA256).
pub const TAG_LEN: usize = 32;
/// The I/O buffer size; each direction holds one or two of these.
pub const BUFFER_SIZE: usize = 64 * 1024;
/// The largest file accepted, in bytes (1 TiB).
pub const MAX_FILE_SIZE: u64 = 1 << 40;

/// The blob size for a plaintext of `size` bytes: `16 + padme(size) + 32`,
/// or `None` over [`MAX_FILE_SIZE`].
pub fn encrypted_size(size: u64) -> Option<u64> {
    if size > MAX_FILE_SIZE {
        return None;
    }
    padme(size)?.checked_add((IV_LEN + TAG_LEN) as u64)
}

/// Checks that a FileInfo's sizes (and its thumbnail's) fit the format.
pub fn check_info(info: &FileInfo) -> Result<(), FileError> {
    check_sizes(info.size(), info.encrypted_size())?;
    if let Some(thumbnail) = info.thumbnail() {
        check_sizes(thumbnail.size(), thumbnail.encrypted_size())?;
    }
    Ok(())
}

/// FILE-BLOB-1: checks a plaintext size against a blob size; returns the
/// padded size.
fn check_sizes(size: u64, encrypted_size: u64) -> Result<u64, FileError> {
    match encrypted_size_checked(size) {
        Some((padded, blob)) if blob == encrypted_size => Ok(padded),
        _ => Err(FileError::InconsistentSizes {
            size,
            encrypted_size,
        }),
    }
}

fn encrypted_size_checked(size: u64) -> Option<(u64, u64)> {
    let blob = encrypted_size(size)?;
    Some((blob - (IV_LEN + TAG_LEN) as u64, blob))
}

/// RCV-CONTENT-3: decodes a received FileInfo body; refused like any other
/// malformed content (strict decoding, then sizes that fit the format).
pub(crate) fn decode_received(body: &[u8]) -> Result<FileInfo, ClientError> {
    let info = FileInfo::decode(body).map_err(|e| ClientError::Content(e.to_string()))?;
    check_info(&info).map_err(|e| ClientError::Content(e.to_string()))?;
    Ok(info)
}

/// Reads until `buf` is full or the reader is exhausted; returns the bytes
/// read. Interrupted reads are retried.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests;
