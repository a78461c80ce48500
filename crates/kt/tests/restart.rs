//! The directory survives a restart of the KDS: after the log (and the
//! runtime it ran on) is gone, reopening the same folder with the same key
//! files gives the same roots, histories and audits, and publishing goes on
//! at the next epoch with audits passing across the restart. Opening the
//! folder with other keys or another name is refused, a crash between
//! akd's commit and the root's signature is repaired, and a tampered root
//! store is caught.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use crosslock_credential::PhoneNumber;
use crosslock_kt::server::{KtLog, KtLogOptions, KtServerError, LogKeys, VrfSecret, verify_audit};
use crosslock_kt::{Binding, ProvenBinding, ProvenHistory, SeenRoots, SigningKey, TrustedLog};
use crosslock_wire::api::kt::{AuditAnswer, LogInfo, SignedRoot};

const T1: u64 = NOW + 10;
const T2: u64 = NOW + 20;
const T3: u64 = NOW + 30;
/// The latest root re-signed before the restart.
const T3_REFRESHED: u64 = NOW + 35;
/// After the restart.
const T4: u64 = NOW + 1_000;
const T5: u64 = NOW + 1_010;
/// When clients check.
const T: u64 = NOW + 2_000;

/// A fresh multi-threaded runtime: each run of the KDS gets its own, and
/// loses it on shutdown.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn reopen(dir: &Path, now: u64) -> KtLog {
    KtLog::open(
        dir,
        DIRECTORY,
        LogKeys::load_or_create(dir).unwrap(),
        KtLogOptions::default(),
        now,
    )
    .await
    .unwrap()
}

fn versions(history: &ProvenHistory) -> Vec<(u64, u64, Binding)> {
    history
        .entries
        .iter()
        .map(|e| (e.version, e.epoch, e.binding.clone()))
        .collect()
}

/// Epochs 1 (Alice, Bob enrol), 2 (Alice rolls), 3 (Alice revoked, Carol
/// enrols), and the latest root re-signed.
async fn publish_three_epochs(
    log: &KtLog,
    alice: &PhoneNumber,
    bob: &PhoneNumber,
    carol: &PhoneNumber,
) {
    let enrol = vec![
        (alice.clone(), binding("a1", 1)),
        (bob.clone(), binding("b1", 2)),
    ];
    assert_eq!(log.publish(enrol, T1).await.unwrap().statement.epoch, 1);
    assert_eq!(
        log.publish(vec![(alice.clone(), binding("a1", 3))], T2)
            .await
            .unwrap()
            .statement
            .epoch,
        2
    );
    let update = vec![
        (alice.clone(), Binding::Revoked),
        (carol.clone(), binding("c1", 5)),
    ];
    assert_eq!(log.publish(update, T3).await.unwrap().statement.epoch, 3);
    let refreshed = log.refresh(T3_REFRESHED).await.unwrap();
    assert_eq!(
        (refreshed.statement.epoch, refreshed.statement.signed_at),
        (3, T3_REFRESHED)
    );
}

/// Everything a client or auditor can observe of the log.
#[derive(Debug, PartialEq)]
struct Observed {
    info: LogInfo,
    latest: SignedRoot,
    roots: Vec<SignedRoot>,
    lookups: Vec<ProvenBinding>,
    histories: Vec<ProvenHistory>,
    bindings: Vec<Option<Binding>>,
    audit: AuditAnswer,
}

async fn observe(log: &KtLog, trust: &TrustedLog, numbers: &[PhoneNumber], to: u64) -> Observed {
    let mut lookups = Vec::new();
    let mut histories = Vec::new();
    let mut bindings = Vec::new();
    for n in numbers {
        lookups.push(
            trust
                .verify_lookup(n, &log.lookup(n).await.unwrap(), T)
                .unwrap(),
        );
        histories.push(
            trust
                .verify_history(n, &log.history(n).await.unwrap(), T)
                .unwrap(),
        );
        bindings.push(log.current_binding(n).await.unwrap());
    }
    let audit = log.audit(0, to).await.unwrap();
    let range = verify_audit(&trust.log_key, DIRECTORY, &audit)
        .await
        .unwrap();
    assert_eq!((range.from.epoch, range.to.epoch), (0, to));
    Observed {
        info: log.info().unwrap(),
        latest: log.latest_root().unwrap().unwrap(),
        roots: (0..=to).map(|e| log.root(e).unwrap().unwrap()).collect(),
        lookups,
        histories,
        bindings,
        audit,
    }
}

/// Publish, shut down (log and runtime dropped), reopen from the same
/// folder with the same key files: nothing observable changed; publishing
/// continues at the next epoch; audits pass across the restart; and a
/// second restart changes nothing again.
#[test]
fn directory_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob, carol, dave) = (number(1), number(2), number(3), number(4));
    let numbers = [alice.clone(), bob.clone(), carol.clone()];

    // First run.
    let rt = runtime();
    let (trust, before, old_answer) = rt.block_on(async {
        let log = reopen(dir.path(), NOW).await;
        let trust = trust(&log, vec![], 0);
        publish_three_epochs(&log, &alice, &bob, &carol).await;
        let before = observe(&log, &trust, &numbers, 3).await;
        let old_answer = log.lookup(&bob).await.unwrap();
        drop(log);
        (trust, before, old_answer)
    });
    assert_eq!(before.info.latest_epoch, 3);
    assert_eq!(
        versions(&before.histories[0]),
        vec![
            (1, 1, binding("a1", 1)),
            (2, 2, binding("a1", 3)),
            (3, 3, Binding::Revoked)
        ]
    );
    drop(rt);

    // Second run, much later: the stored root is not re-signed on open.
    let rt = runtime();
    let after = rt.block_on(async {
        let log = reopen(dir.path(), T4 - 100).await;
        assert_eq!(
            (log.log_key(), log.vrf_key()),
            (trust.log_key, trust.vrf_key)
        );
        let after = observe(&log, &trust, &numbers, 3).await;
        assert_eq!(after, before);
        assert_eq!(after.latest.statement.signed_at, T3_REFRESHED);
        // An answer handed out before the restart still verifies, and a
        // device that saw the old view sees no fork in the new one.
        trust.verify_lookup(&bob, &old_answer, T).unwrap();
        let mut seen = SeenRoots::default();
        seen.observe_own(&trust.log_key, &old_answer.root).unwrap();
        seen.observe_own(&trust.log_key, &log.lookup(&bob).await.unwrap().root)
            .unwrap();

        // Publishing goes on at the next epoch.
        let update = vec![
            (bob.clone(), binding("b1", 4)),
            (dave.clone(), binding("d1", 6)),
        ];
        assert_eq!(log.publish(update, T4).await.unwrap().statement.epoch, 4);
        let again = vec![(alice.clone(), binding("a2", 8))];
        assert_eq!(log.publish(again, T5).await.unwrap().statement.epoch, 5);
        seen.observe_own(&trust.log_key, &log.lookup(&bob).await.unwrap().root)
            .unwrap();
        assert_eq!(seen.newest_epoch(DIRECTORY), 5);

        // Audits across the restart boundary, from every starting epoch.
        for from in 0..=4 {
            let audit = log.audit(from, 5).await.unwrap();
            let range = verify_audit(&trust.log_key, DIRECTORY, &audit)
                .await
                .unwrap();
            assert_eq!((range.from.epoch, range.to.epoch), (from, 5));
        }
        let audit = log.audit(3, 4).await.unwrap();
        verify_audit(&trust.log_key, DIRECTORY, &audit)
            .await
            .unwrap();

        let numbers = [alice.clone(), bob.clone(), carol.clone(), dave.clone()];
        let after = observe(&log, &trust, &numbers, 5).await;
        drop(log);
        after
    });
    drop(rt);
    // The roots from before the restart are the first ones of the new audit.
    assert_eq!(after.roots[..4], before.roots[..]);
    assert_eq!(after.audit.roots[..4], before.audit.roots[..]);
    // (The append-only proofs of epochs 0..=3 are not compared: akd builds
    // a past epoch's proof from the current tree, so once epochs 4 and 5
    // exist it may send a different, equally valid proof, restart or not.
    // At the same state they are identical: `after == before` above.)
    assert_eq!(
        versions(&after.histories[0]),
        vec![
            (1, 1, binding("a1", 1)),
            (2, 2, binding("a1", 3)),
            (3, 3, Binding::Revoked),
            (4, 5, binding("a2", 8)),
        ]
    );
    assert_eq!(
        versions(&after.histories[1]),
        vec![(1, 1, binding("b1", 2)), (2, 4, binding("b1", 4))]
    );
    assert_eq!(
        versions(&after.histories[2]),
        vec![(1, 3, binding("c1", 5))]
    );
    assert_eq!(
        versions(&after.histories[3]),
        vec![(1, 4, binding("d1", 6))]
    );
    assert_eq!(after.lookups[0].binding, binding("a2", 8));
    assert_eq!(
        (after.lookups[1].version, after.lookups[1].since_epoch),
        (2, 4)
    );

    // Third run: the post-restart epochs survive a restart too.
    let rt = runtime();
    rt.block_on(async {
        let log = reopen(dir.path(), T).await;
        let numbers = [alice.clone(), bob.clone(), carol.clone(), dave.clone()];
        assert_eq!(observe(&log, &trust, &numbers, 5).await, after);
    });
}

/// The folder's root store remembers the directory name, log key and VRF
/// key it was made with: other keys or another name are refused (and the
/// refusals leave the directory intact).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_with_other_keys_or_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let db = dir.path().join("db");
    let log = open_log(
        &db,
        LogKeys::load_or_create(&keys_dir).unwrap(),
        KtLogOptions::default(),
    )
    .await;
    let trust = trust(&log, vec![], 0);
    let (alice, bob, carol) = (number(1), number(2), number(3));
    publish_three_epochs(&log, &alice, &bob, &carol).await;
    let before = observe(&log, &trust, &[alice.clone(), bob.clone()], 3).await;
    drop(log);

    let ours = || LogKeys::load_or_create(&keys_dir).unwrap();
    let open = |directory: &'static str, keys: LogKeys| {
        let db = db.clone();
        async move { KtLog::open(&db, directory, keys, KtLogOptions::default(), T).await }
    };
    let refused = |result: Result<KtLog, KtServerError>, expected: &str| match result {
        Err(KtServerError::Mismatch { what, .. }) => assert!(what.contains(expected), "{what}"),
        other => panic!("{expected}: {other:?}"),
    };
    refused(
        open(DIRECTORY, LogKeys::generate().unwrap()).await,
        "log key",
    );
    let other_vrf = LogKeys {
        log_key: ours().log_key,
        vrf: VrfSecret::generate(),
    };
    refused(open(DIRECTORY, other_vrf).await, "VRF key");
    let other_log_key = LogKeys {
        log_key: SigningKey::generate().unwrap(),
        vrf: ours().vrf,
    };
    refused(open(DIRECTORY, other_log_key).await, "log key");
    refused(open("kds.b.example", ours()).await, "directory");

    let log = open(DIRECTORY, ours()).await.unwrap();
    assert_eq!(
        observe(&log, &trust, &[alice.clone(), bob.clone()], 3).await,
        before
    );
    log.publish(vec![(bob.clone(), binding("b1", 9))], T4)
        .await
        .unwrap();
    let audit = log.audit(0, 4).await.unwrap();
    verify_audit(&trust.log_key, DIRECTORY, &audit)
        .await
        .unwrap();
}

/// Runs `sql` on the root store of the (closed) log in `dir`.
fn roots_sql(dir: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(dir.join("kt-roots.sqlite3")).unwrap();
    conn.execute_batch(sql).unwrap();
}

/// A crash after akd committed an epoch but before its root was signed
/// (simulated by removing the stored root): reopening signs it, with the
/// same hash, and audits pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_lost_in_a_crash_is_signed_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob, carol) = (number(1), number(2), number(3));
    let log = reopen(dir.path(), NOW).await;
    let trust = trust(&log, vec![], 0);
    publish_three_epochs(&log, &alice, &bob, &carol).await;
    let lost = log.latest_root().unwrap().unwrap();
    drop(log);
    roots_sql(
        dir.path(),
        "DELETE FROM roots WHERE epoch = 3; DELETE FROM cosignatures WHERE epoch = 3;",
    );

    let log = reopen(dir.path(), T4).await;
    let signed = log.latest_root().unwrap().unwrap();
    assert_eq!(signed.statement.epoch, 3);
    assert_eq!(signed.statement.root_hash, lost.statement.root_hash);
    assert_eq!(signed.statement.signed_at, T4);
    assert_eq!(trust.verify_root(&signed, T).unwrap().epoch, 3);
    let observed = observe(
        &log,
        &trust,
        &[alice.clone(), bob.clone(), carol.clone()],
        3,
    )
    .await;
    assert_eq!(versions(&observed.histories[0]).len(), 3);
    assert_eq!(
        log.publish(vec![(bob.clone(), binding("b1", 9))], T5)
            .await
            .unwrap()
            .statement
            .epoch,
        4
    );
    verify_audit(&trust.log_key, DIRECTORY, &log.audit(0, 4).await.unwrap())
        .await
        .unwrap();
}

/// A root store that disagrees with the directory is refused on open (the
/// latest root altered, or a root for an epoch akd never committed); an
/// older root altered in place is caught by the audit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_root_store_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob, carol) = (number(1), number(2), number(3));
    let log = reopen(dir.path(), NOW).await;
    let trust = trust(&log, vec![], 0);
    publish_three_epochs(&log, &alice, &bob, &carol).await;
    let latest = log.latest_root().unwrap().unwrap();
    drop(log);
    let open = || async {
        let keys = LogKeys::load_or_create(dir.path()).unwrap();
        KtLog::open(dir.path(), DIRECTORY, keys, KtLogOptions::default(), T).await
    };
    let mismatch = |result: Result<KtLog, KtServerError>, expected: &str| match result {
        Err(KtServerError::Mismatch { what, .. }) => assert!(what.contains(expected), "{what}"),
        other => panic!("{expected}: {other:?}"),
    };

    roots_sql(
        dir.path(),
        "UPDATE roots SET root_hash = zeroblob(32) WHERE epoch = 3;",
    );
    mismatch(open().await, "a different root for epoch 3");
    let original = hex::encode(&latest.statement.root_hash.0);
    roots_sql(
        dir.path(),
        &format!("UPDATE roots SET root_hash = X'{original}' WHERE epoch = 3;"),
    );

    roots_sql(
        dir.path(),
        "INSERT INTO roots SELECT 4, root_hash, signed_at, log_signature FROM roots WHERE epoch = 3;",
    );
    mismatch(open().await, "ahead of the directory");
    roots_sql(dir.path(), "DELETE FROM roots WHERE epoch = 4;");

    // An older root rewritten in place: the log opens (it checks only the
    // latest against akd), but no audit through that epoch passes.
    roots_sql(
        dir.path(),
        "UPDATE roots SET root_hash = zeroblob(32) WHERE epoch = 1;",
    );
    let log = open().await.unwrap();
    assert_eq!(log.latest_root().unwrap().unwrap(), latest);
    for from in [0, 1] {
        let result = verify_audit(
            &trust.log_key,
            DIRECTORY,
            &log.audit(from, 3).await.unwrap(),
        )
        .await;
        assert_eq!(
            result,
            Err(crosslock_kt::KtError::BadLogSignature { epoch: 1 }),
            "from {from}"
        );
    }
    verify_audit(&trust.log_key, DIRECTORY, &log.audit(2, 3).await.unwrap())
        .await
        .unwrap();
}

/// The key files come as a pair: one without the other is refused, so a
/// lost VRF key is never silently replaced.
#[test]
fn key_files_come_as_a_pair() {
    let dir = tempfile::tempdir().unwrap();
    let keys = LogKeys::load_or_create(dir.path()).unwrap();
    let again = LogKeys::load_or_create(dir.path()).unwrap();
    assert_eq!(keys.log_key.public_key(), again.log_key.public_key());
    assert_eq!(keys.vrf.public_key(), again.vrf.public_key());
    #[cfg(unix)]
    for file in ["log-key.pk8", "vrf.key"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let vrf = std::fs::read(dir.path().join("vrf.key")).unwrap();
    std::fs::remove_file(dir.path().join("vrf.key")).unwrap();
    let result = LogKeys::load_or_create(dir.path());
    assert!(
        matches!(result, Err(KtServerError::KeyFile { .. })),
        "{result:?}"
    );
    std::fs::write(dir.path().join("vrf.key"), &vrf[..31]).unwrap();
    let result = LogKeys::load_or_create(dir.path());
    assert!(
        matches!(result, Err(KtServerError::KeyFile { .. })),
        "{result:?}"
    );
    std::fs::remove_file(dir.path().join("log-key.pk8")).unwrap();
    let result = LogKeys::load_or_create(dir.path());
    assert!(
        matches!(result, Err(KtServerError::KeyFile { .. })),
        "{result:?}"
    );
}

/// The directory name and keys a folder was made with are recorded only in
/// the root store (`kt-roots.sqlite3`): with that file lost, other keys are
/// taken over the existing akd file, the current epoch is re-signed with
/// the new log key, existing numbers' proofs stop verifying and new
/// publications mix two VRF keys in one tree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_root_store_does_not_let_other_keys_in() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob, carol) = (number(1), number(2), number(3));
    let log = open_log(
        dir.path(),
        LogKeys::generate().unwrap(),
        KtLogOptions::default(),
    )
    .await;
    publish_three_epochs(&log, &alice, &bob, &carol).await;
    drop(log);
    for file in [
        "kt-roots.sqlite3",
        "kt-roots.sqlite3-wal",
        "kt-roots.sqlite3-shm",
    ] {
        let _ = std::fs::remove_file(dir.path().join(file));
    }
    let result = KtLog::open(
        dir.path(),
        DIRECTORY,
        LogKeys::generate().unwrap(),
        KtLogOptions::default(),
        T,
    )
    .await;
    assert!(
        matches!(result, Err(KtServerError::Mismatch { .. })),
        "{result:?}"
    );
}
