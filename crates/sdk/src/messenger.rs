//! [`Messenger`]: one device of one number, with its provider. Every
//! public method of the SDK is here; each delegates to the module that
//! does the work.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crosslock_client::credential::PhoneNumber;
use crosslock_client::env::Environment;
use crosslock_client::keystore::{KeyStore, SoftwareKeyStore};
use crosslock_client::store::{DatabaseKey, SqliteStore, StateStore};
use crosslock_client::{
    ConversationId, Device, DeviceProfile, GroupMetadata, MetadataKind, NewDevice, SafetyNumber,
    SecurityState, TransparencyAlert,
};

use crate::conversations::{self, Started};
use crate::enroll::{self, Attester, Enrolled};
use crate::error::SdkError;
use crate::events::{Event, EventListener};
use crate::files::{self, Progress, Saved, SentFile, Uploaded};
use crate::keys::PlatformKeys;
use crate::lifecycle::{self, Maintained, Schedule};
use crate::metadata::{self, MetadataSet};
use crate::renew::{self, Renewed, SubscriberTokens};
use crate::revocations::{self, Refreshed};
use crate::storage::{self, Lifecycle, Settings};
use crate::transparency::{self, Monitored};
use crate::transport::{Api, DsClient};
use crate::{descriptor, sync};

/// How long one inbox long-poll waits in [`Messenger::run`].
const LONG_POLL_SECS: u64 = 25;

/// What a new device needs.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The device's number, E.164 (`+447700900123`).
    pub number: String,
    /// Which kind of phone this is (suites and defaults follow it).
    pub profile: DeviceProfile,
    /// The provider's base URL (`https://…`).
    pub server: String,
    /// The provider's TLS root(s), PEM. Nothing else is trusted for it.
    pub tls_ca_pem: String,
}

/// How a device is opened.
pub struct Options {
    /// Time and randomness (GUIDE §3.2); `Environment::system()` in an app.
    pub env: Environment,
    /// The database key, where the app keeps it in the platform key store
    /// (Android Keystore, iOS Keychain). `None` keeps it in `state.key`
    /// beside the database (mode 0600): for command-line devices.
    pub database_key: Option<zeroize::Zeroizing<[u8; 32]>>,
    /// The platform's key store for the signing keys it can hold in
    /// hardware (P-256); the others stay in the encrypted database
    /// ([`PlatformKeys`]). `None`: every key in the database.
    pub platform_keys: Option<Arc<dyn KeyStore>>,
    /// When the lifecycle jobs run.
    pub schedule: Schedule,
    /// Send read receipts for texts as soon as they are synced (what the
    /// command line does). An app that shows messages later sends them
    /// itself with [`Messenger::send_display_receipt`].
    pub read_receipts: bool,
    /// Where the lifecycle gets a subscriber token to renew the
    /// credentials by itself ([`SubscriberTokens`]). `None`: the app hears
    /// [`Event::CredentialRenewalDue`] and calls
    /// [`Messenger::renew_credentials`].
    pub subscriber_tokens: Option<Arc<dyn SubscriberTokens>>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("database_key", &self.database_key.as_ref().map(|_| "…"))
            .field("platform_keys", &self.platform_keys)
            .field("schedule", &self.schedule)
            .field("read_receipts", &self.read_receipts)
            .field("subscriber_tokens", &self.subscriber_tokens.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            env: Environment::system(),
            database_key: None,
            platform_keys: None,
            schedule: Schedule::default(),
            read_receipts: true,
            subscriber_tokens: None,
        }
    }
}

/// One device of one number, with its provider: the client core, its
/// transport and its lifecycle.
///
/// Methods that talk to the provider are `async` (tokio); call them from
/// one task at a time (`&mut self`).
pub struct Messenger {
    pub(crate) dir: PathBuf,
    pub(crate) settings: Settings,
    pub(crate) device: Device,
    pub(crate) api: Api,
    pub(crate) env: Environment,
    pub(crate) sqlite: Option<Arc<SqliteStore>>,
    pub(crate) schedule: Schedule,
    pub(crate) read_receipts: bool,
    pub(crate) subscriber_tokens: Option<Arc<dyn SubscriberTokens>>,
    /// When each conversation's pending commit whose hub did not answer is
    /// tried again (conversations::settle_pending). In memory only: the
    /// pending commit itself is stored by the client core, and the
    /// schedule only spares a silent hub; a restart tries once at once.
    pub(crate) settle_schedule: crate::conversations::SettleSchedule,
}

impl std::fmt::Debug for Messenger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messenger")
            .field("dir", &self.dir)
            .field("device", &self.device.device_id())
            .finish_non_exhaustive()
    }
}

/// Parses a profile name (`android`, `ios`).
pub fn parse_profile(name: &str) -> Result<DeviceProfile, SdkError> {
    match name {
        "android" => Ok(DeviceProfile::Android),
        "ios" => Ok(DeviceProfile::Ios),
        other => Err(SdkError::input(format!(
            "profile {other:?}: expected android or ios"
        ))),
    }
}

fn profile_name(profile: DeviceProfile) -> &'static str {
    match profile {
        DeviceProfile::Android => "android",
        DeviceProfile::Ios => "ios",
    }
}

/// The key store a device uses: the platform's for what it holds, the
/// encrypted database for the rest.
fn key_store(store: &Arc<dyn StateStore>, options: &Options) -> Arc<dyn KeyStore> {
    let software = SoftwareKeyStore::new(store.clone());
    match &options.platform_keys {
        Some(platform) => Arc::new(PlatformKeys::new(platform.clone(), software)),
        None => Arc::new(software),
    }
}

/// The device's encrypted database in `dir`.
fn open_database(dir: &Path, key: &[u8; 32]) -> Result<Arc<SqliteStore>, SdkError> {
    SqliteStore::open(&dir.join(storage::DATABASE), &DatabaseKey::new(*key))
        .map(Arc::new)
        .map_err(|e| SdkError::internal(format!("device database: {e}")))
}

impl Messenger {
    // ---- Set-up --------------------------------------------------------

    /// Creates a device in `dir` (which must not hold one): fetches the
    /// provider's descriptor over TLS pinned to `setup.tls_ca_pem`, makes
    /// the device's keys and its encrypted database. Enrol it next.
    pub async fn create(dir: &Path, setup: Setup, options: Options) -> Result<Messenger, SdkError> {
        if dir.join(storage::SETTINGS).exists() {
            return Err(SdkError::input(format!(
                "{} already holds a device; choose another directory",
                dir.display()
            )));
        }
        let number = conversations::number(&setup.number)?;
        let info = Api::new(&setup.server, &setup.tls_ca_pem, &[])?
            .provider_info()
            .await?;
        let api = Api::new(
            &setup.server,
            &setup.tls_ca_pem,
            &descriptor::peer_tls(&info),
        )?;
        let config = descriptor::device_config(&info)?;
        std::fs::create_dir_all(dir).map_err(storage::io(dir))?;
        let key = match &options.database_key {
            Some(k) => k.clone(),
            None => {
                let k = zeroize::Zeroizing::new(options.env.random::<32>());
                storage::write_database_key(dir, &k)?;
                k
            }
        };
        let sqlite = open_database(dir, &key)?;
        let store: Arc<dyn StateStore> = sqlite.clone();
        let device = Device::create(
            store.clone(),
            key_store(&store, &options),
            NewDevice {
                number: number.clone(),
                profile: setup.profile,
            },
            config,
            options.env.clone(),
        )
        .map_err(|e| SdkError::internal(format!("device: {e}")))?;
        let settings = Settings {
            number: number.as_str().to_owned(),
            profile: profile_name(setup.profile).to_owned(),
            server: api.base().to_owned(),
            tls_ca_pem: setup.tls_ca_pem,
            provider: info,
            token: None,
            pending_token: None,
            revocations: Default::default(),
            lifecycle: Lifecycle::default(),
        };
        let m = Messenger {
            dir: dir.to_owned(),
            settings,
            device,
            api,
            env: options.env,
            sqlite: Some(sqlite),
            schedule: options.schedule,
            read_receipts: options.read_receipts,
            subscriber_tokens: options.subscriber_tokens,
            settle_schedule: Default::default(),
        };
        m.save()?;
        Ok(m)
    }

    /// Opens the device in `dir`.
    pub fn open(dir: &Path, options: Options) -> Result<Messenger, SdkError> {
        Messenger::open_with(dir, options, |store| store)
    }

    /// Opens the device in `dir` on its database as `wrap` returns it (a
    /// test harness wraps it to make the device die mid-write).
    pub fn open_with(
        dir: &Path,
        options: Options,
        wrap: impl FnOnce(Arc<dyn StateStore>) -> Arc<dyn StateStore>,
    ) -> Result<Messenger, SdkError> {
        let settings = storage::read_settings(dir)?;
        let key = match &options.database_key {
            Some(k) => k.clone(),
            None => storage::read_database_key(dir)?,
        };
        let sqlite = open_database(dir, &key)?;
        let store: Arc<dyn StateStore> = wrap(sqlite.clone());
        let config = descriptor::device_config(&settings.provider)?;
        let device = Device::open(
            store.clone(),
            key_store(&store, &options),
            config,
            options.env.clone(),
        )
        .map_err(|e| SdkError::internal(format!("device: {e}")))?;
        let api = Api::new(
            &settings.server,
            &settings.tls_ca_pem,
            &descriptor::peer_tls(&settings.provider),
        )?;
        Ok(Messenger {
            dir: dir.to_owned(),
            settings,
            device,
            api,
            env: options.env,
            sqlite: Some(sqlite),
            schedule: options.schedule,
            read_receipts: options.read_receipts,
            subscriber_tokens: options.subscriber_tokens,
            settle_schedule: Default::default(),
        })
    }

    /// Carrier proof, enrolment at the KDS, credentials, and
    /// `key_packages` KeyPackages per suite. `attester` offers the
    /// platform's device attestation; `replace` revokes the number's other
    /// devices (a new phone). Once the KDS enrolled the device its token
    /// and credentials are saved: a KeyPackage upload that fails after
    /// that is reported in [`Enrolled::key_packages_failed`], not as an
    /// error, and the next [`Messenger::maintain`] uploads them.
    pub async fn enroll(
        &mut self,
        subscriber_token: &str,
        key_packages: usize,
        attester: Option<&dyn Attester>,
        replace: bool,
    ) -> Result<Enrolled, SdkError> {
        enroll::enroll(self, subscriber_token, key_packages, attester, replace).await
    }

    /// Renews this device's credentials for the same participant keys: a
    /// carrier proof from `subscriber_token`, re-enrolment with the
    /// device's current token (KDS-ENR-8), the new chains installed, the
    /// new token kept, a fresh KeyPackage stock uploaded, and the new
    /// credential due in every conversation (the next
    /// [`Messenger::maintain`] commits it). The lifecycle does this by
    /// itself with [`Options::subscriber_tokens`]; without it, call this
    /// on [`Event::CredentialRenewalDue`]. A refusal by the carrier or
    /// the KDS changes nothing on the device.
    pub async fn renew_credentials(
        &mut self,
        subscriber_token: &str,
        attester: Option<&dyn Attester>,
    ) -> Result<Renewed, SdkError> {
        renew::renew(self, subscriber_token, attester).await
    }

    /// Sets (or clears) where the lifecycle gets subscriber tokens to renew
    /// the credentials by itself ([`Options::subscriber_tokens`]), for an
    /// app that can only provide one after the device is opened.
    pub fn set_subscriber_tokens(&mut self, source: Option<Arc<dyn SubscriberTokens>>) {
        self.subscriber_tokens = source;
    }

    /// When this device's credentials expire (Unix seconds); renewal is
    /// due [`renew::RENEW_BELOW_SECS`] before.
    pub fn credentials_expire_at(&self) -> Result<u64, SdkError> {
        renew::expires_at(&self.device)
    }

    /// Registers the platform's push token with the delivery service (it
    /// wakes the app when something arrives; the push carries nothing).
    pub async fn register_push(&mut self, token: &str) -> Result<(), SdkError> {
        self.ds()?.register_push(token).await?;
        self.settings.lifecycle.push_token = Some(token.to_owned());
        self.save()
    }

    // ---- Who and where -------------------------------------------------

    /// This device's number.
    pub fn number(&self) -> &PhoneNumber {
        self.device.number()
    }

    /// This device's instance id.
    pub fn device_id(&self) -> &str {
        self.device.device_id()
    }

    /// Whether the device holds a KDS token.
    pub fn is_enrolled(&self) -> bool {
        self.settings.token.is_some()
    }

    /// The device's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The settings (provider descriptor, lifecycle bookkeeping).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The client core, for what the SDK does not wrap.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The client core, mutably.
    pub fn device_mut(&mut self) -> &mut Device {
        &mut self.device
    }

    /// The provider's API.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// The delivery service, as this device.
    pub fn ds(&self) -> Result<DsClient, SdkError> {
        Ok(self.api.ds(self.token()?))
    }

    /// The bearer token, or what to do without one.
    pub fn token(&self) -> Result<&str, SdkError> {
        self.settings
            .token
            .as_deref()
            .ok_or_else(|| SdkError::input("this device is not enrolled yet; enroll it first"))
    }

    // ---- Conversations -------------------------------------------------

    /// The 1:1 with `peer`, created when there is none.
    pub async fn open_chat(&mut self, peer: &str) -> Result<Started, SdkError> {
        conversations::open_chat(self, peer).await
    }

    /// A group with every device of each member.
    pub async fn create_group(&mut self, members: &[String]) -> Result<Started, SdkError> {
        conversations::create_group(self, members).await
    }

    /// Adds every device of `member`; returns the new epoch.
    pub async fn add_member(&mut self, id: &ConversationId, member: &str) -> Result<u64, SdkError> {
        conversations::add_member(self, id, member).await
    }

    /// Removes every device of `member`; returns the new epoch.
    pub async fn remove_member(
        &mut self,
        id: &ConversationId,
        member: &str,
    ) -> Result<u64, SdkError> {
        conversations::remove_member(self, id, member).await
    }

    /// Removes one device of a participant (a lost or retired phone).
    pub async fn remove_device(
        &mut self,
        id: &ConversationId,
        member: &PhoneNumber,
        device_id: &str,
    ) -> Result<u64, SdkError> {
        conversations::remove_device(self, id, member, device_id).await
    }

    /// Asks to leave `id`; another member's next commit applies it.
    pub async fn leave(&mut self, id: &ConversationId) -> Result<(), SdkError> {
        conversations::leave(self, id).await
    }

    /// Submits a commit the client core staged, applying the verdict.
    pub async fn submit(
        &mut self,
        pending: &crosslock_client::PendingCommit,
    ) -> Result<u64, SdkError> {
        conversations::submit(self, pending).await
    }

    /// Records lookup proofs of the members of `id` whose keys key
    /// transparency has not proven yet (KT-MEMBER-3: sending waits for
    /// them; the SDK's own sends do this first). Returns how many.
    pub async fn prove_members(&mut self, id: &ConversationId) -> Result<usize, SdkError> {
        conversations::prove_members(self, id).await
    }

    /// Relays this device's own lookup proof into `id` (KT-MEMBER-4; done
    /// on create and join). Returns whether it was sent.
    pub async fn announce_own_proof(&mut self, id: &ConversationId) -> Result<bool, SdkError> {
        conversations::announce_own_proof(self, id).await
    }

    /// Every conversation this device has.
    pub fn conversations(&mut self) -> Result<Vec<ConversationId>, SdkError> {
        Ok(self.device.conversations()?)
    }

    /// The 1:1 with `peer`, if there is one (nothing is created).
    pub fn chat_with(&mut self, peer: &str) -> Result<Option<ConversationId>, SdkError> {
        let peer = conversations::number(peer)?;
        conversations::one_to_one(self, &peer)
    }

    /// A conversation's security state: members and their devices,
    /// verification, transparency, suite, wire profile.
    pub fn security_state(&mut self, id: &ConversationId) -> Result<SecurityState, SdkError> {
        Ok(self.device.security_state(id)?)
    }

    /// The safety number with `peer` in `id`.
    pub fn safety_number(
        &mut self,
        id: &ConversationId,
        peer: &str,
    ) -> Result<SafetyNumber, SdkError> {
        let peer = conversations::number(peer)?;
        Ok(self.device.safety_number(id, &peer)?)
    }

    /// Marks `peer`'s current keys verified (after comparing safety
    /// numbers; `scanned` is the other screen's QR payload, if scanned).
    pub fn confirm_safety_number(
        &mut self,
        id: &ConversationId,
        peer: &str,
        scanned: Option<&[u8]>,
    ) -> Result<(), SdkError> {
        let peer = conversations::number(peer)?;
        self.device.confirm_safety_number(id, &peer, scanned)?;
        // That contact's change is settled; others' still stand.
        self.settings
            .lifecycle
            .key_changes
            .remove(&(hex::encode(id.as_bytes()), peer.as_str().to_owned()));
        self.save()
    }

    // ---- Messages ------------------------------------------------------

    /// Sends a text; returns its transport id.
    pub async fn send_text(&mut self, id: &ConversationId, text: &str) -> Result<Sent, SdkError> {
        let sent = conversations::with_proven_members(self, id, |d| d.send_text(id, text)).await?;
        self.ds()?.message(&sent.outbound.envelope).await?;
        Ok(Sent {
            message_id: sent.outbound.message_id,
            ciphertext_bytes: sent.outbound.envelope.len(),
        })
    }

    /// Sends a typing indicator (encrypted like any message). Returns
    /// `None` where a member reads the deployed formats only: typing is a
    /// Crosslock extra (WIRE-NEG-2), never sent unencrypted instead.
    pub async fn send_typing(
        &mut self,
        id: &ConversationId,
        active: bool,
    ) -> Result<Option<Sent>, SdkError> {
        let sent = match conversations::with_proven_members(self, id, |d| d.send_typing(id, active))
            .await
        {
            Ok(sent) => sent,
            Err(SdkError::Client(crosslock_client::ClientError::NotNegotiated { .. })) => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        self.ds()?.message(&sent.outbound.envelope).await?;
        Ok(Some(Sent {
            message_id: sent.outbound.message_id,
            ciphertext_bytes: sent.outbound.envelope.len(),
        }))
    }

    /// Sends a signed display receipt for `message_id` (when the app shows
    /// it; with `Options::read_receipts` the SDK sends them on sync).
    pub async fn send_display_receipt(
        &mut self,
        id: &ConversationId,
        message_id: &str,
    ) -> Result<(), SdkError> {
        let receipt = self.device.display_receipt(id, message_id)?;
        self.ds()?
            .report(&crosslock_wire::api::ds::SubmitReport {
                group_id: id.as_bytes().to_vec().into(),
                message_id: receipt.message_id.clone(),
                envelope: receipt.envelope.into(),
            })
            .await?;
        Ok(())
    }

    /// Fetches the inbox once, waiting up to `wait_secs` for something,
    /// and returns what happened.
    pub async fn sync(&mut self, wait_secs: u64) -> Result<Vec<Event>, SdkError> {
        let mut events = Vec::new();
        if let Err(e) = revocations::refresh(self).await {
            tracing::info!(error = %e, "revocation lists not refreshed");
        }
        events.extend(sync::sync(self, wait_secs).await?);
        Ok(events)
    }

    /// The device's life until `stop` resolves: lifecycle jobs when due,
    /// then the inbox (long-poll), each event handed to `listener` in
    /// order. A provider that cannot be reached is retried with backoff
    /// (up to a minute); other errors end the loop.
    ///
    /// `stop` ends the loop only where nothing is lost: while the inbox
    /// long-poll waits (before anything is fetched), during the backoff,
    /// or between steps. A step that has begun handling what the inbox
    /// returned finishes and hands every event to `listener` first.
    pub async fn run(
        &mut self,
        listener: &dyn EventListener,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<(), SdkError> {
        use futures_util::FutureExt as _;
        tokio::pin!(stop);
        let mut backoff = 1u64;
        loop {
            // Between steps (`stop` may have fired while events were
            // delivered); once it has, it is never polled again.
            if stop.as_mut().now_or_never().is_some() {
                return Ok(());
            }
            let step = async {
                let maintained = self.maintain().await?;
                for (job, why) in &maintained.failed {
                    tracing::info!(job, why, "lifecycle job failed; tried again later");
                }
                // Delivered now: a sync that fails must not take them along.
                for event in maintained.events {
                    listener.on_event(event);
                }
                if let Err(e) = revocations::refresh(self).await {
                    tracing::info!(error = %e, "revocation lists not refreshed");
                }
                sync::sync_until(self, LONG_POLL_SECS, &mut stop).await
            };
            match step.await {
                Ok((events, stopped)) => {
                    backoff = 1;
                    for event in events {
                        listener.on_event(event);
                    }
                    if stopped {
                        return Ok(());
                    }
                }
                Err(SdkError::Network(why)) => {
                    tracing::info!(why, backoff, "provider unreachable; retrying");
                    tokio::select! {
                        _ = &mut stop => return Ok(()),
                        _ = tokio::time::sleep(std::time::Duration::from_secs(backoff)) => {}
                    }
                    backoff = (backoff * 2).min(60);
                }
                Err(e) => return Err(e),
            }
        }
    }

    // ---- Files ---------------------------------------------------------

    /// Encrypts the file at `path` on this device, uploads the ciphertext
    /// and sends its key and link inside MLS.
    pub async fn send_file(
        &mut self,
        id: &ConversationId,
        path: &Path,
        media_type: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<SentFile, SdkError> {
        files::send(self, id, path, media_type, progress).await
    }

    /// Encrypts and uploads a file without announcing it yet.
    pub async fn upload_file(
        &mut self,
        path: &Path,
        media_type: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<Uploaded, SdkError> {
        files::upload(self, path, media_type, progress).await
    }

    /// Announces an uploaded file in `id` (FileInfo, then descriptor).
    pub async fn announce_file(
        &mut self,
        id: &ConversationId,
        uploaded: &Uploaded,
    ) -> Result<(), SdkError> {
        files::announce(self, id, uploaded).await
    }

    /// Keeps a received file (from the client core's inbox) until
    /// [`Messenger::save_files`]; `sync` does this itself.
    pub fn keep_received_file(
        &self,
        message_id: &str,
        received: &crosslock_client::file::ReceivedFile,
    ) -> Result<(), SdkError> {
        files::remember(self, message_id, received)
    }

    /// Downloads, authenticates and decrypts received files into `out`:
    /// all of them, or the one [`Event::File`] named by `message_id`.
    /// Each is saved under its (safe) name, numbered when a file of that
    /// name is already there: nothing in `out` is ever replaced. A file
    /// that fails is reported in [`Saved::failed`] and the others are
    /// saved; asked for one file, its failure is the error.
    pub async fn save_files(
        &mut self,
        out: &Path,
        message_id: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<Saved, SdkError> {
        files::save(self, out, message_id, progress).await
    }

    // ---- Group subject and icon ---------------------------------------

    /// Sets the group's encrypted subject or icon.
    pub async fn set_group_metadata(
        &mut self,
        id: &ConversationId,
        kind: MetadataKind,
        content: &[u8],
        content_type: &str,
    ) -> Result<MetadataSet, SdkError> {
        metadata::set(self, id, kind, content, content_type).await
    }

    /// What this device knows of the group's subject and icon; `request`
    /// asks the members for keys it lacks (returns true when it asked).
    pub async fn group_metadata(
        &mut self,
        id: &ConversationId,
        request: bool,
    ) -> Result<(GroupMetadata, bool), SdkError> {
        metadata::show(self, id, request).await
    }

    // ---- Lifecycle and transparency -----------------------------------

    /// Runs every lifecycle job that is due (revocations, KeyPackages,
    /// maintenance, own-history monitoring, gossip, credential refresh).
    pub async fn maintain(&mut self) -> Result<Maintained, SdkError> {
        lifecycle::maintain(self).await
    }

    /// Fetches the revocation lists that are due.
    pub async fn refresh_revocations(&mut self) -> Result<Refreshed, SdkError> {
        revocations::refresh(self).await
    }

    /// Checks this number's own transparency history now.
    pub async fn monitor(&mut self) -> Result<Monitored, SdkError> {
        transparency::monitor(self).await
    }

    /// Approves a device of this number that an alert shows as new.
    pub fn approve_device(
        &mut self,
        device_id: &str,
        credential: Option<&str>,
    ) -> Result<Vec<String>, SdkError> {
        transparency::approve(self, device_id, credential)
    }

    /// Every transparency alert still standing.
    pub fn transparency_alerts(&self) -> Result<Vec<TransparencyAlert>, SdkError> {
        Ok(self.device.transparency_alerts()?)
    }

    /// Writes the settings.
    pub fn save(&self) -> Result<(), SdkError> {
        storage::write_settings(&self.dir, &self.settings)
    }

    /// Notes that this device presented its credential in `id` now.
    pub(crate) fn credential_presented(&mut self, id: &ConversationId) {
        let now = self.env.clock.now();
        self.settings
            .lifecycle
            .credential_presented
            .insert(hex::encode(id.as_bytes()), now);
        if let Err(e) = self.save() {
            tracing::warn!(error = %e, "lifecycle bookkeeping not saved");
        }
    }
}

/// A message sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Its transport id (`Mx…`).
    pub message_id: String,
    /// The ciphertext's size.
    pub ciphertext_bytes: usize,
}
