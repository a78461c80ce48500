//! The SQL schema, its version row, and the settings every connection gets.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::StoreError;

/// Schema version this build reads and writes. Covers the tables below and
/// the tree-node blob layout (`codec`). A file with a newer version is
/// refused, never modified.
pub const SCHEMA_VERSION: i64 = 1;

/// `PRAGMA application_id` of a key-transparency store ("CLKT"), so the
/// file is recognisable and another application's database is refused.
const APPLICATION_ID: i32 = 0x434c_4b54;

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// WAL file size kept after a checkpoint; one large epoch grows it, this
/// shrinks it back.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Page cache per connection, in KiB (SQLite's negative `cache_size`).
/// The writer's is larger: at 100,000 labels, 64 MiB roughly halved the
/// time of an epoch commit of 10,000 updates against 16 MiB (one
/// measurement with `tests/publish_timing.rs`, on a busy 2-core machine).
pub(crate) const WRITER_CACHE_KIB: i64 = 64 * 1024;
pub(crate) const READER_CACHE_KIB: i64 = 8 * 1024;

/// Prepared statements kept per connection: the fixed point queries plus
/// the batched ones, one per (shape, chunk length).
const STATEMENT_CACHE: usize = 64;

const CREATE_V1: &str = "
CREATE TABLE kt_meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE azks (
    id           BLOB PRIMARY KEY,
    latest_epoch INTEGER NOT NULL CHECK (latest_epoch >= 0),
    num_nodes    INTEGER NOT NULL CHECK (num_nodes >= 0)
) WITHOUT ROWID;

CREATE TABLE tree_nodes (
    id   BLOB PRIMARY KEY CHECK (length(id) = 37),
    node BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE value_states (
    label          BLOB NOT NULL,
    epoch          INTEGER NOT NULL CHECK (epoch >= 0),
    version        INTEGER NOT NULL CHECK (version >= 0),
    node_label_val BLOB NOT NULL CHECK (length(node_label_val) = 32),
    node_label_len INTEGER NOT NULL,
    value          BLOB NOT NULL,
    PRIMARY KEY (label, epoch)
) WITHOUT ROWID;

CREATE INDEX value_states_by_version ON value_states (label, version, epoch);

INSERT INTO kt_meta (name, value) VALUES ('schema_version', 1);
";

/// Settings for the one connection that writes.
pub(crate) fn configure_writer(conn: &Connection, file: bool) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(StoreError::sqlite("set busy timeout"))?;
    if file {
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(StoreError::sqlite("enable WAL"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unsupported(format!(
                "write-ahead logging unavailable (journal mode {mode})"
            )));
        }
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
            .map_err(StoreError::sqlite("set journal size limit"))?;
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(StoreError::sqlite("set synchronous=FULL"))?;
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)
        .map_err(StoreError::sqlite("set cache size"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Settings for a read-only connection of a file store.
pub(crate) fn configure_reader(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(StoreError::sqlite("set busy timeout"))?;
    conn.pragma_update(None, "query_only", true)
        .map_err(StoreError::sqlite("set query_only"))?;
    conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)
        .map_err(StoreError::sqlite("set cache size"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Creates the schema in an empty file, or checks the one that is there.
/// Runs in one immediate transaction, so two processes opening a new file
/// at once cannot both create it.
pub(crate) fn prepare(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::sqlite("begin schema check"))?;
    let application_id: i32 = tx
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(StoreError::sqlite("read application id"))?;
    let has_meta: bool = tx
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'kt_meta'",
            [],
            |row| row.get(0),
        )
        .map_err(StoreError::sqlite("look for the schema"))?;

    if has_meta {
        if application_id != APPLICATION_ID {
            return Err(StoreError::ForeignDatabase("another application id"));
        }
        let version: Option<i64> = tx
            .query_row(
                "SELECT value FROM kt_meta WHERE name = 'schema_version'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(StoreError::sqlite("read schema version"))?;
        match version {
            Some(SCHEMA_VERSION) => {}
            Some(found) if found > SCHEMA_VERSION => {
                return Err(StoreError::NewerSchema {
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
            _ => return Err(StoreError::ForeignDatabase("no valid schema version row")),
        }
    } else {
        if application_id != 0 {
            return Err(StoreError::ForeignDatabase("another application id"));
        }
        let other_objects: i64 = tx
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                [],
                |row| row.get(0),
            )
            .map_err(StoreError::sqlite("inspect the file"))?;
        if other_objects > 0 {
            return Err(StoreError::ForeignDatabase(
                "holds tables but no key-transparency schema",
            ));
        }
        tx.execute_batch(CREATE_V1)
            .map_err(StoreError::sqlite("create schema"))?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(StoreError::sqlite("set application id"))?;
    }
    tx.commit().map_err(StoreError::sqlite("commit schema"))
}
