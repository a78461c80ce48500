//! An akd directory on the SQLite store: publish, lookup, history and
//! audit, each verified with akd's client checks; the same root hashes as
//! akd's own in-memory store; and everything intact after a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use akd::storage::StorageManager;
use akd::storage::memory::AsyncInMemoryDatabase;
use common::*;
use crosslock_kt_store::SqliteDatabase;

const EPOCHS: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_lookup_history_audit_on_a_file() {
    let dir_path = tempfile::tempdir().unwrap();
    let db = SqliteDatabase::open(&dir_path.path().join("kt.sqlite3")).unwrap();
    let dir = directory(StorageManager::new_no_cache(db)).await;

    let hashes = publish_scenario(&dir, 1, EPOCHS).await;
    assert_eq!(dir.get_epoch_hash().await.unwrap(), hashes[3]);

    // label 0 changes every epoch; 1 only at epoch 1; 4 at epochs 1, 2 and 4.
    for i in [0, 1, 4, 3 * 3 + 20] {
        check_lookup(&dir, i, EPOCHS).await;
        check_history(&dir, i, EPOCHS).await;
    }
    check_audit(&dir, 1, EPOCHS, &hashes).await;
    check_audit(&dir, 2, 3, &hashes[1..3]).await;
}

/// The store is a faithful akd storage layer: the same publishes give the
/// same root hash at every epoch as akd's reference in-memory store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_root_hashes_as_akds_in_memory_store() {
    let reference = directory(StorageManager::new_no_cache(AsyncInMemoryDatabase::new())).await;
    let ours = directory(StorageManager::new_no_cache(
        SqliteDatabase::open_in_memory().unwrap(),
    ))
    .await;
    // And with akd's cache in front (its preloading then uses batch_get).
    let cached = directory(StorageManager::new(
        SqliteDatabase::open_in_memory().unwrap(),
        None,
        None,
        None,
    ))
    .await;
    assert_eq!(
        reference.get_epoch_hash().await.unwrap(),
        ours.get_epoch_hash().await.unwrap()
    );
    for epoch in 1..=EPOCHS {
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
    check_lookup(&cached, 0, EPOCHS).await;
    check_history(&cached, 0, EPOCHS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republishing_the_same_value_is_a_no_op() {
    let dir = directory(StorageManager::new_no_cache(
        SqliteDatabase::open_in_memory().unwrap(),
    ))
    .await;
    let first = publish_scenario(&dir, 1, 1).await;
    // Same values again: akd finds them via get_user_state_versions and skips.
    assert_eq!(dir.publish(scenario_updates(1)).await.unwrap(), first[0]);
}

/// Publish, drop everything, reopen the file with a new manager and
/// directory: same epoch, root, lookups and histories; publishing goes on
/// and audits across the restart verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_restart() {
    let dir_path = tempfile::tempdir().unwrap();
    let path = dir_path.path().join("kt.sqlite3");

    let before = {
        let db = SqliteDatabase::open(&path).unwrap();
        let dir = directory(StorageManager::new(db, None, None, None)).await;
        publish_scenario(&dir, 1, 3).await
    };

    let db = SqliteDatabase::open(&path).unwrap();
    let dir = directory(StorageManager::new_no_cache(db)).await;
    assert_eq!(dir.get_epoch_hash().await.unwrap(), before[2]);
    for i in [0, 1, 3, 26] {
        check_lookup(&dir, i, 3).await;
        check_history(&dir, i, 3).await;
    }

    let after = publish_scenario(&dir, 4, 5).await;
    let all: Vec<_> = before.into_iter().chain(after).collect();
    check_audit(&dir, 1, 5, &all).await;
    check_audit(&dir, 3, 4, &all[2..4]).await;
    check_lookup(&dir, 0, 5).await;
    check_history(&dir, 0, 5).await;
}
