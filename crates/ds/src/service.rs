//! The delivery service: configuration, store, observer, and the waiting
//! devices.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crosslock_credential::{AwsLcVerifier, TrustPolicy};
use crosslock_profile::Environment;
use crosslock_wire::api::ds::DeviceRef;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::auth::DeviceAuth;
use crate::config::DsConfig;
use crate::error::DsError;
use crate::federation::Federation;
use crate::observer::Observer;
use crate::push::{PushGateway, Pusher};
use crate::ratelimit::Buckets;
use crate::store::{DsStore, HostedConversation, Hosting};

/// (group id, era, epoch).
type EpochKey = (Vec<u8>, u32, u64);

/// A delivery service.
pub struct Ds {
    pub(crate) config: DsConfig,
    /// The clock every timestamp and expiry is read from, and the random
    /// source of push jitter.
    pub(crate) env: Environment,
    pub(crate) store: Arc<dyn DsStore>,
    pub(crate) auth: Arc<dyn DeviceAuth>,
    pub(crate) observer: Observer,
    pub(crate) federation: Federation,
    pub(crate) pusher: Pusher,
    pub(crate) device_rate: Buckets,
    pub(crate) conversation_rate: Buckets,
    /// Per peer provider (DS-FED-6).
    pub(crate) peer_rate: Buckets,
    /// Handshake messages of one conversation are checked one at a time.
    handshake_locks: Mutex<HashMap<Vec<u8>, Arc<tokio::sync::Mutex<()>>>>,
    /// Long-polling devices.
    waiters: Mutex<HashMap<DeviceRef, Arc<Notify>>>,
    /// Home provider by leaf certificate digest.
    homes: Mutex<HashMap<[u8; 32], Option<String>>>,
    /// Conversations hosted here, as last stored by this process (only
    /// this process writes its store). Application messages are checked
    /// against it; handshakes read the store under their lock and refresh it.
    hosted: Mutex<HashMap<Vec<u8>, Arc<HostedConversation>>>,
    /// Pinned epoch authenticators by (group, era, epoch), as stored.
    pinned: Mutex<HashMap<EpochKey, [u8; 32]>>,
}

/// Where a conversation lives.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Hosted here: its membership view (state and GroupInfo left out).
    Hub(Arc<HostedConversation>),
    /// Followed; hosted at this peer.
    Follower(String),
}

impl std::fmt::Debug for Ds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ds")
            .field("name", &self.config.name)
            .finish_non_exhaustive()
    }
}

impl Ds {
    /// A delivery service over `store`, authenticating devices with `auth`,
    /// reading time and randomness from `env`. `federation` reaches peer
    /// providers ([`Federation::none`] without peers). Call from inside a
    /// tokio runtime when a push gateway is given (its batching task
    /// starts here).
    pub fn new(
        config: DsConfig,
        store: Arc<dyn DsStore>,
        auth: Arc<dyn DeviceAuth>,
        federation: Federation,
        push: Option<Arc<dyn PushGateway>>,
        env: Environment,
    ) -> Self {
        let all = config.all_credentials();
        let pusher = match push {
            Some(gateway) => Pusher::start(gateway, store.clone(), config.push, env.clone()),
            None => Pusher::none(),
        };
        Ds {
            observer: Observer::new(all, env.clock.clone()),
            device_rate: Buckets::new(config.device_rate, env.clock.clone()),
            conversation_rate: Buckets::new(config.conversation_rate, env.clock.clone()),
            peer_rate: Buckets::new(config.peer_rate, env.clock.clone()),
            env,
            config,
            store,
            auth,
            federation,
            pusher,
            handshake_locks: Mutex::default(),
            waiters: Mutex::default(),
            homes: Mutex::default(),
            hosted: Mutex::default(),
            pinned: Mutex::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DsConfig {
        &self.config
    }

    /// The clock and random source.
    pub fn env(&self) -> &Environment {
        &self.env
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn DsStore> {
        &self.store
    }

    /// The lock serialising handshake messages of a conversation.
    pub(crate) fn handshake_lock(&self, group_id: &[u8]) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .handshake_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if locks.len() > 10_000 {
            locks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        locks.entry(group_id.to_vec()).or_default().clone()
    }

    /// The notifier a long-polling device waits on.
    pub(crate) fn waiter(&self, device: &DeviceRef) -> Arc<Notify> {
        let mut waiters = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        if waiters.len() > 100_000 {
            waiters.retain(|_, n| Arc::strong_count(n) > 1);
        }
        waiters.entry(device.clone()).or_default().clone()
    }

    /// Something arrived for local `devices`: wake long-polls and push.
    pub(crate) fn notify(&self, devices: impl IntoIterator<Item = DeviceRef>) {
        for device in devices {
            self.waiter(&device).notify_waiters();
            self.waiter(&device).notify_one();
            self.pusher.wake(&device);
        }
    }

    /// The provider a member device is homed at (`None`: here), from the
    /// roots its credential chains to.
    pub(crate) fn home_of(
        &self,
        chain: &[impl AsRef<[u8]>],
        now: u64,
    ) -> Result<Option<String>, DsError> {
        let leaf = chain
            .first()
            .ok_or_else(|| DsError::Internal("empty chain".into()))?;
        let digest: [u8; 32] = Sha256::digest(leaf.as_ref()).into();
        if let Some(home) = self
            .homes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&digest)
        {
            return Ok(home.clone());
        }
        let chains_to =
            |trust: &TrustPolicy| trust.validate_with(chain, now, &AwsLcVerifier).is_ok();
        let home = if chains_to(&self.config.credentials) {
            None
        } else {
            let peer = self
                .config
                .peers
                .iter()
                .find(|p| chains_to(&p.credentials))
                .ok_or(DsError::UnknownPeer)?;
            Some(peer.name.clone())
        };
        let mut homes = self.homes.lock().unwrap_or_else(|p| p.into_inner());
        if homes.len() > 100_000 {
            homes.clear();
        }
        homes.insert(digest, home.clone());
        Ok(home)
    }

    /// Where a conversation lives, for application messages: its
    /// membership view (without the group state) is cached.
    pub(crate) fn lookup(&self, group_id: &[u8]) -> Result<Option<Lookup>, DsError> {
        if let Some(c) = self
            .hosted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(group_id)
        {
            return Ok(Some(Lookup::Hub(c.clone())));
        }
        Ok(match self.store.conversation(group_id)? {
            Some(Hosting::Hub(mut c)) => {
                c.state = Vec::new();
                c.group_info = Vec::new();
                let c = Arc::new(c);
                let mut hosted = self.hosted.lock().unwrap_or_else(|p| p.into_inner());
                if hosted.len() > 10_000 {
                    hosted.clear();
                }
                hosted.insert(group_id.to_vec(), c.clone());
                Some(Lookup::Hub(c))
            }
            Some(Hosting::Follower { hub }) => Some(Lookup::Follower(hub)),
            None => None,
        })
    }

    /// The pinned authenticator of an epoch (cached once stored: a pin never
    /// changes).
    pub(crate) fn pinned_authenticator(
        &self,
        group_id: &[u8],
        era: u32,
        epoch: u64,
    ) -> Result<Option<[u8; 32]>, DsError> {
        let key = (group_id.to_vec(), era, epoch);
        if let Some(a) = self
            .pinned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(Some(*a));
        }
        let found = self.store.epoch_authenticator(group_id, era, epoch)?;
        if let Some(a) = found {
            let mut pinned = self.pinned.lock().unwrap_or_else(|p| p.into_inner());
            if pinned.len() > 100_000 {
                pinned.clear();
            }
            pinned.insert(key, a);
        }
        Ok(found)
    }

    /// Forgets a cached conversation (a handshake changed it).
    pub(crate) fn forget(&self, group_id: &[u8]) {
        self.hosted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(group_id);
    }

    /// Deletes what outlived the retention period.
    pub fn purge(&self, now: u64) -> Result<u64, DsError> {
        self.store
            .purge(now.saturating_sub(self.config.retention_secs))
    }
}
