//! [`PgDatabase`]: akd's storage on PostgreSQL (cargo feature `postgres`),
//! for a directory shared by several provider instances
//! (docs/scale-out.md).
//!
//! The tables are the SQLite store's (crate documentation), in the
//! PostgreSQL schema `kt`, created and migrated on open
//! (crates/kt-store/migrations/postgres/), with the same compact tree-node
//! codec. The guarantees are the SQLite store's:
//!
//! - **Atomic epochs.** Every `batch_set` (and `set`) is one transaction:
//!   akd's manager hands a whole epoch to one `batch_set`, so the database
//!   holds the previous epoch or the new one, never a mix, whatever fails
//!   (a statement, the connection, the publisher's process). Readers see
//!   the old epoch until the commit and the new one after it. The rows go
//!   in with one `INSERT … SELECT FROM UNNEST(arrays) ON CONFLICT … DO
//!   UPDATE` per table and [`WRITE_CHUNK`] rows, sorted by key, the last
//!   write of a key in the batch winning (as when SQLite applies them in
//!   order).
//! - **Batched lookups.** `batch_get` and `get_user_state_versions` send
//!   the keys as arrays (`= ANY($1)`, `UNNEST`), [`READ_CHUNK`] per
//!   statement, each key an index seek; a lookup of more keys than one
//!   statement takes is read in one repeatable-read snapshot, so it never
//!   straddles an epoch commit.
//! - **Refusing a newer schema.** A database migrated by a newer build (a
//!   migration this build does not know) is refused untouched
//!   ([`StoreError::NewerSchema`]); a shipped migration edited since is
//!   refused too (its checksum).
//!
//! What it does not do: decide who writes. Two publishers writing one
//! directory at once would each commit whole epochs, but akd's epochs are
//! read-modify-write (the manager reads the tree, computes the new epoch
//! in memory and commits it): the second to commit would overwrite the
//! first's nodes and the log would fork. The provider must let one
//! publisher write at a time (issue 17: a leader holding an advisory lock;
//! docs/scale-out.md says what the leader must add).
//!
//! Where the queries run: on the `crosslock-pg` runtime that owns the
//! pool's connections; akd's futures await them there. A write keeps
//! running to its commit or rollback if the caller's future is dropped.

mod queries;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use akd::errors::StorageError;
use akd::storage::types::{DbRecord, KeyData, StorageType, ValueState, ValueStateRetrievalFlag};
use akd::storage::{Database, DbSetState, Storable};
use akd::{AkdLabel, AkdValue};
use async_trait::async_trait;
use crosslock_pg::sqlx::PgPool;
use crosslock_pg::sqlx::migrate::MigrateError;
use crosslock_pg::{Migration, Options, Schema};

use crate::error::StoreError;

pub use queries::{READ_CHUNK, WRITE_CHUNK};

/// The directory's PostgreSQL schema and its migrations. The tree-node
/// blob layout (`codec`) is part of the schema: changing it takes a
/// migration that rewrites the rows.
const SCHEMA: Schema = Schema {
    name: "kt",
    migrations: &[Migration {
        version: 1,
        description: "the key-transparency directory (akd storage)",
        sql: include_str!("../../migrations/postgres/0001_kt.sql"),
    }],
};

/// The newest PostgreSQL migration this build knows: a database that has a
/// later one applied is refused.
pub const POSTGRES_SCHEMA_VERSION: i64 = 1;

/// akd's storage on PostgreSQL; see the module documentation
/// (`crosslock_kt_store::postgres`) for what it guarantees.
///
/// Cheap to clone: clones share one pool (at most
/// [`Options::max_connections`] connections) and its runtime.
#[derive(Clone)]
pub struct PgDatabase {
    db: Arc<crosslock_pg::Database>,
}

impl std::fmt::Debug for PgDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL: it holds the password.
        f.debug_struct("PgDatabase").field("db", &self.db).finish()
    }
}

impl PgDatabase {
    /// Connects to the database at `url`
    /// (`postgres://user:password@host:port/db`) and brings the schema `kt`
    /// up to date (instances starting together apply each migration once).
    /// Refuses a database a newer build migrated, leaving it untouched.
    ///
    /// Blocks the calling thread until connected: call it before serving,
    /// or from `spawn_blocking`.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, &Options::default())
    }

    /// [`PgDatabase::open`] with the pool's size and timeouts.
    pub fn open_with(url: &str, options: &Options) -> Result<Self, StoreError> {
        match crosslock_pg::Database::open(url, &SCHEMA, options) {
            Ok(db) => Ok(Self { db: Arc::new(db) }),
            Err(crosslock_pg::Error::Migrate {
                source: MigrateError::VersionMissing(found),
                ..
            }) => Err(StoreError::NewerSchema {
                // KT-STORE-1: sqlx checks the applied migrations before
                // applying any, so nothing was changed.
                found,
                supported: POSTGRES_SCHEMA_VERSION,
            }),
            Err(e) => Err(StoreError::Postgres(e)),
        }
    }

    /// Runs `query` on the runtime that owns the pool and awaits its answer.
    /// The query runs to its end even if this future is dropped.
    async fn run<T, F, Fut>(&self, query: F) -> Result<T, StorageError>
    where
        F: FnOnce(PgPool) -> Fut,
        Fut: Future<Output = Result<T, StorageError>> + Send + 'static,
        T: Send + 'static,
    {
        let Some(handle) = self.db.handle() else {
            return Err(StorageError::Connection("database closed".into()));
        };
        match handle.spawn(query(self.db.pool().clone())).await {
            Ok(result) => result,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => Err(StorageError::Connection(
                "database query abandoned: its runtime is shutting down".into(),
            )),
        }
    }
}

#[async_trait]
impl Database for PgDatabase {
    async fn set(&self, record: DbRecord) -> Result<(), StorageError> {
        self.batch_set(vec![record], DbSetState::General).await
    }

    /// One transaction whatever `state` says (see the module documentation).
    async fn batch_set(
        &self,
        records: Vec<DbRecord>,
        _state: DbSetState,
    ) -> Result<(), StorageError> {
        if records.is_empty() {
            return Ok(());
        }
        // Encoded here, on the caller's thread: the database runtime's
        // threads only wait on sockets.
        let rows = queries::Rows::encode(&records)?;
        self.run(move |pool| async move { queries::write_rows(&pool, &rows).await })
            .await
    }

    async fn get<St: Storable>(&self, id: &St::StorageKey) -> Result<DbRecord, StorageError> {
        let kind = St::data_type();
        let id = St::get_full_binary_key_id(id);
        self.run(move |pool| async move { queries::read_record(&pool, kind, &id).await })
            .await?
            .ok_or_else(|| not_found(kind))
    }

    async fn batch_get<St: Storable>(
        &self,
        ids: &[St::StorageKey],
    ) -> Result<Vec<DbRecord>, StorageError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let kind = St::data_type();
        let ids: Vec<Vec<u8>> = ids.iter().map(St::get_full_binary_key_id).collect();
        self.run(move |pool| async move { queries::read_records(&pool, kind, &ids).await })
            .await
    }

    async fn get_user_data(&self, username: &AkdLabel) -> Result<KeyData, StorageError> {
        let label = username.to_vec();
        let states = self
            .run(move |pool| async move { queries::read_user_data(&pool, &label).await })
            .await?;
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
        let labels = vec![username.to_vec()];
        self.run(move |pool| async move { queries::read_user_states(&pool, &labels, flag).await })
            .await?
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
        let labels: Vec<Vec<u8>> = usernames.iter().map(|l| l.to_vec()).collect();
        self.run(move |pool| async move { queries::read_user_states(&pool, &labels, flag).await })
            .await
            .map(crate::queries::versions_of)
    }
}

/// akd's "absent" answer. Names the record kind only: labels are derived
/// from phone numbers and stay out of errors and logs.
fn not_found(kind: StorageType) -> StorageError {
    StorageError::NotFound(format!("{kind:?} record"))
}
