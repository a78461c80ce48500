//! Storing an upload: stream the body to a temporary file while counting
//! and hashing it, make it durable, move it into `blobs/`, and only then
//! record it. A refused or interrupted upload leaves nothing behind.

use std::path::{Path, PathBuf};

use axum::body::Body;
use crosslock_wire::api::ds::DeviceRef;
use crosslock_wire::api::files::{FILES_PATH, UploadAnswer};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufWriter};

use super::capability::Capability;
use super::server::{ContentServer, new_id, storage};
use super::store::FileRow;
use crate::error::DsError;

/// Write buffer between the request body and the temporary file.
const WRITE_BUFFER: usize = 256 * 1024;

/// Deletes a file when dropped (a refused upload, an error, or a client
/// that went away mid-upload), unless disarmed.
#[derive(Debug)]
struct Cleanup(Option<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl ContentServer {
    /// Stores `body` as a new file uploaded by `device` at `now`.
    /// `declared` is the request's `Content-Length`, if any: a body
    /// announced as too large is refused before reading it.
    pub(super) async fn save(
        &self,
        device: &DeviceRef,
        declared: Option<u64>,
        body: Body,
        now: u64,
    ) -> Result<UploadAnswer, DsError> {
        let max = self.config.max_file_bytes;
        if declared.is_some_and(|n| n > max) {
            return Err(DsError::TooLarge);
        }
        let id = new_id(&self.env);
        let tmp = self.tmp.join(format!("{id}.part"));
        let mut cleanup = Cleanup(Some(tmp.clone()));
        let (size, sha256) = receive(&tmp, body, max).await?;
        if size == 0 {
            return Err(DsError::Malformed("empty file".into()));
        }

        let blob = self.blob_path(&id);
        tokio::fs::rename(&tmp, &blob)
            .await
            .map_err(|e| storage("rename", &tmp, e))?;
        cleanup.0 = Some(blob);
        sync_dir(self.blobs.clone()).await?;

        let token = Capability::random(&self.env);
        let row = FileRow {
            id,
            token_hash: token.hash(),
            size,
            sha256,
            uploader: format!("{}#{}", device.number, device.device),
            created_at: now,
            expires_at: now.saturating_add(self.config.expiry_secs),
        };
        let files = self.files.clone();
        let expires_at = row.expires_at;
        super::blocking(move || files.insert(&row)).await?;
        cleanup.0 = None;

        let base = self.config.public_base_url.trim_end_matches('/');
        Ok(UploadAnswer {
            url: format!("{base}{FILES_PATH}/{}", token.encode()),
            expires_at,
            size,
            sha256: sha256.to_vec().into(),
        })
    }
}

/// Streams `body` into a new file at `path` and syncs it; its size and
/// SHA-256. More than `max` bytes is [`DsError::TooLarge`].
async fn receive(path: &Path, body: Body, max: u64) -> Result<(u64, [u8; 32]), DsError> {
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await
        .map_err(|e| storage("create", path, e))?;
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| DsError::Malformed(format!("upload interrupted: {e}")))?;
        size = size.saturating_add(chunk.len() as u64);
        if size > max {
            return Err(DsError::TooLarge);
        }
        hasher.update(&chunk);
        out.write_all(&chunk)
            .await
            .map_err(|e| storage("write", path, e))?;
    }
    out.flush().await.map_err(|e| storage("write", path, e))?;
    out.into_inner()
        .sync_all()
        .await
        .map_err(|e| storage("sync", path, e))?;
    Ok((size, hasher.finalize().into()))
}

/// Makes a rename into `dir` durable.
async fn sync_dir(dir: PathBuf) -> Result<(), DsError> {
    super::blocking(move || {
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| storage("sync", &dir, e))
    })
    .await
}
