//! The HTTP API (axum): devices under `/v1/ds/...`, peer providers under
//! `/federation/v1/ds/...`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use crosslock_wire::api::ds::{
    AckRequest, CatchUpRequest, FederatedDeliveries, ForwardedSubmission, InboxItem, InboxPage,
    PushRegistration, SubmitCommit, SubmitMessage, SubmitReport,
};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::auth::bearer;
use crate::error::DsError;
use crate::federation::ForwardedCatchUp;
use crate::service::Ds;
use crate::submit::Submitter;

type Shared = State<Arc<Ds>>;

/// How long a woken long-poll waits for more before answering.
const COALESCE: Duration = Duration::from_millis(2);

/// Most inbox items per page.
const MAX_PAGE: usize = 500;

/// The device-facing API.
pub fn router(ds: Arc<Ds>) -> Router {
    let limit = ds.config.max_body_bytes;
    Router::new()
        .route("/v1/ds/commit", post(commit))
        .route("/v1/ds/message", post(message))
        .route("/v1/ds/report", post(report))
        .route("/v1/ds/inbox", get(inbox))
        .route("/v1/ds/inbox/ack", post(ack))
        .route("/v1/ds/push", post(push))
        .route("/v1/ds/catch-up", post(catch_up))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(ds)
}

/// The provider-to-provider API. Serve it only behind mutual TLS that
/// inserts the caller's certificate (`crosslock_tls::serve` does).
pub fn federation_router(ds: Arc<Ds>) -> Router {
    let limit = ds.config.max_body_bytes;
    Router::new()
        .route("/federation/v1/ds/submit", post(federation_submit))
        .route("/federation/v1/ds/deliver", post(federation_deliver))
        .route("/federation/v1/ds/catch-up", post(federation_catch_up))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(ds)
}

/// Starts the background work: outbox pumps towards peers, the
/// once-a-second write of batched acknowledgements and the hourly
/// retention purge. Call once, inside the runtime that serves the routers.
/// Abort the handles to stop it (dropping them leaves it running).
pub fn start_background(ds: &Arc<Ds>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = ds.federation.start_pumps(ds.store.clone());
    // Acknowledgements batched in memory reach the database within a
    // second even when no other acknowledgement follows.
    let store = ds.store.clone();
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let store = store.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || store.flush()).await {
                tracing::warn!(error = %e, "writing acknowledgements failed");
            }
        }
    }));
    let ds = ds.clone();
    tasks.push(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let ds = ds.clone();
            match tokio::task::spawn_blocking(move || ds.purge(ds.env.now())).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(expired = n, "inbox messages expired"),
                Ok(Err(e)) => tracing::warn!(error = %e, "retention purge failed"),
                _ => {}
            }
        }
    }));
    tasks
}

fn json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, DsError> {
    let body = body.map_err(|r| match r {
        BytesRejection::FailedToBufferBody(_) => DsError::TooLarge,
        other => DsError::Malformed(other.body_text()),
    })?;
    serde_json::from_slice(&body).map_err(|e| DsError::Malformed(e.to_string()))
}

fn reply<T: serde::Serialize>(result: Result<T, DsError>) -> Response {
    match result {
        Ok(body) => axum::Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DsError> + Send + 'static,
) -> Result<T, DsError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DsError::Internal(e.to_string()))?
}

/// The calling device, by its bearer token.
async fn device(ds: &Arc<Ds>, headers: &HeaderMap) -> Result<Submitter, DsError> {
    let token = bearer(headers).ok_or(DsError::Unauthenticated)?.to_owned();
    let auth = ds.auth.clone();
    let device = blocking(move || auth.authenticate(&token))
        .await?
        .ok_or(DsError::Unauthenticated)?;
    Ok(Submitter { device, home: None })
}

async fn commit(
    State(ds): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let who = device(&ds, &headers).await?;
        let request: SubmitCommit = json(body)?;
        ds.submit_commit(who, request, ds.env.now()).await
    };
    reply(result.await)
}

async fn message(
    State(ds): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let who = device(&ds, &headers).await?;
        let request: SubmitMessage = json(body)?;
        ds.submit_message(who, request, ds.env.now()).await
    };
    reply(result.await)
}

async fn report(
    State(ds): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let who = device(&ds, &headers).await?;
        let request: SubmitReport = json(body)?;
        ds.submit_report(who, request, ds.env.now()).await
    };
    reply(result.await)
}

/// `GET /v1/ds/inbox` query.
#[derive(Debug, serde::Deserialize)]
struct InboxQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
    /// Long-poll: wait up to this many seconds for something to arrive.
    #[serde(default)]
    wait: u64,
    /// Acknowledge every item up to and including this position first
    /// (saves a separate `POST /v1/ds/inbox/ack` per page).
    ack_through: Option<u64>,
}

async fn inbox(
    State(ds): Shared,
    headers: HeaderMap,
    query: Result<Query<InboxQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = async {
        let who = device(&ds, &headers).await?;
        let Query(q) = query.map_err(|e| DsError::Malformed(e.body_text()))?;
        let limit = q.limit.unwrap_or(100).clamp(1, MAX_PAGE);
        if let Some(through) = q.ack_through {
            let store = ds.store.clone();
            let device = who.device.clone();
            blocking(move || store.ack_through(&device, through)).await?;
        }
        let deadline =
            tokio::time::Instant::now() + Duration::from_secs(q.wait.min(ds.config.max_wait_secs));
        loop {
            let waiter = ds.waiter(&who.device);
            let notified = waiter.notified();
            let store = ds.store.clone();
            let device = who.device.clone();
            let items = blocking(move || store.inbox(&device, q.after, limit)).await?;
            if !items.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(InboxPage {
                    items: items
                        .into_iter()
                        .map(|i| InboxItem {
                            seq: i.seq,
                            message_id: i.message_id,
                            envelope: i.envelope.into(),
                            ratchet_tree: i.ratchet_tree.map(Into::into),
                        })
                        .collect(),
                });
            }
            if tokio::time::timeout_at(deadline, notified).await.is_ok() {
                // Something arrived: give its siblings (the rest of a
                // fan-out, a burst) a moment to land in the same page.
                tokio::time::sleep(COALESCE).await;
            }
        }
    };
    reply(result.await)
}

async fn ack(
    State(ds): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let who = device(&ds, &headers).await?;
        let request: AckRequest = json(body)?;
        if request.seqs.len() > MAX_PAGE {
            return Err(DsError::Malformed(format!(
                "at most {MAX_PAGE} acknowledgements at once"
            )));
        }
        let store = ds.store.clone();
        blocking(move || store.ack(&who.device, &request.seqs)).await?;
        Ok(serde_json::json!({}))
    };
    reply(result.await)
}

async fn push(
    State(ds): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let who = device(&ds, &headers).await?;
        let request: PushRegistration = json(body)?;
        if request.token.is_empty() || request.token.len() > 4096 {
            return Err(DsError::Malformed(
                "push token must be 1 to 4096 bytes".into(),
            ));
        }
        let store = ds.store.clone();
        blocking(move || store.set_push_token(&who.device, &request.token)).await?;
        Ok(serde_json::json!({}))
    };
    reply(result.await)
}

async fn catch_up(
    State(ds): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let who = device(&ds, &headers).await?;
        let request: CatchUpRequest = json(body)?;
        ds.catch_up(who, request).await
    };
    reply(result.await)
}

// ---- federation ----------------------------------------------------------------

/// The calling peer provider, by its TLS client certificate.
fn peer(
    ds: &Ds,
    certificate: Option<axum::Extension<crosslock_tls::PeerCertificate>>,
) -> Result<String, DsError> {
    let cert = certificate
        .and_then(|axum::Extension(p)| p.0)
        .ok_or(DsError::UnknownPeer)?;
    let fingerprint: [u8; 32] = Sha256::digest(&cert).into();
    let name = ds
        .federation
        .peer_by_certificate(&fingerprint)
        .map(|p| p.name.clone())
        .ok_or(DsError::UnknownPeer)?;
    // DS-FED-6: every federation request spends the peer's own budget.
    ds.peer_rate.take(name.as_bytes())?;
    Ok(name)
}

async fn federation_submit(
    State(ds): Shared,
    certificate: Option<axum::Extension<crosslock_tls::PeerCertificate>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let peer = peer(&ds, certificate)?;
        let request: ForwardedSubmission = json(body)?;
        let who = Submitter {
            device: request.sender,
            home: Some(peer),
        };
        match (request.commit, request.message, request.report) {
            (None, None, Some(report)) => ds
                .submit_report(who, report, ds.env.now())
                .await
                .and_then(|a| {
                    serde_json::to_value(a).map_err(|e| DsError::Internal(e.to_string()))
                }),
            (Some(commit), None, None) => ds
                .submit_commit(who, commit, ds.env.now())
                .await
                .and_then(|a| {
                    serde_json::to_value(a).map_err(|e| DsError::Internal(e.to_string()))
                }),
            (None, Some(message), None) => ds
                .submit_message(who, message, ds.env.now())
                .await
                .and_then(|a| {
                    serde_json::to_value(a).map_err(|e| DsError::Internal(e.to_string()))
                }),
            _ => Err(DsError::Malformed(
                "exactly one of commit and message".into(),
            )),
        }
    };
    reply(result.await)
}

async fn federation_catch_up(
    State(ds): Shared,
    certificate: Option<axum::Extension<crosslock_tls::PeerCertificate>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let peer = peer(&ds, certificate)?;
        let request: ForwardedCatchUp = json(body)?;
        let who = Submitter {
            device: request.sender,
            home: Some(peer),
        };
        ds.catch_up(who, request.request).await
    };
    reply(result.await)
}

async fn federation_deliver(
    State(ds): Shared,
    certificate: Option<axum::Extension<crosslock_tls::PeerCertificate>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let peer = peer(&ds, certificate)?;
        let request: FederatedDeliveries = json(body)?;
        let woken = ds.deliver_from_peer(peer, request, ds.env.now()).await?;
        ds.notify(woken);
        Ok(serde_json::json!({}))
    };
    reply(result.await)
}
