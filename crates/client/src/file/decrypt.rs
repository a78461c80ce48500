//! Decrypting a file: authenticate everything first, then decrypt.

use std::io::{Read, Seek, SeekFrom, Write};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use crosslock_wire::file_info::{FileInfo, FileKey};

use super::error::FileError;
use super::keys::FileKeys;
use super::{BUFFER_SIZE, IV_LEN, TAG_LEN, check_sizes, read_full};

/// What a blob must be, usually taken from its FileInfo
/// (`DecryptParams::from(&info)`).
#[derive(Debug, Clone, Copy)]
pub struct DecryptParams<'a> {
    /// The file key.
    pub key: &'a FileKey,
    /// The plaintext size.
    pub size: u64,
    /// The blob size.
    pub encrypted_size: u64,
}

impl<'a> From<&'a FileInfo> for DecryptParams<'a> {
    fn from(info: &'a FileInfo) -> Self {
        DecryptParams {
            key: info.key(),
            size: info.size(),
            encrypted_size: info.encrypted_size(),
        }
    }
}

/// Decrypts the blob that `reader` holds from its current position to its
/// end into `writer`, and returns the plaintext size.
///
/// Two passes, constant memory (RCC.16 file transfer, GUIDE §4; no
/// unauthenticated plaintext is ever released):
/// 1. the blob's length must be `params.encrypted_size` (which must fit
///    `params.size`); then one read of the whole blob checks the
///    HMAC-SHA256 tag over `IV || ciphertext` (compared in constant time)
///    and that the padding decrypts to zeros;
/// 2. only then a second read decrypts the first `size` bytes of
///    ciphertext into `writer`.
///
/// When any check fails nothing has been written. The blob must not change
/// between the passes (keep downloads in app-private storage): pass 2 does
/// not authenticate again.
pub fn decrypt_file<'a, R: Read + Seek, W: Write>(
    mut reader: R,
    mut writer: W,
    params: impl Into<DecryptParams<'a>>,
) -> Result<u64, FileError> {
    let params = params.into();
    let padded = check_sizes(params.size, params.encrypted_size)?;
    let expected = params.encrypted_size;
    let start = reader.stream_position()?;
    let end = reader.seek(SeekFrom::End(0))?;
    // FILE-BLOB-2: exactly the encrypted size.
    let actual = end.saturating_sub(start);
    if actual < expected {
        return Err(FileError::Truncated { expected, actual });
    }
    if actual > expected {
        return Err(FileError::WrongSize { expected, actual });
    }
    reader.seek(SeekFrom::Start(start))?;
    let keys = FileKeys::derive(params.key)?;
    let mut buf = vec![0u8; BUFFER_SIZE];
    let iv = authenticate(&mut reader, &keys, &params, padded, &mut buf)?;

    // Pass 2: decrypt the content; the padding was checked in pass 1.
    reader.seek(SeekFrom::Start(start + IV_LEN as u64))?;
    let mut done = 0u64;
    while done < params.size {
        let want = (params.size - done).min(buf.len() as u64) as usize;
        let chunk = &mut buf[..want];
        if read_full(&mut reader, chunk)? < want {
            // The blob shrank between the passes.
            return Err(FileError::Truncated {
                expected,
                actual: IV_LEN as u64 + done,
            });
        }
        keys.apply_keystream(&iv, done, chunk)?;
        writer.write_all(chunk)?;
        done += want as u64;
    }
    writer.flush()?;
    Ok(params.size)
}

/// Pass 1: reads the whole blob once; returns its IV once the tag and the
/// padding both check out.
fn authenticate<R: Read>(
    reader: &mut R,
    keys: &FileKeys,
    params: &DecryptParams<'_>,
    padded: u64,
    buf: &mut [u8],
) -> Result<[u8; IV_LEN], FileError> {
    let expected = params.encrypted_size;
    // Blob offsets: [0, IV) IV, [IV, tag_at) ciphertext, [tag_at, end) tag;
    // the padding is [pad_at, tag_at).
    let iv_len = IV_LEN as u64;
    let tag_at = iv_len + padded;
    let pad_at = iv_len + params.size;
    let mut iv = [0u8; IV_LEN];
    let mut tag = [0u8; TAG_LEN];
    let mut mac = keys.mac();
    let mut scratch = vec![0u8; buf.len()];
    let mut pad_bits = 0u8;
    let mut at = 0u64;
    while at < expected {
        let want = (expected - at).min(buf.len() as u64) as usize;
        let chunk = &mut buf[..want];
        let got = read_full(reader, chunk)?;
        if got < want {
            return Err(FileError::Truncated {
                expected,
                actual: at + got as u64,
            });
        }
        let end = at + want as u64;
        // Slices of this chunk that fall in [from, to) of the blob.
        let part = |from: u64, to: u64| {
            let lo = from.clamp(at, end);
            let hi = to.clamp(at, end);
            ((lo - at) as usize, (hi - at) as usize, lo)
        };
        let (lo, hi, from) = part(0, iv_len);
        if lo < hi {
            iv[from as usize..][..hi - lo].copy_from_slice(&chunk[lo..hi]);
        }
        let (lo, hi, _) = part(0, tag_at);
        mac.update(&chunk[lo..hi]);
        let (lo, hi, from) = part(pad_at, tag_at);
        if lo < hi {
            // The IV is complete: padding starts after it.
            let pad = &mut scratch[..hi - lo];
            pad.copy_from_slice(&chunk[lo..hi]);
            keys.apply_keystream(&iv, from - iv_len, pad)?;
            pad_bits |= pad.iter().fold(0, |acc, b| acc | b);
        }
        let (lo, hi, from) = part(tag_at, expected);
        if lo < hi {
            tag[(from - tag_at) as usize..][..hi - lo].copy_from_slice(&chunk[lo..hi]);
        }
        at = end;
    }
    // FILE-BLOB-3 (constant time), FILE-BLOB-4; FILE-BLOB-5: the caller
    // writes nothing until this returns.
    if verify_slices_are_equal(mac.sign().as_ref(), &tag).is_err() {
        return Err(FileError::BadTag);
    }
    if pad_bits != 0 {
        return Err(FileError::BadPadding);
    }
    Ok(iv)
}
