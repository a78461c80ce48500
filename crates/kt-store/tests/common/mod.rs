//! Shared helpers: a directory on a given store, deterministic updates, and
//! the client-side checks (lookup, history, audit) that prove a directory
//! read back from storage is the one that was published.
#![allow(dead_code, unreachable_pub)]

pub mod checks;

use akd::client::{key_history_verify, lookup_verify};
use akd::ecvrf::HardCodedAkdVRF;
use akd::storage::{Database, StorageManager};
use akd::{
    AkdLabel, AkdValue, AzksParallelismConfig, Directory, EpochHash, HistoryParams,
    HistoryVerificationParams,
};

pub type Config = akd::ExperimentalConfiguration<akd::ExampleLabel>;
pub type Dir<Db> = Directory<Config, Db, HardCodedAkdVRF>;

pub async fn directory<Db: Database + 'static>(storage: StorageManager<Db>) -> Dir<Db> {
    Directory::new(storage, HardCodedAkdVRF, AzksParallelismConfig::default())
        .await
        .expect("directory")
}

pub fn label(i: usize) -> AkdLabel {
    AkdLabel(format!("+1555{i:07}").into_bytes())
}

pub fn value(i: usize, epoch: u64) -> AkdValue {
    AkdValue(format!("key-of-{i}-at-{epoch}").into_bytes())
}

/// The updates of epoch `epoch` in the shared scenario: epoch 1 adds labels
/// 0..20, later epochs change a few old labels and add a few new ones.
pub fn scenario_updates(epoch: u64) -> Vec<(AkdLabel, AkdValue)> {
    let ids: Vec<usize> = if epoch == 1 {
        (0..20).collect()
    } else {
        let e = epoch as usize;
        vec![0, e, 2 * e, 20 + 3 * e, 21 + 3 * e, 22 + 3 * e]
    };
    ids.into_iter()
        .map(|i| (label(i), value(i, epoch)))
        .collect()
}

/// The value and version label `i` has after the scenario's epochs
/// `1..=through`, or `None` if it never appeared.
pub fn expected_state(i: usize, through: u64) -> Option<(AkdValue, u64)> {
    let mut state = None;
    for epoch in 1..=through {
        if scenario_updates(epoch).iter().any(|(l, _)| *l == label(i)) {
            let version = state.as_ref().map_or(1, |(_, v)| v + 1);
            state = Some((value(i, epoch), version));
        }
    }
    state
}

/// Publishes scenario epochs `from..=to`, returning their root hashes.
pub async fn publish_scenario<Db: Database + 'static>(
    dir: &Dir<Db>,
    from: u64,
    to: u64,
) -> Vec<EpochHash> {
    let mut hashes = Vec::new();
    for epoch in from..=to {
        let hash = dir.publish(scenario_updates(epoch)).await.expect("publish");
        assert_eq!(hash.epoch(), epoch);
        hashes.push(hash);
    }
    hashes
}

/// Looks `i` up and verifies the proof against the directory's current
/// root; checks value and version against the scenario through `epoch`.
pub async fn check_lookup<Db: Database + 'static>(dir: &Dir<Db>, i: usize, epoch: u64) {
    let (expected_value, expected_version) = expected_state(i, epoch).expect("label in scenario");
    let public_key = dir.get_public_key().await.expect("vrf key");
    let (proof, root) = dir.lookup(label(i)).await.expect("lookup");
    assert_eq!(root.epoch(), epoch);
    let result = lookup_verify::<Config>(
        public_key.as_bytes(),
        root.hash(),
        root.epoch(),
        label(i),
        proof,
    )
    .expect("lookup proof verifies");
    assert_eq!(result.value, expected_value);
    assert_eq!(result.version, expected_version);
}

/// Gets the complete key history of `i` and verifies it; checks that it
/// lists every version, newest first.
pub async fn check_history<Db: Database + 'static>(dir: &Dir<Db>, i: usize, epoch: u64) {
    let (_, latest_version) = expected_state(i, epoch).expect("label in scenario");
    let public_key = dir.get_public_key().await.expect("vrf key");
    let (proof, root) = dir
        .key_history(&label(i), HistoryParams::Complete)
        .await
        .expect("key history");
    let results = key_history_verify::<Config>(
        public_key.as_bytes(),
        root.hash(),
        root.epoch(),
        label(i),
        proof,
        HistoryVerificationParams::Default {
            history_params: HistoryParams::Complete,
        },
    )
    .expect("history proof verifies");
    let versions: Vec<u64> = results.iter().map(|r| r.version).collect();
    assert_eq!(versions, (1..=latest_version).rev().collect::<Vec<_>>());
    for result in &results {
        assert_eq!(result.value, value(i, result.epoch));
    }
}

/// Audits epochs `start..=end` against the given root hashes (one per
/// epoch, `hashes[k]` for epoch `start + k`).
pub async fn check_audit<Db: Database + 'static>(
    dir: &Dir<Db>,
    start: u64,
    end: u64,
    hashes: &[EpochHash],
) {
    assert_eq!(hashes.len() as u64, end - start + 1);
    let proof = dir.audit(start, end).await.expect("audit proof");
    akd::auditor::audit_verify::<Config>(hashes.iter().map(EpochHash::hash).collect(), proof)
        .await
        .expect("audit verifies");
}
