//! `akd::storage::Database` for [`SqliteDatabase`].
//!
//! Where the SQLite work runs: writes (`set`, `batch_set`) go to tokio's
//! blocking pool, because they end in an fsync (`synchronous=FULL`) and an
//! epoch commit writes tens of thousands of rows: hundreds of milliseconds
//! that must not stall a runtime worker serving lookups. Reads run inline:
//! each is an index seek answered from the page cache in microseconds, less
//! than a hop to the blocking pool would cost, and akd issues hundreds of
//! thousands of them per large publish. akd itself needs a tokio runtime
//! (it spawns tasks); called outside one, writes run inline too.

use std::collections::HashMap;
use std::slice;

use akd::errors::StorageError;
use akd::storage::types::{DbRecord, KeyData, StorageType, ValueState, ValueStateRetrievalFlag};
use akd::storage::{Database, DbSetState, Storable};
use akd::{AkdLabel, AkdValue};
use async_trait::async_trait;
use rusqlite::Connection;

use crate::error::storage_error;
use crate::queries;
use crate::store::SqliteDatabase;

#[async_trait]
impl Database for SqliteDatabase {
    async fn set(&self, record: DbRecord) -> Result<(), StorageError> {
        self.batch_set(vec![record], DbSetState::General).await
    }

    /// One SQLite transaction whatever `state` says: akd's manager commits
    /// a whole epoch with `TransactionCommit` (Azks record last); `General`
    /// batches (directory creation, tombstoning) get the same all-or-nothing
    /// write, which costs nothing extra here.
    async fn batch_set(
        &self,
        records: Vec<DbRecord>,
        _state: DbSetState,
    ) -> Result<(), StorageError> {
        if records.is_empty() {
            return Ok(());
        }
        let db = self.clone();
        off_runtime(move || db.with_writer(|conn| queries::write_records(conn, &records))).await
    }

    async fn get<St: Storable>(&self, id: &St::StorageKey) -> Result<DbRecord, StorageError> {
        let id = St::get_full_binary_key_id(id);
        self.with_reader(|conn| queries::read_record(conn, St::data_type(), &id))?
            .ok_or_else(|| not_found(St::data_type()))
    }

    async fn batch_get<St: Storable>(
        &self,
        ids: &[St::StorageKey],
    ) -> Result<Vec<DbRecord>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Vec<u8>> = ids.iter().map(St::get_full_binary_key_id).collect();
        self.with_reader(|conn| {
            snapshot(conn, |conn| {
                queries::read_records(conn, St::data_type(), &ids)
            })
        })
    }

    async fn get_user_data(&self, username: &AkdLabel) -> Result<KeyData, StorageError> {
        let states = self.with_reader(|conn| queries::read_user_data(conn, username))?;
        if states.is_empty() {
            return Err(not_found(StorageType::ValueState));
        }
        Ok(KeyData { states })
    }

    async fn get_user_state(
        &self,
        username: &AkdLabel,
        flag: ValueStateRetrievalFlag,
    ) -> Result<ValueState, StorageError> {
        self.with_reader(|conn| queries::read_user_states(conn, slice::from_ref(username), flag))?
            .pop()
            .ok_or_else(|| not_found(StorageType::ValueState))
    }

    async fn get_user_state_versions(
        &self,
        usernames: &[AkdLabel],
        flag: ValueStateRetrievalFlag,
    ) -> Result<HashMap<AkdLabel, (u64, AkdValue)>, StorageError> {
        if usernames.is_empty() {
            return Ok(HashMap::new());
        }
        self.with_reader(|conn| {
            snapshot(conn, |conn| {
                queries::read_user_states(conn, usernames, flag)
            })
        })
        .map(queries::versions_of)
    }
}

/// akd's "absent" answer. Names the record kind only: labels are derived
/// from phone numbers and stay out of errors and logs.
fn not_found(kind: StorageType) -> StorageError {
    StorageError::NotFound(format!("{kind:?} record"))
}

/// Runs a read of several statements in one read transaction, so a batch
/// never straddles a concurrent epoch commit.
fn snapshot<T>(
    conn: &mut Connection,
    read: impl FnOnce(&Connection) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    let tx = conn.transaction().map_err(storage_error("begin read"))?;
    let out = read(&tx)?;
    tx.commit().map_err(storage_error("end read"))?;
    Ok(out)
}

/// Runs `work` on tokio's blocking pool (inline outside a runtime). The
/// work finishes even if the caller's future is dropped: a commit is never
/// cut in half by cancellation either.
async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return work();
    };
    match runtime.spawn_blocking(work).await {
        Ok(result) => result,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_) => Err(StorageError::Connection(
            "storage write abandoned: runtime shutting down".into(),
        )),
    }
}
