//! The KDS's one error type, and how it becomes an HTTP answer.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use crosslock_credential::CredentialError;
use crosslock_wire::api::ErrorBody;

/// Why a request was refused, or what broke. Every variant maps to an HTTP
/// status and a stable machine-readable reason (`ErrorBody::error`).
#[derive(Debug, thiserror::Error)]
pub enum KdsError {
    // ---- the caller sent something bad (4xx) --------------------------------
    /// The body is not the expected JSON.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The body is larger than allowed.
    #[error("request body too large")]
    TooLarge,
    /// No or an unknown bearer token.
    #[error("missing or unknown device token")]
    Unauthenticated,
    /// The admin token is wrong.
    #[error("admin token required")]
    Forbidden,
    /// The enrollment nonce is unknown, used or expired.
    #[error("enrollment nonce is unknown, already used or expired; ask for a new one")]
    BadNonce,
    /// The carrier proof was refused.
    #[error("carrier proof refused: {0}")]
    CarrierProof(String),
    /// The carrier proof names another KDS as the number's home.
    #[error("carrier proof is for another home KDS ({0})")]
    WrongHome(String),
    /// The carrier proof verifies, but under a carrier that is not
    /// authoritative for numbers homed here (e.g. a peer provider's).
    #[error(
        "the carrier proof is signed by a carrier that is not authoritative for numbers homed here; get the proof from your own carrier"
    )]
    CarrierNotAuthoritative,
    /// The numbering plan homes the number at another provider (or none).
    #[error("this number is not homed at this provider; enrol at the number's home provider")]
    NotHomedHere,
    /// The device id is enrolled under another number.
    #[error(
        "this device id belongs to a device of another number; generate a new device id and enrol again"
    )]
    DeviceIdTaken,
    /// Re-enrolling a device id needs the device's current token.
    #[error(
        "this device id is enrolled already; re-enrol it with its current device token as bearer (Authorization: Bearer ...), or enrol as a new device"
    )]
    DeviceProofRequired,
    /// The number has as many active devices as allowed.
    #[error(
        "this number has {0} active devices, the most allowed; revoke one (POST /v1/revoke from it) or enrol with replace_existing"
    )]
    TooManyDevices(usize),
    /// The carrier proof has enrolled as many devices as allowed.
    #[error(
        "this carrier proof has already enrolled {0} device(s), the most allowed; ask your carrier for a new proof"
    )]
    ProofUsedUp(u32),
    /// A CSR was refused, or its key is not one the carrier proof names.
    #[error("certification request refused: {0}")]
    Csr(String),
    /// The attestation was refused.
    #[error("device attestation refused: {0}")]
    Attestation(String),
    /// Attestation is required by policy and was not given.
    #[error("device attestation is required by this provider")]
    AttestationRequired,
    /// A KeyPackage was refused.
    #[error("key package refused: {0}")]
    KeyPackage(String),
    /// Too many KeyPackages stored for the device.
    #[error("too many key packages for this device (maximum {0} per suite)")]
    TooManyKeyPackages(usize),
    /// The number is not a valid E.164 number.
    #[error("invalid number: {0}")]
    InvalidNumber(String),
    /// No device is enrolled for the number (here or at a known peer).
    #[error("no device is enrolled for this number")]
    UnknownNumber,
    /// The requester exceeded the claim rate for this target.
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the next request is allowed.
        retry_after_secs: u64,
    },
    /// The device was revoked.
    #[error("device is revoked")]
    Revoked,
    /// The caller is not a configured peer provider.
    #[error("unknown peer provider")]
    UnknownPeer,
    /// A device asked for another number's key history.
    #[error("a device may only fetch its own number's key history")]
    NotYourNumber,
    /// The number's devices are not in the key-transparency directory yet
    /// (enrolled since the last epoch).
    #[error(
        "the number's keys are not published in the key-transparency directory yet; retry after {retry_after_secs} s"
    )]
    NotYetPublished {
        /// When the next epoch is due.
        retry_after_secs: u64,
    },
    /// This KDS runs no key-transparency directory.
    #[error("this KDS runs no key-transparency directory")]
    NoTransparency,
    // ---- the number's home provider failed (5xx) -------------------------------
    /// A peer provider did not answer usefully.
    #[error("peer provider failed: {0}")]
    Peer(String),
    // ---- internal (5xx) ----------------------------------------------------------
    /// The data dir is full: nothing was stored.
    #[error("the provider's storage is full; nothing was stored, retry later")]
    StorageFull,
    /// Storage failed.
    #[error("storage failure: {0}")]
    Storage(String),
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl KdsError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        use KdsError::*;
        match self {
            Malformed(_) | InvalidNumber(_) | Csr(_) | KeyPackage(_) => StatusCode::BAD_REQUEST,
            TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Unauthenticated => StatusCode::UNAUTHORIZED,
            Forbidden
            | CarrierProof(_)
            | WrongHome(_)
            | Attestation(_)
            | AttestationRequired
            | Revoked
            | UnknownPeer
            | NotYourNumber
            | CarrierNotAuthoritative
            | NotHomedHere
            | DeviceIdTaken
            | DeviceProofRequired => StatusCode::FORBIDDEN,
            TooManyDevices(_) | ProofUsedUp(_) => StatusCode::CONFLICT,
            NotYetPublished { .. } => StatusCode::SERVICE_UNAVAILABLE,
            NoTransparency => StatusCode::NOT_FOUND,
            BadNonce => StatusCode::CONFLICT,
            TooManyKeyPackages(_) => StatusCode::CONFLICT,
            UnknownNumber => StatusCode::NOT_FOUND,
            RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Peer(_) => StatusCode::BAD_GATEWAY,
            StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            Storage(_) | Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable reason.
    pub fn reason(&self) -> &'static str {
        use KdsError::*;
        match self {
            Malformed(_) => "malformed-request",
            TooLarge => "too-large",
            Unauthenticated => "unauthenticated",
            Forbidden => "forbidden",
            BadNonce => "bad-nonce",
            CarrierProof(_) => "carrier-proof-refused",
            WrongHome(_) => "wrong-home-kds",
            CarrierNotAuthoritative => "carrier-not-authoritative",
            NotHomedHere => "not-homed-here",
            DeviceIdTaken => "device-id-taken",
            DeviceProofRequired => "device-proof-required",
            TooManyDevices(_) => "too-many-devices",
            ProofUsedUp(_) => "carrier-proof-used-up",
            Csr(_) => "csr-refused",
            Attestation(_) => "attestation-refused",
            AttestationRequired => "attestation-required",
            KeyPackage(_) => "key-package-refused",
            TooManyKeyPackages(_) => "too-many-key-packages",
            InvalidNumber(_) => "invalid-number",
            UnknownNumber => "unknown-number",
            RateLimited { .. } => "rate-limited",
            Revoked => "revoked",
            UnknownPeer => "unknown-peer",
            NotYourNumber => "not-your-number",
            NotYetPublished { .. } => "kt-not-yet-published",
            NoTransparency => "kt-not-available",
            Peer(_) => "peer-failed",
            StorageFull => "storage-full",
            Storage(_) => "storage-failure",
            Internal(_) => "internal-error",
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        // A storage or internal failure's text is the database's (table
        // names, a server's message): it stays in the operator's log
        // (`into_response`) and never reaches the caller.
        let message = match self {
            KdsError::Storage(_) | KdsError::Internal(_) => {
                "the key directory failed; try again later (the operator's log has the details)"
                    .to_owned()
            }
            other => other.to_string(),
        };
        ErrorBody {
            error: self.reason().to_owned(),
            message,
        }
    }
}

impl IntoResponse for KdsError {
    fn into_response(self) -> Response {
        if matches!(
            self,
            KdsError::Storage(_) | KdsError::StorageFull | KdsError::Internal(_)
        ) {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if matches!(self, KdsError::StorageFull) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("30"),
            );
        }
        if let KdsError::RateLimited { retry_after_secs }
        | KdsError::NotYetPublished { retry_after_secs } = self
            && let Ok(v) = retry_after_secs.to_string().parse()
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        response
    }
}

impl From<rusqlite::Error> for KdsError {
    fn from(e: rusqlite::Error) -> Self {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
            return KdsError::StorageFull;
        }
        KdsError::Storage(e.to_string())
    }
}

impl From<CredentialError> for KdsError {
    fn from(e: CredentialError) -> Self {
        match e {
            CredentialError::CarrierProof(m) => KdsError::CarrierProof(m),
            CredentialError::Csr(m) => KdsError::Csr(m),
            CredentialError::InvalidNumber(n) => KdsError::InvalidNumber(n.to_string()),
            other => KdsError::Internal(other.to_string()),
        }
    }
}

impl From<crosslock_kt::server::KtServerError> for KdsError {
    fn from(e: crosslock_kt::server::KtServerError) -> Self {
        match e {
            crosslock_kt::server::KtServerError::UnknownNumber => KdsError::UnknownNumber,
            other => KdsError::Internal(format!("key transparency: {other}")),
        }
    }
}

#[cfg(feature = "postgres")]
impl From<crosslock_pg::sqlx::Error> for KdsError {
    fn from(e: crosslock_pg::sqlx::Error) -> Self {
        if crosslock_pg::is_disk_full(&e) {
            return KdsError::StorageFull;
        }
        KdsError::Storage(e.to_string())
    }
}

#[cfg(feature = "postgres")]
impl From<crosslock_pg::Error> for KdsError {
    fn from(e: crosslock_pg::Error) -> Self {
        match e {
            crosslock_pg::Error::Query(e) => e.into(),
            other => KdsError::Storage(other.to_string()),
        }
    }
}

#[cfg(test)]
mod body_tests {
    use super::*;

    /// A database's own words (a table, a server's message) never reach
    /// the caller; the stable reason token does.
    #[test]
    fn a_storage_failure_keeps_its_text_in_the_log() {
        for e in [
            KdsError::Storage("relation \"secret_table\" does not exist".into()),
            KdsError::Internal("pool at 10.0.0.7 refused".into()),
        ] {
            let body = e.body();
            assert!(!body.message.contains("secret_table"), "{}", body.message);
            assert!(!body.message.contains("10.0.0.7"), "{}", body.message);
            assert_eq!(body.error, e.reason());
        }
    }
}
