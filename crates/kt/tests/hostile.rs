#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The hostile-input catalogue, key-transparency part. A witness served on
//! loopback gets hostile co-signing requests over HTTP (split views, forged
//! append-only proofs, rollbacks, roots of unknown keys or directories,
//! broken bodies); each asserts the HTTP status and typed reason and that
//! the witness's position and SQLite state did not move (a split view adds
//! exactly its fork evidence, by design). Client-side verification cases
//! match on the `KtError` variant and check that the client's memory of
//! roots and the log's latest root did not change.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use akd_core::proto::specs::types as proto;
use common::*;
use crosslock_kt::server::{FollowedLog, KtLog, KtLogOptions, LogKeys, Witness, witness::router};
use crosslock_kt::{KtError, SeenRoots, SigningKey, TrustedLog, cosign, sign_root};
use crosslock_wire::api::kt::{AuditAnswer, CosignRequest, WitnessPosition};
use crosslock_wire::api::{B64, ErrorBody};
use protobuf::Message;
use sha2::{Digest, Sha256};

const BODY_LIMIT: usize = 256 * 1024;
/// When clients check.
const T: u64 = NOW + 100;

fn http() -> reqwest::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::new()
}

/// A log with epochs 1..=3, and a witness on loopback that co-signed up
/// to epoch 2.
struct World {
    tmp: tempfile::TempDir,
    log: KtLog,
    trust: TrustedLog,
    /// A copy of the log's signing key: what a lying log signs with.
    log_key: SigningKey,
    witness: Arc<Witness>,
    url: String,
    http: reqwest::Client,
}

async fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let keys_dir = tmp.path().join("keys");
    let keys = LogKeys::load_or_create(&keys_dir).unwrap();
    let log_key = LogKeys::load_or_create(&keys_dir).unwrap().log_key;
    let log = open_log(&tmp.path().join("log"), keys, KtLogOptions::default()).await;
    for epoch in 1..=3u8 {
        let update = (number(u32::from(epoch)), binding("d", epoch));
        log.publish(vec![update], NOW + u64::from(epoch))
            .await
            .unwrap();
    }
    let witness = Witness::open(
        &tmp.path().join("witness.sqlite3"),
        SigningKey::generate().unwrap(),
        vec![FollowedLog {
            directory: DIRECTORY.into(),
            log_key: log.log_key(),
        }],
        || NOW + 60,
    )
    .unwrap();
    let witness = Arc::new(witness);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = router(witness.clone(), BODY_LIMIT);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let trust = trust(&log, vec![], 0);
    let w = World {
        tmp,
        log,
        trust,
        log_key,
        witness,
        url,
        http: http(),
    };
    let audit = w.log.audit(0, 2).await.unwrap();
    let (status, body) = w
        .post(&serde_json::to_vec(&CosignRequest { audit }).unwrap())
        .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    w
}

/// The witness's position, evidence and every row of its state file.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    position: u64,
    evidence: usize,
    tables: BTreeMap<String, (usize, String)>,
}

impl World {
    async fn post(&self, body: &[u8]) -> (u16, Vec<u8>) {
        self.post_as(Some("application/json"), body.to_vec()).await
    }

    async fn post_as(&self, content_type: Option<&str>, body: Vec<u8>) -> (u16, Vec<u8>) {
        let mut request = self
            .http
            .post(format!("{}/witness/v1/cosign", self.url))
            .body(body);
        if let Some(t) = content_type {
            request = request.header("content-type", t);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        (status, answer.bytes().await.unwrap().to_vec())
    }

    fn snapshot(&self) -> Snapshot {
        let info = self.witness.info();
        let conn = rusqlite::Connection::open_with_flags(
            self.tmp.path().join("witness.sqlite3"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut tables = BTreeMap::new();
        for table in ["logs", "epochs", "forks"] {
            let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
            let columns = stmt.column_count();
            let mut rows: Vec<String> = stmt
                .query_map([], |r| {
                    let mut row = String::new();
                    for i in 0..columns {
                        row.push_str(&format!("{:?}|", r.get_ref(i)?));
                    }
                    Ok(row)
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows.sort();
            let digest = hex::encode(Sha256::digest(rows.concat().as_bytes()));
            tables.insert(table.to_owned(), (rows.len(), digest));
        }
        Snapshot {
            position: info.directories[0].last_epoch,
            evidence: self.witness.evidence().len(),
            tables,
        }
    }

    /// Posts a co-signing request the witness must refuse with `status`
    /// and `reason`; checks that its state did not move.
    async fn refused(&self, body: Vec<u8>, content_type: Option<&str>, want: (u16, &str)) {
        let before = self.snapshot();
        let (status, answer) = self.post_as(content_type, body).await;
        let error: ErrorBody = serde_json::from_slice(&answer)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&answer)));
        assert_eq!((status, error.error.as_str()), want, "{}", error.message);
        assert!(!error.message.is_empty());
        assert_eq!(self.snapshot(), before, "a refused request changed nothing");
    }

    async fn refused_audit(&self, audit: AuditAnswer, want: (u16, &str)) {
        let body = serde_json::to_vec(&CosignRequest { audit }).unwrap();
        self.refused(body, Some("application/json"), want).await;
    }

    /// The honest next step is still co-signed.
    async fn legit_step_still_works(&self) {
        let audit = self.log.audit(2, 3).await.unwrap();
        let (status, body) = self
            .post(&serde_json::to_vec(&CosignRequest { audit }).unwrap())
            .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(self.snapshot().position, 3);
    }

    /// Another log under this directory's name and this log's keys
    /// (`same_keys`) or fresh ones, with one epoch of its own.
    async fn other_log(&self, name: &str, same_keys: bool) -> KtLog {
        let keys = if same_keys {
            LogKeys::load_or_create(&self.tmp.path().join("keys")).unwrap()
        } else {
            LogKeys::generate().unwrap()
        };
        let log = open_log(&self.tmp.path().join(name), keys, KtLogOptions::default()).await;
        log.publish(vec![(number(1), binding("mitm", 66))], NOW + 1)
            .await
            .unwrap();
        log
    }
}

// ---- the witness over HTTP --------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn witness_split_view_root() {
    let w = world().await;
    // Same log key, another history: epoch 1 with another root hash.
    let evil = w.other_log("evil", true).await;
    let audit = evil.audit(0, 1).await.unwrap();
    assert_ne!(
        audit.roots[1].statement.root_hash,
        w.log.root(1).unwrap().unwrap().statement.root_hash
    );
    let before = w.snapshot();
    let (status, answer) = w
        .post(&serde_json::to_vec(&CosignRequest { audit }).unwrap())
        .await;
    let error: ErrorBody = serde_json::from_slice(&answer).unwrap();
    assert_eq!((status, error.error.as_str()), (422, "kt-fork"));
    // Nothing moved but the evidence, which is what a witness is for.
    let after = w.snapshot();
    assert_eq!(after.position, before.position);
    assert_eq!(after.tables["epochs"], before.tables["epochs"]);
    assert_eq!(after.tables["logs"], before.tables["logs"]);
    assert_eq!(after.tables["forks"].0, before.tables["forks"].0 + 1);
    assert_eq!(after.evidence, before.evidence + 1);
    assert!(w.witness.evidence()[0].verify(&w.log.log_key()));
    w.legit_step_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn witness_forged_consistency_proof() {
    let w = world().await;
    let step = w.log.audit(2, 3).await.unwrap();
    let len = step.proofs[0].0.len();
    for at in [0, len / 3, len / 2, len - 1] {
        let mut audit = step.clone();
        audit.proofs[0].0[at] ^= 0x01;
        w.refused_audit(audit, (422, "kt-audit-failed")).await;
    }
    // The proof of another step, and none at all.
    let mut audit = step.clone();
    audit.proofs = w.log.audit(1, 2).await.unwrap().proofs;
    w.refused_audit(audit, (422, "kt-audit-failed")).await;
    w.legit_step_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn witness_rollback_to_older_epoch() {
    let w = world().await;
    for (from, to) in [(1, 2), (0, 1), (0, 2)] {
        let audit = w.log.audit(from, to).await.unwrap();
        let before = w.snapshot();
        let (status, answer) = w
            .post(&serde_json::to_vec(&CosignRequest { audit }).unwrap())
            .await;
        // The witness answers where it stands (a typed WitnessPosition).
        assert_eq!(status, 409, "{}", String::from_utf8_lossy(&answer));
        let position: WitnessPosition = serde_json::from_slice(&answer).unwrap();
        assert_eq!(position.last_epoch, 2);
        assert_eq!(w.snapshot(), before);
    }
    w.legit_step_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn witness_root_signed_by_unknown_key() {
    let w = world().await;
    let impostor = w.other_log("impostor", false).await;
    w.refused_audit(
        impostor.audit(0, 1).await.unwrap(),
        (422, "kt-bad-log-signature"),
    )
    .await;
    // This log's real step with a root re-signed by the impostor's key.
    let mut audit = w.log.audit(2, 3).await.unwrap();
    let stranger = SigningKey::generate().unwrap();
    audit.roots[1] = sign_root(&stranger, audit.roots[1].statement.clone()).unwrap();
    w.refused_audit(audit, (422, "kt-bad-log-signature")).await;
    w.legit_step_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn witness_unknown_directory() {
    let w = world().await;
    let other = KtLog::open(
        &w.tmp.path().join("other"),
        "kds.other.example",
        LogKeys::generate().unwrap(),
        KtLogOptions::default(),
        NOW,
    )
    .await
    .unwrap();
    other
        .publish(vec![(number(1), binding("o", 1))], NOW + 1)
        .await
        .unwrap();
    w.refused_audit(other.audit(0, 1).await.unwrap(), (403, "unknown-log"))
        .await;
    // This log's step, relabelled with a path-like directory name.
    let mut audit = w.log.audit(2, 3).await.unwrap();
    for root in &mut audit.roots {
        root.statement.directory = "../kds.a.example\0".into();
    }
    w.refused_audit(audit, (403, "unknown-log")).await;
    w.legit_step_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn witness_root_from_future() {
    let w = world().await;
    // The log signs epoch 4 ten days ahead of the witness's clock.
    w.log
        .publish(vec![(number(9), binding("f", 9))], NOW + 10 * 86_400)
        .await
        .unwrap();
    w.refused_audit(
        w.log.audit(2, 4).await.unwrap(),
        (422, "kt-root-from-future"),
    )
    .await;
    // Epoch 3 alone (signed in the past) is still co-signed.
    w.legit_step_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn witness_empty_audit() {
    let w = world().await;
    let empty = AuditAnswer {
        roots: vec![],
        proofs: vec![],
    };
    w.refused_audit(empty, (422, "kt-malformed")).await;
    // Roots without the proofs between them.
    let mut audit = w.log.audit(2, 3).await.unwrap();
    audit.proofs.clear();
    let before = w.snapshot();
    let (status, answer) = w
        .post(&serde_json::to_vec(&CosignRequest { audit }).unwrap())
        .await;
    let error: ErrorBody = serde_json::from_slice(&answer).unwrap();
    assert_eq!(status, 422, "{}", error.message);
    assert!(error.error.starts_with("kt-"), "{}", error.error);
    assert_eq!(w.snapshot(), before);
    w.legit_step_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn witness_truncated_and_invalid_json() {
    let w = world().await;
    let body = serde_json::to_vec(&CosignRequest {
        audit: w.log.audit(2, 3).await.unwrap(),
    })
    .unwrap();
    for cut in [1, body.len() / 2, body.len() - 1] {
        w.refused(
            body[..cut].to_vec(),
            Some("application/json"),
            (400, "malformed-request"),
        )
        .await;
    }
    // Invalid UTF-8 inside a JSON string.
    let mut bad = body.clone();
    let at = bad.windows(9).position(|s| s == b"kds.a.exa").unwrap();
    bad[at] = 0xC3;
    bad[at + 1] = 0x28;
    w.refused(bad, Some("application/json"), (400, "malformed-request"))
        .await;
    // Not JSON at all, and JSON without the JSON content type.
    w.refused(
        b"\x00\x01".to_vec(),
        Some("application/json"),
        (400, "malformed-request"),
    )
    .await;
    w.refused(body.clone(), None, (415, "malformed-request"))
        .await;
    w.legit_step_still_works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn witness_oversize_body() {
    let w = world().await;
    let mut audit = w.log.audit(2, 3).await.unwrap();
    audit.proofs[0].0.extend(std::iter::repeat_n(0, BODY_LIMIT));
    let body = serde_json::to_vec(&CosignRequest { audit }).unwrap();
    w.refused(body, Some("application/json"), (413, "body-too-large"))
        .await;
    w.legit_step_still_works().await;
}

// ---- what clients verify -------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn client_split_view_roots_detected() {
    let w = world().await;
    let genuine = w.log.latest_root().unwrap().unwrap();
    let mut statement = genuine.statement.clone();
    statement.root_hash = B64(vec![0x42; 32]);
    let split = sign_root(&w.log_key, statement).unwrap();
    // Each root alone verifies: only memory catches the split.
    w.trust.verify_root(&split, T).unwrap();
    let mut seen = SeenRoots::default();
    seen.observe_own(&w.trust.log_key, &genuine).unwrap();
    let remembered = seen.clone();
    match seen.observe_own(&w.trust.log_key, &split) {
        Err(KtError::Fork(evidence)) => {
            assert_eq!(evidence.epoch, 3);
            assert!(evidence.verify(&w.trust.log_key));
        }
        other => panic!("split view not detected: {other:?}"),
    }
    assert!(matches!(
        seen.observe_gossip(&w.trust, &split, T),
        Err(KtError::Fork(_))
    ));
    assert_eq!(seen, remembered, "the split root was not remembered");
    assert_eq!(w.log.latest_root().unwrap().unwrap(), genuine);
}

#[tokio::test(flavor = "multi_thread")]
async fn client_forged_inclusion_proof() {
    let w = world().await;
    let alice = number(1);
    let answer = w.log.lookup(&alice).await.unwrap();
    let proven = w.trust.verify_lookup(&alice, &answer, T).unwrap();
    let edit = |change: &dyn Fn(&mut proto::LookupProof)| {
        let mut proof = proto::LookupProof::parse_from_bytes(&answer.proof.0).unwrap();
        change(&mut proof);
        let mut forged = answer.clone();
        forged.proof = B64(proof.write_to_bytes().unwrap());
        forged
    };
    // The attacker's key as the value; another version; a flipped nonce.
    let evil = binding("d", 66).encode();
    let cases = [
        edit(&|p| p.value = Some(evil.clone())),
        edit(&|p| p.version = Some(2)),
        edit(&|p| {
            let nonce = p.commitment_nonce.as_mut().unwrap();
            nonce[0] ^= 1;
        }),
    ];
    for forged in &cases {
        let result = w.trust.verify_lookup(&alice, forged, T);
        assert!(
            matches!(result, Err(KtError::ProofInvalid { .. })),
            "{result:?}"
        );
    }
    // Bob's genuine proof presented as Alice's.
    let bobs = w.log.lookup(&number(2)).await.unwrap();
    let result = w.trust.verify_lookup(&alice, &bobs, T);
    assert!(
        matches!(result, Err(KtError::ProofInvalid { .. })),
        "{result:?}"
    );
    // Garbage where the proof goes.
    let mut garbage = answer.clone();
    garbage.proof = B64(vec![0xFF; 64]);
    let result = w.trust.verify_lookup(&alice, &garbage, T);
    assert!(
        matches!(result, Err(KtError::Malformed { .. })),
        "{result:?}"
    );
    // The genuine answer still proves the same binding.
    assert_eq!(
        w.trust.verify_lookup(&alice, &answer, T).unwrap().binding,
        proven.binding
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn client_rollback_to_older_epoch() {
    let w = world().await;
    let alice = number(1);
    let mut seen = SeenRoots::default();
    seen.observe_own(&w.trust.log_key, &w.log.root(3).unwrap().unwrap())
        .unwrap();
    let remembered = seen.clone();
    for epoch in [2, 1, 0] {
        let old = w.log.root(epoch).unwrap().unwrap();
        assert_eq!(
            seen.observe_own(&w.trust.log_key, &old),
            Err(KtError::StaleEpoch { epoch, seen: 3 })
        );
    }
    assert_eq!(seen, remembered);
    assert_eq!(seen.newest_epoch(DIRECTORY), 3);
    // An answer proven at the current epoch is still taken.
    let answer = w.log.lookup(&alice).await.unwrap();
    seen.observe_own(&w.trust.log_key, &answer.root).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn client_root_signed_by_unknown_key() {
    let w = world().await;
    let alice = number(1);
    let genuine = w.log.lookup(&alice).await.unwrap();
    let stranger = SigningKey::generate().unwrap();
    let mut forged = genuine.clone();
    forged.root = sign_root(&stranger, genuine.root.statement.clone()).unwrap();
    assert_eq!(
        w.trust.verify_lookup(&alice, &forged, T).unwrap_err(),
        KtError::BadLogSignature { epoch: 3 }
    );
    assert_eq!(
        w.trust.verify_root(&forged.root, T).unwrap_err(),
        KtError::BadLogSignature { epoch: 3 }
    );
    let mut seen = SeenRoots::default();
    assert_eq!(
        seen.observe_own(&w.trust.log_key, &forged.root),
        Err(KtError::BadLogSignature { epoch: 3 })
    );
    assert_eq!(seen, SeenRoots::default(), "nothing remembered");
    w.trust.verify_lookup(&alice, &genuine, T).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn client_cosignatures_under_threshold() {
    let w = world().await;
    let alice = number(1);
    let answer = w.log.lookup(&alice).await.unwrap();
    let statement = answer.root.statement.clone();
    let (w1, w2, stranger) = (
        SigningKey::generate().unwrap(),
        SigningKey::generate().unwrap(),
        SigningKey::generate().unwrap(),
    );
    let trust = TrustedLog {
        witnesses: vec![w1.public_key(), w2.public_key()],
        threshold: 2,
        ..w.trust.clone()
    };
    let with = |cosignatures: Vec<crosslock_wire::api::kt::Cosignature>| {
        let mut a = answer.clone();
        a.root.cosignatures = cosignatures;
        a
    };
    let one = cosign(&w1, &statement).unwrap();
    let by_stranger = cosign(&stranger, &statement).unwrap();
    let mut other_statement = statement.clone();
    other_statement.root_hash = B64(vec![7; 32]);
    let for_another_root = cosign(&w2, &other_statement).unwrap();
    for (cosignatures, valid) in [
        (vec![], 0),
        (vec![one.clone()], 1),
        (vec![one.clone(), one.clone()], 1),
        (vec![one.clone(), by_stranger], 1),
        (vec![one.clone(), for_another_root], 1),
    ] {
        assert_eq!(
            trust
                .verify_lookup(&alice, &with(cosignatures), T)
                .unwrap_err(),
            KtError::TooFewCosignatures {
                epoch: 3,
                valid,
                required: 2
            }
        );
    }
    let two = cosign(&w2, &statement).unwrap();
    trust
        .verify_lookup(&alice, &with(vec![one, two]), T)
        .unwrap();
}
