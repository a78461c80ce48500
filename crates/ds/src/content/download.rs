//! Serving a download: the capability alone opens the blob, whole or one
//! byte range of it.

use std::io::SeekFrom;

use axum::body::Body;
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, StatusCode, header::RANGE};
use axum::response::Response;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::capability::Capability;
use super::range;
use super::server::{ContentServer, storage};
use crate::error::DsError;

/// Read size while streaming a blob out.
const READ_CHUNK: usize = 64 * 1024;

/// The answer's `Content-Disposition`: downloads carry the RCC.16 name too.
const DISPOSITION: &str = "attachment; filename=\"encrypted_file\"";

impl ContentServer {
    /// The answer to `GET /v1/files/{token}` at `now`. A token that is
    /// malformed, unknown, another file's, or whose file expired is
    /// [`DsError::UnknownFile`] alike.
    pub(super) async fn download(
        &self,
        token: &str,
        headers: &HeaderMap,
        now: u64,
    ) -> Result<Response, DsError> {
        let token = Capability::parse(token).ok_or(DsError::UnknownFile)?;
        let hash = token.hash();
        let files = self.files.clone();
        let (id, size) = super::blocking(move || files.find(&hash, now))
            .await?
            .ok_or(DsError::UnknownFile)?;
        let path = self.blob_path(&id);
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            // Purged between the lookup and here.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(DsError::UnknownFile),
            Err(e) => return Err(storage("open", &path, e)),
        };

        let range = range::parse(headers.get(RANGE).map(|v| v.as_bytes()), size)?;
        let mut answer = Response::builder()
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_DISPOSITION, DISPOSITION)
            .header(ACCEPT_RANGES, "bytes")
            .header(CACHE_CONTROL, "no-store")
            .header(X_CONTENT_TYPE_OPTIONS, "nosniff");
        let (start, len) = match range {
            None => (0, size),
            Some(r) => {
                answer = answer
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header(CONTENT_RANGE, format!("bytes {}-{}/{size}", r.start, r.end));
                (r.start, r.len())
            }
        };
        if start > 0 {
            file.seek(SeekFrom::Start(start))
                .await
                .map_err(|e| storage("seek", &path, e))?;
        }
        let body = Body::from_stream(ReaderStream::with_capacity(file.take(len), READ_CHUNK));
        answer
            .header(CONTENT_LENGTH, len)
            .body(body)
            .map_err(|e| DsError::Internal(e.to_string()))
    }
}
