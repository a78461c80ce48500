//! A device: its identity, its MLS clients (one per suite) and the
//! conversations it is in, over one state store. Its public methods are
//! all in [`api`]; here are the struct, opening and the plumbing the
//! operations share (atomic writes, MLS clients, cached groups).

mod api;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crosslock_credential::{
    CertSigner, KeyAlgorithm, ParticipantProfile, PhoneNumber, PublicKey,
    issue_development_credential,
};
use mls_rs::crypto::SignaturePublicKey;
use mls_rs::identity::{Credential, SigningIdentity};
use mls_rs_core::identity::CertificateChain;

use crate::config::DeviceConfig;
use crate::env::Environment;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::keystore::KeyStore;
use crate::mls::crypto::{KeyStoreCrypto, signer_handle};
use crate::mls::identity::Rcc16Identity;
use crate::mls::rules::CrosslockRules;
use crate::mls::storage::{GroupStore, KeyPackageStore};
use crate::mls::{MlsClient, MlsGroup};
use crate::records::{self, ConversationRecord, CredentialRecord, DeviceProfile, DeviceRecord};
use crate::store::{Staged, StateStore, Table};
use crate::suite::Suite;

const DEVICE_KEY: &[u8] = b"device";

/// What a new device is.
#[derive(Debug, Clone)]
pub struct NewDevice {
    /// The participant's number.
    pub number: PhoneNumber,
    /// Android or iPhone.
    pub profile: DeviceProfile,
}

/// A device's client core.
///
/// All methods are synchronous and perform at most one atomic write to
/// the store; a method that returns an error has changed nothing.
pub struct Device {
    pub(crate) env: Environment,
    pub(crate) config: DeviceConfig,
    pub(crate) record: DeviceRecord,
    pub(crate) number: PhoneNumber,
    pub(crate) staged: Staged,
    pub(crate) keystore: Arc<dyn KeyStore>,
    pub(crate) identity: Rcc16Identity,
    pub(crate) group_store: GroupStore,
    pub(crate) kp_store: KeyPackageStore,
    pub(crate) clients: BTreeMap<Suite, MlsClient>,
    pub(crate) groups: HashMap<ConversationId, MlsGroup>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("number", &self.number)
            .field("device_id", &self.record.device_id)
            .field("profile", &self.record.profile)
            .field("loaded_groups", &self.groups.len())
            .finish_non_exhaustive()
    }
}

/// Signs certificates with a key-store key.
pub(crate) struct KeyStoreSigner<'a> {
    pub(crate) keystore: &'a dyn KeyStore,
    pub(crate) alias: &'a str,
    pub(crate) public: PublicKey,
}

impl CertSigner for KeyStoreSigner<'_> {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        self.keystore
            .sign(self.alias, message)
            .map_err(|e| e.to_string())
    }
}

/// Implements [`Device::create`].
pub(crate) fn create(
    store: Arc<dyn StateStore>,
    keystore: Arc<dyn KeyStore>,
    new: NewDevice,
    config: DeviceConfig,
    env: Environment,
) -> Result<Device, ClientError> {
    if store.get(Table::Device, DEVICE_KEY)?.is_some() {
        return Err(ClientError::DeviceExists);
    }
    let device_id = uuid::Builder::from_random_bytes(env.random())
        .into_uuid()
        .to_string();
    let now = env.clock.now();
    let credential =
        |algorithm: KeyAlgorithm, tag: &str| -> Result<CredentialRecord, ClientError> {
            let alias = format!("crosslock/{device_id}/{tag}");
            let public = keystore.generate(&alias, algorithm)?;
            development_credential(
                keystore.as_ref(),
                alias,
                public,
                (&new.number, &device_id),
                &config,
                &env,
            )
        };
    let record = DeviceRecord {
        number: new.number.as_str().to_owned(),
        device_id: device_id.clone(),
        profile: new.profile,
        suites: new.profile.suite_preference().to_vec(),
        p256: credential(KeyAlgorithm::EcdsaP256, "p256")?,
        ed25519: credential(KeyAlgorithm::Ed25519, "ed25519")?,
        created_at: now,
    };
    let staged = Staged::new(store);
    staged.put(
        Table::Device,
        DEVICE_KEY.to_vec(),
        records::encode(&record)?,
    );
    staged.flush()?;
    tracing::info!(device = %device_id, number = %new.number.redacted(), "device created");
    Device::assemble(staged, keystore, record, config, env)
}

/// A self-issued development credential for the key-store key under
/// `alias` (its public half `public`) of the device `(number, device_id)`:
/// what a device presents until its provider's credential is installed.
pub(crate) fn development_credential(
    keystore: &dyn KeyStore,
    alias: String,
    public: PublicKey,
    (number, device_id): (&PhoneNumber, &str),
    config: &DeviceConfig,
    env: &Environment,
) -> Result<CredentialRecord, ClientError> {
    let now = env.clock.now();
    let signer = KeyStoreSigner {
        keystore,
        alias: &alias,
        public,
    };
    let profile = ParticipantProfile {
        number: number.clone(),
        device: Some(device_id.to_owned()),
        not_before: now.saturating_sub(3_600),
        not_after: now + config.credential_lifetime_secs,
        serial: env.random(),
        carrier_proof: None,
        participant_info: None,
    };
    let der = issue_development_credential(&profile, &signer)?;
    Ok(CredentialRecord {
        alias,
        chain: vec![der.into()],
    })
}

/// Implements [`Device::open`].
pub(crate) fn open(
    store: Arc<dyn StateStore>,
    keystore: Arc<dyn KeyStore>,
    config: DeviceConfig,
    env: Environment,
) -> Result<Device, ClientError> {
    let bytes = store
        .get(Table::Device, DEVICE_KEY)?
        .ok_or(ClientError::NoDevice)?;
    let record: DeviceRecord = records::decode(&bytes)?;
    Device::assemble(Staged::new(store), keystore, record, config, env)
}

impl Device {
    fn assemble(
        staged: Staged,
        keystore: Arc<dyn KeyStore>,
        record: DeviceRecord,
        config: DeviceConfig,
        env: Environment,
    ) -> Result<Device, ClientError> {
        let number = PhoneNumber::parse(&record.number)
            .map_err(|e| internal(format!("stored number: {e}")))?;
        let identity = Rcc16Identity::new(config.trust.clone(), env.clock.clone());
        let group_store =
            GroupStore::new(staged.clone(), env.clock.clone(), config.epoch_retention);
        let kp_store = KeyPackageStore::new(staged.clone());
        let mut device = Device {
            env,
            config,
            record,
            number,
            staged,
            keystore,
            identity,
            group_store,
            kp_store,
            clients: BTreeMap::new(),
            groups: HashMap::new(),
        };
        let revoked = device.revocations()?;
        device.identity.set_revocations(revoked);
        device.build_clients()?;
        Ok(device)
    }

    /// (Re)builds the mls-rs client of every suite from the device record.
    fn build_clients(&mut self) -> Result<(), ClientError> {
        self.clients.clear();
        for suite in self.record.suites.clone() {
            let client = self.mls_client(suite, self.group_store.clone())?;
            self.clients.insert(suite, client);
        }
        Ok(())
    }

    /// An mls-rs client of `suite` keeping its groups in `group_store`.
    pub(crate) fn mls_client(
        &self,
        suite: Suite,
        group_store: GroupStore,
    ) -> Result<MlsClient, ClientError> {
        let lifetime = Duration::from_secs(self.config.key_packages.lifetime_secs);
        self.mls_client_with(suite, group_store, lifetime)
    }

    /// [`Device::mls_client`] whose KeyPackages live `key_package_lifetime`
    /// from the time they are generated for.
    pub(crate) fn mls_client_with(
        &self,
        suite: Suite,
        group_store: GroupStore,
        key_package_lifetime: Duration,
    ) -> Result<MlsClient, ClientError> {
        let crypto = KeyStoreCrypto::new(self.keystore.clone());
        let credential = self.credential_record(suite.signature_algorithm());
        let public = self.keystore.public_key(&credential.alias)?;
        let chain = CertificateChain::from(
            credential
                .chain
                .iter()
                .map(|c| c.0.clone())
                .collect::<Vec<_>>(),
        );
        let signing_identity = SigningIdentity::new(
            Credential::X509(chain),
            SignaturePublicKey::new(public.as_bytes().to_vec()),
        );
        Ok(mls_rs::Client::builder()
            .key_package_repo(self.kp_store.clone())
            .group_state_storage(group_store)
            .identity_provider(self.identity.clone())
            .mls_rules(CrosslockRules)
            .crypto_provider(crypto)
            .extension_types(crate::mls::capabilities::extensions_advertised(
                self.config.crosslock_extras,
            ))
            .custom_proposal_types(crate::mls::capabilities::advertised_proposals(
                self.config.revision,
            ))
            .key_package_lifetime(key_package_lifetime)
            .signing_identity(
                signing_identity,
                signer_handle(&credential.alias),
                suite.cipher_suite(),
            )
            .build())
    }

    pub(crate) fn credential_record(&self, algorithm: KeyAlgorithm) -> &CredentialRecord {
        match algorithm {
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => &self.record.p256,
            KeyAlgorithm::Ed25519 => &self.record.ed25519,
        }
    }
}

/// Implements [`Device::install_credential`].
pub(crate) fn install_credential(
    device: &mut Device,
    algorithm: KeyAlgorithm,
    chain: Vec<Vec<u8>>,
) -> Result<(), ClientError> {
    let validated = device
        .config
        .trust
        .validate(&chain, device.env.clock.now())?;
    let alias = device.credential_record(algorithm).alias.clone();
    let public = device.keystore.public_key(&alias)?;
    if validated.key() != &public {
        return Err(crosslock_credential::CredentialError::KeyMismatch.into());
    }
    if validated.number() != &device.number {
        return Err(ClientError::KeyPackageIdentityMismatch {
            expected: device.number.clone(),
        });
    }
    if let Some(leaf) = chain.first() {
        device.remember_own_credential(leaf)?;
    }
    let mut record = device.record.clone();
    let slot = match algorithm {
        KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => &mut record.p256,
        KeyAlgorithm::Ed25519 => &mut record.ed25519,
    };
    slot.chain = chain.into_iter().map(Into::into).collect();
    device.staged.put(
        Table::Device,
        DEVICE_KEY.to_vec(),
        records::encode(&record)?,
    );
    device.commit_staged()?;
    device.record = record;
    device.groups.clear();
    device.build_clients()
}

impl Device {
    /// Stores `record` as the device record in one write, then rebuilds
    /// the MLS clients from it. When the write fails nothing changed;
    /// once it succeeded `self.record` is `record`, whatever follows.
    pub(crate) fn replace_record(&mut self, record: DeviceRecord) -> Result<(), ClientError> {
        let encoded = records::encode(&record)?;
        self.atomically(|device| {
            device
                .staged
                .put(Table::Device, DEVICE_KEY.to_vec(), encoded);
            Ok(())
        })?;
        self.record = record;
        self.groups.clear();
        self.build_clients()
    }

    // ---- plumbing shared by the operations --------------------------------

    /// Runs `op` as one atomic state change: everything it staged is
    /// committed if it succeeds, and discarded (with every cached group
    /// reloaded from the store on next use) if it fails.
    pub(crate) fn atomically<T>(
        &mut self,
        op: impl FnOnce(&mut Device) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        self.staged.discard();
        match op(self) {
            Ok(value) => {
                self.commit_staged()?;
                Ok(value)
            }
            Err(e) => {
                self.staged.discard();
                self.groups.clear();
                Err(e)
            }
        }
    }

    fn commit_staged(&mut self) -> Result<(), ClientError> {
        if let Err(e) = self.staged.flush() {
            // Memory is now ahead of the disk: forget it.
            self.groups.clear();
            return Err(e.into());
        }
        Ok(())
    }

    pub(crate) fn conversation_record(
        &self,
        id: &ConversationId,
    ) -> Result<ConversationRecord, ClientError> {
        let bytes = self
            .staged
            .get(Table::Conversation, id.as_bytes())?
            .ok_or(ClientError::UnknownConversation)?;
        records::decode(&bytes)
    }

    pub(crate) fn put_conversation(
        &self,
        id: &ConversationId,
        record: &ConversationRecord,
    ) -> Result<(), ClientError> {
        self.staged.put(
            Table::Conversation,
            id.as_bytes().to_vec(),
            records::encode(record)?,
        );
        Ok(())
    }

    /// The loaded MLS group of a conversation.
    pub(crate) fn group(&mut self, id: &ConversationId) -> Result<&mut MlsGroup, ClientError> {
        if !self.groups.contains_key(id) {
            let record = self.conversation_record(id)?;
            let client = self.client(record.suite)?;
            let mut group = client.load_group(id.as_bytes()).map_err(|e| match e {
                mls_rs::error::MlsError::GroupNotFound => ClientError::RejoinRequired,
                other => internal(other),
            })?;
            let commit_pending = record
                .pending
                .as_ref()
                .is_some_and(|p| !p.kind.replaces_group());
            if !commit_pending && group.has_pending_commit() {
                // Rejected before the last restart (see `commit_rejected`).
                group.clear_pending_commit();
            }
            self.groups.insert(id.clone(), group);
        }
        self.groups
            .get_mut(id)
            .ok_or_else(|| internal("group vanished from cache"))
    }

    pub(crate) fn client(&self, suite: Suite) -> Result<&MlsClient, ClientError> {
        self.clients
            .get(&suite)
            .ok_or(ClientError::SuiteRefused(suite))
    }
}

/// Implements [`Device::conversations`].
pub(crate) fn conversations(device: &Device) -> Result<Vec<ConversationId>, ClientError> {
    Ok(device
        .staged
        .scan(Table::Conversation, &[])?
        .into_iter()
        .filter_map(|(k, _)| ConversationId::new(k))
        .collect())
}
