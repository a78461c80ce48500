//! The SQL behind each `Database` method of [`PgDatabase`](super::PgDatabase).
//! Every lookup is an index seek; batches travel as arrays, not one
//! statement per key.

use std::collections::BTreeMap;

use akd::errors::StorageError;
use akd::storage::types::{DbRecord, StorageType, ValueState, ValueStateRetrievalFlag};
use crosslock_pg::sqlx::postgres::{PgConnection, PgPool};
use crosslock_pg::sqlx::{self, Row as _};
use crosslock_pg::{is_disk_full, retry};

use crate::codec::{self, Malformed};
use crate::error::malformed;
use crate::queries::{RawState, azks, int, node_label_from_id, state_key_from_id, tree_node};

/// Rows per `INSERT … SELECT FROM UNNEST(…)` of an epoch commit: a few MB
/// of parameters per statement, a handful of statements per epoch.
pub const WRITE_CHUNK: usize = 8192;

/// Keys per batched lookup statement. A batch of more is read in one
/// repeatable-read snapshot.
pub const READ_CHUNK: usize = 8192;

const UPSERT_AZKS: &str = "INSERT INTO azks (id, latest_epoch, num_nodes) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET latest_epoch = excluded.latest_epoch,
                                    num_nodes = excluded.num_nodes";
const UPSERT_NODES: &str = "INSERT INTO tree_nodes (id, node)
     SELECT * FROM UNNEST($1::bytea[], $2::bytea[])
     ON CONFLICT (id) DO UPDATE SET node = excluded.node";
const UPSERT_STATES: &str =
    "INSERT INTO value_states (label, epoch, version, node_label_val, node_label_len, value)
     SELECT * FROM UNNEST($1::bytea[], $2::int8[], $3::int8[], $4::bytea[], $5::int8[], $6::bytea[])
     ON CONFLICT (label, epoch) DO UPDATE SET version = excluded.version,
         node_label_val = excluded.node_label_val, node_label_len = excluded.node_label_len,
         value = excluded.value";

/// The `value_states` columns `raw_state` reads, for a table aliased `s`.
macro_rules! state_columns {
    () => {
        "s.label, s.epoch, s.version, s.node_label_val, s.node_label_len, s.value"
    };
}

pub(crate) const AZKS_BY_ID: &str = "SELECT latest_epoch, num_nodes FROM azks WHERE id = $1";
pub(crate) const NODE_BY_ID: &str = "SELECT node FROM tree_nodes WHERE id = $1";
pub(crate) const NODES_BY_IDS: &str = "SELECT id, node FROM tree_nodes WHERE id = ANY($1)";
pub(crate) const STATE_BY_KEY: &str = concat!(
    "SELECT ",
    state_columns!(),
    " FROM value_states AS s WHERE s.label = $1 AND s.epoch = $2"
);
pub(crate) const STATES_BY_KEYS: &str = concat!(
    "SELECT ",
    state_columns!(),
    " FROM UNNEST($1::bytea[], $2::int8[]) AS q(l, e)
      JOIN value_states AS s ON s.label = q.l AND s.epoch = q.e"
);
pub(crate) const USER_DATA: &str = concat!(
    "SELECT ",
    state_columns!(),
    " FROM value_states AS s WHERE s.label = $1 ORDER BY s.epoch"
);

/// One state per label of the array `$1`: the one the retrieval flag
/// selects, found by one descent of an index per label (`LATERAL … LIMIT 1`).
macro_rules! user_states {
    ($pick:literal) => {
        concat!(
            "SELECT ",
            state_columns!(),
            " FROM UNNEST($1::bytea[]) AS q(l) CROSS JOIN LATERAL
              (SELECT * FROM value_states WHERE label = q.l ",
            $pick,
            " LIMIT 1) AS s"
        )
    };
}
pub(crate) const LATEST: &str = user_states!("ORDER BY epoch DESC");
pub(crate) const EARLIEST: &str = user_states!("ORDER BY epoch ASC");
pub(crate) const AT_EPOCH: &str = user_states!("AND epoch = $2");
pub(crate) const AT_OR_BEFORE: &str = user_states!("AND epoch <= $2 ORDER BY epoch DESC");
// Versions are unique per label in akd; should one repeat, the earliest
// epoch wins, as in akd's in-memory store and the SQLite store.
pub(crate) const WITH_VERSION: &str =
    user_states!("AND version = $2 ORDER BY version ASC, epoch ASC");

// ---------------------------------------------------------------- writes --

/// An epoch's records as column arrays, each table sorted by key with one
/// row per key (the batch's last write of a key wins, as when the records
/// are applied in order).
pub(crate) struct Rows {
    azks: Vec<(Vec<u8>, i64, i64)>,
    node_ids: Vec<Vec<u8>>,
    node_blobs: Vec<Vec<u8>>,
    labels: Vec<Vec<u8>>,
    epochs: Vec<i64>,
    versions: Vec<i64>,
    node_label_vals: Vec<Vec<u8>>,
    node_label_lens: Vec<i64>,
    values: Vec<Vec<u8>>,
}

/// A value state's columns after its key.
type StateColumns = (i64, Vec<u8>, i64, Vec<u8>);

impl Rows {
    pub(crate) fn encode(records: &[DbRecord]) -> Result<Self, StorageError> {
        let mut azks_rows = BTreeMap::new();
        let mut nodes = BTreeMap::new();
        let mut states: BTreeMap<(Vec<u8>, i64), StateColumns> = BTreeMap::new();
        for record in records {
            match record {
                DbRecord::Azks(value) => {
                    azks_rows.insert(
                        record.get_full_binary_id(),
                        (
                            int(value.latest_epoch, "epoch")?,
                            int(value.num_nodes, "node count")?,
                        ),
                    );
                }
                DbRecord::TreeNode(value) => {
                    nodes.insert(record.get_full_binary_id(), codec::encode_tree_node(value));
                }
                DbRecord::ValueState(value) => {
                    states.insert(
                        (value.username.to_vec(), int(value.epoch, "epoch")?),
                        (
                            int(value.version, "version")?,
                            value.label.label_val.to_vec(),
                            i64::from(value.label.label_len),
                            value.value.to_vec(),
                        ),
                    );
                }
            }
        }
        let (node_ids, node_blobs) = nodes.into_iter().unzip();
        let mut rows = Rows {
            azks: azks_rows
                .into_iter()
                .map(|(id, (epoch, nodes))| (id, epoch, nodes))
                .collect(),
            node_ids,
            node_blobs,
            labels: Vec::with_capacity(states.len()),
            epochs: Vec::with_capacity(states.len()),
            versions: Vec::with_capacity(states.len()),
            node_label_vals: Vec::with_capacity(states.len()),
            node_label_lens: Vec::with_capacity(states.len()),
            values: Vec::with_capacity(states.len()),
        };
        for ((label, epoch), (version, val, len, value)) in states {
            rows.labels.push(label);
            rows.epochs.push(epoch);
            rows.versions.push(version);
            rows.node_label_vals.push(val);
            rows.node_label_lens.push(len);
            rows.values.push(value);
        }
        Ok(rows)
    }
}

/// Writes every row in one transaction: all or nothing (KT-STORE-1). Run again (the
/// whole transaction) if PostgreSQL aborted it for a serialization
/// failure or a deadlock.
pub(crate) async fn write_rows(pool: &PgPool, rows: &Rows) -> Result<(), StorageError> {
    retry(|| write_once(pool, rows))
        .await
        .map_err(pg_error("commit batch_set"))
}

async fn write_once(pool: &PgPool, rows: &Rows) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for start in (0..rows.node_ids.len()).step_by(WRITE_CHUNK) {
        let end = (start + WRITE_CHUNK).min(rows.node_ids.len());
        sqlx::query(UPSERT_NODES)
            .bind(&rows.node_ids[start..end])
            .bind(&rows.node_blobs[start..end])
            .execute(&mut *tx)
            .await?;
    }
    for start in (0..rows.labels.len()).step_by(WRITE_CHUNK) {
        let end = (start + WRITE_CHUNK).min(rows.labels.len());
        sqlx::query(UPSERT_STATES)
            .bind(&rows.labels[start..end])
            .bind(&rows.epochs[start..end])
            .bind(&rows.versions[start..end])
            .bind(&rows.node_label_vals[start..end])
            .bind(&rows.node_label_lens[start..end])
            .bind(&rows.values[start..end])
            .execute(&mut *tx)
            .await?;
    }
    // The Azks record last, as akd orders an epoch's commit.
    for (id, epoch, nodes) in &rows.azks {
        sqlx::query(UPSERT_AZKS)
            .bind(id)
            .bind(epoch)
            .bind(nodes)
            .execute(&mut *tx)
            .await?;
    }
    // Dropping `tx` on any error above rolls the whole batch back.
    tx.commit().await
}

// ----------------------------------------------------------- point reads --

/// One record by its full binary id (`Storable::get_full_binary_key_id`).
pub(crate) async fn read_record(
    pool: &PgPool,
    kind: StorageType,
    id: &[u8],
) -> Result<Option<DbRecord>, StorageError> {
    match kind {
        StorageType::Azks => sqlx::query_as::<_, (i64, i64)>(AZKS_BY_ID)
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(pg_error("read azks"))?
            .map(|(epoch, nodes)| azks(epoch, nodes))
            .transpose(),
        StorageType::TreeNode => {
            let label = node_label_from_id(id)?;
            sqlx::query_scalar::<_, Vec<u8>>(NODE_BY_ID)
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(pg_error("read tree node"))?
                .map(|blob| tree_node(label, &blob))
                .transpose()
        }
        StorageType::ValueState => {
            let (label, epoch) = state_key_from_id(id)?;
            let Some(epoch) = codec::to_sql_int(epoch) else {
                return Ok(None);
            };
            sqlx::query(STATE_BY_KEY)
                .bind(label)
                .bind(epoch)
                .fetch_optional(pool)
                .await
                .map_err(pg_error("read value state"))?
                .map(|row| raw_state(&row)?.into_state().map(DbRecord::ValueState))
                .transpose()
        }
    }
}

/// All states of one label, oldest epoch first.
pub(crate) async fn read_user_data(
    pool: &PgPool,
    label: &[u8],
) -> Result<Vec<ValueState>, StorageError> {
    let rows = sqlx::query(USER_DATA)
        .bind(label)
        .fetch_all(pool)
        .await
        .map_err(pg_error("read user data"))?;
    rows.iter()
        .map(|row| raw_state(row)?.into_state())
        .collect()
}

// ---------------------------------------------------------- batch reads --

/// Records by full binary ids; ids not stored are skipped.
pub(crate) async fn read_records(
    pool: &PgPool,
    kind: StorageType,
    ids: &[Vec<u8>],
) -> Result<Vec<DbRecord>, StorageError> {
    if matches!(kind, StorageType::Azks) {
        let mut out = Vec::new();
        for id in ids {
            out.extend(read_record(pool, kind, id).await?);
        }
        return Ok(out);
    }
    let mut snapshot = Snapshot::begin(pool, ids.len()).await?;
    let conn = snapshot.conn();
    let mut out = Vec::with_capacity(ids.len());
    if matches!(kind, StorageType::TreeNode) {
        for chunk in ids.chunks(READ_CHUNK) {
            let rows = sqlx::query_as::<_, (Vec<u8>, Vec<u8>)>(NODES_BY_IDS)
                .bind(chunk)
                .fetch_all(&mut *conn)
                .await
                .map_err(pg_error("read tree nodes"))?;
            for (id, blob) in rows {
                out.push(tree_node(node_label_from_id(&id)?, &blob)?);
            }
        }
    } else {
        let mut labels = Vec::with_capacity(ids.len());
        let mut epochs = Vec::with_capacity(ids.len());
        for id in ids {
            let (label, epoch) = state_key_from_id(id)?;
            // An epoch past i64::MAX is never stored.
            if let Some(epoch) = codec::to_sql_int(epoch) {
                labels.push(label);
                epochs.push(epoch);
            }
        }
        for start in (0..labels.len()).step_by(READ_CHUNK) {
            let end = (start + READ_CHUNK).min(labels.len());
            let rows = sqlx::query(STATES_BY_KEYS)
                .bind(&labels[start..end])
                .bind(&epochs[start..end])
                .fetch_all(&mut *conn)
                .await
                .map_err(pg_error("read value states"))?;
            for row in &rows {
                out.push(DbRecord::ValueState(raw_state(row)?.into_state()?));
            }
        }
    }
    snapshot.end().await?;
    Ok(out)
}

/// For each label, the state `flag` selects; labels without one are absent
/// from the result.
pub(crate) async fn read_user_states(
    pool: &PgPool,
    labels: &[Vec<u8>],
    flag: ValueStateRetrievalFlag,
) -> Result<Vec<ValueState>, StorageError> {
    let Some((sql, bound)) = pick(flag) else {
        return Ok(Vec::new());
    };
    let mut snapshot = Snapshot::begin(pool, labels.len()).await?;
    let conn = snapshot.conn();
    let mut out = Vec::with_capacity(labels.len());
    for chunk in labels.chunks(READ_CHUNK) {
        let mut query = sqlx::query(sql).bind(chunk);
        if let Some(bound) = bound {
            query = query.bind(bound);
        }
        let rows = query
            .fetch_all(&mut *conn)
            .await
            .map_err(pg_error("read value states"))?;
        for row in &rows {
            out.push(raw_state(row)?.into_state()?);
        }
    }
    snapshot.end().await?;
    Ok(out)
}

/// The statement for `flag` and its bound (`$2`). `None`: no stored state
/// can match.
pub(crate) fn pick(flag: ValueStateRetrievalFlag) -> Option<(&'static str, Option<i64>)> {
    Some(match flag {
        ValueStateRetrievalFlag::MaxEpoch => (LATEST, None),
        ValueStateRetrievalFlag::MinEpoch => (EARLIEST, None),
        ValueStateRetrievalFlag::SpecificEpoch(epoch) => {
            (AT_EPOCH, Some(codec::to_sql_int(epoch)?))
        }
        // Every stored epoch is <= i64::MAX, so a larger bound means "any".
        ValueStateRetrievalFlag::LeqEpoch(epoch) => (
            AT_OR_BEFORE,
            Some(codec::to_sql_int(epoch).unwrap_or(i64::MAX)),
        ),
        ValueStateRetrievalFlag::SpecificVersion(version) => {
            (WITH_VERSION, Some(codec::to_sql_int(version)?))
        }
    })
}

/// The connection a batched read runs on (KT-STORE-1: one epoch per
/// answer): a plain pooled one when the
/// batch fits one statement (a statement sees one snapshot), else a
/// repeatable-read, read-only transaction, so the statements see one
/// snapshot together and never straddle an epoch commit.
enum Snapshot {
    One(sqlx::pool::PoolConnection<sqlx::Postgres>),
    Many(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Snapshot {
    async fn begin(pool: &PgPool, keys: usize) -> Result<Self, StorageError> {
        if keys <= READ_CHUNK {
            pool.acquire()
                .await
                .map(Snapshot::One)
                .map_err(pg_error("connect"))
        } else {
            pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
                .map(Snapshot::Many)
                .map_err(pg_error("begin read"))
        }
    }

    fn conn(&mut self) -> &mut PgConnection {
        match self {
            Snapshot::One(conn) => conn,
            Snapshot::Many(tx) => tx,
        }
    }

    async fn end(self) -> Result<(), StorageError> {
        match self {
            Snapshot::One(_) => Ok(()),
            Snapshot::Many(tx) => tx.commit().await.map_err(pg_error("end read")),
        }
    }
}

// -------------------------------------------------------- row decoding --

fn raw_state(row: &sqlx::postgres::PgRow) -> Result<RawState, StorageError> {
    let get = || -> Result<RawState, sqlx::Error> {
        Ok(RawState {
            label: row.try_get(0)?,
            epoch: row.try_get(1)?,
            version: row.try_get(2)?,
            node_label_val: row.try_get(3)?,
            node_label_len: 0,
            value: row.try_get(5)?,
        })
    };
    let mut raw = get().map_err(pg_error("decode value state"))?;
    let len: i64 = row.try_get(4).map_err(pg_error("decode value state"))?;
    raw.node_label_len = u32::try_from(len)
        .map_err(|_| Malformed("node label length out of range"))
        .map_err(malformed("value_states"))?;
    Ok(raw)
}

/// Maps a PostgreSQL failure inside akd's trait: lost or refused
/// connections, a full disk, an exhausted server and transactions still
/// aborted after their retries are `Connection` (retrying later may
/// succeed); everything else is `Other`. Messages name the operation and
/// the server's message, never a label or value (labels are derived from
/// phone numbers; sqlx's message leaves out the row a constraint names).
pub(crate) fn pg_error(op: &'static str) -> impl Fn(sqlx::Error) -> StorageError {
    move |error| {
        let class = error
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.into_owned());
        let transient = match &error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(_) => {
                is_disk_full(&error)
                    || crosslock_pg::is_retryable(&error)
                    || class.as_deref().is_some_and(|c| {
                        // connection exception, insufficient resources,
                        // operator intervention (shutdown, cancel)
                        c.starts_with("08") || c.starts_with("53") || c.starts_with("57")
                    })
            }
            _ => false,
        };
        let message = match class {
            Some(code) => format!("postgres {op}: {error} (SQLSTATE {code})"),
            None => format!("postgres {op}: {error}"),
        };
        if transient {
            StorageError::Connection(message)
        } else {
            StorageError::Other(message)
        }
    }
}
