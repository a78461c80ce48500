//! The carrier role: its auto-configuration server (ACS) signs proofs that
//! a number belongs to the device presenting given participant keys.
//!
//! A real ACS knows the subscriber from the SIM (network authentication).
//! This one knows subscribers from configuration: each number has a secret
//! token (stored as its SHA-256) that the device presents, standing in for
//! the SIM-based authentication. The proof format is in
//! `crosslock_credential::CarrierClaims`.
//!
//! `POST /acs/v1/proof` with [`ProofRequest`] → [`ProofResponse`].
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use crosslock_credential::{CarrierClaims, CertSigner, KeyAlgorithm, PhoneNumber, PublicKey};
use crosslock_wire::api::{B64, ErrorBody};
use sha2::{Digest, Sha256};

pub use crosslock_wire::api::acs::{ProofRequest, ProofResponse};

/// Why a proof was refused.
#[derive(Debug, thiserror::Error)]
pub enum AcsError {
    /// Not JSON of the expected shape.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// Not one of our subscribers, or the wrong token.
    #[error("unknown subscriber or wrong subscriber token")]
    Unauthorized,
    /// The number is not E.164.
    #[error("invalid number: {0}")]
    InvalidNumber(String),
    /// Keys that are not P-256 or Ed25519 public keys, or too many.
    #[error("invalid participant keys: {0}")]
    InvalidKeys(String),
    /// The body is larger than the ACS reads.
    #[error("request body too large")]
    TooLarge,
    /// The request names another home KDS than the one this carrier homes
    /// its numbers at.
    #[error("this carrier homes its numbers at {0}; leave home_kds out or send that id")]
    WrongHome(String),
    /// The carrier's signer failed.
    #[error("signing failed: {0}")]
    Signer(String),
}

impl AcsError {
    fn status(&self) -> StatusCode {
        match self {
            AcsError::Malformed(_) | AcsError::InvalidNumber(_) | AcsError::InvalidKeys(_) => {
                StatusCode::BAD_REQUEST
            }
            AcsError::Unauthorized | AcsError::WrongHome(_) => StatusCode::FORBIDDEN,
            AcsError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AcsError::Signer(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            AcsError::Malformed(_) => "malformed-request",
            AcsError::Unauthorized => "unauthorized",
            AcsError::InvalidNumber(_) => "invalid-number",
            AcsError::InvalidKeys(_) => "invalid-keys",
            AcsError::TooLarge => "too-large",
            AcsError::WrongHome(_) => "wrong-home",
            AcsError::Signer(_) => "internal-error",
        }
    }
}

impl IntoResponse for AcsError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.reason().to_owned(),
            message: self.to_string(),
        };
        (self.status(), axum::Json(body)).into_response()
    }
}

/// A carrier's ACS.
pub struct Acs {
    carrier_id: String,
    home_kds: String,
    signer: Arc<dyn CertSigner + Send + Sync>,
    proof_lifetime_secs: u64,
    subscribers: RwLock<HashMap<String, [u8; 32]>>,
    open_enrolment: AtomicBool,
}

impl std::fmt::Debug for Acs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acs")
            .field("carrier_id", &self.carrier_id)
            .finish_non_exhaustive()
    }
}

impl Acs {
    /// A carrier signing with `signer` whose subscribers' numbers are
    /// homed at the KDS `home_kds` (every proof names it, ACS-4); proofs
    /// live `proof_lifetime_secs` (a few days is typical: the KDS checks
    /// them at enrollment).
    pub fn new(
        carrier_id: impl Into<String>,
        home_kds: impl Into<String>,
        signer: Arc<dyn CertSigner + Send + Sync>,
        proof_lifetime_secs: u64,
    ) -> Self {
        Acs {
            carrier_id: carrier_id.into(),
            home_kds: home_kds.into(),
            signer,
            proof_lifetime_secs,
            subscribers: RwLock::new(HashMap::new()),
            open_enrolment: AtomicBool::new(false),
        }
    }

    /// The carrier id proofs carry.
    pub fn carrier_id(&self) -> &str {
        &self.carrier_id
    }

    /// The KDS this carrier's numbers are homed at.
    pub fn home_kds(&self) -> &str {
        &self.home_kds
    }

    /// The key KDSs and clients configure to trust this carrier.
    pub fn public_key(&self) -> &PublicKey {
        self.signer.public_key()
    }

    /// Development only: prove any well-formed number for any subscriber
    /// token, as if every number were a subscriber. A production carrier
    /// never does this; `crosslock serve` turns it on only for its
    /// development default and logs that it did.
    pub fn set_open_enrolment(&self, open: bool) {
        if open {
            tracing::warn!(carrier = %self.carrier_id, "development carrier: proves any number without subscriber authentication");
        }
        self.open_enrolment.store(open, Ordering::Relaxed);
    }

    /// Registers a subscriber with its secret token (SIM stand-in).
    pub fn add_subscriber(&self, number: &PhoneNumber, token: &str) {
        let hash = Sha256::digest(token.as_bytes()).into();
        self.subscribers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(number.as_str().to_owned(), hash);
    }

    /// Signs a proof for an authenticated subscriber (rules ACS-1..4):
    /// the token matches the number, the keys are 1–4 valid P-256/Ed25519
    /// public keys, and the home KDS is the carrier's, whatever the caller
    /// asks for.
    pub fn prove(&self, request: &ProofRequest, now: u64) -> Result<ProofResponse, AcsError> {
        let number = PhoneNumber::parse(&request.number)
            .map_err(|e| AcsError::InvalidNumber(e.to_string()))?;
        let given: [u8; 32] = Sha256::digest(request.subscriber_token.as_bytes()).into();
        let known = self
            .subscribers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(number.as_str())
            .copied();
        // Compare hashes: constant time is moot on digests of secrets.
        let open = self.open_enrolment.load(Ordering::Relaxed) && known.is_none();
        if known != Some(given) && !open {
            tracing::warn!(number = %number.redacted(), "carrier proof refused: subscriber authentication failed");
            return Err(AcsError::Unauthorized);
        }
        if request.participant_keys.is_empty()
            || request.participant_keys.len() > crosslock_credential::MAX_PROOF_KEYS
        {
            return Err(AcsError::InvalidKeys("1 to 4 keys".into()));
        }
        for key in &request.participant_keys {
            let valid = PublicKey::new(KeyAlgorithm::EcdsaP256, key.0.clone()).is_some()
                || PublicKey::new(KeyAlgorithm::Ed25519, key.0.clone()).is_some();
            if !valid {
                return Err(AcsError::InvalidKeys(
                    "not a P-256 or Ed25519 public key".into(),
                ));
            }
        }
        // ACS-4: the carrier, not the caller, decides the number's home.
        if !request.home_kds.is_empty() && request.home_kds != self.home_kds {
            tracing::warn!(number = %number.redacted(), "carrier proof refused: the request names another home KDS");
            return Err(AcsError::WrongHome(self.home_kds.clone()));
        }
        let not_after = now + self.proof_lifetime_secs;
        let claims = CarrierClaims {
            carrier_id: self.carrier_id.clone(),
            number: number.clone(),
            participant_keys: request
                .participant_keys
                .iter()
                .map(|k| k.0.clone())
                .collect(),
            home_kds: self.home_kds.clone(),
            not_after,
        };
        let proof = claims
            .sign(self.signer.as_ref())
            .map_err(|e| AcsError::Signer(e.to_string()))?;
        tracing::info!(number = %number.redacted(), home = %self.home_kds, "carrier proof issued");
        Ok(ProofResponse {
            proof: B64(proof),
            not_after,
        })
    }
}

/// The ACS's HTTP API.
pub fn router(acs: Arc<Acs>) -> Router {
    Router::new()
        .route("/acs/v1/proof", post(proof))
        .layer(DefaultBodyLimit::max(16 * 1024))
        .with_state(acs)
}

async fn proof(State(acs): State<Arc<Acs>>, body: Result<Bytes, BytesRejection>) -> Response {
    let result = body
        .map_err(|e| match e {
            BytesRejection::FailedToBufferBody(_) => AcsError::TooLarge,
            other => AcsError::Malformed(other.body_text()),
        })
        .and_then(|b| {
            serde_json::from_slice::<ProofRequest>(&b)
                .map_err(|e| AcsError::Malformed(e.to_string()))
        })
        .and_then(|request| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            acs.prove(&request, now)
        });
    match result {
        Ok(r) => axum::Json(r).into_response(),
        Err(e) => e.into_response(),
    }
}
