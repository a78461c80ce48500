//! `GET /v1/provider`: what a device needs to trust a provider.
//!
//! A device fetches this once, at set-up, over a TLS connection it already
//! trusts (the provider's TLS root is given to it out of band: an app ships
//! it, `crosslock device init --ca` names it). It holds the roots the
//! device validates participant credentials against (this provider's and
//! its peers'), the carriers whose proofs count, and the key-transparency
//! logs whose proofs the device requires. Nothing in it is secret.

use serde::{Deserialize, Serialize};

use super::B64;

/// The provider descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderInfo {
    /// The provider's name: its KDS id, key-transparency directory and
    /// delivery-service name.
    pub name: String,
    /// Credential CA certificates (DER), this provider's first, then its
    /// peers'. A participant credential must chain to one of them.
    pub credential_roots: Vec<B64>,
    /// Carriers whose proofs bind numbers to keys.
    pub carriers: Vec<CarrierKey>,
    /// Key-transparency logs, this provider's first, then its peers'.
    pub transparency: Vec<LogInfo>,
    /// The names of the peer providers this one federates with.
    pub peers: Vec<String>,
    /// The peers' TLS roots (DER), for downloading files their content
    /// servers host (a file's URL points at the sender's provider).
    #[serde(default)]
    pub peer_tls_roots: Vec<B64>,
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
