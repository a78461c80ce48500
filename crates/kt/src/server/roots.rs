//! The signed roots of a directory and their co-signatures, in their own
//! SQLite file next to the directory (`kt-roots.sqlite3`). akd keeps only
//! the latest root hash; audits, witnesses and stale-view checks need every
//! epoch's.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crosslock_wire::api::B64;
use crosslock_wire::api::kt::{Cosignature, RootStatement, SignedRoot};
use rusqlite::{Connection, OptionalExtension, params};

use crate::server::error::KtServerError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roots (
    epoch INTEGER PRIMARY KEY,
    root_hash BLOB NOT NULL,
    signed_at INTEGER NOT NULL,
    log_signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS cosignatures (
    epoch INTEGER NOT NULL,
    witness_key BLOB NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (epoch, witness_key)
) WITHOUT ROWID;
";

pub(crate) struct RootStore {
    directory: String,
    conn: Mutex<Connection>,
}

impl RootStore {
    pub(crate) fn open(path: &Path, directory: &str) -> Result<Self, KtServerError> {
        let conn = Connection::open(path).map_err(KtServerError::sqlite("open roots"))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;",
        )
        .map_err(KtServerError::sqlite("configure roots"))?;
        conn.execute_batch(SCHEMA)
            .map_err(KtServerError::sqlite("create roots schema"))?;
        Ok(RootStore {
            directory: directory.to_owned(),
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `value` under `name` the first time; later, refuses another value.
    /// Whether any identity (directory, keys) was ever bound to this file.
    pub(crate) fn has_meta(&self) -> Result<bool, KtServerError> {
        self.conn()
            .query_row("SELECT EXISTS (SELECT 1 FROM meta)", [], |r| r.get(0))
            .map_err(KtServerError::sqlite("read meta"))
    }

    pub(crate) fn bind_meta(
        &self,
        name: &str,
        value: &[u8],
        path: &Path,
    ) -> Result<(), KtServerError> {
        let conn = self.conn();
        let existing: Option<Vec<u8>> = conn
            .query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(KtServerError::sqlite("read meta"))?;
        match existing {
            Some(v) if v == value => Ok(()),
            Some(_) => Err(KtServerError::Mismatch {
                path: path.display().to_string(),
                what: format!("another {name}"),
            }),
            None => conn
                .execute(
                    "INSERT INTO meta (name, value) VALUES (?1, ?2)",
                    params![name, value],
                )
                .map(drop)
                .map_err(KtServerError::sqlite("write meta")),
        }
    }

    pub(crate) fn latest(&self) -> Result<Option<SignedRoot>, KtServerError> {
        let epoch: Option<u64> = self
            .conn()
            .query_row("SELECT MAX(epoch) FROM roots", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .map_err(KtServerError::sqlite("latest root"))?
            .map(from_sql);
        match epoch {
            Some(e) => self.get(e),
            None => Ok(None),
        }
    }

    pub(crate) fn get(&self, epoch: u64) -> Result<Option<SignedRoot>, KtServerError> {
        Ok(self.range(epoch, epoch)?.pop())
    }

    /// Roots `from..=to` that exist, in order.
    pub(crate) fn range(&self, from: u64, to: u64) -> Result<Vec<SignedRoot>, KtServerError> {
        let conn = self.conn();
        let mut roots = conn
            .prepare_cached(
                "SELECT epoch, root_hash, signed_at, log_signature FROM roots
                 WHERE epoch BETWEEN ?1 AND ?2 ORDER BY epoch",
            )
            .and_then(|mut s| {
                s.query_map(params![to_sql(from), to_sql(to)], |r| {
                    Ok(SignedRoot {
                        statement: RootStatement {
                            directory: self.directory.clone(),
                            epoch: from_sql(r.get(0)?),
                            root_hash: B64(r.get(1)?),
                            signed_at: from_sql(r.get(2)?),
                        },
                        log_signature: B64(r.get(3)?),
                        cosignatures: Vec::new(),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(KtServerError::sqlite("read roots"))?;
        let mut cosigs = conn
            .prepare_cached(
                "SELECT epoch, witness_key, signature FROM cosignatures
                 WHERE epoch BETWEEN ?1 AND ?2 ORDER BY epoch, witness_key",
            )
            .map_err(KtServerError::sqlite("read cosignatures"))?;
        let rows = cosigs
            .query_map(params![to_sql(from), to_sql(to)], |r| {
                Ok((
                    from_sql(r.get(0)?),
                    Cosignature {
                        witness_key: B64(r.get(1)?),
                        signature: B64(r.get(2)?),
                    },
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(KtServerError::sqlite("read cosignatures"))?;
        for (epoch, c) in rows {
            if let Some(root) = roots.iter_mut().find(|r| r.statement.epoch == epoch) {
                root.cosignatures.push(c);
            }
        }
        Ok(roots)
    }

    /// Stores a (re-)signed root; a re-signed epoch loses the co-signatures
    /// of its previous statement.
    pub(crate) fn put(&self, root: &SignedRoot) -> Result<(), KtServerError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(KtServerError::sqlite("begin"))?;
        tx.execute(
            "INSERT OR REPLACE INTO roots (epoch, root_hash, signed_at, log_signature) VALUES (?1, ?2, ?3, ?4)",
            params![
                to_sql(root.statement.epoch),
                root.statement.root_hash.0,
                to_sql(root.statement.signed_at),
                root.log_signature.0
            ],
        )
        .map_err(KtServerError::sqlite("write root"))?;
        tx.execute(
            "DELETE FROM cosignatures WHERE epoch = ?1",
            [to_sql(root.statement.epoch)],
        )
        .map_err(KtServerError::sqlite("clear cosignatures"))?;
        tx.commit().map_err(KtServerError::sqlite("commit root"))
    }

    /// Adds a co-signature (already checked against the stored statement).
    pub(crate) fn add_cosignature(&self, epoch: u64, c: &Cosignature) -> Result<(), KtServerError> {
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO cosignatures (epoch, witness_key, signature) VALUES (?1, ?2, ?3)",
                params![to_sql(epoch), c.witness_key.0, c.signature.0],
            )
            .map(drop)
            .map_err(KtServerError::sqlite("write cosignature"))
    }
}

/// SQLite integers are signed: epochs and times stay far below 2^63.
pub(crate) fn to_sql(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn from_sql(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
