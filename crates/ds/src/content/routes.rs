//! The HTTP API: `POST /v1/files` for devices, `GET /v1/files/{token}` for
//! anyone holding the capability.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_LENGTH;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use crosslock_wire::api::ds::DeviceRef;
use crosslock_wire::api::files::FILES_PATH;

use super::disposition;
use super::server::ContentServer;
use crate::auth::bearer;
use crate::error::DsError;

type Shared = State<Arc<ContentServer>>;

/// The content server's API. Uploads are limited by
/// [`super::ContentConfig::max_file_bytes`] while streaming, not by
/// buffering the body.
pub fn content_router(server: Arc<ContentServer>) -> Router {
    Router::new()
        .route(FILES_PATH, post(upload))
        .route(&format!("{FILES_PATH}/{{token}}"), get(download))
        .layer(DefaultBodyLimit::disable())
        .with_state(server)
}

async fn upload(State(server): Shared, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let device = device(&server, &headers).await?;
        disposition::check(&headers)?;
        server
            .uploads
            .take(format!("{}#{}", device.number, device.device).as_bytes())?;
        let declared = match headers.get(CONTENT_LENGTH) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| DsError::Malformed("bad Content-Length".into()))?,
            ),
        };
        server.save(&device, declared, body, server.env.now()).await
    };
    match result.await {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn download(
    State(server): Shared,
    token: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let Path(token) = token.map_err(|_| DsError::UnknownFile)?;
        server.download(&token, &headers, server.env.now()).await
    };
    result.await.unwrap_or_else(IntoResponse::into_response)
}

/// The uploading device, by its bearer token.
async fn device(server: &ContentServer, headers: &HeaderMap) -> Result<DeviceRef, DsError> {
    let token = bearer(headers).ok_or(DsError::Unauthenticated)?.to_owned();
    let auth = server.auth.clone();
    super::blocking(move || auth.authenticate(&token))
        .await?
        .ok_or(DsError::Unauthenticated)
}
