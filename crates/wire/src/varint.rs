//! The length prefix of an MLS variable-length vector (RFC 9420 §2.1.2).
//!
//! The two most significant bits of the first byte give the prefix size:
//! `00` one byte (6-bit value), `01` two bytes (14 bits), `10` four bytes
//! (30 bits). `11` is invalid. Encoders must use the shortest form and the
//! decoder refuses any other ("the length MUST be encoded in the smallest
//! number of bytes possible").

use thiserror::Error;

/// The largest length a prefix can carry: 2^30 − 1.
pub const MAX_LEN: usize = (1 << 30) - 1;

/// Why a length prefix was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum VarintError {
    /// The input ended inside the prefix.
    #[error("input ends inside a length prefix")]
    Truncated,
    /// The value was not encoded in the fewest bytes (RFC 9420 §2.1.2).
    #[error("length prefix is not minimally encoded")]
    NonMinimal,
    /// The prefix starts with `0b11`, or the length is 2^30 or more.
    #[error("length is 2^30 or more")]
    TooLarge,
}

/// Appends the shortest prefix for `len` to `out`.
pub fn encode_len(len: usize, out: &mut Vec<u8>) -> Result<(), VarintError> {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.extend_from_slice(&((len as u16) | 0x4000).to_be_bytes());
    } else if len <= MAX_LEN {
        out.extend_from_slice(&((len as u32) | 0x8000_0000).to_be_bytes());
    } else {
        return Err(VarintError::TooLarge);
    }
    Ok(())
}

/// Reads a prefix at the start of `input`; returns the length and the number
/// of bytes the prefix took.
pub fn decode_len(input: &[u8]) -> Result<(usize, usize), VarintError> {
    let first = *input.first().ok_or(VarintError::Truncated)?;
    let size = match first >> 6 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => return Err(VarintError::TooLarge),
    };
    let bytes = input.get(..size).ok_or(VarintError::Truncated)?;
    let mut value = u32::from(first & 0x3f);
    for b in &bytes[1..] {
        value = (value << 8) | u32::from(*b);
    }
    let minimal = match size {
        1 => true,
        2 => value >= 1 << 6,
        _ => value >= 1 << 14,
    };
    if !minimal {
        return Err(VarintError::NonMinimal);
    }
    Ok((value as usize, size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        encode_len(len, &mut out).unwrap();
        out
    }

    #[test]
    fn known_encodings() {
        // Boundaries of each prefix size, derived by hand from RFC 9420 §2.1.2.
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(37), [0x25]);
        assert_eq!(enc(63), [0x3f]);
        assert_eq!(enc(64), [0x40, 0x40]);
        assert_eq!(enc(15293), [0x7b, 0xbd]);
        assert_eq!(enc(16383), [0x7f, 0xff]);
        assert_eq!(enc(16384), [0x80, 0x00, 0x40, 0x00]);
        assert_eq!(enc(MAX_LEN), [0xbf, 0xff, 0xff, 0xff]);
        assert_eq!(decode_len(&[0x7b, 0xbd]), Ok((15293, 2)));
        assert_eq!(decode_len(&[0x9d, 0x7f, 0x3e, 0x7d]), Ok((494_878_333, 4)));
    }

    #[test]
    fn refuses_bad_prefixes() {
        assert_eq!(
            encode_len(MAX_LEN + 1, &mut Vec::new()),
            Err(VarintError::TooLarge)
        );
        assert_eq!(decode_len(&[]), Err(VarintError::Truncated));
        assert_eq!(decode_len(&[0x40]), Err(VarintError::Truncated));
        assert_eq!(decode_len(&[0x80, 0, 0]), Err(VarintError::Truncated));
        assert_eq!(
            decode_len(&[0xc0, 0, 0, 0, 0, 0, 0, 0]),
            Err(VarintError::TooLarge)
        );
        // 37 in two bytes, 64 in four bytes: valid values, not minimal.
        assert_eq!(decode_len(&[0x40, 0x25]), Err(VarintError::NonMinimal));
        assert_eq!(
            decode_len(&[0x80, 0, 0, 0x40]),
            Err(VarintError::NonMinimal)
        );
    }

    proptest! {
        #[test]
        fn round_trip(len in 0..=MAX_LEN) {
            let bytes = enc(len);
            prop_assert_eq!(decode_len(&bytes), Ok((len, bytes.len())));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..8)) {
            let _ = decode_len(&bytes);
        }
    }
}
