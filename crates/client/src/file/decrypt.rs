//! Decrypting a file: authenticate everything first, then decrypt (RCC.16
//! Annex C.3, rcc16-deployed.md §1 "decrypt checks").

use std::io::{Read, Seek, SeekFrom, Write};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use crosslock_wire::file_info::{FileKey, FileMetadata};

use super::error::FileError;
use super::keys::FileKeys;
use super::padme::padme;
use super::{BUFFER_SIZE, IV_LEN, MAX_CIPHERTEXT_SIZE, TAG_LEN, TRAILER_LEN, read_full};

/// What opens one ciphertext, usually taken from its FileMetadata
/// (`DecryptParams::from(&metadata)`).
#[derive(Debug, Clone, Copy)]
pub struct DecryptParams<'a> {
    /// The content key `K`.
    pub key: &'a FileKey,
    /// The HKDF info: the original file name (FileMetadata `file_name`), or
    /// `group_icon` / `group_subject`.
    pub info: &'a [u8],
    /// The 12-byte IV.
    pub iv: &'a [u8; IV_LEN],
    /// The expected 32-byte tag.
    pub tag: &'a [u8; TAG_LEN],
    /// The `file_length_hint`, checked against `messageLength` when present.
    pub length_hint: Option<u32>,
}

impl<'a> From<&'a FileMetadata> for DecryptParams<'a> {
    fn from(m: &'a FileMetadata) -> Self {
        let e = m.encryption();
        DecryptParams {
            key: &e.key,
            info: m.file_name().as_bytes(),
            iv: &e.iv,
            tag: &e.tag,
            length_hint: e.length_hint,
        }
    }
}

/// Decrypts the ciphertext that `reader` holds from its current position
/// to its end into `writer`, and returns the plaintext size.
///
/// The checks of Annex C.3, in its order, each its own error (FILE-C3-1 to
/// FILE-C3-8, docs/validation-rules.md); nothing is written unless all
/// pass:
/// 1. the ciphertext is at least 8 bytes ([`FileError::TooShort`]); a
///    ciphertext longer than any file we accept is refused before it is
///    read ([`FileError::TooLarge`], a resource bound);
/// 2. pass 1 reads it once: `HMAC-SHA256(k_hmac, IV || ciphertext)` equals
///    the tag, compared in constant time ([`FileError::BadTag`]);
/// 3. the last 8 bytes decrypt to `messageLength || paddingLength`;
///    `messageLength < 2^31` ([`FileError::LengthTooLarge`]);
/// 4. `messageLength == file_length_hint` when there is a hint
///    ([`FileError::HintMismatch`]);
/// 5. `len == 8 + messageLength + paddingLength`
///    ([`FileError::LengthMismatch`]);
/// 6. `paddingLength == Padmé(messageLength) - messageLength`
///    ([`FileError::BadPaddingLength`]);
/// 7. pass 2 reads the pad only: it decrypts to zeros, checked without an
///    early exit ([`FileError::BadPadding`]);
/// 8. only then pass 3 decrypts the content into `writer`.
///
/// Memory stays at a few [`BUFFER_SIZE`] buffers whatever the size. The
/// ciphertext must not change between the passes (keep downloads in
/// app-private storage): the later passes do not authenticate again.
pub fn decrypt_file<'a, R: Read + Seek, W: Write>(
    mut reader: R,
    mut writer: W,
    params: impl Into<DecryptParams<'a>>,
) -> Result<u64, FileError> {
    let params = params.into();
    let start = reader.stream_position()?;
    let end = reader.seek(SeekFrom::End(0))?;
    let len = end.saturating_sub(start);
    // FILE-C3-1.
    if len < TRAILER_LEN as u64 {
        return Err(FileError::TooShort(len));
    }
    if len > MAX_CIPHERTEXT_SIZE {
        return Err(FileError::TooLarge);
    }
    reader.seek(SeekFrom::Start(start))?;
    let keys = FileKeys::derive(params.key, params.info)?;
    let mut buf = vec![0u8; BUFFER_SIZE];

    // Pass 1, FILE-C3-2: the tag over IV || ciphertext, in constant time.
    let mut trailer = authenticate(&mut reader, &keys, &params, len, &mut buf)?;

    // FILE-C3-3: the trailer.
    keys.apply_keystream(params.iv, len - TRAILER_LEN as u64, &mut trailer)?;
    let [a0, a1, a2, a3, b0, b1, b2, b3] = trailer;
    let message_len = u32::from_be_bytes([a0, a1, a2, a3]);
    let padding_len = u32::from_be_bytes([b0, b1, b2, b3]);
    if message_len >= 1 << 31 {
        return Err(FileError::LengthTooLarge(message_len));
    }
    // FILE-C3-4.
    if let Some(hint) = params.length_hint
        && hint != message_len
    {
        return Err(FileError::HintMismatch {
            hint,
            length: message_len,
        });
    }
    // FILE-C3-5.
    let (m, p) = (u64::from(message_len), u64::from(padding_len));
    if len != TRAILER_LEN as u64 + m + p {
        return Err(FileError::LengthMismatch {
            ciphertext: len,
            message: message_len,
            padding: padding_len,
        });
    }
    // FILE-C3-6.
    if padme(m).map(|padded| padded - m) != Some(p) {
        return Err(FileError::BadPaddingLength {
            message: message_len,
            padding: padding_len,
        });
    }

    // Pass 2, FILE-C3-7: the pad decrypts to zeros (no early exit).
    reader.seek(SeekFrom::Start(start + m))?;
    let mut pad_bits = 0u8;
    let mut done = 0u64;
    while done < p {
        let want = (p - done).min(buf.len() as u64) as usize;
        let chunk = &mut buf[..want];
        read_exact(&mut reader, chunk)?;
        keys.apply_keystream(params.iv, m + done, chunk)?;
        pad_bits |= chunk.iter().fold(0, |acc, b| acc | b);
        done += want as u64;
    }
    if pad_bits != 0 {
        return Err(FileError::BadPadding);
    }

    // Pass 3, FILE-C3-8: the content.
    reader.seek(SeekFrom::Start(start))?;
    let mut done = 0u64;
    while done < m {
        let want = (m - done).min(buf.len() as u64) as usize;
        let chunk = &mut buf[..want];
        read_exact(&mut reader, chunk)?;
        keys.apply_keystream(params.iv, done, chunk)?;
        writer.write_all(chunk)?;
        done += want as u64;
    }
    writer.flush()?;
    Ok(m)
}

/// Pass 1: reads the `len` bytes of ciphertext once; returns its last 8
/// bytes (still encrypted) once the tag checks out.
fn authenticate<R: Read>(
    reader: &mut R,
    keys: &FileKeys,
    params: &DecryptParams<'_>,
    len: u64,
    buf: &mut [u8],
) -> Result<[u8; TRAILER_LEN], FileError> {
    let mut mac = keys.mac();
    mac.update(params.iv);
    let trailer_at = len - TRAILER_LEN as u64;
    let mut trailer = [0u8; TRAILER_LEN];
    let mut at = 0u64;
    while at < len {
        let want = (len - at).min(buf.len() as u64) as usize;
        let chunk = &mut buf[..want];
        read_exact(reader, chunk)?;
        mac.update(chunk);
        let end = at + want as u64;
        if end > trailer_at {
            let lo = trailer_at.max(at);
            trailer[(lo - trailer_at) as usize..(end - trailer_at) as usize]
                .copy_from_slice(&chunk[(lo - at) as usize..]);
        }
        at = end;
    }
    if verify_slices_are_equal(mac.sign().as_ref(), params.tag).is_err() {
        return Err(FileError::BadTag);
    }
    Ok(trailer)
}

/// Fills `buf`, or fails with [`FileError::Changed`] when the ciphertext
/// shrank under us.
fn read_exact<R: Read>(reader: &mut R, buf: &mut [u8]) -> Result<(), FileError> {
    if read_full(reader, buf)? < buf.len() {
        return Err(FileError::Changed);
    }
    Ok(())
}
