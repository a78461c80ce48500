//! The carrier's auto-configuration server (ACS): a device asks it to
//! prove that the number is the device's (`POST /acs/v1/proof`).

use serde::{Deserialize, Serialize};

use super::B64;

/// Ask for a proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofRequest {
    /// The subscriber's number.
    pub number: String,
    /// The subscriber's secret (the SIM stand-in).
    pub subscriber_token: String,
    /// The device's participant keys (MLS encodings: SEC1 P-256, raw Ed25519).
    pub participant_keys: Vec<B64>,
    /// The KDS the number is to be homed at. The ACS decides this, not the
    /// caller (ACS-4): empty (or absent) takes the carrier's home KDS, any
    /// other value than that is refused (`wrong-home`). Kept for
    /// compatibility with callers that send it.
    #[serde(default)]
    pub home_kds: String,
}

/// The signed proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofResponse {
    /// DER `CarrierProof`.
    pub proof: B64,
    /// When it expires (Unix seconds).
    pub not_after: u64,
}
