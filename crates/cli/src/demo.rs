//! `crosslock demo`: provider A (Android users) and provider B (iPhone
//! users) start in this process on loopback, federate, and phones talk
//! through them end-to-end encrypted. The narration shows what the servers
//! stored and relayed (sizes, counts, content types: never plaintext)
//! beside what the phones decrypted.
//!
//! Everything is real: the providers are `crosslock serve`'s
//! (crates/provider: carrier, KDS, transparency log, delivery service,
//! content server, mutual-TLS federation), and the phones are
//! `crosslock device`'s (client cores on encrypted SQLite files, talking
//! HTTPS). Only the attacker in step 6 is played by this code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crosslock_acs::{Acs, ProofRequest};
use crosslock_client::credential::{
    CertificateAuthority, PhoneNumber, TrustAnchors, TrustPolicy, TrustedCarriers,
};
use crosslock_client::env::Environment;
use crosslock_client::keystore::SoftwareKeyStore;
use crosslock_client::store::{MemoryStore, StateStore};
use crosslock_client::{
    ConversationId, Device, DeviceProfile, NewConversation, NewDevice, ParticipantKeyPackages,
};
use crosslock_kds::store::SqliteKdsStore;
use crosslock_kds::{AttestationRequirement, FederationClient, Kds, KdsConfig};
use crosslock_kt::server::{KtLog, KtLogOptions, LogKeys};
use crosslock_provider::{Provider, ProviderConfig};
use crosslock_wire::api::B64;
use crosslock_wire::api::kds::{ClaimResponse, ClaimedDevice, EnrollRequest};
use serde_json::{Value, json};

use crate::device::{Report, convo, files};
use crosslock_sdk::Messenger;

/// Options of `crosslock demo`.
#[derive(clap::Args, Debug)]
pub(crate) struct DemoArgs {
    /// Print one JSON object per event instead of the narration.
    #[arg(long)]
    json: bool,
    /// Keep the providers' data and the phones' encrypted databases here
    /// instead of a temporary directory (it must not already hold a demo).
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
    fn emit(&self, event: Value, text: String) {
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
            json!({"event": "step", "step": n, "title": title}),
            format!("\n{n}. {title}"),
        );
    }

    fn server(&self, provider: &str, what: &str, detail: Value) {
        self.emit(
            json!({"event": "server", "provider": provider, "what": what, "detail": detail}),
            format!("   server {provider:<10} {what}"),
        );
    }

    fn phone(&self, who: &str, what: &str) {
        self.emit(
            json!({"event": "phone", "phone": who, "what": what}),
            format!("   phone  {who:<13} {what}"),
        );
    }

    /// The phone's report, line by line.
    fn report(&self, who: &str, report: &Report) {
        for line in report.lines() {
            self.phone(who, line);
        }
    }

    fn check(&self, ok: bool, what: &str) -> Result<(), Failure> {
        self.emit(
            json!({"event": "check", "ok": ok, "what": what}),
            format!("   {} {what}", if ok { "✓" } else { "✗" }),
        );
        if ok {
            Ok(())
        } else {
            Err(Failure(format!("expectation failed: {what}")))
        }
    }
}

pub(crate) fn run(args: DemoArgs) -> ExitCode {
    // The narration is on stdout; the services' logs go to stderr, only
    // when asked for (step 6's attacks make them warn by design).
    if std::env::var_os("RUST_LOG").is_some() {
        crate::logging::init();
    }
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
    if dir.join("provider-a").exists() {
        eprintln!(
            "error: {} already holds a demo; choose an empty directory",
            dir.display()
        );
        return ExitCode::from(2);
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut narrator = Narrator {
        json: args.json,
        step: 0,
    };
    let result = runtime.block_on(story(&mut narrator, &dir));
    match result {
        Ok(()) => {
            narrator.emit(
                json!({"event": "done", "ok": true}),
                "\nAll six steps passed.".into(),
            );
            ExitCode::SUCCESS
        }
        Err(Failure(why)) => {
            narrator.emit(
                json!({"event": "done", "ok": false, "error": why}),
                format!("\nDemo failed: {why}"),
            );
            ExitCode::FAILURE
        }
    }
}

const ALICE: &str = "+15550100001";
const BOB: &str = "+447700900002";
const CAROL: &str = "+15550100003";

fn free_port() -> Result<u16, Failure> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// What the demo's phones present to their carrier (the SIM stand-in).
const SUBSCRIBER_TOKEN: &str = "demo-sim-secret-0001";

fn provider_config(
    name: &str,
    prefix: &str,
    federation_port: u16,
) -> Result<ProviderConfig, Failure> {
    let mut config = ProviderConfig::default();
    config.provider.name = name.into();
    config.provider.prefixes = vec![prefix.into()];
    // A fixed port: the peer's block names this public URL (its files'
    // host, trusted with this provider's TLS root only).
    config.provider.listen = ([127, 0, 0, 1], free_port()?).into();
    config.provider.admin_listen = ([127, 0, 0, 1], 0).into();
    config.provider.federation_listen = ([127, 0, 0, 1], federation_port).into();
    config.transparency.epoch_interval_secs = 1;
    Ok(config)
}

/// Writes a carrier subscriber file for `numbers` (each with `token`) and
/// turns open enrolment off: what a provider needs before it federates.
pub(crate) fn subscribers(
    config: &mut ProviderConfig,
    path: &Path,
    numbers: &[&str],
    token: &str,
) -> std::io::Result<()> {
    let lines: String = numbers.iter().map(|n| format!("{n} {token}\n")).collect();
    std::fs::write(path, lines)?;
    config.carrier.open_enrolment = false;
    config.carrier.subscribers = Some(path.to_owned());
    Ok(())
}

/// Starts A and B, each once alone to make its keys, then again as peers
/// with the other's `[[peers]]` block: what two operators do.
async fn start_providers(dir: &Path) -> Result<(Provider, Provider), Failure> {
    let (port_a, port_b) = (free_port()?, free_port()?);
    let mut config_a = provider_config("a.example", "+1", port_a)?;
    let mut config_b = provider_config("b.example", "+44", port_b)?;
    let first_a = Provider::start(
        config_a.clone(),
        &dir.join("provider-a"),
        Environment::system(),
    )
    .await?;
    let first_b = Provider::start(
        config_b.clone(),
        &dir.join("provider-b"),
        Environment::system(),
    )
    .await?;
    let peer_a = first_a.peer_section().clone();
    let peer_b = first_b.peer_section().clone();
    first_a.shutdown().await;
    first_b.shutdown().await;
    // Federating, each carrier authenticates its own subscribers (open
    // enrolment is for a provider on its own, PROV-DEV-2).
    subscribers(
        &mut config_a,
        &dir.join("subscribers-a.txt"),
        &[ALICE, CAROL],
        SUBSCRIBER_TOKEN,
    )?;
    subscribers(
        &mut config_b,
        &dir.join("subscribers-b.txt"),
        &[BOB],
        SUBSCRIBER_TOKEN,
    )?;
    config_a.peers = vec![peer_b];
    config_b.peers = vec![peer_a];
    let a = Provider::start(config_a, &dir.join("provider-a"), Environment::system()).await?;
    let b = Provider::start(config_b, &dir.join("provider-b"), Environment::system()).await?;
    Ok((a, b))
}

/// Waits until the provider's log has published every queued number.
// Times out by the wall clock (human-scale waits), not protocol time.
#[allow(clippy::disallowed_methods)]
async fn published(provider: &Provider) -> Result<u64, Failure> {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let status = provider.status().await?;
        if status.transparency_queue == 0 && status.transparency_epoch > 0 {
            return Ok(status.transparency_epoch);
        }
        if Instant::now() > until {
            return Err(Failure("no transparency epoch within 30 s".into()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn phone(
    dir: &Path,
    name: &str,
    number: &str,
    profile: &str,
    provider: &Provider,
) -> Result<Messenger, Failure> {
    let ca = std::fs::read_to_string(provider.tls_ca_path())?;
    Ok(crate::device::init(&dir.join(name), number, profile, &provider.public_url(), ca).await?)
}

async fn enroll(
    n: &Narrator,
    who: &str,
    phone: &mut Messenger,
    replace: bool,
) -> Result<(), Failure> {
    let mut report = Report::default();
    convo::enroll(phone, SUBSCRIBER_TOKEN, 10, replace, &mut report).await?;
    n.report(who, &report);
    Ok(())
}

/// Syncs a phone's inbox; returns the report (texts, receipts, ...).
async fn sync(n: &Narrator, who: &str, phone: &mut Messenger) -> Result<Report, Failure> {
    let mut report = Report::default();
    convo::sync(phone, 2, &mut report).await?;
    n.report(who, &report);
    Ok(report)
}

/// Syncs until `done` holds for what arrived (copies from the peer
/// provider come through its federation outbox, possibly in several
/// batches); at most 15 s.
// Times out by the wall clock (human-scale waits), not protocol time.
#[allow(clippy::disallowed_methods)]
async fn sync_until(
    n: &Narrator,
    who: &str,
    phone: &mut Messenger,
    done: impl Fn(&Report) -> bool,
) -> Result<Report, Failure> {
    let until = Instant::now() + Duration::from_secs(15);
    let mut all = Report::default();
    loop {
        convo::sync(phone, 2, &mut all).await?;
        if done(&all) || Instant::now() > until {
            n.report(who, &all);
            return Ok(all);
        }
    }
}

fn events_of<'a>(report: &'a Report, kind: &str) -> Vec<&'a Value> {
    report
        .get("received")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter(|e| e["type"] == kind).collect())
        .unwrap_or_default()
}

fn texts(report: &Report) -> Vec<String> {
    events_of(report, "text")
        .iter()
        .filter_map(|e| e["text"].as_str().map(str::to_owned))
        .collect()
}

fn state(
    phone: &mut Messenger,
    id: &ConversationId,
) -> Result<crosslock_client::SecurityState, Failure> {
    Ok(phone.device_mut().security_state(id)?)
}

/// Bytes stored under a directory (the content server's blobs).
fn stored_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                out.extend(stored_files(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

async fn story(n: &mut Narrator, dir: &Path) -> Result<(), Failure> {
    let (a, b) = start_providers(dir).await?;
    n.emit(
        json!({"event": "providers", "a": a.public_url(), "b": b.public_url()}),
        format!(
            "Provider A (a.example, Android users) at {}\nProvider B (b.example, iPhone users) at {}\nThey federate over mutual TLS.",
            a.public_url(),
            b.public_url()
        ),
    );

    // 1.
    n.step("Alice (Android, provider A) and Bob (iPhone, provider B) enrol with carrier proofs");
    let mut alice = phone(dir, "alice", ALICE, "android", &a).await?;
    let mut bob = phone(dir, "bob", BOB, "ios", &b).await?;
    enroll(n, "alice", &mut alice, false).await?;
    enroll(n, "bob", &mut bob, false).await?;
    let epoch_a = published(&a).await?;
    let epoch_b = published(&b).await?;
    for (name, provider, epoch) in [("a.example", &a, epoch_a), ("b.example", &b, epoch_b)] {
        let s = provider.status().await?;
        n.server(
            name,
            &format!(
                "issued credentials to {} device, holds {} KeyPackages (public keys only); transparency epoch {epoch} publishes the number's keys",
                s.devices, s.key_packages
            ),
            json!({"devices": s.devices, "key_packages": s.key_packages, "epoch": epoch}),
        );
    }
    n.check(
        epoch_a > 0 && epoch_b > 0,
        "both keys are in their provider's transparency log",
    )?;

    // 2.
    n.step("Alice texts Bob; Bob's phone was offline and catches up; receipts and typing travel encrypted");
    let mut report = Report::default();
    let chat = convo::target(&mut alice, Some(BOB), None, &mut report).await?;
    convo::send_text(&mut alice, &chat, "Hi Bob! Dinner tonight?", &mut report).await?;
    n.report("alice", &report);
    // The conversation is hosted at A; B receives Bob's copies over
    // federation, a moment later.
    let mut waiting = b.status().await?;
    for _ in 0..200 {
        if waiting.inbox_items >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        waiting = b.status().await?;
    }
    n.server(
        "b.example",
        &format!(
            "holds {} messages for Bob's offline phone: ciphertext only (the invitation and the text)",
            waiting.inbox_items
        ),
        json!({"inbox_messages": waiting.inbox_items}),
    );
    n.check(
        waiting.inbox_items >= 2,
        "Bob's messages wait at his provider",
    )?;
    let got = sync_until(n, "bob", &mut bob, |r| !texts(r).is_empty()).await?;
    n.check(
        texts(&got) == ["Hi Bob! Dinner tonight?"],
        "Bob's phone decrypted Alice's text",
    )?;
    let mut report = Report::default();
    convo::send_typing(&mut bob, &chat, &mut report).await?;
    n.report("bob", &report);
    let mut report = Report::default();
    convo::send_text(&mut bob, &chat, "Yes! 8pm?", &mut report).await?;
    n.report("bob", &report);
    let got = sync(n, "alice", &mut alice).await?;
    n.check(
        !events_of(&got, "typing").is_empty(),
        "Alice saw Bob typing (encrypted like a message)",
    )?;
    n.check(
        events_of(&got, "receipt")
            .iter()
            .any(|e| e["statuses"][0] == "read"),
        "Alice got Bob's read receipt (encrypted)",
    )?;
    n.check(texts(&got) == ["Yes! 8pm?"], "Alice decrypted Bob's reply")?;
    let (sa, sb) = (state(&mut alice, &chat)?, state(&mut bob, &chat)?);
    n.check(
        sa.epoch_authenticator == sb.epoch_authenticator && sa.encrypted,
        &format!(
            "both phones agree on the group state (epoch authenticator {}…, suite {}, wire profile {})",
            &hex::encode(sa.epoch_authenticator)[..12],
            sa.suite.name(),
            sa.wire_profile.name()
        ),
    )?;

    // 3.
    n.step("Alice makes a group with Bob and Carol, who has a phone and a tablet; a 10 MB photo follows");
    let mut carol = phone(dir, "carol-phone", CAROL, "android", &a).await?;
    let mut tablet = phone(dir, "carol-tablet", CAROL, "android", &a).await?;
    enroll(n, "carol-phone", &mut carol, false).await?;
    enroll(n, "carol-tablet", &mut tablet, false).await?;
    published(&a).await?;
    let mut report = Report::default();
    convo::group_create(&mut alice, &[BOB.to_owned(), CAROL.to_owned()], &mut report).await?;
    n.report("alice", &report);
    let group = convo::conversation_id(
        report
            .get("conversation")
            .and_then(Value::as_str)
            .ok_or_else(|| Failure("no group id".into()))?,
    )?;
    for (who, p) in [
        ("bob", &mut bob),
        ("carol-phone", &mut carol),
        ("carol-tablet", &mut tablet),
    ] {
        sync_until(n, who, p, |r| !events_of(r, "joined").is_empty()).await?;
    }
    let members = state(&mut alice, &group)?;
    let devices: usize = members.members.values().map(Vec::len).sum();
    n.check(
        devices == 4,
        &format!(
            "the group has 4 devices: Alice, Bob, Carol's phone and tablet (suite {}, wire profile {}: {})",
            members.suite.name(),
            members.wire_profile.name(),
            if members.wire_profile.extras() {
                "every device reads Crosslock's extras"
            } else {
                "a member speaks the deployed RCC.16 profile alone"
            }
        ),
    )?;
    let photo_path = dir.join("beach.jpg");
    let photo: Vec<u8> = (0..10 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&photo_path, &photo)?;
    let blobs_before = stored_files(&dir.join("provider-a/content/blobs")).len();
    let mut report = Report::default();
    files::send(
        &mut alice,
        &group,
        &photo_path,
        Some("image/jpeg"),
        &mut report,
    )
    .await?;
    n.report("alice", &report);
    let blobs = stored_files(&dir.join("provider-a/content/blobs"));
    let stored = blobs.len() - blobs_before;
    let blob_bytes: u64 = blobs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0);
    n.server(
        "a.example",
        &format!(
            "content server stored {stored} blob of {blob_bytes} bytes named encrypted_file: no name, no type, no key"
        ),
        json!({"blobs": stored, "bytes": blob_bytes, "name": "encrypted_file"}),
    );
    let mut plain_leak = false;
    for path in &blobs {
        let bytes = std::fs::read(path)?;
        plain_leak |= bytes
            .windows(64)
            .any(|w| w == &photo[1 << 20..(1 << 20) + 64]);
    }
    n.check(
        !plain_leak,
        "the stored blob holds no plaintext of the photo",
    )?;
    for (who, p) in [
        ("bob", &mut bob),
        ("carol-phone", &mut carol),
        ("carol-tablet", &mut tablet),
    ] {
        sync_until(n, who, p, |r| !events_of(r, "file").is_empty()).await?;
        let out = dir.join(format!("{who}-files"));
        let mut report = Report::default();
        files::receive_all(p, &out, &mut report).await?;
        n.report(who, &report);
        let same = std::fs::read(out.join("beach.jpg"))
            .map(|b| b == photo)
            .unwrap_or(false);
        n.check(same, &format!("{who} decrypted the photo, byte for byte"))?;
    }

    // 4.
    n.step("Carol's tablet is removed and cannot read what follows");
    let carol_number = PhoneNumber::parse(CAROL)?;
    let tablet_id = tablet.device_mut().device_id().to_owned();
    let mut report = Report::default();
    convo::remove_device(&mut alice, &group, &carol_number, &tablet_id, &mut report).await?;
    convo::send_text(
        &mut alice,
        &group,
        "The tablet is gone; phone only now.",
        &mut report,
    )
    .await?;
    n.report("alice", &report);
    let phone_got = sync(n, "carol-phone", &mut carol).await?;
    let tablet_got = sync(n, "carol-tablet", &mut tablet).await?;
    sync(n, "bob", &mut bob).await?;
    n.check(
        texts(&phone_got) == ["The tablet is gone; phone only now."],
        "Carol's phone decrypted the new message",
    )?;
    let tablet_state = state(&mut tablet, &group)?;
    n.check(
        texts(&tablet_got).is_empty() && !tablet_state.encrypted,
        "Carol's tablet was removed and decrypted nothing after it",
    )?;

    // 5.
    n.step(
        "Bob reinstalls: his new key is flagged as a change until Alice verifies his safety number",
    );
    let pinned = state(&mut alice, &chat)?
        .verification
        .get(&PhoneNumber::parse(BOB)?)
        .copied();
    n.check(
        pinned == Some(crosslock_client::Verification::Unverified),
        "Alice's phone pinned Bob's key on first use (not yet verified)",
    )?;
    let mut bob2 = phone(dir, "bob-reinstalled", BOB, "ios", &b).await?;
    enroll(n, "bob", &mut bob2, true).await?;
    published(&b).await?;
    let mut report = Report::default();
    let chat2 = convo::target(&mut bob2, Some(ALICE), None, &mut report).await?;
    convo::send_text(&mut bob2, &chat2, "New phone, same Bob.", &mut report).await?;
    n.report("bob", &report);
    sync_until(n, "alice", &mut alice, |r| {
        !events_of(r, "joined").is_empty() && !texts(r).is_empty()
    })
    .await?;
    let bob_number = PhoneNumber::parse(BOB)?;
    let flagged = state(&mut alice, &chat2)?;
    let verification = flagged.verification.get(&bob_number).copied();
    n.check(
        verification == Some(crosslock_client::Verification::KeyChanged),
        &format!(
            "Alice's phone flags Bob's new key as a change (suite {}, wire profile {})",
            flagged.suite.name(),
            flagged.wire_profile.name()
        ),
    )?;
    let ours = alice.device_mut().safety_number(&chat2, &bob_number)?;
    let theirs = bob2
        .device_mut()
        .safety_number(&chat2, &PhoneNumber::parse(ALICE)?)?;
    n.phone("alice", &format!("safety number {}", ours.grouped()));
    n.phone("bob", &format!("safety number {}", theirs.grouped()));
    n.check(
        ours.digits() == theirs.digits(),
        "both screens show the same safety number",
    )?;
    alice
        .device_mut()
        .confirm_safety_number(&chat2, &bob_number, Some(theirs.qr_payload()))?;
    let after = state(&mut alice, &chat2)?;
    n.check(
        after.verification.get(&bob_number).copied()
            == Some(crosslock_client::Verification::Verified),
        "Alice scanned Bob's code: Bob is verified",
    )?;

    // 6.
    n.step(
        "Insiders try to give Alice a fake key for Bob: B's own insider, then Alice's own provider; her phone refuses both",
    );
    let fake = forge_bob_keys(dir).await?;
    n.server(
        "b.example",
        "an insider uses B's CA and carrier keys to make a device for Bob's number outside the KDS, and swaps its KeyPackages into the answer to Alice's claim",
        json!({"forged_devices": fake.len()}),
    );
    let token = alice.token()?.to_owned();
    let mut answer = alice.api().claim(&token, BOB).await?;
    answer.devices = fake;
    refuses_forgery(
        n,
        &mut alice,
        &answer,
        "transparency",
        "Alice's phone refuses the key: it is not the one b.example's log proves for Bob",
    )?;

    // 6b. The harder attack: Alice's own provider.
    let forged = forge_bob_at_a(dir, &alice).await?;
    n.server(
        "a.example",
        "Alice's own provider mints a device for Bob (homed at b.example) with A's CA and A's carrier, publishes it in A's own transparency log, and answers Alice's claim with it and A's lookup proof",
        json!({"forged_devices": forged.devices.len(), "proof_directory": forged.transparency.as_ref().map(|t| t.root.statement.directory.clone())}),
    );
    refuses_forgery(
        n,
        &mut alice,
        &forged,
        "home",
        "Alice's phone refuses: only b.example's CA, carriers and log can vouch for a +44 number",
    )?;

    a.shutdown().await;
    b.shutdown().await;
    Ok(())
}

/// Alice is handed a forged claim answer for Bob: her phone must refuse
/// it for a reason naming `because`, and change nothing.
fn refuses_forgery(
    n: &Narrator,
    alice: &mut Messenger,
    answer: &ClaimResponse,
    because: &str,
    what: &str,
) -> Result<(), Failure> {
    let conversations_before = alice.device_mut().conversations()?.len();
    let refused = match ParticipantKeyPackages::from_claim(answer).map_err(|e| e.to_string()) {
        Err(why) => Some(why),
        Ok(kps) => alice
            .device_mut()
            .create_conversation(NewConversation::OneToOne, &[kps])
            .err()
            .map(|e| e.to_string()),
    };
    match &refused {
        Some(why) => n.phone("alice", &format!("refused: {why}")),
        None => n.phone("alice", "accepted the forged key"),
    }
    n.check(
        refused
            .as_deref()
            .is_some_and(|w| w.to_lowercase().contains(because)),
        what,
    )?;
    n.check(
        alice.device_mut().conversations()?.len() == conversations_before,
        "nothing changed on Alice's phone",
    )
}

/// A device for Bob's number enrolled at `shadow`, an insider's KDS, with
/// a proof from `carrier` (the insider holds its key): the rogue device
/// the step-6 attacks try to slip to Alice.
fn rogue_bob(
    shadow: &Kds,
    carrier: &Acs,
    config: crosslock_client::DeviceConfig,
    now: u64,
) -> Result<Device, Failure> {
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let mut rogue = Device::create(
        store.clone(),
        Arc::new(SoftwareKeyStore::new(store)),
        NewDevice {
            number: PhoneNumber::parse(BOB)?,
            profile: DeviceProfile::Ios,
        },
        config,
        Environment::system(),
    )?;
    let proof = carrier.prove(
        &ProofRequest {
            number: BOB.into(),
            subscriber_token: "insider".into(),
            participant_keys: rogue
                .participant_keys()?
                .iter()
                .map(|k| B64(k.as_bytes().to_vec()))
                .collect(),
            home_kds: String::new(),
        },
        now,
    )?;
    let nonce = shadow.new_nonce(now)?;
    let enrolled = shadow.enroll(
        EnrollRequest {
            nonce: nonce.nonce,
            device_id: rogue.device_id().to_owned(),
            csrs: rogue.certificate_requests()?.into_iter().map(B64).collect(),
            carrier_proof: proof.proof,
            attestation: None,
            replace_existing: false,
            next_token: None,
        },
        now,
    )?;
    crosslock_sdk::enroll::install_credentials(&mut rogue, enrolled.credentials)?;
    Ok(rogue)
}

/// Provider A's forgery: with its own CA key, carrier key and transparency
/// log keys (read from A's data dir, as A's operator could), a KDS of A's
/// enrols a device for Bob's number, publishes it in a log signed with A's
/// log key, and answers a claim for Bob with it and that log's proof.
async fn forge_bob_at_a(dir: &Path, alice: &Messenger) -> Result<ClaimResponse, Failure> {
    let env = Environment::system();
    let data = dir.join("provider-a");
    let pem = |path: &str| -> Result<crosslock_tls::KeyPair, Failure> {
        let text = std::fs::read_to_string(data.join(path))?;
        Ok(crosslock_tls::KeyPair::from_pem(&text)?)
    };
    let ca = CertificateAuthority::load(
        "a.example credential root",
        std::fs::read(data.join("ca/credential-ca.der"))?,
    )?;
    let carrier = Arc::new(Acs::new(
        "carrier.a.example",
        "a.example",
        Arc::new(pem("carrier/carrier.key")?),
        3600,
        env.clone(),
    ));
    carrier.set_open_enrolment(true);
    let ca_key = Arc::new(pem("ca/credential-ca.key")?);
    let config = KdsConfig::new(
        "a.example",
        ca,
        ca_key.clone(),
        TrustedCarriers::new(vec![(
            carrier.carrier_id().to_owned(),
            carrier.public_key().clone(),
        )]),
        AttestationRequirement::Optional(crosslock_attest::AttestationPolicy::Strict),
    )?;
    let shadow_dir = dir.join("provider-a-shadow-log");
    std::fs::create_dir_all(&shadow_dir)?;
    let now = env.now();
    let log = KtLog::open(
        &shadow_dir,
        "a.example",
        LogKeys::load_or_create(&data.join("kt/keys"))?,
        KtLogOptions::default(),
        now,
    )
    .await?;
    let shadow = Arc::new(
        Kds::new(
            config,
            Arc::new(SqliteKdsStore::open_in_memory()?),
            FederationClient::none(),
            env.clone(),
        )
        .with_transparency(Arc::new(log)),
    );
    // The rogue device believes A about everything (its own credential
    // must install).
    let believes_a = crosslock_client::DeviceConfig::new(TrustPolicy::Production {
        anchors: TrustAnchors::new(vec![ca_key.public_key().clone()]),
        carriers: TrustedCarriers::new(vec![(
            carrier.carrier_id().to_owned(),
            carrier.public_key().clone(),
        )]),
    });
    let mut rogue = rogue_bob(&shadow, &carrier, believes_a, now)?;
    let record = shadow
        .store()
        .active_devices(BOB)?
        .into_iter()
        .next()
        .ok_or_else(|| Failure("the shadow KDS lost its device".into()))?;
    let batch = crosslock_sdk::enroll::upload_body(rogue.generate_key_packages(1)?);
    // The KeyPackages carry the time they were made: check them after it.
    let now = env.now();
    shadow.upload_key_packages(&record, batch, now)?;
    shadow.publish_transparency(now).await?;
    Ok(shadow
        .claim(
            crosslock_kds::Requester::Device(alice.device_id().to_owned()),
            BOB,
            now,
        )
        .await?)
}

/// The insider's forgery: a device for Bob's number with a credential
/// from B's own CA (carrier proof from B's own carrier key), made by a
/// KDS of the insider's that shares B's keys but not B's transparency log.
async fn forge_bob_keys(dir: &Path) -> Result<Vec<ClaimedDevice>, Failure> {
    let env = Environment::system();
    let data = dir.join("provider-b");
    let pem = |path: &str| -> Result<crosslock_tls::KeyPair, Failure> {
        let text = std::fs::read_to_string(data.join(path))?;
        Ok(crosslock_tls::KeyPair::from_pem(&text)?)
    };
    let ca_key = Arc::new(pem("ca/credential-ca.key")?);
    let ca = CertificateAuthority::load(
        "b.example credential root",
        std::fs::read(data.join("ca/credential-ca.der"))?,
    )?;
    let carrier = Arc::new(Acs::new(
        "carrier.b.example",
        "b.example",
        Arc::new(pem("carrier/carrier.key")?),
        3600,
        env.clone(),
    ));
    carrier.set_open_enrolment(true);
    let config = KdsConfig::new(
        "b.example",
        ca,
        ca_key,
        TrustedCarriers::new(vec![(
            carrier.carrier_id().to_owned(),
            carrier.public_key().clone(),
        )]),
        AttestationRequirement::Optional(crosslock_attest::AttestationPolicy::Strict),
    )?;
    let shadow = Kds::new(
        config,
        Arc::new(SqliteKdsStore::open_in_memory()?),
        FederationClient::none(),
        env.clone(),
    );
    let info = crate::device::open(&dir.join("alice"))?
        .settings()
        .provider
        .clone();
    let now = env.now();
    let mut rogue = rogue_bob(&shadow, &carrier, crosslock_sdk::device_config(&info)?, now)?;
    let batch = rogue.generate_key_packages(1)?;
    Ok(vec![ClaimedDevice {
        device_id: rogue.device_id().to_owned(),
        key_packages: batch
            .key_packages
            .into_iter()
            .map(|(_, k)| B64(k))
            .collect(),
    }])
}
