//! Encrypting a file in one streaming pass.

use std::io::{Read, Write};

use crosslock_wire::file_info::FileKey;

use super::error::FileError;
use super::keys::FileKeys;
use super::padme::padme;
use super::{BUFFER_SIZE, IV_LEN, MAX_FILE_SIZE, TAG_LEN, read_full};

/// What [`encrypt_file`] wrote: the numbers a FileInfo carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedFile {
    /// The plaintext size in bytes.
    pub size: u64,
    /// The blob size in bytes: `16 + padme(size) + 32`.
    pub encrypted_size: u64,
}

/// Encrypts everything `reader` yields into `writer` as
/// `IV || AES-256-CTR(k_enc, IV, plaintext || zeros) || HMAC-SHA256(k_mac,
/// IV || ciphertext)`, with the plaintext zero-padded to its Padmé length
/// (RCC.16 file transfer, GUIDE §4).
///
/// One pass, one [`BUFFER_SIZE`] buffer: memory does not grow with the
/// file. `key` must be fresh for this file and `iv` random (both from the
/// device's random source, see [`super::prepare_file`]). On error, `writer`
/// may hold a partial blob: discard it.
pub fn encrypt_file<R: Read, W: Write>(
    mut reader: R,
    mut writer: W,
    key: &FileKey,
    iv: [u8; IV_LEN],
) -> Result<EncryptedFile, FileError> {
    let keys = FileKeys::derive(key)?;
    let mut mac = keys.mac();
    mac.update(&iv);
    writer.write_all(&iv)?;

    let mut buf = vec![0u8; BUFFER_SIZE];
    // Bytes of padded plaintext encrypted so far.
    let mut offset = 0u64;
    // Once the reader is exhausted: the plaintext size and the padded size.
    let mut ended: Option<(u64, u64)> = None;
    loop {
        let mut filled = 0;
        if ended.is_none() {
            filled = read_full(&mut reader, &mut buf)?;
            let total = offset + filled as u64;
            if total > MAX_FILE_SIZE {
                return Err(FileError::TooLarge);
            }
            if filled < buf.len() {
                ended = Some((total, padme(total).ok_or(FileError::TooLarge)?));
            }
        }
        if let Some((_, padded)) = ended {
            // Zero padding after the content, in the same buffer.
            let room = (buf.len() - filled) as u64;
            let zeros = room.min(padded - offset - filled as u64) as usize;
            buf[filled..filled + zeros].fill(0);
            filled += zeros;
        }
        if filled == 0 {
            break;
        }
        let chunk = &mut buf[..filled];
        keys.apply_keystream(&iv, offset, chunk)?;
        mac.update(chunk);
        writer.write_all(chunk)?;
        offset += filled as u64;
    }
    let Some((size, padded)) = ended else {
        return Err(FileError::Crypto); // the loop only ends after the reader did
    };
    debug_assert_eq!(offset, padded);
    let tag = mac.sign();
    writer.write_all(tag.as_ref())?;
    writer.flush()?;
    Ok(EncryptedFile {
        size,
        encrypted_size: IV_LEN as u64 + padded + TAG_LEN as u64,
    })
}
