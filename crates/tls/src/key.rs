//! P-256 key pairs held in software.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use crosslock_credential::{CertSigner, KeyAlgorithm, PublicKey};
use zeroize::Zeroizing;

use crate::error::TlsError;
use crate::pem;

/// A P-256 key pair held in software (TLS keys, development CAs).
///
/// Signatures are ECDSA with SHA-256, DER-encoded (the form X.509 and TLS
/// use). The private key leaves only as PKCS#8 ([`KeyPair::to_pkcs8_der`],
/// [`KeyPair::to_pem`]); the copy kept here is zeroized on drop.
pub struct KeyPair {
    inner: EcdsaKeyPair,
    pkcs8: Zeroizing<Vec<u8>>,
    public: PublicKey,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A fresh key from the system's random generator.
    pub fn generate() -> Result<KeyPair, TlsError> {
        let document =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .map_err(|_| TlsError::Random)?;
        Self::from_pkcs8(document.as_ref(), "generated key")
    }

    /// Parses an unencrypted PKCS#8 P-256 private key (DER).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<KeyPair, TlsError> {
        Self::from_pkcs8(der, "PKCS#8 key")
    }

    /// Parses the first `PRIVATE KEY` section of PEM text.
    pub fn from_pem(pem: &str) -> Result<KeyPair, TlsError> {
        Self::from_pem_bytes(pem.as_bytes(), "private key PEM")
    }

    /// Reads a PEM private key file.
    pub(crate) fn from_pem_file(path: &std::path::Path) -> Result<KeyPair, TlsError> {
        let text = pem::read(path)?;
        Self::from_pem_bytes(&text, &path.display().to_string())
    }

    fn from_pem_bytes(text: &[u8], origin: &str) -> Result<KeyPair, TlsError> {
        let der = pem::decode_private_key(text, origin)?;
        Self::from_pkcs8(der.secret_pkcs8_der(), origin)
    }

    fn from_pkcs8(der: &[u8], origin: &str) -> Result<KeyPair, TlsError> {
        let rejected = |reason: String| TlsError::Key {
            origin: origin.to_owned(),
            reason,
        };
        let inner = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der)
            .map_err(|e| rejected(e.to_string()))?;
        // Keep a normalised (PKCS#8 v1) copy so what we write back is stable.
        let pkcs8 = Zeroizing::new(
            inner
                .to_pkcs8v1()
                .map_err(|_| rejected("cannot re-encode the key".into()))?
                .as_ref()
                .to_vec(),
        );
        let public = PublicKey::new(
            KeyAlgorithm::EcdsaP256,
            inner.public_key().as_ref().to_vec(),
        )
        .ok_or_else(|| rejected("public key is not an uncompressed P-256 point".into()))?;
        Ok(KeyPair {
            inner,
            pkcs8,
            public,
        })
    }

    /// The private key as PKCS#8 v1 DER. The caller owns (and should
    /// zeroize) the returned copy.
    pub fn to_pkcs8_der(&self) -> Vec<u8> {
        self.pkcs8.to_vec()
    }

    /// The private key as PEM (`PRIVATE KEY`).
    pub fn to_pem(&self) -> String {
        self.to_pem_zeroizing().to_string()
    }

    pub(crate) fn to_pem_zeroizing(&self) -> Zeroizing<String> {
        pem::encode(pem::PRIVATE_KEY_LABEL, &self.pkcs8)
    }

    /// The public key as an uncompressed SEC1 point: 65 bytes, `0x04 || x || y`.
    pub fn public_key_sec1(&self) -> &[u8] {
        self.public.as_bytes()
    }

    /// The public key in the credential crate's type.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `message` with ECDSA P-256 / SHA-256; the signature is DER.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TlsError> {
        self.inner
            .sign(&SystemRandom::new(), message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| TlsError::Signing)
    }

    /// The PKCS#8 DER without copying (for rustls).
    pub(crate) fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }
}

impl CertSigner for KeyPair {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        KeyPair::sign(self, message).map_err(|e| e.to_string())
    }
}

/// Presents a [`KeyPair`] to rcgen, which has no crypto of its own here.
pub(crate) struct RcgenKey<'a>(pub(crate) &'a KeyPair);

impl rcgen::PublicKeyData for RcgenKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0.public_key_sec1()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for RcgenKey<'_> {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.0
            .sign(message)
            .map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_is_uncompressed_p256() {
        let key = KeyPair::generate().unwrap();
        assert_eq!(key.public_key_sec1().len(), 65);
        assert_eq!(key.public_key_sec1()[0], 4);
    }

    #[test]
    fn debug_shows_no_secret() {
        let key = KeyPair::generate().unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("EcdsaP256"));
        assert!(!shown.contains("pkcs8"));
    }
}
