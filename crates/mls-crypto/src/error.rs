//! The provider's one error type.

/// Errors of Crosslock's MLS crypto provider.
#[derive(Debug, thiserror::Error)]
pub enum PqCryptoError {
    /// AWS-LC (classical suites, AEAD, KDF, hash, signatures) failed.
    #[error(transparent)]
    AwsLc(#[from] mls_rs_crypto_awslc::AwsLcCryptoError),
    /// HPKE over X-Wing failed (decryption failures stay opaque).
    #[error(transparent)]
    Hpke(#[from] mls_rs_crypto_hpke::hpke::HpkeError),
    /// An X-Wing public key of the wrong length or with an ML-KEM part
    /// that fails the FIPS 203 §7.2 modulus check.
    #[error("invalid X-Wing public key")]
    InvalidPublicKey,
    /// An X-Wing private key that is not a 32-byte seed.
    #[error("invalid X-Wing private key")]
    InvalidPrivateKey,
    /// An X-Wing encapsulation of the wrong length.
    #[error("invalid X-Wing ciphertext")]
    InvalidCiphertext,
    /// The system random generator failed.
    #[error("random generator failure")]
    Randomness,
}

impl mls_rs_core::error::IntoAnyError for PqCryptoError {
    fn into_dyn_error(self) -> Result<Box<dyn std::error::Error + Send + Sync>, Self> {
        Ok(Box::new(self))
    }
}
