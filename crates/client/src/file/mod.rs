//! Encrypted files: RCC.16 Annex C.2 / C.3 exactly as deployed
//! (rcc16-deployed.md §1, §2).
//!
//! A file is encrypted on the device under a fresh 32-byte key `K`; only
//! the ciphertext is uploaded, under the visible name [`UPLOAD_FILE_NAME`];
//! the key, IV, tag and length travel inside MLS in a protobuf
//! [`FileInfo`] (`message/mls-rcs-file-info`), and the download URL in an
//! RCS FT-HTTP [`Descriptor`] sent right after it as a second MLS message.
//!
//! # Annex C.2
//!
//! ```text
//! K                 32 random bytes, one file only
//! k_enc || k_hmac   = HKDF-SHA256(salt = π (32 bytes, HKDF_SALT), ikm = K,
//!                                 info = original file name, L = 64)
//! IV                12 random bytes; counter block IV || u32 BE counter from 0
//! padded            = M || 0x00 * p || u32 BE |M| || u32 BE p,  p = Padmé(|M|) - |M|
//! ciphertext        = AES-256-CTR(k_enc, IV || 00000000, padded)   (the upload)
//! tag               = HMAC-SHA256(k_hmac, IV || ciphertext)        (32 bytes)
//! ```
//!
//! The HKDF info is the original file name in UTF-8 (the FileMetadata's
//! `file_name`), never `encrypted_file`; the group icon and subject use
//! [`INFO_GROUP_ICON`] and [`INFO_GROUP_SUBJECT`]. A receiver checks, in
//! the order of Annex C.3: length ≥ 8, the tag (constant time), the
//! trailer's lengths against the hint, the ciphertext length and Padmé,
//! then that the pad is zero (see [`decrypt_file`]).
//!
//! # Memory and speed
//!
//! Encryption is one pass (the length trailer is at the end); decryption
//! reads the ciphertext once to check the tag (known up front from the
//! FileInfo), then the pad, then decrypts: both through fixed
//! [`BUFFER_SIZE`] buffers, so memory does not depend on the file size.
//! AES-CTR and HMAC-SHA256 come from AWS-LC. `benches/file.rs` measures
//! both directions.

mod attach;
mod decrypt;
mod encrypt;
mod error;
mod keys;
mod padme;
mod prepare;

pub use attach::{Attachment, ReceivedFile};
pub use crosslock_wire::file_info::{FileInfo, FileMetadata, Slot};
pub use crosslock_wire::ft_http::{Descriptor, Download, UPLOAD_FILE_NAME};
pub use decrypt::{DecryptParams, decrypt_file};
pub use encrypt::{EncryptedFile, encrypt_file};
pub use error::FileError;
pub use keys::{HKDF_SALT, INFO_GROUP_ICON, INFO_GROUP_SUBJECT};
pub use padme::padme;
pub use prepare::{PreparedFile, prepare_file};

pub(crate) use attach::{pair_on_receive, received_file};
pub(crate) use prepare::send_file;

use std::io::{Cursor, ErrorKind, Read};

use crosslock_wire::file_info::FileKey;

/// IV length in bytes (Annex C.2: 96 bits).
pub const IV_LEN: usize = crosslock_wire::file_info::IV_LEN;
/// Tag length in bytes (HMAC-SHA256, all 32 bytes).
pub const TAG_LEN: usize = crosslock_wire::file_info::TAG_LEN;
/// The length trailer: `u32 BE messageLength || u32 BE paddingLength`.
pub const TRAILER_LEN: usize = 8;
/// The I/O buffer size; each direction holds one or two of these.
pub const BUFFER_SIZE: usize = 64 * 1024;
/// The largest file, in bytes: `messageLength < 2^31` (Annex C.3).
pub const MAX_FILE_SIZE: u64 = (1 << 31) - 1;
/// The longest ciphertext: `Padmé(2^31 - 1) + 8 = 2^31 + 8` (Padmé rounds
/// lengths of 2^30 … 2^31 - 1 up to multiples of 2^25). 2^27 + 1 AES
/// blocks, far under the 2^32 a 32-bit counter numbers.
pub const MAX_CIPHERTEXT_SIZE: u64 = (1 << 31) + TRAILER_LEN as u64;

/// The ciphertext (upload) size for a plaintext of `size` bytes:
/// `Padmé(size) + 8`, or `None` over [`MAX_FILE_SIZE`].
pub fn ciphertext_size(size: u64) -> Option<u64> {
    if size > MAX_FILE_SIZE {
        return None;
    }
    padme(size)?.checked_add(TRAILER_LEN as u64)
}

/// Encrypts a small plaintext held in memory (a group subject, an icon):
/// [`encrypt_file`] over a slice. Returns the ciphertext and its IV and tag.
pub fn encrypt_bytes(
    plaintext: &[u8],
    key: &FileKey,
    info: &[u8],
    iv: [u8; IV_LEN],
) -> Result<(Vec<u8>, EncryptedFile), FileError> {
    let mut out = Vec::with_capacity(plaintext.len() + plaintext.len() / 8 + TRAILER_LEN);
    let encrypted = encrypt_file(plaintext, &mut out, key, info, iv)?;
    Ok((out, encrypted))
}

/// Decrypts a ciphertext held in memory: [`decrypt_file`] over a slice,
/// with the same checks in the same order.
pub fn decrypt_bytes<'a>(
    ciphertext: &[u8],
    params: impl Into<DecryptParams<'a>>,
) -> Result<Vec<u8>, FileError> {
    let mut out = Vec::new();
    decrypt_file(Cursor::new(ciphertext), &mut out, params)?;
    Ok(out)
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
