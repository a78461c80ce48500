//! Time and randomness, passed in (GUIDE §3.2).
//!
//! Neither the client core nor the services (KDS, DS, ACS, the provider's
//! wiring) read the system clock or the OS random source behind the
//! caller's back: everything goes through an [`Environment`], so tests can
//! fix the time and replay a seed. (Crypto providers draw key material
//! from AWS-LC's generator; what is ours — message ids, salts,
//! conversation ids, tokens, certificate serials, timestamps — comes from
//! here.) The workspace `clippy.toml` refuses `SystemTime::now`,
//! `Instant::now` and `getrandom` everywhere else.

use std::fmt::Debug;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Seconds and milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + Debug {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64 {
        self.now_millis() / 1000
    }
}

/// A source of random bytes.
pub trait Entropy: Send + Sync + Debug {
    /// Fills `out` with random bytes.
    fn fill(&self, out: &mut [u8]);
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        // The one place that reads the wall clock (clippy.toml).
        #[allow(clippy::disallowed_methods)]
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// The operating system's random source.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, out: &mut [u8]) {
        // The OS generator failing is unrecoverable for a crypto client;
        // carrying on with zeros would be far worse than stopping.
        // The one place that reads the OS random source (clippy.toml).
        #[allow(clippy::expect_used, clippy::disallowed_methods)]
        getrandom::fill(out).expect("operating system random source failed");
    }
}

/// A clock the test moves by hand.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// Starts at `unix_seconds`.
    pub fn new(unix_seconds: u64) -> Self {
        ManualClock(AtomicU64::new(unix_seconds * 1000))
    }
    /// Moves forward by `seconds`.
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds * 1000, Ordering::SeqCst);
    }
    /// Sets the time.
    pub fn set(&self, unix_seconds: u64) {
        self.0.store(unix_seconds * 1000, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A deterministic generator for tests (SplitMix64; not for production).
#[derive(Debug)]
pub struct SeededEntropy(Mutex<u64>);

impl SeededEntropy {
    /// Starts from `seed`.
    pub fn new(seed: u64) -> Self {
        SeededEntropy(Mutex::new(seed))
    }
}

impl Entropy for SeededEntropy {
    fn fill(&self, out: &mut [u8]) {
        let mut state = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for chunk in out.chunks_mut(8) {
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_be_bytes()[..chunk.len()]);
        }
    }
}

/// What the client core and every service are given of the outside world.
#[derive(Debug, Clone)]
pub struct Environment {
    /// The clock.
    pub clock: std::sync::Arc<dyn Clock>,
    /// The random source.
    pub entropy: std::sync::Arc<dyn Entropy>,
}

impl Environment {
    /// The real clock and the OS random source.
    pub fn system() -> Self {
        Environment {
            clock: std::sync::Arc::new(SystemClock),
            entropy: std::sync::Arc::new(OsEntropy),
        }
    }

    /// Seconds since the Unix epoch, by [`Self::clock`].
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Milliseconds since the Unix epoch, by [`Self::clock`].
    pub fn now_millis(&self) -> u64 {
        self.clock.now_millis()
    }

    /// `N` random bytes.
    pub fn random<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        self.entropy.fill(&mut out);
        out
    }
}
