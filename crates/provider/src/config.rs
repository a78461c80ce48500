//! `crosslock.toml`: a provider's settings. Every field has a default, so an
//! empty file (or none) runs a development provider on loopback; see
//! docs/serve.md for each setting and `crosslock serve --print-config` for
//! the effective values.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crosslock_credential::NumberingPlan;
use serde::{Deserialize, Serialize};

use crate::error::ProviderError;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderConfig {
    /// Who this provider is and where it listens.
    pub provider: ProviderSection,
    /// The TLS certificate devices see.
    pub tls: TlsSection,
    /// The participant-credential CA key.
    pub credential_ca: CredentialCaSection,
    /// The built-in carrier proof service.
    pub carrier: CarrierSection,
    /// Other carriers whose proofs are believed.
    pub trusted_carriers: Vec<TrustedCarrier>,
    /// Device attestation: withdrawn keys and the apps that count.
    pub attestation: AttestationSection,
    /// Key transparency.
    pub transparency: TransparencySection,
    /// Rate limits, retention and sizes.
    pub limits: LimitsSection,
    /// Wake-up pushes.
    pub push: PushSection,
    /// Peer providers this one federates with.
    pub peers: Vec<PeerSection>,
}

/// `[provider]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderSection {
    /// The provider's name: KDS id, transparency directory, DS name, and
    /// what carrier proofs name as the home KDS.
    pub name: String,
    /// The device-facing API (TLS).
    pub listen: SocketAddr,
    /// `/healthz` and `/metrics` (plain HTTP; keep it on loopback or an
    /// operations network).
    pub admin_listen: SocketAddr,
    /// Provider-to-provider calls (mutual TLS). Bound only when peers are
    /// configured.
    pub federation_listen: SocketAddr,
    /// The base URL devices use (download URLs start with it). Empty:
    /// `https://` and the listen address.
    pub public_url: String,
    /// The base URL peers call for federation. Empty: `https://` and the
    /// federation listen address.
    pub federation_url: String,
    /// Number prefixes this provider is home for (`+` = every number not
    /// homed at a peer; the longest prefix across this list and the peers'
    /// wins). Only numbers homed here may enrol here (HOME-1).
    pub prefixes: Vec<String>,
    /// Development mode: allowed only with every listener on loopback.
    /// Transparency roots may go without witnesses (threshold 0) and the
    /// carrier may prove numbers without subscriber authentication (and
    /// only with no peers). Devices show it in their status. Set it to
    /// false in production, which requires at least one witness.
    pub development: bool,
}

impl Default for ProviderSection {
    fn default() -> Self {
        ProviderSection {
            name: "crosslock.local".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 9443)),
            federation_listen: SocketAddr::from(([127, 0, 0, 1], 8444)),
            public_url: String::new(),
            federation_url: String::new(),
            prefixes: vec!["+".into()],
            development: true,
        }
    }
}

/// `[tls]`: the device-facing certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// A PEM certificate chain (leaf first). Empty: the development TLS CA
    /// in the data dir issues one for `server_names` and the listen
    /// address.
    pub cert: Option<PathBuf>,
    /// The PEM PKCS#8 key of `cert`.
    pub key: Option<PathBuf>,
    /// DNS names for the development certificate (`localhost` is always
    /// included).
    pub server_names: Vec<String>,
}

/// `[credential_ca]`: where the key that signs participant credentials
/// lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialCaSection {
    /// A PKCS#11 module (e.g. SoftHSM2's `libsofthsm2.so`, or a hardware
    /// HSM's). Empty: a key file in the data dir (development only).
    pub pkcs11_module: Option<PathBuf>,
    /// The token's label.
    pub token_label: String,
    /// The key's label in the token (generated there on first start).
    pub key_label: String,
    /// The environment variable holding the token's user PIN.
    pub pin_env: String,
    /// Life of issued credentials, in days.
    pub credential_lifetime_days: u64,
}

impl Default for CredentialCaSection {
    fn default() -> Self {
        CredentialCaSection {
            pkcs11_module: None,
            token_label: "crosslock".into(),
            key_label: "crosslock-credential-ca".into(),
            pin_env: "CROSSLOCK_HSM_PIN".into(),
            credential_lifetime_days: 75,
        }
    }
}

/// `[carrier]`: the built-in carrier proof service (`/acs/v1/proof`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CarrierSection {
    /// Run it (its key is trusted automatically).
    pub enabled: bool,
    /// The carrier id its proofs carry. Empty: `carrier.` + provider name.
    pub id: String,
    /// Development: prove any number for any subscriber token. Allowed
    /// only in development mode with no peers; production lists who may
    /// enrol in `subscribers`.
    pub open_enrolment: bool,
    /// A file of `+E164 token` lines: the subscribers and their secrets
    /// (the stand-in for SIM authentication).
    pub subscribers: Option<PathBuf>,
    /// How long a proof is valid, in seconds.
    pub proof_lifetime_secs: u64,
}

impl Default for CarrierSection {
    fn default() -> Self {
        CarrierSection {
            enabled: true,
            id: String::new(),
            open_enrolment: true,
            subscribers: None,
            proof_lifetime_secs: 7 * 86_400,
        }
    }
}

/// `[attestation]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttestationSection {
    /// Every enrolment must carry a device attestation that passes the
    /// strict policy (KDS-ENR-5). Off: one is checked when given, and a
    /// device without one is enrolled with assurance `none`.
    pub required: bool,
    /// The Android attestation roots to trust instead of Google's embedded
    /// ones: a `roots.json` in the format Google publishes (a JSON array of
    /// PEM certificates). For a newer Google root before the next release,
    /// or a test root; every attestation under a listed root counts as
    /// hardware-backed.
    pub android_roots: Option<PathBuf>,
    /// Google's Android attestation status list (the JSON file Google
    /// publishes, refreshed by the operator): a chain through a withdrawn
    /// attestation key is refused (ATT-R-1). Required outside development.
    pub android_status_list: Option<PathBuf>,
    /// The Android apps whose attestations count: package name and the
    /// SHA-256 of its signing certificates, hex (ATT-P-1..2). Empty: any
    /// app (logged as a warning outside development).
    pub android_apps: Vec<AndroidApp>,
}

/// `[[attestation.android_apps]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AndroidApp {
    /// The package name, e.g. `com.example.messages`.
    pub package: String,
    /// SHA-256 of each signing certificate it may be signed with, hex.
    pub signing_cert_sha256: Vec<String>,
}

/// `[[trusted_carriers]]`: another carrier's proof key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedCarrier {
    /// The carrier id its proofs carry.
    pub id: String,
    /// `ecdsa-p256` (SEC1 point) or `ed25519`.
    pub algorithm: String,
    /// The public key, base64.
    pub public_key: String,
}

/// `[transparency]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransparencySection {
    /// Close an epoch this long after the previous one when keys changed.
    /// A contact's new keys can be proven (and so used) from then on.
    pub epoch_interval_secs: u64,
    /// Re-sign the latest root this often while nothing changes.
    pub refresh_interval_secs: u64,
    /// Witnesses asked to co-sign each root: `{ url, key }`.
    pub witnesses: Vec<WitnessSection>,
    /// How many witnesses devices require on a root.
    pub threshold: usize,
}

impl Default for TransparencySection {
    fn default() -> Self {
        TransparencySection {
            epoch_interval_secs: 2,
            refresh_interval_secs: 3_600,
            witnesses: Vec::new(),
            threshold: 0,
        }
    }
}

/// A witness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessSection {
    /// Its base URL (`crosslock kt witness` prints it).
    pub url: String,
    /// Its Ed25519 public key, hex.
    pub key: String,
}

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// How long an undelivered message waits in an inbox, in days.
    pub retention_days: u64,
    /// Largest MLS message, in bytes.
    pub max_message_bytes: usize,
    /// Messages a device may send at once, then per second.
    pub device_burst: f64,
    /// See `device_burst`.
    pub device_per_second: f64,
    /// Messages a conversation may carry at once, then per second.
    pub conversation_burst: f64,
    /// See `conversation_burst`.
    pub conversation_per_second: f64,
    /// External commits (rejoins) per conversation and day.
    pub external_commits_per_day: u64,
    /// Longest inbox long-poll, in seconds.
    pub max_wait_secs: u64,
    /// Largest encrypted file, in bytes.
    pub max_file_bytes: u64,
    /// How long an uploaded file is kept, in days.
    pub file_expiry_days: u64,
    /// KeyPackage claims per requester and number: at once, then one per
    /// `claim_refill_secs`.
    pub claim_burst: u32,
    /// See `claim_burst`.
    pub claim_refill_secs: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            retention_days: 30,
            max_message_bytes: 256 * 1024,
            device_burst: 200.0,
            device_per_second: 50.0,
            conversation_burst: 1000.0,
            conversation_per_second: 500.0,
            external_commits_per_day: 50,
            max_wait_secs: 30,
            max_file_bytes: 100 * 1024 * 1024,
            file_expiry_days: 30,
            claim_burst: 6,
            claim_refill_secs: 600,
        }
    }
}

/// `[push]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushSection {
    /// Where wake-ups are POSTed (`{"token": ...}`, nothing else). Empty:
    /// no pushes; devices long-poll.
    pub webhook_url: String,
    /// Wake-ups for one device within this window go out as one.
    pub batch_window_ms: u64,
    /// Each wake-up waits a random delay up to this, against timing
    /// analysis.
    pub max_random_delay_ms: u64,
}

impl Default for PushSection {
    fn default() -> Self {
        PushSection {
            webhook_url: String::new(),
            batch_window_ms: 200,
            max_random_delay_ms: 0,
        }
    }
}

/// `[[peers]]`: a provider this one federates with. `crosslock serve
/// --print-peer` prints this block for a provider, to give to its peers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSection {
    /// Its name.
    pub name: String,
    /// Its federation base URL (`https://host:port`).
    pub federation_url: String,
    /// Its device-facing base URL: devices download files its content
    /// server hosts from there, trusting `tls_ca` for that host only.
    #[serde(default)]
    pub public_url: String,
    /// Number prefixes homed there (e.g. `+44`): claims for them go there,
    /// and only its CA, carriers and log count for them.
    pub prefixes: Vec<String>,
    /// Its TLS CA certificate, base64 DER: its federation server and
    /// client certificates chain to it.
    pub tls_ca: String,
    /// SHA-256 of the client certificate it presents when it calls us, hex.
    pub client_cert_sha256: String,
    /// Its credential CA certificate, base64 DER.
    pub credential_root: String,
    /// Its carriers.
    pub carriers: Vec<TrustedCarrier>,
    /// Its transparency log key, base64.
    pub log_key: String,
    /// Its transparency VRF key, base64.
    pub vrf_key: String,
    /// The witnesses whose co-signatures its roots must carry (keys only;
    /// `url` is informational).
    #[serde(default)]
    pub witnesses: Vec<WitnessSection>,
    /// How many of them must co-sign a root of its log. At least 1 unless
    /// this provider runs in development mode.
    #[serde(default)]
    pub threshold: usize,
}

impl ProviderConfig {
    /// Reads a TOML file; unknown settings are errors (a typo must not
    /// silently fall back to a default).
    pub fn load(path: &Path) -> Result<ProviderConfig, ProviderError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProviderError::Config {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        Self::parse(&text).map_err(|why| ProviderError::Config {
            path: path.display().to_string(),
            why,
        })
    }

    /// Parses TOML text.
    pub fn parse(text: &str) -> Result<ProviderConfig, String> {
        let config: ProviderConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    /// The configuration as TOML, every setting spelled out.
    pub fn to_toml(&self) -> String {
        // Serialising plain data to TOML fails only for shapes this type
        // does not have (e.g. a map with non-string keys).
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot print: {e}\n"))
    }

    /// Cross-field checks.
    pub fn check(&self) -> Result<(), String> {
        let name = &self.provider.name;
        if name.is_empty()
            || name.len() > 253
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return Err(format!(
                "provider.name {name:?} must be 1-253 letters, digits, '.' or '-'"
            ));
        }
        if self.provider.public_url.is_empty() && self.provider.listen.ip().is_unspecified() {
            return Err(format!(
                "provider.listen is {}: set provider.public_url to the address devices reach",
                self.provider.listen
            ));
        }
        if !self.provider.public_url.is_empty() && !self.provider.public_url.starts_with("https://")
        {
            return Err("provider.public_url must start with https://".into());
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            return Err("tls.cert and tls.key go together".into());
        }
        self.check_mode()?;
        self.plan()?;
        if self.carrier.enabled
            && !self.carrier.open_enrolment
            && self.carrier.subscribers.is_none()
        {
            return Err(
                "carrier: with open_enrolment = false, name a subscribers file (or disable the carrier)"
                    .into(),
            );
        }
        if self.transparency.threshold > self.transparency.witnesses.len() {
            return Err(format!(
                "transparency.threshold {} is more than the {} witnesses configured",
                self.transparency.threshold,
                self.transparency.witnesses.len()
            ));
        }
        if self.transparency.epoch_interval_secs == 0 {
            return Err("transparency.epoch_interval_secs must be at least 1".into());
        }
        for peer in &self.peers {
            if peer.name == *name {
                return Err(format!("peer {:?} has this provider's own name", peer.name));
            }
        }
        Ok(())
    }

    /// Development or production (rules PROV-DEV-1..3 in
    /// docs/validation-rules.md).
    fn check_mode(&self) -> Result<(), String> {
        let p = &self.provider;
        if p.development {
            // PROV-DEV-1: development settings never face a network.
            for (setting, addr) in [
                ("provider.listen", p.listen),
                ("provider.admin_listen", p.admin_listen),
                ("provider.federation_listen", p.federation_listen),
            ] {
                if !addr.ip().is_loopback() {
                    return Err(format!(
                        "{setting} is {addr}, but provider.development = true runs on loopback only; \
                         set provider.development = false and configure witnesses to serve a network"
                    ));
                }
            }
            // Nor do the URLs devices and peers are given (a reverse proxy
            // in front of loopback listeners is a network deployment).
            for (setting, url) in [
                ("provider.public_url", &p.public_url),
                ("provider.federation_url", &p.federation_url),
            ] {
                if !url.is_empty() && !is_loopback_url(url) {
                    return Err(format!(
                        "{setting} is {url}, but provider.development = true runs on loopback only; \
                         set provider.development = false and configure witnesses to serve a network"
                    ));
                }
            }
            // PROV-DEV-2: open enrolment proves numbers homed here for
            // anyone; with peers, their users would meet such numbers.
            if self.carrier.enabled && self.carrier.open_enrolment && !self.peers.is_empty() {
                return Err(
                    "carrier.open_enrolment cannot be used with peers: list the subscribers \
                     (carrier.subscribers) before federating"
                        .into(),
                );
            }
            return Ok(());
        }
        // PROV-DEV-3: production needs witnesses, here and at every peer.
        if self.transparency.witnesses.is_empty() || self.transparency.threshold == 0 {
            return Err(
                "provider.development = false requires at least one transparency witness and \
                 transparency.threshold >= 1: run one with `crosslock kt witness` (README)"
                    .into(),
            );
        }
        if self.attestation.android_status_list.is_none() {
            return Err(
                "provider.development = false requires attestation.android_status_list: \
                 Google's attestation status list (JSON), so withdrawn attestation keys are refused"
                    .into(),
            );
        }
        if self.carrier.enabled && self.carrier.open_enrolment {
            return Err(
                "carrier.open_enrolment is for development only: list the subscribers in \
                 carrier.subscribers"
                    .into(),
            );
        }
        for peer in &self.peers {
            if peer.threshold == 0 || peer.witnesses.len() < peer.threshold {
                return Err(format!(
                    "peer {:?}: threshold must be at least 1 and at most its {} witnesses outside \
                     development",
                    peer.name,
                    peer.witnesses.len()
                ));
            }
        }
        Ok(())
    }

    /// The numbering plan: this provider's prefixes and every peer's
    /// (HOME-1). Two providers claiming one prefix is an error.
    pub fn plan(&self) -> Result<NumberingPlan, String> {
        let mut plan = NumberingPlan::new();
        plan.add_all(
            self.provider.prefixes.iter().map(String::as_str),
            &self.provider.name,
        )
        .map_err(|e| format!("provider.prefixes: {e}"))?;
        for peer in &self.peers {
            if peer.threshold > peer.witnesses.len() {
                return Err(format!(
                    "peer {:?}: threshold {} is more than its {} witnesses",
                    peer.name,
                    peer.threshold,
                    peer.witnesses.len()
                ));
            }
            plan.add_all(peer.prefixes.iter().map(String::as_str), &peer.name)
                .map_err(|e| format!("peers.{}.prefixes: {e}", peer.name))?;
        }
        Ok(plan)
    }

    /// The public base URL.
    pub fn public_url(&self) -> String {
        if self.provider.public_url.is_empty() {
            format!("https://{}", self.provider.listen)
        } else {
            self.provider.public_url.trim_end_matches('/').to_owned()
        }
    }

    /// The federation base URL.
    pub fn federation_url(&self) -> String {
        if self.provider.federation_url.is_empty() {
            format!("https://{}", self.provider.federation_listen)
        } else {
            self.provider
                .federation_url
                .trim_end_matches('/')
                .to_owned()
        }
    }

    /// The built-in carrier's id.
    pub fn carrier_id(&self) -> String {
        if self.carrier.id.is_empty() {
            format!("carrier.{}", self.provider.name)
        } else {
            self.carrier.id.clone()
        }
    }
}

/// Whether an `https://host[:port]/…` URL names a loopback host.
fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_defaults_and_printing_round_trips() {
        let config = ProviderConfig::parse("").unwrap();
        assert_eq!(config, ProviderConfig::default());
        let printed = config.to_toml();
        assert!(printed.contains("listen = \"127.0.0.1:8443\""), "{printed}");
        assert_eq!(ProviderConfig::parse(&printed).unwrap(), config);
    }

    #[test]
    fn typos_and_contradictions_are_refused() {
        let e = ProviderConfig::parse("[provider]\nlisten_addr = \"127.0.0.1:1\"").unwrap_err();
        assert!(e.contains("listen_addr"), "{e}");
        let e = ProviderConfig::parse("[provider]\nname = \"a b\"").unwrap_err();
        assert!(e.contains("provider.name"), "{e}");
        let e = ProviderConfig::parse("[carrier]\nopen_enrolment = false").unwrap_err();
        assert!(e.contains("subscribers"), "{e}");
        let e = ProviderConfig::parse("[transparency]\nthreshold = 1").unwrap_err();
        assert!(e.contains("threshold"), "{e}");
        let e = ProviderConfig::parse("[provider]\nlisten = \"0.0.0.0:8443\"").unwrap_err();
        assert!(e.contains("public_url"), "{e}");
        let e = ProviderConfig::parse("[provider]\npublic_url = \"http://a.example\"").unwrap_err();
        assert!(e.contains("https"), "{e}");
        let e = ProviderConfig::parse("[tls]\ncert = \"a.pem\"").unwrap_err();
        assert!(e.contains("tls.key"), "{e}");
    }

    fn peer(name: &str, prefixes: &[&str]) -> PeerSection {
        PeerSection {
            name: name.into(),
            federation_url: "https://127.0.0.1:9444".into(),
            public_url: String::new(),
            prefixes: prefixes.iter().map(|p| (*p).to_owned()).collect(),
            tls_ca: String::new(),
            client_cert_sha256: String::new(),
            credential_root: String::new(),
            carriers: Vec::new(),
            log_key: String::new(),
            vrf_key: String::new(),
            witnesses: Vec::new(),
            threshold: 0,
        }
    }

    fn witness() -> WitnessSection {
        WitnessSection {
            url: "https://127.0.0.1:9555".into(),
            key: "00".repeat(32),
        }
    }

    #[test]
    fn development_stays_on_loopback_and_without_peers_for_open_enrolment() {
        // PROV-DEV-1: development never faces a network.
        let mut config = ProviderConfig::default();
        config.provider.listen = "192.0.2.10:8443".parse().unwrap();
        let e = config.check().unwrap_err();
        assert!(e.contains("loopback"), "{e}");
        // A reverse proxy in front of loopback listeners.
        for (public, ok) in [
            ("https://chat.example.com", false),
            ("https://192.0.2.10:443/", false),
            ("https://localhost:8443", true),
            ("https://127.0.0.1:8443/", true),
            ("https://[::1]:8443", true),
        ] {
            let mut config = ProviderConfig::default();
            config.provider.public_url = public.into();
            assert_eq!(config.check().is_ok(), ok, "{public}");
        }
        let mut config = ProviderConfig::default();
        config.provider.admin_listen = "0.0.0.0:9443".parse().unwrap();
        assert!(config.check().unwrap_err().contains("admin_listen"));
        // PROV-DEV-2: open enrolment with a peer.
        let mut config = ProviderConfig {
            peers: vec![peer("b.example", &["+44"])],
            ..ProviderConfig::default()
        };
        let e = config.check().unwrap_err();
        assert!(e.contains("open_enrolment"), "{e}");
        config.carrier.open_enrolment = false;
        config.carrier.subscribers = Some("subscribers.txt".into());
        config.check().unwrap();
    }

    #[test]
    fn production_requires_witnesses_here_and_at_every_peer() {
        // PROV-DEV-3.
        let mut config = ProviderConfig::default();
        config.provider.development = false;
        config.carrier.open_enrolment = false;
        config.carrier.subscribers = Some("subscribers.txt".into());
        let e = config.check().unwrap_err();
        assert!(e.contains("witness"), "{e}");
        config.transparency.witnesses = vec![witness()];
        let e = config.check().unwrap_err();
        assert!(e.contains("threshold"), "{e}");
        config.transparency.threshold = 1;
        let e = config.check().unwrap_err();
        assert!(e.contains("android_status_list"), "{e}");
        config.attestation.android_status_list = Some("status.json".into());
        config.check().unwrap();
        config.peers = vec![peer("b.example", &["+44"])];
        let e = config.check().unwrap_err();
        assert!(e.contains("b.example"), "{e}");
        config.peers[0].witnesses = vec![witness()];
        config.peers[0].threshold = 1;
        config.check().unwrap();
        config.carrier.open_enrolment = true;
        let e = config.check().unwrap_err();
        assert!(e.contains("development only"), "{e}");
    }

    #[test]
    fn the_numbering_plan_refuses_a_prefix_claimed_twice() {
        let mut config = ProviderConfig::default();
        config.carrier.open_enrolment = false;
        config.carrier.subscribers = Some("subscribers.txt".into());
        config.peers = vec![peer("b.example", &["+44"])];
        let plan = config.plan().unwrap();
        let n = |t: &str| crosslock_credential::PhoneNumber::parse(t).unwrap();
        assert_eq!(plan.home_of(&n("+447700900123")), Some("b.example"));
        assert_eq!(plan.home_of(&n("+15551234567")), Some("crosslock.local"));
        config.peers[0].prefixes = vec!["+".into()];
        let e = config.check().unwrap_err();
        assert!(e.contains("claimed by both"), "{e}");
        config.peers[0].prefixes = vec!["44".into()];
        let e = config.check().unwrap_err();
        assert!(e.contains("prefix"), "{e}");
    }

    #[test]
    fn urls_default_to_the_listen_addresses() {
        let mut config = ProviderConfig::default();
        assert_eq!(config.public_url(), "https://127.0.0.1:8443");
        config.provider.public_url = "https://a.example/".into();
        assert_eq!(config.public_url(), "https://a.example");
        assert_eq!(config.carrier_id(), "carrier.crosslock.local");
    }
}
