//! A real provider in-process and phones on it, through the bindings'
//! Rust API (what Kotlin and Swift call).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crosslock_attest::testing::TestAttestationRoot;
use crosslock_client::env::Environment;
use crosslock_client::keystore::{KeyStore, SoftwareKeyStore};
use crosslock_client::store::MemoryStore;
use crosslock_credential::{KeyAlgorithm as CoreAlgorithm, PublicKey};
use crosslock_ffi::{
    CallbackError, CrosslockDevice, CrosslockError, DeviceKeys, DeviceSetup, Event, EventListener,
    KeyAlgorithm, PlatformAttestedKey, PlatformKeyError, PlatformKeyStore, PlatformPublicKey,
};
use crosslock_provider::{Provider, ProviderConfig};

pub(crate) const ALICE: &str = "+15550100001";
pub(crate) const BOB: &str = "+15550100002";
pub(crate) const CAROL: &str = "+15550100003";

/// A provider on loopback, on its own runtime, in a temporary directory.
pub(crate) struct Net {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) provider: Provider,
    // Dropped last: the provider's tasks run on it.
    _runtime: tokio::runtime::Runtime,
}

impl Net {
    pub(crate) fn start() -> Net {
        Net::start_with(|_, _| {})
    }

    /// A provider whose configuration `configure` adjusts (given the
    /// directory it runs in).
    pub(crate) fn start_with(configure: impl FnOnce(&mut ProviderConfig, &Path)) -> Net {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = ProviderConfig::default();
        config.provider.name = "a.example".into();
        config.provider.prefixes = vec!["+1".into()];
        config.provider.listen = ([127, 0, 0, 1], 0).into();
        config.provider.admin_listen = ([127, 0, 0, 1], 0).into();
        config.provider.federation_listen = ([127, 0, 0, 1], 0).into();
        config.transparency.epoch_interval_secs = 1;
        configure(&mut config, dir.path());
        let provider = runtime
            .block_on(Provider::start(
                config,
                &dir.path().join("provider"),
                Environment::system(),
            ))
            .unwrap();
        Net {
            dir,
            provider,
            _runtime: runtime,
        }
    }

    /// Stops the provider (nothing answers on its ports any more); the
    /// directory, where the devices live, is kept.
    pub(crate) fn shut_down(self) -> tempfile::TempDir {
        let Net {
            dir,
            provider,
            _runtime,
        } = self;
        _runtime.block_on(provider.shutdown());
        dir
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn setup(&self, number: &str) -> DeviceSetup {
        DeviceSetup {
            number: number.into(),
            profile: "android".into(),
            server: self.provider.public_url(),
            tls_ca_pem: std::fs::read_to_string(self.provider.tls_ca_path()).unwrap(),
        }
    }

    /// A device in `name`, not enrolled, its keys in the database (or
    /// `key_store`).
    pub(crate) fn device(
        &self,
        name: &str,
        number: &str,
        key_store: Option<Arc<dyn PlatformKeyStore>>,
    ) -> Arc<CrosslockDevice> {
        CrosslockDevice::create(
            dir_string(&self.path(name)),
            self.setup(number),
            DeviceKeys {
                database_key: None,
                key_store,
            },
        )
        .unwrap()
    }

    /// An enrolled phone in `name`.
    pub(crate) fn phone(&self, name: &str, number: &str) -> Arc<CrosslockDevice> {
        let device = self.device(name, number, None);
        device.enroll("any-subscriber".into(), false, None).unwrap();
        device
    }
}

pub(crate) fn dir_string(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

/// The same device, opened again from its directory.
pub(crate) fn reopen(path: &Path) -> Arc<CrosslockDevice> {
    CrosslockDevice::open(
        dir_string(path),
        DeviceKeys {
            database_key: None,
            key_store: None,
        },
    )
    .unwrap()
}

/// Syncs until an event matches (the DS fans out asynchronously).
pub(crate) fn sync_until(device: &CrosslockDevice, want: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut all = Vec::new();
    for _ in 0..30 {
        let events = device.sync(1).unwrap();
        let found = events.iter().any(&want);
        all.extend(events);
        if found {
            return all;
        }
    }
    panic!("not seen; got {all:?}");
}

/// Waits up to about a minute for `done` (counted sleeps, no clock).
pub(crate) fn eventually(what: &str, done: impl Fn() -> bool) {
    for _ in 0..1200 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

pub(crate) fn is_text(event: &Event, want: &str) -> bool {
    matches!(event, Event::Text { text, .. } if text == want)
}

/// An event listener that records what it is handed; with `fail`, it
/// throws (returns an error) for every event, as a buggy app's would.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) fail: bool,
    pub(crate) events: Mutex<Vec<Event>>,
    pub(crate) stopped: Mutex<Vec<Option<String>>>,
}

impl Recorder {
    pub(crate) fn failing() -> Arc<Recorder> {
        Arc::new(Recorder {
            fail: true,
            ..Recorder::default()
        })
    }

    pub(crate) fn has_text(&self, want: &str) -> bool {
        self.events.lock().unwrap().iter().any(|e| is_text(e, want))
    }

    pub(crate) fn stops(&self) -> Vec<Option<String>> {
        self.stopped.lock().unwrap().clone()
    }
}

impl EventListener for Recorder {
    fn on_event(&self, event: Event) -> Result<(), CallbackError> {
        self.events.lock().unwrap().push(event);
        if self.fail {
            return Err(CallbackError::Failed {
                reason: "IllegalStateException: the app's listener is broken".into(),
            });
        }
        Ok(())
    }

    fn on_stopped(&self, error: Option<CrosslockError>) -> Result<(), CallbackError> {
        self.stopped
            .lock()
            .unwrap()
            .push(error.map(|e| e.to_string()));
        if self.fail {
            return Err(CallbackError::Failed {
                reason: "broken on stop too".into(),
            });
        }
        Ok(())
    }
}

/// How a test key store misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// None: signs with the key it reported.
    Honest,
    /// Signs with a second key it never reported.
    OtherKey,
    /// Returns bytes that are no signature.
    Garbage,
    /// Attests its keys with another challenge than asked for.
    OtherChallenge,
}

/// A platform key store in Rust holding P-256 keys (what StrongBox and
/// the Secure Enclave hold), with a fault to switch on, recording the
/// public keys it made.
pub(crate) struct TestKeyStore {
    keys: SoftwareKeyStore,
    pub(crate) fault: Mutex<Fault>,
    pub(crate) made: Mutex<Vec<Vec<u8>>>,
    /// Android Key Attestation under this root, when the store attests.
    attestation: Option<Arc<TestAttestationRoot>>,
}

impl TestKeyStore {
    pub(crate) fn new(fault: Fault) -> Arc<TestKeyStore> {
        Arc::new(TestKeyStore {
            keys: SoftwareKeyStore::new(Arc::new(MemoryStore::new())),
            fault: Mutex::new(fault),
            made: Mutex::default(),
            attestation: None,
        })
    }

    /// A store that attests the keys it generates with a challenge, under
    /// `root` (as Android Keystore does under Google's roots).
    pub(crate) fn attesting(root: &Arc<TestAttestationRoot>, fault: Fault) -> Arc<TestKeyStore> {
        Arc::new(TestKeyStore {
            keys: SoftwareKeyStore::new(Arc::new(MemoryStore::new())),
            fault: Mutex::new(fault),
            made: Mutex::default(),
            attestation: Some(root.clone()),
        })
    }

    fn answer(key: PublicKey) -> PlatformPublicKey {
        PlatformPublicKey {
            algorithm: KeyAlgorithm::EcdsaP256,
            bytes: key.as_bytes().to_vec(),
        }
    }
}

fn backend(e: impl std::fmt::Display) -> PlatformKeyError {
    PlatformKeyError::Backend {
        reason: e.to_string(),
    }
}

fn not_found(alias: &str) -> PlatformKeyError {
    PlatformKeyError::NotFound {
        alias: alias.into(),
    }
}

impl PlatformKeyStore for TestKeyStore {
    fn generate(
        &self,
        alias: String,
        algorithm: KeyAlgorithm,
    ) -> Result<PlatformPublicKey, PlatformKeyError> {
        if algorithm != KeyAlgorithm::EcdsaP256 {
            return Err(PlatformKeyError::Unsupported { algorithm });
        }
        let key = self
            .keys
            .generate(&alias, CoreAlgorithm::EcdsaP256)
            .map_err(backend)?;
        self.keys
            .generate(&format!("other:{alias}"), CoreAlgorithm::EcdsaP256)
            .map_err(backend)?;
        self.made.lock().unwrap().push(key.as_bytes().to_vec());
        Ok(Self::answer(key))
    }

    fn public_key(&self, alias: String) -> Result<PlatformPublicKey, PlatformKeyError> {
        let key = self
            .keys
            .public_key(&alias)
            .map_err(|_| not_found(&alias))?;
        Ok(Self::answer(key))
    }

    fn sign(&self, alias: String, message: Vec<u8>) -> Result<Vec<u8>, PlatformKeyError> {
        self.keys
            .public_key(&alias)
            .map_err(|_| not_found(&alias))?;
        match *self.fault.lock().unwrap() {
            Fault::Honest | Fault::OtherChallenge => {
                self.keys.sign(&alias, &message).map_err(backend)
            }
            Fault::OtherKey => self
                .keys
                .sign(&format!("other:{alias}"), &message)
                .map_err(backend),
            Fault::Garbage => Ok(vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]),
        }
    }

    fn generate_attested(
        &self,
        alias: String,
        challenge: Vec<u8>,
    ) -> Result<Option<PlatformAttestedKey>, PlatformKeyError> {
        let Some(root) = &self.attestation else {
            return Ok(None);
        };
        let key = self.generate(alias, KeyAlgorithm::EcdsaP256)?;
        let challenge = match *self.fault.lock().unwrap() {
            Fault::OtherChallenge => vec![0; 32],
            _ => challenge,
        };
        let chain = root.attest(&key.bytes, &challenge).map_err(backend)?;
        Ok(Some(PlatformAttestedKey { key, chain }))
    }

    fn delete(&self, alias: String) -> Result<(), PlatformKeyError> {
        let _ = self.keys.delete(&format!("other:{alias}"));
        match self.keys.delete(&alias) {
            Ok(()) | Err(crosslock_client::keystore::KeyStoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }
}
