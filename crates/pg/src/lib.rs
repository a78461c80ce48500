//! PostgreSQL for the provider's stores (docs/scale-out.md): what every
//! PostgreSQL-backed store shares.
//!
//! - [`Database`]: a connection pool from a `postgres://` URL, with the
//!   store's [`Schema`] (its own PostgreSQL schema and versioned
//!   migrations) brought up to date before the pool is handed out.
//! - A synchronous bridge, [`Database::run`]: the stores' traits are
//!   synchronous (the services call them from `spawn_blocking`), sqlx is
//!   asynchronous. Each [`Database`] owns a small Tokio runtime that runs
//!   every query; a caller blocks until its future is done. Why this cannot
//!   deadlock is said at [`Database::run`].
//! - [`retry`]: runs a transaction again when PostgreSQL aborted it for a
//!   serialization failure or a deadlock.
//! - [`testing`]: a fresh database per test on the server the test run
//!   started (`scripts/postgres`), so tests run in parallel.
//!
//! SQLite stays the embedded default: only the stores' `postgres` cargo
//! features pull this crate (and sqlx) in.

mod database;
mod error;
mod migrate;
mod retry;
pub mod testing;

pub use database::{Database, Options};
pub use error::{Error, is_disk_full, is_retryable};
pub use migrate::{Migration, Schema};
pub use retry::{Retryable, TxFail, refuse, retry};
/// The sqlx the stores write their queries with (Postgres only, no macros).
pub use sqlx;
