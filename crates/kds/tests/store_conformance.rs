//! Every KDS store behaves the same (GUIDE §3.5): the SQLite store and the
//! PostgreSQL one pass each conformance check of
//! `crosslock_kds::store::testing`, with concurrent callers on two
//! instances of one store too; and stores with the flaws an attacker would
//! want fail them.
//!
//! The PostgreSQL suite runs on the server in `CROSSLOCK_TEST_POSTGRES`
//! (scripts/test starts one); without it, it says it skipped, or fails
//! when `CROSSLOCK_REQUIRE_POSTGRES=1` (as in scripts/test and CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};

use crosslock_kds::store::SqliteKdsStore;
use crosslock_kds::store::testing::{
    check_concurrency, check_device_store, check_key_package_store, check_nonce_store,
    check_rate_store, check_secret_store, check_transparency_queue,
};

/// Fresh SQLite stores, each its own file under `dir`.
fn sqlite(dir: &tempfile::TempDir, n: &AtomicUsize) -> SqliteKdsStore {
    let name = format!("kds-{}.sqlite3", n.fetch_add(1, Ordering::Relaxed));
    SqliteKdsStore::open(&dir.path().join(name)).unwrap()
}

/// `count` SQLite stores on one new file: what two processes on one data
/// directory would be (the provider's lock forbids it; the store must
/// still be correct).
fn sqlite_instances(dir: &tempfile::TempDir, n: &AtomicUsize, count: usize) -> Vec<SqliteKdsStore> {
    let path = dir
        .path()
        .join(format!("kds-{}.sqlite3", n.fetch_add(1, Ordering::Relaxed)));
    (0..count)
        .map(|_| SqliteKdsStore::open(&path).unwrap())
        .collect()
}

#[cfg(feature = "postgres")]
mod pg {
    use std::sync::Mutex;

    use crosslock_kds::store::PgKdsStore;
    use crosslock_pg::testing::{TestDatabase, TestServer};

    /// Fresh PostgreSQL stores, each on its own database; the databases
    /// are dropped with the returned keeper.
    pub(crate) struct Fresh {
        server: &'static TestServer,
        databases: Mutex<Vec<TestDatabase>>,
    }

    impl Fresh {
        pub(crate) fn new(test: &str) -> Option<Self> {
            Some(Fresh {
                server: crosslock_pg::testing::server(test)?,
                databases: Mutex::default(),
            })
        }

        fn database(&self) -> String {
            let db = self.server.database().unwrap();
            let url = db.url().to_owned();
            self.databases.lock().unwrap().push(db);
            url
        }

        pub(crate) fn store(&self) -> PgKdsStore {
            PgKdsStore::open(&self.database()).unwrap()
        }

        /// `count` stores (separate pools: separate instances) on one new
        /// database.
        pub(crate) fn instances(&self, count: usize) -> Vec<PgKdsStore> {
            let url = self.database();
            (0..count)
                .map(|_| PgKdsStore::open(&url).unwrap())
                .collect()
        }
    }
}

macro_rules! conforms {
    ($($name:ident: $check:path,)*) => {
        mod sqlite {
            use super::*;
            $(
                #[test]
                fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let n = AtomicUsize::new(0);
                    assert_eq!($check(|| super::sqlite(&dir, &n)), Ok(()));
                }
            )*

            #[test]
            fn concurrency() {
                let dir = tempfile::tempdir().unwrap();
                let n = AtomicUsize::new(0);
                assert_eq!(check_concurrency(|count| sqlite_instances(&dir, &n, count)), Ok(()));
            }
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            use super::*;
            $(
                #[test]
                fn $name() {
                    let Some(fresh) = pg::Fresh::new(concat!("postgres::", stringify!($name))) else {
                        return;
                    };
                    assert_eq!($check(|| fresh.store()), Ok(()));
                }
            )*

            #[test]
            fn concurrency() {
                let Some(fresh) = pg::Fresh::new("postgres::concurrency") else {
                    return;
                };
                assert_eq!(check_concurrency(|count| fresh.instances(count)), Ok(()));
            }
        }
    };
}

conforms! {
    nonce_store: check_nonce_store,
    device_store: check_device_store,
    key_package_store: check_key_package_store,
    rate_store: check_rate_store,
    secret_store: check_secret_store,
    transparency_queue: check_transparency_queue,
}
