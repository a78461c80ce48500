//! The content server: encrypted file blobs for RCC.16 file transfer.
//!
//! A device encrypts a file, uploads the ciphertext (always named
//! `encrypted_file`) and sends the returned URL with the file's keys inside
//! MLS. The URL's token is the only permission a download needs, so
//! recipients homed at other providers fetch it directly. The server sees
//! sizes, times and the uploading device, never names, keys or content.
//!
//! - [`ContentServer`]: blobs on disk, metadata in SQLite, purge;
//! - [`content_router`]: `POST /v1/files`, `GET /v1/files/{token}`;
//! - [`ContentConfig`]: size limit, expiry, upload rate, public URL.

mod capability;
mod config;
mod disposition;
mod download;
mod purge;
mod range;
mod routes;
mod server;
mod store;
mod upload;

pub use config::ContentConfig;
pub use routes::content_router;
pub use server::ContentServer;

use crate::error::DsError;

/// Runs blocking work (SQLite, directory syncs) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DsError> + Send + 'static,
) -> Result<T, DsError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DsError::Internal(e.to_string()))?
}
