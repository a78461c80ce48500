//! How a KDS is set up. Every field has a documented default where one
//! makes sense; the CA signer and the trusted carriers have none.

use std::sync::Arc;

use crosslock_attest::{AndroidRoots, AttestationPolicy};
use crosslock_credential::{
    CertSigner, CertificateAuthority, NumberPrefix, NumberingPlan, PhoneNumber, TrustedCarriers,
};

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

/// A token bucket's size and refill: `burst` requests at once, then one
/// more every `refill_secs`.
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

/// Most credentials one device holds at once (a P-256 key and an Ed25519
/// key, see enrollment step 3).
pub(crate) const KEYS_PER_DEVICE: usize = 2;

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
    /// The carriers authoritative for its numbers: the proofs in its
    /// answers must be by one of them and name it as home (HOME-2).
    pub carriers: TrustedCarriers,
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
    /// Carriers whose proofs are believed in peers' claim answers (ours
    /// and the peers'). Enrollment never uses these: see
    /// [`KdsConfig::enrolment_carriers`].
    pub carriers: TrustedCarriers,
    /// The carriers authoritative for the numbers homed here: the only ones
    /// whose proofs enrol a device (KDS-ENR-6). Default: the `carriers`
    /// given to [`KdsConfig::new`]; a provider with peers sets its own
    /// carriers here ([`KdsConfig::set_enrolment_carriers`]).
    pub enrolment_carriers: TrustedCarriers,
    /// Which provider is home for which numbers (HOME-1). A device enrols
    /// here only for a number homed here (KDS-ENR-7). Default: every
    /// number homed here ([`NumberingPlan::single`]); set it with
    /// [`KdsConfig::set_numbering_plan`]. Peers' `prefixes` count too:
    /// a number a peer's prefix claims is never homed here.
    pub numbering_plan: NumberingPlan,
    /// Most active devices one number may have (default 16; never more
    /// than the transparency binding holds, see
    /// [`KdsConfig::device_cap`]; KDS-ENR-9).
    pub max_devices_per_number: usize,
    /// Most devices one carrier proof may enrol (default 1; KDS-ENR-10).
    pub max_devices_per_proof: u32,
    /// Attestation requirement.
    pub attestation: AttestationRequirement,
    /// App ids (`TEAMID.bundle`) accepted in Apple App Attest.
    pub apple_app_ids: Vec<String>,
    /// Android attestation roots (default: Google's hardware roots).
    pub android_roots: AndroidRoots,
    /// Google's attestation status list: a chain through a listed
    /// certificate is refused (ATT-R-1). Empty: nothing is withdrawn.
    pub android_status_list: crosslock_attest::RevocationList,
    /// The apps (package and signing certificate digests) whose Android
    /// attestations count (ATT-P-1..2). Empty: any app.
    pub android_apps: crosslock_attest::AppPolicy,
    /// Life of issued credentials (default 75 days).
    pub credential_lifetime_secs: u64,
    /// Life of an enrollment nonce (default 300 s).
    pub nonce_lifetime_secs: u64,
    /// Most single-use KeyPackages per device and suite (default 100).
    pub max_key_packages_per_suite: usize,
    /// Longest KeyPackage lifetime accepted, notAfter − notBefore (default
    /// 365 days + 1 h: deployed clients make KeyPackages that live 365 days
    /// from their certificate's notBefore; KDS-KP-3).
    pub max_key_package_lifetime_secs: u64,
    /// Latest KeyPackage end accepted, notAfter − now (default 365 days +
    /// 1 h; KDS-KP-3).
    pub max_key_package_remaining_secs: u64,
    /// A KeyPackage's credential must have this long left (default 30 days).
    pub min_credential_remaining_secs: u64,
    /// Claim rate limit per requester and target number.
    pub claim_rate: RateLimit,
    /// Claims and lookups per requester across every target, unknown
    /// numbers included (default burst 100, one more every 36 s; a device
    /// or a peer's requester; KDS-CLM-5).
    pub requester_rate: RateLimit,
    /// Claims per peer provider and target, whatever requester the peer
    /// names (default burst 30, one more every 120 s; KDS-CLM-4).
    pub peer_target_rate: RateLimit,
    /// Claims per peer provider across every target and requester
    /// (default burst 2 000, one more every second; KDS-CLM-4).
    pub peer_rate: RateLimit,
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
        let kds_id = kds_id.into();
        // A valid id (1..=253 characters) always makes a plan; an invalid
        // one gets an empty plan, so nothing is homed here.
        let numbering_plan = NumberingPlan::single(&kds_id).unwrap_or_default();
        Ok(KdsConfig {
            kds_id,
            ca,
            ca_signer,
            enrolment_carriers: carriers.clone(),
            carriers,
            numbering_plan,
            max_devices_per_number: 16,
            max_devices_per_proof: 1,
            attestation,
            apple_app_ids: Vec::new(),
            android_roots: AndroidRoots::google()?,
            android_status_list: crosslock_attest::RevocationList::default(),
            android_apps: crosslock_attest::AppPolicy::default(),
            credential_lifetime_secs: 75 * 86_400,
            nonce_lifetime_secs: 300,
            max_key_packages_per_suite: 100,
            max_key_package_lifetime_secs: 365 * 86_400 + 3_600,
            max_key_package_remaining_secs: 365 * 86_400 + 3_600,
            min_credential_remaining_secs: 30 * 86_400,
            claim_rate: RateLimit::default(),
            requester_rate: RateLimit {
                burst: 100,
                refill_secs: 36,
            },
            peer_target_rate: RateLimit {
                burst: 30,
                refill_secs: 120,
            },
            peer_rate: RateLimit {
                burst: 2_000,
                refill_secs: 1,
            },
            max_body_bytes: 1024 * 1024,
            peers: Vec::new(),
            admin_token: None,
            transparency: TransparencySettings::default(),
        })
    }

    /// Sets the numbering plan (KDS-ENR-7).
    pub fn set_numbering_plan(&mut self, plan: NumberingPlan) {
        self.numbering_plan = plan;
    }

    /// Sets the carriers authoritative for numbers homed here, the only
    /// ones whose proofs enrol a device (KDS-ENR-6).
    pub fn set_enrolment_carriers(&mut self, carriers: TrustedCarriers) {
        self.enrolment_carriers = carriers;
    }

    /// The number's home (HOME-1): the longest prefix of the numbering
    /// plan and of the peers' `prefixes` together; `None` when nobody is
    /// home for it or two providers claim the same longest prefix.
    pub fn home_of(&self, number: &PhoneNumber) -> Option<&str> {
        let peers = self.peers.iter().flat_map(|p| {
            p.prefixes
                .iter()
                .filter_map(|text| NumberPrefix::parse(text).ok())
                .map(move |prefix| (prefix, p.kds_id.as_str()))
        });
        let routes = self
            .numbering_plan
            .routes()
            .map(|(prefix, home)| (prefix.clone(), home))
            .chain(peers)
            .filter(|(prefix, _)| prefix.matches(number));
        let mut best: Option<(usize, &str)> = None;
        let mut ambiguous = false;
        for (prefix, home) in routes {
            let len = prefix.as_str().len();
            match best {
                Some((l, h)) if l == len && h != home => ambiguous = true,
                Some((l, _)) if l >= len => {}
                _ => {
                    best = Some((len, home));
                    ambiguous = false;
                }
            }
        }
        if ambiguous {
            return None;
        }
        best.map(|(_, home)| home)
    }

    /// The device cap actually enforced: `max_devices_per_number`, but
    /// never so many that the number's transparency binding (at most
    /// [`crosslock_kt::MAX_KEYS`] keys, two per device) could overflow
    /// (KDS-ENR-9, KDS-KT-1).
    pub fn device_cap(&self) -> usize {
        self.max_devices_per_number
            .clamp(1, crosslock_kt::MAX_KEYS / KEYS_PER_DEVICE)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(plan: NumberingPlan, peers: &[(&str, &[&str])]) -> KdsConfig {
        let signer = Arc::new(crosslock_tls::KeyPair::generate().unwrap());
        let ca = CertificateAuthority::new_root(
            "t",
            1_700_000_000,
            1_800_000_000,
            [1; 16],
            signer.as_ref(),
        )
        .unwrap();
        let mut c = KdsConfig::new(
            "a",
            ca,
            signer,
            TrustedCarriers::default(),
            AttestationRequirement::Optional(AttestationPolicy::Strict),
        )
        .unwrap();
        c.set_numbering_plan(plan);
        c.peers = peers
            .iter()
            .map(|(id, prefixes)| PeerKds {
                kds_id: (*id).into(),
                federation_url: String::new(),
                prefixes: prefixes.iter().map(|p| (*p).into()).collect(),
                credential_root: Vec::new(),
                client_cert_sha256: [0; 32],
                carriers: TrustedCarriers::default(),
            })
            .collect();
        c
    }

    fn n(text: &str) -> PhoneNumber {
        PhoneNumber::parse(text).unwrap()
    }

    #[test]
    fn the_home_is_the_longest_prefix_of_plan_and_peers() {
        let c = config(NumberingPlan::single("a").unwrap(), &[("b", &["+44"])]);
        assert_eq!(c.home_of(&n("+15551234567")), Some("a"));
        assert_eq!(c.home_of(&n("+447700900123")), Some("b"));
        let mut plan = NumberingPlan::single("a").unwrap();
        plan.add_all(["+4420"], "a").unwrap();
        let c = config(plan, &[("b", &["+44", "bogus"])]);
        assert_eq!(c.home_of(&n("+442071234567")), Some("a"));
        assert_eq!(c.home_of(&n("+447700900123")), Some("b"));
    }

    #[test]
    fn two_homes_for_one_prefix_is_no_home() {
        let mut plan = NumberingPlan::new();
        plan.add_all(["+44"], "a").unwrap();
        let c = config(plan, &[("b", &["+44"])]);
        assert_eq!(c.home_of(&n("+447700900123")), None);
        let c = config(NumberingPlan::new(), &[]);
        assert_eq!(c.home_of(&n("+15551234567")), None);
    }

    #[test]
    fn the_device_cap_never_overflows_a_binding() {
        let mut c = config(NumberingPlan::new(), &[]);
        assert_eq!(c.device_cap(), 16);
        c.max_devices_per_number = usize::MAX;
        assert_eq!(c.device_cap(), crosslock_kt::MAX_KEYS / KEYS_PER_DEVICE);
        c.max_devices_per_number = 0;
        assert_eq!(c.device_cap(), 1);
    }
}
