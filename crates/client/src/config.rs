//! Settings a device runs with. None are persisted: the application passes
//! them each time it opens the device (they come from its configuration and
//! its provider), so a policy change takes effect on the next start.

use crosslock_credential::TrustPolicy;

use crate::mls::storage::EpochRetention;
use crate::suite::SuitePolicy;
use crate::transparency::TransparencyPolicy;

/// KeyPackage lifetimes and stock levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPackagePolicy {
    /// Lifetime of the KeyPackages we generate, seconds (default 14 days).
    pub lifetime_secs: u64,
    /// Hard maximum lifetime we accept on a KeyPackage we are given: its
    /// notAfter may be at most this far from now (default 14 days + 1 hour
    /// of clock skew). RFC 9750 §5.3 / GUIDE §4.
    pub max_accepted_lifetime_secs: u64,
    /// A KeyPackage's credential must have at least this long left
    /// (default 30 days, RCC.16).
    pub min_credential_remaining_secs: u64,
    /// Generate more when fewer than this many remain per suite (default 10).
    pub refill_threshold: usize,
    /// How many to keep uploaded per suite (default 100, the KDS maximum).
    pub target_stock: usize,
}

impl Default for KeyPackagePolicy {
    fn default() -> Self {
        KeyPackagePolicy {
            lifetime_secs: 14 * 86_400,
            max_accepted_lifetime_secs: 14 * 86_400 + 3_600,
            min_credential_remaining_secs: 30 * 86_400,
            refill_threshold: 10,
            target_stock: 100,
        }
    }
}

/// Everything a device needs to know besides its stored state.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    /// Which credentials are genuine.
    pub trust: TrustPolicy,
    /// Which suites conversations may use.
    pub suites: SuitePolicy,
    /// KeyPackage lifetimes and stock.
    pub key_packages: KeyPackagePolicy,
    /// How long old epoch secrets stay (default 3 days).
    pub epoch_retention: EpochRetention,
    /// How long processed message ids are remembered for replay detection
    /// (default 30 days, the delivery service's retention).
    pub replay_window_secs: u64,
    /// Lifetime of self-issued development credentials (default 75 days).
    pub credential_lifetime_secs: u64,
    /// Key transparency: trusted logs, whether proofs are required,
    /// monitoring and gossip intervals (default: no logs, not required).
    pub transparency: TransparencyPolicy,
}

impl DeviceConfig {
    /// Defaults with the given trust policy.
    pub fn new(trust: TrustPolicy) -> Self {
        DeviceConfig {
            trust,
            suites: SuitePolicy::default(),
            key_packages: KeyPackagePolicy::default(),
            epoch_retention: EpochRetention::default(),
            replay_window_secs: 30 * 86_400,
            credential_lifetime_secs: 75 * 86_400,
            transparency: TransparencyPolicy::default(),
        }
    }
}
