//! The platform key store, implemented by the app: Android Keystore
//! (StrongBox where the phone has it), the iOS Secure Enclave.
//!
//! [`PlatformKeyStore`] is the foreign-language face of the client core's
//! [`KeyStore`]: keys are created inside the platform store and only public
//! keys and signatures come out. [`ForeignKeyStore`] adapts one to the other
//! and checks what comes back, so a platform that hands out a key or a
//! signature in the wrong encoding fails where it is plugged in, not in a
//! peer's credential check.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use crosslock_client::keystore::{AttestedKey, KeyStore, KeyStoreError, check_attested_key};
use crosslock_credential::{
    AwsLcVerifier, KeyAlgorithm as CoreAlgorithm, PublicKey, SignatureVerifier,
};

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

/// A key the platform store generated with an attestation challenge.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PlatformAttestedKey {
    /// Its public half (P-256, the 65-byte SEC1 point).
    pub key: PlatformPublicKey,
    /// Its attestation certificate chain, leaf first, each DER: Android's
    /// `KeyStore.getCertificateChain(alias)`, each `getEncoded()`.
    pub chain: Vec<Vec<u8>>,
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
    /// Creates a P-256 signing key under `alias` (failing if one exists)
    /// whose attestation carries `challenge`, and returns it with its
    /// attestation chain; `None` where the platform cannot attest (iOS:
    /// App Attest attests its own keys, through the `Attester`). Android:
    /// `KeyGenParameterSpec.Builder(alias, PURPOSE_SIGN)` as in `generate`,
    /// plus `.setAttestationChallenge(challenge)`, then
    /// `getCertificateChain(alias)`. Called once per enrolment, after the
    /// KDS's nonce, to make the participant key the enrolment attests.
    fn generate_attested(
        &self,
        alias: String,
        challenge: Vec<u8>,
    ) -> Result<Option<PlatformAttestedKey>, PlatformKeyError>;
}

/// A [`PlatformKeyStore`] as the client core's [`KeyStore`], checking
/// every answer before the client core uses it: keys in the expected
/// encoding and of the algorithm asked for, the same public key for an
/// alias every time it is asked (FFI-KEY-2), and every signature verified
/// under that key (FFI-KEY-1) before anything it signed leaves the device.
#[derive(Clone)]
pub(crate) struct ForeignKeyStore {
    platform: Arc<dyn PlatformKeyStore>,
    /// The public key each alias reported first in this process.
    reported: Arc<Mutex<HashMap<String, PublicKey>>>,
    /// The last refusal, for the device to return typed.
    faults: Arc<KeyStoreFaults>,
}

impl fmt::Debug for ForeignKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForeignKeyStore")
    }
}

/// What kind of fault is logged (the fixed text a log may hold).
#[derive(Debug, Clone, Copy)]
enum FaultCategory {
    /// The app's store threw (its text is the app's).
    Platform,
    /// The adapter refused the store's answer (FFI-KEY-1..2).
    Refused,
    /// The attestation of a generated key was refused (FFI-KEY-3).
    Attestation,
}

impl FaultCategory {
    fn as_str(self) -> &'static str {
        match self {
            FaultCategory::Platform => "platform-error",
            FaultCategory::Refused => "answer-refused",
            FaultCategory::Attestation => "attestation-refused",
        }
    }
}

/// What the adapter refused of the app's key store since it was last
/// asked: the client core sees only a `KeyStoreError` (often wrapped by
/// MLS), so the device reads the refusal here to throw
/// `CrosslockError.KeyStore` instead of a generic error.
#[derive(Debug, Default)]
pub(crate) struct KeyStoreFaults(Mutex<Option<String>>);

impl KeyStoreFaults {
    /// Keeps `reason` for the app and logs `category` only: the reason
    /// may be the app's own exception text (which can name a contact or
    /// a number, GUIDE: no raw phone number in any log), so it goes back
    /// to the app typed and never into a log.
    fn record(&self, category: FaultCategory, reason: &str) {
        tracing::warn!(
            category = category.as_str(),
            "the app's platform key store failed or was refused"
        );
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason.to_owned());
    }

    /// The last refusal, clearing it.
    pub(crate) fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl ForeignKeyStore {
    /// Wraps the app's store.
    pub(crate) fn new(platform: Arc<dyn PlatformKeyStore>) -> Self {
        ForeignKeyStore {
            platform,
            reported: Arc::default(),
            faults: Arc::default(),
        }
    }

    /// Where the adapter's refusals are kept.
    pub(crate) fn faults(&self) -> Arc<KeyStoreFaults> {
        self.faults.clone()
    }

    fn reported(&self) -> std::sync::MutexGuard<'_, HashMap<String, PublicKey>> {
        self.reported.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A refusal of the store's answer: recorded, and the client core's error.
    fn refuse(&self, reason: String) -> KeyStoreError {
        self.faults.record(FaultCategory::Refused, &reason);
        KeyStoreError::Backend(reason)
    }

    /// Pins `key` as `alias`'s, refusing another key than the one the
    /// alias reported before (FFI-KEY-2).
    fn pin(&self, alias: &str, key: PublicKey) -> Result<PublicKey, KeyStoreError> {
        let mut reported = self.reported();
        match reported.get(alias) {
            Some(before) if *before != key => {
                drop(reported);
                Err(self.refuse(format!(
                    "the platform key store reported another public key for {alias:?} than \
                     before; a key under an alias never changes"
                )))
            }
            Some(_) => Ok(key),
            None => {
                reported.insert(alias.to_owned(), key.clone());
                Ok(key)
            }
        }
    }

    /// The key `alias` reported, asking the store when this process has
    /// not seen it yet.
    fn reported_key(&self, alias: &str) -> Result<PublicKey, KeyStoreError> {
        if let Some(key) = self.reported().get(alias) {
            return Ok(key.clone());
        }
        let key = self
            .platform
            .public_key(alias.to_owned())
            .map_err(|e| self.platform_failure(e))?;
        let key = self.checked_key(key, None)?;
        self.pin(alias, key)
    }

    /// The platform's own error, kept for the device when it is a failure
    /// (not a `NotFound` or `Unsupported` the SDK answers itself).
    fn platform_failure(&self, e: PlatformKeyError) -> KeyStoreError {
        if let PlatformKeyError::Backend { reason } = &e {
            self.faults.record(FaultCategory::Platform, reason);
        }
        core_error(e)
    }

    /// The client core's key from the platform's answer, refusing a key in
    /// the wrong encoding or of another algorithm than asked for.
    fn checked_key(
        &self,
        key: PlatformPublicKey,
        expected: Option<KeyAlgorithm>,
    ) -> Result<PublicKey, KeyStoreError> {
        if let Some(expected) = expected
            && key.algorithm != expected
        {
            return Err(self.refuse(format!(
                "asked for a {expected:?} key, the platform made a {:?} key",
                key.algorithm
            )));
        }
        let length = key.bytes.len();
        PublicKey::new(key.algorithm.core(), key.bytes).ok_or_else(|| {
            self.refuse(format!(
                "the platform's {:?} public key ({length} bytes) is not a valid key in the \
                 expected encoding (P-256: 65-byte uncompressed SEC1 point; Ed25519: 32 bytes)",
                key.algorithm
            ))
        })
    }
}

fn core_error(e: PlatformKeyError) -> KeyStoreError {
    match e {
        PlatformKeyError::NotFound { alias } => KeyStoreError::NotFound(alias),
        PlatformKeyError::Unsupported { algorithm } => KeyStoreError::Unsupported(algorithm.core()),
        PlatformKeyError::Backend { reason } => KeyStoreError::Backend(reason),
    }
}

impl KeyStore for ForeignKeyStore {
    fn generate(&self, alias: &str, algorithm: CoreAlgorithm) -> Result<PublicKey, KeyStoreError> {
        let ours =
            KeyAlgorithm::from_core(algorithm).ok_or(KeyStoreError::Unsupported(algorithm))?;
        let key = self
            .platform
            .generate(alias.to_owned(), ours)
            .map_err(|e| self.platform_failure(e))?;
        match self.checked_key(key, Some(ours)) {
            Ok(key) => {
                // A new key under the alias: it replaces whatever the alias
                // held before (the store refuses to overwrite a live key).
                self.reported().insert(alias.to_owned(), key.clone());
                Ok(key)
            }
            Err(e) => {
                // A key nobody can use: leave none behind under the alias.
                let _ = self.platform.delete(alias.to_owned());
                Err(e)
            }
        }
    }

    fn public_key(&self, alias: &str) -> Result<PublicKey, KeyStoreError> {
        let key = self
            .platform
            .public_key(alias.to_owned())
            .map_err(|e| self.platform_failure(e))?;
        let key = self.checked_key(key, None)?;
        self.pin(alias, key)
    }

    /// FFI-KEY-1: the signature must verify under the key the alias
    /// reported (DER ECDSA over SHA-256 for P-256, the 64 raw bytes of
    /// Ed25519: the encoding MLS and X.509 use), or nothing signed by it is
    /// used.
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        let signature = self
            .platform
            .sign(alias.to_owned(), message.to_vec())
            .map_err(|e| self.platform_failure(e))?;
        let key = self.reported_key(alias).map_err(|e| match e {
            KeyStoreError::NotFound(_) => self.refuse(format!(
                "the platform key store signed under {alias:?} but reports no key for it"
            )),
            other => other,
        })?;
        if !AwsLcVerifier.verify(&key, message, &signature) {
            return Err(self.refuse(format!(
                "the platform key store's {:?} signature for {alias:?} ({} bytes) does not \
                 verify under the public key it reported: refused, nothing signed by it is used \
                 (P-256 signatures must be DER-encoded ECDSA over SHA-256 of the message, \
                 Ed25519 64 raw bytes)",
                key.algorithm(),
                signature.len()
            )));
        }
        Ok(signature)
    }

    fn delete(&self, alias: &str) -> Result<(), KeyStoreError> {
        self.platform
            .delete(alias.to_owned())
            .map_err(|e| self.platform_failure(e))?;
        self.reported().remove(alias);
        Ok(())
    }

    /// FFI-KEY-3: the key is a P-256 key in the expected encoding, and the
    /// chain an Android Key Attestation of that very key with the
    /// challenge asked for (ENR-KEY-2); otherwise the key is deleted and
    /// the refusal kept for the app (`CrosslockError.KeyStore`).
    fn generate_attested(
        &self,
        alias: &str,
        challenge: &[u8],
    ) -> Result<Option<AttestedKey>, KeyStoreError> {
        let Some(answer) = self
            .platform
            .generate_attested(alias.to_owned(), challenge.to_vec())
            .map_err(|e| self.platform_failure(e))?
        else {
            return Ok(None);
        };
        let checked = self
            .checked_key(answer.key, Some(KeyAlgorithm::EcdsaP256))
            .and_then(|public| {
                let attested = AttestedKey {
                    public,
                    chain: answer.chain,
                };
                match check_attested_key(&attested, challenge) {
                    Ok(()) => Ok(attested),
                    Err(e) => {
                        self.faults
                            .record(FaultCategory::Attestation, &e.to_string());
                        Err(e)
                    }
                }
            });
        match checked {
            Ok(attested) => {
                self.reported()
                    .insert(alias.to_owned(), attested.public.clone());
                Ok(Some(attested))
            }
            Err(e) => {
                // A key nobody can use: leave none behind under the alias.
                let _ = self.platform.delete(alias.to_owned());
                Err(e)
            }
        }
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
    keys.generate(&alias, algorithm.core())
        .map_err(platform_error)?;
    let outcome = (|| -> Result<(), PlatformKeyError> {
        // The adapter refuses another key than generate() reported
        // (FFI-KEY-2) and a signature that does not verify under it
        // (FFI-KEY-1).
        keys.public_key(&alias).map_err(platform_error)?;
        keys.sign(&alias, b"crosslock platform key store check")
            .map_err(platform_error)?;
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
        KeyStoreError::Attestation(reason) => PlatformKeyError::Backend {
            reason: format!("attestation refused: {reason}"),
        },
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
        /// Signs with a second key it keeps under `other:<alias>`.
        sign_with_other_key: bool,
        /// Answers every signing request with these bytes.
        garbage_signature: Option<Vec<u8>>,
        /// Reports the `other:<alias>` key from `public_key`.
        report_other_key: bool,
        /// Throws this from `sign`, as the app's store does on a fault.
        throws: Option<String>,
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
            self.keys()
                .generate(&format!("other:{alias}"), algorithm.core())
                .map_err(platform_error)?;
            Ok(self.answer(key))
        }
        fn public_key(&self, alias: String) -> Result<PlatformPublicKey, PlatformKeyError> {
            let alias = if self.report_other_key {
                format!("other:{alias}")
            } else {
                alias
            };
            let key = self.keys().public_key(&alias).map_err(platform_error)?;
            Ok(self.answer(key))
        }
        fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, PlatformKeyError> {
            if let Some(reason) = &self.throws {
                return Err(uniffi::UnexpectedUniFFICallbackError::new(reason).into());
            }
            if let Some(garbage) = &self.garbage_signature {
                self.keys().public_key(&alias).map_err(platform_error)?;
                return Ok(garbage.clone());
            }
            let mut message = message;
            if self.sign_other_message {
                message.push(0);
            }
            let alias = if self.sign_with_other_key {
                format!("other:{alias}")
            } else {
                alias
            };
            self.keys().sign(&alias, &message).map_err(platform_error)
        }
        fn delete(&self, alias: String) -> Result<(), PlatformKeyError> {
            if self.keep_deleted {
                return Ok(());
            }
            self.keys().delete(&alias).map_err(platform_error)
        }
        fn generate_attested(
            &self,
            _: String,
            _: Vec<u8>,
        ) -> Result<Option<PlatformAttestedKey>, PlatformKeyError> {
            Ok(None)
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

    /// The app's exception text (here naming a number) goes back to the
    /// app typed, and never into a log: only a fixed category does.
    #[test]
    fn the_apps_fault_text_never_reaches_a_log() {
        let store = Software {
            throws: Some(
                "android.security.KeyStoreException: locked by +447700900123\n\tat Foo".into(),
            ),
            ..Software::new()
        };
        let keys = ForeignKeyStore::new(Arc::new(store));
        keys.generate("k", CoreAlgorithm::EcdsaP256).unwrap();
        let logs = crate::testlog::captured(|| {
            assert!(keys.sign("k", b"m").is_err());
        });
        assert!(logs.contains("platform-error"), "{logs}");
        assert!(!logs.contains("7700900123"), "{logs}");
        assert!(!logs.contains("locked by"), "{logs}");
        // The app still gets its own reason back.
        assert!(keys.faults().take().unwrap().contains("locked by"));
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

    /// The adapter over a faulty store, with a P-256 key under "k" whose
    /// public half it has seen.
    fn adapter(store: Software) -> (ForeignKeyStore, PublicKey) {
        let keys = ForeignKeyStore::new(Arc::new(store));
        let public = keys.generate("k", CoreAlgorithm::EcdsaP256).unwrap();
        (keys, public)
    }

    fn refused_signature(keys: &ForeignKeyStore) -> String {
        match keys.sign("k", b"an MLS message") {
            Err(KeyStoreError::Backend(reason)) => {
                assert_eq!(keys.faults().take().as_deref(), Some(reason.as_str()));
                assert!(keys.faults().take().is_none(), "taking a fault clears it");
                reason
            }
            other => panic!("expected a refused signature, got {other:?}"),
        }
    }

    #[test]
    fn a_signature_by_another_key_never_leaves_the_adapter() {
        // A valid DER ECDSA signature over the very message, by a key the
        // store never reported: what a store mixing up aliases, or one
        // signing for someone else, hands back.
        let (keys, _) = adapter(Software {
            sign_with_other_key: true,
            ..Software::new()
        });
        assert!(refused_signature(&keys).contains("does not verify under the public key"));
        // And after a restart, when the key is learned from public_key().
        let liar: Arc<dyn PlatformKeyStore> = Arc::new(Software {
            sign_with_other_key: true,
            ..Software::new()
        });
        ForeignKeyStore::new(liar.clone())
            .generate("k", CoreAlgorithm::EcdsaP256)
            .unwrap();
        let restarted = ForeignKeyStore::new(liar);
        assert!(refused_signature(&restarted).contains("does not verify"));
    }

    /// An ECDSA signature's DER (`30 len 02 rlen r 02 slen s`) as the raw
    /// 64 bytes `r ‖ s` some platform APIs return.
    fn der_to_raw(der: &[u8]) -> Vec<u8> {
        let integer = |at: usize| {
            let len = der[at + 1] as usize;
            let value = &der[at + 2..at + 2 + len];
            let value = &value[value.len().saturating_sub(32)..];
            let mut fixed = vec![0; 32 - value.len()];
            fixed.extend_from_slice(value);
            (fixed, at + 2 + len)
        };
        let (r, next) = integer(2);
        let (s, _) = integer(next);
        [r, s].concat()
    }

    #[test]
    fn garbage_from_the_store_is_refused() {
        let p256 = SoftwareKeyStore::new(Arc::new(MemoryStore::new()));
        p256.generate("real", CoreAlgorithm::EcdsaP256).unwrap();
        // A valid signature of the message in the wrong encoding (r ‖ s),
        // and its DER by another key.
        let der = p256.sign("real", b"an MLS message").unwrap();
        let raw_signature = der_to_raw(&der);
        assert_eq!(raw_signature.len(), 64);
        for garbage in [Vec::new(), vec![0; 72], vec![0x30; 8], raw_signature, der] {
            let (keys, _) = adapter(Software {
                garbage_signature: Some(garbage.clone()),
                ..Software::new()
            });
            let reason = refused_signature(&keys);
            assert!(reason.contains("does not verify"), "{garbage:?}: {reason}");
        }
    }

    #[test]
    fn a_public_key_that_changes_is_refused() {
        let honest = Software::new();
        let shared = honest.keys.clone();
        let (keys, public) = adapter(honest);
        assert_eq!(keys.public_key("k").unwrap(), public);
        // The same keys, now reporting the alias's other key.
        let switched = ForeignKeyStore {
            platform: Arc::new(Software {
                keys: shared,
                report_other_key: true,
                ..Software::default()
            }),
            ..keys.clone()
        };
        match switched.public_key("k") {
            Err(KeyStoreError::Backend(reason)) => assert!(reason.contains("another public key")),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(switched.faults().take().is_some());
    }

    #[test]
    fn what_the_sdk_answers_itself_is_no_fault() {
        // Ed25519 keys live in the database: the platform's NotFound and
        // Unsupported are the SDK's cue, not a failure to report.
        let keys = ForeignKeyStore::new(Arc::new(Software::new()));
        assert!(matches!(
            keys.sign("ed25519-key", b"m"),
            Err(KeyStoreError::NotFound(_))
        ));
        assert!(matches!(
            keys.public_key("ed25519-key"),
            Err(KeyStoreError::NotFound(_))
        ));
        assert!(keys.faults().take().is_none());
        let (keys, public) = adapter(Software::new());
        let signature = keys.sign("k", b"m").unwrap();
        assert!(public.verify(b"m", &signature));
        assert!(keys.faults().take().is_none());
    }

    /// A store that attests under a test root: honestly, or for another
    /// key than the one it reports.
    struct Attesting {
        inner: Software,
        root: crosslock_attest::testing::TestAttestationRoot,
        other_key: bool,
    }

    impl PlatformKeyStore for Attesting {
        fn generate(
            &self,
            alias: String,
            algorithm: KeyAlgorithm,
        ) -> Result<PlatformPublicKey, PlatformKeyError> {
            self.inner.generate(alias, algorithm)
        }
        fn public_key(&self, alias: String) -> Result<PlatformPublicKey, PlatformKeyError> {
            self.inner.public_key(alias)
        }
        fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, PlatformKeyError> {
            self.inner.sign(alias, message)
        }
        fn delete(&self, alias: String) -> Result<(), PlatformKeyError> {
            self.inner.delete(alias)
        }
        fn generate_attested(
            &self,
            alias: String,
            challenge: Vec<u8>,
        ) -> Result<Option<PlatformAttestedKey>, PlatformKeyError> {
            let key = self.generate(alias.clone(), KeyAlgorithm::EcdsaP256)?;
            let attested = if self.other_key {
                self.public_key(format!("other:{alias}"))?
            } else {
                key.clone()
            };
            let chain = self.root.attest(&attested.bytes, &challenge).map_err(|e| {
                PlatformKeyError::Backend {
                    reason: e.to_string(),
                }
            })?;
            Ok(Some(PlatformAttestedKey { key, chain }))
        }
    }

    /// FFI-KEY-3: an attested key is used only when its chain attests that
    /// key with the challenge; otherwise it is deleted and the refusal kept.
    #[test]
    fn an_attestation_of_another_key_is_refused_and_the_key_deleted() {
        let root = || crosslock_attest::testing::TestAttestationRoot::new([3; 32], 1_800_000_000);
        let honest = ForeignKeyStore::new(Arc::new(Attesting {
            inner: Software::new(),
            root: root().unwrap(),
            other_key: false,
        }));
        let attested = honest
            .generate_attested("a", b"challenge")
            .unwrap()
            .unwrap();
        assert_eq!(honest.public_key("a").unwrap(), attested.public);
        assert!(honest.faults().take().is_none());

        let liar = ForeignKeyStore::new(Arc::new(Attesting {
            inner: Software::new(),
            root: root().unwrap(),
            other_key: true,
        }));
        match liar.generate_attested("a", b"challenge") {
            Err(KeyStoreError::Attestation(reason)) => {
                assert!(reason.contains("another key"), "{reason}");
                assert!(liar.faults().take().unwrap().contains("another key"));
            }
            other => panic!("expected a refused attestation, got {other:?}"),
        }
        assert!(matches!(
            liar.public_key("a"),
            Err(KeyStoreError::NotFound(_))
        ));
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
            fn generate_attested(
                &self,
                alias: String,
                challenge: Vec<u8>,
            ) -> Result<Option<PlatformAttestedKey>, PlatformKeyError> {
                self.0.generate_attested(alias, challenge)
            }
        }
        let result =
            check_platform_key_store(Arc::new(Liar(Software::new())), KeyAlgorithm::EcdsaP256);
        assert!(backend_message(result).contains("asked for a EcdsaP256 key"));
    }
}
