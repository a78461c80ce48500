//! A device killed at any point reloads from its encrypted file and carries
//! on without losing a message or desynchronising its groups.
//!
//! The crash is injected at the storage layer: the n-th write of Bob's
//! device fails, the device object is dropped (its memory is lost), and a
//! new one is opened from the SQLCipher file. The scenario is replayed for
//! every n, so every write of the scenario is a crash point — including
//! the one between receiving a commit and merging it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use crosslock_client::keystore::SoftwareKeyStore;
use crosslock_client::store::*;
use crosslock_client::*;

/// A store that dies on its n-th commit, as a process killed mid-write.
#[derive(Debug)]
struct Crashing {
    inner: SqliteStore,
    countdown: AtomicUsize,
}

impl StateStore for Crashing {
    fn get(&self, t: Table, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(t, k)
    }
    fn scan(&self, t: Table, p: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        self.inner.scan(t, p)
    }
    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        match self.countdown.load(Ordering::SeqCst) {
            0 => Err(StoreError::Backend("killed".into())),
            1 => {
                self.countdown.store(0, Ordering::SeqCst);
                Err(StoreError::Backend("killed".into()))
            }
            n => {
                self.countdown.store(n - 1, Ordering::SeqCst);
                self.inner.commit(batch)
            }
        }
    }
}

struct Bob {
    path: PathBuf,
    device: Device,
    store: Arc<Crashing>,
    /// What the application has stored, in order, by message id (the
    /// application's insert is idempotent, as its database would be).
    log: Vec<(String, String)>,
    crashes: usize,
}

const KEY: [u8; 32] = [9; 32];

impl Bob {
    /// Opens Bob's device, creating it on first start. Returns how many
    /// times the process "died" while doing so.
    fn open(path: PathBuf, net: &Net, countdown: usize) -> (Device, Arc<Crashing>, usize) {
        let mut countdown = countdown;
        let mut crashes = 0;
        loop {
            let inner = SqliteStore::open(&path, &DatabaseKey::new(KEY)).unwrap();
            let store = Arc::new(Crashing {
                inner,
                countdown: AtomicUsize::new(countdown),
            });
            let dyn_store: Arc<dyn StateStore> = store.clone();
            let keystore = Arc::new(SoftwareKeyStore::new(dyn_store.clone()));
            let device =
                match Device::open(dyn_store.clone(), keystore.clone(), dev_config(), net.env()) {
                    Err(ClientError::NoDevice) => Device::create(
                        dyn_store,
                        keystore,
                        NewDevice {
                            number: number("+15551230002"),
                            profile: DeviceProfile::Ios,
                        },
                        dev_config(),
                        net.env(),
                    ),
                    other => other,
                };
            match device {
                Ok(d) => return (d, store, crashes),
                // Killed while creating: start again; orphaned keys are harmless.
                Err(ClientError::Storage(_) | ClientError::KeyStore(_)) => {
                    crashes += 1;
                    countdown = usize::MAX;
                }
                Err(e) => panic!("{e:?}"),
            }
        }
    }

    /// The process died: drop everything in memory and start again from
    /// the file. The application first drains what is undelivered.
    fn restart(&mut self, net: &Net) {
        self.crashes += 1;
        let (device, store, _) = Bob::open(self.path.clone(), net, usize::MAX);
        self.device = device;
        self.store = store;
    }

    fn store_in_app(&mut self, m: &ReceivedMessage) {
        if let ReceivedContent::Mimi { content, .. } = &m.content
            && !self.log.iter().any(|(id, _)| *id == m.message_id)
        {
            self.log.push((
                m.message_id.clone(),
                content.text_body().unwrap().to_owned(),
            ));
        }
    }

    /// Acknowledges everything stored; a crash here is recovered like any other.
    fn ack_all(&mut self, net: &Net) {
        loop {
            let pending = self.device.undelivered();
            let result = pending.and_then(|list| {
                for m in list {
                    self.store_in_app(&m);
                    self.device.ack(m.delivery)?;
                }
                Ok(())
            });
            match result {
                Ok(()) => return,
                Err(ClientError::Storage(_)) => self.restart(net),
                Err(e) => panic!("{e:?}"),
            }
        }
    }

    /// Runs `op`; on a crash, restarts and runs it again (the server
    /// redelivers anything not acknowledged, the user retries a send).
    fn run<T>(
        &mut self,
        net: &Net,
        mut op: impl FnMut(&mut Device) -> Result<T, ClientError>,
    ) -> T {
        loop {
            match op(&mut self.device) {
                Ok(v) => return v,
                Err(ClientError::Storage(_)) => self.restart(net),
                Err(ClientError::Replayed) => {
                    // Processed before the crash; op must have been a receive.
                    panic!("a write that failed must not have been applied");
                }
                Err(e) => panic!("unexpected error after crash recovery: {e:?}"),
            }
        }
    }

    fn receive(&mut self, net: &Net, out: &Outbound) -> Received {
        self.receive_with_tree(net, out, None)
    }

    fn receive_with_tree(&mut self, net: &Net, out: &Outbound, tree: Option<&[u8]>) -> Received {
        let r = self.run(net, |d| {
            d.receive_with_tree(&out.message_id, &out.envelope, tree)
        });
        self.ack_all(net);
        r
    }
}

/// The whole story; Bob's store dies on write number `crash_at`.
fn scenario(crash_at: usize) -> (usize, usize) {
    let net = Net::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bob.db");
    let (device, store, crashes) = Bob::open(path.clone(), &net, crash_at);
    let mut bob = Bob {
        path,
        device,
        store,
        log: Vec::new(),
        crashes,
    };
    let mut alice = net.phone("+15551230001", DeviceProfile::Android);
    let mut carol = net.phone("+15551230003", DeviceProfile::Android);

    let batch = bob.run(&net, |d| d.generate_key_packages(2));
    let kps = ParticipantKeyPackages {
        number: number("+15551230002"),
        devices: vec![DeviceKeyPackages(
            batch
                .key_packages
                .iter()
                .filter(|(s, _)| s.is_post_quantum())
                .take(1)
                .map(|(_, k)| k.clone())
                .collect(),
        )],
        transparency: None,
    };
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"crashy".to_vec(),
            },
            &[kps],
        )
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let id = pending.conversation.clone();
    bob.receive_with_tree(
        &net,
        pending.welcome.as_ref().unwrap(),
        Some(&pending.ratchet_tree),
    );

    for i in 0..3 {
        let m = alice.send_text(&id, &format!("from alice {i}")).unwrap();
        bob.receive(&net, &m.outbound);
    }
    let reply = bob.run(&net, |d| d.send_text(&id, "from bob"));
    assert_eq!(
        text_of(
            &alice
                .receive(&reply.outbound.message_id, &reply.outbound.envelope)
                .unwrap()
        ),
        "from bob"
    );

    // A commit adding Carol: Bob may die between receiving and merging it.
    let add = alice
        .add_participants(&id, &[claim("+15551230003", &mut [&mut carol])])
        .unwrap();
    alice.commit_accepted(&add).unwrap();
    carol
        .receive_with_tree(
            &add.welcome.as_ref().unwrap().message_id,
            &add.welcome.as_ref().unwrap().envelope,
            Some(&add.ratchet_tree),
        )
        .unwrap();
    bob.receive(&net, &add.commit);

    // Bob commits a key update: he may die after staging it.
    let update = bob.run(&net, |d| match d.pending_commit(&id)? {
        Some(p) => Ok(p),
        None => d.update_keys(&id),
    });
    bob.run(&net, |d| {
        d.commit_accepted(&update).map(|_| ()).or_else(|e| match e {
            ClientError::NoPendingCommit => Ok(()),
            e => Err(e),
        })
    });
    alice
        .receive(&update.commit.message_id, &update.commit.envelope)
        .unwrap();
    carol
        .receive(&update.commit.message_id, &update.commit.envelope)
        .unwrap();

    let m = carol.send_text(&id, "from carol").unwrap();
    bob.receive(&net, &m.outbound);
    alice
        .receive(&m.outbound.message_id, &m.outbound.envelope)
        .unwrap();

    let auth = alice.security_state(&id).unwrap().epoch_authenticator;
    assert_eq!(
        bob.device.security_state(&id).unwrap().epoch_authenticator,
        auth,
        "crash at {crash_at}"
    );
    assert_eq!(carol.security_state(&id).unwrap().epoch_authenticator, auth);
    let texts: Vec<&str> = bob.log.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        texts,
        vec!["from alice 0", "from alice 1", "from alice 2", "from carol"],
        "every message exactly once (crash at {crash_at})"
    );
    assert!(bob.device.undelivered().unwrap().is_empty());
    let writes = usize::MAX - bob.store.countdown.load(Ordering::SeqCst);
    (bob.crashes, writes)
}

#[test]
fn crash_at_every_write_then_reload_and_continue() {
    // First learn how many writes the scenario makes without a crash.
    let (crashes, writes) = scenario(usize::MAX);
    assert_eq!(crashes, 0);
    assert!(writes > 10, "scenario too small: {writes} writes");
    eprintln!("crash points exercised: {writes}");
    for n in 1..=writes {
        let (crashes, _) = scenario(n);
        assert_eq!(crashes, 1, "crash point {n} was not reached");
    }
}
