//! The directory end to end: enrol, roll a key, revoke; lookup, history and
//! audit proofs verify, and every forgery a malicious log could try fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use crosslock_kt::server::{KtLogOptions, LogKeys, verify_audit};
use crosslock_kt::{Binding, KtError};
use crosslock_wire::api::B64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrol_roll_revoke_history_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(
        dir.path(),
        LogKeys::generate().unwrap(),
        KtLogOptions::default(),
    )
    .await;
    let trust = trust(&log, vec![], 0);
    let alice = number(1);
    let bob = number(2);

    // Epoch 1: both enrol.
    let r1 = log
        .publish(
            vec![
                (alice.clone(), binding("a1", 1)),
                (bob.clone(), binding("b1", 2)),
            ],
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(r1.statement.epoch, 1);
    // Epoch 2: Alice rolls her key. Epoch 3: Alice is revoked.
    log.publish(vec![(alice.clone(), binding("a1", 3))], NOW + 10)
        .await
        .unwrap();
    let r3 = log
        .publish(vec![(alice.clone(), Binding::Revoked)], NOW + 20)
        .await
        .unwrap();
    assert_eq!(r3.statement.epoch, 3);
    // Publishing an unchanged binding makes no epoch.
    let same = log
        .publish(vec![(bob.clone(), binding("b1", 2))], NOW + 30)
        .await
        .unwrap();
    assert_eq!(same.statement.epoch, 3);

    let proven = trust
        .verify_lookup(&bob, &log.lookup(&bob).await.unwrap(), NOW + 40)
        .unwrap();
    assert_eq!(
        (proven.root.epoch, proven.version, proven.since_epoch),
        (3, 1, 1)
    );
    assert_eq!(proven.binding, binding("b1", 2));
    let proven = trust
        .verify_lookup(&alice, &log.lookup(&alice).await.unwrap(), NOW + 40)
        .unwrap();
    assert_eq!(
        (proven.version, proven.binding.clone()),
        (3, Binding::Revoked)
    );

    let history = trust
        .verify_history(&alice, &log.history(&alice).await.unwrap(), NOW + 40)
        .unwrap();
    let versions: Vec<(u64, u64, Binding)> = history
        .entries
        .iter()
        .map(|e| (e.version, e.epoch, e.binding.clone()))
        .collect();
    assert_eq!(
        versions,
        vec![
            (1, 1, binding("a1", 1)),
            (2, 2, binding("a1", 3)),
            (3, 3, Binding::Revoked)
        ]
    );

    let audit = log.audit(0, 3).await.unwrap();
    assert_eq!(audit.roots.len(), 4);
    let range = verify_audit(&log.log_key(), DIRECTORY, &audit)
        .await
        .unwrap();
    assert_eq!((range.from.epoch, range.to.epoch), (0, 3));

    // A proof for another number does not verify as Alice's.
    let bobs = log.lookup(&bob).await.unwrap();
    assert!(matches!(
        trust.verify_lookup(&alice, &bobs, NOW + 40),
        Err(KtError::ProofInvalid { .. })
    ));
    // A forged proof: one byte flipped anywhere in it. akd leaves a few
    // bits unhashed (a sibling label's, direction padding); a flip there
    // proves exactly what the original did, never anything else.
    let genuine = trust.verify_lookup(&bob, &bobs, NOW + 40).unwrap();
    let mut refused = 0;
    for i in (0..bobs.proof.0.len()).step_by(7) {
        let mut forged = bobs.clone();
        forged.proof.0[i] ^= 1;
        match trust.verify_lookup(&bob, &forged, NOW + 40) {
            Err(KtError::ProofInvalid { .. } | KtError::Malformed { .. }) => refused += 1,
            Ok(proven) => assert_eq!(proven, genuine, "byte {i} flipped proved something else"),
            Err(other) => panic!("byte {i} flipped: unexpected {other:?}"),
        }
    }
    assert!(
        refused * 10 >= bobs.proof.0.len() / 7 * 9,
        "only {refused} flips refused"
    );
    // A root whose hash was swapped, or whose signature was not the log's.
    let mut wrong_root = bobs.clone();
    wrong_root.root.statement.root_hash = B64(vec![7; 32]);
    assert!(matches!(
        trust.verify_lookup(&bob, &wrong_root, NOW + 40),
        Err(KtError::BadLogSignature { .. })
    ));
    // A tampered audit proof fails.
    let mut bad_audit = audit.clone();
    let last = bad_audit.proofs.len() - 1;
    let mid = bad_audit.proofs[last].0.len() / 2;
    bad_audit.proofs[last].0[mid] ^= 1;
    assert!(
        verify_audit(&log.log_key(), DIRECTORY, &bad_audit)
            .await
            .is_err()
    );
}
