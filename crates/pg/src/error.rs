//! What can go wrong between a store and its database.

/// A database failure. Its text never contains the connection URL (which
/// holds the password).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL is not a PostgreSQL connection URL.
    #[error("the database URL is not a valid postgres:// URL: {0}")]
    Url(String),
    /// A schema name the stores may not use.
    #[error("invalid schema name {0:?}: use lower-case letters, digits and '_', at most 63")]
    SchemaName(String),
    /// The database could not be reached (or refused the login).
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// The migrations could not be applied; nothing was served.
    #[error("the database schema {schema} could not be migrated: {source}")]
    Migrate {
        /// The store's schema.
        schema: &'static str,
        /// Why.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// The runtime running the queries could not be started.
    #[error("cannot start the database runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The task running a query ended without an answer (it panicked, or
    /// the store is shutting down).
    #[error("the database task ended without an answer")]
    Lost,
    /// [`Database::run`](crate::Database::run) was called from inside a
    /// database task, which would wait for itself.
    #[error("a database call from inside a database task; call the store from outside it")]
    Reentrant,
}

/// Whether PostgreSQL aborted the transaction so that running it again may
/// succeed: a serialization failure (SQLSTATE 40001) or a detected
/// deadlock (40P01).
pub fn is_retryable(e: &sqlx::Error) -> bool {
    sqlstate(e).is_some_and(|c| c == "40001" || c == "40P01")
}

/// Whether the database server's disk is full (SQLSTATE 53100): nothing
/// was stored.
pub fn is_disk_full(e: &sqlx::Error) -> bool {
    sqlstate(e).is_some_and(|c| c == "53100")
}

fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
}
