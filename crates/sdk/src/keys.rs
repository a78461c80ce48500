//! Where the device's signing keys live: in the platform's key store when
//! it can hold them, in the encrypted database otherwise.
//!
//! | Suite's signature | Android (Keystore / StrongBox) | iOS (Secure Enclave) |
//! |---|---|---|
//! | ECDSA P-256 (0x0002) | in hardware, non-exportable | in the Secure Enclave |
//! | Ed25519 (0x0001, 0x004F X-Wing) | software: encrypted database | software: encrypted database |
//!
//! Neither platform's hardware signs Ed25519 (the Secure Enclave holds
//! P-256 keys only; StrongBox offers P-256 ECDSA), so those keys fall back
//! to [`SoftwareKeyStore`], whose secrets sit in the SQLCipher database
//! under the database key — which the app should keep in the platform key
//! store (`Options::database_key`). X-Wing's KEM keys are MLS
//! encryption keys and always live in the database, like every MLS
//! epoch secret.

use std::sync::Arc;

use crosslock_client::credential::{KeyAlgorithm, PublicKey};
use crosslock_client::keystore::{AttestedKey, KeyStore, KeyStoreError, SoftwareKeyStore};

/// The platform's key store for the algorithms it holds in hardware, and
/// software keys in the encrypted database for the rest: a key the
/// platform answers `Unsupported` for falls back, except P-256, which
/// every supported phone holds in hardware (its refusal is the app's
/// error to see).
#[derive(Debug, Clone)]
pub struct PlatformKeys {
    platform: Arc<dyn KeyStore>,
    software: SoftwareKeyStore,
}

impl PlatformKeys {
    /// `platform` is asked first for every new key; when it answers
    /// [`KeyStoreError::Unsupported`], the key is made in `software`.
    pub fn new(platform: Arc<dyn KeyStore>, software: SoftwareKeyStore) -> Self {
        PlatformKeys { platform, software }
    }
}

impl KeyStore for PlatformKeys {
    fn generate(&self, alias: &str, algorithm: KeyAlgorithm) -> Result<PublicKey, KeyStoreError> {
        match self.platform.generate(alias, algorithm) {
            // Only what no phone's hardware signs falls back. A P-256 key
            // the platform refuses is an error the app must see: made in
            // software silently, the credential key would not be where
            // the app (and its attestation) says it is.
            Err(KeyStoreError::Unsupported(a))
                if a == algorithm && algorithm != KeyAlgorithm::EcdsaP256 =>
            {
                self.software.generate(alias, algorithm)
            }
            other => other,
        }
    }

    fn public_key(&self, alias: &str) -> Result<PublicKey, KeyStoreError> {
        match self.platform.public_key(alias) {
            Err(KeyStoreError::NotFound(_)) => self.software.public_key(alias),
            other => other,
        }
    }

    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        match self.platform.sign(alias, message) {
            Err(KeyStoreError::NotFound(_)) => self.software.sign(alias, message),
            other => other,
        }
    }

    fn delete(&self, alias: &str) -> Result<(), KeyStoreError> {
        let platform = self.platform.delete(alias);
        let software = self.software.delete(alias);
        match (platform, software) {
            (Ok(()), _) | (_, Ok(())) => Ok(()),
            (Err(KeyStoreError::NotFound(_)), Err(e)) | (Err(e), _) => Err(e),
        }
    }

    /// The platform's alone: a software key has no attestation to offer.
    fn generate_attested(
        &self,
        alias: &str,
        challenge: &[u8],
    ) -> Result<Option<AttestedKey>, KeyStoreError> {
        self.platform.generate_attested(alias, challenge)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crosslock_client::store::{MemoryStore, StateStore};

    /// A platform store that holds P-256 keys only (what the Secure
    /// Enclave and StrongBox offer), backed by its own database.
    #[derive(Debug)]
    struct P256Only(SoftwareKeyStore);

    impl KeyStore for P256Only {
        fn generate(&self, alias: &str, a: KeyAlgorithm) -> Result<PublicKey, KeyStoreError> {
            if a != KeyAlgorithm::EcdsaP256 {
                return Err(KeyStoreError::Unsupported(a));
            }
            self.0.generate(alias, a)
        }
        fn public_key(&self, alias: &str) -> Result<PublicKey, KeyStoreError> {
            self.0.public_key(alias)
        }
        fn sign(&self, alias: &str, m: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
            self.0.sign(alias, m)
        }
        fn delete(&self, alias: &str) -> Result<(), KeyStoreError> {
            self.0.delete(alias)
        }
    }

    fn software() -> SoftwareKeyStore {
        let store: Arc<dyn StateStore> = Arc::new(MemoryStore::default());
        SoftwareKeyStore::new(store)
    }

    #[test]
    fn p256_goes_to_the_platform_and_ed25519_falls_back() {
        let platform = software();
        let fallback = software();
        let keys = PlatformKeys::new(Arc::new(P256Only(platform.clone())), fallback.clone());
        let p256 = keys.generate("p", KeyAlgorithm::EcdsaP256).unwrap();
        let ed = keys.generate("e", KeyAlgorithm::Ed25519).unwrap();
        assert_eq!(platform.public_key("p").unwrap(), p256);
        assert!(matches!(
            fallback.public_key("p"),
            Err(KeyStoreError::NotFound(_))
        ));
        assert_eq!(fallback.public_key("e").unwrap(), ed);
        assert!(matches!(
            platform.public_key("e"),
            Err(KeyStoreError::NotFound(_))
        ));
        // Each signs from where it lives; both are found by alias.
        assert!(!keys.sign("p", b"m").unwrap().is_empty());
        assert_eq!(keys.sign("e", b"m").unwrap().len(), 64);
        keys.delete("p").unwrap();
        keys.delete("e").unwrap();
        assert!(keys.sign("p", b"m").is_err());
        assert!(keys.sign("e", b"m").is_err());
    }

    /// A platform that cannot make a P-256 key says so; the key is not
    /// made in software behind the app's back.
    #[test]
    fn a_p256_key_the_platform_refuses_is_not_made_in_software() {
        let fallback = software();
        let keys = PlatformKeys::new(Arc::new(NoHardware), fallback.clone());
        assert!(matches!(
            keys.generate("p", KeyAlgorithm::EcdsaP256),
            Err(KeyStoreError::Unsupported(KeyAlgorithm::EcdsaP256))
        ));
        assert!(fallback.public_key("p").is_err());
        keys.generate("e", KeyAlgorithm::Ed25519).unwrap();
    }

    /// A platform with no hardware key store at all.
    #[derive(Debug)]
    struct NoHardware;

    impl KeyStore for NoHardware {
        fn generate(&self, _: &str, a: KeyAlgorithm) -> Result<PublicKey, KeyStoreError> {
            Err(KeyStoreError::Unsupported(a))
        }
        fn public_key(&self, alias: &str) -> Result<PublicKey, KeyStoreError> {
            Err(KeyStoreError::NotFound(alias.into()))
        }
        fn sign(&self, alias: &str, _: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
            Err(KeyStoreError::NotFound(alias.into()))
        }
        fn delete(&self, alias: &str) -> Result<(), KeyStoreError> {
            Err(KeyStoreError::NotFound(alias.into()))
        }
    }
}
