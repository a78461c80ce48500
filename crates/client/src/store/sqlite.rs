//! Device state in an encrypted SQLite file (SQLCipher).
//!
//! WAL journal and `synchronous=FULL`: a batch that [`StateStore::commit`]
//! returned from survives a kill -9 or power loss. The whole file,
//! including the WAL, is encrypted with a 256-bit key the caller supplies
//! (on a phone: wrapped by the platform key store).

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

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
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
        tx.commit().map_err(backend)
    }
}
