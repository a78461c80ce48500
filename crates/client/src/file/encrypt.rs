//! Encrypting a file in one streaming pass (RCC.16 Annex C.2,
//! rcc16-deployed.md §1).

use std::io::{Read, Write};

use crosslock_wire::file_info::FileKey;

use super::error::FileError;
use super::keys::FileKeys;
use super::padme::padme;
use super::{BUFFER_SIZE, IV_LEN, MAX_FILE_SIZE, TAG_LEN, TRAILER_LEN, read_full};

/// What [`encrypt_file`] produced besides the ciphertext it wrote: the
/// numbers and bytes a FileEncryptionInfo carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedFile {
    /// The plaintext size in bytes (`messageLength`, the
    /// `file_length_hint`).
    pub size: u32,
    /// The ciphertext size in bytes: `Padmé(size) + 8`. This is the whole
    /// upload.
    pub ciphertext_size: u64,
    /// The 12-byte IV.
    pub iv: [u8; IV_LEN],
    /// `HMAC-SHA256(k_hmac, IV || ciphertext)`, all 32 bytes.
    pub tag: [u8; TAG_LEN],
}

/// Encrypts everything `reader` yields into `writer` (Annex C.2):
///
/// ```text
/// k_enc || k_hmac = HKDF-SHA256(salt = π, ikm = key, info, L = 64)
/// padded          = M || 0x00 * (Padmé(|M|) - |M|) || u32 BE |M| || u32 BE padding
/// ciphertext      = AES-256-CTR(k_enc, IV || 00000000, padded)   -> writer
/// tag             = HMAC-SHA256(k_hmac, IV || ciphertext)       -> returned
/// ```
///
/// `info` is the original file name in UTF-8 (what the FileMetadata's
/// `file_name` carries), or [`super::INFO_GROUP_ICON`] /
/// [`super::INFO_GROUP_SUBJECT`]. Only the ciphertext is written: the IV and
/// the tag travel in the FileInfo. One pass, one [`BUFFER_SIZE`] buffer:
/// the length trailer goes at the end, so the size need not be known up
/// front. `key` must be fresh for this file and `iv` random (both from the
/// device's random source, see [`super::prepare_file`]). Files of 2^31
/// bytes or more are refused ([`FileError::TooLarge`]: `messageLength` must
/// stay under 2^31, Annex C.3). On error, `writer` may hold a partial
/// ciphertext: discard it.
pub fn encrypt_file<R: Read, W: Write>(
    mut reader: R,
    mut writer: W,
    key: &FileKey,
    info: &[u8],
    iv: [u8; IV_LEN],
) -> Result<EncryptedFile, FileError> {
    let keys = FileKeys::derive(key, info)?;
    let mut mac = keys.mac();
    mac.update(&iv);

    let mut buf = vec![0u8; BUFFER_SIZE];
    // Bytes of padded plaintext (trailer included) encrypted so far.
    let mut offset = 0u64;
    // Once the reader is exhausted: the padded plaintext with its trailer,
    // laid out after the content as zeros, then the trailer.
    let mut tail: Option<Tail> = None;
    loop {
        let mut filled = 0;
        if tail.is_none() {
            filled = read_full(&mut reader, &mut buf)?;
            let total = offset + filled as u64;
            // FILE-C2-1.
            if total > MAX_FILE_SIZE {
                return Err(FileError::TooLarge);
            }
            if filled < buf.len() {
                tail = Some(Tail::new(total)?);
            }
        }
        if let Some(t) = &tail {
            filled += t.fill(offset + filled as u64, &mut buf[filled..]);
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
    let Some(t) = tail else {
        return Err(FileError::Crypto); // the loop only ends after the reader did
    };
    debug_assert_eq!(offset, t.total);
    writer.flush()?;
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(mac.sign().as_ref());
    Ok(EncryptedFile {
        size: t.size,
        ciphertext_size: t.total,
        iv,
        tag,
    })
}

/// What follows the content: the zero pad and the 8-byte length trailer.
struct Tail {
    /// `messageLength`.
    size: u32,
    /// Where the trailer starts: `Padmé(size)`.
    trailer_at: u64,
    /// The padded plaintext's length: `Padmé(size) + 8`.
    total: u64,
    trailer: [u8; TRAILER_LEN],
}

impl Tail {
    fn new(size: u64) -> Result<Tail, FileError> {
        let message_len = u32::try_from(size).map_err(|_| FileError::TooLarge)?;
        let padded = padme(size).ok_or(FileError::TooLarge)?;
        let padding_len = u32::try_from(padded - size).map_err(|_| FileError::TooLarge)?;
        let mut trailer = [0u8; TRAILER_LEN];
        trailer[..4].copy_from_slice(&message_len.to_be_bytes());
        trailer[4..].copy_from_slice(&padding_len.to_be_bytes());
        Ok(Tail {
            size: message_len,
            trailer_at: padded,
            total: padded + TRAILER_LEN as u64,
            trailer,
        })
    }

    /// Writes the bytes of the tail from position `at` of the padded
    /// plaintext into `room`; returns how many.
    fn fill(&self, at: u64, room: &mut [u8]) -> usize {
        let n = (self.total.saturating_sub(at)).min(room.len() as u64) as usize;
        let out = &mut room[..n];
        out.fill(0);
        // The part of [at, at + n) that falls in the trailer.
        let lo = at.max(self.trailer_at);
        let hi = (at + n as u64).min(self.total);
        if lo < hi {
            let t = &self.trailer[(lo - self.trailer_at) as usize..(hi - self.trailer_at) as usize];
            out[(lo - at) as usize..(hi - at) as usize].copy_from_slice(t);
        }
        n
    }
}
