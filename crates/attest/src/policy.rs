//! What the verifiers accept, and the challenge that binds an enrollment.

use sha2::{Digest, Sha256};

/// Which authentic attestations are accepted.
///
/// The verifiers establish the facts (chain, root, KeyDescription or
/// authData); the policy decides whether those facts are good enough. Both
/// policies require hardware: the Android software attestation root is
/// refused by either.
///
/// | check | `Strict` | `Development` |
/// |---|---|---|
/// | Android: chain to a Google hardware root | required | required |
/// | Android: attestation security level TEE or StrongBox | required | required |
/// | Android: root of trust present, device locked, boot state VERIFIED | required | not checked |
/// | Apple: production AAGUID (`appattest` + 7 zero bytes) | required | development also accepted |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttestationPolicy {
    /// Production enrollment: hardware-backed key, locked bootloader,
    /// verified boot (Android); production App Attest environment (Apple).
    Strict,
    /// Development devices: hardware-backed key; the bootloader may be
    /// unlocked and the boot unverified (Android); the development App Attest
    /// environment is accepted (Apple).
    Development,
}

impl AttestationPolicy {
    /// `strict` or `development`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Development => "development",
        }
    }
}

/// Domain-separation label of [`enrollment_challenge`].
pub const ENROLLMENT_CHALLENGE_LABEL: &[u8] = b"crosslock attestation challenge v1";

/// Domain-separation label of [`android_enrollment_challenge`].
pub const ANDROID_ENROLLMENT_CHALLENGE_LABEL: &[u8] = b"crosslock android attestation challenge v1";

/// The attestation challenge of an Apple App Attest enrollment: the
/// `clientDataHash` given to `attestKey`, binding the KDS's one-time nonce
/// to the participant key (App Attest attests a key of its own, not the
/// participant key, so the hash is what ties the two together).
///
/// ```text
/// challenge = SHA-256( "crosslock attestation challenge v1"
///                      || u64be(len(nonce)) || nonce
///                      || u64be(len(key))   || key )
/// ```
///
/// `participant_public_key` is the P-256 participant key the enrollment CSR
/// carries, as its 65-byte uncompressed SEC1 point (`04 || x || y`, what
/// the KDS and the client pass), not its SubjectPublicKeyInfo. The lengths make the split between
/// nonce and key unambiguous; the label keeps the hash from being reused for
/// anything else. The KDS recomputes it and passes it as the expected
/// challenge.
///
/// Android uses [`android_enrollment_challenge`] instead: Key Attestation
/// fixes a key's challenge when the key is generated, so it cannot name
/// the key it is generated for.
#[must_use]
pub fn enrollment_challenge(nonce: &[u8], participant_public_key: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(ENROLLMENT_CHALLENGE_LABEL);
    for part in [nonce, participant_public_key] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize().into()
}

/// The attestation challenge of an Android Key Attestation enrollment: the
/// `KeyGenParameterSpec` attestation challenge the P-256 participant key is
/// generated with, once the KDS's one-time nonce is known.
///
/// ```text
/// challenge = SHA-256( "crosslock android attestation challenge v1"
///                      || u64be(len(nonce)) || nonce )
/// ```
///
/// Only the nonce: Key Attestation fixes the challenge when the key is
/// generated, before its public key exists, so the challenge cannot name
/// the key. It needs not: the attestation chain itself certifies the key,
/// and the KDS requires that attested key to be the P-256 participant key
/// of the enrollment (KDS-ENR-5). The challenge gives freshness: the key
/// was generated for this nonce, which is single use (KDS-ENR-1). Its own
/// label keeps it apart from [`enrollment_challenge`] and every other hash.
#[must_use]
pub fn android_enrollment_challenge(nonce: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(ANDROID_ENROLLMENT_CHALLENGE_LABEL);
    hash.update((nonce.len() as u64).to_be_bytes());
    hash.update(nonce);
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_is_deterministic_and_length_prefixed() {
        let a = enrollment_challenge(b"nonce", b"key");
        assert_eq!(a, enrollment_challenge(b"nonce", b"key"));
        // Moving a byte across the boundary changes the challenge.
        assert_ne!(a, enrollment_challenge(b"nonc", b"ekey"));
        assert_ne!(a, enrollment_challenge(b"nonce", b"kex"));
        assert_ne!(a, enrollment_challenge(b"", b"noncekey"));
    }

    #[test]
    fn challenge_matches_its_documented_construction() {
        let mut input = ENROLLMENT_CHALLENGE_LABEL.to_vec();
        input.extend_from_slice(&2u64.to_be_bytes());
        input.extend_from_slice(b"n1");
        input.extend_from_slice(&3u64.to_be_bytes());
        input.extend_from_slice(b"k23");
        let expected: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(enrollment_challenge(b"n1", b"k23"), expected);
    }

    #[test]
    fn android_challenge_matches_its_documented_construction() {
        let mut input = ANDROID_ENROLLMENT_CHALLENGE_LABEL.to_vec();
        input.extend_from_slice(&2u64.to_be_bytes());
        input.extend_from_slice(b"n1");
        let expected: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(android_enrollment_challenge(b"n1"), expected);
        assert_ne!(
            android_enrollment_challenge(b"n1"),
            android_enrollment_challenge(b"n2")
        );
    }

    #[test]
    fn the_android_and_apple_challenges_never_coincide() {
        // Different labels: neither challenge can stand for the other,
        // whatever the key (the empty key included).
        for nonce in [&b""[..], b"nonce", &[0u8; 32]] {
            let android = android_enrollment_challenge(nonce);
            assert_ne!(android, enrollment_challenge(nonce, b""));
            assert_ne!(android, enrollment_challenge(nonce, &[0x04; 65]));
        }
    }
}
