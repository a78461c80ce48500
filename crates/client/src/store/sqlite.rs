//! Device state in an encrypted SQLite file (SQLCipher).
//!
//! WAL journal and `synchronous=FULL`: a batch that [`StateStore::commit`]
//! returned from survives a kill -9 or power loss. The whole file,
//! including the WAL, is encrypted with a 256-bit key the caller supplies
//! (on a phone: wrapped by the platform key store).
//!
//! Deleted secrets are erased, not just unlinked (forward secrecy on a
//! seized phone whose database key is also taken, STORE-ERASE-1/2 in
//! docs/validation-rules.md):
//! - `secure_delete` is on: SQLite overwrites a deleted or replaced row's
//!   bytes, and pages it frees, with zeros instead of leaving them in free
//!   space;
//! - the WAL still holds earlier images of those pages, and the main file
//!   holds them until a checkpoint copies the zeroed ones over: after a batch
//!   that deletes key material (prior-epoch secrets, group snapshots,
//!   KeyPackage and key-store secrets) the store checkpoints the WAL into the
//!   file and truncates it to zero bytes. Ordinary message traffic (inbox,
//!   replay ledger) does not pay for this; [`SqliteStore::erase_history`]
//!   does it on demand (for instance when the app goes to the background).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use zeroize::Zeroizing;

use super::{Entries, StateStore, StoreError, Table, Write, WriteBatch};

/// The 256-bit key of a device database.
#[derive(Clone)]
pub struct DatabaseKey(Zeroizing<[u8; 32]>);

impl DatabaseKey {
    /// Wraps raw key bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        DatabaseKey(Zeroizing::new(bytes))
    }
}

impl std::fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseKey(…)")
    }
}

/// A [`StateStore`] in an SQLCipher database file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

const SCHEMA_VERSION: i64 = 1;

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with `key`.
    pub fn open(path: &Path, key: &DatabaseKey) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(backend)?;
        Self::init(conn, key)
    }

    /// An encrypted database that lives only in memory (for tests).
    pub fn open_in_memory(key: &DatabaseKey) -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(backend)?;
        Self::init(conn, key)
    }

    fn init(conn: Connection, key: &DatabaseKey) -> Result<Self, StoreError> {
        // The raw-key form skips SQLCipher's passphrase KDF: the key is
        // already uniformly random.
        let hex_key = Zeroizing::new(format!("x'{}'", hex::encode(*key.0)));
        conn.pragma_update(None, "key", hex_key.as_str())
            .map_err(backend)?;
        // The first read tells whether the key opens the file.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|_| StoreError::WrongKeyOrNotADatabase)?;
        // STORE-ERASE-1: deleted rows are overwritten, not left in free space.
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(backend)?;
        let secure_delete: i64 = conn
            .query_row("PRAGMA secure_delete", [], |r| r.get(0))
            .map_err(backend)?;
        if secure_delete != 1 {
            return Err(StoreError::Backend(
                "this SQLite build cannot overwrite deleted data (secure_delete)".into(),
            ));
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(backend)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(backend)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(backend)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS kv (
                 t INTEGER NOT NULL,
                 k BLOB NOT NULL,
                 v BLOB NOT NULL,
                 PRIMARY KEY (t, k)
             ) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS schema (version INTEGER NOT NULL);",
        )
        .map_err(backend)?;
        let version: Option<i64> = conn
            .query_row("SELECT version FROM schema", [], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        match version {
            None => {
                conn.execute("INSERT INTO schema (version) VALUES (?1)", [SCHEMA_VERSION])
                    .map_err(backend)?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(other) => {
                return Err(StoreError::Corrupt(format!(
                    "database schema {other} is not supported (this build knows {SCHEMA_VERSION})"
                )));
            }
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    /// Copies the WAL into the database file and truncates the WAL to zero
    /// bytes, so earlier versions of rows (deleted or replaced key material)
    /// no longer exist anywhere in the files (STORE-ERASE-2). The store does
    /// this itself after every batch that deletes key material; call it to
    /// also erase replaced group snapshots and consumed messages at a
    /// convenient moment.
    ///
    /// # Errors
    /// [`StoreError::Backend`] if the checkpoint fails or cannot complete.
    pub fn erase_history(&self) -> Result<(), StoreError> {
        checkpoint_truncate(&self.conn())
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// STORE-ERASE-2: `PRAGMA wal_checkpoint(TRUNCATE)`. The store's single
/// connection is the only reader, so the checkpoint is never left busy; if
/// it were, the WAL would keep old pages, which is reported.
fn checkpoint_truncate(conn: &Connection) -> Result<(), StoreError> {
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .map_err(backend)?;
    if busy == 0 {
        Ok(())
    } else {
        Err(StoreError::Backend(
            "the WAL checkpoint could not complete (another reader holds the database)".into(),
        ))
    }
}

/// Tables whose deleted rows are key material: deleting one triggers the
/// WAL checkpoint-and-truncate (STORE-ERASE-2).
fn holds_key_material(table: Table) -> bool {
    matches!(
        table,
        Table::GroupState
            | Table::Epoch
            | Table::KeyPackage
            | Table::KeySecret
            | Table::StagedGroupState
            | Table::StagedEpoch
            | Table::GroupMetadata
    )
}

/// The smallest key greater than every key starting with `prefix`, if any.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl StateStore for SqliteStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT v FROM kv WHERE t = ?1 AND k = ?2")
            .map_err(backend)?;
        stmt.query_row(params![table as u8, key], |r| r.get(0))
            .optional()
            .map_err(backend)
    }

    fn scan(&self, table: Table, prefix: &[u8]) -> Result<Entries, StoreError> {
        let conn = self.conn();
        let rows = match prefix_end(prefix) {
            Some(end) => {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT k, v FROM kv WHERE t = ?1 AND k >= ?2 AND k < ?3 ORDER BY k",
                    )
                    .map_err(backend)?;
                stmt.query_map(params![table as u8, prefix, end], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
            }
            None => {
                let mut stmt = conn
                    .prepare_cached("SELECT k, v FROM kv WHERE t = ?1 AND k >= ?2 ORDER BY k")
                    .map_err(backend)?;
                stmt.query_map(params![table as u8, prefix], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
            }
        };
        rows.map_err(backend)
    }

    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let erases_key_material = batch
            .0
            .iter()
            .any(|w| matches!(w, Write::Delete(t, _) if holds_key_material(*t)));
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        {
            let mut put = tx
                .prepare_cached("INSERT OR REPLACE INTO kv (t, k, v) VALUES (?1, ?2, ?3)")
                .map_err(backend)?;
            let mut delete = tx
                .prepare_cached("DELETE FROM kv WHERE t = ?1 AND k = ?2")
                .map_err(backend)?;
            for write in &batch.0 {
                match write {
                    Write::Put(t, k, v) => put.execute(params![*t as u8, k, v]),
                    Write::Delete(t, k) => delete.execute(params![*t as u8, k]),
                }
                .map_err(backend)?;
            }
        }
        // Dropping `tx` on an error above rolls the whole batch back.
        tx.commit().map_err(backend)?;
        if erases_key_material {
            // The batch is durable whatever happens here; a failed
            // checkpoint leaves old pages in the WAL until the next one
            // (the next key-material deletion, `erase_history`, or SQLite's
            // own checkpoint at close), so it is logged, not returned as if
            // the batch had failed.
            if let Err(e) = checkpoint_truncate(&conn) {
                tracing::warn!(error = %e, "WAL not truncated after deleting key material");
            }
        }
        Ok(())
    }
}
