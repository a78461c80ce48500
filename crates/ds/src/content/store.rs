//! File metadata in SQLite (WAL, `synchronous=FULL`): which blob a
//! capability opens, until when. The blob's bytes live in a file of their
//! own, named by the row's random id.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::DsError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    sha256 BLOB NOT NULL,
    uploader TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_by_expiry ON files (expires_at);
";

/// One stored file.
#[derive(Debug, Clone)]
pub(super) struct FileRow {
    /// Random id, also the blob's file name.
    pub(super) id: String,
    /// SHA-256 of the capability token.
    pub(super) token_hash: [u8; 32],
    pub(super) size: u64,
    /// SHA-256 of the blob.
    pub(super) sha256: [u8; 32],
    /// The uploading device (`number#device`).
    pub(super) uploader: String,
    pub(super) created_at: u64,
    pub(super) expires_at: u64,
}

/// The metadata table.
#[derive(Debug)]
pub(super) struct Files {
    conn: Mutex<Connection>,
}

impl Files {
    /// Opens (creating) the database at `path`.
    pub(super) fn open(path: &Path) -> Result<Self, DsError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Files {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a file whose blob is already durable.
    pub(super) fn insert(&self, row: &FileRow) -> Result<(), DsError> {
        self.conn().execute(
            "INSERT INTO files (id, token_hash, size, sha256, uploader, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                row.id,
                row.token_hash,
                row.size,
                row.sha256,
                row.uploader,
                row.created_at,
                row.expires_at
            ],
        )?;
        Ok(())
    }

    /// The id and size of the file `token_hash` opens, unless it expired
    /// by `now`.
    pub(super) fn find(
        &self,
        token_hash: &[u8; 32],
        now: u64,
    ) -> Result<Option<(String, u64)>, DsError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, size FROM files WHERE token_hash = ?1 AND expires_at > ?2",
                params![token_hash, now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Up to `limit` ids of files expired by `now`.
    pub(super) fn expired(&self, now: u64, limit: usize) -> Result<Vec<String>, DsError> {
        let conn = self.conn();
        let mut statement =
            conn.prepare_cached("SELECT id FROM files WHERE expires_at <= ?1 LIMIT ?2")?;
        let ids = statement
            .query_map(params![now, limit], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// Whether a row with this id exists.
    pub(super) fn exists(&self, id: &str) -> Result<bool, DsError> {
        Ok(self
            .conn()
            .query_row("SELECT 1 FROM files WHERE id = ?1", [id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Forgets a file.
    pub(super) fn remove(&self, id: &str) -> Result<(), DsError> {
        self.conn()
            .execute("DELETE FROM files WHERE id = ?1", [id])?;
        Ok(())
    }
}
