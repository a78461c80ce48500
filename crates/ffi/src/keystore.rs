//! The platform key store, implemented by the app: Android Keystore
//! (StrongBox where the phone has it), the iOS Secure Enclave.
//!
//! [`PlatformKeyStore`] is the foreign-language face of the client core's
//! [`KeyStore`]: keys are created inside the platform store and only public
//! keys and signatures come out. [`ForeignKeyStore`] adapts one to the other
//! and checks what comes back, so a platform that hands out a key or a
//! signature in the wrong encoding fails where it is plugged in, not in a
//! peer's credential check.

use std::fmt;
use std::sync::Arc;

use crosslock_client::keystore::{KeyStore, KeyStoreError};
use crosslock_credential::{KeyAlgorithm as CoreAlgorithm, PublicKey};

/// The signature algorithms of device keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum KeyAlgorithm {
    /// ECDSA over P-256 with SHA-256 (suite 0x0002, the RCC.16 credential
    /// key): what Android Keystore, StrongBox and the Secure Enclave hold.
    EcdsaP256,
    /// Ed25519 (suite 0x0001 and the X-Wing suite 0x004F): no phone's
    /// hardware signs with it; the SDK keeps these keys in the encrypted
    /// database instead.
    Ed25519,
}

impl KeyAlgorithm {
    fn core(self) -> CoreAlgorithm {
        match self {
            KeyAlgorithm::EcdsaP256 => CoreAlgorithm::EcdsaP256,
            KeyAlgorithm::Ed25519 => CoreAlgorithm::Ed25519,
        }
    }

    fn from_core(algorithm: CoreAlgorithm) -> Option<KeyAlgorithm> {
        match algorithm {
            CoreAlgorithm::EcdsaP256 => Some(KeyAlgorithm::EcdsaP256),
            CoreAlgorithm::Ed25519 => Some(KeyAlgorithm::Ed25519),
            CoreAlgorithm::EcdsaP384 => None,
        }
    }
}

/// A public key as the platform store returns it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PlatformPublicKey {
    /// Its algorithm.
    pub algorithm: KeyAlgorithm,
    /// For P-256 the uncompressed SEC1 point (65 bytes, `04 ‖ x ‖ y`: the
    /// last 65 bytes of Java's `PublicKey.getEncoded()`, iOS's
    /// `SecKeyCopyExternalRepresentation`); for Ed25519 the 32 raw bytes.
    pub bytes: Vec<u8>,
}

/// Why the platform key store failed.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum PlatformKeyError {
    /// No key under that alias.
    #[error("no key with alias {alias:?}")]
    NotFound { alias: String },
    /// The platform store cannot hold keys of this algorithm.
    #[error("the platform key store does not support {algorithm:?}")]
    Unsupported { algorithm: KeyAlgorithm },
    /// The store refused or failed (locked, user not authenticated,
    /// hardware error), or answered in the wrong encoding.
    #[error("platform key store: {reason}")]
    Backend { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for PlatformKeyError {
    /// An exception the foreign implementation threw that is not a
    /// `PlatformKeyError`.
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        PlatformKeyError::Backend {
            reason: format!("unexpected error: {}", e.reason),
        }
    }
}

/// The platform's key store, implemented in Kotlin or Swift.
///
/// Called from the SDK's worker threads, never from the app's main thread;
/// implementations must be thread-safe. Signatures: DER-encoded ECDSA over
/// SHA-256 of the message for P-256 (Java `SHA256withECDSA`, iOS
/// `.ecdsaSignatureMessageX962SHA256`), 64 raw bytes for Ed25519.
#[uniffi::export(with_foreign)]
pub trait PlatformKeyStore: Send + Sync {
    /// Creates a key under `alias` (failing if one exists) and returns its
    /// public half.
    fn generate(
        &self,
        alias: String,
        algorithm: KeyAlgorithm,
    ) -> Result<PlatformPublicKey, PlatformKeyError>;
    /// The public half of the key under `alias`.
    fn public_key(&self, alias: String) -> Result<PlatformPublicKey, PlatformKeyError>;
    /// Signs `message` with the key under `alias`.
    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, PlatformKeyError>;
    /// Destroys the key under `alias` (no error if there is none).
    fn delete(&self, alias: String) -> Result<(), PlatformKeyError>;
}

/// A [`PlatformKeyStore`] as the client core's [`KeyStore`].
#[derive(Clone)]
pub(crate) struct ForeignKeyStore {
    platform: Arc<dyn PlatformKeyStore>,
}

impl fmt::Debug for ForeignKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForeignKeyStore")
    }
}

impl ForeignKeyStore {
    /// Wraps the app's store.
    pub(crate) fn new(platform: Arc<dyn PlatformKeyStore>) -> Self {
        ForeignKeyStore { platform }
    }
}

fn core_error(e: PlatformKeyError) -> KeyStoreError {
    match e {
        PlatformKeyError::NotFound { alias } => KeyStoreError::NotFound(alias),
        PlatformKeyError::Unsupported { algorithm } => KeyStoreError::Unsupported(algorithm.core()),
        PlatformKeyError::Backend { reason } => KeyStoreError::Backend(reason),
    }
}

/// The client core's key from the platform's answer, refusing a key in the
/// wrong encoding or of another algorithm than asked for.
fn checked_key(
    key: PlatformPublicKey,
    expected: Option<KeyAlgorithm>,
) -> Result<PublicKey, KeyStoreError> {
    if let Some(expected) = expected
        && key.algorithm != expected
    {
        return Err(KeyStoreError::Backend(format!(
            "asked for a {expected:?} key, the platform made a {:?} key",
            key.algorithm
        )));
    }
    let length = key.bytes.len();
    PublicKey::new(key.algorithm.core(), key.bytes).ok_or_else(|| {
        KeyStoreError::Backend(format!(
            "the platform's {:?} public key ({length} bytes) is not a valid key in the \
             expected encoding (P-256: 65-byte uncompressed SEC1 point; Ed25519: 32 bytes)",
            key.algorithm
        ))
    })
}

impl KeyStore for ForeignKeyStore {
    fn generate(&self, alias: &str, algorithm: CoreAlgorithm) -> Result<PublicKey, KeyStoreError> {
        let ours =
            KeyAlgorithm::from_core(algorithm).ok_or(KeyStoreError::Unsupported(algorithm))?;
        let key = self
            .platform
            .generate(alias.to_owned(), ours)
            .map_err(core_error)?;
        checked_key(key, Some(ours)).inspect_err(|_| {
            // A key nobody can use: leave none behind under the alias.
            let _ = self.platform.delete(alias.to_owned());
        })
    }

    fn public_key(&self, alias: &str) -> Result<PublicKey, KeyStoreError> {
        let key = self
            .platform
            .public_key(alias.to_owned())
            .map_err(core_error)?;
        checked_key(key, None)
    }

    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        self.platform
            .sign(alias.to_owned(), message.to_vec())
            .map_err(core_error)
    }

    fn delete(&self, alias: &str) -> Result<(), KeyStoreError> {
        self.platform.delete(alias.to_owned()).map_err(core_error)
    }
}

/// Checks a platform key store against what the client core expects, the
/// way the SDK will use it: creates a key of `algorithm` under a fresh
/// alias, reads its public half back, signs, verifies the signature,
/// deletes the key and checks it is gone. For an app's instrumented tests
/// (and `scripts/test-bindings`); it leaves no key behind when it passes.
#[uniffi::export]
pub fn check_platform_key_store(
    store: Arc<dyn PlatformKeyStore>,
    algorithm: KeyAlgorithm,
) -> Result<(), PlatformKeyError> {
    let keys = ForeignKeyStore::new(store);
    let alias = format!("crosslock-check-{}", random_suffix()?);
    let backend = |reason: String| PlatformKeyError::Backend { reason };
    let made = keys
        .generate(&alias, algorithm.core())
        .map_err(platform_error)?;
    let outcome = (|| {
        let read = keys.public_key(&alias).map_err(platform_error)?;
        if read != made {
            return Err(backend(
                "public_key() returned another key than generate()".into(),
            ));
        }
        let message = b"crosslock platform key store check";
        let signature = keys.sign(&alias, message).map_err(platform_error)?;
        if !made.verify(message, &signature) {
            return Err(backend(format!(
                "the {algorithm:?} signature ({} bytes) does not verify: P-256 signatures \
                 must be DER-encoded ECDSA over SHA-256 of the message, Ed25519 64 raw bytes",
                signature.len()
            )));
        }
        Ok(())
    })();
    keys.delete(&alias).map_err(platform_error)?;
    outcome?;
    match keys.public_key(&alias) {
        Err(KeyStoreError::NotFound(_)) => Ok(()),
        Ok(_) => Err(backend("the key is still there after delete()".into())),
        Err(e) => Err(backend(format!(
            "after delete(), public_key() must fail with NotFound, not: {e}"
        ))),
    }
}

/// The client core's error back in the app's terms, keeping its kind.
fn platform_error(e: KeyStoreError) -> PlatformKeyError {
    match e {
        KeyStoreError::NotFound(alias) => PlatformKeyError::NotFound { alias },
        KeyStoreError::Unsupported(algorithm) => match KeyAlgorithm::from_core(algorithm) {
            Some(algorithm) => PlatformKeyError::Unsupported { algorithm },
            None => PlatformKeyError::Backend {
                reason: format!("{algorithm:?} is not a device key algorithm"),
            },
        },
        KeyStoreError::Backend(reason) => PlatformKeyError::Backend { reason },
    }
}

/// A fresh alias suffix, from the environment's entropy (the OS source).
fn random_suffix() -> Result<String, PlatformKeyError> {
    let bytes: [u8; 8] = crosslock_client::env::Environment::system().random();
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crosslock_client::keystore::SoftwareKeyStore;
    use crosslock_client::store::MemoryStore;

    /// A platform store in Rust (the software key store), answering as a
    /// well-behaved Kotlin or Swift one does, with faults to switch on.
    #[derive(Default)]
    struct Software {
        keys: Option<SoftwareKeyStore>,
        spki_keys: bool,
        sign_other_message: bool,
        keep_deleted: bool,
    }

    impl Software {
        fn new() -> Self {
            Software {
                keys: Some(SoftwareKeyStore::new(Arc::new(MemoryStore::new()))),
                ..Default::default()
            }
        }
        fn keys(&self) -> &SoftwareKeyStore {
            self.keys.as_ref().unwrap()
        }
        fn answer(&self, key: PublicKey) -> PlatformPublicKey {
            let mut bytes = key.as_bytes().to_vec();
            if self.spki_keys {
                bytes.insert(0, 0x30);
            }
            PlatformPublicKey {
                algorithm: KeyAlgorithm::from_core(key.algorithm()).unwrap(),
                bytes,
            }
        }
    }

    impl PlatformKeyStore for Software {
        fn generate(
            &self,
            alias: String,
            algorithm: KeyAlgorithm,
        ) -> Result<PlatformPublicKey, PlatformKeyError> {
            let key = self
                .keys()
                .generate(&alias, algorithm.core())
                .map_err(platform_error)?;
            Ok(self.answer(key))
        }
        fn public_key(&self, alias: String) -> Result<PlatformPublicKey, PlatformKeyError> {
            let key = self.keys().public_key(&alias).map_err(platform_error)?;
            Ok(self.answer(key))
        }
        fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, PlatformKeyError> {
            let mut message = message;
            if self.sign_other_message {
                message.push(0);
            }
            self.keys().sign(&alias, &message).map_err(platform_error)
        }
        fn delete(&self, alias: String) -> Result<(), PlatformKeyError> {
            if self.keep_deleted {
                return Ok(());
            }
            self.keys().delete(&alias).map_err(platform_error)
        }
    }

    fn check(store: Software, algorithm: KeyAlgorithm) -> Result<(), PlatformKeyError> {
        check_platform_key_store(Arc::new(store), algorithm)
    }

    fn backend_message(result: Result<(), PlatformKeyError>) -> String {
        match result {
            Err(PlatformKeyError::Backend { reason }) => reason,
            other => panic!("expected a Backend error, got {other:?}"),
        }
    }

    #[test]
    fn a_well_behaved_store_passes_for_both_algorithms() {
        check(Software::new(), KeyAlgorithm::EcdsaP256).unwrap();
        check(Software::new(), KeyAlgorithm::Ed25519).unwrap();
    }

    #[test]
    fn the_adapter_is_the_client_cores_key_store() {
        let keys = ForeignKeyStore::new(Arc::new(Software::new()));
        let public = keys.generate("k", CoreAlgorithm::EcdsaP256).unwrap();
        assert_eq!(keys.public_key("k").unwrap(), public);
        let signature = keys.sign("k", b"m").unwrap();
        assert!(public.verify(b"m", &signature));
        keys.delete("k").unwrap();
        assert!(matches!(
            keys.public_key("k"),
            Err(KeyStoreError::NotFound(alias)) if alias == "k"
        ));
        // P-384 is for provider CAs: never asked of the phone.
        assert!(matches!(
            keys.generate("ca", CoreAlgorithm::EcdsaP384),
            Err(KeyStoreError::Unsupported(CoreAlgorithm::EcdsaP384))
        ));
    }

    #[test]
    fn a_key_in_the_wrong_encoding_is_refused() {
        let store = Software {
            spki_keys: true,
            ..Software::new()
        };
        assert!(backend_message(check(store, KeyAlgorithm::EcdsaP256)).contains("not a valid key"));
    }

    #[test]
    fn a_signature_that_does_not_verify_is_refused() {
        let store = Software {
            sign_other_message: true,
            ..Software::new()
        };
        assert!(backend_message(check(store, KeyAlgorithm::EcdsaP256)).contains("does not verify"));
    }

    #[test]
    fn a_key_that_survives_delete_is_refused() {
        let store = Software {
            keep_deleted: true,
            ..Software::new()
        };
        assert!(backend_message(check(store, KeyAlgorithm::Ed25519)).contains("still there"));
    }

    #[test]
    fn a_key_of_another_algorithm_is_refused() {
        struct Liar(Software);
        impl PlatformKeyStore for Liar {
            fn generate(
                &self,
                alias: String,
                _: KeyAlgorithm,
            ) -> Result<PlatformPublicKey, PlatformKeyError> {
                self.0.generate(alias, KeyAlgorithm::Ed25519)
            }
            fn public_key(&self, alias: String) -> Result<PlatformPublicKey, PlatformKeyError> {
                self.0.public_key(alias)
            }
            fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, PlatformKeyError> {
                self.0.sign(alias, message)
            }
            fn delete(&self, alias: String) -> Result<(), PlatformKeyError> {
                self.0.delete(alias)
            }
        }
        let result =
            check_platform_key_store(Arc::new(Liar(Software::new())), KeyAlgorithm::EcdsaP256);
        assert!(backend_message(result).contains("asked for a EcdsaP256 key"));
    }
}
