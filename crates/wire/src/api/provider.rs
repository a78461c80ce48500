//! `GET /v1/provider`: what a device needs to trust a provider.
//!
//! A device fetches this once, at set-up, over a TLS connection it already
//! trusts (the provider's TLS root is given to it out of band: an app ships
//! it, `crosslock device init --ca` names it). It holds the numbering plan:
//! for this provider and each peer, the number prefixes it is home for,
//! and the only credential roots, carriers and key-transparency log (with
//! its witnesses) that count for those numbers. Nothing in it is secret.

use serde::{Deserialize, Serialize};

use super::B64;

/// The provider descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderInfo {
    /// The provider's name: its KDS id, key-transparency directory and
    /// delivery-service name.
    pub name: String,
    /// A development provider: its transparency roots may lack witness
    /// co-signatures and it may prove numbers without subscriber
    /// authentication. Devices show it in their status; it only runs on
    /// loopback.
    #[serde(default)]
    pub development: bool,
    /// Every provider a device may meet, this one first, then its peers:
    /// the numbers each is home for and what may vouch for them there
    /// (HOME-1..3 in docs/validation-rules.md).
    pub homes: Vec<HomeInfo>,
}

/// One home provider: the numbers it is home for and the only roots,
/// carriers and transparency log that count for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomeInfo {
    /// The provider's name (what carrier proofs name as the home KDS).
    pub name: String,
    /// Number prefixes (`+` then digits) homed there; the longest
    /// matching prefix across all homes wins.
    pub prefixes: Vec<String>,
    /// Its credential CA certificates (DER).
    pub credential_roots: Vec<B64>,
    /// The carriers authoritative for its numbers.
    pub carriers: Vec<CarrierKey>,
    /// Its key-transparency log.
    pub transparency: LogInfo,
    /// Its device-facing base URL (files its content server hosts are
    /// downloaded from there). Empty when not known.
    #[serde(default)]
    pub public_url: String,
    /// The TLS root (DER) its device-facing API chains to, trusted for
    /// `public_url`'s host only. Absent for the provider that serves this
    /// descriptor (the device already pins that one).
    #[serde(default)]
    pub tls_root: Option<B64>,
}

/// A carrier's proof-signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarrierKey {
    /// The carrier id proofs name.
    pub id: String,
    /// `ecdsa-p256` (SEC1 point) or `ed25519` (raw 32 bytes).
    pub algorithm: String,
    /// The public key.
    pub public_key: B64,
}

/// A key-transparency log and what its roots must carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogInfo {
    /// The directory (the home provider's name).
    pub directory: String,
    /// The root-signing key (Ed25519, 32 bytes).
    pub log_key: B64,
    /// The directory's VRF public key (32 bytes).
    pub vrf_key: B64,
    /// Witness keys whose co-signatures count (Ed25519, 32 bytes each).
    pub witnesses: Vec<B64>,
    /// How many witnesses must co-sign a root.
    pub threshold: usize,
}
