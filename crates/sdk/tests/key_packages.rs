//! A phone's KeyPackages at its KDS, against a real provider in-process:
//! the stock as the KDS counts it (KP-STOCK-1), an upload refused at
//! enrolment, the last-resort rotation (KP-LR-1), and deleting KeyPackage
//! secrets by the provider's time rather than the phone's (KP-DEL-1),
//! with the phones' and the provider's clocks in the test's hands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crosslock_client::env::{Clock, Environment, OsEntropy};
use crosslock_client::{DeviceProfile, KeyPackageStock};
use crosslock_provider::{Provider, ProviderConfig};
use crosslock_sdk::{ErrorKind, Event, Maintained, Messenger, Options, Setup};
use crosslock_wire::api::kds::{ClaimResponse, Stock};

const ALICE: &str = "+15550100001";
const BOB: &str = "+15550100002";
const CAROL: &str = "+15550100003";
const DAVE: &str = "+15550100004";
const DAY: i64 = 86_400;

/// A clock: the real time plus what the test adds (or takes away).
#[derive(Debug, Default)]
struct Shifted(AtomicI64);

impl Shifted {
    fn shift(&self, seconds: i64) {
        self.0.fetch_add(seconds * 1000, Ordering::SeqCst);
    }
}

impl Clock for Shifted {
    fn now_millis(&self) -> u64 {
        let real = crosslock_client::env::SystemClock.now_millis() as i64;
        (real + self.0.load(Ordering::SeqCst)) as u64
    }
}

fn clock() -> Arc<Shifted> {
    Arc::new(Shifted::default())
}

fn env(clock: &Arc<Shifted>) -> Environment {
    Environment {
        clock: clock.clone(),
        entropy: Arc::new(OsEntropy),
    }
}

/// A provider whose clock the test moves, with claims limited only by
/// `claim_burst` per requester and number.
async fn provider(dir: &Path, clock: &Arc<Shifted>, claim_burst: u32) -> Provider {
    let mut config = ProviderConfig::default();
    config.provider.name = "a.example".into();
    config.provider.prefixes = vec!["+1".into()];
    config.provider.listen = ([127, 0, 0, 1], 0).into();
    config.provider.admin_listen = ([127, 0, 0, 1], 0).into();
    config.provider.federation_listen = ([127, 0, 0, 1], 0).into();
    config.transparency.epoch_interval_secs = 1;
    config.limits.claim_burst = claim_burst;
    Provider::start(config, &dir.join("provider"), env(clock))
        .await
        .unwrap()
}

/// A phone set up with the provider, not yet enrolled.
async fn device(
    dir: &Path,
    name: &str,
    number: &str,
    provider: &Provider,
    clock: &Arc<Shifted>,
) -> Messenger {
    let setup = Setup {
        number: number.into(),
        profile: DeviceProfile::Ios,
        server: provider.public_url(),
        tls_ca_pem: std::fs::read_to_string(provider.tls_ca_path()).unwrap(),
    };
    let options = Options {
        env: env(clock),
        ..Options::default()
    };
    Messenger::create(&dir.join(name), setup, options)
        .await
        .unwrap()
}

/// A phone enrolled with `key_packages` per suite.
async fn phone(
    dir: &Path,
    name: &str,
    number: &str,
    provider: &Provider,
    clock: &Arc<Shifted>,
    key_packages: usize,
) -> Messenger {
    let mut m = device(dir, name, number, provider, clock).await;
    let enrolled = m
        .enroll("any-subscriber", key_packages, None, false)
        .await
        .unwrap();
    assert!(enrolled.reachable(), "{enrolled:?}");
    m
}

/// What the KDS holds for `m`, by its own count.
async fn kds_stock(m: &Messenger) -> Stock {
    m.api().key_package_stock(m.token().unwrap()).await.unwrap()
}

/// `by` claims `number`'s KeyPackages and never uses them (waiting for
/// the number's keys to reach the transparency log first; each try counts
/// against the claim rate limit).
async fn claim(by: &Messenger, number: &str) -> ClaimResponse {
    for _ in 0..10 {
        match by.api().claim(by.token().unwrap(), number).await {
            Err(e) if e.server_code() == Some("kt-not-yet-published") => {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            other => return other.unwrap(),
        }
    }
    panic!("the number's keys never reached the transparency log");
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

fn joined(e: &Event) -> bool {
    matches!(e, Event::Joined { .. })
}

/// The device's suites, as the KDS names them.
fn codes(m: &Messenger) -> Vec<u16> {
    let mut codes: Vec<u16> = m.device().suites().iter().map(|s| s.code()).collect();
    codes.sort_unstable();
    codes
}

fn at_target(stock: &Stock, m: &Messenger) -> bool {
    let mut last_resort = stock.last_resort.clone();
    last_resort.sort_unstable();
    codes(m)
        .iter()
        .all(|c| stock.available.get(c) == Some(&100))
        && last_resort == codes(m)
}

/// The KeyPackage job ran without failing (other jobs may: a phone
/// clock days ahead finds the transparency log's roots stale).
fn key_packages_done(done: &Maintained) {
    assert!(
        !done.failed.iter().any(|(job, _)| *job == "key packages"),
        "{done:?}"
    );
}

fn local(m: &Messenger) -> KeyPackageStock {
    m.device().key_package_stock().unwrap()
}

/// KP-STOCK-1, the attack: Carol claims Bob's KeyPackages and never uses
/// them. Bob's phone still holds their secrets and counts itself full;
/// the KDS does not. The next KeyPackage check asks the KDS and uploads
/// what is missing, and the secrets of the claimed ones stay until they
/// expire, when the purge (by the provider's time) takes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimed_but_unused_key_packages_are_replaced_by_the_kds_count() {
    let dir = tempfile::tempdir().unwrap();
    let provider_clock = clock();
    let provider = provider(dir.path(), &provider_clock, 20).await;
    let bob_clock = clock();
    let mut bob = phone(dir.path(), "bob", BOB, &provider, &bob_clock, 12).await;
    let carol = phone(dir.path(), "carol", CAROL, &provider, &clock(), 5).await;

    // 12 per suite at the KDS: nothing to do.
    let first = bob.maintain().await.unwrap();
    assert_eq!(first.key_packages_uploaded, 0, "{first:?}");
    key_packages_done(&first);

    for _ in 0..3 {
        let claimed = claim(&carol, BOB).await;
        assert_eq!(claimed.devices.len(), 1);
    }
    let drained = kds_stock(&bob).await;
    assert!(
        codes(&bob).iter().all(|c| drained.available[c] == 9),
        "{drained:?}"
    );
    // The phone's own count still says 12: it cannot tell.
    assert!(!local(&bob).needs_refill());

    bob_clock.shift(3_600);
    let refilled = bob.maintain().await.unwrap();
    key_packages_done(&refilled);
    assert_eq!(refilled.key_packages_uploaded, 91 * codes(&bob).len());
    assert!(!refilled.last_resort_rotated);
    let stock = kds_stock(&bob).await;
    assert!(at_target(&stock, &bob), "{stock:?}");
    // The claimed ones' secrets are still here (someone may yet send a
    // Welcome to them): 12 + 91.
    assert!(
        local(&bob).available.values().all(|&n| n == 103),
        "{:?}",
        local(&bob)
    );

    // 15 days on, at the provider and on the phone: every KeyPackage of
    // the first day has expired; their secrets are deleted, the new
    // stock's are kept.
    provider_clock.shift(15 * DAY);
    bob_clock.shift(15 * DAY);
    let later = bob.maintain().await.unwrap();
    key_packages_done(&later);
    assert!(later.maintenance);
    assert!(at_target(&kds_stock(&bob).await, &bob));
    let held = local(&bob);
    assert!(held.available.values().all(|&n| n == 100), "{held:?}");
    provider.shutdown().await;
}

/// An upload the KDS refuses inside `enroll` (here: more than its 100
/// per suite, KDS-KP-4; the whole upload is refused). Bob is enrolled
/// all the same and told he is not reachable yet; `enroll` cannot run
/// twice; nobody can add him until the next `maintain`, which is due at
/// once and publishes his KeyPackages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_refused_at_enrolment_is_reported_and_maintain_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let provider = provider(dir.path(), &clock(), 6).await;
    let mut alice = phone(dir.path(), "alice", ALICE, &provider, &clock(), 5).await;
    let mut bob = device(dir.path(), "bob", BOB, &provider, &clock()).await;

    let enrolled = bob
        .enroll("any-subscriber", 101, None, false)
        .await
        .expect("enrolled, with the upload's failure in the answer");
    assert!(!enrolled.reachable());
    assert_eq!(enrolled.key_packages, 0);
    let why = enrolled.key_packages_failed.clone().unwrap();
    assert!(why.contains("too-many-key-packages"), "{why}");
    assert!(enrolled.credentials > 0);
    assert!(bob.is_enrolled());
    // KP-UP-1: the KDS stored none of them, so their secrets are gone.
    let held = local(&bob);
    assert!(held.available.values().all(|&n| n == 0), "{held:?}");
    assert!(held.last_resort.is_empty());
    let empty = kds_stock(&bob).await;
    assert!(empty.available.values().all(|&n| n == 0) && empty.last_resort.is_empty());
    let again = bob
        .enroll("any-subscriber", 5, None, false)
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Input, "{again}");

    // Not reachable yet.
    assert!(alice.open_chat(BOB).await.is_err());

    let done = bob.maintain().await.unwrap();
    key_packages_done(&done);
    assert!(done.key_packages_uploaded > 0);
    assert!(at_target(&kds_stock(&bob).await, &bob));

    let chat = alice.open_chat(BOB).await.unwrap().conversation;
    let got = until(&mut bob, joined).await;
    assert!(
        got.iter()
            .any(|e| matches!(e, Event::Joined { conversation, .. } if *conversation == chat))
    );
    provider.shutdown().await;
}

/// The last-resort KeyPackage of each suite of `claimed`.
fn last_resort_of(claimed: &ClaimResponse) -> Vec<Vec<u8>> {
    let mut kps: Vec<Vec<u8>> = claimed.devices[0]
        .key_packages
        .iter()
        .map(|k| k.0.clone())
        .collect();
    kps.sort();
    kps
}

/// KP-LR-1: Bob's single-use KeyPackages are gone, so the KDS serves his
/// last-resort ones; Alice adds him with one. A week later his phone
/// uploads new last-resort KeyPackages (and single-use ones); Alice's
/// Welcome, still waiting, opens with the old one's kept secret. Then,
/// with the single-use stock drained again, the KDS serves the new
/// last-resort KeyPackages, and a Welcome to them works too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_resort_key_package_is_rotated_and_the_old_one_still_opens_welcomes() {
    let dir = tempfile::tempdir().unwrap();
    let provider = provider(dir.path(), &clock(), 200).await;
    let bob_clock = clock();
    let mut bob = phone(dir.path(), "bob", BOB, &provider, &bob_clock, 5).await;
    let mut alice = phone(dir.path(), "alice", ALICE, &provider, &clock(), 5).await;
    let mut carol = phone(dir.path(), "carol", CAROL, &provider, &clock(), 5).await;
    let dave = phone(dir.path(), "dave", DAVE, &provider, &clock(), 5).await;

    for _ in 0..5 {
        claim(&carol, BOB).await;
    }
    let old = last_resort_of(&claim(&carol, BOB).await);
    assert_eq!(old.len(), codes(&bob).len());
    assert_eq!(last_resort_of(&claim(&carol, BOB).await), old, "reused");
    let chat = alice.open_chat(BOB).await.unwrap().conversation;

    // Eight days on Bob's phone: the rotation (7 days) is due.
    bob_clock.shift(8 * DAY);
    let rotated = bob.maintain().await.unwrap();
    key_packages_done(&rotated);
    assert!(rotated.last_resort_rotated);
    assert_eq!(rotated.key_packages_uploaded, 101 * codes(&bob).len());
    assert!(at_target(&kds_stock(&bob).await, &bob));
    // Not rotated again an hour later.
    bob_clock.shift(3_600);
    let next = bob.maintain().await.unwrap();
    assert!(!next.last_resort_rotated, "{next:?}");
    assert_eq!(next.key_packages_uploaded, 0);

    // The Welcome to the old last-resort KeyPackage opens.
    let got = until(&mut bob, joined).await;
    assert!(
        got.iter()
            .any(|e| matches!(e, Event::Joined { conversation, .. } if *conversation == chat)),
        "{got:?}"
    );

    // The KDS now serves the new ones, once the single-use stock is gone.
    for _ in 0..100 {
        claim(&dave, BOB).await;
    }
    let new = last_resort_of(&claim(&carol, BOB).await);
    assert_eq!(new.len(), old.len());
    assert!(new.iter().all(|kp| !old.contains(kp)), "not rotated");
    let group = carol
        .create_group(&[BOB.to_owned()])
        .await
        .unwrap()
        .conversation;
    let got = until(&mut bob, joined).await;
    assert!(
        got.iter()
            .any(|e| matches!(e, Event::Joined { conversation, .. } if *conversation == group)),
        "{got:?}"
    );
    provider.shutdown().await;
}

/// KP-DEL-1, the attack: Bob's phone clock is moved 60 days ahead (a
/// false network time) while it runs its daily maintenance. Its
/// KeyPackages look expired on the phone, but the KDS still hands them
/// out: their secrets must survive, or every Welcome to them fails once
/// the clock is right again (for up to 14 days, as long as the KDS serves
/// them). Maintenance keeps them; Alice adds Bob with one once his clock
/// is back, and he joins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_clock_far_ahead_keeps_the_secrets_the_kds_still_serves() {
    let dir = tempfile::tempdir().unwrap();
    let provider = provider(dir.path(), &clock(), 6).await;
    let bob_clock = clock();
    let mut bob = phone(dir.path(), "bob", BOB, &provider, &bob_clock, 5).await;
    let mut alice = phone(dir.path(), "alice", ALICE, &provider, &clock(), 5).await;
    bob.maintain().await.unwrap();
    let before = kds_stock(&bob).await;
    assert!(at_target(&before, &bob));

    bob_clock.shift(60 * DAY);
    let ahead = bob.maintain().await.unwrap();
    assert!(ahead.maintenance, "{ahead:?}");
    // On the phone's clock every one of them has expired.
    assert!(local(&bob).available.values().all(|&n| n == 0));
    // The KDS still holds (and serves) every one of them.
    assert_eq!(kds_stock(&bob).await.available, before.available);

    // The clock is right again; Alice claims one of those KeyPackages.
    bob_clock.shift(-60 * DAY);
    let chat = alice.open_chat(BOB).await.unwrap().conversation;
    let got = until(&mut bob, joined).await;
    assert!(
        got.iter()
            .any(|e| matches!(e, Event::Joined { conversation, .. } if *conversation == chat)),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|e| matches!(e, Event::Undecryptable { .. })),
        "{got:?}"
    );
    provider.shutdown().await;
}

/// KP-DEL-1, the other way round: the provider's time far ahead of the
/// phone's. The provider is 20 days on, Bob's phone one: that is what a
/// provider lying about its time (an `as_of` from the future) looks like
/// too, so the provider's time is believed only a day past the phone's
/// clock and the secrets of KeyPackages unexpired by the phone's clock
/// stay (they go once the phone's own clock passes their expiry). The
/// KeyPackages the phone makes now expire before the provider's time:
/// the KDS refuses them, and their secrets go at once (KP-UP-1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_clock_far_ahead_of_the_phone_deletes_nothing_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let provider_clock = clock();
    let provider = provider(dir.path(), &provider_clock, 6).await;
    let bob_clock = clock();
    let mut bob = phone(dir.path(), "bob", BOB, &provider, &bob_clock, 5).await;
    bob.maintain().await.unwrap();
    assert!(local(&bob).available.values().all(|&n| n == 100));

    provider_clock.shift(20 * DAY);
    bob_clock.shift(DAY);
    let ahead = bob.maintain().await.unwrap();
    assert!(ahead.maintenance);
    assert!(
        ahead.failed.iter().any(|(job, _)| *job == "key packages"),
        "{ahead:?}"
    );
    let held = local(&bob);
    assert!(
        held.available.values().all(|&n| n == 100),
        "fresh secrets deleted by a provider time far ahead: {held:?}"
    );
    let used = bob.settings().lifecycle.key_package_time;
    assert!(used <= bob_clock.now() + DAY as u64, "{used}");
    provider.shutdown().await;
}
