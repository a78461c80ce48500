//! What the directory says about a number: the participant keys of its
//! active devices and the fingerprints of their credentials, or a
//! revocation marker once no device is left.
//!
//! Encoding (the akd value), big-endian, canonical:
//!
//! ```text
//! version   u8 = 1
//! kind      u8   0 = revoked, 1 = active
//! (active)  count u16 (1..=MAX_KEYS), then `count` entries sorted by
//!           (device_id, public_key), no duplicates:
//!             device_id       u8 length + UTF-8 (1..=64 bytes)
//!             public_key      u16 length + bytes (MLS signature key, 1..=4096)
//!             credential      32 bytes: SHA-256 of the leaf certificate (DER)
//! ```
//!
//! Decoding refuses anything else, including trailing bytes, so one
//! binding has exactly one encoding.

use sha2::{Digest, Sha256};

use crate::error::KtError;

const VERSION: u8 = 1;
const REVOKED: u8 = 0;
const ACTIVE: u8 = 1;
/// Most keys one number may bind (devices × suites).
pub const MAX_KEYS: usize = 256;
const MAX_DEVICE_ID: usize = 64;
const MAX_PUBLIC_KEY: usize = 4096;

/// One device key bound to a number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BoundKey {
    /// The device instance id.
    pub device_id: String,
    /// The participant (MLS signature) public key.
    pub public_key: Vec<u8>,
    /// SHA-256 of the credential's leaf certificate (DER).
    pub credential_sha256: [u8; 32],
}

impl BoundKey {
    /// A key with the fingerprint of `leaf_certificate_der`.
    pub fn new(
        device_id: impl Into<String>,
        public_key: Vec<u8>,
        leaf_certificate_der: &[u8],
    ) -> Self {
        BoundKey {
            device_id: device_id.into(),
            public_key,
            credential_sha256: Sha256::digest(leaf_certificate_der).into(),
        }
    }
}

/// A number's binding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Binding {
    /// The keys of the number's active devices (sorted, at least one).
    Active(Vec<BoundKey>),
    /// The number has no active device: every key was revoked.
    Revoked,
}

impl Binding {
    /// The binding for `keys` (sorted and deduplicated); [`Binding::Revoked`]
    /// when there are none.
    pub fn of(mut keys: Vec<BoundKey>) -> Result<Self, KtError> {
        keys.sort();
        keys.dedup();
        if keys.is_empty() {
            return Ok(Binding::Revoked);
        }
        if keys.len() > MAX_KEYS {
            return Err(KtError::malformed(
                "binding",
                format!("{} keys, at most {MAX_KEYS}", keys.len()),
            ));
        }
        for k in &keys {
            check_key(k)?;
        }
        Ok(Binding::Active(keys))
    }

    /// The bound keys (none when revoked).
    pub fn keys(&self) -> &[BoundKey] {
        match self {
            Binding::Active(keys) => keys,
            Binding::Revoked => &[],
        }
    }

    /// Whether `device_id` is bound to `public_key` with the credential
    /// whose leaf certificate is `leaf_certificate_der`.
    pub fn contains(
        &self,
        device_id: &str,
        public_key: &[u8],
        leaf_certificate_der: &[u8],
    ) -> bool {
        let fingerprint: [u8; 32] = Sha256::digest(leaf_certificate_der).into();
        self.keys().iter().any(|k| {
            k.device_id == device_id
                && k.public_key == public_key
                && k.credential_sha256 == fingerprint
        })
    }

    /// The canonical encoding (the akd value).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        match self {
            Binding::Revoked => out.push(REVOKED),
            Binding::Active(keys) => {
                out.push(ACTIVE);
                out.extend_from_slice(&(keys.len() as u16).to_be_bytes());
                for k in keys {
                    out.push(k.device_id.len() as u8);
                    out.extend_from_slice(k.device_id.as_bytes());
                    out.extend_from_slice(&(k.public_key.len() as u16).to_be_bytes());
                    out.extend_from_slice(&k.public_key);
                    out.extend_from_slice(&k.credential_sha256);
                }
            }
        }
        out
    }

    /// Decodes a canonical encoding; anything else is refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, KtError> {
        let mut r = Reader(bytes);
        if r.u8()? != VERSION {
            return Err(KtError::malformed("binding", "unknown version"));
        }
        let binding = match r.u8()? {
            REVOKED => Binding::Revoked,
            ACTIVE => {
                let count = usize::from(r.u16()?);
                if count == 0 || count > MAX_KEYS {
                    return Err(KtError::malformed("binding", format!("{count} keys")));
                }
                let mut keys = Vec::with_capacity(count);
                for _ in 0..count {
                    let id_len = usize::from(r.u8()?);
                    let device_id = std::str::from_utf8(r.take(id_len)?)
                        .map_err(|_| KtError::malformed("binding", "device id is not UTF-8"))?
                        .to_owned();
                    let key_len = usize::from(r.u16()?);
                    let public_key = r.take(key_len)?.to_vec();
                    let credential_sha256: [u8; 32] = r
                        .take(32)?
                        .try_into()
                        .map_err(|_| KtError::malformed("binding", "short fingerprint"))?;
                    let key = BoundKey {
                        device_id,
                        public_key,
                        credential_sha256,
                    };
                    check_key(&key)?;
                    if keys.last().is_some_and(|prev: &BoundKey| prev >= &key) {
                        return Err(KtError::malformed("binding", "keys not sorted or repeated"));
                    }
                    keys.push(key);
                }
                Binding::Active(keys)
            }
            _ => return Err(KtError::malformed("binding", "unknown kind")),
        };
        if !r.0.is_empty() {
            return Err(KtError::malformed("binding", "trailing bytes"));
        }
        Ok(binding)
    }
}

fn check_key(k: &BoundKey) -> Result<(), KtError> {
    if k.device_id.is_empty() || k.device_id.len() > MAX_DEVICE_ID {
        return Err(KtError::malformed(
            "binding",
            "device id must be 1 to 64 bytes",
        ));
    }
    if k.public_key.is_empty() || k.public_key.len() > MAX_PUBLIC_KEY {
        return Err(KtError::malformed(
            "binding",
            "public key must be 1 to 4096 bytes",
        ));
    }
    Ok(())
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], KtError> {
        if self.0.len() < n {
            return Err(KtError::malformed("binding", "truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, KtError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, KtError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, k: u8) -> BoundKey {
        BoundKey::new(id, vec![k; 65], &[k; 300])
    }

    #[test]
    fn round_trips_and_is_canonical() {
        let b = Binding::of(vec![key("b", 2), key("a", 1), key("a", 1)]).unwrap();
        assert_eq!(b.keys().len(), 2);
        assert_eq!(b.keys()[0].device_id, "a");
        let bytes = b.encode();
        assert_eq!(Binding::decode(&bytes).unwrap(), b);
        assert_eq!(Binding::of(vec![]).unwrap(), Binding::Revoked);
        assert_eq!(
            Binding::decode(&Binding::Revoked.encode()).unwrap(),
            Binding::Revoked
        );
        assert!(b.contains("a", &[1; 65], &[1; 300]));
        assert!(!b.contains("a", &[1; 65], &[2; 300]));
        assert!(!b.contains("b", &[1; 65], &[1; 300]));
    }

    #[test]
    fn refuses_non_canonical_encodings() {
        let b = Binding::of(vec![key("a", 1), key("b", 2)]).unwrap();
        let bytes = b.encode();
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(Binding::decode(&trailing).is_err());
        // Swap the two entries: unsorted.
        let swapped = Binding::Active(vec![key("b", 2), key("a", 1)]).encode();
        assert!(Binding::decode(&swapped).is_err());
        let repeated = Binding::Active(vec![key("a", 1), key("a", 1)]).encode();
        assert!(Binding::decode(&repeated).is_err());
        for cut in 0..bytes.len() {
            assert!(
                Binding::decode(&bytes[..cut]).is_err(),
                "prefix {cut} accepted"
            );
        }
        assert!(Binding::decode(&[2, 0]).is_err());
        assert!(Binding::decode(&[1, 7]).is_err());
        assert!(Binding::decode(&[1, 1, 0, 0]).is_err());
    }
}
