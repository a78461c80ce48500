//! The SQL behind each `Database` method, as synchronous functions on one
//! connection. Every lookup is an index seek; batched lookups bind up to
//! [`CHUNK`] keys per statement.

use std::collections::HashMap;
use std::fmt::Write as _;

use akd::errors::StorageError;
use akd::storage::types::{DbRecord, StorageType, ValueState, ValueStateRetrievalFlag};
use akd::tree_node::TreeNodeWithPreviousValue;
use akd::{AkdLabel, AkdValue, Azks, NodeLabel};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params_from_iter};

use crate::codec::{self, Malformed};
use crate::error::{malformed, out_of_range, storage_error};

/// Keys bound per batched statement: far below SQLite's variable limit
/// (32766), large enough that 10,000 labels take 20 statements.
pub(crate) const CHUNK: usize = 512;

const UPSERT_AZKS: &str = "INSERT INTO azks (id, latest_epoch, num_nodes) VALUES (?1, ?2, ?3)
     ON CONFLICT (id) DO UPDATE SET latest_epoch = excluded.latest_epoch,
                                    num_nodes = excluded.num_nodes";
const UPSERT_NODE: &str = "INSERT INTO tree_nodes (id, node) VALUES (?1, ?2)
     ON CONFLICT (id) DO UPDATE SET node = excluded.node";
const UPSERT_STATE: &str =
    "INSERT INTO value_states (label, epoch, version, node_label_val, node_label_len, value)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (label, epoch) DO UPDATE SET version = excluded.version,
         node_label_val = excluded.node_label_val, node_label_len = excluded.node_label_len,
         value = excluded.value";

/// The `value_states` columns `raw_state` reads, for a table aliased `s`.
macro_rules! state_columns {
    () => {
        "s.label, s.epoch, s.version, s.node_label_val, s.node_label_len, s.value"
    };
}
const STATE_COLUMNS: &str = state_columns!();

// ---------------------------------------------------------------- writes --

/// Writes every record in one immediate transaction: all or nothing.
pub(crate) fn write_records(
    conn: &mut Connection,
    records: &[DbRecord],
) -> Result<(), StorageError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(storage_error("begin batch_set"))?;
    {
        let mut azks = tx
            .prepare_cached(UPSERT_AZKS)
            .map_err(storage_error("prepare azks"))?;
        let mut node = tx
            .prepare_cached(UPSERT_NODE)
            .map_err(storage_error("prepare tree node"))?;
        let mut state = tx
            .prepare_cached(UPSERT_STATE)
            .map_err(storage_error("prepare value state"))?;
        for record in records {
            match record {
                DbRecord::Azks(value) => azks.execute((
                    record.get_full_binary_id(),
                    int(value.latest_epoch, "epoch")?,
                    int(value.num_nodes, "node count")?,
                )),
                DbRecord::TreeNode(value) => {
                    node.execute((record.get_full_binary_id(), codec::encode_tree_node(value)))
                }
                DbRecord::ValueState(value) => state.execute((
                    value.username.as_slice(),
                    int(value.epoch, "epoch")?,
                    int(value.version, "version")?,
                    value.label.label_val.as_slice(),
                    value.label.label_len,
                    value.value.as_slice(),
                )),
            }
            .map_err(storage_error("write record"))?;
        }
    }
    // Dropping `tx` on any error above rolls the whole batch back.
    tx.commit().map_err(storage_error("commit batch_set"))
}

// ----------------------------------------------------------- point reads --

/// One record by its full binary id (`Storable::get_full_binary_key_id`).
pub(crate) fn read_record(
    conn: &Connection,
    kind: StorageType,
    id: &[u8],
) -> Result<Option<DbRecord>, StorageError> {
    match kind {
        StorageType::Azks => conn
            .prepare_cached("SELECT latest_epoch, num_nodes FROM azks WHERE id = ?1")
            .and_then(|mut stmt| {
                stmt.query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()
            })
            .map_err(storage_error("read azks"))?
            .map(|(epoch, nodes)| azks(epoch, nodes))
            .transpose(),
        StorageType::TreeNode => {
            let label = node_label_from_id(id)?;
            conn.prepare_cached("SELECT node FROM tree_nodes WHERE id = ?1")
                .and_then(|mut stmt| {
                    stmt.query_row([id], |row| row.get::<_, Vec<u8>>(0))
                        .optional()
                })
                .map_err(storage_error("read tree node"))?
                .map(|blob| tree_node(label, &blob))
                .transpose()
        }
        StorageType::ValueState => {
            let (label, epoch) = state_key_from_id(id)?;
            let Some(epoch) = codec::to_sql_int(epoch) else {
                return Ok(None);
            };
            conn.prepare_cached(concat!(
                "SELECT ",
                state_columns!(),
                " FROM value_states AS s WHERE s.label = ?1 AND s.epoch = ?2"
            ))
            .and_then(|mut stmt| stmt.query_row((label, epoch), raw_state).optional())
            .map_err(storage_error("read value state"))?
            .map(|raw| raw.into_state().map(DbRecord::ValueState))
            .transpose()
        }
    }
}

/// All states of one label, oldest epoch first.
pub(crate) fn read_user_data(
    conn: &Connection,
    label: &AkdLabel,
) -> Result<Vec<ValueState>, StorageError> {
    let mut stmt = conn
        .prepare_cached(concat!(
            "SELECT ",
            state_columns!(),
            " FROM value_states AS s WHERE s.label = ?1 ORDER BY s.epoch"
        ))
        .map_err(storage_error("prepare user data"))?;
    let raws = stmt
        .query_map([label.as_slice()], raw_state)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(storage_error("read user data"))?;
    raws.into_iter().map(RawState::into_state).collect()
}

// ---------------------------------------------------------- batch reads --

/// Records by full binary ids; ids not stored are skipped.
pub(crate) fn read_records(
    conn: &Connection,
    kind: StorageType,
    ids: &[Vec<u8>],
) -> Result<Vec<DbRecord>, StorageError> {
    let mut out = Vec::with_capacity(ids.len());
    match kind {
        StorageType::Azks => {
            for id in ids {
                out.extend(read_record(conn, kind, id)?);
            }
        }
        StorageType::TreeNode => {
            for chunk in ids.chunks(CHUNK) {
                let sql = nodes_sql(chunk.len());
                let mut stmt = conn
                    .prepare_cached(&sql)
                    .map_err(storage_error("prepare tree nodes"))?;
                let rows = stmt
                    .query_map(params_from_iter(chunk), |row| {
                        Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?))
                    })
                    .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                    .map_err(storage_error("read tree nodes"))?;
                for (id, blob) in rows {
                    out.push(tree_node(node_label_from_id(&id)?, &blob)?);
                }
            }
        }
        StorageType::ValueState => {
            let mut keys = Vec::with_capacity(ids.len());
            for id in ids {
                let (label, epoch) = state_key_from_id(id)?;
                // An epoch past i64::MAX is never stored.
                if let Some(epoch) = codec::to_sql_int(epoch) {
                    keys.push((label, epoch));
                }
            }
            for chunk in keys.chunks(CHUNK) {
                let sql = state_keys_sql(chunk.len());
                let params = chunk.iter().flat_map(|(label, epoch)| {
                    [Value::Blob(label.to_vec()), Value::Integer(*epoch)]
                });
                for raw in query_states(conn, &sql, params_from_iter(params))? {
                    out.push(DbRecord::ValueState(raw.into_state()?));
                }
            }
        }
    }
    Ok(out)
}

/// For each label, the state `flag` selects; labels without one are absent
/// from the result. One statement per [`CHUNK`] labels, each an index seek
/// per label.
pub(crate) fn read_user_states(
    conn: &Connection,
    labels: &[AkdLabel],
    flag: ValueStateRetrievalFlag,
) -> Result<Vec<ValueState>, StorageError> {
    let Some((pick, bound)) = pick_epoch(flag) else {
        return Ok(Vec::new());
    };
    let first = 1 + usize::from(bound.is_some());
    let mut out = Vec::with_capacity(labels.len());
    for chunk in labels.chunks(CHUNK) {
        let sql = user_states_sql(pick, first, chunk.len());
        let params = bound
            .map(Value::Integer)
            .into_iter()
            .chain(chunk.iter().map(|label| Value::Blob(label.to_vec())));
        for raw in query_states(conn, &sql, params_from_iter(params))? {
            out.push(raw.into_state()?);
        }
    }
    Ok(out)
}

/// Collects `read_user_states` into the map akd's
/// `get_user_state_versions` returns.
pub(crate) fn versions_of(states: Vec<ValueState>) -> HashMap<AkdLabel, (u64, AkdValue)> {
    states
        .into_iter()
        .map(|state| (state.username, (state.version, state.value)))
        .collect()
}

/// The epoch expression selecting one state of label `q.l`, and the bound
/// parameter (`?1`) it uses. `None`: no stored state can match.
fn pick_epoch(flag: ValueStateRetrievalFlag) -> Option<(&'static str, Option<i64>)> {
    const LATEST: &str =
        "(SELECT epoch FROM value_states WHERE label = q.l ORDER BY epoch DESC LIMIT 1)";
    const EARLIEST: &str =
        "(SELECT epoch FROM value_states WHERE label = q.l ORDER BY epoch ASC LIMIT 1)";
    const AT_OR_BEFORE: &str = "(SELECT epoch FROM value_states WHERE label = q.l AND epoch <= ?1
                                 ORDER BY epoch DESC LIMIT 1)";
    // Versions are unique per label in akd; should one repeat, the earliest
    // epoch wins, as in akd's in-memory store.
    const WITH_VERSION: &str = "(SELECT epoch FROM value_states WHERE label = q.l AND version = ?1
                                 ORDER BY epoch ASC LIMIT 1)";
    Some(match flag {
        ValueStateRetrievalFlag::MaxEpoch => (LATEST, None),
        ValueStateRetrievalFlag::MinEpoch => (EARLIEST, None),
        ValueStateRetrievalFlag::SpecificEpoch(epoch) => ("?1", Some(codec::to_sql_int(epoch)?)),
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

fn query_states(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<RawState>, StorageError> {
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(storage_error("prepare value states"))?;
    stmt.query_map(params, raw_state)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(storage_error("read value states"))
}

fn nodes_sql(keys: usize) -> String {
    format!(
        "SELECT id, node FROM tree_nodes WHERE id IN ({})",
        placeholders(1, keys, 1)
    )
}

/// States by exact `(label, epoch)`. `CROSS JOIN` keeps the key list as the
/// outer loop, so each key is a primary-key seek.
fn state_keys_sql(keys: usize) -> String {
    format!(
        "WITH q(l, e) AS (VALUES {})
         SELECT {STATE_COLUMNS} FROM q CROSS JOIN value_states AS s
         WHERE s.label = q.l AND s.epoch = q.e",
        placeholders(1, keys, 2)
    )
}

/// One state per label, the one whose epoch `pick` (from `pick_epoch`)
/// selects; labels bound from `?first`.
fn user_states_sql(pick: &str, first: usize, labels: usize) -> String {
    format!(
        "WITH q(l) AS (VALUES {})
         SELECT {STATE_COLUMNS} FROM q CROSS JOIN value_states AS s
         WHERE s.label = q.l AND s.epoch = {pick}",
        placeholders(first, labels, 1)
    )
}

/// `(?a), (?b), ...` with `width` parameters per tuple, numbered from `first`.
fn placeholders(first: usize, tuples: usize, width: usize) -> String {
    let mut sql = String::with_capacity(tuples * (width * 7 + 4));
    for tuple in 0..tuples {
        sql.push_str(if tuple == 0 { "(" } else { ", (" });
        for column in 0..width {
            let n = first + tuple * width + column;
            let _ = write!(sql, "{}?{n}", if column == 0 { "" } else { ", " });
        }
        sql.push(')');
    }
    sql
}

// -------------------------------------------------------- row decoding --

/// A `value_states` row as the database returns it, checked by `into_state`.
pub(crate) struct RawState {
    pub(crate) label: Vec<u8>,
    pub(crate) epoch: i64,
    pub(crate) version: i64,
    pub(crate) node_label_val: Vec<u8>,
    pub(crate) node_label_len: u32,
    pub(crate) value: Vec<u8>,
}

fn raw_state(row: &Row<'_>) -> rusqlite::Result<RawState> {
    Ok(RawState {
        label: row.get(0)?,
        epoch: row.get(1)?,
        version: row.get(2)?,
        node_label_val: row.get(3)?,
        node_label_len: row.get(4)?,
        value: row.get(5)?,
    })
}

impl RawState {
    pub(crate) fn into_state(self) -> Result<ValueState, StorageError> {
        let decode = || -> Result<ValueState, Malformed> {
            Ok(ValueState {
                value: AkdValue(self.value),
                version: codec::from_sql_int(self.version)?,
                label: NodeLabel {
                    label_val: self
                        .node_label_val
                        .as_slice()
                        .try_into()
                        .map_err(|_| Malformed("node label is not 32 bytes"))?,
                    label_len: self.node_label_len,
                },
                epoch: codec::from_sql_int(self.epoch)?,
                username: AkdLabel(self.label),
            })
        };
        decode().map_err(malformed("value_states"))
    }
}

pub(crate) fn azks(latest_epoch: i64, num_nodes: i64) -> Result<DbRecord, StorageError> {
    Ok(DbRecord::Azks(Azks {
        latest_epoch: codec::from_sql_int(latest_epoch).map_err(malformed("azks"))?,
        num_nodes: codec::from_sql_int(num_nodes).map_err(malformed("azks"))?,
    }))
}

pub(crate) fn tree_node(label: NodeLabel, blob: &[u8]) -> Result<DbRecord, StorageError> {
    codec::decode_tree_node(label, blob)
        .map(DbRecord::TreeNode)
        .map_err(malformed("tree_nodes"))
}

pub(crate) fn int(value: u64, what: &'static str) -> Result<i64, StorageError> {
    codec::to_sql_int(value).ok_or_else(|| out_of_range(what))
}

// ------------------------------------------------------------ key ids --

/// The node label inside a tree node's full binary id
/// (`0x02 | label_len u32 BE | label_val [32]`).
pub(crate) fn node_label_from_id(id: &[u8]) -> Result<NodeLabel, StorageError> {
    use akd::storage::Storable as _;
    TreeNodeWithPreviousValue::key_from_full_binary(id)
        .map(|key| key.0)
        .map_err(|why| StorageError::Other(format!("bad tree node id: {why}")))
}

/// `(label, epoch)` inside a value state's full binary id
/// (`0x04 | epoch u64 BE | label`). Parsed here rather than with
/// `ValueState::key_from_full_binary`, which refuses an empty label.
pub(crate) fn state_key_from_id(id: &[u8]) -> Result<(&[u8], u64), StorageError> {
    match id.split_first() {
        Some((&kind, rest)) if kind == StorageType::ValueState as u8 => rest
            .split_first_chunk::<8>()
            .map(|(epoch, label)| (label, u64::from_be_bytes(*epoch)))
            .ok_or_else(|| StorageError::Other("bad value state id: too short".into())),
        _ => Err(StorageError::Other("bad value state id: wrong kind".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_from_first() {
        assert_eq!(placeholders(2, 3, 1), "(?2), (?3), (?4)");
        assert_eq!(placeholders(1, 2, 2), "(?1, ?2), (?3, ?4)");
    }

    /// Every statement reads through an index: the only full scan allowed
    /// is of the bound key list `q` itself.
    #[test]
    fn every_lookup_is_an_index_seek() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::schema::prepare(&mut conn).unwrap();
        let mut statements = vec![
            (nodes_sql(3), 3),
            (state_keys_sql(3), 6),
            (
                concat!(
                    "SELECT ",
                    state_columns!(),
                    " FROM value_states AS s WHERE s.label = ?1 ORDER BY s.epoch"
                )
                .to_owned(),
                1,
            ),
        ];
        for flag in [
            ValueStateRetrievalFlag::MaxEpoch,
            ValueStateRetrievalFlag::MinEpoch,
            ValueStateRetrievalFlag::LeqEpoch(4),
            ValueStateRetrievalFlag::SpecificEpoch(4),
            ValueStateRetrievalFlag::SpecificVersion(2),
        ] {
            let (pick, bound) = pick_epoch(flag).unwrap();
            let first = 1 + usize::from(bound.is_some());
            statements.push((user_states_sql(pick, first, 3), first + 2));
        }
        for (sql, params) in statements {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let plan: Vec<String> = stmt
                .query_map(params_from_iter((0..params).map(|_| Value::Null)), |row| {
                    row.get(3)
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            for step in &plan {
                let scan =
                    step.starts_with("SCAN") && step != "SCAN q" && !step.contains("CONSTANT ROW");
                assert!(!scan && !step.contains("TEMP B-TREE"), "{sql}\n{plan:#?}");
            }
        }
    }

    #[test]
    fn value_state_ids_parse_even_with_empty_labels() {
        use akd::storage::Storable as _;
        use akd::storage::types::ValueStateKey;
        for label in [Vec::new(), b"alice".to_vec()] {
            let id = ValueState::get_full_binary_key_id(&ValueStateKey(label.clone(), 77));
            assert_eq!(state_key_from_id(&id).unwrap(), (label.as_slice(), 77));
        }
        assert!(state_key_from_id(&[4, 0, 0]).is_err());
        assert!(state_key_from_id(&[2; 20]).is_err());
    }
}
