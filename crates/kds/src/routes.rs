//! The HTTP API (axum). Handlers parse and authenticate, then run the
//! blocking work (SQLite, signatures) off the async threads.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use crosslock_wire::api::B64;
use crosslock_wire::api::kds::{
    ClaimRequest, EnrollRequest, KdsInfo, RevokeRequest, RevokedList, UploadKeyPackages,
};
use crosslock_wire::api::kt::NumberRequest;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::claim::Requester;
use crate::error::KdsError;
use crate::federation::REQUESTER_HEADER;
use crate::service::Kds;
use crate::store::DeviceRecord;

type Shared = State<Arc<Kds>>;

/// The device-facing API.
pub fn router(kds: Arc<Kds>) -> Router {
    let limit = kds.config.max_body_bytes;
    let public_kt = kds
        .kt
        .clone()
        .map(crosslock_kt::server::public_router)
        .unwrap_or_default();
    Router::new()
        .route("/v1/info", get(info))
        .route("/v1/kt/lookup", post(kt_lookup))
        .route("/v1/kt/history", post(kt_history))
        .route("/v1/enrollment/nonce", post(nonce))
        .route("/v1/enrollment", post(enroll))
        .route("/v1/keypackages", post(upload))
        .route("/v1/keypackages/stock", get(stock))
        .route("/v1/claim", post(claim))
        .route("/v1/revoke", post(revoke_self))
        .route("/v1/revoked", get(revoked))
        .route("/admin/v1/revoke", post(revoke_admin))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(kds)
        .merge(public_kt)
}

/// The provider-to-provider API. Serve it only behind mutual TLS that
/// inserts the caller's certificate (`crosslock_tls::serve` does).
pub fn federation_router(kds: Arc<Kds>) -> Router {
    let limit = kds.config.max_body_bytes;
    Router::new()
        .route("/federation/v1/claim", post(federation_claim))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(kds)
}

fn json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, KdsError> {
    let body = body.map_err(|r| match r {
        BytesRejection::FailedToBufferBody(_) => KdsError::TooLarge,
        other => KdsError::Malformed(other.body_text()),
    })?;
    serde_json::from_slice(&body).map_err(|e| KdsError::Malformed(e.to_string()))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KdsError> + Send + 'static,
) -> Result<T, KdsError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| KdsError::Internal(e.to_string()))?
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// The calling device, by its bearer token.
async fn device(
    kds: &Arc<Kds>,
    headers: &HeaderMap,
    allow_revoked: bool,
) -> Result<DeviceRecord, KdsError> {
    // KDS-AUTH-1: the bearer token of an enrolled device, not revoked unless allowed (KDS-KT-2).
    let token = bearer(headers).ok_or(KdsError::Unauthenticated)?;
    let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let kds = kds.clone();
    let device = blocking(move || kds.store.device_by_token(&hash))
        .await?
        .ok_or(KdsError::Unauthenticated)?;
    if device.revoked_at.is_some() && !allow_revoked {
        return Err(KdsError::Revoked);
    }
    Ok(device)
}

fn reply<T: serde::Serialize>(result: Result<T, KdsError>) -> Response {
    match result {
        Ok(body) => axum::Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn info(State(kds): Shared) -> Response {
    reply(Ok(KdsInfo {
        kds_id: kds.config.kds_id.clone(),
        credential_root: B64(kds.config.ca.certificate().to_vec()),
    }))
}

async fn nonce(State(kds): Shared) -> Response {
    reply(blocking(move || kds.new_nonce(kds.now())).await)
}

/// `POST /v1/enrollment`; a bearer token, when given, is the current token
/// of the device id being re-enrolled (KDS-ENR-8).
async fn enroll(
    State(kds): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request: EnrollRequest = match json(body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let token = bearer(&headers).map(str::to_owned);
    reply(blocking(move || kds.enroll_device(request, token.as_deref(), kds.now())).await)
}

async fn upload(
    State(kds): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let upload: UploadKeyPackages = json(body)?;
        let device = device(&kds, &headers, false).await?;
        blocking(move || kds.upload_key_packages(&device, upload, kds.now())).await
    };
    reply(result.await)
}

async fn stock(State(kds): Shared, headers: HeaderMap) -> Response {
    let result = async {
        let device = device(&kds, &headers, false).await?;
        blocking(move || kds.stock(&device, kds.now())).await
    };
    reply(result.await)
}

async fn claim(
    State(kds): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let request: ClaimRequest = json(body)?;
        let device = device(&kds, &headers, false).await?;
        kds.claim(
            Requester::Device(device.device_id),
            &request.number,
            kds.now(),
        )
        .await
    };
    reply(result.await)
}

async fn kt_lookup(
    State(kds): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let request: NumberRequest = json(body)?;
        let device = device(&kds, &headers, false).await?;
        kds.lookup_for(&device, &request.number, kds.now()).await
    };
    reply(result.await)
}

async fn kt_history(
    State(kds): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let request: NumberRequest = json(body)?;
        // KDS-KT-2: a revoked device still reads its own number's history,
        // so it can tell its user who took the number over.
        let device = device(&kds, &headers, true).await?;
        kds.history_for(&device, &request.number).await
    };
    reply(result.await)
}

async fn revoke_self(State(kds): Shared, headers: HeaderMap) -> Response {
    let result = async {
        let device = device(&kds, &headers, true).await?;
        blocking(move || kds.store.revoke(Some(&device.device_id), None, kds.now())).await
    };
    reply(result.await.map(|n| serde_json::json!({ "revoked": n })))
}

#[derive(serde::Deserialize)]
struct Since {
    #[serde(default)]
    since: u64,
}

async fn revoked(
    State(kds): Shared,
    headers: HeaderMap,
    since: Result<Query<Since>, QueryRejection>,
) -> Response {
    // KDS-REV-1: the list is public, like a CRL: the devices of every
    // provider whose users meet ours fetch it (CRED-REV-2); serials say
    // nothing about numbers.
    let _ = headers;
    let result = async {
        let Query(since) = since.map_err(|e| KdsError::Malformed(e.body_text()))?;
        let as_of = kds.now();
        let serials = blocking(move || kds.store.revoked_since(since.since)).await?;
        Ok(RevokedList { serials, as_of })
    };
    reply(result.await)
}

async fn revoke_admin(
    State(kds): Shared,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let expected = kds
            .config
            .admin_token
            .as_deref()
            .ok_or(KdsError::Forbidden)?;
        let given = bearer(&headers).ok_or(KdsError::Forbidden)?;
        let equal = Sha256::digest(expected.as_bytes()) == Sha256::digest(given.as_bytes());
        if !equal {
            return Err(KdsError::Forbidden);
        }
        let request: RevokeRequest = json(body)?;
        let number = match &request.number {
            Some(n) => Some(
                crosslock_credential::PhoneNumber::parse(n)
                    .map_err(|e| KdsError::InvalidNumber(e.to_string()))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        if request.device_id.is_none() && number.is_none() {
            return Err(KdsError::Malformed("name a device_id or a number".into()));
        }
        let device_id = request.device_id.clone();
        blocking(move || {
            kds.store
                .revoke(device_id.as_deref(), number.as_deref(), kds.now())
        })
        .await
    };
    reply(result.await.map(|n| serde_json::json!({ "revoked": n })))
}

async fn federation_claim(
    State(kds): Shared,
    peer: Option<axum::Extension<crosslock_tls::PeerCertificate>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        // KDS-FED-1: a TLS client certificate pinned for a configured peer.
        let cert = peer
            .and_then(|axum::Extension(p)| p.0)
            .ok_or(KdsError::UnknownPeer)?;
        let fingerprint: [u8; 32] = Sha256::digest(&cert).into();
        let peer = kds
            .config
            .peers
            .iter()
            .find(|p| p.client_cert_sha256 == fingerprint)
            .ok_or(KdsError::UnknownPeer)?;
        let on_behalf_of = headers
            .get(REQUESTER_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| {
                KdsError::Malformed(format!("{REQUESTER_HEADER} must be 64 hex digits"))
            })?
            .to_owned();
        let request: ClaimRequest = json(body)?;
        let requester = Requester::Peer {
            kds_id: peer.kds_id.clone(),
            on_behalf_of,
        };
        kds.claim(requester, &request.number, kds.now()).await
    };
    reply(result.await)
}
