//! What the SDK's integration tests share: a real provider in-process,
//! phones with clocks the test moves, and a proxy that can lose answers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub(crate) mod proxy;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crosslock_client::DeviceProfile;
use crosslock_client::env::{Clock, Environment, OsEntropy};
use crosslock_provider::{Provider, ProviderConfig};
use crosslock_sdk::{Event, EventListener, Messenger, Options, Setup};

pub(crate) const ALICE: &str = "+15550100001";
pub(crate) const BOB: &str = "+15550100002";

/// A phone's clock: the real time plus what the test adds.
#[derive(Debug, Default)]
pub(crate) struct PhoneClock(AtomicU64);

impl PhoneClock {
    pub(crate) fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds * 1000, Ordering::SeqCst);
    }
}

impl Clock for PhoneClock {
    fn now_millis(&self) -> u64 {
        crosslock_client::env::SystemClock.now_millis() + self.0.load(Ordering::SeqCst)
    }
}

/// One clock for the provider and every phone: the real time plus what
/// the test adds (for what the provider judges by its own time, such as
/// credentials growing old).
#[derive(Debug, Default)]
pub(crate) struct World(AtomicU64);

impl World {
    /// Moves everyone's time on, then lets the provider's transparency
    /// log sign a root for the new time (it does every second).
    pub(crate) async fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds * 1000, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    }
}

impl Clock for World {
    fn now_millis(&self) -> u64 {
        crosslock_client::env::SystemClock.now_millis() + self.0.load(Ordering::SeqCst)
    }
}

/// The environment of a provider or phone living on `world`'s clock.
pub(crate) fn shared_env(world: &Arc<World>) -> Environment {
    Environment {
        clock: world.clone(),
        entropy: Arc::new(OsEntropy),
    }
}

pub(crate) fn clock() -> Arc<PhoneClock> {
    Arc::new(PhoneClock::default())
}

pub(crate) fn options(clock: &Arc<PhoneClock>) -> Options {
    Options {
        env: Environment {
            clock: clock.clone(),
            entropy: Arc::new(OsEntropy),
        },
        ..Options::default()
    }
}

/// A provider on loopback, in development mode, for `+1` numbers.
pub(crate) async fn provider(dir: &Path) -> Provider {
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

/// The way a phone reaches its provider: the URL and the TLS root.
pub(crate) struct Route {
    pub(crate) server: String,
    pub(crate) tls_ca_pem: String,
}

impl Route {
    /// Straight to the provider.
    pub(crate) fn direct(provider: &Provider) -> Route {
        Route {
            server: provider.public_url(),
            tls_ca_pem: std::fs::read_to_string(provider.tls_ca_path()).unwrap(),
        }
    }
}

/// A new, enrolled phone in `dir/name`.
pub(crate) async fn phone(
    dir: &Path,
    name: &str,
    number: &str,
    route: Route,
    clock: &Arc<PhoneClock>,
) -> Messenger {
    let setup = Setup {
        number: number.into(),
        profile: DeviceProfile::Android,
        server: route.server,
        tls_ca_pem: route.tls_ca_pem,
    };
    let mut m = Messenger::create(&dir.join(name), setup, options(clock))
        .await
        .unwrap();
    m.enroll("any-subscriber", 5, None, false).await.unwrap();
    m
}

/// Syncs until `want` matches an event (the DS fans out asynchronously).
pub(crate) async fn until(m: &mut Messenger, want: impl Fn(&Event) -> bool) -> Vec<Event> {
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

/// Every event a listener was handed, in order.
#[derive(Default)]
pub(crate) struct Recorded(pub std::sync::Mutex<Vec<Event>>);

impl EventListener for Recorded {
    fn on_event(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}
