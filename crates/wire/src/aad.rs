//! The `authenticated_data` of an RCC.16 PrivateMessage.
//!
//! GSMA RCC.16 binds every MLS application message to the transport message
//! that carries it by putting this structure in the PrivateMessage's
//! authenticated data (RFC 9420 §6.3.1), in TLS presentation language
//! (RFC 9420 §2.1):
//!
//! ```text
//! struct {
//!     uint16 version;             // = 1
//!     opaque message_id<V>;       // equals the transport (imdn) Message-ID
//!     uint32 era;                 // GroupContext extension 0xF001
//!     optional<opaque resend_of<V>>; // original message id when this is a resend
//! } AuthenticatedData;
//! ```
//!
//! Integers are big-endian, `<V>` is a [`crate::varint`] length
//! prefix, and `optional<T>` is one byte `0` (absent) or `1` followed by `T`.
//! The decoder consumes the whole input; anything left over is refused.

use crate::varint::{self, VarintError};
use thiserror::Error;

/// The longest message id (and `resend_of`) accepted, in bytes.
pub const MAX_MESSAGE_ID_LEN: usize = 256;

/// The RCC.16 PrivateMessage authenticated data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthenticatedData {
    /// The transport message id; the receiver checks it equals the CPIM
    /// `imdn.Message-ID` (RCC.16).
    pub message_id: Vec<u8>,
    /// The conversation's era (RCC.16 GroupContext extension 0xF001).
    pub era: u32,
    /// For a resend after a negative delivery receipt, the id of the original
    /// message (RCC.16 recovery).
    pub resend_of: Option<Vec<u8>>,
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
    /// The `optional` presence byte was neither 0 nor 1.
    #[error("invalid optional presence byte {0}")]
    InvalidOptional(u8),
    /// The message id (or `resend_of`) is empty.
    #[error("empty message id")]
    EmptyMessageId,
    /// The message id (or `resend_of`) is longer than [`MAX_MESSAGE_ID_LEN`].
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
        let extra = self.resend_of.as_ref().map_or(0, |r| r.len() + 4);
        let mut out = Vec::with_capacity(2 + 4 + self.message_id.len() + 4 + 1 + extra);
        out.extend_from_slice(&Self::VERSION.to_be_bytes());
        put_vector(&self.message_id, &mut out);
        out.extend_from_slice(&self.era.to_be_bytes());
        match &self.resend_of {
            None => out.push(0),
            Some(original) => {
                out.push(1);
                put_vector(original, &mut out);
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
        let [presence] = r.array()?;
        let resend_of = match presence {
            0 => None,
            1 => Some(check_id(r.vector()?)?.to_vec()),
            other => return Err(AadError::InvalidOptional(other)),
        };
        if !r.rest.is_empty() {
            return Err(AadError::TrailingBytes);
        }
        Ok(AuthenticatedData {
            message_id,
            era,
            resend_of,
        })
    }

    /// Checks the rules [`Self::decode`] applies to the ids.
    pub fn validate(&self) -> Result<(), AadError> {
        check_id(&self.message_id)?;
        if let Some(original) = &self.resend_of {
            check_id(original)?;
        }
        Ok(())
    }
}

fn check_id(id: &[u8]) -> Result<&[u8], AadError> {
    if id.is_empty() {
        Err(AadError::EmptyMessageId)
    } else if id.len() > MAX_MESSAGE_ID_LEN {
        Err(AadError::MessageIdTooLong)
    } else {
        Ok(id)
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
            resend_of: None,
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
            resend_of: Some(b"o1".to_vec()),
        };
        assert_eq!(aad.encode(), bytes);
        assert_eq!(AuthenticatedData::decode(&bytes), Ok(aad));
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
                hex("0001 03 616263 00000007 02"),
                AadError::InvalidOptional(2),
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
            resend_of: None,
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

    proptest! {
        #[test]
        fn round_trip(message_id in arb_id(), era: u32, resend_of in proptest::option::of(arb_id())) {
            let aad = AuthenticatedData { message_id, era, resend_of };
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
            let mut bytes = AuthenticatedData { message_id, era, resend_of: None }.encode();
            let i = at % bytes.len();
            bytes[i] = byte;
            let _ = AuthenticatedData::decode(&bytes);
        }
    }
}
