//! The content server: where blobs and their metadata live.
//!
//! Layout under its directory:
//! - `blobs/<id>`: one file per stored blob, `<id>` 16 random bytes in hex
//!   (never anything the client sent);
//! - `tmp/<id>.part`: uploads in progress;
//! - `content.sqlite3`: the metadata (see `store`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crosslock_profile::Environment;

use crate::auth::DeviceAuth;
use crate::error::DsError;
use crate::ratelimit::Buckets;

use super::config::ContentConfig;
use super::store::Files;

/// Stores encrypted file blobs behind capability tokens (RCC.16 file
/// transfer, server side). Serve it with [`super::content_router`].
#[derive(Debug)]
pub struct ContentServer {
    pub(super) config: ContentConfig,
    pub(super) auth: Arc<dyn DeviceAuth>,
    /// Upload and expiry times; blob ids and capability tokens.
    pub(super) env: Environment,
    pub(super) files: Arc<Files>,
    pub(super) uploads: Buckets,
    pub(super) blobs: PathBuf,
    pub(super) tmp: PathBuf,
}

impl ContentServer {
    /// Opens (creating) the content store in `dir`; uploads authenticate
    /// devices with `auth`; time, blob ids and tokens come from `env`.
    /// Blobs left without metadata by a crash between storing a blob and
    /// recording it are deleted.
    pub fn open(
        dir: &Path,
        config: ContentConfig,
        auth: Arc<dyn DeviceAuth>,
        env: Environment,
    ) -> Result<Self, DsError> {
        let blobs = dir.join("blobs");
        let tmp = dir.join("tmp");
        for d in [&blobs, &tmp] {
            std::fs::create_dir_all(d).map_err(|e| storage("create", d, e))?;
        }
        let server = ContentServer {
            files: Arc::new(Files::open(&dir.join("content.sqlite3"))?),
            uploads: Buckets::new(config.upload_rate, env.clock.clone()),
            config,
            auth,
            env,
            blobs,
            tmp,
        };
        server.remove_orphans()?;
        Ok(server)
    }

    /// The configuration.
    pub fn config(&self) -> &ContentConfig {
        &self.config
    }

    /// The path of blob `id`.
    pub(super) fn blob_path(&self, id: &str) -> PathBuf {
        self.blobs.join(id)
    }

    /// Deletes blobs that have no metadata row.
    fn remove_orphans(&self) -> Result<(), DsError> {
        let entries =
            std::fs::read_dir(&self.blobs).map_err(|e| storage("list", &self.blobs, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| storage("list", &self.blobs, e))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().filter(|n| is_id(n)) else {
                continue;
            };
            if !self.files.exists(id)? {
                tracing::warn!(blob = id, "removing a blob without metadata");
                remove_if_present(&entry.path())?;
            }
        }
        Ok(())
    }
}

/// A fresh blob id: 16 random bytes in hex.
pub(super) fn new_id(env: &Environment) -> String {
    hex::encode(env.random::<16>())
}

/// Whether `name` has the form of a blob id.
pub(super) fn is_id(name: &str) -> bool {
    name.len() == 32 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Deletes `path`; a file that is already gone is fine.
pub(super) fn remove_if_present(path: &Path) -> Result<(), DsError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(storage("remove", path, e)),
    }
}

/// A storage error about `path` (named by its last component only: the
/// message reaches the client).
pub(super) fn storage(what: &str, path: &Path, e: std::io::Error) -> DsError {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    match DsError::from(&e) {
        DsError::StorageFull => DsError::StorageFull,
        _ => DsError::Storage(format!("{what} {name}: {e}")),
    }
}
