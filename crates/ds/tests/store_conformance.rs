//! Every DS store behaves the same (GUIDE §3.5): the SQLite store, the
//! in-memory one and the PostgreSQL one pass each conformance check of
//! `crosslock_ds::store::testing`, with concurrent callers on two instances
//! of one store too (DS-STORE-1); and stores with the flaws an attacker
//! would want fail them.
//!
//! The PostgreSQL suite runs on the server in `CROSSLOCK_TEST_POSTGRES`
//! (scripts/test starts one); without it, it says it skipped, or fails
//! when `CROSSLOCK_REQUIRE_POSTGRES=1` (as in scripts/test and CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crosslock_ds::DsError;
use crosslock_ds::store::testing::{
    check_concurrency, check_conversation_store, check_ds_store, check_epoch_log,
    check_inbox_store, check_maintenance, check_outbox_store, check_push_tokens,
};
use crosslock_ds::store::{
    Accepted, ConversationStore, Creation, EpochLog, Fanout, HostedConversation, Hosting,
    InboxStore, Maintenance, MemoryDsStore, OutboxEntry, OutboxStore, Outcome, PushTokens, Queued,
    SqliteDsStore,
};
use crosslock_wire::api::ds::DeviceRef;

/// Fresh SQLite stores, each its own file under `dir`.
fn sqlite(dir: &tempfile::TempDir, n: &AtomicUsize) -> SqliteDsStore {
    let name = format!("ds-{}.sqlite3", n.fetch_add(1, Ordering::Relaxed));
    SqliteDsStore::open(&dir.path().join(name)).unwrap()
}

/// `count` SQLite stores on one new file: what two processes on one data
/// directory would be (the provider's lock forbids it; the store must
/// still be correct).
fn sqlite_instances(
    dir: &tempfile::TempDir,
    n: &AtomicUsize,
    count: usize,
) -> Vec<Arc<SqliteDsStore>> {
    let path = dir
        .path()
        .join(format!("ds-{}.sqlite3", n.fetch_add(1, Ordering::Relaxed)));
    (0..count)
        .map(|_| Arc::new(SqliteDsStore::open(&path).unwrap()))
        .collect()
}

mod pg {
    use std::sync::{Arc, Mutex};

    use crosslock_ds::store::PgDsStore;
    use crosslock_pg::testing::{TestDatabase, TestServer};

    /// Fresh PostgreSQL stores, each on its own database; the databases
    /// are dropped with the returned keeper.
    pub(crate) struct Fresh {
        server: &'static TestServer,
        databases: Mutex<Vec<TestDatabase>>,
    }

    impl Fresh {
        pub(crate) fn new(test: &str) -> Option<Self> {
            Some(Fresh {
                server: crosslock_pg::testing::server(test)?,
                databases: Mutex::default(),
            })
        }

        fn database(&self) -> String {
            let db = self.server.database().unwrap();
            let url = db.url().to_owned();
            self.databases.lock().unwrap().push(db);
            url
        }

        pub(crate) fn store(&self) -> PgDsStore {
            PgDsStore::open(&self.database()).unwrap()
        }

        /// `count` stores (separate pools: separate instances) on one new
        /// database.
        pub(crate) fn instances(&self, count: usize) -> Vec<Arc<PgDsStore>> {
            let url = self.database();
            (0..count)
                .map(|_| Arc::new(PgDsStore::open(&url).unwrap()))
                .collect()
        }
    }
}

macro_rules! conforms {
    ($($name:ident: $check:path,)*) => {
        mod memory {
            use super::*;
            $(
                #[test]
                fn $name() {
                    assert_eq!($check(MemoryDsStore::new), Ok(()));
                }
            )*

            #[test]
            fn concurrency() {
                // Instances of one memory store: handles on the same tables.
                let check = check_concurrency(|count| {
                    let store = Arc::new(MemoryDsStore::new());
                    vec![store; count]
                });
                assert_eq!(check, Ok(()));
            }
        }
        mod sqlite {
            use super::*;
            $(
                #[test]
                fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let n = AtomicUsize::new(0);
                    assert_eq!($check(|| super::sqlite(&dir, &n)), Ok(()));
                }
            )*

            #[test]
            fn concurrency() {
                let dir = tempfile::tempdir().unwrap();
                let n = AtomicUsize::new(0);
                assert_eq!(check_concurrency(|count| sqlite_instances(&dir, &n, count)), Ok(()));
            }
        }
        mod postgres {
            use super::*;
            $(
                #[test]
                fn $name() {
                    let Some(fresh) = pg::Fresh::new(concat!("postgres::", stringify!($name))) else {
                        return;
                    };
                    assert_eq!($check(|| fresh.store()), Ok(()));
                }
            )*

            #[test]
            fn concurrency() {
                let Some(fresh) = pg::Fresh::new("postgres::concurrency") else {
                    return;
                };
                assert_eq!(check_concurrency(|count| fresh.instances(count)), Ok(()));
            }
        }
    };
}

conforms! {
    conversation_store: check_conversation_store,
    epoch_log: check_epoch_log,
    inbox_store: check_inbox_store,
    outbox_store: check_outbox_store,
    push_tokens: check_push_tokens,
    maintenance: check_maintenance,
}

// ---- the checks catch what an attacker wants a store to get wrong ----------------

/// What a flawed store gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// None: the wrapper is faithful.
    None,
    /// An acknowledgement by position removes any device's message.
    AckAnyDevice,
    /// A cursor acknowledgement removes any device's messages.
    AckThroughAnyDevice,
    /// A replayed delivery is stored again.
    ReplayStoredAgain,
    /// A peer becomes a conversation's hub without the proof (DS-FED-5).
    UnprovenHub,
    /// A peer's delivery for a conversation hosted here is stored (DS-FED-4).
    HostedTakesDeliveries,
}

/// A [`MemoryDsStore`] with one [`Flaw`].
#[derive(Debug)]
struct Flawed {
    inner: MemoryDsStore,
    flaw: Flaw,
    /// Every local recipient seen, for the acknowledgement flaws.
    devices: Mutex<BTreeSet<DeviceRef>>,
    /// Every delivery seen (recipient, message id), for the replay flaw.
    delivered: Mutex<BTreeSet<(DeviceRef, String)>>,
    replays: AtomicU64,
}

impl Flawed {
    fn new(flaw: Flaw) -> Self {
        Flawed {
            inner: MemoryDsStore::new(),
            flaw,
            devices: Mutex::default(),
            delivered: Mutex::default(),
            replays: AtomicU64::new(0),
        }
    }

    fn saw(&self, fanout: &[Fanout]) {
        let mut devices = self.devices.lock().unwrap();
        for f in fanout.iter().filter(|f| f.recipient.home.is_none()) {
            devices.insert(f.recipient.device.clone());
        }
    }

    /// The devices an acknowledgement by `device` applies to.
    fn ackers(&self, device: &DeviceRef, flawed: bool) -> Vec<DeviceRef> {
        if flawed {
            let mut all: Vec<_> = self.devices.lock().unwrap().iter().cloned().collect();
            all.push(device.clone());
            all
        } else {
            vec![device.clone()]
        }
    }
}

impl ConversationStore for Flawed {
    fn conversation(&self, group_id: &[u8]) -> Result<Option<Hosting>, DsError> {
        self.inner.conversation(group_id)
    }

    fn create(
        &self,
        conversation: &HostedConversation,
        accepted: &Accepted,
    ) -> Result<Outcome, DsError> {
        self.saw(&accepted.fanout);
        self.inner.create(conversation, accepted)
    }

    fn accept(&self, accepted: &Accepted) -> Result<Outcome, DsError> {
        self.saw(&accepted.fanout);
        self.inner.accept(accepted)
    }

    fn deliver_from_hub(
        &self,
        hub: &str,
        group_id: &[u8],
        deliveries: &[Fanout],
        creation_proven: bool,
        at: u64,
    ) -> Result<Vec<DeviceRef>, DsError> {
        self.saw(deliveries);
        let keys: Vec<_> = deliveries
            .iter()
            .map(|d| (d.recipient.device.clone(), d.message_id.clone()))
            .collect();
        let mut deliveries = deliveries.to_vec();
        if self.flaw == Flaw::ReplayStoredAgain {
            // A replay is stored under a new name, so it is new.
            let delivered = self.delivered.lock().unwrap();
            for (d, key) in deliveries.iter_mut().zip(&keys) {
                if delivered.contains(key) {
                    let n = self.replays.fetch_add(1, Ordering::Relaxed);
                    d.message_id = format!("{}#{n}", d.message_id);
                }
            }
        }
        let proven = creation_proven || self.flaw == Flaw::UnprovenHub;
        let result = self
            .inner
            .deliver_from_hub(hub, group_id, &deliveries, proven, at);
        if result.is_ok() {
            self.delivered.lock().unwrap().extend(keys);
        }
        match result {
            Err(DsError::NotTheHub) if self.flaw == Flaw::HostedTakesDeliveries => {
                let Some(Hosting::Hub(c)) = self.inner.conversation(group_id)? else {
                    return Err(DsError::NotTheHub);
                };
                for d in &deliveries {
                    self.inner.accept(&Accepted {
                        group_id: group_id.to_vec(),
                        message_id: d.message_id.clone(),
                        epoch: c.epoch,
                        new_state: None,
                        opens: None,
                        pin: None,
                        fanout: vec![d.clone()],
                        at,
                    })?;
                }
                let mut woken: Vec<_> = deliveries
                    .iter()
                    .map(|d| d.recipient.device.clone())
                    .collect();
                woken.sort();
                woken.dedup();
                Ok(woken)
            }
            other => other,
        }
    }
}

impl EpochLog for Flawed {
    fn epoch_authenticator(
        &self,
        group_id: &[u8],
        era: u32,
        epoch: u64,
    ) -> Result<Option<[u8; 32]>, DsError> {
        self.inner.epoch_authenticator(group_id, era, epoch)
    }

    fn commits(
        &self,
        group_id: &[u8],
        from_epoch: u64,
        limit: usize,
    ) -> Result<Vec<Queued>, DsError> {
        self.inner.commits(group_id, from_epoch, limit)
    }

    fn external_commits_since(&self, group_id: &[u8], since: u64) -> Result<u64, DsError> {
        self.inner.external_commits_since(group_id, since)
    }
}

impl InboxStore for Flawed {
    fn inbox(&self, device: &DeviceRef, after: u64, limit: usize) -> Result<Vec<Queued>, DsError> {
        self.inner.inbox(device, after, limit)
    }

    fn ack(&self, device: &DeviceRef, seqs: &[u64]) -> Result<(), DsError> {
        for d in self.ackers(device, self.flaw == Flaw::AckAnyDevice) {
            self.inner.ack(&d, seqs)?;
        }
        Ok(())
    }

    fn ack_through(&self, device: &DeviceRef, seq: u64) -> Result<(), DsError> {
        for d in self.ackers(device, self.flaw == Flaw::AckThroughAnyDevice) {
            self.inner.ack_through(&d, seq)?;
        }
        Ok(())
    }
}

impl OutboxStore for Flawed {
    fn outbox(&self, peer: &str, limit: usize) -> Result<Vec<OutboxEntry>, DsError> {
        self.inner.outbox(peer, limit)
    }

    fn outbox_done(&self, seqs: &[u64]) -> Result<(), DsError> {
        self.inner.outbox_done(seqs)
    }

    fn creation(&self, group_id: &[u8]) -> Result<Option<Creation>, DsError> {
        self.inner.creation(group_id)
    }
}

impl PushTokens for Flawed {
    fn set_push_token(&self, device: &DeviceRef, token: &str) -> Result<(), DsError> {
        self.inner.set_push_token(device, token)
    }

    fn push_token(&self, device: &DeviceRef) -> Result<Option<String>, DsError> {
        self.inner.push_token(device)
    }
}

impl Maintenance for Flawed {
    fn purge(&self, before: u64) -> Result<u64, DsError> {
        self.inner.purge(before)
    }
}

/// The check fails, at the assertion `at`.
fn fails_at(result: Result<(), String>, at: &str) {
    match result {
        Err(e) if e.starts_with(at) => {}
        other => panic!("expected a failure at {at:?}, got {other:?}"),
    }
}

#[test]
fn the_faithful_wrapper_conforms() {
    assert_eq!(check_ds_store(|| Flawed::new(Flaw::None)), Ok(()));
}

#[test]
fn acknowledging_another_devices_message_is_caught() {
    fails_at(
        check_inbox_store(|| Flawed::new(Flaw::AckAnyDevice)),
        "Bob's inbox after Carol's acks",
    );
    fails_at(
        check_inbox_store(|| Flawed::new(Flaw::AckThroughAnyDevice)),
        "Bob's inbox after strangers' acks",
    );
}

#[test]
fn a_replayed_delivery_stored_again_is_caught() {
    fails_at(
        check_conversation_store(|| Flawed::new(Flaw::ReplayStoredAgain)),
        "a replayed delivery",
    );
}

#[test]
fn a_hub_taken_without_proof_is_caught() {
    fails_at(
        check_conversation_store(|| Flawed::new(Flaw::UnprovenHub)),
        "a delivery for an unknown conversation without a proof",
    );
}

#[test]
fn a_forged_delivery_into_a_hosted_conversation_is_caught() {
    fails_at(
        check_conversation_store(|| Flawed::new(Flaw::HostedTakesDeliveries)),
        "a delivery for a conversation hosted here",
    );
}
