//! [`CrosslockDevice`]: one device of one number with its provider, the
//! SDK's `Messenger` behind a blocking interface.
//!
//! Every method blocks until the SDK is done (a provider round trip, a
//! file's upload): call them from a background thread (Kotlin
//! `withContext(Dispatchers.IO)`, Swift `Task.detached`), never the main
//! thread. Calls on one device run one at a time (a mutex); they may come
//! from any thread. The device owns a small tokio runtime (two workers)
//! that the SDK's async code runs on.

use std::path::Path;
use std::sync::Arc;

use crosslock_client::credential::PhoneNumber;
use crosslock_client::env::Environment;
use crosslock_client::wire::api::kds::Assurance;
use crosslock_sdk::{Messenger, Options, Setup, parse_profile};

use crate::attest::{Attester, ForeignAttester};
use crate::core::{Core, app_error, runtime};
use crate::error::CrosslockError;
use crate::events::{Event, EventListener, TransparencyAlert};
use crate::files::{FailedFile, FileProgress, ForeignProgress, SavedFile, SavedFiles, SentFile};
use crate::ids::{conversation_id, conversation_string};
use crate::keystore::{ForeignKeyStore, KeyStoreFaults, PlatformKeyStore};
use crate::listener::Listening;
use crate::renewal::{ForeignTokens, SubscriberTokenSource};
use crate::state::{
    Enrolled, Maintained, Renewed, SafetyNumber, SecurityState, SentMessage, Started,
};

/// KeyPackages published per suite at enrolment (what `crosslock device
/// enroll` publishes; the lifecycle refills the stock).
const KEY_PACKAGES: usize = 20;

/// What a new device needs.
#[derive(Debug, Clone, uniffi::Record)]
pub struct DeviceSetup {
    /// The device's number, E.164 (`+447700900123`).
    pub number: String,
    /// `android` or `ios`: which phone this is (suites follow it).
    pub profile: String,
    /// The provider's base URL (`https://…`).
    pub server: String,
    /// The provider's TLS root(s), PEM: nothing else is trusted for it.
    pub tls_ca_pem: String,
}

/// How the app keeps the device's secrets.
#[derive(uniffi::Record)]
pub struct DeviceKeys {
    /// The 32-byte key of the encrypted database, which the app keeps in
    /// the platform key store (Android Keystore-wrapped, iOS Keychain).
    /// `None` keeps it in a file beside the database: for tests only.
    pub database_key: Option<Vec<u8>>,
    /// The platform key store for the signing keys it holds in hardware
    /// (P-256); Ed25519 keys (suites 0x0001, 0x004F) stay in the encrypted
    /// database. `None`: every key in the database.
    pub key_store: Option<Arc<dyn PlatformKeyStore>>,
}

impl std::fmt::Debug for DeviceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceKeys")
            .field("database_key", &self.database_key.as_ref().map(|_| "…"))
            .field("key_store", &self.key_store.is_some())
            .finish()
    }
}

/// One device of one number, with its provider.
#[derive(uniffi::Object)]
pub struct CrosslockDevice {
    /// The listener thread; stopped and joined when the device is
    /// dropped (crate::listener). Dropped first, so the runtime goes
    /// down on the thread that drops the device.
    listening: Listening,
    core: Arc<Core>,
}

impl std::fmt::Debug for CrosslockDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CrosslockDevice")
    }
}

/// The SDK's options for the app's keys, and where the key store
/// adapter's refusals are kept.
fn options(keys: DeviceKeys) -> Result<(Options, Option<Arc<KeyStoreFaults>>), CrosslockError> {
    let database_key = match keys.database_key {
        Some(bytes) => Some(zeroize::Zeroizing::new(
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| CrosslockError::input("database_key: expected 32 bytes"))?,
        )),
        None => None,
    };
    let platform = keys.key_store.map(ForeignKeyStore::new);
    let faults = platform.as_ref().map(ForeignKeyStore::faults);
    let options = Options {
        env: Environment::system(),
        database_key,
        platform_keys: platform
            .map(|k| Arc::new(k) as Arc<dyn crosslock_client::keystore::KeyStore>),
        // An app syncs in the background (after a push) before anyone
        // reads: it says "read" itself, with `sendDisplayReceipt`.
        read_receipts: false,
        ..Options::default()
    };
    Ok((options, faults))
}

/// A member's number, refused without echoing it.
fn number(text: &str) -> Result<PhoneNumber, CrosslockError> {
    PhoneNumber::parse(text).map_err(|e| {
        CrosslockError::input(format!(
            "not a phone number ({e}); use +E.164, e.g. +447700900123"
        ))
    })
}

#[uniffi::export]
impl CrosslockDevice {
    /// Creates a device in `dir` (which must not hold one): fetches the
    /// provider's descriptor over TLS pinned to `setup.tls_ca_pem`, makes
    /// the device's keys and its encrypted database. Enrol it next.
    #[uniffi::constructor]
    pub fn create(
        dir: String,
        setup: DeviceSetup,
        keys: DeviceKeys,
    ) -> Result<Arc<CrosslockDevice>, CrosslockError> {
        let runtime = runtime()?;
        let setup = Setup {
            number: setup.number,
            profile: parse_profile(&setup.profile)?,
            server: setup.server,
            tls_ca_pem: setup.tls_ca_pem,
        };
        let (options, faults) = options(keys)?;
        let messenger = runtime
            .block_on(Messenger::create(Path::new(&dir), setup, options))
            .map_err(|e| app_error(e, faults.as_deref()))?;
        Ok(CrosslockDevice::wrap(messenger, runtime, faults))
    }

    /// Opens the device in `dir` with the keys it was created with.
    #[uniffi::constructor]
    pub fn open(dir: String, keys: DeviceKeys) -> Result<Arc<CrosslockDevice>, CrosslockError> {
        let runtime = runtime()?;
        let (options, faults) = options(keys)?;
        let messenger = Messenger::open(Path::new(&dir), options)
            .map_err(|e| app_error(e, faults.as_deref()))?;
        Ok(CrosslockDevice::wrap(messenger, runtime, faults))
    }

    /// This device's number.
    pub fn number(&self) -> String {
        self.core.lock().number().as_str().to_owned()
    }

    /// This device's instance id.
    pub fn device_id(&self) -> String {
        self.core.lock().device_id().to_owned()
    }

    /// Whether the device is enrolled.
    pub fn is_enrolled(&self) -> bool {
        self.core.lock().is_enrolled()
    }

    /// Proves the number with the carrier (`subscriber_token`: the SIM's
    /// secret), gets credentials, publishes KeyPackages. `replace`: this is
    /// a new phone for the number; its other devices are revoked.
    /// `attester`: the platform's device attestation, offered to the KDS
    /// bound to its one-time nonce (none by default). On Android, a key
    /// store that attests (`PlatformKeyStore.generateAttested`) makes the
    /// P-256 participant key after the nonce, with its challenge, and its
    /// chain is the attestation: the `attester` is asked only when the key
    /// store has none to offer.
    #[uniffi::method(default(attester = None))]
    pub fn enroll(
        &self,
        subscriber_token: String,
        replace: bool,
        attester: Option<Arc<dyn Attester>>,
    ) -> Result<Enrolled, CrosslockError> {
        let attester = match attester {
            Some(app) => {
                let keys = self.core.local(|m| Ok(m.device().participant_keys()?))?;
                Some(ForeignAttester::new(app, &keys)?)
            }
            None => None,
        };
        let enrolled = self.core.call(|m| {
            Box::pin(async move {
                let attester = attester.as_ref().map(|a| a as &dyn crosslock_sdk::Attester);
                m.enroll(&subscriber_token, KEY_PACKAGES, attester, replace)
                    .await
            })
        })?;
        Ok(Enrolled {
            credentials: enrolled.credentials as u32,
            assurance: match enrolled.assurance {
                Assurance::HardwareVerified => "hardware-verified",
                Assurance::Hardware => "hardware",
                Assurance::None => "none",
            }
            .to_owned(),
            key_packages: enrolled.key_packages as u32,
            key_packages_failed: enrolled.key_packages_failed,
        })
    }

    /// Renews this device's credentials before they run out (the
    /// `CredentialRenewalDue` event says when): a fresh carrier proof from
    /// `subscriber_token`, then a re-enrolment of this device id with its
    /// own token (KDS-ENR-8), for the same keys. Contacts see no key
    /// change; the next lifecycle run presents the new credential in every
    /// conversation. `attester` as for `enroll`.
    #[uniffi::method(default(attester = None))]
    pub fn renew_credentials(
        &self,
        subscriber_token: String,
        attester: Option<Arc<dyn Attester>>,
    ) -> Result<Renewed, CrosslockError> {
        let attester = match attester {
            Some(app) => {
                let keys = self.core.local(|m| Ok(m.device().participant_keys()?))?;
                Some(ForeignAttester::new(app, &keys)?)
            }
            None => None,
        };
        let renewed = self.core.call(|m| {
            Box::pin(async move {
                let attester = attester.as_ref().map(|a| a as &dyn crosslock_sdk::Attester);
                m.renew_credentials(&subscriber_token, attester).await
            })
        })?;
        Ok(Renewed {
            credentials: renewed.credentials as u32,
            expires_at: renewed.expires_at,
            conversations: renewed.conversations as u32,
            key_packages: renewed.key_packages as u32,
            key_packages_failed: renewed.key_packages_failed,
        })
    }

    /// Sets (or clears, with `null`) the app's source of subscriber
    /// tokens: with one, the lifecycle renews the credentials by itself
    /// when they are due (SDK-RENEW-2) instead of raising
    /// `CredentialRenewalDue`.
    pub fn set_subscriber_tokens(&self, source: Option<Arc<dyn SubscriberTokenSource>>) {
        self.core.lock().set_subscriber_tokens(
            source.map(|s| {
                Arc::new(ForeignTokens::new(s)) as Arc<dyn crosslock_sdk::SubscriberTokens>
            }),
        );
    }

    /// When this device's credentials expire (Unix seconds).
    pub fn credentials_expire_at(&self) -> Result<u64, CrosslockError> {
        self.core.local(|m| m.credentials_expire_at())
    }

    /// Registers the platform's push token (FCM, APNs); pushes carry
    /// nothing but "sync now".
    pub fn register_push(&self, token: String) -> Result<(), CrosslockError> {
        self.core
            .call(|m| Box::pin(async move { m.register_push(&token).await }))
    }

    /// The 1:1 with `peer`, created when there is none.
    pub fn open_chat(&self, peer: String) -> Result<Started, CrosslockError> {
        let started = self
            .core
            .call(|m| Box::pin(async move { m.open_chat(&peer).await }))?;
        Ok(started.into())
    }

    /// A group with every device of each member.
    pub fn create_group(&self, members: Vec<String>) -> Result<Started, CrosslockError> {
        let started = self
            .core
            .call(|m| Box::pin(async move { m.create_group(&members).await }))?;
        Ok(started.into())
    }

    /// Adds every device of `member`; returns the new epoch.
    pub fn add_member(&self, conversation: String, member: String) -> Result<u64, CrosslockError> {
        let id = conversation_id(&conversation)?;
        self.core
            .call(|m| Box::pin(async move { m.add_member(&id, &member).await }))
    }

    /// Removes every device of `member`; returns the new epoch.
    pub fn remove_member(
        &self,
        conversation: String,
        member: String,
    ) -> Result<u64, CrosslockError> {
        let id = conversation_id(&conversation)?;
        self.core
            .call(|m| Box::pin(async move { m.remove_member(&id, &member).await }))
    }

    /// Removes one device of `member` (a lost or retired phone; the
    /// number's other devices stay); returns the new epoch.
    pub fn remove_device(
        &self,
        conversation: String,
        member: String,
        device_id: String,
    ) -> Result<u64, CrosslockError> {
        let id = conversation_id(&conversation)?;
        let member = number(&member)?;
        self.core
            .call(|m| Box::pin(async move { m.remove_device(&id, &member, &device_id).await }))
    }

    /// Asks to leave; another member's next commit applies it.
    pub fn leave(&self, conversation: String) -> Result<(), CrosslockError> {
        let id = conversation_id(&conversation)?;
        self.core
            .call(|m| Box::pin(async move { m.leave(&id).await }))
    }

    /// Every conversation this device has.
    pub fn conversations(&self) -> Result<Vec<String>, CrosslockError> {
        let ids = self.core.local(|m| m.conversations())?;
        Ok(ids.iter().map(conversation_string).collect())
    }

    /// Sends a text.
    pub fn send_text(
        &self,
        conversation: String,
        text: String,
    ) -> Result<SentMessage, CrosslockError> {
        let id = conversation_id(&conversation)?;
        let sent = self
            .core
            .call(|m| Box::pin(async move { m.send_text(&id, &text).await }))?;
        Ok(sent.into())
    }

    /// Sends a typing indicator; `None` where a member reads the deployed
    /// formats only (typing is a Crosslock extra, never sent unencrypted).
    pub fn send_typing(
        &self,
        conversation: String,
        active: bool,
    ) -> Result<Option<SentMessage>, CrosslockError> {
        let id = conversation_id(&conversation)?;
        let sent = self
            .core
            .call(|m| Box::pin(async move { m.send_typing(&id, active).await }))?;
        Ok(sent.map(Into::into))
    }

    /// Sends a signed display receipt for `message_id` (when the app shows
    /// it).
    pub fn send_display_receipt(
        &self,
        conversation: String,
        message_id: String,
    ) -> Result<(), CrosslockError> {
        let id = conversation_id(&conversation)?;
        self.core
            .call(|m| Box::pin(async move { m.send_display_receipt(&id, &message_id).await }))
    }

    /// Fetches the inbox once, waiting up to `wait_secs` for something, and
    /// returns what happened, in order. (Or let [`Self::start`] do it.)
    pub fn sync(&self, wait_secs: u64) -> Result<Vec<Event>, CrosslockError> {
        let events = self
            .core
            .call(|m| Box::pin(async move { m.sync(wait_secs).await }))?;
        Ok(events.iter().map(Event::from).collect())
    }

    /// Encrypts the file at `path` on this device, uploads it and sends its
    /// key and link in the conversation. `media_type`: from the extension
    /// when `None`.
    pub fn send_file(
        &self,
        conversation: String,
        path: String,
        media_type: Option<String>,
        progress: Option<Arc<dyn FileProgress>>,
    ) -> Result<SentFile, CrosslockError> {
        let id = conversation_id(&conversation)?;
        let sent = self.core.call(|m| {
            Box::pin(async move {
                let progress = ForeignProgress::new(progress);
                m.send_file(&id, Path::new(&path), media_type.as_deref(), &progress)
                    .await
            })
        })?;
        Ok(SentFile {
            size: sent.size,
            uploaded_bytes: sent.uploaded_bytes,
        })
    }

    /// Downloads, authenticates and decrypts received files into `out_dir`:
    /// every file waiting, or the one an `Event.File` named by
    /// `message_id` (which throws its own error when it fails). Each file
    /// that fails is reported in `failed`; the others are saved.
    pub fn save_files(
        &self,
        out_dir: String,
        message_id: Option<String>,
        progress: Option<Arc<dyn FileProgress>>,
    ) -> Result<SavedFiles, CrosslockError> {
        let saved = self.core.call(|m| {
            Box::pin(async move {
                let progress = ForeignProgress::new(progress);
                m.save_files(Path::new(&out_dir), message_id.as_deref(), &progress)
                    .await
            })
        })?;
        Ok(SavedFiles {
            files: saved
                .files
                .into_iter()
                .map(|f| SavedFile {
                    path: f.path.display().to_string(),
                    size: f.size,
                    media_type: f.media_type,
                })
                .collect(),
            failed: saved
                .failed
                .into_iter()
                .map(|f| FailedFile {
                    message_id: f.message_id,
                    name: f.name,
                    kind: f.error.kind().into(),
                    reason: f.error.to_string(),
                    kept: f.kept,
                })
                .collect(),
        })
    }

    /// A conversation's security state.
    pub fn security_state(&self, conversation: String) -> Result<SecurityState, CrosslockError> {
        let id = conversation_id(&conversation)?;
        Ok(self.core.local(|m| m.security_state(&id))?.into())
    }

    /// The safety number with `peer` in the conversation.
    pub fn safety_number(
        &self,
        conversation: String,
        peer: String,
    ) -> Result<SafetyNumber, CrosslockError> {
        let id = conversation_id(&conversation)?;
        Ok(self.core.local(|m| m.safety_number(&id, &peer))?.into())
    }

    /// Marks `peer`'s current keys verified after the user compared safety
    /// numbers (`scanned`: the other phone's QR payload, if scanned).
    pub fn confirm_safety_number(
        &self,
        conversation: String,
        peer: String,
        scanned: Option<Vec<u8>>,
    ) -> Result<(), CrosslockError> {
        let id = conversation_id(&conversation)?;
        self.core
            .local(|m| m.confirm_safety_number(&id, &peer, scanned.as_deref()))
    }

    /// Runs the lifecycle jobs that are due (KeyPackage stock, daily
    /// maintenance, revocation lists, own transparency history, credential
    /// refresh). Call it when the app wakes; [`Self::start`] does.
    pub fn maintain(&self) -> Result<Maintained, CrosslockError> {
        let done = self
            .core
            .call(|m| Box::pin(async move { m.maintain().await }))?;
        Ok(Maintained {
            maintenance: done.maintenance,
            key_packages_uploaded: done.key_packages_uploaded as u32,
            monitored: done.monitored.is_some(),
            credentials_refreshed: done
                .credentials_refreshed
                .iter()
                .map(conversation_string)
                .collect(),
            expired_removed: done
                .expired_removed
                .iter()
                .map(conversation_string)
                .collect(),
            renewed: done.renewed.is_some(),
            failed: done
                .failed
                .iter()
                .map(|(job, why)| format!("{job}: {why}"))
                .collect(),
            events: done.events.iter().map(Event::from).collect(),
        })
    }

    /// Checks this number's own transparency history now; returns every
    /// alert still standing.
    pub fn monitor(&self) -> Result<Vec<TransparencyAlert>, CrosslockError> {
        let monitored = self
            .core
            .call(|m| Box::pin(async move { m.monitor().await }))?;
        Ok(monitored
            .alerts
            .iter()
            .map(TransparencyAlert::from)
            .collect())
    }

    /// Every transparency alert still standing.
    pub fn transparency_alerts(&self) -> Result<Vec<TransparencyAlert>, CrosslockError> {
        let alerts = self.core.local(|m| m.transparency_alerts())?;
        Ok(alerts.iter().map(TransparencyAlert::from).collect())
    }

    /// Approves a device of this number an alert shows as new (the user's
    /// own new phone): every credential of it, or only `credential`.
    pub fn approve_device(
        &self,
        device_id: String,
        credential: Option<String>,
    ) -> Result<Vec<String>, CrosslockError> {
        self.core
            .local(|m| m.approve_device(&device_id, credential.as_deref()))
    }

    /// Starts the device's life on its own thread: lifecycle jobs when
    /// due, then the inbox (2-second long-polls, the device unlocked
    /// between them so other calls get through), each event handed to
    /// `listener` in order. An unreachable provider is retried with
    /// backoff; another error stops it and is passed to `on_stopped`.
    /// Fails if it is already running. One thread per device, ever.
    pub fn start(&self, listener: Arc<dyn EventListener>) -> Result<(), CrosslockError> {
        self.listening.start(self.core.clone(), listener)
    }

    /// Stops the listener and waits for its thread to end (after its
    /// current poll: a few seconds); `on_stopped(null)` has been called
    /// when this returns. From the listener's own callback it only asks:
    /// the thread ends when the callback returns. Closing the device
    /// stops it too.
    pub fn stop(&self) {
        self.listening.stop();
    }
}

impl CrosslockDevice {
    fn wrap(
        messenger: Messenger,
        runtime: tokio::runtime::Runtime,
        key_faults: Option<Arc<KeyStoreFaults>>,
    ) -> Arc<CrosslockDevice> {
        Arc::new(CrosslockDevice {
            listening: Listening::new(),
            core: Arc::new(Core::new(messenger, runtime, key_faults)),
        })
    }

    /// What the device's calls run on.
    pub(crate) fn core(&self) -> &Core {
        &self.core
    }
}
