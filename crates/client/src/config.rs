//! Settings a device runs with. None are persisted: the application passes
//! them each time it opens the device (they come from its configuration and
//! its provider), so a policy change takes effect on the next start.

use crosslock_credential::TrustPolicy;
use crosslock_wire::rcc16::Revision;

use crate::mls::storage::EpochRetention;
use crate::suite::SuitePolicy;
use crate::transparency::TransparencyPolicy;

/// KeyPackage lifetimes and stock levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPackagePolicy {
    /// Our own KeyPackages end at most this long after they are made
    /// (default 14 days; GUIDE §4). They start at the credential
    /// certificate's notBefore, not now (fact sheet §6, KP-OWN-1): peers
    /// with slow clocks refuse a KeyPackage from their future.
    pub lifetime_secs: u64,
    /// Hard maximum lifetime we accept on a KeyPackage we are given, both
    /// as notAfter − notBefore and as notAfter − now (default 365 days + 1
    /// hour of clock skew: deployed clients make KeyPackages that live 365
    /// days from their certificate's notBefore, fact sheet §6; KP-3).
    pub max_accepted_lifetime_secs: u64,
    /// A KeyPackage may start at most this long before its credential's
    /// notBefore (default 1 hour of clock skew; KP-9).
    pub not_before_skew_secs: u64,
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
            max_accepted_lifetime_secs: 365 * 86_400 + 3_600,
            not_before_skew_secs: 3_600,
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
    /// The RCC.16 revision whose shapes this device sends (default v3.0,
    /// what deployed clients send): the `end_mls` payload, the proposals
    /// advertised in KeyPackages, bare or framed 0xF007. Both revisions'
    /// shapes are always decoded.
    pub revision: Revision,
    /// Whether this device advertises Crosslock's extras (0xFC4C in its
    /// leaf capabilities) and so may receive MIMI content, MIMI status and
    /// typing (default true). False makes it a device of the deployed
    /// profile alone, like the RCC.16 clients in the field: every
    /// conversation it is in speaks the deployed formats (WIRE-NEG-1).
    pub crosslock_extras: bool,
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
            revision: Revision::default(),
            crosslock_extras: true,
        }
    }
}
