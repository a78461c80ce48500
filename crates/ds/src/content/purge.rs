//! Deleting what is no longer needed: expired files, and temporary files
//! of uploads that never finished (a crash, or a process killed mid-way).

use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::{Duration, UNIX_EPOCH};

use super::server::{ContentServer, remove_if_present, storage};
use crate::error::DsError;

/// Expired rows handled per query.
const BATCH: usize = 500;

/// Temporary files older than this (seconds) belong to no live upload.
const STRAY_TMP_SECS: u64 = 3600;

/// How often the background purge runs.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

impl ContentServer {
    /// Deletes every file expired by `now` (blob first, then its row, so a
    /// crash in between leaves a row the next purge finishes), and
    /// temporary files last written over an hour before `now`. How many
    /// files expired.
    pub fn purge(&self, now: u64) -> Result<u64, DsError> {
        let mut expired = 0;
        loop {
            let ids = self.files.expired(now, BATCH)?;
            if ids.is_empty() {
                break;
            }
            for id in ids {
                remove_if_present(&self.blob_path(&id))?;
                self.files.remove(&id)?;
                expired += 1;
            }
        }
        remove_stale(&self.tmp, now.saturating_sub(STRAY_TMP_SECS))?;
        Ok(expired)
    }

    /// Starts the hourly purge. Call once, inside the runtime that serves
    /// [`super::content_router`]; it stops when the server is dropped.
    pub fn start_background(server: &Arc<ContentServer>) {
        let server: Weak<ContentServer> = Arc::downgrade(server);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PURGE_EVERY);
            loop {
                tick.tick().await;
                let Some(server) = server.upgrade() else {
                    return;
                };
                match super::blocking(move || server.purge(server.env.now())).await {
                    Ok(n) if n > 0 => tracing::info!(expired = n, "files expired"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "file purge failed"),
                }
            }
        });
    }
}

/// Deletes the files in `dir` last modified before `before` (seconds since
/// the Unix epoch).
fn remove_stale(dir: &Path, before: u64) -> Result<(), DsError> {
    let entries = std::fs::read_dir(dir).map_err(|e| storage("list", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| storage("list", dir, e))?;
        let modified = match entry.metadata().and_then(|m| m.modified()) {
            Ok(modified) => modified,
            // An upload that just finished moved it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(storage("inspect", &entry.path(), e)),
        };
        let secs = modified
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if secs < before {
            remove_if_present(&entry.path())?;
        }
    }
    Ok(())
}
