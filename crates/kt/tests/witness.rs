//! Witnesses end to end, over HTTP on 127.0.0.1 with their state in SQLite
//! files: every new root of a log gets co-signed, a witness that joins late
//! is brought up from the empty directory (in steps within its body limit
//! when it is far behind), a provider that shows two histories under one
//! log key (a split view) is refused and the refusal is kept as evidence
//! that survives restarts, and hostile requests change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::*;
use crosslock_kt::server::witness::router;
use crosslock_kt::server::{
    FollowedLog, KtLog, KtLogOptions, KtServerError, LogKeys, MAX_EPOCHS_PER_REQUEST, VrfSecret,
    Witness, WitnessClient, WitnessError,
};
use crosslock_kt::{
    ForkEvidence, KtError, PublicKey, SeenRoots, SigningKey, check_log_signature, cosign,
    cosignature_valid, detect_fork, sign_root,
};
use crosslock_wire::api::kt::{
    AuditAnswer, CosignRequest, Cosignature, LookupAnswer, RootStatement, SignedRoot, WitnessInfo,
    WitnessPosition,
};
use crosslock_wire::api::{B64, ErrorBody};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The largest request body the witnesses of these tests read.
const BODY_LIMIT: usize = 256 * 1024;

fn http() -> reqwest::Client {
    // reqwest is built with `rustls-no-provider`: even a plain-HTTP client
    // cannot be built before a crypto provider is installed (hence `rustls`
    // among this crate's dev-dependencies).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::new()
}

/// A signing key kept as PKCS#8, to load it again (a restart, a second log).
struct Secret(Vec<u8>);

impl Secret {
    fn generate() -> Self {
        Secret(SigningKey::generate().unwrap().pkcs8().to_vec())
    }

    fn key(&self) -> SigningKey {
        SigningKey::from_pkcs8(&self.0).unwrap()
    }

    fn public(&self) -> PublicKey {
        self.key().public_key()
    }
}

/// A log's secrets, to open logs with the same keys as often as needed.
struct LogSecrets {
    log_key: Secret,
    vrf: VrfSecret,
}

impl LogSecrets {
    fn generate() -> Self {
        LogSecrets {
            log_key: Secret::generate(),
            vrf: VrfSecret::generate(),
        }
    }

    fn keys(&self) -> LogKeys {
        LogKeys {
            log_key: self.log_key.key(),
            vrf: self.vrf.clone(),
        }
    }

    fn public(&self) -> PublicKey {
        self.log_key.public()
    }

    /// Signs a statement of this log's `directory` (what a lying log can do).
    fn sign(&self, directory: &str, epoch: u64, root_hash: Vec<u8>, signed_at: u64) -> SignedRoot {
        let statement = RootStatement {
            directory: directory.into(),
            epoch,
            root_hash: B64(root_hash),
            signed_at,
        };
        sign_root(&self.log_key.key(), statement).unwrap()
    }
}

fn follow(log_key: PublicKey) -> Vec<FollowedLog> {
    vec![FollowedLog {
        directory: DIRECTORY.into(),
        log_key,
    }]
}

fn open_witness(state: &Path, key: SigningKey, log_key: PublicKey) -> Witness {
    // Roots in these tests are signed around NOW, not at the real time.
    Witness::open(state, key, follow(log_key), || NOW + 60).unwrap()
}

async fn open_with(dir: &Path, keys: LogKeys, witnesses: Vec<WitnessClient>) -> KtLog {
    let options = KtLogOptions {
        witnesses,
        ..KtLogOptions::default()
    };
    open_log(dir, keys, options).await
}

/// A witness served over HTTP on an ephemeral port.
struct Served {
    witness: Arc<Witness>,
    url: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

async fn serve(witness: Witness) -> Served {
    serve_limited(witness, BODY_LIMIT).await
}

async fn serve_limited(witness: Witness, body_limit: usize) -> Served {
    let witness = Arc::new(witness);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(witness.clone(), body_limit);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Served {
        witness,
        url,
        stop,
        task,
    }
}

impl Served {
    fn key(&self) -> PublicKey {
        self.witness.public_key()
    }

    /// How a log reaches this witness.
    fn client(&self, http: &reqwest::Client) -> WitnessClient {
        WitnessClient::new(self.url.clone(), self.key(), http.clone())
    }

    /// The last epoch of [`DIRECTORY`] this witness co-signed.
    fn position(&self) -> u64 {
        let info = self.witness.info();
        assert_eq!(info.directories.len(), 1, "{info:?}");
        assert_eq!(info.directories[0].directory, DIRECTORY);
        info.directories[0].last_epoch
    }

    /// Stops the server and hands back the witness, which nothing else
    /// holds any more (its state file is closed when it is dropped).
    async fn shut_down(self) -> Witness {
        self.stop.send(()).unwrap();
        self.task.await.unwrap();
        Arc::try_unwrap(self.witness).expect("the server let go of the witness")
    }
}

async fn post_raw(
    http: &reqwest::Client,
    url: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let mut request = http.post(format!("{url}/witness/v1/cosign")).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.bytes().await.unwrap().to_vec())
}

async fn post_cosign(http: &reqwest::Client, url: &str, request: &CosignRequest) -> (u16, Vec<u8>) {
    let body = serde_json::to_vec(request).unwrap();
    post_raw(http, url, Some("application/json"), body).await
}

async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> T {
    let answer = http.get(url).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200, "GET {url}");
    answer.json().await.unwrap()
}

/// The machine-readable reason of an error answer.
fn reason(body: &[u8]) -> String {
    let body: ErrorBody = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not an ErrorBody ({e}): {}", String::from_utf8_lossy(body)));
    assert!(!body.message.is_empty());
    body.error
}

fn position(body: &[u8]) -> WitnessPosition {
    serde_json::from_slice(body).unwrap()
}

fn at(last_epoch: u64) -> WitnessPosition {
    WitnessPosition {
        directory: DIRECTORY.into(),
        last_epoch,
    }
}

/// Posts a request the witness must refuse; checks that its position and
/// evidence did not move, over HTTP too.
async fn refused(
    http: &reqwest::Client,
    witness: &Served,
    request: &CosignRequest,
) -> (u16, Vec<u8>) {
    let body = serde_json::to_vec(request).unwrap();
    refused_raw(http, witness, Some("application/json"), body).await
}

async fn refused_raw(
    http: &reqwest::Client,
    witness: &Served,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let (info, evidence) = (witness.witness.info(), witness.witness.evidence());
    let (status, answer) = post_raw(http, &witness.url, content_type, body).await;
    assert!(
        (400..500).contains(&status),
        "HTTP {status}: {}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(witness.witness.info(), info);
    assert_eq!(witness.witness.evidence(), evidence);
    let over_http: WitnessInfo = get_json(http, &format!("{}/witness/v1/info", witness.url)).await;
    assert_eq!(over_http, info);
    (status, answer)
}

/// The witnesses that co-signed `root`, sorted; every co-signature must verify.
fn cosigners(root: &SignedRoot) -> Vec<PublicKey> {
    let mut keys: Vec<PublicKey> = root
        .cosignatures
        .iter()
        .map(|c| {
            assert!(
                cosignature_valid(&root.statement, c),
                "epoch {}",
                root.statement.epoch
            );
            PublicKey::from_slice(&c.witness_key.0).unwrap()
        })
        .collect();
    keys.sort();
    keys
}

fn sorted(mut keys: Vec<PublicKey>) -> Vec<PublicKey> {
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_witnesses_cosign_every_root_and_clients_count_them() {
    let http = http();
    let tmp = tempfile::tempdir().unwrap();
    let secrets = LogSecrets::generate();
    let w1 = open_witness(
        &tmp.path().join("w1/state.sqlite3"),
        SigningKey::generate().unwrap(),
        secrets.public(),
    );
    let w2 = open_witness(
        &tmp.path().join("w2/state.sqlite3"),
        SigningKey::generate().unwrap(),
        secrets.public(),
    );
    let (w1, w2) = (serve(w1).await, serve(w2).await);
    let both = sorted(vec![w1.key(), w2.key()]);
    let log = open_with(
        &tmp.path().join("log"),
        secrets.keys(),
        vec![w1.client(&http), w2.client(&http)],
    )
    .await;
    assert_eq!(log.witness_count(), 2);

    // The empty directory's root (epoch 0) is co-signed as the log opens.
    let genesis = log.latest_root().unwrap().unwrap();
    assert_eq!(genesis.statement.epoch, 0);
    assert_eq!(cosigners(&genesis), both);

    let (alice, bob) = (number(1), number(2));
    let r1 = log
        .publish(
            vec![
                (alice.clone(), binding("a1", 1)),
                (bob.clone(), binding("b1", 2)),
            ],
            NOW + 10,
        )
        .await
        .unwrap();
    let r2 = log
        .publish(vec![(alice.clone(), binding("a1", 3))], NOW + 20)
        .await
        .unwrap();
    assert_eq!((r1.statement.epoch, r2.statement.epoch), (1, 2));
    assert_eq!(cosigners(&r1), both);
    assert_eq!(cosigners(&r2), both);
    // The co-signatures are stored with the roots.
    assert_eq!(log.root(1).unwrap().unwrap(), r1);
    assert_eq!(log.latest_root().unwrap().unwrap(), r2);

    // Each witness stands at epoch 2 (over HTTP too) and saw no fork.
    for w in [&w1, &w2] {
        let expected = WitnessInfo {
            witness_key: B64(w.key().0.to_vec()),
            directories: vec![at(2)],
        };
        assert_eq!(w.witness.info(), expected);
        let info: WitnessInfo = get_json(&http, &format!("{}/witness/v1/info", w.url)).await;
        assert_eq!(info, expected);
        let evidence: Vec<ForkEvidence> =
            get_json(&http, &format!("{}/witness/v1/evidence", w.url)).await;
        assert!(evidence.is_empty());
    }

    // A client that requires both witnesses accepts the lookup.
    let now = NOW + 30;
    let answer = log.lookup(&alice).await.unwrap();
    assert_eq!(answer.root, r2);
    let proven = trust(&log, vec![w1.key(), w2.key()], 2)
        .verify_lookup(&alice, &answer, now)
        .unwrap();
    assert_eq!((proven.root.epoch, proven.version), (2, 2));
    assert_eq!(proven.binding, binding("a1", 3));

    let check = |witnesses: Vec<PublicKey>, threshold: usize, answer: &LookupAnswer| {
        trust(&log, witnesses, threshold).verify_lookup(&alice, answer, now)
    };
    let too_few = |valid, required| KtError::TooFewCosignatures {
        epoch: 2,
        valid,
        required,
    };
    // A third witness the log never asked: three co-signatures cannot be had.
    let stranger = SigningKey::generate().unwrap();
    let all_three = vec![w1.key(), w2.key(), stranger.public_key()];
    assert_eq!(
        check(all_three.clone(), 3, &answer).unwrap_err(),
        too_few(2, 3)
    );
    // Co-signatures of witnesses the client does not configure do not count.
    assert_eq!(
        check(vec![w1.key(), stranger.public_key()], 2, &answer).unwrap_err(),
        too_few(1, 2)
    );
    assert_eq!(check(vec![], 1, &answer).unwrap_err(), too_few(0, 1));
    // One witness's co-signature twice counts once.
    let c1 = answer
        .root
        .cosignatures
        .iter()
        .find(|c| c.witness_key.0 == w1.key().0)
        .unwrap()
        .clone();
    let mut doubled = answer.clone();
    doubled.root.cosignatures = vec![c1.clone(), c1];
    assert_eq!(
        check(vec![w1.key(), w2.key()], 2, &doubled).unwrap_err(),
        too_few(1, 2)
    );
    // Co-signatures of epoch 1 do not count for epoch 2.
    let mut moved = answer.clone();
    moved.root.cosignatures = r1.cosignatures.clone();
    assert_eq!(
        check(vec![w1.key(), w2.key()], 1, &moved).unwrap_err(),
        too_few(0, 1)
    );
    // Once the third witness co-signs and the client trusts it, three count.
    let mut three = answer.clone();
    three
        .root
        .cosignatures
        .push(cosign(&stranger, &answer.root.statement).unwrap());
    assert_eq!(
        check(all_three, 3, &three).unwrap().binding,
        binding("a1", 3)
    );
    assert_eq!(
        check(vec![w1.key(), w2.key()], 3, &three).unwrap_err(),
        too_few(2, 3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_witness_is_brought_up_from_the_empty_directory() {
    let http = http();
    let tmp = tempfile::tempdir().unwrap();
    let secrets = LogSecrets::generate();
    let early = serve(open_witness(
        &tmp.path().join("early.sqlite3"),
        SigningKey::generate().unwrap(),
        secrets.public(),
    ))
    .await;
    let log_dir = tmp.path().join("log");
    let log = open_with(&log_dir, secrets.keys(), vec![early.client(&http)]).await;
    let alice = number(1);
    for epoch in 1..=3u8 {
        log.publish(
            vec![(alice.clone(), binding("a1", epoch))],
            NOW + u64::from(epoch),
        )
        .await
        .unwrap();
    }
    assert_eq!(early.position(), 3);

    let late = serve(open_witness(
        &tmp.path().join("late.sqlite3"),
        SigningKey::generate().unwrap(),
        secrets.public(),
    ))
    .await;
    assert_eq!(late.position(), 0);
    // A witness that co-signed nothing wants the audit from the empty
    // directory: the last step alone, or an audit from epoch 1, is refused
    // with its position.
    for from in [2, 1] {
        let request = CosignRequest {
            audit: log.audit(from, 3).await.unwrap(),
        };
        let (status, body) = refused(&http, &late, &request).await;
        assert_eq!((status, position(&body)), (409, at(0)));
        assert!(matches!(
            late.witness.cosign(&request).await,
            Err(WitnessError::AuditStart(p)) if p == at(0)
        ));
    }

    // The operator adds the witness and restarts the log.
    drop(log);
    let log = open_with(
        &log_dir,
        secrets.keys(),
        vec![early.client(&http), late.client(&http)],
    )
    .await;
    let root = log.latest_root().unwrap().unwrap();
    assert_eq!(root.statement.epoch, 3);
    assert_eq!(cosigners(&root), vec![early.key()]);
    let strict = trust(&log, vec![early.key(), late.key()], 2);
    assert_eq!(
        strict.verify_root(&root, NOW + 10).unwrap_err(),
        KtError::TooFewCosignatures {
            epoch: 3,
            valid: 1,
            required: 2
        }
    );

    // Asked again, each witness answers 409 with its position (0 for the
    // late one, 3 for the early one, which the restarted log forgot) and
    // the log retries from there.
    let root = log.retry_cosignatures().await.unwrap();
    assert_eq!(root.statement.epoch, 3);
    assert_eq!(cosigners(&root), sorted(vec![early.key(), late.key()]));
    assert_eq!((early.position(), late.position()), (3, 3));
    let proven = strict
        .verify_lookup(&alice, &log.lookup(&alice).await.unwrap(), NOW + 10)
        .unwrap();
    assert_eq!((proven.root.epoch, proven.version), (3, 3));
    assert_eq!(proven.binding, binding("a1", 3));

    // From now on both keep up, one step at a time.
    let r4 = log
        .publish(vec![(number(2), binding("b1", 9))], NOW + 20)
        .await
        .unwrap();
    assert_eq!(r4.statement.epoch, 4);
    assert_eq!(cosigners(&r4), sorted(vec![early.key(), late.key()]));
    assert_eq!((early.position(), late.position()), (4, 4));
    assert!(late.witness.evidence().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_witness_far_behind_catches_up_in_steps_within_its_body_limit() {
    let http = http();
    let tmp = tempfile::tempdir().unwrap();
    let secrets = LogSecrets::generate();
    let log_dir = tmp.path().join("log");
    let log = open_with(&log_dir, secrets.keys(), vec![]).await;
    let step = MAX_EPOCHS_PER_REQUEST;
    let latest = 2 * step + step / 2;
    for epoch in 1..=latest {
        let n = u32::try_from(epoch).unwrap();
        log.publish(vec![(number(n), binding("d", 1))], NOW + epoch)
            .await
            .unwrap();
    }

    // A body limit that fits every step of the catch-up, not the whole audit.
    let size = |audit: AuditAnswer| serde_json::to_vec(&CosignRequest { audit }).unwrap().len();
    let whole = size(log.audit(0, latest).await.unwrap());
    let mut largest_step = 0;
    for from in (0..latest).step_by(usize::try_from(step).unwrap()) {
        let to = latest.min(from + step);
        largest_step = largest_step.max(size(log.audit(from, to).await.unwrap()));
    }
    let limit = largest_step + 1024;
    assert!(
        limit < whole,
        "steps of {largest_step} bytes, {whole} in all"
    );
    let state = tmp.path().join("witness.sqlite3");
    let witness = serve_limited(
        open_witness(&state, SigningKey::generate().unwrap(), secrets.public()),
        limit,
    )
    .await;
    let request = CosignRequest {
        audit: log.audit(0, latest).await.unwrap(),
    };
    let (status, body) = refused(&http, &witness, &request).await;
    assert_eq!((status, reason(&body).as_str()), (413, "body-too-large"));

    // The operator adds the witness; the log brings it up step by step.
    drop(log);
    let log = open_with(&log_dir, secrets.keys(), vec![witness.client(&http)]).await;
    let root = log.retry_cosignatures().await.unwrap();
    assert_eq!(root.statement.epoch, latest);
    assert_eq!(cosigners(&root), vec![witness.key()]);
    assert_eq!(witness.position(), latest);
    let alice = number(1);
    let proven = trust(&log, vec![witness.key()], 1)
        .verify_lookup(
            &alice,
            &log.lookup(&alice).await.unwrap(),
            NOW + latest + 10,
        )
        .unwrap();
    assert_eq!((proven.root.epoch, proven.since_epoch), (latest, 1));
    // The next epoch is one step.
    let next = log
        .publish(vec![(alice, binding("a2", 2))], NOW + latest + 20)
        .await
        .unwrap();
    assert_eq!(cosigners(&next), vec![witness.key()]);
    assert_eq!(witness.position(), latest + 1);
}

/// The malicious KDS: one log key and VRF key, one directory name, two
/// histories. In the honest one Alice's number is bound to her device; in
/// the evil one, to a key of the provider's choosing. Both logs ask the
/// same witness, the honest one first.
struct SplitView {
    tmp: TempDir,
    secrets: LogSecrets,
    witness_key: Secret,
    state: PathBuf,
    witness: Served,
    honest: KtLog,
    evil: KtLog,
}

async fn split_view(http: &reqwest::Client) -> SplitView {
    let tmp = tempfile::tempdir().unwrap();
    let secrets = LogSecrets::generate();
    let witness_key = Secret::generate();
    let state = tmp.path().join("witness/state.sqlite3");
    let witness = serve(open_witness(&state, witness_key.key(), secrets.public())).await;
    let honest = open_with(
        &tmp.path().join("honest"),
        secrets.keys(),
        vec![witness.client(http)],
    )
    .await;
    let evil = open_with(
        &tmp.path().join("evil"),
        secrets.keys(),
        vec![witness.client(http)],
    )
    .await;
    // Epoch 0 is the empty directory in both: the same root.
    assert_eq!(
        honest.root(0).unwrap().unwrap(),
        evil.root(0).unwrap().unwrap()
    );
    let bob = (number(2), binding("b1", 2));
    honest
        .publish(vec![(number(1), binding("a1", 1)), bob.clone()], NOW + 10)
        .await
        .unwrap();
    evil.publish(vec![(number(1), binding("mitm", 66)), bob], NOW + 10)
        .await
        .unwrap();
    SplitView {
        tmp,
        secrets,
        witness_key,
        state,
        witness,
        honest,
        evil,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_split_view_is_refused_and_proven() {
    let http = http();
    let view = split_view(&http).await;
    let log_key = view.secrets.public();
    let witness = &view.witness;
    let honest_root = view.honest.latest_root().unwrap().unwrap();
    let evil_root = view.evil.latest_root().unwrap().unwrap();
    assert_eq!(
        (honest_root.statement.epoch, evil_root.statement.epoch),
        (1, 1)
    );
    assert_ne!(
        honest_root.statement.root_hash,
        evil_root.statement.root_hash
    );
    // Both roots carry the log's signature; only the honest one was co-signed.
    check_log_signature(&log_key, &honest_root).unwrap();
    check_log_signature(&log_key, &evil_root).unwrap();
    assert_eq!(cosigners(&honest_root), vec![witness.key()]);
    assert!(evil_root.cosignatures.is_empty());
    assert_eq!(witness.position(), 1);

    // The witness kept both log-signed roots: proof against the log key.
    let evidence = witness.witness.evidence();
    assert_eq!(evidence.len(), 1);
    let fork = &evidence[0];
    assert_eq!((fork.directory.as_str(), fork.epoch), (DIRECTORY, 1));
    assert_eq!(fork.first.statement, honest_root.statement);
    assert_eq!(fork.first.log_signature, honest_root.log_signature);
    assert_eq!(fork.second.statement, evil_root.statement);
    assert_eq!(fork.second.log_signature, evil_root.log_signature);
    assert!(fork.verify(&log_key));
    assert!(!fork.verify(&Secret::generate().public()));
    let published: Vec<ForkEvidence> =
        get_json(&http, &format!("{}/witness/v1/evidence", witness.url)).await;
    assert_eq!(published, evidence);

    // Asked again, from the start or from the witness's position, the
    // witness answers 422 kt-fork and records the fork only once.
    let (status, body) = post_cosign(
        &http,
        &witness.url,
        &CosignRequest {
            audit: view.evil.audit(0, 1).await.unwrap(),
        },
    )
    .await;
    assert_eq!((status, reason(&body).as_str()), (422, "kt-fork"));
    let from_position = CosignRequest {
        audit: view.evil.audit(1, 1).await.unwrap(),
    };
    match witness.witness.cosign(&from_position).await {
        Err(WitnessError::Fork(seen)) => assert_eq!(*seen, *fork),
        other => panic!("expected a fork, got {other:?}"),
    }
    assert_eq!(witness.witness.evidence(), evidence);
    let retried = view.evil.retry_cosignatures().await.unwrap();
    assert!(retried.cosignatures.is_empty());
    assert_eq!(witness.position(), 1);
    assert_eq!(witness.witness.evidence(), evidence);

    // A client that requires the witness refuses the evil log's answer and
    // accepts the honest one's.
    let alice = number(1);
    let now = NOW + 20;
    let strict = trust(&view.honest, vec![witness.key()], 1);
    let from_evil = view.evil.lookup(&alice).await.unwrap();
    let from_honest = view.honest.lookup(&alice).await.unwrap();
    assert_eq!(
        strict.verify_lookup(&alice, &from_evil, now).unwrap_err(),
        KtError::TooFewCosignatures {
            epoch: 1,
            valid: 0,
            required: 1
        }
    );
    assert_eq!(
        strict
            .verify_lookup(&alice, &from_honest, now)
            .unwrap()
            .binding,
        binding("a1", 1)
    );
    // The evil proof is otherwise sound: only the witness stood in the way
    // of a client that does not require one.
    let lax = trust(&view.evil, vec![], 0);
    assert_eq!(
        lax.verify_lookup(&alice, &from_evil, now).unwrap().binding,
        binding("mitm", 66)
    );

    // Gossip: Carol holds the honest root, Dave (the lax client) the evil
    // one. Each one's root, gossiped to the other, proves the fork.
    let mut carol = SeenRoots::default();
    carol.observe_own(&log_key, &from_honest.root).unwrap();
    let mut dave = SeenRoots::default();
    dave.observe_own(&log_key, &from_evil.root).unwrap();
    // A root the log did not sign proves nothing and changes nothing.
    let mut forged = from_evil.root.clone();
    forged.statement.root_hash = B64(vec![9; 32]);
    assert_eq!(
        carol.observe_gossip(&strict, &forged, now).unwrap_err(),
        KtError::BadLogSignature { epoch: 1 }
    );
    assert!(detect_fork(&log_key, &from_honest.root, &forged).is_none());
    assert_eq!(carol.newest_roots(), vec![from_honest.root.clone()]);

    let carols = carol.newest_roots();
    let daves = dave.newest_roots();
    assert_eq!(daves, vec![from_evil.root.clone()]);
    for (seen_by, log, mine, gossiped) in [
        (&mut dave, &lax, &from_evil.root, &carols[0]),
        (&mut carol, &strict, &from_honest.root, &daves[0]),
    ] {
        // The evil root lacks the witness Carol requires, yet the log's
        // two signatures still prove the fork.
        match seen_by.observe_gossip(log, gossiped, now) {
            Err(KtError::Fork(found)) => {
                assert!(found.verify(&log_key));
                assert_eq!((found.directory.as_str(), found.epoch), (DIRECTORY, 1));
                assert_eq!(found.first.statement, mine.statement);
                assert_eq!(found.second.statement, gossiped.statement);
            }
            other => panic!("expected a fork, got {other:?}"),
        }
    }
    // The clients' evidence and the witness's name the same two roots.
    let found = detect_fork(&log_key, &from_honest.root, &from_evil.root).unwrap();
    assert_eq!(found.first.statement, fork.first.statement);
    assert_eq!(found.second.statement, fork.second.statement);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn witness_state_survives_a_restart() {
    let http = http();
    let SplitView {
        tmp,
        secrets,
        witness_key,
        state,
        witness,
        honest,
        evil,
    } = split_view(&http).await;
    let evidence = witness.witness.evidence();
    assert_eq!(evidence.len(), 1);
    assert_eq!(witness.position(), 1);

    // Everything stops.
    drop((honest, evil));
    drop(witness.shut_down().await);

    // The state file belongs to the log key its epochs were verified under.
    match Witness::open(
        &state,
        witness_key.key(),
        follow(Secret::generate().public()),
        || NOW + 60,
    ) {
        Err(KtServerError::Mismatch { what, .. }) => assert!(what.contains(DIRECTORY), "{what}"),
        other => panic!("expected a mismatch, got {other:?}"),
    }
    // A log followed twice is a configuration error.
    let twice = [follow(secrets.public()), follow(secrets.public())].concat();
    assert!(matches!(
        Witness::open(&state, witness_key.key(), twice, || NOW + 60),
        Err(KtServerError::Kt(KtError::Malformed { .. }))
    ));

    // Reopened: the same position and evidence, over HTTP too.
    let witness = serve(open_witness(&state, witness_key.key(), secrets.public())).await;
    assert_eq!(witness.key(), witness_key.public());
    assert_eq!(witness.position(), 1);
    assert_eq!(witness.witness.evidence(), evidence);
    let published: Vec<ForkEvidence> =
        get_json(&http, &format!("{}/witness/v1/evidence", witness.url)).await;
    assert_eq!(published, evidence);

    // The logs restart too, told the witness's new address.
    let honest = open_with(
        &tmp.path().join("honest"),
        secrets.keys(),
        vec![witness.client(&http)],
    )
    .await;
    let evil = open_with(
        &tmp.path().join("evil"),
        secrets.keys(),
        vec![witness.client(&http)],
    )
    .await;

    // The forked root is still refused...
    assert!(
        evil.retry_cosignatures()
            .await
            .unwrap()
            .cosignatures
            .is_empty()
    );
    let (status, body) = refused(
        &http,
        &witness,
        &CosignRequest {
            audit: evil.audit(0, 1).await.unwrap(),
        },
    )
    .await;
    assert_eq!((status, reason(&body).as_str()), (422, "kt-fork"));
    // ...also when the evil log moves on: its history runs through it.
    let carol = (number(3), binding("c1", 7));
    let evil2 = evil.publish(vec![carol.clone()], NOW + 20).await.unwrap();
    assert_eq!(evil2.statement.epoch, 2);
    assert!(evil2.cosignatures.is_empty());
    assert_eq!(witness.position(), 1);

    // The honest log's next epoch is co-signed from where the witness stood.
    let honest2 = honest.publish(vec![carol.clone()], NOW + 20).await.unwrap();
    assert_eq!(honest2.statement.epoch, 2);
    assert_ne!(honest2.statement.root_hash, evil2.statement.root_hash);
    assert_eq!(cosigners(&honest2), vec![witness.key()]);
    assert_eq!(witness.position(), 2);
    let proven = trust(&honest, vec![witness.key()], 1)
        .verify_lookup(&carol.0, &honest.lookup(&carol.0).await.unwrap(), NOW + 30)
        .unwrap();
    assert_eq!((proven.root.epoch, proven.binding), (2, carol.1));

    // The evil epoch 2 is refused too, as a fork of epoch 1: recorded once.
    assert!(
        evil.retry_cosignatures()
            .await
            .unwrap()
            .cosignatures
            .is_empty()
    );
    assert_eq!(witness.witness.evidence(), evidence);
    assert_eq!(witness.position(), 2);

    // The position was on disk before the co-signature was handed out: a
    // second reader of the state file sees it.
    let reader = open_witness(&state, witness_key.key(), secrets.public());
    assert_eq!(reader.info(), witness.witness.info());
    assert_eq!(reader.evidence(), evidence);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_requests_change_nothing() {
    let http = http();
    let tmp = tempfile::tempdir().unwrap();
    let secrets = LogSecrets::generate();
    // A log with no witnesses configured: the test asks the witness itself.
    let log = open_with(&tmp.path().join("log"), secrets.keys(), vec![]).await;
    for epoch in 1..=3u8 {
        let update = (number(u32::from(epoch)), binding("d", epoch));
        log.publish(vec![update], NOW + u64::from(epoch))
            .await
            .unwrap();
    }
    let witness = serve(open_witness(
        &tmp.path().join("w.sqlite3"),
        SigningKey::generate().unwrap(),
        secrets.public(),
    ))
    .await;
    let (status, body) = post_cosign(
        &http,
        &witness.url,
        &CosignRequest {
            audit: log.audit(0, 2).await.unwrap(),
        },
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let c: Cosignature = serde_json::from_slice(&body).unwrap();
    assert_eq!(c.witness_key.0, witness.key().0);
    assert!(cosignature_valid(
        &log.root(2).unwrap().unwrap().statement,
        &c
    ));
    assert_eq!(witness.position(), 2);

    // The honest next step, and hostile variants of it.
    let step = log.audit(2, 3).await.unwrap();
    let with = |change: &dyn Fn(&mut AuditAnswer)| {
        let mut audit = step.clone();
        change(&mut audit);
        CosignRequest { audit }
    };
    let expect =
        |(status, body): (u16, Vec<u8>), want_status: u16, want_reason: &str, case: &str| {
            assert_eq!(
                (status, reason(&body).as_str()),
                (want_status, want_reason),
                "{case}"
            );
        };

    // Another provider's directory.
    let other_secrets = LogSecrets::generate();
    let other = KtLog::open(
        &tmp.path().join("other"),
        "kds.other.example",
        other_secrets.keys(),
        KtLogOptions::default(),
        NOW,
    )
    .await
    .unwrap();
    other
        .publish(vec![(number(1), binding("o", 1))], NOW + 1)
        .await
        .unwrap();
    let audit = other.audit(0, 1).await.unwrap();
    expect(
        refused(&http, &witness, &CosignRequest { audit }).await,
        403,
        "unknown-log",
        "unknown directory",
    );
    // This directory's name, real roots, another log key.
    let impostor = open_log(
        &tmp.path().join("impostor"),
        LogSecrets::generate().keys(),
        KtLogOptions::default(),
    )
    .await;
    impostor
        .publish(vec![(number(1), binding("i", 1))], NOW + 1)
        .await
        .unwrap();
    let audit = impostor.audit(0, 1).await.unwrap();
    expect(
        refused(&http, &witness, &CosignRequest { audit }).await,
        422,
        "kt-bad-log-signature",
        "impostor",
    );

    // A tampered append-only proof, wherever the byte.
    let proof_len = step.proofs[0].0.len();
    for i in (0..proof_len).step_by(proof_len / 8 + 1) {
        let request = with(&|a| a.proofs[0].0[i] ^= 1);
        expect(
            refused(&http, &witness, &request).await,
            422,
            "kt-audit-failed",
            &format!("byte {i} flipped"),
        );
    }
    let request = with(&|a| a.proofs[0].0[proof_len / 2] ^= 0x80);
    assert!(matches!(
        witness.witness.cosign(&request).await,
        Err(WitnessError::Refused(KtError::AuditFailed { epoch: 3, .. }))
    ));
    // The proof of another step.
    let other_step = log.audit(1, 2).await.unwrap().proofs;
    let request = with(&|a| a.proofs = other_step.clone());
    expect(
        refused(&http, &witness, &request).await,
        422,
        "kt-audit-failed",
        "proof of 1..2",
    );
    // A root the log signed but that the proof does not lead to: the log
    // lying about where its history goes.
    let lie = secrets.sign(DIRECTORY, 3, vec![7; 32], NOW + 3);
    let request = with(&|a| a.roots[1] = lie.clone());
    expect(
        refused(&http, &witness, &request).await,
        422,
        "kt-audit-failed",
        "re-signed root",
    );
    // A log signature that does not verify.
    let request = with(&|a| a.roots[1].log_signature.0[0] ^= 1);
    expect(
        refused(&http, &witness, &request).await,
        422,
        "kt-bad-log-signature",
        "signature",
    );
    let request = with(&|a| a.roots[1].statement.signed_at += 1);
    expect(
        refused(&http, &witness, &request).await,
        422,
        "kt-bad-log-signature",
        "time changed",
    );
    // A root of another directory inside the audit.
    let request = with(&|a| a.roots[1].statement.directory = "kds.other.example".into());
    expect(
        refused(&http, &witness, &request).await,
        422,
        "kt-wrong-directory",
        "mixed directories",
    );
    // A signing time beyond what the state file holds, signed by the log.
    let far = secrets.sign(
        DIRECTORY,
        3,
        step.roots[1].statement.root_hash.0.clone(),
        u64::MAX,
    );
    let request = with(&|a| a.roots[1] = far.clone());
    expect(
        refused(&http, &witness, &request).await,
        422,
        "kt-malformed",
        "time beyond 2^63",
    );
    // A root the log dated ahead (to keep a view "fresh" for clients long
    // after the log moved on): refused beyond the allowed clock skew.
    let ahead = secrets.sign(
        DIRECTORY,
        3,
        step.roots[1].statement.root_hash.0.clone(),
        NOW + 60 + 301,
    );
    let request = with(&|a| a.roots[1] = ahead.clone());
    expect(
        refused(&http, &witness, &request).await,
        422,
        "kt-root-from-future",
        "root dated ahead",
    );

    // Epochs that do not follow each other, and proofs that do not match.
    let long = log.audit(1, 3).await.unwrap();
    let skipping = AuditAnswer {
        roots: vec![long.roots[0].clone(), long.roots[2].clone()],
        proofs: vec![long.proofs[0].clone()],
    };
    let request = CosignRequest { audit: skipping };
    expect(
        refused(&http, &witness, &request).await,
        422,
        "kt-malformed",
        "1 then 3",
    );
    let request = with(&|a| a.roots[1] = a.roots[0].clone());
    expect(
        refused(&http, &witness, &request).await,
        422,
        "kt-malformed",
        "2 then 2",
    );
    let request = with(&|a| a.roots.reverse());
    expect(
        refused(&http, &witness, &request).await,
        422,
        "kt-malformed",
        "3 then 2",
    );
    let request = with(&|a| a.proofs.clear());
    expect(
        refused(&http, &witness, &request).await,
        422,
        "kt-malformed",
        "no proof",
    );
    let request = with(&|a| a.proofs.push(a.proofs[0].clone()));
    expect(
        refused(&http, &witness, &request).await,
        422,
        "kt-malformed",
        "one proof too many",
    );
    let request = with(&|a| {
        *a = AuditAnswer {
            roots: vec![],
            proofs: vec![],
        }
    });
    expect(
        refused(&http, &witness, &request).await,
        422,
        "kt-malformed",
        "no roots",
    );

    // Valid audits that do not start where the witness stands, including
    // a replay of the one it co-signed.
    for (from, to) in [(0, 2), (1, 3), (3, 3), (0, 3)] {
        let request = CosignRequest {
            audit: log.audit(from, to).await.unwrap(),
        };
        let (status, body) = refused(&http, &witness, &request).await;
        assert_eq!((status, position(&body)), (409, at(2)), "{from}..={to}");
    }

    // Bodies that are not a co-signing request.
    let json = Some("application/json");
    let cases: [(Option<&str>, Vec<u8>, u16, &str); 6] = [
        (json, b"{not json".to_vec(), 400, "malformed-request"),
        (
            json,
            b"{\"audit\":{\"roots\":[]}}".to_vec(),
            422,
            "malformed-request",
        ),
        (
            json,
            b"{\"audit\":{\"roots\":[],\"proofs\":[\"%%not base64\"]}}".to_vec(),
            422,
            "malformed-request",
        ),
        (json, b"[]".to_vec(), 422, "malformed-request"),
        (
            None,
            serde_json::to_vec(&CosignRequest {
                audit: step.clone(),
            })
            .unwrap(),
            415,
            "malformed-request",
        ),
        (
            json,
            format!(
                "{{\"audit\":{{\"roots\":[],\"proofs\":[\"{}\"]}}}}",
                "A".repeat(BODY_LIMIT * 2)
            )
            .into_bytes(),
            413,
            "body-too-large",
        ),
    ];
    for (content_type, body, status, why) in cases {
        let case = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
        expect(
            refused_raw(&http, &witness, content_type, body).await,
            status,
            why,
            &case,
        );
    }

    // Nothing moved, and no fork was made up.
    assert_eq!(witness.position(), 2);
    assert!(witness.witness.evidence().is_empty());

    // A witness that co-signed nothing takes only the empty directory as
    // its start; a made-up epoch 0, even signed by the log, is refused.
    let fresh = serve(open_witness(
        &tmp.path().join("fresh.sqlite3"),
        SigningKey::generate().unwrap(),
        secrets.public(),
    ))
    .await;
    let genesis = secrets.sign(DIRECTORY, 0, vec![5; 32], NOW);
    let request = CosignRequest {
        audit: AuditAnswer {
            roots: vec![genesis],
            proofs: vec![],
        },
    };
    expect(
        refused(&http, &fresh, &request).await,
        422,
        "kt-not-genesis",
        "made-up genesis",
    );
    let (status, body) = refused(
        &http,
        &fresh,
        &CosignRequest {
            audit: step.clone(),
        },
    )
    .await;
    assert_eq!((status, position(&body)), (409, at(0)));
    let (status, _) = post_cosign(
        &http,
        &fresh.url,
        &CosignRequest {
            audit: log.audit(0, 3).await.unwrap(),
        },
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(fresh.position(), 3);

    // The honest step still goes through after all of that.
    let (status, body) = post_cosign(&http, &witness.url, &CosignRequest { audit: step }).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let c: Cosignature = serde_json::from_slice(&body).unwrap();
    assert!(cosignature_valid(
        &log.root(3).unwrap().unwrap().statement,
        &c
    ));
    assert_eq!(witness.position(), 3);
    assert!(witness.witness.evidence().is_empty());
}

/// A witness that accepts connections and never answers does not hold the
/// log up: the epoch is published with the other witness's co-signature
/// once `witness_timeout` passes, and lookups go on.
// Measures that the epoch waited only the timeout: elapsed wall time.
#[allow(clippy::disallowed_methods)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_witness_delays_an_epoch_by_the_timeout_only() {
    let http = http();
    let tmp = tempfile::tempdir().unwrap();
    let secrets = LogSecrets::generate();
    let honest = serve(open_witness(
        &tmp.path().join("w1/state.sqlite3"),
        SigningKey::generate().unwrap(),
        secrets.public(),
    ))
    .await;
    // Accepts, reads nothing, answers nothing.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    let silent_key = SigningKey::generate().unwrap().public_key();
    let options = KtLogOptions {
        witnesses: vec![
            honest.client(&http),
            WitnessClient::new(silent_url, silent_key, http.clone()),
        ],
        witness_timeout: std::time::Duration::from_secs(1),
        ..KtLogOptions::default()
    };
    let started = std::time::Instant::now();
    let log = open_log(&tmp.path().join("log"), secrets.keys(), options).await;
    let root = log
        .publish(vec![(number(1), binding("a1", 1))], NOW + 10)
        .await
        .unwrap();
    // Two roots (genesis, epoch 1), each waiting at most the timeout.
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(root.statement.epoch, 1);
    assert_eq!(cosigners(&root), vec![honest.key()]);
    let lookup = log.lookup(&number(1)).await.unwrap();
    assert_eq!(lookup.root, root);
    held.abort();
}
