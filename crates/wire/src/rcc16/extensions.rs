//! The `extension_data` of the RCC.16 GroupContext, GroupInfo and Welcome
//! extensions, as deployed clients write it (fact sheet §4).
//!
//! The outer `opaque extension_data<V>` belongs to RFC 9420 and is not
//! handled here. Inside it, some payloads are written **bare** and others
//! **framed** with one more MLS varint length:
//!
//! | type | name | payload |
//! |---|---|---|
//! | `0xF001` | era | bare u32 BE, from 1 |
//! | `0xF002` | end_mls | bare; v3.0 ASCII `end_mls`, v4.0 protobuf `EndMlsMetadata`; any payload means end_mls |
//! | `0xF003`, `0xF005` | icon / subject key | framed 32-byte content key |
//! | `0xF004`, `0xF006` | icon / subject commitment | framed digest; a bare 32/48/64-byte digest decodes too |
//! | `0xF007` | group_metadata_keys_requested | v3.0 bare 29 ASCII bytes, v4.0 framed; empty decodes too |
//! | `0xF010` | continuity token | framed 32 bytes |
//! | `0xF011` | continuity-token commitment | framed 32-byte `RefHash` |
//! | other | unknown | framed |
//!
//! Decoders refuse a non-minimal inner varint and the reserved `11` prefix
//! (RULE WIRE-EXT-1). Peers' extension bytes are never re-encoded: a
//! client mirrors them byte for byte (WIRE-EXT-4).

use sha2::{Digest, Sha256};
use thiserror::Error;

use super::Revision;
use crate::varint::{self, VarintError};

/// `0xF001` era.
pub const ERA: u16 = 0xF001;
/// `0xF002` end_mls.
pub const END_MLS: u16 = 0xF002;
/// `0xF003` icon_key (Welcome only in the spec).
pub const ICON_KEY: u16 = 0xF003;
/// `0xF004` icon_commitment.
pub const ICON_COMMITMENT: u16 = 0xF004;
/// `0xF005` subject_key (Welcome only).
pub const SUBJECT_KEY: u16 = 0xF005;
/// `0xF006` subject_commitment.
pub const SUBJECT_COMMITMENT: u16 = 0xF006;
/// `0xF007` group_metadata_keys_requested.
pub const METADATA_KEYS_REQUESTED: u16 = 0xF007;
/// `0xF010` continuity_token (encrypted GroupInfo inside a Welcome only).
pub const CONTINUITY_TOKEN: u16 = 0xF010;
/// `0xF011` continuity-token commitment (GroupInfo extension).
pub const CONTINUITY_TOKEN_COMMITMENT: u16 = 0xF011;
/// `0xE000` testing expiry override: advertised only, never used.
pub const TESTING_EXPIRY_OVERRIDE: u16 = 0xE000;

/// The v3.0 `end_mls` payload.
pub const END_MLS_LITERAL: &[u8] = b"end_mls";
/// The `group_metadata_keys_requested` payload (29 bytes).
pub const METADATA_KEYS_REQUESTED_LITERAL: &[u8] = b"group_metadata_keys_requested";
/// The label of the continuity-token commitment `RefHash` (RFC 9420 §5.2;
/// the "MLS 1.0 " prefix is added by [`continuity_token_commitment`]).
pub const CONTINUITY_TOKEN_LABEL: &[u8] = b"Continuity Token GroupInfo Commitment";

/// Why an extension payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExtensionError {
    /// The inner length prefix is bad (truncated, not minimal, or the
    /// reserved `11` prefix).
    #[error("extension 0x{ext_type:04X}: inner length prefix: {error}")]
    Prefix {
        /// The extension type.
        ext_type: u16,
        /// What was wrong.
        error: VarintError,
    },
    /// The inner length does not cover exactly the rest of the payload.
    #[error("extension 0x{ext_type:04X}: inner length {declared} but {actual} bytes follow")]
    FramingMismatch {
        /// The extension type.
        ext_type: u16,
        /// The length the prefix declares.
        declared: usize,
        /// The bytes after the prefix.
        actual: usize,
    },
    /// The payload has the wrong size for its type.
    #[error("extension 0x{ext_type:04X}: {actual}-byte value, expected {expected}")]
    WrongLength {
        /// The extension type.
        ext_type: u16,
        /// What the type requires.
        expected: &'static str,
        /// What came.
        actual: usize,
    },
    /// Era 0 is reserved (eras start at 1).
    #[error("era 0 is reserved")]
    ZeroEra,
    /// The payload is none of the accepted shapes of its type.
    #[error("extension 0x{ext_type:04X}: unrecognised payload")]
    Unrecognised {
        /// The extension type.
        ext_type: u16,
    },
}

/// Whether `ext_type`'s payload is written bare (without the inner length)
/// under `revision` (fact sheet §4). Unknown types are framed.
pub fn is_bare(ext_type: u16, revision: Revision) -> bool {
    match ext_type {
        ERA | END_MLS => true,
        METADATA_KEYS_REQUESTED => revision == Revision::V3_0,
        _ => false,
    }
}

/// `varint(len) ‖ value`: the framed form.
pub fn frame(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 4);
    // A payload of 2^30 bytes or more cannot be an extension of one MLS
    // message at all; the outer vector has the same limit.
    if varint::encode_len(value.len(), &mut out).is_err() {
        out.clear();
    }
    out.extend_from_slice(value);
    out
}

/// Reads a framed payload: the minimal inner varint must cover exactly the
/// rest (WIRE-EXT-1).
pub fn unframe(ext_type: u16, data: &[u8]) -> Result<&[u8], ExtensionError> {
    let (len, used) =
        varint::decode_len(data).map_err(|error| ExtensionError::Prefix { ext_type, error })?;
    let rest = &data[used..];
    if rest.len() != len {
        return Err(ExtensionError::FramingMismatch {
            ext_type,
            declared: len,
            actual: rest.len(),
        });
    }
    Ok(rest)
}

/// Encodes `value` as `ext_type`'s payload under `revision`: bare or framed
/// by [`is_bare`].
pub fn encode_payload(ext_type: u16, revision: Revision, value: &[u8]) -> Vec<u8> {
    if is_bare(ext_type, revision) {
        value.to_vec()
    } else {
        frame(value)
    }
}

fn fixed<const N: usize>(ext_type: u16, value: &[u8]) -> Result<[u8; N], ExtensionError> {
    value.try_into().map_err(|_| ExtensionError::WrongLength {
        ext_type,
        expected: match N {
            4 => "4",
            _ => "32",
        },
        actual: value.len(),
    })
}

/// `0xF001`: the era as a bare u32 BE.
pub fn encode_era(era: u32) -> Vec<u8> {
    era.to_be_bytes().to_vec()
}

/// `0xF001`: exactly four bytes, not zero.
pub fn decode_era(data: &[u8]) -> Result<u32, ExtensionError> {
    let era = u32::from_be_bytes(fixed::<4>(ERA, data)?);
    if era == 0 {
        return Err(ExtensionError::ZeroEra);
    }
    Ok(era)
}

/// `EndMlsMetadata.downgrade_reason` (RCC.16 v4.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DowngradeReason {
    /// 0, no reason given.
    Unset = 0,
    /// 1.
    ServerFailureEncryptionNotAvailable = 1,
    /// 2.
    ClientFailureEncryptionNotAvailable = 2,
    /// 3.
    GroupMemberFailsCapabilitiesCheck = 3,
    /// 4.
    UntrustedRootOnOtherGroupMember = 4,
    /// 5.
    ContinuityTokenMismatch = 5,
    /// 6.
    ContinuityTokenNotReceived = 6,
    /// 7.
    PersistentRefreshFailure = 7,
    /// 8.
    CannotFetchKeyPackages = 8,
    /// 9.
    InternalClientError = 9,
    /// 10.
    OutgoingCommitFailed = 10,
    /// 11.
    ServerFailureEraAdvancementQuotaReached = 11,
}

impl DowngradeReason {
    /// Every reason, by code.
    pub const ALL: [DowngradeReason; 12] = [
        Self::Unset,
        Self::ServerFailureEncryptionNotAvailable,
        Self::ClientFailureEncryptionNotAvailable,
        Self::GroupMemberFailsCapabilitiesCheck,
        Self::UntrustedRootOnOtherGroupMember,
        Self::ContinuityTokenMismatch,
        Self::ContinuityTokenNotReceived,
        Self::PersistentRefreshFailure,
        Self::CannotFetchKeyPackages,
        Self::InternalClientError,
        Self::OutgoingCommitFailed,
        Self::ServerFailureEraAdvancementQuotaReached,
    ];

    /// The reason with protobuf enum value `code`.
    pub fn from_code(code: u64) -> Option<Self> {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }
}

/// What an `end_mls` (0xF002) payload says. Its presence alone means the
/// group left E2EE, so every payload decodes (WIRE-EXT-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndMls {
    /// The v3.0 literal `end_mls`.
    V3Literal,
    /// A v4.0 `EndMlsMetadata` (empty = [`DowngradeReason::Unset`]).
    Reason(DowngradeReason),
    /// Some other payload (kept for display; it still means end_mls).
    Other(Vec<u8>),
}

/// `0xF002` under `revision`: v3.0 writes the literal `end_mls` (the
/// reason is not carried); v4.0 writes `EndMlsMetadata` bare: empty for
/// `Unset`, else `08 <reason>`.
pub fn encode_end_mls(revision: Revision, reason: DowngradeReason) -> Vec<u8> {
    match (revision, reason) {
        (Revision::V3_0, _) => END_MLS_LITERAL.to_vec(),
        (Revision::V4_0, DowngradeReason::Unset) => Vec::new(),
        // Protobuf: field 1, wire type 0 (varint) = tag 0x08; codes 0–11
        // are single-byte varints.
        (Revision::V4_0, r) => vec![0x08, r as u8],
    }
}

/// Reads an `end_mls` payload; never fails (presence is the flag).
pub fn decode_end_mls(data: &[u8]) -> EndMls {
    if data == END_MLS_LITERAL {
        return EndMls::V3Literal;
    }
    if data.is_empty() {
        return EndMls::Reason(DowngradeReason::Unset);
    }
    match data {
        [0x08, code] => DowngradeReason::from_code(u64::from(*code))
            .map_or_else(|| EndMls::Other(data.to_vec()), EndMls::Reason),
        _ => EndMls::Other(data.to_vec()),
    }
}

/// `0xF003` / `0xF005`: a framed 32-byte content key (33 bytes).
pub fn encode_key(key: &[u8; 32]) -> Vec<u8> {
    frame(key)
}

/// `0xF003` / `0xF005`: a framed 32-byte key.
pub fn decode_key(ext_type: u16, data: &[u8]) -> Result<[u8; 32], ExtensionError> {
    fixed::<32>(ext_type, unframe(ext_type, data)?)
}

/// `0xF004` / `0xF006`: the commitment, framed (`20 ‖ hash` for SHA-256).
pub fn encode_commitment(digest: &[u8]) -> Vec<u8> {
    frame(digest)
}

/// `0xF004` / `0xF006`: a framed digest, or a bare 32/48/64-byte digest as
/// some clients write it (WIRE-EXT-3). The two are told apart by length:
/// framed digests are 33, 49 or 66 bytes.
pub fn decode_commitment(ext_type: u16, data: &[u8]) -> Result<Vec<u8>, ExtensionError> {
    let digest = if matches!(data.len(), 32 | 48 | 64) {
        data
    } else {
        unframe(ext_type, data)?
    };
    if !matches!(digest.len(), 32 | 48 | 64) {
        return Err(ExtensionError::WrongLength {
            ext_type,
            expected: "32, 48 or 64",
            actual: digest.len(),
        });
    }
    Ok(digest.to_vec())
}

/// `0xF007` under `revision`: the 29-byte literal, bare (v3.0) or framed
/// (v4.0).
pub fn encode_metadata_keys_requested(revision: Revision) -> Vec<u8> {
    encode_payload(
        METADATA_KEYS_REQUESTED,
        revision,
        METADATA_KEYS_REQUESTED_LITERAL,
    )
}

/// `0xF007`: empty, the bare literal or the framed literal; nothing else.
pub fn decode_metadata_keys_requested(data: &[u8]) -> Result<(), ExtensionError> {
    if data.is_empty() || data == METADATA_KEYS_REQUESTED_LITERAL {
        return Ok(());
    }
    if unframe(METADATA_KEYS_REQUESTED, data)? == METADATA_KEYS_REQUESTED_LITERAL {
        Ok(())
    } else {
        Err(ExtensionError::Unrecognised {
            ext_type: METADATA_KEYS_REQUESTED,
        })
    }
}

/// `0xF010`: a framed 32-byte continuity token.
pub fn encode_continuity_token(token: &[u8; 32]) -> Vec<u8> {
    frame(token)
}

/// `0xF010`: a framed 32-byte token.
pub fn decode_continuity_token(data: &[u8]) -> Result<[u8; 32], ExtensionError> {
    fixed::<32>(CONTINUITY_TOKEN, unframe(CONTINUITY_TOKEN, data)?)
}

/// The continuity-token commitment `RefHash("Continuity Token GroupInfo
/// Commitment", struct { opaque token<V>; opaque epoch_authenticator<V>; })`
/// (RFC 9420 §5.2, label prefixed with "MLS 1.0 "), for the SHA-256 suites
/// Crosslock uses.
pub fn continuity_token_commitment(token: &[u8; 32], epoch_authenticator: &[u8]) -> [u8; 32] {
    let mut value = frame(token);
    value.extend_from_slice(&frame(epoch_authenticator));
    let mut label = b"MLS 1.0 ".to_vec();
    label.extend_from_slice(CONTINUITY_TOKEN_LABEL);
    let mut input = frame(&label);
    input.extend_from_slice(&frame(&value));
    Sha256::digest(&input).into()
}

/// `0xF011`: the framed commitment (33 bytes).
pub fn encode_continuity_token_commitment(commitment: &[u8; 32]) -> Vec<u8> {
    frame(commitment)
}

/// `0xF011`: a framed 32-byte commitment.
pub fn decode_continuity_token_commitment(data: &[u8]) -> Result<[u8; 32], ExtensionError> {
    fixed::<32>(
        CONTINUITY_TOKEN_COMMITMENT,
        unframe(CONTINUITY_TOKEN_COMMITMENT, data)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        crate::test_util::hex(s)
    }

    #[test]
    fn era_is_bare_u32() {
        // Fact sheet §4: era 19 is `00000013`.
        assert_eq!(encode_era(19), hex("00000013"));
        assert_eq!(decode_era(&hex("00000013")), Ok(19));
        assert_eq!(decode_era(&hex("00000000")), Err(ExtensionError::ZeroEra));
        assert!(matches!(
            decode_era(&hex("000013")),
            Err(ExtensionError::WrongLength { .. })
        ));
        assert!(is_bare(ERA, Revision::V4_0));
    }

    #[test]
    fn end_mls_by_revision() {
        // v3.0: ASCII "end_mls" = 65 6e 64 5f 6d 6c 73.
        let v3 = encode_end_mls(Revision::V3_0, DowngradeReason::ContinuityTokenMismatch);
        assert_eq!(v3, hex("656e645f6d6c73"));
        assert_eq!(decode_end_mls(&v3), EndMls::V3Literal);
        // v4.0: EndMlsMetadata{downgrade_reason = 5} = 08 05; Unset = empty.
        let v4 = encode_end_mls(Revision::V4_0, DowngradeReason::ContinuityTokenMismatch);
        assert_eq!(v4, hex("0805"));
        assert_eq!(
            decode_end_mls(&v4),
            EndMls::Reason(DowngradeReason::ContinuityTokenMismatch)
        );
        assert!(encode_end_mls(Revision::V4_0, DowngradeReason::Unset).is_empty());
        assert_eq!(decode_end_mls(&[]), EndMls::Reason(DowngradeReason::Unset));
        assert_eq!(
            decode_end_mls(&hex("080b")),
            EndMls::Reason(DowngradeReason::ServerFailureEraAdvancementQuotaReached)
        );
        // Presence is the flag: anything else still decodes as end_mls.
        assert_eq!(decode_end_mls(&hex("080c")), EndMls::Other(hex("080c")));
        assert_eq!(decode_end_mls(&hex("ff")), EndMls::Other(hex("ff")));
        for (code, reason) in DowngradeReason::ALL.iter().enumerate() {
            assert_eq!(*reason as usize, code);
        }
    }

    #[test]
    fn keys_are_framed() {
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        let wire = encode_key(&key);
        assert_eq!(
            wire,
            hex("20000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
        );
        assert_eq!(decode_key(ICON_KEY, &wire), Ok(key));
        // A bare key, a non-minimal prefix (40 20), the reserved 11 prefix,
        // a short key and a length that does not match are refused.
        assert!(matches!(
            decode_key(ICON_KEY, &key),
            Err(ExtensionError::FramingMismatch { .. })
        ));
        let mut non_minimal = hex("4020");
        non_minimal.extend_from_slice(&key);
        assert_eq!(
            decode_key(SUBJECT_KEY, &non_minimal),
            Err(ExtensionError::Prefix {
                ext_type: SUBJECT_KEY,
                error: VarintError::NonMinimal
            })
        );
        let mut reserved = hex("c0000020");
        reserved.extend_from_slice(&key);
        assert!(matches!(
            decode_key(ICON_KEY, &reserved),
            Err(ExtensionError::Prefix {
                error: VarintError::TooLarge,
                ..
            })
        ));
        assert!(matches!(
            decode_key(ICON_KEY, &frame(&key[..31])),
            Err(ExtensionError::WrongLength { actual: 31, .. })
        ));
        assert!(matches!(
            decode_key(ICON_KEY, &wire[..32]),
            Err(ExtensionError::FramingMismatch { .. })
        ));
        assert!(matches!(
            decode_key(ICON_KEY, &[]),
            Err(ExtensionError::Prefix {
                error: VarintError::Truncated,
                ..
            })
        ));
    }

    #[test]
    fn commitments_framed_or_bare() {
        let digest = [0xabu8; 32];
        let wire = encode_commitment(&digest);
        assert_eq!(wire.len(), 33);
        assert_eq!(wire[0], 0x20);
        assert_eq!(
            decode_commitment(ICON_COMMITMENT, &wire),
            Ok(digest.to_vec())
        );
        // Bare digests (an Apple case) of 32, 48 and 64 bytes.
        for n in [32, 48, 64] {
            let bare = vec![0x11; n];
            assert_eq!(
                decode_commitment(SUBJECT_COMMITMENT, &bare),
                Ok(bare.clone())
            );
            assert_eq!(
                decode_commitment(SUBJECT_COMMITMENT, &frame(&bare)),
                Ok(bare)
            );
        }
        // 64 bytes framed: 40 40 ‖ digest (66 bytes).
        assert_eq!(frame(&[0; 64])[..2], hex("4040"));
        assert!(matches!(
            decode_commitment(ICON_COMMITMENT, &frame(&[1; 20])),
            Err(ExtensionError::WrongLength { actual: 20, .. })
        ));
        assert!(decode_commitment(ICON_COMMITMENT, &[0x20; 40]).is_err());
    }

    #[test]
    fn metadata_keys_requested_by_revision() {
        let bare = encode_metadata_keys_requested(Revision::V3_0);
        assert_eq!(
            bare,
            hex("67726f75705f6d657461646174615f6b6579735f726571756573746564")
        );
        assert_eq!(bare.len(), 29);
        let framed = encode_metadata_keys_requested(Revision::V4_0);
        assert_eq!(framed[0], 0x1d);
        assert_eq!(&framed[1..], &bare[..]);
        for ok in [&bare[..], &framed[..], &[][..]] {
            assert_eq!(decode_metadata_keys_requested(ok), Ok(()));
        }
        assert_eq!(
            decode_metadata_keys_requested(&frame(b"something_else")),
            Err(ExtensionError::Unrecognised {
                ext_type: METADATA_KEYS_REQUESTED
            })
        );
        assert!(decode_metadata_keys_requested(b"group_metadata").is_err());
    }

    #[test]
    fn continuity_token_and_commitment() {
        // Computed with Python hashlib:
        //   lab = b"MLS 1.0 Continuity Token GroupInfo Commitment"   (45 bytes, varint 2d)
        //   val = b"\x20" + b"\xa5"*32 + b"\x20" + bytes(range(0x80, 0xa0))   (66 bytes, varint 40 42)
        //   sha256(b"\x2d" + lab + b"\x40\x42" + val)
        let token = [0xa5u8; 32];
        let authenticator: Vec<u8> = (0x80..0xa0).collect();
        let commitment = continuity_token_commitment(&token, &authenticator);
        assert_eq!(
            commitment.to_vec(),
            hex("c6e15dbbe8ab9deac3fdd39d3a720719f55958e47378d72532e56c3b8c5b5b2f")
        );
        let wire = encode_continuity_token_commitment(&commitment);
        assert_eq!(wire.len(), 33);
        assert_eq!(decode_continuity_token_commitment(&wire), Ok(commitment));
        let token_wire = encode_continuity_token(&token);
        assert_eq!(token_wire.len(), 33);
        assert_eq!(decode_continuity_token(&token_wire), Ok(token));
        assert!(decode_continuity_token(&token).is_err());
        assert!(decode_continuity_token_commitment(&wire[1..]).is_err());
    }

    #[test]
    fn unknown_types_are_framed() {
        assert_eq!(encode_payload(0xF020, Revision::V3_0, b"ab"), hex("026162"));
        assert_eq!(
            encode_payload(ICON_KEY, Revision::V3_0, b"ab"),
            hex("026162")
        );
        assert_eq!(encode_payload(END_MLS, Revision::V4_0, b"ab"), hex("6162"));
        assert_eq!(unframe(0xF020, &hex("026162")), Ok(&b"ab"[..]));
        assert!(unframe(0xF020, &hex("036162")).is_err());
    }

    proptest::proptest! {
        /// Hostile payloads: every decoder returns a value or a typed
        /// error, never panics; a framed value round-trips.
        #[test]
        fn decoders_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
            let _ = decode_era(&data);
            let _ = decode_end_mls(&data);
            let _ = decode_key(ICON_KEY, &data);
            let _ = decode_commitment(ICON_COMMITMENT, &data);
            let _ = decode_metadata_keys_requested(&data);
            let _ = decode_continuity_token(&data);
            let _ = decode_continuity_token_commitment(&data);
            let framed = frame(&data);
            proptest::prop_assert_eq!(unframe(0xF020, &framed), Ok(&data[..]));
        }
    }
}
