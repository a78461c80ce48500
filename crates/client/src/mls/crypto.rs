//! The MLS crypto provider, with signing routed through the [`KeyStore`].
//!
//! mls-rs signs with a `SignatureSecretKey` it is handed. Crosslock hands
//! it a *handle* naming a key-store alias, never key material; this
//! provider recognises the handle and asks the key store to sign. All other
//! operations (HPKE, AEAD, KDF, verification) are `crosslock-mls-crypto`'s:
//! AWS-LC, and X-Wing HPKE for the post-quantum suite 0x004F.

use std::sync::Arc;

use crosslock_mls_crypto::{CrosslockCrypto, CrosslockSuite, PqCryptoError};
use mls_rs::CipherSuite;
use mls_rs::crypto::{
    HpkeCiphertext, HpkePublicKey, HpkeSecretKey, SignaturePublicKey, SignatureSecretKey,
};
use mls_rs_core::crypto::{CipherSuiteProvider, CryptoProvider, HpkePsk};
use zeroize::Zeroizing;

use crate::keystore::{KeyStore, KeyStoreError};
use crate::suite::Suite;

const HANDLE_PREFIX: &[u8] = b"crosslock-keystore-handle:";

/// The signer value given to mls-rs for the key under `alias`.
pub(crate) fn signer_handle(alias: &str) -> SignatureSecretKey {
    SignatureSecretKey::new([HANDLE_PREFIX, alias.as_bytes()].concat())
}

fn alias_of(handle: &SignatureSecretKey) -> Option<&str> {
    handle
        .as_bytes()
        .strip_prefix(HANDLE_PREFIX)
        .and_then(|a| std::str::from_utf8(a).ok())
}

/// Errors of the wrapped provider.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CryptoError {
    #[error(transparent)]
    Provider(#[from] PqCryptoError),
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    #[error("raw signing keys are refused: signing goes through the key store")]
    RawKeyRefused,
}

impl mls_rs_core::error::IntoAnyError for CryptoError {
    fn into_dyn_error(self) -> Result<Box<dyn std::error::Error + Send + Sync>, Self> {
        Ok(Box::new(self))
    }
}

/// Crosslock's crypto with key-store signing, limited to Crosslock's suites.
#[derive(Debug, Clone)]
pub(crate) struct KeyStoreCrypto {
    inner: CrosslockCrypto,
    keystore: Arc<dyn KeyStore>,
}

impl KeyStoreCrypto {
    pub(crate) fn new(keystore: Arc<dyn KeyStore>) -> Self {
        let suites = Suite::ALL.iter().map(|s| s.cipher_suite()).collect();
        KeyStoreCrypto {
            inner: CrosslockCrypto::with_enabled_cipher_suites(suites),
            keystore,
        }
    }
}

impl CryptoProvider for KeyStoreCrypto {
    type CipherSuiteProvider = KeyStoreSuite;

    fn supported_cipher_suites(&self) -> Vec<CipherSuite> {
        self.inner.supported_cipher_suites()
    }

    fn cipher_suite_provider(&self, cipher_suite: CipherSuite) -> Option<KeyStoreSuite> {
        Suite::from_cipher_suite(cipher_suite)?;
        Some(KeyStoreSuite {
            inner: self.inner.suite(cipher_suite)?,
            keystore: self.keystore.clone(),
        })
    }
}

/// One suite's operations.
#[derive(Clone)]
pub(crate) struct KeyStoreSuite {
    inner: CrosslockSuite,
    keystore: Arc<dyn KeyStore>,
}

impl CipherSuiteProvider for KeyStoreSuite {
    type Error = CryptoError;
    type HpkeContextS = <CrosslockSuite as CipherSuiteProvider>::HpkeContextS;
    type HpkeContextR = <CrosslockSuite as CipherSuiteProvider>::HpkeContextR;

    fn cipher_suite(&self) -> CipherSuite {
        self.inner.cipher_suite()
    }

    fn hash(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(self.inner.hash(data)?)
    }

    fn mac(&self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(self.inner.mac(key, data)?)
    }

    fn aead_seal(
        &self,
        key: &[u8],
        data: &[u8],
        aad: Option<&[u8]>,
        nonce: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        Ok(self.inner.aead_seal(key, data, aad, nonce)?)
    }

    fn aead_open(
        &self,
        key: &[u8],
        ciphertext: &[u8],
        aad: Option<&[u8]>,
        nonce: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        Ok(self.inner.aead_open(key, ciphertext, aad, nonce)?)
    }

    fn aead_key_size(&self) -> usize {
        self.inner.aead_key_size()
    }

    fn aead_nonce_size(&self) -> usize {
        self.inner.aead_nonce_size()
    }

    fn kdf_extract(&self, salt: &[u8], ikm: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        Ok(self.inner.kdf_extract(salt, ikm)?)
    }

    fn kdf_expand(
        &self,
        prk: &[u8],
        info: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        Ok(self.inner.kdf_expand(prk, info, len)?)
    }

    fn kdf_extract_size(&self) -> usize {
        self.inner.kdf_extract_size()
    }

    fn hpke_seal(
        &self,
        remote_key: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        pt: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError> {
        Ok(self.inner.hpke_seal(remote_key, info, aad, pt)?)
    }

    fn hpke_seal_psk(
        &self,
        remote_key: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        pt: &[u8],
        psk: HpkePsk<'_>,
    ) -> Result<HpkeCiphertext, CryptoError> {
        Ok(self.inner.hpke_seal_psk(remote_key, info, aad, pt, psk)?)
    }

    fn hpke_open(
        &self,
        ciphertext: &HpkeCiphertext,
        local_secret: &HpkeSecretKey,
        local_public: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        Ok(self
            .inner
            .hpke_open(ciphertext, local_secret, local_public, info, aad)?)
    }

    fn hpke_open_psk(
        &self,
        ciphertext: &HpkeCiphertext,
        local_secret: &HpkeSecretKey,
        local_public: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        psk: HpkePsk<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        Ok(self
            .inner
            .hpke_open_psk(ciphertext, local_secret, local_public, info, aad, psk)?)
    }

    fn hpke_setup_s(
        &self,
        remote_key: &HpkePublicKey,
        info: &[u8],
    ) -> Result<(Vec<u8>, Self::HpkeContextS), CryptoError> {
        Ok(self.inner.hpke_setup_s(remote_key, info)?)
    }

    fn hpke_setup_r(
        &self,
        kem_output: &[u8],
        local_secret: &HpkeSecretKey,
        local_public: &HpkePublicKey,
        info: &[u8],
    ) -> Result<Self::HpkeContextR, CryptoError> {
        Ok(self
            .inner
            .hpke_setup_r(kem_output, local_secret, local_public, info)?)
    }

    fn kem_derive(&self, ikm: &[u8]) -> Result<(HpkeSecretKey, HpkePublicKey), CryptoError> {
        Ok(self.inner.kem_derive(ikm)?)
    }

    fn kem_generate(&self) -> Result<(HpkeSecretKey, HpkePublicKey), CryptoError> {
        Ok(self.inner.kem_generate()?)
    }

    fn kem_public_key_validate(&self, key: &HpkePublicKey) -> Result<(), CryptoError> {
        Ok(self.inner.kem_public_key_validate(key)?)
    }

    fn random_bytes(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        Ok(self.inner.random_bytes(out)?)
    }

    /// Signing keys are made by the key store, never here.
    fn signature_key_generate(
        &self,
    ) -> Result<(SignatureSecretKey, SignaturePublicKey), CryptoError> {
        Err(CryptoError::RawKeyRefused)
    }

    fn signature_key_derive_public(
        &self,
        secret_key: &SignatureSecretKey,
    ) -> Result<SignaturePublicKey, CryptoError> {
        let alias = alias_of(secret_key).ok_or(CryptoError::RawKeyRefused)?;
        let public = self.keystore.public_key(alias)?;
        Ok(SignaturePublicKey::new(public.as_bytes().to_vec()))
    }

    fn sign(&self, secret_key: &SignatureSecretKey, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let alias = alias_of(secret_key).ok_or(CryptoError::RawKeyRefused)?;
        Ok(self.keystore.sign(alias, data)?)
    }

    fn verify(
        &self,
        public_key: &SignaturePublicKey,
        signature: &[u8],
        data: &[u8],
    ) -> Result<(), CryptoError> {
        Ok(self.inner.verify(public_key, signature, data)?)
    }
}
