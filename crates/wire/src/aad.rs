//! The `authenticated_data` of an RCC.16 PrivateMessage.
//!
//! GSMA RCC.16 binds every MLS application message to the transport message
//! that carries it by putting this structure in the PrivateMessage's
//! authenticated data (RFC 9420 §6.3.1), in TLS presentation language
//! (RFC 9420 §2.1), as deployed clients send it (fact sheet §3a, measured
//! on 6 Google and 1 Apple captures):
//!
//! ```text
//! struct {
//!     uint16 version;             // = 1
//!     opaque message_id<V>;       // equals the transport (imdn) Message-ID
//!     uint32 era;                 // GroupContext extension 0xF001, not the epoch
//!     ResendLink resend;          // one byte 0x00 when this is not a resend
//! } AuthenticatedData;
//! ```
//!
//! Integers are big-endian and `<V>` is a [`crate::varint`] length prefix.
//! The decoder consumes the whole input; anything left over is refused.
//!
//! ## The resend link (an inference, both readings decoded)
//!
//! How deployed clients link a resend to its original was never observed
//! on the wire. The trailing slot is read as a one-byte tag:
//!
//! - `0x00`: not a resend;
//! - `0x01 ‖ opaque original_id<V>`: RCC.16's `optional<T>` reading
//!   ([`Resend::Spec`]), which earlier Crosslock versions sent;
//! - `0x02 ‖ uint32 A ‖ opaque B<V> ‖ opaque C<V> ‖ opaque D<V>` with D 64
//!   bytes: LineageOS's reading of Google's parser, which compares the tag
//!   with 2 and checks `HMAC-SHA256(key = D[0..32], data = original id) ==
//!   D[32..64]` ([`Resend::Deployed`]).
//!
//! Any other tag is refused. **Crosslock sends the `0x02` form**
//! ([`Resend::deployed`]): A = the era the original was sent in, B = the
//! original's message id, C empty, D = a fresh random 32-byte key ‖
//! HMAC-SHA256(key, original id). The meaning of A and C is our reading;
//! the HMAC check is the one LineageOS describes.

use hmac::{KeyInit, Mac};
use sha2::Sha256;
use thiserror::Error;

use crate::varint::{self, VarintError};

/// The longest message id (and resend field) accepted, in bytes.
pub const MAX_MESSAGE_ID_LEN: usize = 256;
/// The length of the `0x02` link's D field: key ‖ HMAC-SHA256.
pub const RESEND_LINK_LEN: usize = 64;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The RCC.16 PrivateMessage authenticated data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthenticatedData {
    /// The transport message id; the receiver checks it equals the CPIM
    /// `imdn.Message-ID` (RCC.16 §7.5.3.1).
    pub message_id: Vec<u8>,
    /// The conversation's era (RCC.16 GroupContext extension 0xF001).
    pub era: u32,
    /// For a resend after a negative delivery receipt, the link to the
    /// original message (RCC.16 recovery).
    pub resend: Option<Resend>,
}

/// The link from a resend to its original (module docs: both readings).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resend {
    /// `0x01 ‖ opaque original_id<V>`: RCC.16's `optional<T>` reading.
    Spec {
        /// The original message's id.
        original_id: Vec<u8>,
    },
    /// `0x02 ‖ uint32 a ‖ opaque b<V> ‖ opaque c<V> ‖ opaque d<V>`:
    /// LineageOS's reading of the deployed form.
    Deployed {
        /// The era the original was sent in (our reading).
        a: u32,
        /// The original message's id.
        b: Vec<u8>,
        /// Unknown; empty when Crosslock sends it, up to
        /// [`MAX_MESSAGE_ID_LEN`] bytes accepted.
        c: Vec<u8>,
        /// A 32-byte key ‖ HMAC-SHA256(key, original id).
        d: [u8; RESEND_LINK_LEN],
    },
}

impl Resend {
    /// The `0x02` link Crosslock sends: `era` of the original, its id, an
    /// empty C, and `key` ‖ HMAC-SHA256(`key`, id). `key` must be fresh
    /// randomness (the caller's RNG).
    pub fn deployed(original_era: u32, original_id: &[u8], key: [u8; 32]) -> Resend {
        let mut d = [0u8; RESEND_LINK_LEN];
        d[..32].copy_from_slice(&key);
        d[32..].copy_from_slice(&link_mac(&key, original_id).finalize().into_bytes());
        Resend::Deployed {
            a: original_era,
            b: original_id.to_vec(),
            c: Vec::new(),
            d,
        }
    }

    /// The id of the original message: `original_id`, or `b`.
    pub fn original_id(&self) -> &[u8] {
        match self {
            Resend::Spec { original_id } => original_id,
            Resend::Deployed { b, .. } => b,
        }
    }

    /// Whether the link names `original_id`: for [`Resend::Spec`] the id
    /// equals it; for [`Resend::Deployed`] `b` equals it and the HMAC in
    /// `d` verifies over it (in constant time).
    pub fn check_link(&self, original_id: &[u8]) -> bool {
        match self {
            Resend::Spec { original_id: id } => id.as_slice() == original_id,
            Resend::Deployed { b, d, .. } => {
                b.as_slice() == original_id
                    && link_mac(&d[..32], original_id)
                        .verify_slice(&d[32..])
                        .is_ok()
            }
        }
    }
}

fn link_mac(key: &[u8], original_id: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; 32 bytes here.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(original_id);
    mac
}

/// Why authenticated data was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum AadError {
    /// The version is not [`AuthenticatedData::VERSION`].
    #[error("unsupported authenticated data version {0}")]
    UnsupportedVersion(u16),
    /// The input ended early.
    #[error("authenticated data is truncated")]
    Truncated,
    /// Bytes follow the structure.
    #[error("trailing bytes after authenticated data")]
    TrailingBytes,
    /// A vector length was not minimally encoded (RFC 9420 §2.1.2).
    #[error("vector length is not minimally encoded")]
    NonMinimalLength,
    /// A vector length was 2^30 or more (RFC 9420 §2.1.2).
    #[error("vector length is too large")]
    LengthTooLarge,
    /// The resend tag is not 0, 1 or 2.
    #[error("unknown resend tag {0}")]
    UnknownResendTag(u8),
    /// The `0x02` link's D field is not 64 bytes.
    #[error("resend link field is {0} bytes, not 64")]
    ResendLinkLength(usize),
    /// The message id (or the original's id) is empty.
    #[error("empty message id")]
    EmptyMessageId,
    /// A message id or resend field is longer than [`MAX_MESSAGE_ID_LEN`].
    #[error("message id is longer than 256 bytes")]
    MessageIdTooLong,
}

impl From<VarintError> for AadError {
    fn from(e: VarintError) -> Self {
        match e {
            VarintError::Truncated => AadError::Truncated,
            VarintError::NonMinimal => AadError::NonMinimalLength,
            VarintError::TooLarge => AadError::LengthTooLarge,
        }
    }
}

impl AuthenticatedData {
    /// The only version defined by RCC.16.
    pub const VERSION: u16 = 1;

    /// Encodes the structure.
    ///
    /// Never fails: every length this type can hold below 2^30 bytes has a
    /// prefix. A vector of 2^30 bytes or more (impossible for a valid id) is
    /// written with the invalid `0b11` prefix, which every decoder refuses.
    /// [`Self::validate`] tells in advance whether the peer will accept it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + 4 + self.message_id.len() + 4 + 1);
        out.extend_from_slice(&Self::VERSION.to_be_bytes());
        put_vector(&self.message_id, &mut out);
        out.extend_from_slice(&self.era.to_be_bytes());
        match &self.resend {
            None => out.push(0),
            Some(Resend::Spec { original_id }) => {
                out.push(1);
                put_vector(original_id, &mut out);
            }
            Some(Resend::Deployed { a, b, c, d }) => {
                out.push(2);
                out.extend_from_slice(&a.to_be_bytes());
                put_vector(b, &mut out);
                put_vector(c, &mut out);
                put_vector(d, &mut out);
            }
        }
        out
    }

    /// Decodes the structure from exactly `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<AuthenticatedData, AadError> {
        let mut r = Reader { rest: bytes };
        let version = u16::from_be_bytes(r.array()?);
        if version != Self::VERSION {
            return Err(AadError::UnsupportedVersion(version));
        }
        let message_id = check_id(r.vector()?)?.to_vec();
        let era = u32::from_be_bytes(r.array()?);
        let [tag] = r.array()?;
        // WIRE-AAD-1: the resend slot is 00, 01 id<V> or 02 u32 B<V> C<V> D<V> (D 64 bytes).
        let resend = match tag {
            0 => None,
            1 => Some(Resend::Spec {
                original_id: check_id(r.vector()?)?.to_vec(),
            }),
            2 => {
                let a = u32::from_be_bytes(r.array()?);
                let b = check_id(r.vector()?)?.to_vec();
                let c = check_len(r.vector()?)?.to_vec();
                let d_bytes = r.vector()?;
                let d = d_bytes
                    .try_into()
                    .map_err(|_| AadError::ResendLinkLength(d_bytes.len()))?;
                Some(Resend::Deployed { a, b, c, d })
            }
            other => return Err(AadError::UnknownResendTag(other)),
        };
        if !r.rest.is_empty() {
            return Err(AadError::TrailingBytes);
        }
        Ok(AuthenticatedData {
            message_id,
            era,
            resend,
        })
    }

    /// Checks the rules [`Self::decode`] applies to the ids.
    pub fn validate(&self) -> Result<(), AadError> {
        check_id(&self.message_id)?;
        match &self.resend {
            None => {}
            Some(Resend::Spec { original_id }) => {
                check_id(original_id)?;
            }
            Some(Resend::Deployed { b, c, .. }) => {
                check_id(b)?;
                check_len(c)?;
            }
        }
        Ok(())
    }
}

fn check_id(id: &[u8]) -> Result<&[u8], AadError> {
    if id.is_empty() {
        Err(AadError::EmptyMessageId)
    } else {
        check_len(id)
    }
}

fn check_len(field: &[u8]) -> Result<&[u8], AadError> {
    if field.len() > MAX_MESSAGE_ID_LEN {
        Err(AadError::MessageIdTooLong)
    } else {
        Ok(field)
    }
}

fn put_vector(data: &[u8], out: &mut Vec<u8>) {
    if varint::encode_len(data.len(), out).is_err() {
        out.extend_from_slice(&[0xff; 4]);
    }
    out.extend_from_slice(data);
}

/// A cursor over untrusted input that never reads past the end.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AadError> {
        if n > self.rest.len() {
            return Err(AadError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], AadError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn vector(&mut self) -> Result<&'a [u8], AadError> {
        let (len, used) = varint::decode_len(self.rest)?;
        self.take(used)?;
        // The length is checked against the remaining input before any copy.
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::test_util::hex;

    #[test]
    fn known_encoding_without_resend() {
        // version 1 | len 3 "abc" | era 7 | absent
        let bytes = hex("0001 03 616263 00000007 00");
        let aad = AuthenticatedData {
            message_id: b"abc".to_vec(),
            era: 7,
            resend: None,
        };
        assert_eq!(aad.encode(), bytes);
        assert_eq!(AuthenticatedData::decode(&bytes), Ok(aad));
    }

    #[test]
    fn known_encoding_with_resend_and_two_byte_length() {
        // A 64-byte id needs the two-byte prefix 0x4040.
        let id = vec![b'x'; 64];
        let mut bytes = hex("0001 4040");
        bytes.extend_from_slice(&id);
        bytes.extend_from_slice(&hex("ffffffff 01 02 6f31"));
        let aad = AuthenticatedData {
            message_id: id,
            era: u32::MAX,
            resend: Some(Resend::Spec {
                original_id: b"o1".to_vec(),
            }),
        };
        assert_eq!(aad.encode(), bytes);
        assert_eq!(AuthenticatedData::decode(&bytes), Ok(aad));
    }

    /// The `0x02` link Crosslock sends. D's second half computed with
    /// Python: `hmac.new(bytes([0x0b] * 32), b"o1", hashlib.sha256)`.
    const O1_MAC: &str = "b5373dabb6daad9cc023773949063a539b14c6ab37cc55e25c93c0d6a577fe33";

    fn deployed_vector() -> Vec<u8> {
        // version 1 | len 2 "n1" | era 2 | tag 02 | A = era 1 |
        // B = len 2 "o1" | C = empty | D = len 64 (two-byte prefix 4040):
        // key 0b*32 ‖ HMAC.
        hex(&format!(
            "0001 02 6e31 00000002 02 00000001 02 6f31 00 4040 {} {O1_MAC}",
            "0b".repeat(32)
        ))
    }

    #[test]
    fn known_encoding_of_the_deployed_resend_form() {
        let bytes = deployed_vector();
        let aad = AuthenticatedData {
            message_id: b"n1".to_vec(),
            era: 2,
            resend: Some(Resend::deployed(1, b"o1", [0x0b; 32])),
        };
        assert_eq!(aad.encode(), bytes);
        let back = AuthenticatedData::decode(&bytes).unwrap();
        assert_eq!(back, aad);
        let Some(Resend::Deployed { a, b, c, d }) = &back.resend else {
            panic!("not the deployed form: {back:?}");
        };
        assert_eq!((*a, b.as_slice(), c.as_slice()), (1, &b"o1"[..], &b""[..]));
        assert_eq!(d[..32], [0x0b; 32]);
        assert_eq!(d[32..], hex(O1_MAC)[..]);
        let link = back.resend.unwrap();
        assert_eq!(link.original_id(), b"o1");
        assert!(link.check_link(b"o1"));
        assert!(!link.check_link(b"o2"));
    }

    #[test]
    fn deployed_links_with_a_foreign_c_decode() {
        // A peer may put something in C; it is carried, not interpreted.
        let bytes = hex(&format!(
            "0001 02 6e31 00000002 02 00000001 02 6f31 03 636363 4040 {} {O1_MAC}",
            "0b".repeat(32)
        ));
        let aad = AuthenticatedData::decode(&bytes).unwrap();
        assert!(matches!(&aad.resend, Some(Resend::Deployed { c, .. }) if c == b"ccc"));
        assert!(aad.resend.as_ref().unwrap().check_link(b"o1"));
        assert_eq!(aad.encode(), bytes);
    }

    #[test]
    fn forged_links_fail_the_check() {
        let genuine = Resend::deployed(1, b"o1", [0x0b; 32]);
        // B names another message, the MAC still over "o1".
        let Resend::Deployed { a, c, d, .. } = genuine.clone() else {
            unreachable!()
        };
        let renamed = Resend::Deployed {
            a,
            b: b"o2".to_vec(),
            c: c.clone(),
            d,
        };
        assert_eq!(renamed.original_id(), b"o2");
        assert!(!renamed.check_link(b"o2"));
        // One bit of the MAC flipped.
        let mut bad = d;
        bad[63] ^= 1;
        let flipped = Resend::Deployed {
            a,
            b: b"o1".to_vec(),
            c,
            d: bad,
        };
        assert!(!flipped.check_link(b"o1"));
        let spec = Resend::Spec {
            original_id: b"o1".to_vec(),
        };
        assert!(spec.check_link(b"o1"));
        assert!(!spec.check_link(b"o"));
    }

    #[test]
    fn refuses_forged_and_broken_input() {
        let good = hex("0001 03 616263 00000007 00");
        let cases: Vec<(Vec<u8>, AadError)> = vec![
            (
                hex("0002 03 616263 00000007 00"),
                AadError::UnsupportedVersion(2),
            ),
            (
                hex("0000 03 616263 00000007 00"),
                AadError::UnsupportedVersion(0),
            ),
            (hex("0001 03 6162"), AadError::Truncated),
            (hex("00"), AadError::Truncated),
            (vec![], AadError::Truncated),
            (hex("0001 03 616263 000000"), AadError::Truncated),
            (hex("0001 03 616263 00000007"), AadError::Truncated),
            (
                hex("0001 03 616263 00000007 00 00"),
                AadError::TrailingBytes,
            ),
            (
                hex("0001 4003 616263 00000007 00"),
                AadError::NonMinimalLength,
            ),
            (hex("0001 c0000000 00000007 00"), AadError::LengthTooLarge),
            (hex("0001 bfffffff 00"), AadError::Truncated),
            (
                hex("0001 03 616263 00000007 03"),
                AadError::UnknownResendTag(3),
            ),
            (
                hex("0001 03 616263 00000007 01 00"),
                AadError::EmptyMessageId,
            ),
            (hex("0001 00 00000007 00"), AadError::EmptyMessageId),
            (
                hex("0001 03 616263 00000007 01 05 6f31"),
                AadError::Truncated,
            ),
            (
                hex("0001 03 616263 00000007 ff"),
                AadError::UnknownResendTag(0xff),
            ),
            // The 0x02 form: cut inside A, an empty B, a 63-byte D, no D,
            // a non-minimal length for D, bytes after D.
            (hex("0001 03 616263 00000007 02 0000"), AadError::Truncated),
            (
                hex("0001 03 616263 00000007 02 00000001 00 00 00"),
                AadError::EmptyMessageId,
            ),
            (
                hex(&format!(
                    "0001 03 616263 00000007 02 00000001 02 6f31 00 3f {}",
                    "00".repeat(63)
                )),
                AadError::ResendLinkLength(63),
            ),
            (
                hex("0001 03 616263 00000007 02 00000001 02 6f31 00"),
                AadError::Truncated,
            ),
            (
                hex(&format!(
                    "0001 03 616263 00000007 02 00000001 02 6f31 00 80000040 {}",
                    "00".repeat(64)
                )),
                AadError::NonMinimalLength,
            ),
            (
                [deployed_vector(), vec![0]].concat(),
                AadError::TrailingBytes,
            ),
            (
                hex(&format!(
                    "0001 03 616263 00000007 02 00000001 02 6f31 4101 {} 4040 {}",
                    "00".repeat(257),
                    "00".repeat(64)
                )),
                AadError::MessageIdTooLong,
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(AuthenticatedData::decode(&bytes), Err(want), "{bytes:02x?}");
        }
        assert!(AuthenticatedData::decode(&good).is_ok());
    }

    #[test]
    fn refuses_overlong_id() {
        let aad = AuthenticatedData {
            message_id: vec![1; MAX_MESSAGE_ID_LEN + 1],
            era: 1,
            resend: None,
        };
        assert_eq!(aad.validate(), Err(AadError::MessageIdTooLong));
        assert_eq!(
            AuthenticatedData::decode(&aad.encode()),
            Err(AadError::MessageIdTooLong)
        );
        let ok = AuthenticatedData {
            message_id: vec![1; MAX_MESSAGE_ID_LEN],
            ..aad
        };
        assert_eq!(AuthenticatedData::decode(&ok.encode()), Ok(ok));
    }

    fn arb_id() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 1..=MAX_MESSAGE_ID_LEN)
    }

    fn arb_resend() -> impl Strategy<Value = Option<Resend>> {
        prop_oneof![
            Just(None),
            arb_id().prop_map(|original_id| Some(Resend::Spec { original_id })),
            (
                any::<u32>(),
                arb_id(),
                proptest::collection::vec(any::<u8>(), 0..=MAX_MESSAGE_ID_LEN),
                proptest::collection::vec(any::<u8>(), RESEND_LINK_LEN),
            )
                .prop_map(|(a, b, c, d)| Some(Resend::Deployed {
                    a,
                    b,
                    c,
                    d: d.try_into().unwrap(),
                })),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(message_id in arb_id(), era: u32, resend in arb_resend()) {
            let aad = AuthenticatedData { message_id, era, resend };
            prop_assert_eq!(AuthenticatedData::decode(&aad.encode()), Ok(aad));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = AuthenticatedData::decode(&bytes);
        }

        #[test]
        fn single_byte_corruption_never_panics(
            message_id in arb_id(), era: u32, at: usize, byte: u8,
        ) {
            let mut bytes = AuthenticatedData { message_id, era, resend: None }.encode();
            let i = at % bytes.len();
            bytes[i] = byte;
            let _ = AuthenticatedData::decode(&bytes);
        }
    }
}
