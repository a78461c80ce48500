//! `crosslock kt audit` and `crosslock kt witness`, run as the real binary
//! against real servers on loopback: a key-transparency log built in this
//! process and served with its public routes, and witness processes that
//! such a log asks for co-signatures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use crosslock_client::credential::PhoneNumber;
use crosslock_kt::server::{KtLog, KtLogOptions, LogKeys, WitnessClient, public_router};
use crosslock_kt::{Binding, BoundKey, PublicKey, SigningKey, cosignature_valid};
use crosslock_wire::api::B64;
use crosslock_wire::api::kt::{AuditAnswer, RootStatement, SignedRoot};
use serde_json::Value;

const DIRECTORY: &str = "kds.a.example";
/// Roots are signed at the real time: the witness binary refuses roots
/// dated ahead of its clock.
fn now() -> u64 {
    crosslock_client::env::Environment::system().now()
}

fn crosslock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crosslock"))
}

fn number(n: u32) -> PhoneNumber {
    PhoneNumber::parse(&format!("+1555{n:07}")).unwrap()
}

/// One device's binding, with key bytes derived from `seed`.
fn binding(seed: u8) -> Binding {
    Binding::of(vec![BoundKey::new(
        "device-1",
        vec![seed; 65],
        &[seed; 200],
    )])
    .unwrap()
}

/// The same keys again (to run a second log that forks from the first).
fn copy_keys(keys: &LogKeys) -> LogKeys {
    LogKeys {
        log_key: SigningKey::from_pkcs8(keys.log_key.pkcs8()).unwrap(),
        vrf: keys.vrf.clone(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// An HTTP client for the tests' own requests (reqwest needs the rustls
/// provider installed).
fn http() -> reqwest::Client {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    reqwest::Client::new()
}

/// A log in a temporary folder, optionally served with its public routes.
struct Log {
    log: Arc<KtLog>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl Log {
    fn open(keys: LogKeys, witnesses: Vec<WitnessClient>) -> Log {
        let dir = tempfile::tempdir().unwrap();
        let runtime = runtime();
        let options = KtLogOptions {
            witnesses,
            ..KtLogOptions::default()
        };
        let log = runtime
            .block_on(KtLog::open(dir.path(), DIRECTORY, keys, options, now()))
            .unwrap();
        Log {
            log: Arc::new(log),
            runtime,
            _dir: dir,
        }
    }

    /// Publishes one epoch per entry, each setting number `n` to binding
    /// `seed`; returns the last root.
    fn publish(&self, epochs: &[(u32, u8)]) -> SignedRoot {
        let mut root = None;
        for &(n, seed) in epochs {
            let epoch = self.epoch() + 1;
            let published = self
                .runtime
                .block_on(self.log.publish(vec![(number(n), binding(seed))], now()))
                .unwrap();
            assert_eq!(published.statement.epoch, epoch);
            root = Some(published);
        }
        root.unwrap()
    }

    fn epoch(&self) -> u64 {
        self.log
            .latest_root()
            .unwrap()
            .map_or(0, |r| r.statement.epoch)
    }

    fn root_hash_hex(&self, epoch: u64) -> String {
        hex::encode(&self.log.root(epoch).unwrap().unwrap().statement.root_hash.0)
    }

    /// Serves `router` on a free loopback port; returns its base URL.
    fn serve(&self, router: axum::Router) -> String {
        let listener = self
            .runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        self.runtime
            .spawn(async move { axum::serve(listener, router).await });
        url
    }

    fn serve_public(&self) -> String {
        self.serve(public_router(self.log.clone()))
    }
}

/// `crosslock kt audit ARGS`: exit code, the JSON verdict, stderr.
fn audit(args: &[&str]) -> (Option<i32>, Value, String) {
    let out = crosslock()
        .args(["kt", "audit"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let verdict = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}):\n{stdout}\n{stderr}"));
    (out.status.code(), verdict, stderr)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn assert_ok(verdict: &Value, from: u64, to: u64, root_hash: &str) {
    assert_eq!(verdict["verdict"], "ok", "{verdict}");
    assert_eq!(verdict["directory"], DIRECTORY);
    assert_eq!(verdict["from"], from);
    assert_eq!(verdict["to"], to);
    assert_eq!(verdict["epochs_verified"], to - from);
    assert_eq!(verdict["root_hash_at_to"], root_hash);
    assert!(
        verdict["reason"].is_null() && verdict["message"].is_null(),
        "{verdict}"
    );
}

fn assert_failed(code: Option<i32>, verdict: &Value, reason: &str, epochs_verified: u64) {
    assert_eq!(code, Some(1), "{verdict}");
    assert_eq!(verdict["verdict"], "failed", "{verdict}");
    assert_eq!(verdict["reason"], reason, "{verdict}");
    assert_eq!(verdict["epochs_verified"], epochs_verified, "{verdict}");
    assert!(verdict["root_hash_at_to"].is_null(), "{verdict}");
}

fn five_epochs() -> [(u32, u8); 5] {
    [(1, 1), (2, 2), (1, 3), (3, 4), (4, 5)]
}

fn saved_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Edits one saved answer's JSON.
fn edit_saved(file: &Path, edit: impl FnOnce(&mut Value)) {
    let mut json: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    edit(&mut json);
    std::fs::write(file, serde_json::to_vec(&json).unwrap()).unwrap();
}

/// Flips the first bit of a base64 field.
fn flip_b64(field: &mut Value) {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = engine.decode(field.as_str().unwrap()).unwrap();
    bytes[0] ^= 1;
    *field = Value::String(engine.encode(bytes));
}

#[test]
fn online_audit_saves_answers_that_audit_offline() {
    let keys = LogKeys::generate().unwrap();
    let key = keys.log_key.public_key().to_hex();
    let log = Log::open(keys, vec![]);
    log.publish(&five_epochs());
    let url = log.serve_public();
    let latest = log.root_hash_hex(5);
    let save = tempfile::tempdir().unwrap();
    let base = ["--directory", DIRECTORY, "--log-key", &key];

    // Online, in requests of 2 epochs (sharing boundaries), saving each.
    let (code, verdict, stderr) = audit(
        &[
            &base[..],
            &["--kds", &url, "--chunk", "2", "--save", path(save.path())],
        ]
        .concat(),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_ok(&verdict, 0, 5, &latest);
    assert!(
        stderr.contains("audit ok") && stderr.contains(&latest),
        "{stderr}"
    );
    assert_eq!(
        saved_names(save.path()),
        [
            "audit-0-1.json",
            "audit-1-2.json",
            "audit-2-3.json",
            "audit-3-4.json",
            "audit-4-5.json"
        ]
    );

    // The default request size, a later start, a range inside.
    let (code, verdict, _) = audit(&[&base[..], &["--kds", &format!("{url}/")]].concat());
    assert_eq!(code, Some(0));
    assert_ok(&verdict, 0, 5, &latest);
    let (code, verdict, _) =
        audit(&[&base[..], &["--kds", &url, "--from", "2", "--to", "4"]].concat());
    assert_eq!(code, Some(0));
    assert_ok(&verdict, 2, 4, &log.root_hash_hex(4));
    let (code, verdict, _) = audit(&[&base[..], &["--kds", &url, "--from", "5"]].concat());
    assert_eq!(code, Some(0));
    assert_ok(&verdict, 5, 5, &latest);

    // Offline, from the saved answers: all of them, and a range inside.
    let dir = path(save.path());
    let (code, verdict, stderr) = audit(&[&base[..], &["--dir", dir]].concat());
    assert_eq!(code, Some(0), "{stderr}");
    assert_ok(&verdict, 0, 5, &latest);
    let (code, verdict, _) =
        audit(&[&base[..], &["--dir", dir, "--from", "1", "--to", "3"]].concat());
    assert_eq!(code, Some(0));
    assert_ok(&verdict, 1, 3, &log.root_hash_hex(3));
    // Overlapping answers of another run agree with these.
    let (code, _, _) =
        audit(&[&base[..], &["--kds", &url, "--chunk", "3", "--save", dir]].concat());
    assert_eq!(code, Some(0));
    assert_eq!(saved_names(save.path()).len(), 7);
    let (code, verdict, _) = audit(&[&base[..], &["--dir", dir]].concat());
    assert_eq!(code, Some(0));
    assert_ok(&verdict, 0, 5, &latest);

    // Tampered copies fail: a root hash (its log signature no longer
    // verifies), an append-only proof.
    let originals = tempfile::tempdir().unwrap();
    let (code, _, _) = audit(
        &[
            &base[..],
            &[
                "--kds",
                &url,
                "--chunk",
                "2",
                "--save",
                path(originals.path()),
            ],
        ]
        .concat(),
    );
    assert_eq!(code, Some(0));
    let tampered = tempfile::tempdir().unwrap();
    let root_changed = tampered.path().join("root");
    copy_dir(originals.path(), &root_changed);
    edit_saved(&root_changed.join("audit-2-3.json"), |json| {
        flip_b64(&mut json["roots"][1]["statement"]["root_hash"]);
    });
    let (code, verdict, stderr) = audit(&[&base[..], &["--dir", path(&root_changed)]].concat());
    assert_failed(code, &verdict, "kt-bad-log-signature", 2);
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("audit-2-3.json"),
        "{verdict}"
    );
    assert!(stderr.contains("audit FAILED"), "{stderr}");

    let proof_changed = tampered.path().join("proof");
    copy_dir(originals.path(), &proof_changed);
    edit_saved(&proof_changed.join("audit-3-4.json"), |json| {
        let proof = json["proofs"][0].as_str().unwrap().to_owned();
        // Change a byte near the end (a hash inside the proof).
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        let mut bytes = engine.decode(proof).unwrap();
        let at = bytes.len() - 3;
        bytes[at] ^= 0x40;
        json["proofs"][0] = Value::String(engine.encode(bytes));
    });
    let (code, verdict, _) = audit(&[&base[..], &["--dir", path(&proof_changed)]].concat());
    assert_failed(code, &verdict, "kt-audit-failed", 3);

    // A missing answer is a gap.
    let gap = tampered.path().join("gap");
    copy_dir(originals.path(), &gap);
    std::fs::remove_file(gap.join("audit-2-3.json")).unwrap();
    let (code, verdict, _) = audit(&[&base[..], &["--dir", path(&gap)]].concat());
    assert_failed(code, &verdict, "gap", 2);
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("epoch 3 extends epoch 2"),
        "{verdict}"
    );
    // ... unless the range stays clear of it.
    let (code, _, _) = audit(&[&base[..], &["--dir", path(&gap), "--from", "3"]].concat());
    assert_eq!(code, Some(0));

    // Another log key, another directory name: nothing verifies.
    let other = SigningKey::generate().unwrap().public_key().to_hex();
    let (code, verdict, _) = audit(&["--kds", &url, "--directory", DIRECTORY, "--log-key", &other]);
    assert_failed(code, &verdict, "kt-bad-log-signature", 0);
    let (code, verdict, _) = audit(&["--dir", dir, "--directory", DIRECTORY, "--log-key", &other]);
    assert_failed(code, &verdict, "kt-bad-log-signature", 0);
    let (code, verdict, _) = audit(&[
        "--kds",
        &url,
        "--directory",
        "kds.b.example",
        "--log-key",
        &key,
    ]);
    assert_failed(code, &verdict, "kt-wrong-directory", 0);
}

#[test]
fn epoch_0_must_be_the_empty_directory() {
    let keys = LogKeys::generate().unwrap();
    let key = keys.log_key.public_key().to_hex();
    let signer = SigningKey::from_pkcs8(keys.log_key.pkcs8()).unwrap();
    // What the audit expects at epoch 0 is what a fresh log has there.
    let log = Log::open(keys, vec![]);
    assert_eq!(log.root_hash_hex(0), "00".repeat(32));

    // A log-signed epoch 0 claiming a populated directory.
    let root = crosslock_kt::sign_root(
        &signer,
        RootStatement {
            directory: DIRECTORY.into(),
            epoch: 0,
            root_hash: B64(vec![7; 32]),
            signed_at: now(),
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let answer = AuditAnswer {
        roots: vec![root],
        proofs: vec![],
    };
    std::fs::write(
        dir.path().join("audit-0-0.json"),
        serde_json::to_vec(&answer).unwrap(),
    )
    .unwrap();
    let base = [
        "--directory",
        DIRECTORY,
        "--log-key",
        &key,
        "--dir",
        path(dir.path()),
    ];
    let (code, verdict, _) = audit(&base);
    assert_failed(code, &verdict, "kt-not-genesis", 0);
    // An audit starting later trusts its first root as the starting point.
    let mut later = answer;
    later.roots[0].statement.epoch = 5;
    later.roots[0] = crosslock_kt::sign_root(&signer, later.roots[0].statement.clone()).unwrap();
    std::fs::write(
        dir.path().join("audit-5-5.json"),
        serde_json::to_vec(&later).unwrap(),
    )
    .unwrap();
    let (code, verdict, _) = audit(&[&base[..], &["--from", "5"]].concat());
    assert_eq!(code, Some(0), "{verdict}");
    assert_ok(&verdict, 5, 5, &"07".repeat(32));
}

/// Two logs under the same keys that agree up to epoch 2 and then differ:
/// a split view.
fn split_view() -> (Log, Log, String) {
    let keys = LogKeys::generate().unwrap();
    let key = keys.log_key.public_key().to_hex();
    let twin = copy_keys(&keys);
    let a = Log::open(keys, vec![]);
    let b = Log::open(twin, vec![]);
    a.publish(&[(1, 1), (2, 2), (3, 3), (4, 4)]);
    b.publish(&[(1, 1), (2, 2), (3, 33), (4, 4)]);
    assert_eq!(a.root_hash_hex(2), b.root_hash_hex(2));
    assert_ne!(a.root_hash_hex(3), b.root_hash_hex(3));
    (a, b, key)
}

#[derive(serde::Deserialize)]
struct Range {
    from: u64,
    to: u64,
}

/// Answers audits starting before epoch 3 from `a`, the rest from `b`.
async fn two_faced_audit(
    State((a, b)): State<(Arc<KtLog>, Arc<KtLog>)>,
    Query(Range { from, to }): Query<Range>,
) -> Response {
    let log = if from < 3 { a } else { b };
    axum::Json(log.audit(from, to).await.unwrap()).into_response()
}

#[test]
fn a_fork_between_requests_fails_online_and_offline() {
    let (a, b, key) = split_view();
    let router = axum::Router::new()
        .route("/v1/kt/audit", axum::routing::get(two_faced_audit))
        .with_state((a.log.clone(), b.log.clone()));
    let url = a.serve(router);
    let save = tempfile::tempdir().unwrap();
    let dir = path(save.path());
    let base = ["--directory", DIRECTORY, "--log-key", &key];

    // Requests 0..=3 (from a) and 3..=4 (from b) each verify alone; their
    // shared epoch 3 differs.
    let (code, verdict, _) = audit(
        &[
            &base[..],
            &["--kds", &url, "--to", "4", "--chunk", "4", "--save", dir],
        ]
        .concat(),
    );
    assert_failed(code, &verdict, "kt-fork", 3);
    let message = verdict["message"].as_str().unwrap();
    assert!(
        message.contains(&a.root_hash_hex(3)) && message.contains(&b.root_hash_hex(3)),
        "{message}"
    );
    assert_eq!(
        saved_names(save.path()),
        ["audit-0-3.json", "audit-3-4.json"]
    );

    // The saved answers are the evidence: offline finds the same fork.
    let (code, verdict, _) = audit(&[&base[..], &["--dir", dir]].concat());
    assert_failed(code, &verdict, "kt-fork", 3);
    // Any saved answer holding epoch 3 takes part, so even an audit that
    // stops there sees both roots; one that stops before does not.
    let (code, verdict, _) = audit(&[&base[..], &["--dir", dir, "--to", "3"]].concat());
    assert_failed(code, &verdict, "kt-fork", 3);
    let (code, verdict, _) = audit(&[&base[..], &["--dir", dir, "--to", "2"]].concat());
    assert_eq!(code, Some(0));
    assert_ok(&verdict, 0, 2, &a.root_hash_hex(2));
    // Each view alone is consistent.
    let (code, _, _) = audit(&[&base[..], &["--kds", &b.serve_public()]].concat());
    assert_eq!(code, Some(0));
}

#[test]
fn audit_refuses_what_it_cannot_use_with_exit_2() {
    let keys = LogKeys::generate().unwrap();
    let key = keys.log_key.public_key().to_hex();
    let log = Log::open(keys, vec![]);
    log.publish(&[(1, 1), (2, 2)]);
    let url = log.serve_public();

    // Clap refuses before the command runs (usage on stderr, no JSON).
    for args in [
        vec![],
        vec!["--kds", &url, "--log-key", &key],
        vec!["--kds", &url, "--directory", DIRECTORY],
        vec!["--directory", DIRECTORY, "--log-key", &key],
        vec![
            "--kds",
            &url,
            "--dir",
            "/tmp",
            "--directory",
            DIRECTORY,
            "--log-key",
            &key,
        ],
        vec![
            "--dir",
            "/tmp",
            "--save",
            "/tmp",
            "--directory",
            DIRECTORY,
            "--log-key",
            &key,
        ],
        vec![
            "--kds",
            &url,
            "--directory",
            DIRECTORY,
            "--log-key",
            &key,
            "--frobnicate",
        ],
        vec!["--kds", &url, "--directory", DIRECTORY, "--log-key", "abcd"],
        vec![
            "--kds",
            &url,
            "--directory",
            DIRECTORY,
            "--log-key",
            &key,
            "--from",
            "-1",
        ],
    ] {
        let out = crosslock()
            .args(["kt", "audit"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }

    // The command refuses with an "error" verdict.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("missing");
    let base = ["--directory", DIRECTORY, "--log-key", &key];
    for (args, reason) in [
        (
            vec!["--kds", &url, "--from", "3", "--to", "1"],
            "invalid-argument",
        ),
        (vec!["--kds", &url, "--chunk", "1"], "invalid-argument"),
        (vec!["--kds", &url, "--chunk", "1001"], "invalid-argument"),
        (vec!["--kds", &url, "--from", "3"], "invalid-argument"),
        (vec!["--kds", "kds.a.example"], "invalid-argument"),
        (vec!["--kds", &url, "--to", "9"], "http-error"),
        (vec!["--kds", &closed], "network"),
        (vec!["--kds", &url, "--ca", path(&missing)], "io"),
        (vec!["--dir", path(&missing)], "io"),
        (vec!["--dir", path(empty.path())], "no-files"),
    ] {
        let (code, verdict, stderr) = audit(&[&base[..], &args[..]].concat());
        assert_eq!(code, Some(2), "{args:?}: {verdict}");
        assert_eq!(verdict["verdict"], "error", "{args:?}");
        assert_eq!(verdict["reason"], reason, "{args:?}: {verdict}");
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
    // An unreadable saved file.
    std::fs::write(empty.path().join("audit-0-1.json"), "{").unwrap();
    let (code, verdict, _) = audit(&[&base[..], &["--dir", path(empty.path())]].concat());
    assert_eq!(
        (code, &verdict["reason"]),
        (Some(2), &Value::from("malformed-file"))
    );
}

#[test]
fn audit_over_https_trusts_the_given_ca() {
    let keys = LogKeys::generate().unwrap();
    let key = keys.log_key.public_key().to_hex();
    let log = Log::open(keys, vec![]);
    log.publish(&[(1, 1), (2, 2), (3, 3)]);

    let ca = crosslock_tls::TlsCa::generate("Crosslock test TLS CA").unwrap();
    let server = ca
        .issue_server(&["localhost"], &[IpAddr::V4(Ipv4Addr::LOCALHOST)])
        .unwrap();
    let tls = crosslock_tls::server_config(&server, crosslock_tls::ClientAuth::None).unwrap();
    let listener = log
        .runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = public_router(log.log.clone());
    log.runtime.spawn(crosslock_tls::serve(
        listener,
        router,
        Some(tls),
        std::future::pending(),
    ));
    let files = tempfile::tempdir().unwrap();
    let ca_pem = files.path().join("ca.pem");
    std::fs::write(&ca_pem, ca.certificate_pem()).unwrap();

    let url = format!("https://localhost:{port}");
    let base = ["--kds", &url, "--directory", DIRECTORY, "--log-key", &key];
    let (code, verdict, stderr) = audit(&[&base[..], &["--ca", path(&ca_pem)]].concat());
    assert_eq!(code, Some(0), "{stderr}");
    assert_ok(&verdict, 0, 3, &log.root_hash_hex(3));
    // Without the CA the certificate is not trusted: nothing was audited.
    let (code, verdict, _) = audit(&base);
    assert_eq!(code, Some(2));
    assert_eq!(verdict["reason"], "network");
    // A --ca file without certificates is refused.
    std::fs::write(files.path().join("empty.pem"), "").unwrap();
    let empty = files.path().join("empty.pem");
    let (code, verdict, _) = audit(&[&base[..], &["--ca", path(&empty)]].concat());
    assert_eq!(
        (code, &verdict["reason"]),
        (Some(2), &Value::from("invalid-argument"))
    );
}

// ---------------------------------------------------------------------------
// Witness

/// A running `crosslock kt witness`; killed when dropped (also when a test
/// fails).
struct WitnessProcess {
    child: Child,
    key: PublicKey,
    url: String,
    stderr: Arc<Mutex<String>>,
}

impl WitnessProcess {
    fn start(state: &Path, extra: &[&str]) -> WitnessProcess {
        Self::start_on(state, "127.0.0.1:0", extra)
    }

    fn start_on(state: &Path, listen: &str, extra: &[&str]) -> WitnessProcess {
        let mut child = crosslock()
            .args(["kt", "witness", "--listen", listen, "--state", path(state)])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut process = WitnessProcess {
            child,
            key: PublicKey([0; 32]),
            url: String::new(),
            stderr,
        };
        // The one startup line: `witness key <HEX> listening on <URL>`.
        let mut line = String::new();
        BufReader::new(process.child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["witness", "key", key, "listening", "on", url] => {
                process.key = PublicKey::from_hex(key).unwrap();
                process.url = url.to_owned();
            }
            _ => panic!(
                "unexpected startup line {line:?}; stderr:\n{}",
                process.stderr()
            ),
        }
        process
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (a few seconds at most) until the witness has logged `text`.
    // Test timeout by the wall clock.
    #[allow(clippy::disallowed_methods)]
    fn wait_for_stderr(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.stderr().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no {text:?} in the witness log:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn client(&self) -> WitnessClient {
        WitnessClient::new(&self.url, self.key, http())
    }

    fn get(&self, runtime: &tokio::runtime::Runtime, route: &str) -> Value {
        let url = format!("{}{route}", self.url);
        runtime.block_on(async { http().get(url).send().await.unwrap().json().await.unwrap() })
    }

    /// Sends SIGTERM and waits for the exit status.
    // Test timeout by the wall clock.
    #[allow(clippy::disallowed_methods)]
    fn terminate(mut self) -> (Option<i32>, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return (status.code(), self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "the witness did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn witness_output(state: &Path, args: &[&str]) -> Output {
    crosslock()
        .args(["kt", "witness", "--state", path(state)])
        .args(args)
        .output()
        .unwrap()
}

/// Valid co-signatures by `witness` on `root`.
fn cosigned_by(root: &SignedRoot, witness: PublicKey) -> bool {
    root.cosignatures
        .iter()
        .any(|c| c.witness_key.0 == witness.0 && cosignature_valid(&root.statement, c))
}

#[test]
fn witness_cosigns_refuses_a_fork_and_keeps_its_key_across_restarts() {
    let state_dir = tempfile::tempdir().unwrap();
    let state = state_dir.path().join("witness");
    let keys = LogKeys::generate().unwrap();
    let twin = copy_keys(&keys);
    let follow = format!("{DIRECTORY}={}", keys.log_key.public_key().to_hex());
    let other = format!(
        "kds.b.example={}",
        SigningKey::generate().unwrap().public_key().to_hex()
    );
    let witness = WitnessProcess::start(&state, &["--follow", &follow, "--follow", &other]);
    let witness_key = witness.key;
    let listen: SocketAddr = witness.url.trim_start_matches("http://").parse().unwrap();
    assert_ne!(listen.port(), 0);

    // The key is in the state folder, private; --print-key shows it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(state.join("witness-key.pk8"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let printed = witness_output(&state, &["--print-key"]);
    assert_eq!(printed.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(printed.stdout).unwrap().trim(),
        witness_key.to_hex()
    );

    // A log that asks this witness co-signs each new root.
    let log = Log::open(keys, vec![witness.client()]);
    let root = log.publish(&[(1, 1), (2, 2), (3, 3)]);
    assert!(
        cosigned_by(&root, witness_key),
        "{root:?}\n{}",
        witness.stderr()
    );
    let info = witness.get(&log.runtime, "/witness/v1/info");
    let positions: HashMap<String, u64> = info["directories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["directory"].as_str().unwrap().to_owned(),
                p["last_epoch"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(positions[DIRECTORY], 3);
    assert_eq!(positions["kds.b.example"], 0);
    witness.wait_for_stderr("root co-signed");

    // Killed (no clean shutdown) and restarted on the same state and
    // address: same key, same position.
    drop(witness);
    let listen = listen.to_string();
    let witness = WitnessProcess::start_on(&state, &listen, &["--follow", &follow]);
    assert_eq!(witness.key, witness_key);
    let root = log.publish(&[(4, 4)]);
    assert_eq!(root.statement.epoch, 4);
    assert!(cosigned_by(&root, witness_key), "{}", witness.stderr());

    // A second log under the same key shows another epoch 3: the witness
    // refuses it and keeps the evidence, across a restart too.
    let fork = Log::open(twin, vec![witness.client()]);
    let forked = fork.publish(&[(1, 1), (2, 2), (3, 33)]);
    assert!(!cosigned_by(&forked, witness_key));
    let evidence = witness.get(&log.runtime, "/witness/v1/evidence");
    assert_eq!(evidence.as_array().unwrap().len(), 1, "{evidence}");
    assert_eq!(evidence[0]["epoch"], 3);
    witness.wait_for_stderr("split view");

    // SIGTERM: a clean exit.
    let (code, stderr) = witness.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("witness stopped"), "{stderr}");

    let witness = WitnessProcess::start_on(&state, &listen, &["--follow", &follow]);
    assert_eq!(witness.key, witness_key);
    witness.wait_for_stderr("fork evidence on record");
    let again = fork.publish(&[(4, 44)]);
    assert!(!cosigned_by(&again, witness_key));
    witness.wait_for_stderr("split view");
    let root = log.publish(&[(5, 5)]);
    assert!(cosigned_by(&root, witness_key), "{}", witness.stderr());
}

#[test]
fn witness_refuses_bad_configuration_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let key = SigningKey::generate().unwrap().public_key();
    let hex = key.to_hex();
    let good = format!("{DIRECTORY}={hex}");
    let b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(key.0)
    };
    for (args, says) in [
        (vec![], "--follow"),
        (
            vec!["--follow".to_owned(), hex.clone()],
            "DIRECTORY=LOGKEYHEX",
        ),
        (
            vec!["--follow".to_owned(), format!("{DIRECTORY}=abcd")],
            "64 hex digits",
        ),
        (
            vec!["--follow".to_owned(), format!("{DIRECTORY}={b64}")],
            &hex,
        ),
        (vec!["--follow".to_owned(), format!("={hex}")], "empty"),
        (
            vec![
                "--follow".to_owned(),
                good.clone(),
                "--follow".to_owned(),
                good.clone(),
            ],
            "twice",
        ),
        (
            vec![
                "--follow".to_owned(),
                good.clone(),
                "--max-body".to_owned(),
                "10".to_owned(),
            ],
            "--max-body",
        ),
        (
            vec![
                "--follow".to_owned(),
                good.clone(),
                "--listen".to_owned(),
                "nowhere".to_owned(),
            ],
            "--listen",
        ),
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = witness_output(&state, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }

    // A second witness on a state folder in use.
    let keys = LogKeys::generate().unwrap();
    let follow = format!("{DIRECTORY}={}", keys.log_key.public_key().to_hex());
    let running = WitnessProcess::start(&state, &["--follow", &follow]);
    let out = witness_output(&state, &["--follow", &follow, "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another witness"));
    // Once it verified epochs of a log, the witness refuses another key
    // for that directory.
    let log = Log::open(keys, vec![running.client()]);
    assert!(cosigned_by(
        &log.log.latest_root().unwrap().unwrap(),
        running.key
    ));
    drop(running);
    let out = witness_output(&state, &["--follow", &good, "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("witness state") && stderr.contains(&hex),
        "{stderr}"
    );

    // A corrupt key file.
    let corrupt: PathBuf = dir.path().join("corrupt");
    std::fs::create_dir_all(&corrupt).unwrap();
    std::fs::write(corrupt.join("witness-key.pk8"), b"garbage").unwrap();
    let out = witness_output(&corrupt, &["--follow", &good, "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a PKCS#8 Ed25519 key") && stderr.contains("witness-key.pk8"),
        "{stderr}"
    );
    let out = witness_output(&corrupt, &["--print-key"]);
    assert_eq!(out.status.code(), Some(2));
}
