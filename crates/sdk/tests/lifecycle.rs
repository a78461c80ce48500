//! The SDK against a real provider in-process: what a phone app does, with
//! the phones' clocks in the test's hands (GUIDE §3.2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crosslock_client::env::{Clock, Environment, OsEntropy};
use crosslock_client::{DeviceProfile, Verification};
use crosslock_provider::{Provider, ProviderConfig};
use crosslock_sdk::{Event, Messenger, Options, Progress, Setup, Stage};

const ALICE: &str = "+15550100001";
const BOB: &str = "+15550100002";

/// A phone's clock: the real time plus what the test adds (the phone
/// lives through days while the provider's clock runs normally).
#[derive(Debug, Default)]
struct PhoneClock(AtomicU64);

impl PhoneClock {
    fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds * 1000, Ordering::SeqCst);
    }
}

impl Clock for PhoneClock {
    fn now_millis(&self) -> u64 {
        crosslock_client::env::SystemClock.now_millis() + self.0.load(Ordering::SeqCst)
    }
}

fn clock() -> Arc<PhoneClock> {
    Arc::new(PhoneClock::default())
}

fn options(clock: &Arc<PhoneClock>) -> Options {
    Options {
        env: Environment {
            clock: clock.clone(),
            entropy: Arc::new(OsEntropy),
        },
        ..Options::default()
    }
}

async fn provider(dir: &Path) -> Provider {
    let mut config = ProviderConfig::default();
    config.provider.name = "a.example".into();
    config.provider.prefixes = vec!["+1".into()];
    config.provider.listen = ([127, 0, 0, 1], 0).into();
    config.provider.admin_listen = ([127, 0, 0, 1], 0).into();
    config.provider.federation_listen = ([127, 0, 0, 1], 0).into();
    config.transparency.epoch_interval_secs = 1;
    Provider::start(config, &dir.join("provider"), Environment::system())
        .await
        .unwrap()
}

async fn phone(
    dir: &Path,
    name: &str,
    number: &str,
    profile: DeviceProfile,
    provider: &Provider,
    clock: &Arc<PhoneClock>,
    replace: bool,
) -> Messenger {
    let setup = Setup {
        number: number.into(),
        profile,
        server: provider.public_url(),
        tls_ca_pem: std::fs::read_to_string(provider.tls_ca_path()).unwrap(),
    };
    let mut m = Messenger::create(&dir.join(name), setup, options(clock))
        .await
        .unwrap();
    m.enroll("any-subscriber", 5, None, replace).await.unwrap();
    m
}

/// Syncs until `want` matches an event (the DS fans out asynchronously).
async fn until(m: &mut Messenger, want: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut all = Vec::new();
    for _ in 0..20 {
        let events = m.sync(1).await.unwrap();
        let found = events.iter().any(&want);
        all.extend(events);
        if found {
            return all;
        }
    }
    panic!("not seen; got {all:?}");
}

/// Records every progress call.
#[derive(Default)]
struct Recorded(Mutex<Vec<(Stage, u64, u64)>>);

impl Progress for Recorded {
    fn progress(&self, stage: Stage, done: u64, total: u64) {
        self.0.lock().unwrap().push((stage, done, total));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_app_lives_through_the_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let provider = provider(dir.path()).await;
    let (alice_clock, bob_clock) = (clock(), clock());
    let mut alice = phone(
        dir.path(),
        "alice",
        ALICE,
        DeviceProfile::Android,
        &provider,
        &alice_clock,
        false,
    )
    .await;
    let mut bob = phone(
        dir.path(),
        "bob",
        BOB,
        DeviceProfile::Ios,
        &provider,
        &bob_clock,
        false,
    )
    .await;

    // A 1:1, both ways; the SDK's events carry the texts.
    let chat = alice.open_chat(BOB).await.unwrap();
    assert!(chat.epoch.is_some(), "a new chat is committed");
    let chat = chat.conversation;
    alice.send_text(&chat, "hello from the SDK").await.unwrap();
    let got = until(&mut bob, |e| matches!(e, Event::Text { .. })).await;
    assert!(
        got.iter()
            .any(|e| matches!(e, Event::Joined { conversation, .. } if *conversation == chat))
    );
    assert!(got.iter().any(
        |e| matches!(e, Event::Text { text, from, .. } if text == "hello from the SDK" && from.number.as_str() == ALICE)
    ));
    assert!(got.iter().any(|e| matches!(e, Event::SecurityState { .. })));
    bob.send_text(&chat, "and back").await.unwrap();
    until(
        &mut alice,
        |e| matches!(e, Event::Text { text, .. } if text == "and back"),
    )
    .await;
    // Safety numbers agree on both phones.
    assert_eq!(
        alice.safety_number(&chat, BOB).unwrap().digits(),
        bob.safety_number(&chat, ALICE).unwrap().digits()
    );

    // A file with progress: every stage ends at its total, never goes back.
    let path = dir.path().join("photo.jpg");
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &content).unwrap();
    let progress = Recorded::default();
    let sent = alice
        .send_file(&chat, &path, None, &progress)
        .await
        .unwrap();
    assert_eq!(sent.size, content.len() as u64);
    let calls = progress.0.lock().unwrap().clone();
    for stage in [Stage::Encrypting, Stage::Uploading] {
        let of: Vec<_> = calls.iter().filter(|c| c.0 == stage).collect();
        assert!(!of.is_empty(), "no {stage:?} progress");
        assert!(
            of.windows(2).all(|w| w[0].1 <= w[1].1),
            "{stage:?} went back"
        );
        let last = of.last().unwrap();
        assert_eq!(last.1, last.2, "{stage:?} did not end at its total");
    }
    let got = until(&mut bob, |e| matches!(e, Event::File { .. })).await;
    let Some(Event::File {
        message_id, name, ..
    }) = got.iter().find(|e| matches!(e, Event::File { .. }))
    else {
        unreachable!()
    };
    assert_eq!(name, "photo.jpg");
    let out = dir.path().join("bob-files");
    let downloaded = Recorded::default();
    let saved = bob
        .save_files(&out, Some(message_id), &downloaded)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&saved.files[0].path).unwrap(), content);
    assert!(
        downloaded
            .0
            .lock()
            .unwrap()
            .last()
            .is_some_and(|c| c.0 == Stage::Downloading && c.1 == c.2)
    );

    // Bob gets a new phone (a reinstall replaces the old device): Alice
    // hears of the key change as an event, once.
    let mut bob2 = phone(
        dir.path(),
        "bob2",
        BOB,
        DeviceProfile::Ios,
        &provider,
        &bob_clock,
        true,
    )
    .await;
    let chat2 = bob2.open_chat(ALICE).await.unwrap().conversation;
    let got = until(&mut alice, |e| matches!(e, Event::KeyChanged { .. })).await;
    assert!(got.iter().any(
        |e| matches!(e, Event::KeyChanged { conversation, number } if *conversation == chat2 && number.as_str() == BOB)
    ));
    assert_eq!(
        alice
            .security_state(&chat2)
            .unwrap()
            .verification
            .values()
            .next(),
        Some(&Verification::KeyChanged)
    );
    // Confirming the new safety number clears it.
    alice.confirm_safety_number(&chat2, BOB, None).unwrap();
    assert_eq!(
        alice
            .security_state(&chat2)
            .unwrap()
            .verification
            .values()
            .next(),
        Some(&Verification::Verified)
    );

    // The lifecycle: maintenance runs once a day, not on every call.
    // (Last: Alice's clock jumps 26 days ahead of the provider's.)
    let first = alice.maintain().await.unwrap();
    assert!(first.maintenance);
    assert!(first.credentials_refreshed.is_empty());
    assert!(!alice.maintain().await.unwrap().maintenance);
    // 26 days later the credential is presented again in the chat (RCC.16:
    // every group at least every 30 days), and Bob sees the new epoch.
    let epoch_before = alice.security_state(&chat).unwrap().epoch;
    alice_clock.advance(26 * 86_400);
    let later = alice.maintain().await.unwrap();
    assert!(later.maintenance, "a day has passed: maintenance is due");
    assert!(later.credentials_refreshed.contains(&chat), "{later:?}");
    assert_eq!(alice.security_state(&chat).unwrap().epoch, epoch_before + 1);
    until(
        &mut bob,
        |e| matches!(e, Event::MembershipChanged { epoch, .. } if *epoch == epoch_before + 1),
    )
    .await;
    // Presented now: not due again.
    assert!(
        alice
            .maintain()
            .await
            .unwrap()
            .credentials_refreshed
            .is_empty()
    );

    // Push registration is remembered with the lifecycle's state.
    alice.register_push("platform-push-token").await.unwrap();
    assert_eq!(
        alice.settings().lifecycle.push_token.as_deref(),
        Some("platform-push-token")
    );
    provider.shutdown().await;
}

/// The attacker's try: a device opened with another provider's TLS root
/// (or none that matches) cannot be set up, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_with_another_root_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let provider = provider(dir.path()).await;
    let other = crosslock_tls::TlsCa::generate("someone else").unwrap();
    let setup = Setup {
        number: ALICE.into(),
        profile: DeviceProfile::Android,
        server: provider.public_url(),
        tls_ca_pem: other.certificate_pem(),
    };
    let err = Messenger::create(&dir.path().join("x"), setup, options(&clock()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), crosslock_sdk::ErrorKind::Network, "{err}");
    assert!(!dir.path().join("x").join("device.json").exists());
    provider.shutdown().await;
}

/// Deletes a conversation's group state from a (closed) device's database,
/// as a restore from an old backup would leave it.
fn lose_group_state(device_dir: &Path, id: &crosslock_client::ConversationId) {
    use base64::Engine as _;
    use crosslock_client::store::{DatabaseKey, SqliteStore, StateStore, Table, Write, WriteBatch};
    let key: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(
            std::fs::read_to_string(device_dir.join("state.key"))
                .unwrap()
                .trim(),
        )
        .unwrap()
        .try_into()
        .unwrap();
    let store = SqliteStore::open(&device_dir.join("state.db"), &DatabaseKey::new(key)).unwrap();
    store
        .commit(WriteBatch(vec![Write::Delete(
            Table::GroupState,
            id.as_bytes().to_vec(),
        )]))
        .unwrap();
}

/// The recovery ladder: Bob's phone loses a conversation's group state
/// (a restore from an old backup). Alice's next message fails for him; the
/// SDK rejoins by external commit and reports it in a signed negative
/// IMDN; Alice's SDK resends it, and Bob reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_group_state_is_recovered_and_the_message_resent() {
    let dir = tempfile::tempdir().unwrap();
    let provider = provider(dir.path()).await;
    let (alice_clock, bob_clock) = (clock(), clock());
    let mut alice = phone(
        dir.path(),
        "alice",
        ALICE,
        DeviceProfile::Android,
        &provider,
        &alice_clock,
        false,
    )
    .await;
    let mut bob = phone(
        dir.path(),
        "bob",
        BOB,
        DeviceProfile::Ios,
        &provider,
        &bob_clock,
        false,
    )
    .await;
    let chat = alice.open_chat(BOB).await.unwrap().conversation;
    alice.send_text(&chat, "before").await.unwrap();
    until(
        &mut bob,
        |e| matches!(e, Event::Text { text, .. } if text == "before"),
    )
    .await;

    // Bob's group state for the chat is gone; the conversation record stays.
    let bob_dir = dir.path().join("bob");
    drop(bob);
    lose_group_state(&bob_dir, &chat);
    let mut bob = Messenger::open(&bob_dir, options(&bob_clock)).unwrap();

    let lost = alice.send_text(&chat, "you will miss this").await.unwrap();
    let got = until(&mut bob, |e| matches!(e, Event::Undecryptable { .. })).await;
    assert!(
        got.iter()
            .any(|e| matches!(e, Event::Undecryptable { message_id, .. } if *message_id == lost.message_id)),
        "{got:?}"
    );
    // Alice hears of it, signed by Bob's rejoined device, and resends.
    let got = until(&mut alice, |e| matches!(e, Event::NegativeReport { .. })).await;
    assert!(got.iter().any(|e| matches!(
        e,
        Event::NegativeReport { failed_message_id, sent_by_us: true, .. } if *failed_message_id == lost.message_id
    )));
    until(
        &mut bob,
        |e| matches!(e, Event::Text { text, .. } if text == "you will miss this"),
    )
    .await;
    // Both are in the same epoch again and keep talking.
    assert_eq!(
        alice.security_state(&chat).unwrap().epoch_authenticator,
        bob.security_state(&chat).unwrap().epoch_authenticator
    );
    bob.send_text(&chat, "back").await.unwrap();
    until(
        &mut alice,
        |e| matches!(e, Event::Text { text, .. } if text == "back"),
    )
    .await;
    provider.shutdown().await;
}

/// The attacker's try at stopping a phone's inbox: Bob lost a group's
/// state, then Alice sends and removes him before he syncs. Nothing he
/// can do succeeds (the rejoin and the report are refused), but his sync
/// still finishes, acknowledges, and the next one is not stuck on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_recovery_never_holds_the_inbox_up() {
    const CAROL: &str = "+15550100003";
    let dir = tempfile::tempdir().unwrap();
    let provider = provider(dir.path()).await;
    let clocks = [clock(), clock(), clock()];
    let mut alice = phone(
        dir.path(),
        "alice",
        ALICE,
        DeviceProfile::Android,
        &provider,
        &clocks[0],
        false,
    )
    .await;
    let bob = phone(
        dir.path(),
        "bob",
        BOB,
        DeviceProfile::Ios,
        &provider,
        &clocks[1],
        false,
    )
    .await;
    let mut carol = phone(
        dir.path(),
        "carol",
        CAROL,
        DeviceProfile::Android,
        &provider,
        &clocks[2],
        false,
    )
    .await;
    let group = alice
        .create_group(&[BOB.to_owned(), CAROL.to_owned()])
        .await
        .unwrap()
        .conversation;
    until(&mut carol, |e| matches!(e, Event::Joined { .. })).await;
    let bob_dir = dir.path().join("bob");
    drop(bob);
    // Bob never synced: his Welcome is still waiting; process it first.
    let mut bob = Messenger::open(&bob_dir, options(&clocks[1])).unwrap();
    until(&mut bob, |e| matches!(e, Event::Joined { .. })).await;
    drop(bob);
    lose_group_state(&bob_dir, &group);
    let mut bob = Messenger::open(&bob_dir, options(&clocks[1])).unwrap();
    alice
        .send_text(&group, "bob will not read this")
        .await
        .unwrap();
    alice.remove_member(&group, BOB).await.unwrap();

    let first = bob
        .sync(1)
        .await
        .expect("a refused recovery must not fail the sync");
    assert!(
        first
            .iter()
            .any(|e| matches!(e, Event::Undecryptable { .. })),
        "{first:?}"
    );
    // Acknowledged: nothing comes again.
    let again = bob.sync(0).await.unwrap();
    assert!(
        !again
            .iter()
            .any(|e| matches!(e, Event::Undecryptable { .. })),
        "{again:?}"
    );
    // The others carry on without him.
    until(
        &mut carol,
        |e| matches!(e, Event::Text { text, .. } if text == "bob will not read this"),
    )
    .await;
    provider.shutdown().await;
}
