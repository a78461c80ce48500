//! `crosslock demo`: an Android phone and an iPhone talk end-to-end
//! encrypted, and the narration shows what the server relayed (sizes and
//! content types, never plaintext) beside what the phones decrypted.
//!
//! The phones are real client cores on encrypted SQLite files. Until the
//! delivery service lands, an in-process relay stands in for it: it orders
//! commits, queues messages for offline phones and records what it saw.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crosslock_client::credential::{PhoneNumber, TrustAnchors, TrustPolicy};
use crosslock_client::env::Environment;
use crosslock_client::keystore::SoftwareKeyStore;
use crosslock_client::store::{DatabaseKey, SqliteStore, StateStore};
use crosslock_client::wire::status::{MessageStatus, PerMessageStatus};
use crosslock_client::*;

/// Options of `crosslock demo`.
#[derive(clap::Args, Debug)]
pub(crate) struct DemoArgs {
    /// Print one JSON object per event instead of the narration.
    #[arg(long)]
    json: bool,
    /// Keep the phones' encrypted databases here instead of a temporary
    /// directory (it must not already hold them).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// A failed expectation or an error: the demo stops and exits non-zero.
#[derive(Debug)]
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// Prints the story, as text or JSON events.
struct Narrator {
    json: bool,
    step: usize,
}

impl Narrator {
    fn emit(&self, event: serde_json::Value, text: String) {
        if self.json {
            println!("{event}");
        } else {
            println!("{text}");
        }
    }

    fn step(&mut self, title: &str) {
        self.step += 1;
        let n = self.step;
        self.emit(
            serde_json::json!({"event": "step", "step": n, "title": title}),
            format!("\n{n}. {title}"),
        );
    }

    fn server(&self, what: &str, out: &Outbound) {
        self.emit(
            serde_json::json!({"event": "server", "what": what, "content_type": out.content_type,
                "bytes": out.envelope.len(), "message_id": out.message_id}),
            format!(
                "   server relayed  {what}: {} bytes of {} (id {})",
                out.envelope.len(),
                out.content_type,
                out.message_id
            ),
        );
    }

    fn phone(&self, who: &str, what: &str) {
        self.emit(
            serde_json::json!({"event": "phone", "phone": who, "what": what}),
            format!("   {who:<13} {what}"),
        );
    }

    fn check(&self, ok: bool, what: &str) -> Result<(), Failure> {
        self.emit(
            serde_json::json!({"event": "check", "ok": ok, "what": what}),
            format!("   {} {what}", if ok { "✓" } else { "✗" }),
        );
        if ok {
            Ok(())
        } else {
            Err(Failure(format!("expectation failed: {what}")))
        }
    }
}

/// The stand-in for the delivery service: per-device queues.
#[derive(Default)]
struct Relay {
    queues: BTreeMap<String, VecDeque<Outbound>>,
}

impl Relay {
    fn send(&mut self, to: &[&str], out: &Outbound) {
        for name in to {
            self.queues
                .entry((*name).to_owned())
                .or_default()
                .push_back(out.clone());
        }
    }

    fn drain(&mut self, name: &str) -> Vec<Outbound> {
        self.queues
            .get_mut(name)
            .map(|q| q.drain(..).collect())
            .unwrap_or_default()
    }
}

struct Phones {
    dir: PathBuf,
    devices: BTreeMap<String, Device>,
}

impl Phones {
    fn add(&mut self, name: &str, number: &str, profile: DeviceProfile) -> Result<(), Failure> {
        let path = self.dir.join(format!("{name}.db"));
        if path.exists() {
            return Err(Failure(format!(
                "{} already exists; give --dir an empty directory",
                path.display()
            )));
        }
        // Each phone's database has its own random key (on a real phone the
        // platform key store wraps it).
        let env = Environment::system();
        let store: Arc<dyn StateStore> =
            Arc::new(SqliteStore::open(&path, &DatabaseKey::new(env.random()))?);
        let keystore = Arc::new(SoftwareKeyStore::new(store.clone()));
        let config = DeviceConfig::new(TrustPolicy::Development {
            anchors: TrustAnchors::none(),
        });
        let device = Device::create(
            store,
            keystore,
            NewDevice {
                number: PhoneNumber::parse(number)?,
                profile,
            },
            config,
            env,
        )?;
        self.devices.insert(name.to_owned(), device);
        Ok(())
    }

    fn get(&mut self, name: &str) -> Result<&mut Device, Failure> {
        self.devices
            .get_mut(name)
            .ok_or_else(|| Failure(format!("no phone {name}")))
    }

    /// What a KDS claim for these devices would return.
    fn claim(&mut self, number: &str, names: &[&str]) -> Result<ParticipantKeyPackages, Failure> {
        let mut devices = Vec::new();
        for name in names {
            let batch = self.get(name)?.generate_key_packages(1)?;
            devices.push(DeviceKeyPackages(
                batch.key_packages.into_iter().map(|(_, kp)| kp).collect(),
            ));
        }
        Ok(ParticipantKeyPackages {
            number: PhoneNumber::parse(number)?,
            devices,
            transparency: None,
        })
    }

    /// Delivers everything queued for `name`; returns what it decrypted.
    fn deliver(&mut self, relay: &mut Relay, name: &str) -> Result<Vec<Received>, Failure> {
        let mut out = Vec::new();
        for message in relay.drain(name) {
            let device = self.get(name)?;
            let received = device.receive(&message.message_id, &message.envelope)?;
            if let Received::Message(m) = &received {
                device.ack(m.delivery)?;
            }
            out.push(received);
        }
        Ok(out)
    }
}

fn text(r: &Received) -> Option<String> {
    match r {
        Received::Message(ReceivedMessage {
            content: ReceivedContent::Mimi { content, .. },
            ..
        }) => content.text_body().map(str::to_owned),
        _ => None,
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

pub(crate) fn run(args: DemoArgs) -> ExitCode {
    let temp = match &args.dir {
        Some(_) => None,
        None => match tempfile::tempdir() {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("error: cannot create a temporary directory: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let dir = args
        .dir
        .clone()
        .or_else(|| temp.as_ref().map(|t| t.path().to_owned()))
        .unwrap_or_default();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let mut narrator = Narrator {
        json: args.json,
        step: 0,
    };
    match story(&mut narrator, dir) {
        Ok(()) => {
            narrator.emit(
                serde_json::json!({"event": "done", "ok": true}),
                "\nAll steps passed.".into(),
            );
            ExitCode::SUCCESS
        }
        Err(Failure(why)) => {
            narrator.emit(
                serde_json::json!({"event": "done", "ok": false, "error": why}),
                format!("\nDemo failed: {why}"),
            );
            ExitCode::FAILURE
        }
    }
}

fn story(n: &mut Narrator, dir: PathBuf) -> Result<(), Failure> {
    let mut phones = Phones {
        dir,
        devices: BTreeMap::new(),
    };
    let mut relay = Relay::default();

    n.step("Alice (Android) and Bob (iPhone) set up their phones");
    phones.add("alice", "+15550100001", DeviceProfile::Android)?;
    phones.add("bob", "+15550100002", DeviceProfile::Ios)?;
    for name in ["alice", "bob"] {
        let d = phones.get(name)?;
        let suites: Vec<String> = d
            .suites()
            .iter()
            .map(|s| format!("{:#06x}", s.code()))
            .collect();
        let line = format!(
            "device {} ({}), suites {}",
            d.device_id(),
            d.profile().name(),
            suites.join(" ")
        );
        n.phone(name, &line);
    }
    let batch = phones.get("bob")?.generate_key_packages(10)?;
    let bytes: usize = batch
        .key_packages
        .iter()
        .chain(&batch.last_resort)
        .map(|(_, k)| k.len())
        .sum();
    n.phone(
        "bob",
        &format!(
            "published {} KeyPackages + {} last-resort ({} bytes, public keys only)",
            batch.key_packages.len(),
            batch.last_resort.len(),
            bytes
        ),
    );

    n.step("Alice starts an end-to-end encrypted chat with Bob");
    let bob_kps = phones.claim("+15550100002", &["bob"])?;
    let pending = phones
        .get("alice")?
        .create_conversation(NewConversation::OneToOne, &[bob_kps])?;
    let chat = pending.conversation.clone();
    n.server("commit (Alice adds Bob)", &pending.commit);
    phones.get("alice")?.commit_accepted(&pending)?;
    let welcome = pending
        .welcome
        .clone()
        .ok_or_else(|| Failure("no Welcome".into()))?;
    n.server("Welcome for Bob", &welcome);
    relay.send(&["bob"], &welcome);
    let joined = phones.deliver(&mut relay, "bob")?;
    n.check(
        matches!(joined.first(), Some(Received::Joined { .. })),
        "Bob joined the conversation",
    )?;
    let suite = phones.get("alice")?.security_state(&chat)?.suite;
    n.phone("both", &format!("agree on {suite}"));

    n.step("Alice texts Bob while his phone is offline; he catches up");
    let texts = [
        "Hi Bob! Dinner at 8?",
        "I'll book the table.",
        "Bring the photos from Lisbon",
    ];
    for t in texts {
        let sent = phones.get("alice")?.send_text(&chat, t)?;
        n.server("message", &sent.outbound);
        n.check(
            !contains(&sent.outbound.envelope, t),
            "the server cannot read it",
        )?;
        relay.send(&["bob"], &sent.outbound);
    }
    let got = phones.deliver(&mut relay, "bob")?;
    let decrypted: Vec<String> = got.iter().filter_map(text).collect();
    for t in &decrypted {
        n.phone("bob", &format!("decrypted \"{t}\""));
    }
    n.check(decrypted == texts, "Bob got all three, in order, once each")?;

    n.step("Bob types and reads: typing and read receipts travel encrypted");
    let typing = phones.get("bob")?.send_typing(&chat, true)?;
    n.server("message", &typing.outbound);
    relay.send(&["alice"], &typing.outbound);
    let last_id = got.iter().rev().find_map(|r| match r {
        Received::Message(ReceivedMessage {
            content: ReceivedContent::Mimi { id, .. },
            ..
        }) => Some(*id),
        _ => None,
    });
    let last_id = last_id.ok_or_else(|| Failure("no message id".into()))?;
    let receipt = phones.get("bob")?.send_status(
        &chat,
        vec![PerMessageStatus {
            message_id: last_id,
            status: MessageStatus::Read,
        }],
    )?;
    n.server("message", &receipt.outbound);
    relay.send(&["alice"], &receipt.outbound);
    let events = phones.deliver(&mut relay, "alice")?;
    let saw_typing = events.iter().any(|e| matches!(e, Received::Typing { .. }));
    let saw_read = events.iter().any(|e| {
        matches!(e, Received::Message(ReceivedMessage { content: ReceivedContent::Status(r), .. })
            if r.statuses.iter().any(|s| s.message_id == last_id && s.status == MessageStatus::Read))
    });
    n.phone(
        "alice",
        "sees \"Bob is typing…\" and \"Read\" under her last message",
    );
    n.check(
        saw_typing && saw_read,
        "typing indicator and read receipt decrypted by Alice only",
    )?;

    n.step("Alice makes a group with Bob and Carol, who has a phone and a tablet");
    phones.add("carol-phone", "+15550100003", DeviceProfile::Android)?;
    phones.add("carol-tablet", "+15550100003", DeviceProfile::Ios)?;
    let claims = [
        phones.claim("+15550100002", &["bob"])?,
        phones.claim("+15550100003", &["carol-phone", "carol-tablet"])?,
    ];
    let pending = phones.get("alice")?.create_conversation(
        NewConversation::Group {
            group_id: b"rcs-group-dinner".to_vec(),
        },
        &claims,
    )?;
    let group = pending.conversation.clone();
    n.server("commit (3 devices added in one commit)", &pending.commit);
    phones.get("alice")?.commit_accepted(&pending)?;
    let welcome = pending
        .welcome
        .clone()
        .ok_or_else(|| Failure("no Welcome".into()))?;
    n.server("Welcome (one, for all three devices)", &welcome);
    relay.send(&["bob", "carol-phone", "carol-tablet"], &welcome);
    for name in ["bob", "carol-phone", "carol-tablet"] {
        phones.deliver(&mut relay, name)?;
    }
    let hello = phones
        .get("alice")?
        .send_text(&group, "Welcome to the dinner group")?;
    n.server("message", &hello.outbound);
    relay.send(&["bob", "carol-phone", "carol-tablet"], &hello.outbound);
    let mut all = true;
    for name in ["bob", "carol-phone", "carol-tablet"] {
        let got = phones.deliver(&mut relay, name)?;
        all &= got
            .iter()
            .filter_map(text)
            .any(|t| t == "Welcome to the dinner group");
    }
    n.check(all, "all three devices decrypted the group message")?;

    n.step("Carol's tablet is removed and cannot read what follows");
    let tablet_id = phones.get("carol-tablet")?.device_id().to_owned();
    let carol = PhoneNumber::parse("+15550100003")?;
    let removal = phones
        .get("alice")?
        .remove_device(&group, &carol, &tablet_id)?;
    n.server("commit (remove the tablet)", &removal.commit);
    phones.get("alice")?.commit_accepted(&removal)?;
    relay.send(&["bob", "carol-phone", "carol-tablet"], &removal.commit);
    for name in ["bob", "carol-phone", "carol-tablet"] {
        phones.deliver(&mut relay, name)?;
    }
    let secret = phones
        .get("alice")?
        .send_text(&group, "The surprise is at 9")?;
    n.server("message", &secret.outbound);
    relay.send(&["bob", "carol-phone"], &secret.outbound);
    for name in ["bob", "carol-phone"] {
        let got = phones.deliver(&mut relay, name)?;
        n.check(
            got.iter()
                .filter_map(text)
                .any(|t| t == "The surprise is at 9"),
            &format!("{name} reads it"),
        )?;
    }
    let tablet = phones.get("carol-tablet")?;
    let refused = tablet.receive(&secret.outbound.message_id, &secret.outbound.envelope);
    n.phone(
        "carol-tablet",
        &format!(
            "refused: {}",
            refused
                .as_ref()
                .err()
                .map(ToString::to_string)
                .unwrap_or_default()
        ),
    );
    n.check(refused.is_err(), "the removed tablet cannot decrypt")?;

    n.step("Alice and Bob compare safety numbers");
    let bob_number = PhoneNumber::parse("+15550100002")?;
    let alice_number = PhoneNumber::parse("+15550100001")?;
    let a = phones.get("alice")?.safety_number(&chat, &bob_number)?;
    let b = phones.get("bob")?.safety_number(&chat, &alice_number)?;
    n.phone("alice", &format!("safety number {}", a.grouped()));
    n.phone("bob", &format!("safety number {}", b.grouped()));
    n.check(a == b, "both phones show the same 60 digits")?;
    let ok =
        phones
            .get("alice")?
            .confirm_safety_number(&chat, &bob_number, Some(b.qr_payload()))?;
    n.check(ok, "Alice scanned Bob's QR code: Bob is verified")?;

    n.step("Every device agrees on the group state");
    let mut auths = Vec::new();
    for name in ["alice", "bob", "carol-phone"] {
        let s = phones.get(name)?.security_state(&group)?;
        n.phone(
            name,
            &format!(
                "epoch {} authenticator {}",
                s.epoch,
                &hex::encode(s.epoch_authenticator)[..16]
            ),
        );
        auths.push(s.epoch_authenticator);
    }
    n.check(
        auths.windows(2).all(|w| w[0] == w[1]),
        "same epoch authenticator on every member device",
    )?;
    Ok(())
}
