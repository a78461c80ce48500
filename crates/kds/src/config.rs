//! How a KDS is set up. Every field has a documented default where one
//! makes sense; the CA signer and the trusted carriers have none.

use std::sync::Arc;

use crosslock_attest::{AndroidRoots, AttestationPolicy};
use crosslock_credential::{CertSigner, CertificateAuthority, TrustedCarriers};

/// Which enrollments need device attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestationRequirement {
    /// Every enrollment must carry an attestation that passes `policy`.
    Required(AttestationPolicy),
    /// Attestation is checked when given (against `policy`); without one the
    /// device is enrolled with assurance `none` (recorded, and visible to
    /// contacts in its credential).
    Optional(AttestationPolicy),
}

/// Claim rate limits: a token bucket per (requester, target number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed at once (default 6).
    pub burst: u32,
    /// One more request every this many seconds (default 600).
    pub refill_secs: u64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            burst: 6,
            refill_secs: 600,
        }
    }
}

/// How the KDS publishes to its key-transparency directory (when it has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransparencySettings {
    /// Close an epoch this long after the previous one when changes are
    /// queued (default 60 s). Contacts see a new device's keys from then on.
    pub epoch_interval_secs: u64,
    /// Close an epoch at once when this many numbers are queued, and put at
    /// most this many in one epoch (default 10 000).
    pub max_epoch_updates: usize,
    /// Re-sign the latest root this often while nothing changes, so clients
    /// can tell a live view from a replayed one (default 1 h).
    pub refresh_interval_secs: u64,
    /// Lookup rate limit, per requester and target (default: as claims).
    pub lookup_rate: RateLimit,
}

impl Default for TransparencySettings {
    fn default() -> Self {
        TransparencySettings {
            epoch_interval_secs: 60,
            max_epoch_updates: 10_000,
            refresh_interval_secs: 3_600,
            lookup_rate: RateLimit::default(),
        }
    }
}

/// A peer provider's KDS, for numbers homed there.
#[derive(Debug, Clone)]
pub struct PeerKds {
    /// Its KDS id (as carrier proofs name it).
    pub kds_id: String,
    /// Base URL of its federation endpoint, e.g. `https://kds.b.example:8444`.
    pub federation_url: String,
    /// Number prefixes homed there, e.g. `+44`.
    pub prefixes: Vec<String>,
    /// Its credential root (DER): the answers it gives are validated
    /// against it.
    pub credential_root: Vec<u8>,
    /// SHA-256 of the TLS client certificate it presents when it calls us.
    pub client_cert_sha256: [u8; 32],
}

/// A KDS's configuration.
#[derive(Clone)]
pub struct KdsConfig {
    /// This KDS's id, as carrier proofs name the home KDS.
    pub kds_id: String,
    /// The provider CA.
    pub ca: CertificateAuthority,
    /// The CA's key (PKCS#11 token or key file).
    pub ca_signer: Arc<dyn CertSigner + Send + Sync>,
    /// Carriers whose proofs are believed.
    pub carriers: TrustedCarriers,
    /// Attestation requirement.
    pub attestation: AttestationRequirement,
    /// App ids (`TEAMID.bundle`) accepted in Apple App Attest.
    pub apple_app_ids: Vec<String>,
    /// Android attestation roots (default: Google's hardware roots).
    pub android_roots: AndroidRoots,
    /// Life of issued credentials (default 75 days).
    pub credential_lifetime_secs: u64,
    /// Life of an enrollment nonce (default 300 s).
    pub nonce_lifetime_secs: u64,
    /// Most single-use KeyPackages per device and suite (default 100).
    pub max_key_packages_per_suite: usize,
    /// Longest KeyPackage lifetime accepted (default 14 days + 1 h).
    pub max_key_package_lifetime_secs: u64,
    /// A KeyPackage's credential must have this long left (default 30 days).
    pub min_credential_remaining_secs: u64,
    /// Claim rate limit.
    pub claim_rate: RateLimit,
    /// Largest request body (default 1 MiB: a full upload of 300 X-Wing KeyPackages fits).
    pub max_body_bytes: usize,
    /// Peer providers.
    pub peers: Vec<PeerKds>,
    /// Bearer token for `/admin/...` (none: admin API off).
    pub admin_token: Option<String>,
    /// Key-transparency publishing (used when a directory is attached).
    pub transparency: TransparencySettings,
}

impl std::fmt::Debug for KdsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KdsConfig")
            .field("kds_id", &self.kds_id)
            .field("attestation", &self.attestation)
            .field("peers", &self.peers.len())
            .finish_non_exhaustive()
    }
}

impl KdsConfig {
    /// A configuration with the defaults above.
    pub fn new(
        kds_id: impl Into<String>,
        ca: CertificateAuthority,
        ca_signer: Arc<dyn CertSigner + Send + Sync>,
        carriers: TrustedCarriers,
        attestation: AttestationRequirement,
    ) -> Result<Self, crosslock_attest::AttestError> {
        Ok(KdsConfig {
            kds_id: kds_id.into(),
            ca,
            ca_signer,
            carriers,
            attestation,
            apple_app_ids: Vec::new(),
            android_roots: AndroidRoots::google()?,
            credential_lifetime_secs: 75 * 86_400,
            nonce_lifetime_secs: 300,
            max_key_packages_per_suite: 100,
            max_key_package_lifetime_secs: 14 * 86_400 + 3_600,
            min_credential_remaining_secs: 30 * 86_400,
            claim_rate: RateLimit::default(),
            max_body_bytes: 1024 * 1024,
            peers: Vec::new(),
            admin_token: None,
            transparency: TransparencySettings::default(),
        })
    }

    /// The peer a number is homed at, by longest matching prefix.
    pub fn peer_for(&self, number: &str) -> Option<&PeerKds> {
        self.peers
            .iter()
            .flat_map(|p| p.prefixes.iter().map(move |prefix| (prefix, p)))
            .filter(|(prefix, _)| number.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, p)| p)
    }
}
