//! Persistent storage for Crosslock's key-transparency directory: akd's
//! [`akd::storage::Database`] trait on SQLite ([`SqliteDatabase`]), and, with
//! the cargo feature `postgres`, on PostgreSQL (`PgDatabase`, module
//! `postgres`: the same tables, codec and guarantees, for a directory
//! shared by several provider instances).
//!
//! akd 0.13 ships only an in-memory store. This one keeps the directory in
//! one SQLite file (WAL journal, `synchronous=FULL`), so it survives
//! restarts and its memory stays bounded whatever the directory's size.
//! The directory reaches it through akd's `StorageManager` as usual:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use akd::storage::StorageManager;
//! use crosslock_kt_store::SqliteDatabase;
//!
//! let db = SqliteDatabase::open(std::path::Path::new("kt.sqlite3"))?;
//! let storage = StorageManager::new_no_cache(db);
//! # let _ = storage; Ok(()) }
//! ```
//!
//! # Schema (version [`SCHEMA_VERSION`])
//!
//! | table | key | columns |
//! |---|---|---|
//! | `kt_meta` | `name` | `schema_version` row = 1 |
//! | `azks` | `id` = `Storable::get_full_binary_id` (2 bytes) | `latest_epoch`, `num_nodes` |
//! | `tree_nodes` | `id` = `get_full_binary_id` (37 bytes: kind, label length, label) | `node`: latest and previous node, a compact versioned blob (see `codec`) |
//! | `value_states` | (`label`, `epoch`) | `version`, `node_label_val`, `node_label_len`, `value`; index (`label`, `version`, `epoch`) |
//!
//! All tables are `WITHOUT ROWID`, clustered on their key. Each retrieval
//! flag of akd's `ValueStateRetrievalFlag` is one index seek per label:
//! `MaxEpoch`/`MinEpoch`/`LeqEpoch(e)` the last/first entry of the label's
//! range in the primary key, `SpecificEpoch(e)` a point lookup,
//! `SpecificVersion(v)` a seek in the version index. Batched lookups
//! (`batch_get`, `get_user_state_versions`) bind 512 keys per statement.
//! The file carries `PRAGMA application_id` "CLKT"; a file with a newer
//! schema version, or another application's database, is refused
//! untouched ([`StoreError`]).
//!
//! # Atomicity
//!
//! Every `batch_set` (and `set`) is one SQLite transaction. akd's
//! `StorageManager` collects a whole publish in memory and hands it to
//! `batch_set` at commit, so an epoch is on disk completely or not at all:
//! after a crash, a power cut or a failed write, the file holds the previous
//! epoch or the new one, never a mix. With `synchronous=FULL` an epoch whose
//! `publish` returned survives power loss. Readers on other connections see
//! the old epoch until the commit and the new one after it.
//!
//! A failed commit leaves the database at the previous epoch; akd's manager
//! cache (when one is configured) has by then already taken the new epoch's
//! records, so after a failed `publish` call `StorageManager::flush_cache`
//! (or build a new manager) before serving again.
//!
//! # Memory
//!
//! No table is ever loaded whole and nothing is cached here beyond SQLite's
//! page caches: 64 MiB for the writing connection (an epoch commit updates
//! pages all over the tree; a cache that holds them saves re-reading and
//! spilling them mid-transaction) and 8 MiB for each of the four reading
//! connections of a file store, 96 MiB in all. What akd's `StorageManager`
//! holds (its optional cache, and every record of a publish until commit)
//! is configured by, and counted against, the caller.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod akd_database;
mod codec;
mod error;
#[cfg(feature = "postgres")]
pub mod postgres;
mod queries;
mod schema;
mod store;

pub use error::StoreError;
#[cfg(feature = "postgres")]
pub use postgres::PgDatabase;
pub use schema::SCHEMA_VERSION;
pub use store::SqliteDatabase;
