//! [`SqliteDatabase`]: opening the file and handing out its connections.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use rusqlite::{Connection, OpenFlags};

use crate::error::StoreError;
use crate::schema;

/// Read-only connections of a file store. Reads run on them in parallel
/// with each other and with a commit (WAL readers never wait for the
/// writer); each keeps its own page cache of `READER_CACHE_KIB`.
const READERS: usize = 4;

/// akd's storage on SQLite; see the crate documentation for the schema and
/// the atomicity guarantee.
///
/// Cheap to clone: clones share the connections. Memory is bounded by the
/// SQLite page caches (64 MiB for the writer, 8 MiB for each of four readers
/// of a file store: 96 MiB) plus whatever one call returns.
#[derive(Clone)]
pub struct SqliteDatabase {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None` for an in-memory store.
    path: Option<PathBuf>,
    /// The one connection that writes; in-memory stores also read on it.
    writer: Mutex<Connection>,
    /// Empty for an in-memory store (a second connection would open a
    /// different, empty database).
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl SqliteDatabase {
    /// Opens (creating if missing) the store at `path`: WAL journal,
    /// `synchronous=FULL`, a busy timeout, and the schema created or
    /// checked. Refuses a file of a newer schema or of another application.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut writer = Connection::open(path).map_err(StoreError::sqlite("open"))?;
        schema::configure_writer(&writer, true)?;
        schema::prepare(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| {
                // Read-write without create, made read-only by `query_only`:
                // a SQLITE_OPEN_READ_ONLY connection cannot always recover
                // the WAL index after another process crashed.
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let reader = Connection::open_with_flags(path, flags)
                    .map_err(StoreError::sqlite("open reader"))?;
                schema::configure_reader(&reader)?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Self::from_parts(Some(path.to_owned()), writer, readers))
    }

    /// A store that lives in memory and disappears when the last clone is
    /// dropped: for tests and tools. Same schema and code paths, one
    /// connection.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let mut writer = Connection::open_in_memory().map_err(StoreError::sqlite("open"))?;
        schema::configure_writer(&writer, false)?;
        schema::prepare(&mut writer)?;
        Ok(Self::from_parts(None, writer, Vec::new()))
    }

    fn from_parts(
        path: Option<PathBuf>,
        writer: Connection,
        readers: Vec<Mutex<Connection>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
            }),
        }
    }

    /// The file this store lives in; `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Runs `f` on the writing connection.
    pub(crate) fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        f(&mut lock(&self.inner.writer))
    }

    /// Runs `f` on a reading connection: a free reader if there is one,
    /// else the next in turn (waiting for it); the writer in memory.
    pub(crate) fn with_reader<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        let readers = &self.inner.readers;
        if readers.is_empty() {
            return self.with_writer(f);
        }
        let start = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
        let free = (0..readers.len()).find_map(|i| {
            match readers[(start + i) % readers.len()].try_lock() {
                Ok(conn) => Some(conn),
                Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            }
        });
        match free {
            Some(mut conn) => f(&mut conn),
            None => f(&mut lock(&readers[start % readers.len()])),
        }
    }
}

/// A poisoned lock only means a panic happened while a call held the
/// connection; SQLite rolled back any open transaction when rusqlite's
/// guard dropped during the unwind, so the connection is still sound.
fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Debug for SqliteDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteDatabase")
            .field("path", &self.inner.path)
            .field("readers", &self.inner.readers.len())
            .finish_non_exhaustive()
    }
}
