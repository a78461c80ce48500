//! The public, read-only half of a log's HTTP API, which the KDS mounts
//! next to its own (lookups and histories need the KDS's authentication
//! and rate limits, so the KDS serves those):
//!
//! - `GET /v1/kt/info`: directory, log key, VRF key, latest epoch;
//! - `GET /v1/kt/root`: the latest signed root with its co-signatures;
//! - `GET /v1/kt/audit?from=A&to=B`: roots A..=B and the append-only
//!   proofs between them, at most [`MAX_AUDIT_EPOCHS`] epochs per request.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crosslock_wire::api::ErrorBody;
use serde::Deserialize;

use crate::server::error::KtServerError;
use crate::server::log::KtLog;

/// Most epochs one audit request may span.
pub const MAX_AUDIT_EPOCHS: u64 = 1000;

/// The public read-only routes of `log`.
pub fn public_router(log: Arc<KtLog>) -> Router {
    Router::new()
        .route("/v1/kt/info", get(info))
        .route("/v1/kt/root", get(root))
        .route("/v1/kt/audit", get(audit))
        .with_state(log)
}

async fn info(State(log): State<Arc<KtLog>>) -> Response {
    match log.info() {
        Ok(info) => axum::Json(info).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn root(State(log): State<Arc<KtLog>>) -> Response {
    match log.latest_root() {
        Ok(Some(root)) => axum::Json(root).into_response(),
        Ok(None) => KtServerError::InvalidRange {
            from: 0,
            to: 0,
            latest: 0,
        }
        .into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct Range {
    from: u64,
    to: u64,
}

async fn audit(
    State(log): State<Arc<KtLog>>,
    range: Result<Query<Range>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(Range { from, to })) = range else {
        return error(
            StatusCode::BAD_REQUEST,
            "malformed",
            "give ?from=EPOCH&to=EPOCH".into(),
        );
    };
    if to.saturating_sub(from) >= MAX_AUDIT_EPOCHS {
        return error(
            StatusCode::BAD_REQUEST,
            "range-too-large",
            format!("at most {MAX_AUDIT_EPOCHS} epochs per request; ask in pieces"),
        );
    }
    match log.audit(from, to).await {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(e) => e.into_response(),
    }
}

fn error(status: StatusCode, reason: &str, message: String) -> Response {
    (
        status,
        axum::Json(ErrorBody {
            error: reason.to_owned(),
            message,
        }),
    )
        .into_response()
}

impl KtServerError {
    /// The HTTP status and stable reason of this error.
    pub fn status_and_reason(&self) -> (StatusCode, &'static str) {
        match self {
            KtServerError::UnknownNumber => (StatusCode::NOT_FOUND, "unknown-number"),
            KtServerError::InvalidRange { .. } => (StatusCode::NOT_FOUND, "no-such-epoch"),
            KtServerError::Kt(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.reason()),
            KtServerError::Witness(_) => (StatusCode::BAD_GATEWAY, "witness-failed"),
            KtServerError::Mismatch { .. }
            | KtServerError::Akd(_)
            | KtServerError::Sqlite { .. }
            | KtServerError::KeyFile { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for KtServerError {
    fn into_response(self) -> Response {
        let (status, reason) = self.status_and_reason();
        if status.is_server_error() {
            tracing::error!(error = %self, "key-transparency request failed");
            return error(status, reason, "internal error; see the server log".into());
        }
        error(status, reason, self.to_string())
    }
}
