//! The two keys of one file and the AES-256-CTR keystream.
//!
//! `k_enc || k_mac = HKDF-SHA256(file key)` expanded to 64 bytes (RCC.16
//! file transfer, GUIDE §4), with Crosslock's salt and info labels
//! ([`HKDF_SALT`], [`HKDF_INFO`]; see the module docs of [`super`]).

use aws_lc_rs::cipher::{AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
use aws_lc_rs::hkdf::{self, HKDF_SHA256};
use aws_lc_rs::hmac::{self, HMAC_SHA256};
use aws_lc_rs::iv::FixedLength;
use crosslock_wire::file_info::FileKey;
use zeroize::Zeroize;

use super::IV_LEN;
use super::error::FileError;

/// HKDF-Extract salt: Crosslock's choice, versioned.
pub const HKDF_SALT: &[u8] = b"crosslock/rcs-mls-file/v1";
/// HKDF-Expand info: Crosslock's choice.
pub const HKDF_INFO: &[u8] = b"RCS MLS file encryption";

const AES_BLOCK: usize = 16;

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
    /// Derives `k_enc || k_mac` from the file key.
    pub(crate) fn derive(key: &FileKey) -> Result<FileKeys, FileError> {
        let mut okm = [0u8; 64];
        hkdf::Salt::new(HKDF_SHA256, HKDF_SALT)
            .extract(key.as_bytes())
            .expand(&[HKDF_INFO], Okm64)
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
    /// `offset` of the ciphertext. The initial counter block is the IV; block
    /// `n` uses IV + n as a 128-bit big-endian number (the OpenSSL and
    /// AWS-LC counter), so any offset can be reached without the bytes
    /// before it.
    pub(crate) fn apply_keystream(
        &self,
        iv: &[u8; IV_LEN],
        offset: u64,
        buf: &mut [u8],
    ) -> Result<(), FileError> {
        let start = u128::from_be_bytes(*iv);
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
        FileKeys::derive(&FileKey::from_bytes([7; 32])).unwrap()
    }

    #[test]
    fn keystream_at_any_offset_matches_one_pass() {
        let keys = keys();
        let iv = [0xff; IV_LEN]; // the counter wraps within the first block
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
        let other = FileKeys::derive(&FileKey::from_bytes([8; 32])).unwrap();
        assert_eq!(stream(&keys()), stream(&keys()));
        assert_ne!(stream(&keys()), stream(&other));
        let tag = |k: &FileKeys| k.mac().sign().as_ref().to_vec();
        assert_eq!(tag(&keys()), tag(&keys()));
        assert_ne!(tag(&keys()), tag(&other));
        assert_eq!(format!("{:?}", keys()), "FileKeys(<redacted>)");
    }
}
