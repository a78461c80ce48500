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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crosslock_client::env::Environment;
use crosslock_sdk::{Messenger, Options, SdkError, Setup, parse_profile};

use crate::error::CrosslockError;
use crate::events::{Event, EventListener, TransparencyAlert, conversation_id};
use crate::files::{FileProgress, ForeignProgress, SavedFile, SentFile};
use crate::keystore::{ForeignKeyStore, PlatformKeyStore};
use crate::state::{Enrolled, Maintained, SafetyNumber, SecurityState, SentMessage, Started};

/// KeyPackages published per suite at enrolment (what `crosslock device
/// enroll` publishes; the lifecycle refills the stock).
const KEY_PACKAGES: usize = 20;

/// How long one long-poll of the listener thread waits: other calls on the
/// device wait at most this long for it.
const LISTEN_POLL_SECS: u64 = 2;

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
    messenger: Arc<Mutex<Messenger>>,
    runtime: Arc<tokio::runtime::Runtime>,
    listening: Arc<AtomicBool>,
}

impl std::fmt::Debug for CrosslockDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CrosslockDevice")
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CrosslockError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("crosslock-sdk")
        .enable_all()
        .build()
        .map_err(|e| CrosslockError::internal(format!("cannot start the async runtime: {e}")))
}

fn options(keys: DeviceKeys) -> Result<Options, CrosslockError> {
    let database_key = match keys.database_key {
        Some(bytes) => Some(zeroize::Zeroizing::new(
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| CrosslockError::input("database_key: expected 32 bytes"))?,
        )),
        None => None,
    };
    Ok(Options {
        env: Environment::system(),
        database_key,
        platform_keys: keys.key_store.map(|k| {
            Arc::new(ForeignKeyStore::new(k)) as Arc<dyn crosslock_client::keystore::KeyStore>
        }),
        // An app syncs in the background (after a push) before anyone
        // reads: it says "read" itself, with `sendDisplayReceipt`.
        read_receipts: false,
        ..Options::default()
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
        let options = options(keys)?;
        let messenger = runtime.block_on(Messenger::create(Path::new(&dir), setup, options))?;
        Ok(CrosslockDevice::wrap(messenger, runtime))
    }

    /// Opens the device in `dir` with the keys it was created with.
    #[uniffi::constructor]
    pub fn open(dir: String, keys: DeviceKeys) -> Result<Arc<CrosslockDevice>, CrosslockError> {
        let runtime = runtime()?;
        let messenger = Messenger::open(Path::new(&dir), options(keys)?)?;
        Ok(CrosslockDevice::wrap(messenger, runtime))
    }

    /// This device's number.
    pub fn number(&self) -> String {
        self.lock().number().as_str().to_owned()
    }

    /// This device's instance id.
    pub fn device_id(&self) -> String {
        self.lock().device_id().to_owned()
    }

    /// Whether the device is enrolled.
    pub fn is_enrolled(&self) -> bool {
        self.lock().is_enrolled()
    }

    /// Proves the number with the carrier (`subscriber_token`: the SIM's
    /// secret), gets credentials, publishes KeyPackages. `replace`: this is
    /// a new phone for the number; its other devices are revoked.
    pub fn enroll(
        &self,
        subscriber_token: String,
        replace: bool,
    ) -> Result<Enrolled, CrosslockError> {
        let enrolled = self.run(|m| {
            Box::pin(async move {
                m.enroll(&subscriber_token, KEY_PACKAGES, None, replace)
                    .await
            })
        })?;
        Ok(Enrolled {
            credentials: enrolled.credentials as u32,
            key_packages: enrolled.key_packages as u32,
        })
    }

    /// Registers the platform's push token (FCM, APNs); pushes carry
    /// nothing but "sync now".
    pub fn register_push(&self, token: String) -> Result<(), CrosslockError> {
        self.run(|m| Box::pin(async move { m.register_push(&token).await }))
    }

    /// The 1:1 with `peer`, created when there is none.
    pub fn open_chat(&self, peer: String) -> Result<Started, CrosslockError> {
        let started = self.run(|m| Box::pin(async move { m.open_chat(&peer).await }))?;
        Ok(started.into())
    }

    /// A group with every device of each member.
    pub fn create_group(&self, members: Vec<String>) -> Result<Started, CrosslockError> {
        let started = self.run(|m| Box::pin(async move { m.create_group(&members).await }))?;
        Ok(started.into())
    }

    /// Adds every device of `member`; returns the new epoch.
    pub fn add_member(&self, conversation: String, member: String) -> Result<u64, CrosslockError> {
        let id = conversation_id(&conversation)?;
        self.run(|m| Box::pin(async move { m.add_member(&id, &member).await }))
    }

    /// Removes every device of `member`; returns the new epoch.
    pub fn remove_member(
        &self,
        conversation: String,
        member: String,
    ) -> Result<u64, CrosslockError> {
        let id = conversation_id(&conversation)?;
        self.run(|m| Box::pin(async move { m.remove_member(&id, &member).await }))
    }

    /// Asks to leave; another member's next commit applies it.
    pub fn leave(&self, conversation: String) -> Result<(), CrosslockError> {
        let id = conversation_id(&conversation)?;
        self.run(|m| Box::pin(async move { m.leave(&id).await }))
    }

    /// Every conversation this device has.
    pub fn conversations(&self) -> Result<Vec<String>, CrosslockError> {
        let ids = self.lock().conversations()?;
        Ok(ids.iter().map(crate::events::conversation_string).collect())
    }

    /// Sends a text.
    pub fn send_text(
        &self,
        conversation: String,
        text: String,
    ) -> Result<SentMessage, CrosslockError> {
        let id = conversation_id(&conversation)?;
        let sent = self.run(|m| Box::pin(async move { m.send_text(&id, &text).await }))?;
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
        let sent = self.run(|m| Box::pin(async move { m.send_typing(&id, active).await }))?;
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
        self.run(|m| Box::pin(async move { m.send_display_receipt(&id, &message_id).await }))
    }

    /// Fetches the inbox once, waiting up to `wait_secs` for something, and
    /// returns what happened, in order. (Or let [`Self::start`] do it.)
    pub fn sync(&self, wait_secs: u64) -> Result<Vec<Event>, CrosslockError> {
        let events = self.run(|m| Box::pin(async move { m.sync(wait_secs).await }))?;
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
        let sent = self.run(|m| {
            Box::pin(async move {
                let progress = ForeignProgress(progress);
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
    /// `message_id`.
    pub fn save_files(
        &self,
        out_dir: String,
        message_id: Option<String>,
        progress: Option<Arc<dyn FileProgress>>,
    ) -> Result<Vec<SavedFile>, CrosslockError> {
        let saved = self.run(|m| {
            Box::pin(async move {
                let progress = ForeignProgress(progress);
                m.save_files(Path::new(&out_dir), message_id.as_deref(), &progress)
                    .await
            })
        })?;
        Ok(saved
            .into_iter()
            .map(|f| SavedFile {
                path: f.path.display().to_string(),
                size: f.size,
                media_type: f.media_type,
            })
            .collect())
    }

    /// A conversation's security state.
    pub fn security_state(&self, conversation: String) -> Result<SecurityState, CrosslockError> {
        let id = conversation_id(&conversation)?;
        Ok(self.lock().security_state(&id)?.into())
    }

    /// The safety number with `peer` in the conversation.
    pub fn safety_number(
        &self,
        conversation: String,
        peer: String,
    ) -> Result<SafetyNumber, CrosslockError> {
        let id = conversation_id(&conversation)?;
        Ok(self.lock().safety_number(&id, &peer)?.into())
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
        Ok(self
            .lock()
            .confirm_safety_number(&id, &peer, scanned.as_deref())?)
    }

    /// Runs the lifecycle jobs that are due (KeyPackage stock, daily
    /// maintenance, revocation lists, own transparency history, credential
    /// refresh). Call it when the app wakes; [`Self::start`] does.
    pub fn maintain(&self) -> Result<Maintained, CrosslockError> {
        let done = self.run(|m| Box::pin(async move { m.maintain().await }))?;
        Ok(Maintained {
            maintenance: done.maintenance,
            key_packages_uploaded: done.key_packages_uploaded as u32,
            monitored: done.monitored.is_some(),
            credentials_refreshed: done
                .credentials_refreshed
                .iter()
                .map(crate::events::conversation_string)
                .collect(),
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
        let monitored = self.run(|m| Box::pin(async move { m.monitor().await }))?;
        Ok(monitored
            .alerts
            .iter()
            .map(TransparencyAlert::from)
            .collect())
    }

    /// Every transparency alert still standing.
    pub fn transparency_alerts(&self) -> Result<Vec<TransparencyAlert>, CrosslockError> {
        let alerts = self.lock().transparency_alerts()?;
        Ok(alerts.iter().map(TransparencyAlert::from).collect())
    }

    /// Approves a device of this number an alert shows as new (the user's
    /// own new phone): every credential of it, or only `credential`.
    pub fn approve_device(
        &self,
        device_id: String,
        credential: Option<String>,
    ) -> Result<Vec<String>, CrosslockError> {
        Ok(self
            .lock()
            .approve_device(&device_id, credential.as_deref())?)
    }

    /// Starts the device's life on a background thread: lifecycle jobs when
    /// due, then the inbox (short long-polls, so other calls are not held
    /// up), each event handed to `listener` in order. An unreachable
    /// provider is retried with backoff; another error stops it and is
    /// passed to `on_stopped`. Fails if it is already running.
    pub fn start(&self, listener: Arc<dyn EventListener>) -> Result<(), CrosslockError> {
        if self.listening.swap(true, Ordering::SeqCst) {
            return Err(CrosslockError::input("the device is already listening"));
        }
        let messenger = self.messenger.clone();
        let runtime = self.runtime.clone();
        let listening = self.listening.clone();
        std::thread::Builder::new()
            .name("crosslock-listener".into())
            .spawn(move || listen(&messenger, &runtime, &listening, listener.as_ref()))
            .map_err(|e| {
                self.listening.store(false, Ordering::SeqCst);
                CrosslockError::internal(format!("cannot start the listener: {e}"))
            })?;
        Ok(())
    }

    /// Stops the listener after its current poll (at most a few seconds);
    /// `on_stopped(null)` follows.
    pub fn stop(&self) {
        self.listening.store(false, Ordering::SeqCst);
    }
}

/// The listener thread's loop (what `Messenger::run` does, with the lock
/// released between polls).
fn listen(
    messenger: &Mutex<Messenger>,
    runtime: &tokio::runtime::Runtime,
    listening: &AtomicBool,
    listener: &dyn EventListener,
) {
    let mut backoff = 1u64;
    let mut stopped_by = None;
    while listening.load(Ordering::SeqCst) {
        let step = {
            let mut m = lock(messenger);
            runtime.block_on(async {
                let maintained = m.maintain().await?;
                let mut events = maintained.events;
                events.extend(m.sync(LISTEN_POLL_SECS).await?);
                Ok::<_, SdkError>(events)
            })
        };
        match step {
            Ok(events) => {
                backoff = 1;
                for event in &events {
                    listener.on_event(event.into());
                }
            }
            Err(SdkError::Network(_)) => {
                for _ in 0..backoff {
                    if !listening.load(Ordering::SeqCst) {
                        break;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
                backoff = (backoff * 2).min(60);
            }
            Err(e) => {
                stopped_by = Some(e.into());
                break;
            }
        }
    }
    listening.store(false, Ordering::SeqCst);
    listener.on_stopped(stopped_by);
}

fn lock(messenger: &Mutex<Messenger>) -> MutexGuard<'_, Messenger> {
    // A panic inside the SDK while locked leaves the messenger as the
    // database has it: every state change is one atomic write.
    messenger.lock().unwrap_or_else(|p| p.into_inner())
}

type SdkFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, SdkError>> + 'a>>;

impl CrosslockDevice {
    fn wrap(messenger: Messenger, runtime: tokio::runtime::Runtime) -> Arc<CrosslockDevice> {
        Arc::new(CrosslockDevice {
            messenger: Arc::new(Mutex::new(messenger)),
            runtime: Arc::new(runtime),
            listening: Arc::new(AtomicBool::new(false)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Messenger> {
        lock(&self.messenger)
    }

    /// Runs one SDK call to completion on the device's runtime, holding
    /// the messenger.
    fn run<T>(
        &self,
        call: impl for<'a> FnOnce(&'a mut Messenger) -> SdkFuture<'a, T>,
    ) -> Result<T, CrosslockError> {
        let mut m = self.lock();
        Ok(self.runtime.block_on(call(&mut m))?)
    }
}
