//! crosslock-pg against a real PostgreSQL (the test server of
//! `CROSSLOCK_TEST_POSTGRES`; see `crosslock_pg::testing`): migrations
//! apply once and in order, a changed migration is refused, schemas keep
//! stores apart, the bridge answers from any thread and refuses to wait
//! for itself, aborted transactions are run again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crosslock_pg::sqlx;
use crosslock_pg::testing::{TestDatabase, server};
use crosslock_pg::{Database, Error, Migration, Options, Schema, retry};

const V1: Migration = Migration {
    version: 1,
    description: "notes",
    sql: "CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL);",
};
const V2: Migration = Migration {
    version: 2,
    description: "a default note",
    sql: "INSERT INTO notes VALUES (1, 'first');",
};
const NOTES: Schema = Schema {
    name: "notes",
    migrations: &[V1, V2],
};

fn database(test: &str) -> Option<TestDatabase> {
    Some(server(test)?.database().unwrap())
}

fn count(db: &Database, sql: &'static str) -> i64 {
    db.run(|pool| async move { Ok::<i64, Error>(sqlx::query_scalar(sql).fetch_one(&pool).await?) })
        .unwrap()
}

#[test]
fn migrations_apply_once_and_a_changed_one_is_refused() {
    let Some(test_db) = database("migrations_apply_once_and_a_changed_one_is_refused") else {
        return;
    };
    let url = test_db.url();
    // Instances starting together apply each migration once.
    let opened: Vec<Database> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| Database::open(url, &NOTES, &Options::default()).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let db = &opened[0];
    assert_eq!(count(db, "SELECT count(*) FROM notes"), 1);
    assert_eq!(
        count(db, "SELECT count(*) FROM notes._migrations WHERE success"),
        2
    );
    drop(opened);
    // Reopening applies nothing again; a new migration is applied.
    const V3: Migration = Migration {
        version: 3,
        description: "another note",
        sql: "INSERT INTO notes VALUES (2, 'second');",
    };
    let db = Database::open(
        url,
        &Schema {
            name: "notes",
            migrations: &[V1, V2, V3],
        },
        &Options::default(),
    )
    .unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM notes"), 2);
    // A migration edited after it was applied is refused: the database
    // would not be the schema the code expects.
    let edited = Database::open(
        url,
        &Schema {
            name: "notes",
            migrations: &[
                V1,
                Migration {
                    sql: "INSERT INTO notes VALUES (1, 'edited');",
                    ..V2
                },
            ],
        },
        &Options::default(),
    );
    assert!(
        matches!(
            edited,
            Err(Error::Migrate {
                schema: "notes",
                ..
            })
        ),
        "{edited:?}"
    );
}

#[test]
fn schemas_keep_stores_apart() {
    let Some(test_db) = database("schemas_keep_stores_apart") else {
        return;
    };
    let other = Schema {
        name: "other_notes",
        migrations: &[V1],
    };
    let a = Database::open(test_db.url(), &NOTES, &Options::default()).unwrap();
    let b = Database::open(test_db.url(), &other, &Options::default()).unwrap();
    assert_eq!(count(&a, "SELECT count(*) FROM notes"), 1);
    assert_eq!(count(&b, "SELECT count(*) FROM notes"), 0);
}

#[test]
fn a_bad_url_or_server_says_so_without_the_password() {
    for bad in [
        "mysql://root:hunter2@localhost/x",
        "postgres://root:hunter2@localhost:port/x",
    ] {
        let e = Database::connect(bad, &Options::default()).unwrap_err();
        assert!(matches!(e, Error::Url(_)), "{e:?}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
    // Nothing listens on port 1.
    let unreachable = Database::connect(
        "postgres://u:hunter2@127.0.0.1:1/x",
        &Options {
            acquire_timeout: std::time::Duration::from_secs(2),
            ..Options::default()
        },
    );
    let e = unreachable.unwrap_err();
    assert!(matches!(e, Error::Connect(_)), "{e:?}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

/// A failed open on an async thread (a service opening its store at
/// start-up, from a task) returns its error: the runtime it had started is
/// shut down without waiting, since a blocking shutdown there panics.
#[tokio::test]
async fn a_failed_open_on_an_async_thread_returns_its_error() {
    let unreachable = Database::connect(
        "postgres://u:hunter2@127.0.0.1:1/x",
        &Options {
            acquire_timeout: std::time::Duration::from_secs(2),
            ..Options::default()
        },
    );
    let e = unreachable.unwrap_err();
    assert!(matches!(e, Error::Connect(_)), "{e:?}");
}

#[test]
fn the_bridge_answers_any_thread_and_refuses_to_wait_for_itself() {
    let Some(test_db) = database("the_bridge_answers_any_thread_and_refuses_to_wait_for_itself")
    else {
        return;
    };
    let db = Arc::new(Database::open(test_db.url(), &NOTES, &Options::default()).unwrap());
    // From a task of another runtime (blocking it), and from its blocking
    // pool, as the services call their stores.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let from_task = rt.block_on({
        let db = db.clone();
        async move { count(&db, "SELECT count(*) FROM notes") }
    });
    assert_eq!(from_task, 1);
    let from_blocking = rt.block_on({
        let db = db.clone();
        async move {
            tokio::task::spawn_blocking(move || count(&db, "SELECT count(*) FROM notes"))
                .await
                .unwrap()
        }
    });
    assert_eq!(from_blocking, 1);
    // A database task calling the bridge would wait for itself.
    let inner = db.clone();
    let nested: Result<(), Error> = db.run(|_| async move {
        tokio::task::spawn_blocking(move || inner.run(|_| async { Ok::<(), Error>(()) }))
            .await
            .map_err(|_| Error::Lost)?
    });
    assert!(matches!(nested, Err(Error::Reentrant)), "{nested:?}");
    // Dropped on an async thread: no blocking shutdown, no panic.
    rt.block_on(async move { drop(db) });
}

#[test]
fn aborted_transactions_are_run_again() {
    let Some(test_db) = database("aborted_transactions_are_run_again") else {
        return;
    };
    let db = Database::open(test_db.url(), &NOTES, &Options::default()).unwrap();
    let attempts = Arc::new(AtomicU32::new(0));
    let a = attempts.clone();
    let answer: Result<i64, Error> = db.run(|pool| async move {
        retry(|| async {
            // PostgreSQL's own error for a serialization failure, twice.
            if a.fetch_add(1, Ordering::SeqCst) < 2 {
                sqlx::raw_sql(
                    "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$",
                )
                .execute(&pool)
                .await?;
            }
            Ok(sqlx::query_scalar("SELECT count(*) FROM notes")
                .fetch_one(&pool)
                .await?)
        })
        .await
    });
    assert_eq!(answer.unwrap(), 1);
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    // Other failures are answered at once.
    attempts.store(0, Ordering::SeqCst);
    let a = attempts.clone();
    let refused: Result<(), Error> = db.run(|pool| async move {
        retry(|| async {
            a.fetch_add(1, Ordering::SeqCst);
            sqlx::query("INSERT INTO notes VALUES (1, 'again')")
                .execute(&pool)
                .await?;
            Ok(())
        })
        .await
    });
    assert!(matches!(refused, Err(Error::Query(_))), "{refused:?}");
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    // A full disk is told apart (nothing was stored).
    let full: Result<(), Error> = db.run(|pool| async move {
        sqlx::raw_sql("DO $$ BEGIN RAISE EXCEPTION 'full' USING ERRCODE = '53100'; END $$")
            .execute(&pool)
            .await?;
        Ok(())
    });
    match full {
        Err(Error::Query(e)) => assert!(crosslock_pg::is_disk_full(&e)),
        other => panic!("{other:?}"),
    }
}
