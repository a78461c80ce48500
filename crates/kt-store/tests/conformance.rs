//! The store against akd's storage conformance suite, and against akd's own
//! in-memory store answer by answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use akd::storage::tests::run_test_cases_for_storage_impl;
use common::checks;
use crosslock_kt_store::SqliteDatabase;

#[tokio::test]
async fn akd_suite_in_memory() {
    run_test_cases_for_storage_impl(SqliteDatabase::open_in_memory().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akd_suite_on_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDatabase::open(&dir.path().join("kt.sqlite3")).unwrap();
    run_test_cases_for_storage_impl(db).await;
}

/// Histories with gaps, an empty label, a label with one state, a repeated
/// version: every retrieval flag, single and batched, answers exactly as
/// akd's in-memory store does.
#[tokio::test]
async fn every_flag_answers_like_akds_in_memory_store() {
    let db = SqliteDatabase::open_in_memory().unwrap();
    checks::every_flag_answers_like_akds_in_memory_store(&db).await;
}

#[tokio::test]
async fn records_round_trip_and_missing_ones_are_not_found() {
    let db = SqliteDatabase::open_in_memory().unwrap();
    checks::records_round_trip_and_missing_ones_are_not_found(&db).await;
}

#[tokio::test]
async fn epochs_past_i64_are_refused_not_wrapped() {
    let db = SqliteDatabase::open_in_memory().unwrap();
    checks::epochs_past_i64_are_refused_not_wrapped(&db).await;
}
