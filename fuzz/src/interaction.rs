//! Two real client cores and an ordering server, driven by a program of
//! fuzz bytes (the `interaction` target).
//!
//! The server accepts the first commit per epoch and refuses the others;
//! a device hears the verdict on its own commit in its queue, after what
//! was queued for it before. Each op byte picks one of:
//!
//! | op | what |
//! |---|---|
//! | 0, 1 | device A / B sends a text |
//! | 2, 3 | A / B commits (an update); the server decides |
//! | 4, 5 | A / B commits and the server refuses it whatever the epoch |
//! | 6, 7 | A / B processes the next item in its queue |
//! | 8, 9 | A / B is killed and reopened from its store |
//! | 10, 11 | everything in flight is delivered, then A / B removes the other and adds it back (a new Welcome) |
//! | 12, 13 | the transport delivers the last message A / B processed again: it must be refused |
//!
//! After each op: no device is ahead of the server, and two devices in the
//! same epoch have the same epoch authenticator. At the end everything is
//! delivered, both are in the server's epoch with one authenticator, every
//! message was decrypted exactly once by the other device, and nothing is
//! left unacknowledged.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, OnceLock};

use crosslock_client::credential::{PhoneNumber, TrustAnchors, TrustPolicy};
use crosslock_client::env::{Environment, ManualClock, SeededEntropy};
use crosslock_client::keystore::SoftwareKeyStore;
use crosslock_client::store::{MemoryStore, StateStore, Table, Write, WriteBatch};
use crosslock_client::{
    ConversationId, Device, DeviceConfig, DeviceKeyPackages, DeviceProfile, NewConversation,
    NewDevice, Outbound, ParticipantKeyPackages, PendingCommit, Received,
};

const T0: u64 = 1_790_000_000;
const NUMBERS: [&str; 2] = ["+15551230001", "+15551230002"];
/// Ops run per input (longer inputs are cut).
pub const MAX_OPS: usize = 64;

fn config() -> DeviceConfig {
    DeviceConfig::new(TrustPolicy::Development {
        anchors: TrustAnchors::none(),
    })
}

type Rows = Vec<(Table, Vec<u8>, Vec<u8>)>;

fn snapshot(store: &dyn StateStore) -> Rows {
    let mut rows = Vec::new();
    for table in Table::ALL {
        for (k, v) in store.scan(table, &[]).expect("scan") {
            rows.push((table, k, v));
        }
    }
    rows
}

fn restore(rows: &Rows) -> Arc<MemoryStore> {
    let store = MemoryStore::new();
    let batch = rows
        .iter()
        .map(|(t, k, v)| Write::Put(*t, k.clone(), v.clone()))
        .collect();
    store.commit(WriteBatch(batch)).expect("restore");
    Arc::new(store)
}

/// Both devices right after A created the group with B and B joined:
/// made once per process, copied for every input.
struct Template {
    stores: [Rows; 2],
    conversation: ConversationId,
}

fn env(clock: &Arc<ManualClock>, seed: u64) -> Environment {
    Environment {
        clock: clock.clone(),
        entropy: Arc::new(SeededEntropy::new(seed)),
    }
}

fn claim(device: &mut Device) -> ParticipantKeyPackages {
    let batch = device.generate_key_packages(1).expect("key packages");
    ParticipantKeyPackages {
        number: device.number().clone(),
        devices: vec![DeviceKeyPackages(
            batch.key_packages.into_iter().map(|(_, kp)| kp).collect(),
        )],
        transparency: None,
    }
}

impl Template {
    fn get() -> &'static Template {
        static TEMPLATE: OnceLock<Template> = OnceLock::new();
        TEMPLATE.get_or_init(Template::build)
    }

    fn build() -> Template {
        let clock = Arc::new(ManualClock::new(T0));
        let stores = [Arc::new(MemoryStore::new()), Arc::new(MemoryStore::new())];
        let profiles = [DeviceProfile::Android, DeviceProfile::Ios];
        let mut devices: Vec<Device> = (0..2)
            .map(|i| {
                let store: Arc<dyn StateStore> = stores[i].clone();
                Device::create(
                    store.clone(),
                    Arc::new(SoftwareKeyStore::new(store)),
                    NewDevice {
                        number: PhoneNumber::parse(NUMBERS[i]).expect("number"),
                        profile: profiles[i],
                    },
                    config(),
                    env(&clock, 7919 * (i as u64 + 1)),
                )
                .expect("create device")
            })
            .collect();
        let claims = [claim(&mut devices[1])];
        let pending = devices[0]
            .create_conversation(
                NewConversation::Group {
                    group_id: b"fuzz-interaction".to_vec(),
                },
                &claims,
            )
            .expect("create conversation");
        devices[0].commit_accepted(&pending).expect("accept");
        let welcome = pending.welcome.as_ref().expect("welcome");
        // The tree travels beside the Welcome (MLS-GI-1).
        match devices[1].receive_with_tree(
            &welcome.message_id,
            &welcome.envelope,
            Some(&pending.ratchet_tree),
        ) {
            Ok(Received::Joined { .. }) => {}
            other => panic!("B did not join: {other:?}"),
        }
        Template {
            stores: [snapshot(&*stores[0]), snapshot(&*stores[1])],
            conversation: pending.conversation.clone(),
        }
    }
}

/// What the server puts in a device's queue.
#[derive(Debug, Clone)]
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

/// One run of a program.
pub struct World {
    clock: Arc<ManualClock>,
    phones: Vec<Phone>,
    id: ConversationId,
    server_epoch: u64,
    reopened: u64,
    /// The last message each device processed.
    last: [Option<Outbound>; 2],
    /// Message id → sender.
    sent: BTreeMap<String, usize>,
    /// Message id → the device that decrypted it.
    received: BTreeMap<String, usize>,
    trace: Vec<String>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("server_epoch", &self.server_epoch)
            .field("trace", &self.trace)
            .finish_non_exhaustive()
    }
}

impl World {
    /// A fresh copy of the template.
    pub fn new() -> World {
        let template = Template::get();
        let clock = Arc::new(ManualClock::new(T0));
        let phones = (0..2)
            .map(|i| {
                let store = restore(&template.stores[i]);
                let device = open(&clock, &store, 100 + i as u64);
                Phone {
                    device,
                    store,
                    queue: VecDeque::new(),
                }
            })
            .collect();
        World {
            clock,
            phones,
            id: template.conversation.clone(),
            server_epoch: 1,
            reopened: 0,
            last: [None, None],
            sent: BTreeMap::new(),
            received: BTreeMap::new(),
            trace: Vec::new(),
        }
    }

    fn fail(&self, what: impl std::fmt::Display) -> ! {
        panic!("{what}\ntrace: {:?}", self.trace)
    }

    /// Runs one op byte.
    pub fn step(&mut self, op: u8) {
        let i = usize::from(op % 2);
        match (op % 14) / 2 {
            0 => self.send(i),
            1 => self.commit(i, false),
            2 => self.commit(i, true),
            3 => {
                self.deliver_next(i);
            }
            4 => self.reopen(i),
            5 => self.remove_and_readd(i),
            _ => self.replay(i),
        }
        self.check_step();
    }

    fn send(&mut self, i: usize) {
        self.trace.push(format!("{i} send"));
        let text = format!("message {} from {i}", self.sent.len());
        let sent = match self.phones[i].device.send_text(&self.id, &text) {
            Ok(s) => s,
            Err(e) => self.fail(format_args!("device {i} could not send: {e:?}")),
        };
        let id = sent.outbound.message_id.clone();
        if self.sent.insert(id, i).is_some() {
            self.fail("two messages with one id");
        }
        self.phones[1 - i]
            .queue
            .push_back(Delivery::Message(sent.outbound));
    }

    fn commit(&mut self, i: usize, refuse: bool) {
        let device = &mut self.phones[i].device;
        match device.pending_commit(&self.id) {
            Ok(None) => {}
            Ok(Some(_)) => return,
            Err(e) => self.fail(format_args!("pending_commit: {e:?}")),
        }
        let epoch = match device.security_state(&self.id) {
            Ok(s) => s.epoch,
            Err(e) => self.fail(format_args!("security_state: {e:?}")),
        };
        let commit = match self.phones[i].device.update_keys(&self.id) {
            Ok(c) => c,
            Err(e) => self.fail(format_args!("device {i} could not commit: {e:?}")),
        };
        let wins = !refuse && epoch == self.server_epoch;
        self.trace.push(format!(
            "{i} commit at {epoch}: wins {wins} (refused {refuse})"
        ));
        if wins {
            self.server_epoch += 1;
            self.phones[1 - i]
                .queue
                .push_back(Delivery::Message(commit.commit.clone()));
        }
        self.phones[i]
            .queue
            .push_back(Delivery::Verdict(wins, Box::new(commit)));
    }

    /// Processes the next item queued for device `i`; false if none.
    fn deliver_next(&mut self, i: usize) -> bool {
        let Some(next) = self.phones[i].queue.pop_front() else {
            return false;
        };
        let device = &mut self.phones[i].device;
        match next {
            Delivery::Verdict(true, commit) => {
                self.trace.push(format!("{i} verdict accepted"));
                if let Err(e) = device.commit_accepted(&commit) {
                    self.fail(format_args!("device {i} commit_accepted: {e:?}"));
                }
            }
            Delivery::Verdict(false, commit) => {
                self.trace.push(format!("{i} verdict refused"));
                if let Err(e) = device.commit_rejected(&commit) {
                    self.fail(format_args!("device {i} commit_rejected: {e:?}"));
                }
            }
            Delivery::Message(m) => {
                self.trace
                    .push(format!("{i} receives {} {}", m.content_type, m.message_id));
                self.last[i] = Some(m.clone());
                match device.receive(&m.message_id, &m.envelope) {
                    Ok(Received::Message(r)) => {
                        if self.sent.get(&m.message_id) != Some(&(1 - i)) {
                            self.fail(format_args!("device {i} decrypted an unknown message"));
                        }
                        if self.received.insert(m.message_id.clone(), i).is_some() {
                            self.fail(format_args!("{} decrypted twice", m.message_id));
                        }
                        if let Err(e) = self.phones[i].device.ack(r.delivery) {
                            self.fail(format_args!("ack: {e:?}"));
                        }
                    }
                    Ok(Received::Commit(_)) => {}
                    Ok(other) => self.fail(format_args!("device {i}: unexpected {other:?}")),
                    Err(e) => self.fail(format_args!("device {i} refused a delivery: {e:?}")),
                }
            }
        }
        true
    }

    fn replay(&mut self, i: usize) {
        let Some(m) = self.last[i].clone() else {
            return;
        };
        self.trace.push(format!("{i} replayed {}", m.message_id));
        if let Ok(r) = self.phones[i].device.receive(&m.message_id, &m.envelope) {
            self.fail(format_args!("device {i} accepted a replay: {r:?}"));
        }
    }

    fn reopen(&mut self, i: usize) {
        self.trace.push(format!("{i} reopens"));
        self.reopened += 1;
        let seed = 1000 + self.reopened;
        self.phones[i].device = open(&self.clock, &self.phones[i].store, seed);
    }

    /// Delivers everything in flight (alternating devices).
    fn drain(&mut self) {
        loop {
            let a = self.deliver_next(0);
            let b = self.deliver_next(1);
            if !a && !b {
                return;
            }
        }
    }

    fn remove_and_readd(&mut self, i: usize) {
        self.drain();
        self.trace
            .push(format!("{i} removes and re-adds {}", 1 - i));
        let other = self.phones[1 - i].device.number().clone();
        let removal = match self.phones[i].device.remove_participant(&self.id, &other) {
            Ok(c) => c,
            Err(e) => self.fail(format_args!("remove_participant: {e:?}")),
        };
        self.server_epoch += 1;
        if let Err(e) = self.phones[i].device.commit_accepted(&removal) {
            self.fail(format_args!("accept removal: {e:?}"));
        }
        let c = &removal.commit;
        match self.phones[1 - i]
            .device
            .receive(&c.message_id, &c.envelope)
        {
            Ok(Received::Commit(event)) if event.removed_self => {}
            other => self.fail(format_args!("removed device got {other:?}")),
        }
        let claim = claim(&mut self.phones[1 - i].device);
        let add = match self.phones[i].device.add_participants(&self.id, &[claim]) {
            Ok(c) => c,
            Err(e) => self.fail(format_args!("add_participants: {e:?}")),
        };
        self.server_epoch += 1;
        if let Err(e) = self.phones[i].device.commit_accepted(&add) {
            self.fail(format_args!("accept re-add: {e:?}"));
        }
        let Some(w) = &add.welcome else {
            self.fail("re-add without a Welcome");
        };
        match self.phones[1 - i].device.receive_with_tree(
            &w.message_id,
            &w.envelope,
            Some(&add.ratchet_tree),
        ) {
            Ok(Received::Joined { .. }) => {}
            other => self.fail(format_args!("re-added device got {other:?}")),
        }
    }

    fn state(&mut self, i: usize) -> (u64, [u8; 32]) {
        match self.phones[i].device.security_state(&self.id) {
            Ok(s) => (s.epoch, s.epoch_authenticator),
            Err(e) => self.fail(format_args!("security_state of {i}: {e:?}")),
        }
    }

    fn check_step(&mut self) {
        let (a, b) = (self.state(0), self.state(1));
        if a.0 > self.server_epoch || b.0 > self.server_epoch {
            self.fail(format_args!(
                "ahead of the server: {} {} > {}",
                a.0, b.0, self.server_epoch
            ));
        }
        if a.0 == b.0 && a.1 != b.1 {
            self.fail(format_args!("epoch {}: authenticators differ", a.0));
        }
    }

    /// Delivers everything and checks the end state.
    pub fn finish(mut self) {
        self.drain();
        let (a, b) = (self.state(0), self.state(1));
        if a != b || a.0 != self.server_epoch {
            self.fail(format_args!(
                "diverged: A at {}, B at {}, server at {}",
                a.0, b.0, self.server_epoch
            ));
        }
        for (id, sender) in &self.sent {
            if self.received.get(id) != Some(&(1 - sender)) {
                self.fail(format_args!("message {id} from {sender} not decrypted"));
            }
        }
        for (i, phone) in self.phones.iter().enumerate() {
            match phone.device.undelivered() {
                Ok(left) if left.is_empty() => {}
                other => self.fail(format_args!("device {i} undelivered: {other:?}")),
            }
        }
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

fn open(clock: &Arc<ManualClock>, store: &Arc<MemoryStore>, seed: u64) -> Device {
    let store: Arc<dyn StateStore> = store.clone();
    let keystore = Arc::new(SoftwareKeyStore::new(store.clone()));
    Device::open(store, keystore, config(), env(clock, seed)).expect("open device")
}

/// Runs a whole program.
pub fn run(program: &[u8]) {
    let mut world = World::new();
    for &op in program.iter().take(MAX_OPS) {
        world.step(op);
    }
    world.finish();
}
