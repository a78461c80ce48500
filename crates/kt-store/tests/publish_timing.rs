//! One measurement, not a benchmark gate: how long publishing 10,000
//! updates in one epoch takes on a file store, next to akd's in-memory
//! store as the baseline (the difference is the storage's cost). Ignored by
//! default; run each in its own process (peak memory is per process):
//!
//! ```text
//! cargo test --release -p crosslock-kt-store --test publish_timing -- --ignored --nocapture --exact sqlite
//! cargo test --release -p crosslock-kt-store --test publish_timing -- --ignored --nocapture --exact sqlite_with_akd_cache
//! cargo test --release -p crosslock-kt-store --test publish_timing -- --ignored --nocapture --exact akd_in_memory
//! ```
//!
//! `postgres` and `postgres_with_akd_cache` measure `PgDatabase` the same
//! way on the server of `CROSSLOCK_TEST_POSTGRES` (`scripts/postgres
//! start`), in a fresh database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use akd::storage::memory::AsyncInMemoryDatabase;
use akd::storage::{Database, StorageManager};
use common::*;
use crosslock_kt_store::{PgDatabase, SqliteDatabase};

const UPDATES: usize = 10_000;
/// Epochs of 10,000 new labels published before the last measurement.
const GROW_EPOCHS: usize = 9;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "timing measurement; run in release by hand"]
async fn sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("kt.sqlite3");
    let storage = StorageManager::new_no_cache(SqliteDatabase::open(&path).unwrap());
    measure("sqlite, no cache", storage).await;
    print_size(&path);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "timing measurement; run in release by hand"]
async fn sqlite_with_akd_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("kt.sqlite3");
    let storage = StorageManager::new(SqliteDatabase::open(&path).unwrap(), None, None, None);
    measure("sqlite, akd cache (defaults)", storage).await;
    print_size(&path);
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "timing measurement; run in release by hand"]
async fn postgres() {
    let Some(server) = crosslock_pg::testing::server("postgres") else {
        return;
    };
    let test_db = server.database().unwrap();
    let storage = StorageManager::new_no_cache(PgDatabase::open(test_db.url()).unwrap());
    measure("postgres, no cache", storage).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "timing measurement; run in release by hand"]
async fn postgres_with_akd_cache() {
    let Some(server) = crosslock_pg::testing::server("postgres_with_akd_cache") else {
        return;
    };
    let test_db = server.database().unwrap();
    let storage = StorageManager::new(PgDatabase::open(test_db.url()).unwrap(), None, None, None);
    measure("postgres, akd cache (defaults)", storage).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "timing measurement; run in release by hand"]
async fn akd_in_memory() {
    let storage = StorageManager::new_no_cache(AsyncInMemoryDatabase::new());
    measure("akd in-memory (baseline)", storage).await;
}

async fn measure<Db: Database + 'static>(name: &str, storage: StorageManager<Db>) {
    let dir = directory(storage).await;
    let batch = |range: std::ops::Range<usize>, epoch: u64| -> Vec<_> {
        range.map(|i| (label(i), value(i, epoch))).collect()
    };

    let new = timed(dir.publish(batch(0..UPDATES, 1))).await;
    let changed = timed(dir.publish(batch(0..UPDATES, 2))).await;
    let peak_at_10k = peak_memory_kib();
    for k in 1..=GROW_EPOCHS {
        dir.publish(batch(k * UPDATES..(k + 1) * UPDATES, 2 + k as u64))
            .await
            .unwrap();
    }
    // Every tenth label of the 100,000: spread over the whole tree.
    let spread: Vec<_> = (0..UPDATES)
        .map(|k| {
            let i = k * 10 + 3;
            (label(i), value(i, 100))
        })
        .collect();
    let large = timed(dir.publish(spread)).await;
    println!(
        "{name}: 10k new labels into an empty directory {new:.2?}; \
         10k changed labels {changed:.2?}; 10k changes among 100k labels {large:.2?}; \
         peak RSS {} MiB at 10k labels, {} MiB at 100k",
        peak_at_10k >> 10,
        peak_memory_kib() >> 10
    );
}

// Measures how long publishing takes: elapsed wall time.
#[allow(clippy::disallowed_methods)]
async fn timed<T, E: std::fmt::Debug>(work: impl Future<Output = Result<T, E>>) -> Duration {
    let started = Instant::now();
    work.await.unwrap();
    started.elapsed()
}

fn print_size(path: &Path) {
    let wal = path.with_extension("sqlite3-wal");
    let size =
        std::fs::metadata(path).unwrap().len() + std::fs::metadata(wal).map_or(0, |m| m.len());
    println!("file + WAL: {} MiB for 100,000 labels", size >> 20);
}

/// Linux `VmHWM`: the process's peak resident set.
fn peak_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}
