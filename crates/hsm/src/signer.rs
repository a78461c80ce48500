//! Signing with a private key that stays in the token.

use std::fmt;

use crosslock_credential::{CertSigner, KeyAlgorithm, PublicKey};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use sha2::{Digest, Sha256};

use crate::ec::raw_to_der;
use crate::error::HsmError;
use crate::login::LoginRef;

/// Signed and verified once when a signer is made: proves the private key
/// in the token belongs to the public key read beside it.
const PAIRWISE_CHECK: &[u8] = b"crosslock-hsm pairwise consistency check";

/// A signer whose private key never leaves the token. `Send + Sync`.
///
/// Signatures are ECDSA P-256 with SHA-256, DER-encoded (see the crate
/// docs). Valid as long as the signer lives, even after the
/// [`crate::Pkcs11Token`] it came from is dropped.
pub struct Pkcs11Signer {
    login: LoginRef,
    label: String,
    private: ObjectHandle,
    public_key: PublicKey,
}

/// How the token protects a private key (PKCS#11 v2.40 §4.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyProtection {
    /// CKA_SENSITIVE: the key's value cannot be read out in clear.
    pub sensitive: bool,
    /// CKA_EXTRACTABLE: the key can be wrapped (exported encrypted).
    pub extractable: bool,
    /// CKA_ALWAYS_SENSITIVE: the key has been sensitive since it was made.
    pub always_sensitive: bool,
    /// CKA_NEVER_EXTRACTABLE: the key has never been extractable.
    pub never_extractable: bool,
}

impl KeyProtection {
    /// Whether the key can never have left the token: sensitive and not
    /// extractable now and since it was made.
    pub fn is_confined(&self) -> bool {
        self.sensitive && !self.extractable && self.always_sensitive && self.never_extractable
    }
}

impl Pkcs11Signer {
    pub(crate) fn new(
        login: LoginRef,
        label: &str,
        private: ObjectHandle,
        point: Vec<u8>,
    ) -> Result<Self, HsmError> {
        let unsupported = |reason: &str| HsmError::UnsupportedKey {
            label: label.to_owned(),
            reason: reason.to_owned(),
        };
        let public_key = PublicKey::new(KeyAlgorithm::EcdsaP256, point)
            .ok_or_else(|| unsupported("not an uncompressed P-256 point"))?;
        let signer = Pkcs11Signer {
            login,
            label: label.to_owned(),
            private,
            public_key,
        };
        let signature = signer.try_sign(PAIRWISE_CHECK)?;
        if !signer.public_key.verify(PAIRWISE_CHECK, &signature) {
            return Err(unsupported(
                "a test signature by the private key does not verify under the public key",
            ));
        }
        Ok(signer)
    }

    /// The key's label in the token.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The public key, an uncompressed SEC1 P-256 point.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// Signs `message`: SHA-256 here, then `CKM_ECDSA` over the digest in
    /// the token, then the raw `r || s` converted to a DER `Ecdsa-Sig-Value`.
    ///
    /// Hashing outside the token keeps to the one mechanism every PKCS#11
    /// EC token has (`CKM_ECDSA_SHA256` is optional) and sends 32 bytes
    /// over the module boundary instead of a whole certificate.
    pub fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, HsmError> {
        let digest = Sha256::digest(message);
        let raw = self.login.with_session(|session| {
            Ok(session.sign(&Mechanism::Ecdsa, self.private, &digest)?)
        })?;
        raw_to_der(&raw).ok_or_else(|| {
            HsmError::Token(format!(
                "CKM_ECDSA returned {} bytes that are not a P-256 signature",
                raw.len()
            ))
        })
    }

    /// Reads the private key's protection attributes from the token.
    pub fn protection(&self) -> Result<KeyProtection, HsmError> {
        let attributes = self.login.with_session(|session| {
            Ok(session.get_attributes(
                self.private,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::AlwaysSensitive,
                    AttributeType::NeverExtractable,
                ],
            )?)
        })?;
        // A missing attribute counts against the key.
        let mut protection = KeyProtection {
            sensitive: false,
            extractable: true,
            always_sensitive: false,
            never_extractable: false,
        };
        for attribute in attributes {
            match attribute {
                Attribute::Sensitive(v) => protection.sensitive = v,
                Attribute::Extractable(v) => protection.extractable = v,
                Attribute::AlwaysSensitive(v) => protection.always_sensitive = v,
                Attribute::NeverExtractable(v) => protection.never_extractable = v,
                _ => {}
            }
        }
        Ok(protection)
    }
}

impl CertSigner for Pkcs11Signer {
    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        self.try_sign(message).map_err(|e| e.to_string())
    }
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.login.label())
            .field("label", &self.label)
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}
