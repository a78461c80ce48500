//! Forgeries a malicious log (or anyone on the path) would want a client,
//! witness or auditor to accept, and the exact refusal each one meets:
//! tampered lookup and history proofs, proofs for another number, stale
//! epochs, stale or future roots, roots of another key or directory,
//! co-signatures that must not count, and tampered audits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use akd_core::proto::specs::types as proto;
use common::*;
use crosslock_credential::PhoneNumber;
use crosslock_kt::server::{KtLog, KtLogOptions, LogKeys, verify_audit};
use crosslock_kt::{
    Binding, KtError, MAX_CLOCK_SKEW_SECS, SeenRoots, SigningKey, TrustedLog, cosign, sign_root,
};
use crosslock_wire::api::B64;
use crosslock_wire::api::kt::{AuditAnswer, HistoryAnswer, LookupAnswer, SignedRoot};
use protobuf::{Message, MessageField};

/// When the fixture's epochs 1, 2 and 3 were signed.
const T1: u64 = NOW + 10;
const T2: u64 = NOW + 20;
const T3: u64 = NOW + 30;
/// When the client checks.
const T: u64 = NOW + 100;

/// A log with three epochs: 1 Alice, Bob and Carol enrol; 2 Alice rolls her
/// key; 3 Carol is revoked.
struct Fixture {
    dir: tempfile::TempDir,
    log: KtLog,
    trust: TrustedLog,
    /// A copy of the log's signing key: what a malicious log signs with.
    log_key: SigningKey,
    alice: PhoneNumber,
    bob: PhoneNumber,
    carol: PhoneNumber,
    /// Alice's lookup answer at epoch 1 (her first key), kept for replays.
    alice_at_1: LookupAnswer,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let keys = LogKeys::load_or_create(&keys_dir).unwrap();
    let log_key = LogKeys::load_or_create(&keys_dir).unwrap().log_key;
    let log = open_log(&dir.path().join("db"), keys, KtLogOptions::default()).await;
    let trust = trust(&log, vec![], 0);
    let (alice, bob, carol) = (number(1), number(2), number(3));
    let enrol = vec![
        (alice.clone(), binding("a1", 1)),
        (bob.clone(), binding("b1", 2)),
        (carol.clone(), binding("c1", 5)),
    ];
    assert_eq!(log.publish(enrol, T1).await.unwrap().statement.epoch, 1);
    let alice_at_1 = log.lookup(&alice).await.unwrap();
    let roll = vec![(alice.clone(), binding("a1", 3))];
    assert_eq!(log.publish(roll, T2).await.unwrap().statement.epoch, 2);
    let revoke = vec![(carol.clone(), Binding::Revoked)];
    assert_eq!(log.publish(revoke, T3).await.unwrap().statement.epoch, 3);
    Fixture {
        dir,
        log,
        trust,
        log_key,
        alice,
        bob,
        carol,
        alice_at_1,
    }
}

fn other_key() -> SigningKey {
    SigningKey::generate().unwrap()
}

/// The lookup answer with its akd proof edited.
fn edit_lookup(answer: &LookupAnswer, edit: impl FnOnce(&mut proto::LookupProof)) -> LookupAnswer {
    let mut proof = proto::LookupProof::parse_from_bytes(&answer.proof.0).unwrap();
    edit(&mut proof);
    LookupAnswer {
        root: answer.root.clone(),
        proof: B64(proof.write_to_bytes().unwrap()),
    }
}

/// The history answer with its akd proof edited.
fn edit_history(
    answer: &HistoryAnswer,
    edit: impl FnOnce(&mut proto::HistoryProof),
) -> HistoryAnswer {
    let mut proof = proto::HistoryProof::parse_from_bytes(&answer.proof.0).unwrap();
    edit(&mut proof);
    HistoryAnswer {
        root: answer.root.clone(),
        proof: B64(proof.write_to_bytes().unwrap()),
    }
}

fn flip(bytes: &mut Option<Vec<u8>>) {
    let bytes = bytes.as_mut().expect("field present");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
}

fn flip_membership(proof: &mut MessageField<proto::MembershipProof>) {
    flip(&mut proof.as_mut().expect("membership proof present").hash_val);
}

fn proof_invalid<T: std::fmt::Debug>(result: Result<T, KtError>, case: &str) {
    assert!(
        matches!(result, Err(KtError::ProofInvalid { .. })),
        "{case}: {result:?}"
    );
}

fn malformed<T: std::fmt::Debug>(result: Result<T, KtError>, case: &str) {
    assert!(
        matches!(result, Err(KtError::Malformed { .. })),
        "{case}: {result:?}"
    );
}

fn bad_log_signature<T: std::fmt::Debug>(result: Result<T, KtError>, case: &str) {
    assert!(
        matches!(result, Err(KtError::BadLogSignature { .. })),
        "{case}: {result:?}"
    );
}

// ---------------------------------------------------------------------------
// Lookup proofs
// ---------------------------------------------------------------------------

/// Every single-bit flip (low and high bit of every byte) of a genuine
/// lookup proof is refused, or changes nothing the client learns: akd's
/// protobuf encoding has a few bits that are not authenticated (the label
/// of the top-level sibling of each membership proof, which the verifier
/// never hashes, and the masked-off high bits of sibling directions), so
/// "every byte is refused" does not hold; "no flip proves anything else"
/// does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_lookup_proof_bits_never_prove_anything_else() {
    let f = fixture().await;
    let answer = f.log.lookup(&f.alice).await.unwrap();
    let genuine = f.trust.verify_lookup(&f.alice, &answer, T).unwrap();
    assert_eq!(
        (genuine.version, genuine.binding.clone()),
        (2, binding("a1", 3))
    );
    let (mut refused, mut harmless) = (0usize, 0usize);
    for i in 0..answer.proof.0.len() {
        for bit in [0x01u8, 0x80] {
            let mut forged = answer.clone();
            forged.proof.0[i] ^= bit;
            match f.trust.verify_lookup(&f.alice, &forged, T) {
                Err(KtError::ProofInvalid { .. } | KtError::Malformed { .. }) => refused += 1,
                Ok(proven) if proven == genuine => harmless += 1,
                other => panic!("byte {i} bit {bit:#04x} flipped: {other:?}"),
            }
        }
    }
    // The unauthenticated bits are a handful out of thousands.
    assert!(
        harmless * 50 < refused,
        "{harmless} harmless flips, {refused} refused"
    );
}

/// Edits of every authenticated field of a lookup proof, including the
/// ones an attacker wants most (another binding, an older version), are
/// refused as invalid proofs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_lookup_proof_fields_are_refused() {
    let f = fixture().await;
    let answer = f.log.lookup(&f.alice).await.unwrap();
    let evil = binding("a1", 66).encode();
    type Edit = Box<dyn FnOnce(&mut proto::LookupProof)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "a key of the attacker's",
            Box::new(move |p| p.value = Some(evil)),
        ),
        (
            "a revocation",
            Box::new(|p| p.value = Some(Binding::Revoked.encode())),
        ),
        (
            "an older value",
            Box::new(|p| p.value = Some(binding("a1", 1).encode())),
        ),
        ("an older version", Box::new(|p| p.version = Some(1))),
        ("a newer version", Box::new(|p| p.version = Some(3))),
        ("another publication epoch", Box::new(|p| p.epoch = Some(1))),
        (
            "commitment nonce",
            Box::new(|p| flip(&mut p.commitment_nonce)),
        ),
        (
            "existence VRF proof",
            Box::new(|p| flip(&mut p.existence_vrf_proof)),
        ),
        (
            "existence proof",
            Box::new(|p| flip_membership(&mut p.existence_proof)),
        ),
        (
            "marker VRF proof",
            Box::new(|p| flip(&mut p.marker_vrf_proof)),
        ),
        (
            "marker proof",
            Box::new(|p| flip_membership(&mut p.marker_proof)),
        ),
        (
            "freshness VRF proof",
            Box::new(|p| flip(&mut p.freshness_vrf_proof)),
        ),
        (
            "existence sibling hash",
            Box::new(|p| {
                let proof = p.existence_proof.as_mut().unwrap();
                flip(&mut proof.sibling_proofs.last_mut().unwrap().siblings[0].value);
            }),
        ),
        (
            "freshness longest-prefix child",
            Box::new(|p| {
                let proof = p.freshness_proof.as_mut().unwrap();
                flip(&mut proof.longest_prefix_children[0].value);
            }),
        ),
    ];
    for (case, edit) in cases {
        proof_invalid(
            f.trust
                .verify_lookup(&f.alice, &edit_lookup(&answer, edit), T),
            case,
        );
    }
    // Parts left out do not even parse as an akd proof.
    let removed = edit_lookup(&answer, |p| p.freshness_proof = MessageField::none());
    malformed(
        f.trust.verify_lookup(&f.alice, &removed, T),
        "no freshness proof",
    );
    let removed = edit_lookup(&answer, |p| p.existence_vrf_proof = None);
    malformed(
        f.trust.verify_lookup(&f.alice, &removed, T),
        "no existence VRF proof",
    );
}

/// Empty, truncated and garbage proofs are refused before anything is
/// believed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_or_garbage_lookup_proofs_are_refused() {
    let f = fixture().await;
    let answer = f.log.lookup(&f.alice).await.unwrap();
    let with_proof = |bytes: Vec<u8>| LookupAnswer {
        root: answer.root.clone(),
        proof: B64(bytes),
    };

    malformed(
        f.trust.verify_lookup(&f.alice, &with_proof(vec![]), T),
        "empty proof",
    );
    for len in (1..answer.proof.0.len()).step_by(13) {
        let cut = with_proof(answer.proof.0[..len].to_vec());
        let result = f.trust.verify_lookup(&f.alice, &cut, T);
        assert!(
            matches!(
                result,
                Err(KtError::Malformed { .. } | KtError::ProofInvalid { .. })
            ),
            "truncated to {len}: {result:?}"
        );
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let garbage: Vec<u8> = (0..answer.proof.0.len())
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let result = f.trust.verify_lookup(&f.alice, &with_proof(garbage), T);
    assert!(
        matches!(
            result,
            Err(KtError::Malformed { .. } | KtError::ProofInvalid { .. })
        ),
        "garbage: {result:?}"
    );
    // A genuine proof of another kind (Alice's history) is not a lookup proof.
    let history = f.log.history(&f.alice).await.unwrap();
    let result = f
        .trust
        .verify_lookup(&f.alice, &with_proof(history.proof.0), T);
    assert!(
        matches!(
            result,
            Err(KtError::Malformed { .. } | KtError::ProofInvalid { .. })
        ),
        "history proof as lookup proof: {result:?}"
    );
}

/// A genuine proof for one number never proves another number's binding,
/// and a genuine proof never verifies against a genuine root of another
/// epoch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proof_for_another_number_or_epoch_is_refused() {
    let f = fixture().await;
    let bobs = f.log.lookup(&f.bob).await.unwrap();
    let carols = f.log.lookup(&f.carol).await.unwrap();
    let alices = f.log.lookup(&f.alice).await.unwrap();
    // Each verifies for its own number.
    assert_eq!(
        f.trust.verify_lookup(&f.bob, &bobs, T).unwrap().binding,
        binding("b1", 2)
    );
    assert_eq!(
        f.trust.verify_lookup(&f.carol, &carols, T).unwrap().binding,
        Binding::Revoked
    );

    proof_invalid(
        f.trust.verify_lookup(&f.alice, &bobs, T),
        "Bob's proof as Alice's",
    );
    proof_invalid(
        f.trust.verify_lookup(&f.bob, &alices, T),
        "Alice's proof as Bob's",
    );
    proof_invalid(
        f.trust.verify_lookup(&f.alice, &carols, T),
        "Carol's revocation as Alice's",
    );
    proof_invalid(
        f.trust.verify_lookup(&number(9), &bobs, T),
        "Bob's proof as a stranger's",
    );
    // Bob's binding value grafted into Alice's proof.
    let grafted = edit_lookup(&alices, |p| p.value = Some(binding("b1", 2).encode()));
    proof_invalid(
        f.trust.verify_lookup(&f.alice, &grafted, T),
        "Bob's value in Alice's proof",
    );

    // Alice's epoch-3 proof under the (genuinely signed) roots of epochs 1
    // and 2, and her epoch-1 proof under the root of epoch 3.
    for epoch in [1, 2] {
        let mut moved = alices.clone();
        moved.root = f.log.root(epoch).unwrap().unwrap();
        proof_invalid(
            f.trust.verify_lookup(&f.alice, &moved, T),
            &format!("under epoch {epoch}"),
        );
    }
    let mut moved = f.alice_at_1.clone();
    moved.root = alices.root.clone();
    proof_invalid(
        f.trust.verify_lookup(&f.alice, &moved, T),
        "epoch-1 proof under epoch 3",
    );
}

// ---------------------------------------------------------------------------
// Stale views and forks
// ---------------------------------------------------------------------------

/// An old answer replayed after the client saw a newer epoch verifies on
/// its own (its root is genuine and still young) but is refused by the
/// roots the client remembers: `TrustedLog` checks one answer, and
/// `SeenRoots::observe_own` is how a client says what it has seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_epoch_is_refused_once_a_newer_one_was_seen() {
    let f = fixture().await;
    let log_key = f.trust.log_key;
    let current = f.log.lookup(&f.alice).await.unwrap();

    let mut seen = SeenRoots::default();
    let proven = f.trust.verify_lookup(&f.alice, &current, T).unwrap();
    seen.observe_own(&log_key, &current.root).unwrap();
    assert_eq!(seen.newest_epoch(DIRECTORY), proven.root.epoch);

    // The replay: Alice's first key, proven at epoch 1.
    let replay = f.trust.verify_lookup(&f.alice, &f.alice_at_1, T).unwrap();
    assert_eq!((replay.root.epoch, replay.binding), (1, binding("a1", 1)));
    let refused = seen.observe_own(&log_key, &f.alice_at_1.root);
    assert_eq!(refused, Err(KtError::StaleEpoch { epoch: 1, seen: 3 }));
    // The same epoch again is fine; the refusal changed nothing.
    seen.observe_own(&log_key, &current.root).unwrap();
    assert_eq!(seen.newest_epoch(DIRECTORY), 3);

    // A device that has seen only epoch 1 learns of epoch 3 from a
    // contact's gossip; the log then shows it epoch 2.
    let mut seen = SeenRoots::default();
    seen.observe_own(&log_key, &f.alice_at_1.root).unwrap();
    seen.observe_gossip(&f.trust, &current.root, T).unwrap();
    let epoch_2 = f.log.root(2).unwrap().unwrap();
    assert_eq!(
        seen.observe_own(&log_key, &epoch_2),
        Err(KtError::StaleEpoch { epoch: 2, seen: 3 })
    );
    // Gossip the log did not sign cannot raise the floor (or block lookups).
    let mut made_up = current.root.clone();
    made_up.statement.epoch = 1000;
    made_up = sign_root(&other_key(), made_up.statement).unwrap();
    bad_log_signature(
        seen.observe_gossip(&f.trust, &made_up, T),
        "unsigned gossip",
    );
    assert_eq!(seen.newest_epoch(DIRECTORY), 3);
}

/// A log that signs a second root for an epoch (a split view) is caught by
/// any device that saw the other one, with evidence anyone can check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_root_for_an_epoch_is_a_fork() {
    let f = fixture().await;
    let log_key = f.trust.log_key;
    let genuine = f.log.latest_root().unwrap().unwrap();
    let mut statement = genuine.statement.clone();
    statement.root_hash = B64(vec![0x42; 32]);
    let split = sign_root(&f.log_key, statement).unwrap();
    // The split root is well signed: only memory catches it.
    f.trust.verify_root(&split, T).unwrap();

    let mut seen = SeenRoots::default();
    seen.observe_own(&log_key, &genuine).unwrap();
    let Err(KtError::Fork(evidence)) = seen.observe_own(&log_key, &split) else {
        panic!("split view not detected");
    };
    assert_eq!(evidence.epoch, 3);
    assert!(evidence.verify(&log_key));
    assert!(!evidence.verify(&other_key().public_key()));
    // The same through gossip.
    let mut seen = SeenRoots::default();
    seen.observe_own(&log_key, &split).unwrap();
    assert!(matches!(
        seen.observe_gossip(&f.trust, &genuine, T),
        Err(KtError::Fork(_))
    ));
    // A re-signature of the same root (a fresher time) is no fork.
    let mut refreshed = genuine.statement.clone();
    refreshed.signed_at += 3600;
    let refreshed = sign_root(&f.log_key, refreshed).unwrap();
    let mut seen = SeenRoots::default();
    seen.observe_own(&log_key, &genuine).unwrap();
    seen.observe_own(&log_key, &refreshed).unwrap();
}

// ---------------------------------------------------------------------------
// Roots
// ---------------------------------------------------------------------------

/// A root older than `max_root_age_secs` or signed further in the future
/// than the allowed skew is refused; the exact limits are accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_root_and_root_from_the_future_are_refused() {
    let f = fixture().await;
    let answer = f.log.lookup(&f.alice).await.unwrap();
    let max_age = f.trust.max_root_age_secs;

    f.trust
        .verify_lookup(&f.alice, &answer, T3 + max_age)
        .unwrap();
    let result = f.trust.verify_lookup(&f.alice, &answer, T3 + max_age + 1);
    assert_eq!(
        result,
        Err(KtError::StaleRoot {
            epoch: 3,
            signed_at: T3,
            max_age_secs: max_age
        })
    );
    // A long-lived replay of the epoch-1 answer is stale too.
    let result = f
        .trust
        .verify_lookup(&f.alice, &f.alice_at_1, T1 + max_age + 1);
    assert!(
        matches!(result, Err(KtError::StaleRoot { epoch: 1, .. })),
        "{result:?}"
    );
    // A stricter policy.
    let strict = TrustedLog {
        max_root_age_secs: 60,
        ..f.trust.clone()
    };
    let result = strict.verify_lookup(&f.alice, &answer, T3 + 61);
    assert!(
        matches!(
            result,
            Err(KtError::StaleRoot {
                max_age_secs: 60,
                ..
            })
        ),
        "{result:?}"
    );

    f.trust
        .verify_lookup(&f.alice, &answer, T3 - MAX_CLOCK_SKEW_SECS)
        .unwrap();
    let now = T3 - MAX_CLOCK_SKEW_SECS - 1;
    let result = f.trust.verify_lookup(&f.alice, &answer, now);
    assert_eq!(
        result,
        Err(KtError::RootFromFuture {
            epoch: 3,
            signed_at: T3,
            now
        })
    );
    // A log that dates a root far ahead, so it never goes stale.
    let mut statement = answer.root.statement.clone();
    statement.signed_at = T + 365 * 86_400;
    let future = LookupAnswer {
        root: sign_root(&f.log_key, statement).unwrap(),
        ..answer
    };
    let result = f.trust.verify_lookup(&f.alice, &future, T);
    assert!(
        matches!(result, Err(KtError::RootFromFuture { epoch: 3, .. })),
        "{result:?}"
    );
}

/// A root signed by any key but the trusted log key, or by the log key in
/// the witness role, is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_not_signed_by_the_log_key_is_refused() {
    let f = fixture().await;
    let answer = f.log.lookup(&f.alice).await.unwrap();

    // Clients configured with another log's key.
    let other = TrustedLog {
        log_key: other_key().public_key(),
        ..f.trust.clone()
    };
    let result = other.verify_lookup(&f.alice, &answer, T);
    assert_eq!(result, Err(KtError::BadLogSignature { epoch: 3 }));
    // The same statement re-signed by an attacker's key.
    let mut forged = answer.clone();
    forged.root = sign_root(&other_key(), answer.root.statement.clone()).unwrap();
    bad_log_signature(
        f.trust.verify_lookup(&f.alice, &forged, T),
        "attacker's signature",
    );
    // The log key's own signature, but in the witness role.
    let mut forged = answer.clone();
    forged.root.log_signature = cosign(&f.log_key, &answer.root.statement)
        .unwrap()
        .signature;
    bad_log_signature(
        f.trust.verify_lookup(&f.alice, &forged, T),
        "witness-role signature",
    );
    // A signature of another epoch's statement.
    let mut forged = answer.clone();
    forged.root.log_signature = f.log.root(2).unwrap().unwrap().log_signature;
    bad_log_signature(
        f.trust.verify_lookup(&f.alice, &forged, T),
        "epoch 2's signature",
    );
    // No signature, or a truncated one.
    let mut forged = answer.clone();
    forged.root.log_signature = B64(vec![]);
    bad_log_signature(f.trust.verify_lookup(&f.alice, &forged, T), "no signature");
    let mut forged = answer.clone();
    forged.root.log_signature.0.truncate(63);
    bad_log_signature(
        f.trust.verify_lookup(&f.alice, &forged, T),
        "truncated signature",
    );
}

/// A root of another directory is refused even when the same provider
/// signs both with the same key; renaming its directory breaks the
/// signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn root_of_another_directory_is_refused() {
    let f = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    // Directory B: same provider, same log and VRF keys.
    let keys = LogKeys::load_or_create(&f.dir.path().join("keys")).unwrap();
    let b = KtLog::open(
        dir.path(),
        "kds.b.example",
        keys,
        KtLogOptions::default(),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        (b.log_key(), b.vrf_key()),
        (f.trust.log_key, f.trust.vrf_key)
    );
    let evil = vec![(f.alice.clone(), binding("evil", 66))];
    b.publish(evil.clone(), T1).await.unwrap();
    b.publish(vec![(f.bob.clone(), binding("b1", 2))], T2)
        .await
        .unwrap();
    b.publish(vec![(f.carol.clone(), binding("c1", 5))], T3)
        .await
        .unwrap();
    let from_b = b.lookup(&f.alice).await.unwrap();
    assert_eq!(from_b.root.statement.epoch, 3);
    // It verifies for directory B...
    let trust_b = TrustedLog {
        directory: "kds.b.example".into(),
        ..f.trust.clone()
    };
    assert_eq!(
        trust_b.verify_lookup(&f.alice, &from_b, T).unwrap().binding,
        binding("evil", 66)
    );
    // ...never for A.
    let result = f.trust.verify_lookup(&f.alice, &from_b, T);
    assert_eq!(
        result,
        Err(KtError::WrongDirectory {
            expected: DIRECTORY.into(),
            got: "kds.b.example".into()
        })
    );
    let mut renamed = from_b.clone();
    renamed.root.statement.directory = DIRECTORY.into();
    bad_log_signature(
        f.trust.verify_lookup(&f.alice, &renamed, T),
        "B's root renamed to A",
    );
    // And A's answers are not B's.
    let from_a = f.log.lookup(&f.alice).await.unwrap();
    let result = trust_b.verify_lookup(&f.alice, &from_a, T);
    assert!(
        matches!(result, Err(KtError::WrongDirectory { .. })),
        "{result:?}"
    );
}

/// Every field of the signed statement is covered by the signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_root_statements_are_refused() {
    let f = fixture().await;
    let answer = f.log.lookup(&f.alice).await.unwrap();
    type Edit = Box<dyn Fn(&mut SignedRoot)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "root hash swapped",
            Box::new(|r| r.statement.root_hash = B64(vec![7; 32])),
        ),
        (
            "root hash bit",
            Box::new(|r| r.statement.root_hash.0[31] ^= 1),
        ),
        ("epoch raised", Box::new(|r| r.statement.epoch += 1)),
        ("epoch lowered", Box::new(|r| r.statement.epoch -= 1)),
        (
            "signing time refreshed",
            Box::new(|r| r.statement.signed_at = T),
        ),
        ("signature bit", Box::new(|r| r.log_signature.0[10] ^= 1)),
    ];
    for (case, edit) in cases {
        let mut forged = answer.clone();
        edit(&mut forged.root);
        bad_log_signature(f.trust.verify_lookup(&f.alice, &forged, T), case);
    }
    // A root hash of the wrong size is not a root at all.
    for len in [0, 31, 33] {
        let mut forged = answer.clone();
        forged.root.statement.root_hash = B64(vec![7; len]);
        malformed(
            f.trust.verify_lookup(&f.alice, &forged, T),
            &format!("{len}-byte root hash"),
        );
    }
}

// ---------------------------------------------------------------------------
// Bindings
// ---------------------------------------------------------------------------

/// A revoked number proves a revocation and no key; after a roll, the old
/// key is no longer in the binding. `TrustedLog` proves the binding; the
/// `Revoked` and `NotInBinding` refusals are raised from it by the client
/// (`crosslock-client`, `Device::verify_transparency`), which these facts
/// drive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_numbers_and_unbound_keys_are_not_proven() {
    let f = fixture().await;
    let carol = f
        .trust
        .verify_lookup(&f.carol, &f.log.lookup(&f.carol).await.unwrap(), T);
    let carol = carol.unwrap();
    assert_eq!(
        (carol.version, carol.since_epoch, carol.binding.clone()),
        (2, 3, Binding::Revoked)
    );
    assert!(carol.binding.keys().is_empty());
    assert!(!carol.binding.contains("c1", &[5; 65], &[5; 200]));
    assert_eq!(offer(&carol.binding, "c1", 5), Err(KtError::Revoked));
    assert_eq!(
        f.log.current_binding(&f.carol).await.unwrap(),
        Some(Binding::Revoked)
    );

    let alice = f
        .trust
        .verify_lookup(&f.alice, &f.log.lookup(&f.alice).await.unwrap(), T);
    let alice = alice.unwrap();
    assert_eq!(offer(&alice.binding, "a1", 3), Ok(()));
    // Her rolled-away key, a key under another device id, her key with
    // another credential: none is bound.
    assert_eq!(
        offer(&alice.binding, "a1", 1),
        Err(KtError::NotInBinding {
            device_id: "a1".into()
        })
    );
    assert!(matches!(
        offer(&alice.binding, "a2", 3),
        Err(KtError::NotInBinding { .. })
    ));
    assert!(!alice.binding.contains("a1", &[3; 65], &[4; 200]));
    assert!(!alice.binding.contains("a1", &[4; 65], &[3; 200]));

    // A number never enrolled has no answer (and the server says so).
    let unknown = f.log.lookup(&number(9)).await;
    assert!(
        matches!(
            unknown,
            Err(crosslock_kt::server::KtServerError::UnknownNumber)
        ),
        "{unknown:?}"
    );
}

/// What a client concludes from a proven binding about a key offered for
/// the number (as `crosslock-client` does).
fn offer(proven: &Binding, device: &str, seed: u8) -> Result<(), KtError> {
    if *proven == Binding::Revoked {
        return Err(KtError::Revoked);
    }
    if proven.contains(device, &[seed; 65], &[seed; 200]) {
        Ok(())
    } else {
        Err(KtError::NotInBinding {
            device_id: device.into(),
        })
    }
}

// ---------------------------------------------------------------------------
// Co-signatures
// ---------------------------------------------------------------------------

/// Co-signatures that must not count toward the threshold: none, by an
/// unconfigured key, one witness twice, over another statement, by a key
/// it does not belong to, in the log role, or garbled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_few_cosignatures_are_refused() {
    let f = fixture().await;
    let answer = f.log.lookup(&f.alice).await.unwrap();
    let statement = answer.root.statement.clone();
    let (w1, w2, stranger) = (other_key(), other_key(), other_key());
    let witnessed = |threshold: usize| TrustedLog {
        witnesses: vec![w1.public_key(), w2.public_key()],
        threshold,
        ..f.trust.clone()
    };
    let with = |cosignatures: Vec<crosslock_wire::api::kt::Cosignature>| {
        let mut a = answer.clone();
        a.root.cosignatures = cosignatures;
        a
    };
    let too_few = |trust: &TrustedLog, a: &LookupAnswer, valid: usize, case: &str| {
        let result = trust.verify_lookup(&f.alice, a, T);
        let required = trust.threshold;
        assert_eq!(
            result,
            Err(KtError::TooFewCosignatures {
                epoch: 3,
                valid,
                required
            }),
            "{case}"
        );
    };

    too_few(&witnessed(1), &with(vec![]), 0, "threshold 1, none");
    let by_stranger = cosign(&stranger, &statement).unwrap();
    too_few(
        &witnessed(1),
        &with(vec![by_stranger]),
        0,
        "unconfigured witness",
    );
    let c1 = cosign(&w1, &statement).unwrap();
    too_few(
        &witnessed(2),
        &with(vec![c1.clone(), c1.clone()]),
        1,
        "one witness twice",
    );
    let c1_again = cosign(&w1, &statement).unwrap();
    too_few(
        &witnessed(2),
        &with(vec![c1.clone(), c1_again]),
        1,
        "one witness, two signatures",
    );
    let epoch_2 = f.log.root(2).unwrap().unwrap().statement;
    let old = cosign(&w1, &epoch_2).unwrap();
    too_few(
        &witnessed(1),
        &with(vec![old]),
        0,
        "co-signature of epoch 2",
    );
    let mut later = statement.clone();
    later.signed_at += 1;
    let other_time = cosign(&w1, &later).unwrap();
    too_few(
        &witnessed(1),
        &with(vec![other_time]),
        0,
        "co-signature of another time",
    );
    let mut claimed = cosign(&w2, &statement).unwrap();
    claimed.witness_key = B64(w1.public_key().0.to_vec());
    too_few(
        &witnessed(1),
        &with(vec![claimed]),
        0,
        "w2's signature claimed as w1's",
    );
    let log_role = sign_root(&w1, statement.clone()).unwrap().log_signature;
    let log_role = crosslock_wire::api::kt::Cosignature {
        witness_key: B64(w1.public_key().0.to_vec()),
        signature: log_role,
    };
    too_few(
        &witnessed(1),
        &with(vec![log_role]),
        0,
        "log-role signature as co-signature",
    );
    let mut garbled = cosign(&w1, &statement).unwrap();
    garbled.signature.0[0] ^= 1;
    too_few(
        &witnessed(1),
        &with(vec![garbled]),
        0,
        "garbled co-signature",
    );
    let mut short_key = cosign(&w1, &statement).unwrap();
    short_key.witness_key.0.pop();
    too_few(
        &witnessed(1),
        &with(vec![short_key]),
        0,
        "31-byte witness key",
    );
    // The log itself is no witness.
    let by_log = cosign(&f.log_key, &statement).unwrap();
    too_few(
        &witnessed(1),
        &with(vec![by_log]),
        0,
        "co-signed by the log key",
    );
    // Co-signatures on a root whose statement was then altered.
    let mut moved = answer.clone();
    moved.root = sign_root(&f.log_key, later.clone()).unwrap();
    moved.root.cosignatures = vec![c1.clone(), cosign(&w2, &statement).unwrap()];
    too_few(
        &witnessed(1),
        &moved,
        0,
        "co-signatures of another statement",
    );

    // The genuine article: two distinct witnesses meet threshold 2, among
    // junk that does not get in the way.
    let c2 = cosign(&w2, &statement).unwrap();
    let junk = cosign(&stranger, &statement).unwrap();
    let good = with(vec![junk, c1.clone(), c1.clone(), c2]);
    assert_eq!(
        witnessed(2)
            .verify_lookup(&f.alice, &good, T)
            .unwrap()
            .root
            .epoch,
        3
    );
    too_few(&witnessed(3), &good, 2, "threshold 3 with 2 witnesses");
}

/// The log keeps only co-signatures that verify on its stored statement,
/// and serves them with its proofs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_stores_only_valid_cosignatures() {
    let f = fixture().await;
    let w = other_key();
    let trust = TrustedLog {
        witnesses: vec![w.public_key()],
        threshold: 1,
        ..f.trust.clone()
    };
    let statement = f.log.root(3).unwrap().unwrap().statement;
    let epoch_2 = f.log.root(2).unwrap().unwrap().statement;

    assert!(
        f.log
            .add_cosignature(3, &cosign(&w, &epoch_2).unwrap())
            .is_err()
    );
    let mut garbled = cosign(&w, &statement).unwrap();
    garbled.signature.0[5] ^= 1;
    assert!(f.log.add_cosignature(3, &garbled).is_err());
    assert!(
        f.log
            .add_cosignature(7, &cosign(&w, &statement).unwrap())
            .is_err()
    );
    let result = trust.verify_lookup(&f.alice, &f.log.lookup(&f.alice).await.unwrap(), T);
    assert!(
        matches!(result, Err(KtError::TooFewCosignatures { valid: 0, .. })),
        "{result:?}"
    );

    f.log
        .add_cosignature(3, &cosign(&w, &statement).unwrap())
        .unwrap();
    let answer = f.log.lookup(&f.alice).await.unwrap();
    assert_eq!(answer.root.cosignatures.len(), 1);
    trust.verify_lookup(&f.alice, &answer, T).unwrap();
    // A co-signature does not follow a re-signed root.
    f.log.refresh(T).await.unwrap();
    let result = trust.verify_lookup(&f.alice, &f.log.lookup(&f.alice).await.unwrap(), T);
    assert!(
        matches!(result, Err(KtError::TooFewCosignatures { valid: 0, .. })),
        "{result:?}"
    );
}

// ---------------------------------------------------------------------------
// Histories
// ---------------------------------------------------------------------------

/// Gives a tampered history proof as many past- and future-marker proofs
/// as akd expects for the versions it now claims (reusing genuine ones), so
/// that the forgery fails on the cryptography rather than on a count:
/// what a log hiding a version would have to send.
fn fit_markers(p: &mut proto::HistoryProof, epoch: u64) {
    let versions: Vec<u64> = p.update_proofs.iter().map(|u| u.version()).collect();
    let (start, end) = (
        *versions.iter().min().unwrap(),
        *versions.iter().max().unwrap(),
    );
    let (past, future) = akd_core::utils::get_marker_versions(start, end, epoch);
    let vrf = p.future_marker_vrf_proofs[0].clone();
    let absent = p.non_existence_of_future_marker_proofs[0].clone();
    let present = p.update_proofs[0].existence_proof.clone().unwrap();
    p.past_marker_vrf_proofs.resize(past.len(), vrf.clone());
    p.existence_of_past_marker_proofs
        .resize(past.len(), present);
    p.future_marker_vrf_proofs.resize(future.len(), vrf);
    p.non_existence_of_future_marker_proofs
        .resize(future.len(), absent);
}

/// A history with a version hidden, altered, reordered or borrowed from
/// another number or epoch is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_history_proofs_are_refused() {
    let f = fixture().await;
    // Alice gets a third version so there is a middle one to hide.
    f.log
        .publish(vec![(f.alice.clone(), binding("a2", 7))], T3 + 10)
        .await
        .unwrap();
    let answer = f.log.history(&f.alice).await.unwrap();
    let genuine = f.trust.verify_history(&f.alice, &answer, T).unwrap();
    let versions: Vec<(u64, u64, Binding)> = genuine
        .entries
        .iter()
        .map(|e| (e.version, e.epoch, e.binding.clone()))
        .collect();
    assert_eq!(
        versions,
        vec![
            (1, 1, binding("a1", 1)),
            (2, 2, binding("a1", 3)),
            (3, 4, binding("a2", 7))
        ]
    );
    let carol = f
        .trust
        .verify_history(&f.carol, &f.log.history(&f.carol).await.unwrap(), T);
    let carol: Vec<(u64, u64, Binding)> = carol
        .unwrap()
        .entries
        .into_iter()
        .map(|e| (e.version, e.epoch, e.binding))
        .collect();
    assert_eq!(
        carol,
        vec![(1, 1, binding("c1", 5)), (2, 3, Binding::Revoked)]
    );

    // Update proofs run newest first: [v3, v2, v1].
    type Edit = Box<dyn FnOnce(&mut proto::HistoryProof)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "newest version hidden",
            Box::new(|p| drop(p.update_proofs.remove(0))),
        ),
        (
            "newest version hidden, marker proofs made to fit",
            Box::new(|p| {
                p.update_proofs.remove(0);
                fit_markers(p, 4);
            }),
        ),
        (
            "middle version hidden",
            Box::new(|p| drop(p.update_proofs.remove(1))),
        ),
        (
            "first version hidden",
            Box::new(|p| drop(p.update_proofs.remove(2))),
        ),
        (
            "versions reordered",
            Box::new(|p| p.update_proofs.swap(0, 1)),
        ),
        (
            "a version's value replaced",
            Box::new(|p| p.update_proofs[1].value = Some(binding("evil", 66).encode())),
        ),
        (
            "a version's epoch moved",
            Box::new(|p| p.update_proofs[1].epoch = Some(3)),
        ),
        (
            "first version hidden, the others renumbered, marker proofs made to fit",
            Box::new(|p| {
                p.update_proofs.remove(2);
                p.update_proofs[0].version = Some(2);
                p.update_proofs[1].version = Some(1);
                fit_markers(p, 4);
            }),
        ),
        (
            "a version's existence proof",
            Box::new(|p| flip_membership(&mut p.update_proofs[2].existence_proof)),
        ),
        (
            "a previous version's staleness proof",
            Box::new(|p| flip_membership(&mut p.update_proofs[0].previous_version_proof)),
        ),
        (
            "a future marker's non-existence proof",
            Box::new(|p| {
                let proof = &mut p.non_existence_of_future_marker_proofs[0];
                flip(&mut proof.longest_prefix_children[0].value);
            }),
        ),
    ];
    for (case, edit) in cases {
        proof_invalid(
            f.trust
                .verify_history(&f.alice, &edit_history(&answer, edit), T),
            case,
        );
    }

    // Bob's genuine history is not Alice's.
    let bobs = f.log.history(&f.bob).await.unwrap();
    proof_invalid(
        f.trust.verify_history(&f.alice, &bobs, T),
        "Bob's history as Alice's",
    );
    // Alice's history under an older genuine root (hiding version 3).
    let mut moved = answer.clone();
    moved.root = f.log.root(3).unwrap().unwrap();
    proof_invalid(f.trust.verify_history(&f.alice, &moved, T), "under epoch 3");
    // Roots are checked for histories as for lookups.
    let mut moved = answer.clone();
    moved.root.statement.root_hash.0[0] ^= 1;
    bad_log_signature(
        f.trust.verify_history(&f.alice, &moved, T),
        "history root altered",
    );
    malformed(
        f.trust.verify_history(
            &f.alice,
            &HistoryAnswer {
                proof: B64(vec![0xff; 9]),
                ..answer
            },
            T,
        ),
        "garbage history proof",
    );
}

// ---------------------------------------------------------------------------
// Audits
// ---------------------------------------------------------------------------

/// An audit with a root swapped (signed or not), a gap, proofs from another
/// range or out of order, or roots of another directory or key is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_audits_are_refused() {
    let f = fixture().await;
    let key = f.trust.log_key;
    let audit = f.log.audit(0, 3).await.unwrap();
    let range = verify_audit(&key, DIRECTORY, &audit).await.unwrap();
    assert_eq!((range.from.epoch, range.to.epoch), (0, 3));
    let check = |a: AuditAnswer| async move { verify_audit(&key, DIRECTORY, &a).await };

    // Root hash swapped without the log's signature...
    let mut swapped = audit.clone();
    swapped.roots[2].statement.root_hash = B64(vec![7; 32]);
    assert_eq!(
        check(swapped).await,
        Err(KtError::BadLogSignature { epoch: 2 })
    );
    // ...and by the log itself (a rewritten epoch 2).
    let mut swapped = audit.clone();
    let mut statement = swapped.roots[2].statement.clone();
    statement.root_hash = B64(vec![7; 32]);
    swapped.roots[2] = sign_root(&f.log_key, statement).unwrap();
    let result = check(swapped).await;
    assert!(
        matches!(result, Err(KtError::AuditFailed { epoch: 2, .. })),
        "{result:?}"
    );
    // The latest root rewritten by the log (a fork at the head).
    let mut swapped = audit.clone();
    let mut statement = swapped.roots[3].statement.clone();
    statement.root_hash = B64(vec![7; 32]);
    swapped.roots[3] = sign_root(&f.log_key, statement).unwrap();
    let result = check(swapped).await;
    assert!(
        matches!(result, Err(KtError::AuditFailed { epoch: 3, .. })),
        "{result:?}"
    );

    // A gap: epoch 2 and its proof left out.
    let mut gap = audit.clone();
    gap.roots.remove(2);
    gap.proofs.remove(1);
    malformed(check(gap).await, "epoch 2 left out");
    // Roots out of order.
    let mut reordered = audit.clone();
    reordered.roots.swap(1, 2);
    malformed(check(reordered).await, "roots out of order");
    // Proofs out of order.
    let mut reordered = audit.clone();
    reordered.proofs.swap(1, 2);
    let result = check(reordered).await;
    assert!(
        matches!(result, Err(KtError::AuditFailed { epoch: 2, .. })),
        "{result:?}"
    );
    // A proof from another range: 1→2's proof presented for 2→3.
    let other_range = f.log.audit(1, 2).await.unwrap();
    let mut borrowed = f.log.audit(2, 3).await.unwrap();
    verify_audit(&key, DIRECTORY, &borrowed).await.unwrap();
    borrowed.proofs[0] = other_range.proofs[0].clone();
    let result = check(borrowed).await;
    assert!(
        matches!(result, Err(KtError::AuditFailed { epoch: 3, .. })),
        "{result:?}"
    );
    // A proof missing, one too many, garbled or absent altogether.
    let mut missing = audit.clone();
    missing.proofs.pop();
    malformed(check(missing).await, "a proof missing");
    let mut extra = audit.clone();
    extra.proofs.push(audit.proofs[0].clone());
    malformed(check(extra).await, "a proof too many");
    let mut garbled = audit.clone();
    garbled.proofs[0] = B64(vec![0xff; 16]);
    let result = check(garbled).await;
    assert!(
        matches!(result, Err(KtError::AuditFailed { epoch: 1, .. })),
        "{result:?}"
    );
    malformed(
        check(AuditAnswer {
            roots: vec![],
            proofs: vec![],
        })
        .await,
        "nothing",
    );

    // Roots of another directory, or checked with another log key.
    let result = verify_audit(&key, "kds.b.example", &audit).await;
    assert!(
        matches!(result, Err(KtError::WrongDirectory { .. })),
        "{result:?}"
    );
    let result = verify_audit(&other_key().public_key(), DIRECTORY, &audit).await;
    assert_eq!(result, Err(KtError::BadLogSignature { epoch: 0 }));
}
