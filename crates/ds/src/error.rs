//! The delivery service's one error type, and how it becomes an HTTP answer.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use crosslock_wire::api::ErrorBody;
use crosslock_wire::api::ds::ServerReason;

/// Why a request was refused, or what broke. Every variant maps to an HTTP
/// status and a stable machine-readable reason (`ErrorBody::error`); a
/// refused request changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum DsError {
    // ---- the caller sent something bad (4xx) --------------------------------
    /// The body is not the expected JSON, CPIM or MLS.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The body or a message in it is larger than allowed.
    #[error("request body too large")]
    TooLarge,
    /// No or an unknown bearer token.
    #[error("missing or unknown device token")]
    Unauthenticated,
    /// The conversation's server refused a handshake or application
    /// message for an RCC.16 reason.
    #[error("{reason}: {detail}")]
    Refused {
        /// The RCC.16 server reason.
        reason: ServerReason,
        /// What exactly was wrong.
        detail: String,
    },
    /// No conversation with this group id is known here.
    #[error("unknown conversation")]
    UnknownConversation,
    /// A conversation with this group id already exists.
    #[error("a conversation with this group id already exists")]
    ConversationExists,
    /// The device is not a member of the conversation.
    #[error("the device is not a member of this conversation")]
    NotAMember,
    /// Too many requests from this device or for this conversation.
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the next request is allowed.
        retry_after_secs: u64,
    },
    /// The conversation used up its external commits for today (RCC.16:
    /// at most 50 per conversation per day).
    #[error(
        "too many external commits in this conversation today; retry after {retry_after_secs} s"
    )]
    ExternalCommitLimit {
        /// Seconds until one is allowed again.
        retry_after_secs: u64,
    },
    /// The file does not exist, expired, or the capability is wrong (not
    /// distinguished, so tokens cannot be probed).
    #[error("no such file")]
    UnknownFile,
    /// The `Range` of a download is malformed, not a single range, or lies
    /// beyond the end of the file.
    #[error("range not satisfiable")]
    RangeNotSatisfiable {
        /// The file's size, for `Content-Range: bytes */size`.
        size: u64,
    },
    /// The caller is not a configured peer provider, or the peer spoke for
    /// a device that is not homed there.
    #[error("unknown peer provider or device not homed there")]
    UnknownPeer,
    /// A peer delivered an envelope that is not a CPIM envelope carrying
    /// an MLS message or a signed receipt, or whose message id
    /// is not the delivery's (DS-FED-1).
    #[error("a delivered envelope does not parse: {0}")]
    UnparsableEnvelope(String),
    /// A peer delivered an envelope of another MLS group than the one the
    /// request names (DS-FED-2).
    #[error("a delivered envelope belongs to another group than the request names")]
    GroupMismatch,
    /// A peer named a recipient that is not a current (enrolled, not
    /// revoked) device of this provider (DS-FED-3).
    #[error("a delivery names a device that is not a current device of this provider")]
    UnknownRecipient,
    /// The peer is not the conversation's hub here: the conversation is
    /// hosted here or followed at another provider (DS-FED-4).
    #[error("the peer is not this conversation's hub")]
    NotTheHub,
    /// The conversation is unknown here and the delivery did not carry the
    /// proof that it was created at the sending hub: resend with
    /// `creation` (DS-FED-5).
    #[error("unknown conversation: resend with the proof of its creation at your provider")]
    HubUnproven,
    /// The proof of creation does not show the conversation was created
    /// by a device homed at the sending peer (DS-FED-5).
    #[error("the proof of creation is refused: {0}")]
    HubProofRefused(String),
    // ---- a peer provider failed (5xx) -------------------------------------------
    /// The conversation's hub did not answer usefully.
    #[error("peer provider failed: {0}")]
    Peer(String),
    // ---- internal (5xx) ----------------------------------------------------------
    /// The data dir is full: nothing was stored.
    #[error("the provider's storage is full; nothing was stored, retry later")]
    StorageFull,
    /// Storage failed (an I/O error).
    #[error("storage failure: {0}")]
    Storage(String),
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DsError {
    /// A refusal for an RCC.16 reason.
    pub(crate) fn refused(reason: ServerReason, detail: impl Into<String>) -> DsError {
        DsError::Refused {
            reason,
            detail: detail.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        use DsError::*;
        match self {
            Malformed(_) => StatusCode::BAD_REQUEST,
            TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Unauthenticated => StatusCode::UNAUTHORIZED,
            Refused { reason, .. } => match reason {
                ServerReason::TransientError => StatusCode::SERVICE_UNAVAILABLE,
                ServerReason::UnparsableCommit => StatusCode::BAD_REQUEST,
                _ => StatusCode::CONFLICT,
            },
            UnknownConversation | UnknownFile => StatusCode::NOT_FOUND,
            RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            ConversationExists => StatusCode::CONFLICT,
            NotAMember | UnknownPeer | UnknownRecipient | NotTheHub | HubProofRefused(_) => {
                StatusCode::FORBIDDEN
            }
            UnparsableEnvelope(_) | GroupMismatch => StatusCode::BAD_REQUEST,
            HubUnproven => StatusCode::CONFLICT,
            RateLimited { .. } | ExternalCommitLimit { .. } => StatusCode::TOO_MANY_REQUESTS,
            Peer(_) => StatusCode::BAD_GATEWAY,
            StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            Storage(_) | Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable reason (the RCC.16 token for refusals).
    pub fn reason(&self) -> &'static str {
        use DsError::*;
        match self {
            Malformed(_) => "malformed-request",
            TooLarge => "too-large",
            Unauthenticated => "unauthenticated",
            Refused { reason, .. } => reason.token(),
            UnknownConversation => "unknown-conversation",
            ConversationExists => "conversation-exists",
            NotAMember => "not-a-member",
            RateLimited { .. } => "rate-limited",
            ExternalCommitLimit { .. } => "external-commit-limit",
            UnknownFile => "unknown-file",
            RangeNotSatisfiable { .. } => "range-not-satisfiable",
            UnknownPeer => "unknown-peer",
            UnparsableEnvelope(_) => "unparsable-envelope",
            GroupMismatch => "group-mismatch",
            UnknownRecipient => "unknown-recipient",
            NotTheHub => "not-the-hub",
            HubUnproven => "hub-unproven",
            HubProofRefused(_) => "hub-proof-refused",
            Peer(_) => "peer-failed",
            StorageFull => "storage-full",
            Storage(_) => "storage-failure",
            Internal(_) => "internal-error",
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        // A storage or internal failure's text is the database's: it
        // stays in the operator's log and never reaches the caller (nor a
        // peer provider).
        let message = match self {
            DsError::Storage(_) | DsError::Internal(_) => {
                "the delivery service failed; try again later (the operator's log has the details)"
                    .to_owned()
            }
            other => other.to_string(),
        };
        ErrorBody {
            error: self.reason().to_owned(),
            message,
        }
    }

    /// Whether a peer's refusal of a federation delivery is final: the
    /// same delivery will be refused again, so retrying it only blocks
    /// what is queued behind it.
    pub(crate) fn is_final_refusal(&self) -> bool {
        matches!(
            self,
            DsError::UnparsableEnvelope(_)
                | DsError::GroupMismatch
                | DsError::UnknownRecipient
                | DsError::NotTheHub
                | DsError::HubProofRefused(_)
                | DsError::TooLarge
        )
    }

    /// Rebuilds the error a peer answered with (a hub's verdict relayed by
    /// a follower keeps its reason).
    /// Decodes a delivery service's error answer (its HTTP status and
    /// [`ErrorBody`]) back into the error it stands for.
    pub fn from_body(status: u16, body: &ErrorBody) -> DsError {
        if let Some(reason) = ServerReason::from_token(&body.error) {
            return DsError::refused(reason, body.message.clone());
        }
        match body.error.as_str() {
            "malformed-request" => DsError::Malformed(body.message.clone()),
            "too-large" => DsError::TooLarge,
            "unknown-conversation" => DsError::UnknownConversation,
            "conversation-exists" => DsError::ConversationExists,
            "not-a-member" => DsError::NotAMember,
            "rate-limited" => DsError::RateLimited {
                retry_after_secs: 1,
            },
            "external-commit-limit" => DsError::ExternalCommitLimit {
                retry_after_secs: 3600,
            },
            "storage-full" => DsError::StorageFull,
            "unparsable-envelope" => DsError::UnparsableEnvelope(body.message.clone()),
            "group-mismatch" => DsError::GroupMismatch,
            "unknown-recipient" => DsError::UnknownRecipient,
            "not-the-hub" => DsError::NotTheHub,
            "hub-unproven" => DsError::HubUnproven,
            "hub-proof-refused" => DsError::HubProofRefused(body.message.clone()),
            "storage-failure" => DsError::Storage(body.message.clone()),
            other => DsError::Peer(format!("HTTP {status}: {other}")),
        }
    }
}

impl IntoResponse for DsError {
    fn into_response(self) -> Response {
        if matches!(
            self,
            DsError::Storage(_) | DsError::StorageFull | DsError::Internal(_)
        ) {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let DsError::RateLimited { retry_after_secs }
        | DsError::ExternalCommitLimit { retry_after_secs } = self
            && let Ok(v) = retry_after_secs.to_string().parse()
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        if matches!(self, DsError::StorageFull) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(STORAGE_FULL_RETRY_AFTER),
            );
        }
        if let DsError::RangeNotSatisfiable { size } = self
            && let Ok(v) = format!("bytes */{size}").parse()
        {
            response
                .headers_mut()
                .insert(axum::http::header::CONTENT_RANGE, v);
        }
        response
    }
}

/// Seconds a client waits before retrying on a full disk.
const STORAGE_FULL_RETRY_AFTER: &str = "30";

impl From<&rusqlite::Error> for DsError {
    fn from(e: &rusqlite::Error) -> Self {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
            DsError::StorageFull
        } else {
            DsError::Storage(e.to_string())
        }
    }
}

impl From<rusqlite::Error> for DsError {
    fn from(e: rusqlite::Error) -> Self {
        DsError::from(&e)
    }
}

#[cfg(feature = "postgres")]
impl From<crosslock_pg::sqlx::Error> for DsError {
    fn from(e: crosslock_pg::sqlx::Error) -> Self {
        if crosslock_pg::is_disk_full(&e) {
            return DsError::StorageFull;
        }
        DsError::Storage(e.to_string())
    }
}

#[cfg(feature = "postgres")]
impl From<crosslock_pg::Error> for DsError {
    fn from(e: crosslock_pg::Error) -> Self {
        match e {
            crosslock_pg::Error::Query(e) => e.into(),
            other => DsError::Storage(other.to_string()),
        }
    }
}

impl From<&std::io::Error> for DsError {
    fn from(e: &std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::StorageFull
            | std::io::ErrorKind::FileTooLarge
            | std::io::ErrorKind::QuotaExceeded => DsError::StorageFull,
            _ => DsError::Storage(e.to_string()),
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
            DsError::Storage("relation \"secret_table\" does not exist".into()),
            DsError::Internal("pool at 10.0.0.7 refused".into()),
        ] {
            let body = e.body();
            assert!(!body.message.contains("secret_table"), "{}", body.message);
            assert!(!body.message.contains("10.0.0.7"), "{}", body.message);
            assert_eq!(body.error, e.reason());
        }
    }
}
