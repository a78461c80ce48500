//! A connection pool, the runtime that drives it, and the synchronous
//! bridge the stores' traits go through.

use std::cell::Cell;
use std::future::Future;
use std::str::FromStr;
use std::sync::mpsc;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use tokio::runtime::{Builder, Handle, Runtime};

use crate::error::Error;
use crate::migrate::Schema;

thread_local! {
    /// Set on the threads of every [`Database`]'s runtime.
    static IN_DATABASE_TASK: Cell<bool> = const { Cell::new(false) };
}

/// How a [`Database`] connects.
#[derive(Debug, Clone)]
pub struct Options {
    /// Most connections its pool opens.
    pub max_connections: u32,
    /// Threads of its runtime (they wait on sockets, they compute little).
    pub threads: usize,
    /// How long a query waits for a free connection before it fails.
    pub acquire_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_connections: 16,
            threads: 2,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// A pool of connections to one PostgreSQL database and the runtime that
/// runs its queries. Dropping it closes them.
pub struct Database {
    /// `Some` until dropped.
    runtime: Option<Runtime>,
    pool: PgPool,
    schema: Option<&'static str>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the URL: it holds the password.
        f.debug_struct("Database")
            .field("schema", &self.schema)
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`)
    /// for a store whose tables live in `schema`: every connection's search
    /// path is the schema, and its missing migrations are applied first
    /// (under an advisory lock, so instances starting together apply each
    /// once). Fails, with nothing served, if the database cannot be reached
    /// or a migration fails.
    pub fn open(url: &str, schema: &Schema, options: &Options) -> Result<Self, Error> {
        schema.check_name()?;
        Self::start(url, Some(schema), options)
    }

    /// Connects to the database at `url` as it is (no schema, no
    /// migrations): administration, such as [`crate::testing`]'s.
    pub fn connect(url: &str, options: &Options) -> Result<Self, Error> {
        Self::start(url, None, options)
    }

    fn start(url: &str, schema: Option<&Schema>, options: &Options) -> Result<Self, Error> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::Url(
                "it must start with postgres:// or postgresql://".into(),
            ));
        }
        let mut connect = PgConnectOptions::from_str(url)
            .map_err(|e| Error::Url(e.to_string()))?
            .application_name("crosslock");
        if let Some(schema) = schema {
            connect = connect.options([("search_path", schema.name)]);
        }
        let runtime = Builder::new_multi_thread()
            .worker_threads(options.threads.max(1))
            .thread_name("crosslock-pg")
            .on_thread_start(|| IN_DATABASE_TASK.set(true))
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let schema_copy = schema.copied();
        let pool_options = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout);
        let opened = wait(runtime.handle(), async move {
            if let Some(schema) = schema_copy {
                // A connection of its own: closed whatever happens, and
                // the migrator's advisory lock with it.
                let mut conn = PgConnection::connect_with(&connect)
                    .await
                    .map_err(Error::Connect)?;
                let migrated = schema.migrate(&mut conn).await;
                let _ = conn.close().await;
                migrated?;
            }
            pool_options
                .connect_with(connect)
                .await
                .map_err(Error::Connect)
        });
        let pool = match opened {
            Ok(Ok(pool)) => pool,
            Ok(Err(e)) | Err(e) => {
                // Without waiting, as `Drop` does: a failed open may run
                // on an async thread, where a blocking shutdown panics.
                runtime.shutdown_background();
                return Err(e);
            }
        };
        Ok(Database {
            runtime: Some(runtime),
            pool,
            schema: schema.map(|s| s.name),
        })
    }

    /// Runs `query` (given the pool) on this database's runtime and blocks
    /// the calling thread until it is done: the bridge from a store's
    /// synchronous trait methods to sqlx.
    ///
    /// It cannot deadlock, whatever thread calls it (a `spawn_blocking`
    /// thread, as the services do, a plain thread, or even an async task of
    /// another runtime, which it then blocks like a SQLite store's disk
    /// write would):
    /// - the future runs on this database's own runtime, whose threads run
    ///   nothing but these futures and sqlx's connection tasks, and never
    ///   block on a caller: they always make progress;
    /// - the caller blocks only on the answer of a future that needs
    ///   nothing from the caller's thread or runtime;
    /// - a future that called `run` again would wait for itself: that is
    ///   refused ([`Error::Reentrant`]) instead;
    /// - a future waits for a pool connection at most
    ///   [`Options::acquire_timeout`]; each store method holds one
    ///   connection at a time, and PostgreSQL aborts lock cycles between
    ///   transactions (which [`crate::retry`] runs again).
    pub fn run<T, E, F, Fut>(&self, query: F) -> Result<T, E>
    where
        F: FnOnce(PgPool) -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        if IN_DATABASE_TASK.get() {
            return Err(Error::Reentrant.into());
        }
        let Some(runtime) = &self.runtime else {
            return Err(Error::Lost.into());
        };
        wait(runtime.handle(), query(self.pool.clone()))?
    }

    /// The pool, for asynchronous callers (run their futures on
    /// [`Database::handle`]: the connections belong to its runtime).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The runtime the pool's connections belong to.
    pub fn handle(&self) -> Option<&Handle> {
        self.runtime.as_ref().map(Runtime::handle)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Without waiting: a store may be dropped on an async thread, where
        // a blocking shutdown is not allowed. The connections close with
        // their runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Runs `future` on `handle`'s runtime and waits for its output on this
/// thread. `Err(Error::Lost)` if the task ended without one.
fn wait<T: Send + 'static>(
    handle: &Handle,
    future: impl Future<Output = T> + Send + 'static,
) -> Result<T, Error> {
    let (tx, rx) = mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv().map_err(|_| Error::Lost)
}
