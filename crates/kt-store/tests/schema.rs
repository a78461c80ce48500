//! Opening: the schema is created once and checked after; a newer schema
//! or another application's database is refused and left untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use akd::storage::Database;
use akd::storage::types::{DbRecord, ValueState, ValueStateRetrievalFlag};
use akd::{AkdLabel, AkdValue, NodeLabel};
use crosslock_kt_store::{SCHEMA_VERSION, SqliteDatabase, StoreError};
use rusqlite::Connection;

#[tokio::test]
async fn reopening_keeps_data_and_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("kt.sqlite3");
    let db = SqliteDatabase::open(&path).unwrap();
    assert_eq!(db.path(), Some(path.as_path()));
    let state = ValueState {
        value: AkdValue::from("v"),
        version: 1,
        label: NodeLabel::root(),
        epoch: 1,
        username: AkdLabel::from("+15550000001"),
    };
    db.set(DbRecord::ValueState(state.clone())).await.unwrap();
    drop(db);

    let db = SqliteDatabase::open(&path).unwrap();
    let got = db
        .get_user_state(&state.username, ValueStateRetrievalFlag::MaxEpoch)
        .await
        .unwrap();
    assert_eq!(got, state);

    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row(
            "SELECT value FROM kt_meta WHERE name = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app.to_be_bytes(), *b"CLKT");
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("kt.sqlite3");
    drop(SqliteDatabase::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE kt_meta SET value = ?1 WHERE name = 'schema_version'",
        [SCHEMA_VERSION + 1],
    )
    .unwrap();

    match SqliteDatabase::open(&path) {
        Err(StoreError::NewerSchema { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("{other:?}"),
    }
    let version: i64 = conn
        .query_row(
            "SELECT value FROM kt_meta WHERE name = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION + 1);
}

#[test]
fn another_applications_database_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();

    let with_tables = tmp.path().join("client.sqlite3");
    Connection::open(&with_tables)
        .unwrap()
        .execute_batch("CREATE TABLE messages (id INTEGER PRIMARY KEY)")
        .unwrap();
    assert!(matches!(
        SqliteDatabase::open(&with_tables),
        Err(StoreError::ForeignDatabase(_))
    ));
    let tables: i64 = Connection::open(&with_tables)
        .unwrap()
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 1);

    let other_app = tmp.path().join("other.sqlite3");
    Connection::open(&other_app)
        .unwrap()
        .execute_batch("PRAGMA application_id = 42")
        .unwrap();
    assert!(matches!(
        SqliteDatabase::open(&other_app),
        Err(StoreError::ForeignDatabase(_))
    ));

    let garbage = tmp.path().join("garbage.sqlite3");
    std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
    let err = SqliteDatabase::open(&garbage).unwrap_err();
    assert!(matches!(err, StoreError::Sqlite { .. }), "{err:?}");
    assert_eq!(std::fs::read(&garbage).unwrap(), vec![0x5a; 8192]);
}

#[test]
fn clones_share_one_store_and_are_send_sync() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<SqliteDatabase>();
    let db = SqliteDatabase::open_in_memory().unwrap();
    assert!(db.path().is_none());
    assert!(format!("{db:?}").contains("SqliteDatabase"));
}
