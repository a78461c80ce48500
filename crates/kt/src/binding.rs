//! What the directory says about a number: the participant keys of its
//! active devices and the fingerprints of their credentials, or a
//! revocation marker once no device is left.
//!
//! Encoding (the akd value), big-endian, canonical:
//!
//! ```text
//! version   u8 = 1 or 2
//! kind      u8   0 = revoked, 1 = active
//! (active)  count u16 (1..=MAX_KEYS), then `count` entries sorted by
//!           (device_id, public_key, credential, suites), no duplicates:
//!             device_id       u8 length + UTF-8 (1..=64 bytes)
//!             public_key      u16 length + bytes (MLS signature key, 1..=4096)
//!             credential      32 bytes: SHA-256 of the leaf certificate (DER)
//!   (v2 only) suites          u8 count (0..=MAX_SUITES), then `count` MLS
//!                             cipher suite code points, u16, strictly
//!                             ascending: the suites the key serves
//! ```
//!
//! Version 1 (bindings published before suites were recorded) carries no
//! suites: its keys decode with an empty suite list, "suites unknown"
//! (KT-SUITE-1). A binding is encoded as version 2 exactly when one of its
//! keys lists a suite, and version 1 otherwise (a revocation is always
//! version 1), so decoding refuses a version 2 without any suite.
//!
//! Decoding refuses anything else, including trailing bytes, so one
//! binding has exactly one encoding.

use crosslock_credential::KeyAlgorithm;
use sha2::{Digest, Sha256};

use crate::error::KtError;

/// MLS cipher suite 0x0001 (X25519, AES-128-GCM, Ed25519).
pub const SUITE_X25519: u16 = 0x0001;
/// MLS cipher suite 0x0002 (P-256, AES-128-GCM, P-256).
pub const SUITE_P256: u16 = 0x0002;
/// The post-quantum hybrid suite 0x004F
/// `MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519` (X-Wing KEM,
/// draft-ietf-mls-pq-ciphersuites), Ed25519 leaves.
pub const SUITE_MLKEM768X25519: u16 = 0x004F;

/// Whether a suite's key exchange resists a quantum adversary. The
/// retired private code point 0xFE4C is not one any more: a binding
/// recorded while a device served it is not a downgrade once the device
/// serves 0x004F instead (SUITE-PQ-1).
pub fn is_post_quantum_suite(suite: u16) -> bool {
    suite == SUITE_MLKEM768X25519
}

/// The suites a Crosslock device serves with a participant key of
/// `algorithm` (KT-SUITE-1): every Crosslock device makes KeyPackages for
/// every suite whose leaf signs with the key's algorithm, so the KDS lists
/// these for a credential it certified. P-384 is never a participant key.
pub fn suites_served_by(algorithm: KeyAlgorithm) -> &'static [u16] {
    match algorithm {
        KeyAlgorithm::Ed25519 => &[SUITE_X25519, SUITE_MLKEM768X25519],
        KeyAlgorithm::EcdsaP256 => &[SUITE_P256],
        KeyAlgorithm::EcdsaP384 => &[],
    }
}

const VERSION: u8 = 1;
const VERSION_SUITES: u8 = 2;
const REVOKED: u8 = 0;
const ACTIVE: u8 = 1;
/// Most keys one number may bind (devices × suites).
pub const MAX_KEYS: usize = 256;
const MAX_DEVICE_ID: usize = 64;
const MAX_PUBLIC_KEY: usize = 4096;
/// Most suites one bound key may list.
pub const MAX_SUITES: usize = 16;

/// One device key bound to a number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BoundKey {
    /// The device instance id.
    pub device_id: String,
    /// The participant (MLS signature) public key.
    pub public_key: Vec<u8>,
    /// SHA-256 of the credential's leaf certificate (DER).
    pub credential_sha256: [u8; 32],
    /// The MLS cipher suites (code points, ascending) the key serves;
    /// empty when unknown (a version 1 binding). KT-SUITE-1.
    pub suites: Vec<u16>,
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
            suites: Vec::new(),
        }
    }

    /// The same key, serving `suites` (MLS cipher suite code points;
    /// sorted and deduplicated).
    pub fn serving(mut self, suites: impl IntoIterator<Item = u16>) -> Self {
        let mut suites: Vec<u16> = suites.into_iter().collect();
        suites.sort_unstable();
        suites.dedup();
        self.suites = suites;
        self
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

    /// Whether any key lists its suites (a version 2 binding).
    pub fn lists_suites(&self) -> bool {
        self.keys().iter().any(|k| !k.suites.is_empty())
    }

    /// The suites the keys of `device_id` serve, together; `None` when the
    /// binding does not say (no key of that device lists any: a version 1
    /// binding, or a device that is not bound).
    pub fn suites_of(&self, device_id: &str) -> Option<std::collections::BTreeSet<u16>> {
        let suites: std::collections::BTreeSet<u16> = self
            .keys()
            .iter()
            .filter(|k| k.device_id == device_id)
            .flat_map(|k| k.suites.iter().copied())
            .collect();
        (!suites.is_empty()).then_some(suites)
    }

    /// The canonical encoding (the akd value).
    pub fn encode(&self) -> Vec<u8> {
        let with_suites = self.lists_suites();
        let mut out = vec![if with_suites { VERSION_SUITES } else { VERSION }];
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
                    if with_suites {
                        out.push(k.suites.len() as u8);
                        for s in &k.suites {
                            out.extend_from_slice(&s.to_be_bytes());
                        }
                    }
                }
            }
        }
        out
    }

    /// Decodes a canonical encoding; anything else is refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, KtError> {
        let mut r = Reader(bytes);
        let with_suites = match r.u8()? {
            VERSION => false,
            VERSION_SUITES => true,
            _ => return Err(KtError::malformed("binding", "unknown version")),
        };
        let binding = match r.u8()? {
            REVOKED if !with_suites => Binding::Revoked,
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
                    let mut suites = Vec::new();
                    if with_suites {
                        let n = usize::from(r.u8()?);
                        for _ in 0..n {
                            suites.push(r.u16()?);
                        }
                    }
                    let key = BoundKey {
                        device_id,
                        public_key,
                        credential_sha256,
                        suites,
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
        if with_suites && !binding.lists_suites() {
            return Err(KtError::malformed(
                "binding",
                "version 2 without any suite (encode it as version 1)",
            ));
        }
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
    if k.suites.len() > MAX_SUITES {
        return Err(KtError::malformed("binding", "more than 16 suites"));
    }
    if k.suites.windows(2).any(|w| w[0] >= w[1]) {
        return Err(KtError::malformed(
            "binding",
            "suites not ascending or repeated",
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

    #[test]
    fn suites_round_trip_and_version_1_decodes_as_unknown() {
        // A binding published before suites were recorded (version 1).
        let old = Binding::of(vec![key("a", 1), key("b", 2)]).unwrap();
        let old_bytes = old.encode();
        assert_eq!(old_bytes[0], 1);
        let decoded = Binding::decode(&old_bytes).unwrap();
        assert!(!decoded.lists_suites());
        assert_eq!(decoded.suites_of("a"), None);
        // Suites are listed: version 2, round-trips, one encoding.
        let new = Binding::of(vec![
            key("a", 1).serving([0x004F, 0x0001, 0x0001]),
            key("a", 3).serving([0x0002]),
            key("b", 2),
        ])
        .unwrap();
        let bytes = new.encode();
        assert_eq!(bytes[0], 2);
        let decoded = Binding::decode(&bytes).unwrap();
        assert_eq!(decoded, new);
        assert_eq!(decoded.keys()[0].suites, vec![0x0001, 0x004F]);
        assert_eq!(
            decoded.suites_of("a"),
            Some([0x0001, 0x0002, 0x004F].into_iter().collect())
        );
        assert_eq!(decoded.suites_of("b"), None);
        for cut in 0..bytes.len() {
            assert!(Binding::decode(&bytes[..cut]).is_err(), "prefix {cut}");
        }
        // A version 2 without any suite, or a revocation in version 2, is
        // not canonical.
        let mut no_suites = old_bytes.clone();
        no_suites[0] = 2;
        assert!(Binding::decode(&no_suites).is_err());
        assert!(Binding::decode(&[2, 0]).is_err());
        // Unsorted or repeated suites are refused.
        let mut unsorted = key("a", 1).serving([1]);
        unsorted.suites = vec![0x004F, 0x0001];
        assert!(Binding::of(vec![unsorted.clone()]).is_err());
        assert!(Binding::decode(&Binding::Active(vec![unsorted]).encode()).is_err());
        let mut many = key("a", 1);
        many.suites = (1..=17).collect();
        assert!(Binding::of(vec![many]).is_err());
    }
}
