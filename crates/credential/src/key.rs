//! Public keys and signature checks used in credential chains.

use crate::error::CredentialError;
use crate::oid;
use der::asn1::BitString;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

/// Signature algorithms of participant and provider keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA over P-256 with SHA-256 (MLS suite 0x0002, the RCC.16 credential key).
    EcdsaP256,
    /// ECDSA over P-384 with SHA-384 (provider CA keys only).
    EcdsaP384,
    /// Ed25519 (MLS suites 0x0001 and the X-Wing hybrid).
    Ed25519,
}

/// Checks signatures. The default, [`RustCryptoVerifier`], is pure Rust;
/// a client can plug in its own (e.g. the MLS crypto provider's) to share
/// one audited, faster implementation.
pub trait SignatureVerifier: Send + Sync {
    /// Whether `signature` (DER for ECDSA, 64 raw bytes for Ed25519) is
    /// valid for `message` under `key`. Must not panic on bad input.
    fn verify(&self, key: &PublicKey, message: &[u8], signature: &[u8]) -> bool;
}

/// Pure-Rust signature verification (RustCrypto `p256`/`p384`, `ed25519-dalek`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCryptoVerifier;

impl SignatureVerifier for RustCryptoVerifier {
    fn verify(&self, key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
        key.verify(message, signature)
    }
}

/// Signature verification with AWS-LC (the library MLS and TLS use in this
/// workspace; several times faster than the pure-Rust one).
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsLcVerifier;

impl SignatureVerifier for AwsLcVerifier {
    fn verify(&self, key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
        use aws_lc_rs::signature;
        let algorithm: &'static dyn signature::VerificationAlgorithm = match key.algorithm() {
            KeyAlgorithm::EcdsaP256 => &signature::ECDSA_P256_SHA256_ASN1,
            KeyAlgorithm::EcdsaP384 => &signature::ECDSA_P384_SHA384_ASN1,
            KeyAlgorithm::Ed25519 => &signature::ED25519,
        };
        signature::UnparsedPublicKey::new(algorithm, key.as_bytes())
            .verify(message, signature)
            .is_ok()
    }
}

/// A public key as MLS encodes it: an uncompressed SEC1 point for ECDSA, 32
/// raw bytes for Ed25519.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    algorithm: KeyAlgorithm,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PublicKey({:?}, {} bytes)",
            self.algorithm,
            self.bytes.len()
        )
    }
}

impl PublicKey {
    /// Wraps raw key bytes: an uncompressed SEC1 point on the curve for
    /// ECDSA (65 bytes for P-256, 97 for P-384), or 32 bytes that decode to
    /// an Ed25519 point of large order. `None` for anything else, so a key
    /// nobody could sign for is refused where it enters, not at its first
    /// signature.
    pub fn new(algorithm: KeyAlgorithm, bytes: Vec<u8>) -> Option<Self> {
        let ok = match algorithm {
            KeyAlgorithm::EcdsaP256 => {
                bytes.len() == 65
                    && bytes[0] == 4
                    && p256::ecdsa::VerifyingKey::from_sec1_bytes(&bytes).is_ok()
            }
            KeyAlgorithm::EcdsaP384 => {
                bytes.len() == 97
                    && bytes[0] == 4
                    && p384::ecdsa::VerifyingKey::from_sec1_bytes(&bytes).is_ok()
            }
            KeyAlgorithm::Ed25519 => <[u8; 32]>::try_from(bytes.as_slice())
                .ok()
                .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
                .is_some_and(|key| !key.is_weak()),
        };
        ok.then_some(PublicKey { algorithm, bytes })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The key of a DER SubjectPublicKeyInfo (P-256, P-384 or Ed25519).
    pub fn from_spki_der(der_bytes: &[u8]) -> Option<Self> {
        use der::Decode;
        let spki = SubjectPublicKeyInfoOwned::from_der(der_bytes).ok()?;
        Self::from_spki(&spki, 0).ok()
    }

    pub(crate) fn from_spki(
        spki: &SubjectPublicKeyInfoOwned,
        index: usize,
    ) -> Result<Self, CredentialError> {
        // CRED-ALG-1: P-256, P-384 or Ed25519 keys only, each a valid point.
        let unsupported = CredentialError::UnsupportedKey { index };
        let algorithm = if spki.algorithm.oid == oid::ED25519 {
            if spki.algorithm.parameters.is_some() {
                return Err(unsupported);
            }
            KeyAlgorithm::Ed25519
        } else if spki.algorithm.oid == oid::EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok())
                .ok_or(unsupported.clone())?;
            if curve == oid::SECP256R1 {
                KeyAlgorithm::EcdsaP256
            } else if curve == oid::SECP384R1 {
                KeyAlgorithm::EcdsaP384
            } else {
                return Err(unsupported);
            }
        } else {
            return Err(unsupported);
        };
        let bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or(unsupported.clone())?;
        PublicKey::new(algorithm, bytes.to_vec()).ok_or(unsupported)
    }

    /// Checks `signature` (DER for ECDSA, 64 raw bytes for Ed25519) over
    /// `message` under the X.509 signature algorithm `sig_alg`.
    pub(crate) fn verify_x509(
        &self,
        sig_alg: &const_oid::ObjectIdentifier,
        message: &[u8],
        signature: &BitString,
        index: usize,
        verifier: &dyn SignatureVerifier,
    ) -> Result<(), CredentialError> {
        let expected = match self.algorithm {
            KeyAlgorithm::EcdsaP256 => oid::ECDSA_WITH_SHA256,
            KeyAlgorithm::EcdsaP384 => oid::ECDSA_WITH_SHA384,
            KeyAlgorithm::Ed25519 => oid::ED25519,
        };
        // CRED-ALG-1: signed with the algorithm matching the key.
        if *sig_alg != expected {
            return Err(CredentialError::UnsupportedSignatureAlgorithm { index });
        }
        let signature = signature
            .as_bytes()
            .ok_or(CredentialError::BadSignature { index })?;
        if verifier.verify(self, message, signature) {
            Ok(())
        } else {
            Err(CredentialError::BadSignature { index })
        }
    }

    /// Verifies a signature made with this key, in the encoding MLS and
    /// X.509 share (DER ECDSA, raw Ed25519). Never panics on bad input.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self.algorithm {
            KeyAlgorithm::EcdsaP256 => {
                use p256::ecdsa::signature::Verifier;
                let Ok(key) = p256::ecdsa::VerifyingKey::from_sec1_bytes(&self.bytes) else {
                    return false;
                };
                let Ok(sig) = p256::ecdsa::DerSignature::try_from(signature) else {
                    return false;
                };
                key.verify(message, &sig).is_ok()
            }
            KeyAlgorithm::EcdsaP384 => {
                use p384::ecdsa::signature::Verifier;
                let Ok(key) = p384::ecdsa::VerifyingKey::from_sec1_bytes(&self.bytes) else {
                    return false;
                };
                let Ok(sig) = p384::ecdsa::DerSignature::try_from(signature) else {
                    return false;
                };
                key.verify(message, &sig).is_ok()
            }
            KeyAlgorithm::Ed25519 => {
                let Ok(key_bytes) = <[u8; 32]>::try_from(self.bytes.as_slice()) else {
                    return false;
                };
                let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes) else {
                    return false;
                };
                let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
                    return false;
                };
                key.verify_strict(message, &sig).is_ok()
            }
        }
    }
}
