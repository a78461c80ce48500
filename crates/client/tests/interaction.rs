//! Seeded random interaction between three devices and an ordering server:
//! sends, concurrent commits, server verdicts, late deliveries and device
//! reloads in random order. After every run all devices agree on the
//! epoch authenticator and every message was decrypted exactly once by
//! every other member.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use common::*;
use crosslock_client::env::{Environment, SeededEntropy};
use crosslock_client::keystore::SoftwareKeyStore;
use crosslock_client::store::{MemoryStore, StateStore};
use crosslock_client::*;

/// What the server puts in a device's queue.
#[derive(Clone)]
enum Delivery {
    Message(Outbound),
    /// The verdict on one of this device's own commits.
    Verdict(bool, Box<PendingCommit>),
}

struct Phone {
    device: Device,
    store: Arc<MemoryStore>,
    queue: VecDeque<Delivery>,
}

/// The ordering server: first commit per epoch wins.
struct Server {
    epoch: u64,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn reopen(net: &Net, phone: &mut Phone, seed: u64) {
    let store: Arc<dyn StateStore> = phone.store.clone();
    let keystore = Arc::new(SoftwareKeyStore::new(store.clone()));
    let env = Environment {
        clock: net.clock.clone(),
        entropy: Arc::new(SeededEntropy::new(seed)),
    };
    phone.device = Device::open(store, keystore, dev_config(), env).unwrap();
}

fn handle(
    phone: &mut Phone,
    i: usize,
    next: Delivery,
    id: &ConversationId,
    received: &mut BTreeMap<String, BTreeSet<usize>>,
    seed: u64,
    step: usize,
) {
    match next {
        Delivery::Verdict(true, commit) => {
            phone.device.commit_accepted(&commit).unwrap();
        }
        Delivery::Verdict(false, commit) => phone.device.commit_rejected(&commit).unwrap(),
        Delivery::Message(m) => {
            let result = phone.device.receive(&m.message_id, &m.envelope).unwrap_or_else(|e| {
                let env = crosslock_client::wire::cpim::MlsEnvelope::decode(&m.envelope).unwrap();
                let msg = mls_rs::MlsMessage::from_bytes(&env.body).unwrap();
                let st = phone.device.security_state(id).unwrap();
                panic!(
                    "seed {seed} step {step} device {i}: {e:?}; message epoch {:?} {:?} {}; device epoch {} pending {}",
                    msg.epoch(),
                    msg.wire_format(),
                    m.content_type,
                    st.epoch,
                    st.commit_pending
                )
            });
            match result {
                Received::Message(r) => {
                    assert!(
                        received.entry(m.message_id.clone()).or_default().insert(i),
                        "decrypted twice"
                    );
                    phone.device.ack(r.delivery).unwrap();
                }
                Received::Commit(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

fn run(seed: u64, steps: usize) {
    let net = Net::new();
    let mut rng = Rng(seed | 1);
    let numbers = ["+15551230001", "+15551230002", "+15551230003"];
    let profiles = [
        DeviceProfile::Android,
        DeviceProfile::Ios,
        DeviceProfile::Android,
    ];
    let mut phones: Vec<Phone> = numbers
        .iter()
        .zip(profiles)
        .map(|(n, p)| {
            let store = Arc::new(MemoryStore::new());
            let device = net.phone_in(store.clone(), n, p, dev_config());
            Phone {
                device,
                store,
                queue: VecDeque::new(),
            }
        })
        .collect();
    let claims: Vec<_> = (1..3)
        .map(|i| claim(numbers[i], &mut [&mut phones[i].device]))
        .collect();
    let pending = phones[0]
        .device
        .create_conversation(
            NewConversation::Group {
                group_id: b"fuzz".to_vec(),
            },
            &claims,
        )
        .unwrap();
    phones[0].device.commit_accepted(&pending).unwrap();
    let id = pending.conversation.clone();
    let welcome = pending.welcome.unwrap();
    for p in &mut phones[1..] {
        p.device
            .receive_with_tree(
                &welcome.message_id,
                &welcome.envelope,
                Some(&pending.ratchet_tree),
            )
            .unwrap();
    }
    let mut server = Server { epoch: 1 };
    // message id → sender, and who decrypted it.
    let mut sent: BTreeMap<String, usize> = BTreeMap::new();
    let mut received: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut reloads = 0;

    for step in 0..steps {
        let i = rng.below(3) as usize;
        match rng.below(10) {
            0..=2 => {
                // Send a text (refused while proposals wait, never otherwise).
                let text = format!("m{step}");
                let s = phones[i].device.send_text(&id, &text).unwrap();
                sent.insert(s.outbound.message_id.clone(), i);
                for (j, p) in phones.iter_mut().enumerate() {
                    if j != i {
                        p.queue.push_back(Delivery::Message(s.outbound.clone()));
                    }
                }
            }
            3 => {
                // Commit (unless one is already waiting for its verdict).
                if phones[i].device.pending_commit(&id).unwrap().is_some() {
                    continue;
                }
                let state = phones[i].device.security_state(&id).unwrap();
                let c = phones[i].device.update_keys(&id).unwrap();
                let wins = state.epoch == server.epoch;
                if wins {
                    server.epoch += 1;
                    for (j, p) in phones.iter_mut().enumerate() {
                        if j != i {
                            p.queue.push_back(Delivery::Message(c.commit.clone()));
                        }
                    }
                }
                phones[i]
                    .queue
                    .push_back(Delivery::Verdict(wins, Box::new(c)));
            }
            4..=8 => {
                // Deliver the next thing queued for device i.
                let Some(next) = phones[i].queue.pop_front() else {
                    continue;
                };
                handle(&mut phones[i], i, next, &id, &mut received, seed, step);
            }
            _ => {
                // The app is killed and restarted.
                reloads += 1;
                reopen(
                    &net,
                    &mut phones[i],
                    seed.wrapping_mul(31).wrapping_add(step as u64),
                );
            }
        }
    }
    // Drain everything.
    for (i, phone) in phones.iter_mut().enumerate() {
        while let Some(next) = phone.queue.pop_front() {
            handle(phone, i, next, &id, &mut received, seed, steps);
        }
    }
    let auth = phones[0].device.security_state(&id).unwrap();
    for p in &mut phones[1..] {
        let s = p.device.security_state(&id).unwrap();
        assert_eq!(s.epoch, auth.epoch, "seed {seed}");
        assert_eq!(
            s.epoch_authenticator, auth.epoch_authenticator,
            "seed {seed}"
        );
    }
    assert_eq!(auth.epoch, server.epoch, "seed {seed}");
    for (message, sender) in &sent {
        let expected: BTreeSet<usize> = (0..3).filter(|j| j != sender).collect();
        assert_eq!(
            received.get(message),
            Some(&expected),
            "seed {seed}: message {message}"
        );
    }
    for p in &phones {
        assert!(p.device.undelivered().unwrap().is_empty());
    }
    let _ = reloads;
}

#[test]
fn random_interleavings_converge() {
    let seeds: u64 = std::env::var("CROSSLOCK_INTERACTION_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    for seed in 1..=seeds {
        run(seed, 160);
    }
}
