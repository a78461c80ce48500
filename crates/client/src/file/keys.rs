//! The two keys of one file and the AES-256-CTR keystream (RCC.16 Annex
//! C.2; rcc16-deployed.md §1).
//!
//! `k_enc || k_hmac = HKDF-SHA256(salt = π, ikm = K, info, L = 64)`, where
//! `info` is the original file name (or [`INFO_GROUP_ICON`] /
//! [`INFO_GROUP_SUBJECT`] for the group metadata). The counter block is
//! `IV(12) || u32 BE counter` starting at 0.

use aws_lc_rs::cipher::{AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
use aws_lc_rs::hkdf::{self, HKDF_SHA256};
use aws_lc_rs::hmac::{self, HMAC_SHA256};
use aws_lc_rs::iv::FixedLength;
use crosslock_wire::file_info::FileKey;
use zeroize::Zeroize;

use super::IV_LEN;
use super::error::FileError;

/// HKDF-Extract salt (RCC.16 Annex C.2, rcc16-deployed.md §1): the 256-bit
/// hex representation of π, `3243f6a8…c4e6c8`, as 32 raw bytes.
pub const HKDF_SALT: [u8; 32] = [
    0x32, 0x43, 0xf6, 0xa8, 0x88, 0x5a, 0x30, 0x8d, 0x31, 0x31, 0x98, 0xa2, 0xe0, 0x37, 0x07, 0x34,
    0x4a, 0x40, 0x93, 0x82, 0x22, 0x99, 0xf3, 0x1d, 0x00, 0x82, 0xef, 0xa9, 0x8e, 0xc4, 0xe6, 0xc8,
];
/// HKDF info of the encrypted group icon (RCC.16 §9.7.1.4).
pub const INFO_GROUP_ICON: &[u8] = b"group_icon";
/// HKDF info of the encrypted group subject (RCC.16 §9.7.1.5).
pub const INFO_GROUP_SUBJECT: &[u8] = b"group_subject";

const AES_BLOCK: usize = 16;
/// Blocks a 32-bit counter can number.
const MAX_BLOCKS: u64 = 1 << 32;

/// 64 bytes of HKDF output.
struct Okm64;

impl hkdf::KeyType for Okm64 {
    fn len(&self) -> usize {
        64
    }
}

/// `k_enc` as an AES-256-CTR key and `k_mac` as an HMAC-SHA256 key.
pub(crate) struct FileKeys {
    enc: EncryptingKey,
    mac: hmac::Key,
}

impl std::fmt::Debug for FileKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKeys(<redacted>)")
    }
}

impl FileKeys {
    /// Derives `k_enc || k_hmac` from the file key and the HKDF info (the
    /// original file name, UTF-8; never `encrypted_file`).
    pub(crate) fn derive(key: &FileKey, info: &[u8]) -> Result<FileKeys, FileError> {
        let mut okm = [0u8; 64];
        hkdf::Salt::new(HKDF_SHA256, &HKDF_SALT)
            .extract(key.as_bytes())
            .expand(&[info], Okm64)
            .and_then(|o| o.fill(&mut okm))
            .map_err(|_| FileError::Crypto)?;
        let (k_enc, k_mac) = okm.split_at(32);
        let enc = UnboundCipherKey::new(&AES_256, k_enc)
            .and_then(EncryptingKey::ctr)
            .map_err(|_| FileError::Crypto);
        let mac = hmac::Key::new(HMAC_SHA256, k_mac);
        okm.zeroize();
        Ok(FileKeys { enc: enc?, mac })
    }

    /// A fresh HMAC-SHA256 computation under `k_mac`.
    pub(crate) fn mac(&self) -> hmac::Context {
        hmac::Context::with_key(&self.mac)
    }

    /// XORs `buf` with the AES-256-CTR keystream that starts at byte
    /// `offset` of the ciphertext. Block `n` uses `IV || u32 BE n` (Annex
    /// C.2: `IV' = IV || 00000000`); AWS-LC increments the whole 128-bit
    /// block, which is the same as long as `n` fits 32 bits, so a range
    /// past block 2^32 - 1 is refused ([`FileError::CounterOverflow`])
    /// instead of carrying into the IV. Any offset can be reached without
    /// the bytes before it.
    pub(crate) fn apply_keystream(
        &self,
        iv: &[u8; IV_LEN],
        offset: u64,
        buf: &mut [u8],
    ) -> Result<(), FileError> {
        // FILE-C2-2.
        let end = offset
            .checked_add(buf.len() as u64)
            .ok_or(FileError::CounterOverflow)?;
        if end.div_ceil(AES_BLOCK as u64) > MAX_BLOCKS {
            return Err(FileError::CounterOverflow);
        }
        let mut counter_block = [0u8; 16];
        counter_block[..IV_LEN].copy_from_slice(iv);
        let start = u128::from_be_bytes(counter_block);
        let mut block = u128::from(offset / AES_BLOCK as u64);
        let skip = (offset % AES_BLOCK as u64) as usize;
        let mut rest = buf;
        if skip != 0 {
            // The tail of a partly used block: one keystream block by hand.
            let mut keystream = [0u8; AES_BLOCK];
            self.ctr(start.wrapping_add(block), &mut keystream)?;
            let n = rest.len().min(AES_BLOCK - skip);
            let (head, tail) = rest.split_at_mut(n);
            head.iter_mut()
                .zip(&keystream[skip..])
                .for_each(|(b, k)| *b ^= k);
            keystream.zeroize();
            rest = tail;
            block += 1;
        }
        if rest.is_empty() {
            return Ok(());
        }
        self.ctr(start.wrapping_add(block), rest)
    }

    fn ctr(&self, counter: u128, buf: &mut [u8]) -> Result<(), FileError> {
        let context = EncryptionContext::Iv128(FixedLength::from(counter.to_be_bytes()));
        self.enc
            .less_safe_encrypt(buf, context)
            .map(|_| ())
            .map_err(|_| FileError::Crypto)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> FileKeys {
        FileKeys::derive(&FileKey::from_bytes([7; 32]), b"a.txt").unwrap()
    }

    #[test]
    fn keystream_at_any_offset_matches_one_pass() {
        let keys = keys();
        let iv = [0xff; IV_LEN];
        let mut whole = vec![0u8; 300];
        keys.apply_keystream(&iv, 0, &mut whole).unwrap();
        for (from, to) in [
            (0, 1),
            (1, 17),
            (15, 16),
            (16, 48),
            (5, 300),
            (33, 35),
            (17, 17),
        ] {
            let mut part = vec![0u8; to - from];
            keys.apply_keystream(&iv, from as u64, &mut part).unwrap();
            assert_eq!(part, whole[from..to], "{from}..{to}");
        }
        // Applying it twice is the identity.
        keys.apply_keystream(&iv, 0, &mut whole).unwrap();
        assert_eq!(whole, vec![0u8; 300]);
    }

    #[test]
    fn derivation_is_deterministic_and_key_dependent() {
        let iv = [1; IV_LEN];
        let stream = |k: &FileKeys| {
            let mut b = [0u8; 32];
            k.apply_keystream(&iv, 0, &mut b).unwrap();
            b
        };
        let other = FileKeys::derive(&FileKey::from_bytes([8; 32]), b"a.txt").unwrap();
        let renamed = FileKeys::derive(&FileKey::from_bytes([7; 32]), b"b.txt").unwrap();
        assert_eq!(stream(&keys()), stream(&keys()));
        assert_ne!(stream(&keys()), stream(&other));
        assert_ne!(stream(&keys()), stream(&renamed));
        let tag = |k: &FileKeys| k.mac().sign().as_ref().to_vec();
        assert_eq!(tag(&keys()), tag(&keys()));
        assert_ne!(tag(&keys()), tag(&other));
        assert_eq!(format!("{:?}", keys()), "FileKeys(<redacted>)");
    }

    #[test]
    fn the_32_bit_counter_never_wraps() {
        let keys = keys();
        let iv = [0xab; IV_LEN];
        let last = (MAX_BLOCKS - 1) * AES_BLOCK as u64;
        // The last block the counter can number is fine ...
        keys.apply_keystream(&iv, last, &mut [0u8; 16]).unwrap();
        // ... one byte past it is refused, as is an offset overflow.
        for (offset, len) in [(last, 17), (last + 16, 1), (u64::MAX, 2)] {
            assert!(matches!(
                keys.apply_keystream(&iv, offset, &mut vec![0u8; len]),
                Err(FileError::CounterOverflow)
            ));
        }
    }
}
