//! The PostgreSQL store (`PgDatabase`) against everything the SQLite store
//! is held to: akd's storage conformance suite, every retrieval flag
//! answer by answer against akd's in-memory store, a directory published,
//! proven, audited and reopened, an epoch whose commit fails leaving the
//! previous one whole, a newer schema refused untouched; and what only a
//! shared database needs: two instances on one database, a batch larger
//! than one statement read in one snapshot while epochs commit.
//!
//! Each test gets a fresh database on the server `scripts/postgres` started
//! (`CROSSLOCK_TEST_POSTGRES`); without one they skip, unless
//! `CROSSLOCK_REQUIRE_POSTGRES=1` (scripts/test) makes that a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use akd::storage::tests::run_test_cases_for_storage_impl;
use akd::storage::types::{DbRecord, ValueState, ValueStateRetrievalFlag as Flag};
use akd::storage::{Database, DbSetState, StorageManager};
use akd::tree_node::{NodeKey, TreeNodeWithPreviousValue};
use akd::{AkdLabel, AkdValue, NodeLabel};
use common::*;
use crosslock_kt_store::postgres::{POSTGRES_SCHEMA_VERSION, READ_CHUNK};
use crosslock_kt_store::{PgDatabase, StoreError};
use crosslock_pg::Options;
use crosslock_pg::testing::TestDatabase;

/// A fresh database for `test`, or `None` (skipped) without a server.
fn fresh(test: &str) -> Option<TestDatabase> {
    Some(crosslock_pg::testing::server(test)?.database().unwrap())
}

/// Runs SQL (several statements allowed) on the database as it is, with
/// the store's tables under `kt.`.
fn sql(url: &str, statements: &str) {
    let admin = crosslock_pg::Database::connect(url, &Options::default()).unwrap();
    let statements = statements.to_owned();
    admin
        .run(|pool| async move {
            crosslock_pg::sqlx::raw_sql(crosslock_pg::sqlx::AssertSqlSafe(statements))
                .execute(&pool)
                .await?;
            Ok::<_, crosslock_pg::Error>(())
        })
        .unwrap();
}

/// Every row of the store, to compare the database before and after a
/// failed commit byte for byte.
fn dump(url: &str) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let admin = crosslock_pg::Database::connect(url, &Options::default()).unwrap();
    admin
        .run(|pool| async move {
            crosslock_pg::sqlx::query_as(
                "SELECT 'azks', id, int8send(latest_epoch) || int8send(num_nodes) FROM kt.azks
                 UNION ALL SELECT 'tree_nodes', id, node FROM kt.tree_nodes
                 UNION ALL SELECT 'value_states', label || int8send(epoch),
                        int8send(version) || node_label_val || int8send(node_label_len) || value
                    FROM kt.value_states
                 ORDER BY 1, 2",
            )
            .fetch_all(&pool)
            .await
            .map_err(crosslock_pg::Error::from)
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akd_suite() {
    let Some(test_db) = fresh("akd_suite") else {
        return;
    };
    run_test_cases_for_storage_impl(PgDatabase::open(test_db.url()).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flag_answers_like_akds_in_memory_store() {
    let Some(test_db) = fresh("every_flag_answers_like_akds_in_memory_store") else {
        return;
    };
    let db = PgDatabase::open(test_db.url()).unwrap();
    checks::every_flag_answers_like_akds_in_memory_store(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_round_trip_and_missing_ones_are_not_found() {
    let Some(test_db) = fresh("records_round_trip_and_missing_ones_are_not_found") else {
        return;
    };
    let db = PgDatabase::open(test_db.url()).unwrap();
    checks::records_round_trip_and_missing_ones_are_not_found(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epochs_past_i64_are_refused_not_wrapped() {
    let Some(test_db) = fresh("epochs_past_i64_are_refused_not_wrapped") else {
        return;
    };
    let db = PgDatabase::open(test_db.url()).unwrap();
    checks::epochs_past_i64_are_refused_not_wrapped(&db).await;
}

/// One batch writing a key twice keeps the later record, as applying the
/// records in order does (a single `INSERT … ON CONFLICT DO UPDATE` would
/// refuse to touch a row twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_written_twice_in_one_batch_keeps_the_later_record() {
    let Some(test_db) = fresh("a_key_written_twice_in_one_batch_keeps_the_later_record") else {
        return;
    };
    let db = PgDatabase::open(test_db.url()).unwrap();
    let first = checks::node(7, 3);
    let mut second = first.clone();
    second.previous_node = None;
    let older = checks::state(b"alice", 4, 1);
    let newer = checks::state(b"alice", 4, 2);
    db.batch_set(
        vec![
            DbRecord::TreeNode(first.clone()),
            DbRecord::ValueState(older),
            DbRecord::TreeNode(second.clone()),
            DbRecord::ValueState(newer.clone()),
        ],
        DbSetState::General,
    )
    .await
    .unwrap();
    assert_eq!(
        db.get::<TreeNodeWithPreviousValue>(&NodeKey(first.label))
            .await
            .unwrap(),
        DbRecord::TreeNode(second)
    );
    assert_eq!(
        db.get_user_state(&AkdLabel::from("alice"), Flag::MaxEpoch)
            .await
            .unwrap(),
        newer
    );
}

/// Batches larger than one statement: every key found, missing keys
/// skipped, nothing duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_larger_than_one_statement() {
    let Some(test_db) = fresh("lookups_larger_than_one_statement") else {
        return;
    };
    let db = PgDatabase::open(test_db.url()).unwrap();
    let count = READ_CHUNK + 1000;
    let nodes: Vec<TreeNodeWithPreviousValue> = (0..count)
        .map(|i| {
            let mut node = checks::node(0, 5);
            node.label = NodeLabel {
                label_val: label_bytes(i),
                label_len: 256,
            };
            node.latest_node.label = node.label;
            node.previous_node.as_mut().unwrap().label = node.label;
            node
        })
        .collect();
    let states: Vec<ValueState> = (0..count)
        .map(|i| checks::state(&label_bytes(i), 2, 1))
        .collect();
    let records = nodes
        .iter()
        .cloned()
        .map(DbRecord::TreeNode)
        .chain(states.iter().cloned().map(DbRecord::ValueState))
        .collect();
    db.batch_set(records, DbSetState::TransactionCommit)
        .await
        .unwrap();

    let mut keys: Vec<NodeKey> = nodes.iter().map(|n| NodeKey(n.label)).collect();
    keys.push(NodeKey(NodeLabel::root()));
    let mut got = db
        .batch_get::<TreeNodeWithPreviousValue>(&keys)
        .await
        .unwrap();
    let mut want: Vec<DbRecord> = nodes.into_iter().map(DbRecord::TreeNode).collect();
    got.sort();
    want.sort();
    assert!(got == want, "batch_get of {} nodes differs", keys.len());

    let mut labels: Vec<AkdLabel> = states.iter().map(|s| s.username.clone()).collect();
    labels.push(AkdLabel::from("nobody"));
    let versions = db
        .get_user_state_versions(&labels, Flag::MaxEpoch)
        .await
        .unwrap();
    let expected: HashMap<AkdLabel, (u64, AkdValue)> = states
        .into_iter()
        .map(|s| (s.username, (s.version, s.value)))
        .collect();
    assert!(versions == expected, "get_user_state_versions differs");
}

fn label_bytes(i: usize) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&(i as u64).to_be_bytes());
    bytes
}

/// A lookup of more labels than one statement takes, running while epochs
/// commit, sees every label at one epoch: its statements share one
/// snapshot. (Read statement by statement, a commit landing between two
/// of them mixes epochs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_lookup_never_straddles_a_commit() {
    let Some(test_db) = fresh("a_large_lookup_never_straddles_a_commit") else {
        return;
    };
    let db = PgDatabase::open(test_db.url()).unwrap();
    let labels: Vec<AkdLabel> = (0..READ_CHUNK + 500)
        .map(|i| AkdLabel(format!("+1555{i:07}").into_bytes()))
        .collect();
    let epoch_of = |epoch: u64| -> Vec<DbRecord> {
        labels
            .iter()
            .map(|l| {
                let mut state = checks::state(l, epoch, epoch);
                state.value = AkdValue(epoch.to_be_bytes().to_vec());
                DbRecord::ValueState(state)
            })
            .collect()
    };
    db.batch_set(epoch_of(1), DbSetState::TransactionCommit)
        .await
        .unwrap();

    let writer = {
        let db = db.clone();
        let epochs: Vec<Vec<DbRecord>> = (2..=6).map(epoch_of).collect();
        tokio::spawn(async move {
            for records in epochs {
                db.batch_set(records, DbSetState::TransactionCommit)
                    .await
                    .unwrap();
            }
        })
    };
    let mut seen = std::collections::BTreeSet::new();
    while !writer.is_finished() || seen.len() < 2 {
        let versions = db
            .get_user_state_versions(&labels, Flag::MaxEpoch)
            .await
            .unwrap();
        assert_eq!(versions.len(), labels.len());
        let epochs: std::collections::BTreeSet<u64> =
            versions.values().map(|(version, _)| *version).collect();
        assert_eq!(epochs.len(), 1, "one lookup saw epochs {epochs:?}");
        seen.extend(epochs);
        if seen.contains(&6) {
            break;
        }
    }
    writer.await.unwrap();
}

// ------------------------------------------------------------ directory --

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_lookup_history_audit_and_reopen() {
    let Some(test_db) = fresh("publish_lookup_history_audit_and_reopen") else {
        return;
    };
    let before = {
        let db = PgDatabase::open(test_db.url()).unwrap();
        let dir = directory(StorageManager::new(db, None, None, None)).await;
        let hashes = publish_scenario(&dir, 1, 4).await;
        for i in [0, 1, 4, 3 * 3 + 20] {
            check_lookup(&dir, i, 4).await;
            check_history(&dir, i, 4).await;
        }
        check_audit(&dir, 1, 4, &hashes).await;
        hashes
    };

    // A new pool, a new manager, a new directory: same state, and the log
    // goes on.
    let db = PgDatabase::open(test_db.url()).unwrap();
    let dir = directory(StorageManager::new_no_cache(db)).await;
    assert_eq!(dir.get_epoch_hash().await.unwrap(), before[3]);
    let after = publish_scenario(&dir, 5, 6).await;
    let all: Vec<_> = before.into_iter().chain(after).collect();
    check_audit(&dir, 1, 6, &all).await;
    check_lookup(&dir, 0, 6).await;
    check_history(&dir, 0, 6).await;
}

/// The same publishes give the same root hash at every epoch as akd's
/// reference in-memory store, with and without akd's cache in front.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_root_hashes_as_akds_in_memory_store() {
    let Some(plain) = fresh("same_root_hashes_as_akds_in_memory_store") else {
        return;
    };
    let Some(with_cache) = fresh("same_root_hashes_as_akds_in_memory_store") else {
        return;
    };
    let reference = directory(StorageManager::new_no_cache(
        akd::storage::memory::AsyncInMemoryDatabase::new(),
    ))
    .await;
    let ours = directory(StorageManager::new_no_cache(
        PgDatabase::open(plain.url()).unwrap(),
    ))
    .await;
    let cached = directory(StorageManager::new(
        PgDatabase::open(with_cache.url()).unwrap(),
        None,
        None,
        None,
    ))
    .await;
    for epoch in 1..=4 {
        let expected = reference.publish(scenario_updates(epoch)).await.unwrap();
        assert_eq!(
            ours.publish(scenario_updates(epoch)).await.unwrap(),
            expected
        );
        assert_eq!(
            cached.publish(scenario_updates(epoch)).await.unwrap(),
            expected
        );
    }
    // Same values again: akd finds them via get_user_state_versions and
    // publishes nothing.
    let last = ours.get_epoch_hash().await.unwrap();
    assert_eq!(ours.publish(scenario_updates(4)).await.unwrap(), last);
}

/// Two instances on one database (two pools): what one publishes, the
/// other serves and proves at once, as a non-publishing provider instance
/// must.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_serves_what_the_first_published() {
    let Some(test_db) = fresh("a_second_instance_serves_what_the_first_published") else {
        return;
    };
    let publisher = directory(StorageManager::new_no_cache(
        PgDatabase::open(test_db.url()).unwrap(),
    ))
    .await;
    let reader = directory(StorageManager::new_no_cache(
        PgDatabase::open(test_db.url()).unwrap(),
    ))
    .await;
    let hashes = publish_scenario(&publisher, 1, 3).await;
    assert_eq!(reader.get_epoch_hash().await.unwrap(), hashes[2]);
    check_lookup(&reader, 0, 3).await;
    check_history(&reader, 6, 3).await;
    check_audit(&reader, 1, 3, &hashes).await;
}

// --------------------------------------------------------- atomicity --

const FAIL_FUNCTION: &str = "CREATE FUNCTION kt.fail_commit() RETURNS trigger LANGUAGE plpgsql
     AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;";
/// At the very end of the epoch's commit (the Azks record is written last)
/// or in its middle (one value state among the rows).
const FAIL_AT_END: &str = "CREATE TRIGGER fail_commit BEFORE UPDATE ON kt.azks
     FOR EACH ROW EXECUTE FUNCTION kt.fail_commit();";
const FAIL_IN_MIDDLE: &str = "CREATE TRIGGER fail_commit BEFORE INSERT ON kt.value_states
     FOR EACH ROW WHEN (NEW.label = convert_to('poison', 'UTF8'))
     EXECUTE FUNCTION kt.fail_commit();";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_leaves_the_previous_epoch_whole() {
    for trigger in [FAIL_AT_END, FAIL_IN_MIDDLE] {
        let Some(test_db) = fresh("a_failed_commit_leaves_the_previous_epoch_whole") else {
            return;
        };
        let url = test_db.url();
        let dir = directory(StorageManager::new_no_cache(PgDatabase::open(url).unwrap())).await;
        let mut hashes = publish_scenario(&dir, 1, 2).await;
        let before = dump(url);

        sql(url, &format!("{FAIL_FUNCTION}{trigger}"));
        let mut updates = scenario_updates(3);
        updates.push((AkdLabel::from("poison"), AkdValue::from("x")));
        let err = dir.publish(updates.clone()).await.unwrap_err();
        assert!(err.to_string().contains("injected failure"), "{err}");

        // Not one row of epoch 3 reached the database.
        assert!(dump(url) == before, "the failed epoch left rows behind");
        assert_eq!(dir.get_epoch_hash().await.unwrap(), hashes[1]);
        check_lookup(&dir, 0, 2).await;
        check_history(&dir, 4, 2).await;
        check_audit(&dir, 1, 2, &hashes).await;

        // Once the fault is gone the same publish succeeds.
        sql(url, "DROP FUNCTION kt.fail_commit() CASCADE");
        hashes.push(dir.publish(updates).await.unwrap());
        assert_eq!(hashes[2].epoch(), 3);
        check_audit(&dir, 1, 3, &hashes).await;
        check_lookup(&dir, 0, 3).await;
    }
}

// ------------------------------------------------------------ opening --

/// A database a newer build migrated (a migration this build does not
/// know) is refused and left as it is; so is one whose shipped migration
/// was edited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_or_edited_schema_is_refused_untouched() {
    let Some(test_db) = fresh("a_newer_or_edited_schema_is_refused_untouched") else {
        return;
    };
    let url = test_db.url();
    let db = PgDatabase::open(url).unwrap();
    db.set(DbRecord::ValueState(checks::state(b"alice", 1, 1)))
        .await
        .unwrap();
    drop(db);
    sql(
        url,
        "INSERT INTO kt._migrations (version, description, success, checksum, execution_time)
         VALUES (2, 'from a newer build', true, '\\x00', 0)",
    );
    let before = dump(url);
    match PgDatabase::open(url) {
        Err(StoreError::NewerSchema { found, supported }) => {
            assert_eq!((found, supported), (2, POSTGRES_SCHEMA_VERSION));
        }
        other => panic!("{other:?}"),
    }
    assert!(dump(url) == before);

    sql(
        url,
        "DELETE FROM kt._migrations WHERE version = 2;
         UPDATE kt._migrations SET checksum = '\\x00' WHERE version = 1",
    );
    let err = PgDatabase::open(url).unwrap_err();
    assert!(matches!(err, StoreError::Postgres(_)), "{err:?}");
    assert!(dump(url) == before);
}

#[test]
fn a_bad_url_or_unreachable_server_is_refused_without_the_password() {
    let err = PgDatabase::open("sqlite://kt.sqlite3").unwrap_err();
    assert!(matches!(err, StoreError::Postgres(_)), "{err:?}");
    // Port 1 on loopback: nothing listens, the connection is refused.
    let err = PgDatabase::open("postgres://kt:hunter2secret@127.0.0.1:1/kt").unwrap_err();
    assert!(matches!(err, StoreError::Postgres(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2secret"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2secret"), "{err:?}");
}

#[test]
fn clones_share_one_store_and_are_send_sync() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<PgDatabase>();
}
