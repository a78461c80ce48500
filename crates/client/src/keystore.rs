//! Where a device's private signing keys live.
//!
//! The [`KeyStore`] trait is what a phone's hardware key store (Android
//! Keystore / StrongBox, the iOS Secure Enclave) implements: keys are
//! created inside it and only signatures come out. [`SoftwareKeyStore`] is
//! the software implementation, keeping secrets in the device's encrypted
//! database.

use std::fmt::Debug;
use std::sync::Arc;

use crosslock_credential::{KeyAlgorithm, PublicKey};
use mls_rs::CipherSuite;
use mls_rs::crypto::SignatureSecretKey;
use mls_rs_core::crypto::{CipherSuiteProvider, CryptoProvider};
use mls_rs_crypto_awslc::AwsLcCryptoProvider;
use zeroize::Zeroizing;

use crate::store::{StateStore, StoreError, Table, Write, WriteBatch};

/// Why the key store failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// No key under that alias.
    #[error("no key with alias {0:?}")]
    NotFound(String),
    /// The algorithm is not available in this key store.
    #[error("key store does not support {0:?}")]
    Unsupported(KeyAlgorithm),
    /// The key store refused or failed (locked, hardware error, …).
    #[error("key store failure: {0}")]
    Backend(String),
    /// The attestation the key store handed back with a new key does not
    /// check (ENR-KEY-2): not an Android Key Attestation chain, another
    /// challenge than asked for, or another key than the one it reported.
    /// The new key was deleted; the device keeps its old one.
    #[error("the key store's attestation is refused: {0}")]
    Attestation(String),
}

/// A key the key store generated with a platform attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedKey {
    /// Its public half.
    pub public: PublicKey,
    /// The platform's attestation certificate chain, leaf first, each DER:
    /// Android Key Attestation (`KeyStore.getCertificateChain(alias)`),
    /// the leaf certifying the key with the challenge it was generated with.
    pub chain: Vec<Vec<u8>>,
}

/// Holds private keys and signs with them; never reveals them.
///
/// Signatures are in the encoding MLS and X.509 share: DER-encoded ECDSA
/// over SHA-256 for P-256, raw 64-byte Ed25519.
pub trait KeyStore: Send + Sync + Debug {
    /// Creates a key under `alias` (replacing none: fails if it exists) and
    /// returns its public half.
    fn generate(&self, alias: &str, algorithm: KeyAlgorithm) -> Result<PublicKey, KeyStoreError>;
    /// The public half of the key under `alias`.
    fn public_key(&self, alias: &str) -> Result<PublicKey, KeyStoreError>;
    /// Signs `message` with the key under `alias`.
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyStoreError>;
    /// Destroys the key under `alias`.
    fn delete(&self, alias: &str) -> Result<(), KeyStoreError>;
    /// Creates a P-256 signing key under `alias` (replacing none) whose
    /// platform attestation carries `challenge` (Android: generated with
    /// `KeyGenParameterSpec.Builder.setAttestationChallenge(challenge)`),
    /// and returns it with its attestation chain. `Ok(None)`: this store
    /// cannot attest the keys it makes, and made none (the default: a
    /// software store, the Secure Enclave, whose keys App Attest does not
    /// attest).
    fn generate_attested(
        &self,
        alias: &str,
        challenge: &[u8],
    ) -> Result<Option<AttestedKey>, KeyStoreError> {
        let _ = (alias, challenge);
        Ok(None)
    }
}

/// ENR-KEY-2: what a key store answered for [`KeyStore::generate_attested`]
/// is what was asked for before anything uses it: a P-256 key, an Android
/// Key Attestation chain (ATT-A-1: 2–10 certificates, the KeyDescription
/// in the leaf only) whose leaf claims exactly that key and whose
/// KeyDescription carries `challenge`. The chain's signatures and root are
/// the KDS's to judge (KDS-ENR-5); this catches a store that mixed up keys
/// or challenges before the enrolment spends a nonce on it.
pub fn check_attested_key(attested: &AttestedKey, challenge: &[u8]) -> Result<(), KeyStoreError> {
    let refuse = |why: String| Err(KeyStoreError::Attestation(why));
    if attested.public.algorithm() != KeyAlgorithm::EcdsaP256 {
        return refuse(format!(
            "the key store attested a {:?} key; the participant key is P-256",
            attested.public.algorithm()
        ));
    }
    let chain =
        match crosslock_attest::UnverifiedAndroidAttestation::from_der_chain(&attested.chain) {
            Ok(chain) => chain,
            Err(e) => {
                return refuse(format!(
                    "not an Android Key Attestation chain (leaf first, DER): {e}"
                ));
            }
        };
    if chain.key_description().attestation_challenge != challenge {
        return refuse(
            "the attestation carries another challenge than the key was to be generated with"
                .into(),
        );
    }
    let claimed = chain
        .claimed_public_key()
        .ok()
        .and_then(|spki| PublicKey::from_spki_der(&spki));
    if claimed.as_ref() != Some(&attested.public) {
        return refuse(
            "the attestation certifies another key than the one the key store reported".into(),
        );
    }
    Ok(())
}

/// Software keys, stored in a [`StateStore`] (the encrypted device database).
#[derive(Debug, Clone)]
pub struct SoftwareKeyStore {
    store: Arc<dyn StateStore>,
    crypto: AwsLcCryptoProvider,
    /// Keys already read from the store (every MLS message is signed).
    loaded: Arc<std::sync::Mutex<std::collections::HashMap<String, LoadedKey>>>,
}

type LoadedKey = (KeyAlgorithm, Zeroizing<Vec<u8>>, PublicKey);

impl SoftwareKeyStore {
    /// Keys kept in `store`.
    pub fn new(store: Arc<dyn StateStore>) -> Self {
        SoftwareKeyStore {
            store,
            crypto: AwsLcCryptoProvider::default(),
            loaded: Default::default(),
        }
    }

    fn suite_for(algorithm: KeyAlgorithm) -> Result<CipherSuite, KeyStoreError> {
        match algorithm {
            KeyAlgorithm::EcdsaP256 => Ok(CipherSuite::P256_AES128),
            KeyAlgorithm::Ed25519 => Ok(CipherSuite::CURVE25519_AES128),
            KeyAlgorithm::EcdsaP384 => Ok(CipherSuite::P384_AES256),
        }
    }

    fn provider(
        &self,
        algorithm: KeyAlgorithm,
    ) -> Result<<AwsLcCryptoProvider as CryptoProvider>::CipherSuiteProvider, KeyStoreError> {
        self.crypto
            .cipher_suite_provider(Self::suite_for(algorithm)?)
            .ok_or(KeyStoreError::Unsupported(algorithm))
    }

    fn load(&self, alias: &str) -> Result<LoadedKey, KeyStoreError> {
        if let Some(key) = self.cache().get(alias) {
            return Ok(key.clone());
        }
        let key = self.read(alias)?;
        self.cache().insert(alias.to_owned(), key.clone());
        Ok(key)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, LoadedKey>> {
        self.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self, alias: &str) -> Result<LoadedKey, KeyStoreError> {
        let record = self
            .store
            .get(Table::KeySecret, alias.as_bytes())
            .map_err(backend)?
            .ok_or_else(|| KeyStoreError::NotFound(alias.to_owned()))?;
        decode_record(&record).ok_or_else(|| KeyStoreError::Backend("corrupt key record".into()))
    }
}

fn backend(e: StoreError) -> KeyStoreError {
    KeyStoreError::Backend(e.to_string())
}

fn algorithm_code(a: KeyAlgorithm) -> u8 {
    match a {
        KeyAlgorithm::EcdsaP256 => 1,
        KeyAlgorithm::Ed25519 => 2,
        KeyAlgorithm::EcdsaP384 => 3,
    }
}

/// Record: algorithm (1) ‖ secret length (u16) ‖ secret ‖ public key.
fn encode_record(a: KeyAlgorithm, secret: &[u8], public: &PublicKey) -> Zeroizing<Vec<u8>> {
    let mut v = Zeroizing::new(Vec::with_capacity(
        3 + secret.len() + public.as_bytes().len(),
    ));
    v.push(algorithm_code(a));
    v.extend_from_slice(&(secret.len() as u16).to_be_bytes());
    v.extend_from_slice(secret);
    v.extend_from_slice(public.as_bytes());
    v
}

fn decode_record(v: &[u8]) -> Option<(KeyAlgorithm, Zeroizing<Vec<u8>>, PublicKey)> {
    let algorithm = match *v.first()? {
        1 => KeyAlgorithm::EcdsaP256,
        2 => KeyAlgorithm::Ed25519,
        3 => KeyAlgorithm::EcdsaP384,
        _ => return None,
    };
    let len = usize::from(u16::from_be_bytes([*v.get(1)?, *v.get(2)?]));
    let secret = Zeroizing::new(v.get(3..3 + len)?.to_vec());
    let public = PublicKey::new(algorithm, v.get(3 + len..)?.to_vec())?;
    Some((algorithm, secret, public))
}

impl KeyStore for SoftwareKeyStore {
    fn generate(&self, alias: &str, algorithm: KeyAlgorithm) -> Result<PublicKey, KeyStoreError> {
        if self
            .store
            .get(Table::KeySecret, alias.as_bytes())
            .map_err(backend)?
            .is_some()
        {
            return Err(KeyStoreError::Backend(format!(
                "alias {alias:?} already holds a key"
            )));
        }
        let provider = self.provider(algorithm)?;
        let (secret, public) = provider
            .signature_key_generate()
            .map_err(|e| KeyStoreError::Backend(format!("{e:?}")))?;
        let public = PublicKey::new(algorithm, public.as_bytes().to_vec())
            .ok_or_else(|| KeyStoreError::Backend("unexpected public key encoding".into()))?;
        let record = encode_record(algorithm, secret.as_bytes(), &public);
        self.store
            .commit(WriteBatch(vec![Write::Put(
                Table::KeySecret,
                alias.as_bytes().to_vec(),
                record.to_vec(),
            )]))
            .map_err(backend)?;
        Ok(public)
    }

    fn public_key(&self, alias: &str) -> Result<PublicKey, KeyStoreError> {
        Ok(self.load(alias)?.2)
    }

    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        let (algorithm, secret, _) = self.load(alias)?;
        let provider = self.provider(algorithm)?;
        provider
            .sign(&SignatureSecretKey::new_slice(&secret), message)
            .map_err(|e| KeyStoreError::Backend(format!("{e:?}")))
    }

    fn delete(&self, alias: &str) -> Result<(), KeyStoreError> {
        self.cache().remove(alias);
        self.store
            .commit(WriteBatch(vec![Write::Delete(
                Table::KeySecret,
                alias.as_bytes().to_vec(),
            )]))
            .map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn signs_verifiably_and_never_overwrites() {
        let ks = SoftwareKeyStore::new(Arc::new(MemoryStore::new()));
        for (alias, alg) in [("p", KeyAlgorithm::EcdsaP256), ("e", KeyAlgorithm::Ed25519)] {
            let public = ks.generate(alias, alg).unwrap();
            assert_eq!(ks.public_key(alias).unwrap(), public);
            let sig = ks.sign(alias, b"message").unwrap();
            assert!(public.verify(b"message", &sig));
            assert!(!public.verify(b"messagE", &sig));
            assert!(ks.generate(alias, alg).is_err());
        }
        ks.delete("p").unwrap();
        assert!(matches!(
            ks.sign("p", b"x"),
            Err(KeyStoreError::NotFound(_))
        ));
    }
}
