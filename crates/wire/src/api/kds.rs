//! The key distribution service API (`/v1/...` for devices,
//! `/federation/v1/...` between providers).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::B64;

/// `POST /v1/enrollment/nonce`: a one-time enrollment challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonceResponse {
    /// 32 random bytes, valid once.
    pub nonce: B64,
    /// Unix seconds after which the nonce is refused.
    pub expires_at: u64,
}

/// Proof that the participant key lives in secure hardware.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttestationBody {
    /// Android Key Attestation: the certificate chain of the P-256
    /// participant key, leaf first, DER.
    Android {
        /// The chain.
        chain: Vec<B64>,
    },
    /// Apple App Attest: the attestation object (CBOR), whose client data
    /// hash is the enrollment challenge.
    Apple {
        /// The attestation object.
        object: B64,
    },
}

/// `POST /v1/enrollment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The nonce from `/v1/enrollment/nonce`.
    pub nonce: B64,
    /// The device instance id (a UUID).
    pub device_id: String,
    /// One PKCS#10 request per participant key, DER (P-256 first).
    pub csrs: Vec<B64>,
    /// The carrier's signed proof for the number and these keys.
    pub carrier_proof: B64,
    /// Device attestation, where the device has it.
    pub attestation: Option<AttestationBody>,
    /// A new phone or a reinstall: revoke every other device of the number
    /// (contacts see a key change). False adds a device (e.g. a tablet).
    #[serde(default)]
    pub replace_existing: bool,
    /// The token the device will hold after this enrolment, chosen by the
    /// device (32 random bytes, lowercase hex), saved by it before it sends
    /// the request: an answer lost on the way leaves the device knowing
    /// which token the KDS may hold (KDS-ENR-12). Absent: the KDS draws one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// `GET /v1/info`: who this KDS is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdsInfo {
    /// The KDS id carrier proofs name.
    pub kds_id: String,
    /// The provider's credential root certificate (DER). Devices must get
    /// their trust anchors out of band; this is for operators and demos.
    pub credential_root: B64,
}

/// How strongly the KDS knows the participant key is in hardware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Assurance {
    /// Attested hardware key, locked bootloader, verified boot (or App Attest production).
    HardwareVerified,
    /// Attested hardware key.
    Hardware,
    /// No attestation (allowed only where policy permits).
    None,
}

/// Answer to an enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// Bearer token for this device's later calls. Shown once.
    pub device_token: String,
    /// One credential chain per CSR, in the same order (leaf first, DER).
    pub credentials: Vec<Vec<B64>>,
    /// The assurance recorded for the device.
    pub assurance: Assurance,
    /// This KDS's id.
    pub kds_id: String,
}

/// `POST /v1/keypackages`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UploadKeyPackages {
    /// Single-use KeyPackages (MLS messages).
    pub key_packages: Vec<B64>,
    /// Last-resort KeyPackages (at most one per suite is kept).
    #[serde(default)]
    pub last_resort: Vec<B64>,
}

/// The KeyPackages the KDS holds for a device (`GET /v1/keypackages/stock`,
/// and the answer to an upload).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Stock {
    /// Unexpired single-use KeyPackages per suite code point.
    pub available: BTreeMap<u16, u32>,
    /// Suites with a last-resort KeyPackage.
    pub last_resort: Vec<u16>,
}

/// `POST /v1/claim` (and `/federation/v1/claim` between providers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRequest {
    /// The number whose devices' KeyPackages are wanted (E.164).
    pub number: String,
}

/// One device's KeyPackages, one per suite it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedDevice {
    /// The device instance id.
    pub device_id: String,
    /// KeyPackages, one per suite.
    pub key_packages: Vec<B64>,
}

/// Answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimResponse {
    /// The number, normalised.
    pub number: String,
    /// The KDS the number is homed at.
    pub home_kds: String,
    /// Every active device of the number.
    pub devices: Vec<ClaimedDevice>,
    /// Key transparency: the number's binding proven at the latest signed
    /// epoch of the home KDS's directory (absent where the home KDS runs no
    /// directory; clients that require transparency refuse such answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transparency: Option<super::kt::LookupAnswer>,
}

/// `POST /v1/revoke` (own device, bearer token) and `POST /admin/v1/revoke`
/// (admin token; a device or a whole number).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RevokeRequest {
    /// The device to revoke (admin only; a device revokes itself otherwise).
    #[serde(default)]
    pub device_id: Option<String>,
    /// Every device of this number (admin only).
    #[serde(default)]
    pub number: Option<String>,
}

/// `GET /v1/revoked?since=UNIX` answer: credentials revoked since then.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RevokedList {
    /// Serial numbers (hex) of revoked credentials.
    pub serials: Vec<String>,
    /// Server time of this answer (Unix seconds), for the next `since`.
    pub as_of: u64,
}
