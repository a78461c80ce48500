//! `crosslock serve` and `crosslock device` as an operator and a user run
//! them: real processes, real TLS on loopback, device state in
//! directories.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn crosslock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crosslock"))
}

/// A running `crosslock serve`, stopped (SIGINT) on drop.
struct Serve {
    child: Child,
    url: String,
    admin: String,
    ca: PathBuf,
    data: PathBuf,
}

impl Serve {
    /// Starts a provider on free loopback ports (unless `extra` names its
    /// `--listen`) and waits until it is ready.
    fn start(data: &Path, extra: &[&str]) -> Serve {
        let listen: &[&str] = if extra.contains(&"--listen") {
            &[]
        } else {
            &["--listen", "127.0.0.1:0"]
        };
        let mut child = crosslock()
            .args(["serve", "--admin-listen", "127.0.0.1:0"])
            .args(listen)
            .arg("--data-dir")
            .arg(data)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let field = |name: &str| {
                    line.split_whitespace()
                        .find_map(|w| w.strip_prefix(name).map(str::to_owned))
                };
                if line.contains("provider ready") {
                    let _ = tx.send((field("devices="), field("admin="), None));
                } else if line.contains("ERROR") || line.starts_with("error") {
                    let _ = tx.send((None, None, Some(line.clone())));
                }
            }
        });
        let (url, admin, error) = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("serve did not become ready");
        assert!(error.is_none(), "serve failed: {error:?}");
        Serve {
            child,
            url: url.unwrap(),
            admin: admin.unwrap(),
            ca: data.join("tls/tls-ca.pem"),
            data: data.to_owned(),
        }
    }

    /// Stops it as Ctrl-C would and waits for a clean exit.
    fn stop(mut self) {
        interrupt(&self.child);
        let status = wait(&mut self.child);
        assert!(status.success(), "serve exited with {status}");
    }

    fn admin(&self, path: &str) -> String {
        let (host, port) = self
            .admin
            .trim_start_matches("http://")
            .split_once(':')
            .unwrap();
        http_get(host, port.parse().unwrap(), path)
    }

    /// The value of a gauge on `/metrics`.
    fn gauge(&self, name: &str) -> u64 {
        let metrics = self.admin("/metrics");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not in {metrics}"))
            .trim()
            .parse()
            .unwrap()
    }

    /// Waits until every queued number is published in an epoch.
    // Test timeout by the wall clock.
    #[allow(clippy::disallowed_methods)]
    fn wait_for_transparency(&self) {
        let until = Instant::now() + Duration::from_secs(30);
        while self.gauge("crosslock_transparency_queued_numbers") > 0
            || self.gauge("crosslock_transparency_epoch") == 0
        {
            assert!(Instant::now() < until, "no transparency epoch");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

// Test timeout by the wall clock.
#[allow(clippy::disallowed_methods)]
fn wait(child: &mut Child) -> std::process::ExitStatus {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < until, "process did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A plain HTTP/1.1 GET on loopback (the admin listener), body only.
fn http_get(host: &str, port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect((host, port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // The admin answers are small: axum sends them with a length.
    body.to_owned()
}

/// Runs `crosslock device --device-dir DIR --json ARGS`; returns its JSON
/// and whether it succeeded.
fn device_try(dir: &Path, args: &[&str]) -> (bool, Value) {
    let out = crosslock()
        .arg("device")
        .arg("--device-dir")
        .arg(dir)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let value: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(value["ok"].as_bool(), Some(out.status.success()), "{value}");
    (out.status.success(), value)
}

fn device(dir: &Path, args: &[&str]) -> Value {
    let (ok, value) = device_try(dir, args);
    assert!(ok, "{args:?} failed: {value}");
    value
}

fn init(dir: &Path, number: &str, profile: &str, serve: &Serve) -> Value {
    device(
        dir,
        &[
            "init",
            "--number",
            number,
            "--profile",
            profile,
            "--server",
            &serve.url,
            "--ca",
            serve.ca.to_str().unwrap(),
        ],
    )
}

fn texts(received: &Value) -> Vec<String> {
    received["received"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "text")
        .map(|e| e["text"].as_str().unwrap().to_owned())
        .collect()
}

/// The acceptance scenario: one provider, an Android and an iOS device
/// enrol, exchange messages, and agree on the epoch authenticator.
#[test]
fn two_devices_enrol_and_talk_through_one_provider() {
    let tmp = tempfile::tempdir().unwrap();
    let serve = Serve::start(&tmp.path().join("provider"), &[]);
    assert_eq!(serve.admin("/healthz"), "ok\n");
    assert!(serve.url.starts_with("https://127.0.0.1:"), "{}", serve.url);

    let alice = tmp.path().join("alice");
    let bob = tmp.path().join("bob");
    let a = init(&alice, "+15550100001", "android", &serve);
    let b = init(&bob, "+447700900002", "ios", &serve);
    assert_eq!(a["profile"], "android");
    assert_eq!(b["profile"], "ios");
    for dir in [&alice, &bob] {
        let enrolled = device(dir, &["enroll"]);
        assert_eq!(enrolled["credentials"].as_u64(), Some(2), "{enrolled}");
    }
    // A second enrolment of the same directory is refused, changing nothing.
    let (ok, again) = device_try(&alice, &["enroll"]);
    assert!(!ok);
    assert_eq!(again["kind"], "input");
    serve.wait_for_transparency();

    let sent = device(
        &alice,
        &["send", "--to", "+447700900002", "hello from Android"],
    );
    assert!(sent["created"].is_string(), "{sent}");
    let got = device(&bob, &["recv"]);
    assert_eq!(texts(&got), ["hello from Android"]);
    device(&bob, &["send", "--to", "+15550100001", "hello from iPhone"]);
    let got = device(&alice, &["recv"]);
    assert_eq!(texts(&got), ["hello from iPhone"]);
    // Bob's read receipt for Alice's message came too.
    assert!(
        got["received"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "receipt" && e["statuses"][0] == "read"),
        "{got}"
    );

    let status_a = device(&alice, &["status"]);
    let status_b = device(&bob, &["status"]);
    let conv_a = &status_a["conversations"][0];
    let conv_b = &status_b["conversations"][0];
    assert_eq!(conv_a["conversation"], conv_b["conversation"]);
    assert_eq!(conv_a["encrypted"], true);
    assert_eq!(conv_b["encrypted"], true);
    assert_eq!(conv_a["epoch"], conv_b["epoch"]);
    assert_eq!(conv_a["epoch_authenticator"], conv_b["epoch_authenticator"]);
    assert_eq!(conv_a["epoch_authenticator"].as_str().unwrap().len(), 64);
    // Bob's keys came with a transparency proof from the provider's log.
    assert_eq!(conv_a["transparency"]["+447700900002"]["proven"], true);

    // Both see the same safety number; confirming marks Bob verified.
    let va = device(&alice, &["verify", "--with", "+447700900002", "--confirm"]);
    let vb = device(&bob, &["verify", "--with", "+15550100001"]);
    assert_eq!(va["safety_number"], vb["safety_number"]);
    let status_a = device(&alice, &["status"]);
    assert_eq!(
        status_a["conversations"][0]["verification"]["+447700900002"],
        "verified"
    );

    // What the operator sees: requests by route, no numbers in labels.
    let metrics = serve.admin("/metrics");
    assert!(
        metrics.contains("route=\"/v1/ds/message\",status=\"200\""),
        "{metrics}"
    );
    assert!(!metrics.contains("+1555"), "{metrics}");
    assert!(serve.gauge("crosslock_devices_enrolled") == 2);
    serve.stop();
}

#[test]
fn files_travel_encrypted_and_groups_change_membership() {
    let tmp = tempfile::tempdir().unwrap();
    let serve = Serve::start(&tmp.path().join("provider"), &[]);
    let [alice, bob, carol] = ["alice", "bob", "carol"].map(|n| tmp.path().join(n));
    init(&alice, "+15550100001", "android", &serve);
    init(&bob, "+447700900002", "ios", &serve);
    init(&carol, "+15550100003", "android", &serve);
    for dir in [&alice, &bob, &carol] {
        device(dir, &["enroll"]);
    }
    serve.wait_for_transparency();
    let group = device(
        &alice,
        &[
            "group",
            "create",
            "--member",
            "+447700900002",
            "--member",
            "+15550100003",
        ],
    );
    let id = group["conversation"].as_str().unwrap().to_owned();

    // A 1 MiB file: the content server stores only ciphertext.
    let photo = tmp.path().join("photo.jpg");
    let data: Vec<u8> = (0..1_048_576u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&photo, &data).unwrap();
    let sent = device(
        &alice,
        &[
            "file",
            "send",
            "--conversation",
            &id,
            photo.to_str().unwrap(),
        ],
    );
    assert_eq!(sent["upload_name"], "encrypted_file");
    let blobs = serve.data.join("content/blobs");
    let mut stored = Vec::new();
    for entry in walk(&blobs) {
        stored.push(std::fs::read(entry).unwrap());
    }
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].windows(64).any(|w| w == &data[4096..4160]));

    for who in [&bob, &carol] {
        let out = who.with_extension("files");
        let got = device(who, &["file", "recv", "--out", out.to_str().unwrap()]);
        assert_eq!(got["files"].as_array().unwrap().len(), 1, "{got}");
        assert!(std::fs::read(out.join("photo.jpg")).unwrap() == data);
    }

    // Carol is removed and cannot read what follows.
    device(
        &alice,
        &[
            "group",
            "remove",
            "--conversation",
            &id,
            "--member",
            "+15550100003",
        ],
    );
    device(&alice, &["send", "--conversation", &id, "after Carol left"]);
    assert_eq!(texts(&device(&bob, &["recv"])), ["after Carol left"]);
    let carol_got = device(&carol, &["recv"]);
    assert!(texts(&carol_got).is_empty(), "{carol_got}");
    let carol_status = device(&carol, &["status"]);
    assert_eq!(carol_status["conversations"][0]["encrypted"], false);
    serve.stop();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn device_errors_say_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let nowhere = tmp.path().join("none");
    let (ok, out) = device_try(&nowhere, &["status"]);
    assert!(!ok);
    assert_eq!(out["kind"], "input");
    assert!(
        out["error"]
            .as_str()
            .unwrap()
            .contains("crosslock device init"),
        "{out}"
    );

    let ca = tmp.path().join("ca.pem");
    std::fs::write(&ca, "not a certificate").unwrap();
    let (ok, out) = device_try(
        &tmp.path().join("d"),
        &[
            "init",
            "--number",
            "+15550100001",
            "--ca",
            ca.to_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert!(out["error"].as_str().unwrap().contains("PEM"), "{out}");

    let (ok, out) = device_try(
        &tmp.path().join("d"),
        &[
            "init",
            "--number",
            "15550100001",
            "--ca",
            ca.to_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert!(out["error"].as_str().unwrap().contains("E.164"), "{out}");
}

#[test]
fn serve_prints_its_configuration_and_refuses_bad_settings() {
    let out = crosslock()
        .args(["serve", "--print-config"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for setting in [
        "listen = \"127.0.0.1:8443\"",
        "[limits]",
        "retention_days = 30",
        "[push]",
    ] {
        assert!(text.contains(setting), "{setting} missing:\n{text}");
    }

    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("crosslock.toml");
    std::fs::write(&config, "[provider]\nlisten_address = \"127.0.0.1:1\"\n").unwrap();
    let out = crosslock()
        .args(["serve", "--print-config", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen_address"));
}

#[test]
fn a_restarted_provider_keeps_its_keys_and_its_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("provider");
    let serve = Serve::start(&data, &[]);
    let ca_before = std::fs::read(&serve.ca).unwrap();
    let alice = tmp.path().join("alice");
    let bob = tmp.path().join("bob");
    init(&alice, "+15550100001", "android", &serve);
    init(&bob, "+447700900002", "ios", &serve);
    device(&alice, &["enroll"]);
    device(&bob, &["enroll"]);
    serve.wait_for_transparency();
    device(
        &alice,
        &["send", "--to", "+447700900002", "kept across a restart"],
    );
    serve.stop();

    // Same data dir, new ports: same CA, same credentials, Bob's message
    // still waits for him.
    let serve = Serve::start(&data, &[]);
    assert_eq!(std::fs::read(&serve.ca).unwrap(), ca_before);
    // The devices stored the old URL; point them at the new port.
    for dir in [&alice, &bob] {
        let path = dir.join("device.json");
        let mut settings: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        settings["server"] = Value::String(serve.url.clone());
        std::fs::write(&path, settings.to_string()).unwrap();
    }
    assert_eq!(texts(&device(&bob, &["recv"])), ["kept across a restart"]);
    serve.stop();
}

/// Receives until `n` texts arrived: copies from a peer provider come
/// through its federation outbox, possibly in more than one batch.
// Test timeout by the wall clock.
#[allow(clippy::disallowed_methods)]
fn recv_texts(dir: &Path, n: usize) -> Vec<String> {
    let until = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.len() < n {
        assert!(Instant::now() < until, "only {got:?} arrived");
        got.extend(texts(&device(dir, &["recv", "--wait", "5"])));
    }
    got
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `data/peer.toml` with the number prefixes homed at that provider.
fn peer_config(data: &Path, prefixes: &[&str]) -> String {
    let text = std::fs::read_to_string(data.join("peer.toml")).unwrap();
    let mut value: toml::Table = toml::from_str(&text).unwrap();
    let peers = value["peers"].as_array_mut().unwrap();
    peers[0]["prefixes"] = toml::Value::Array(
        prefixes
            .iter()
            .map(|p| toml::Value::String((*p).to_owned()))
            .collect(),
    );
    toml::to_string(&value).unwrap()
}

/// Provider A (Android users, +1) and provider B (iPhone users, +44),
/// configured as peers the way operators do it: each gives the other the
/// `peer.toml` its first start wrote.
#[test]
fn two_providers_federate_a_conversation() {
    let tmp = tempfile::tempdir().unwrap();
    let (data_a, data_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (fed_a, fed_b) = (free_port(), free_port());
    let fed = |port: u16| format!("127.0.0.1:{port}");
    // Fixed public ports too: each peer block names the other's public
    // URL (files and revocation lists are fetched from there).
    let (pub_a, pub_b) = (fed(free_port()), fed(free_port()));
    let first_a = Serve::start(
        &data_a,
        &[
            "--name",
            "a.example",
            "--federation-listen",
            &fed(fed_a),
            "--listen",
            &pub_a,
        ],
    );
    let first_b = Serve::start(
        &data_b,
        &[
            "--name",
            "b.example",
            "--federation-listen",
            &fed(fed_b),
            "--listen",
            &pub_b,
        ],
    );
    first_a.stop();
    first_b.stop();
    let config_a = tmp.path().join("a.toml");
    let config_b = tmp.path().join("b.toml");
    // Federating carriers authenticate their subscribers (no open
    // enrolment with peers) and each side homes its own prefix.
    let carrier = |name: &str, number: &str, prefix: &str| {
        let file = tmp.path().join(format!("{name}-subscribers.txt"));
        std::fs::write(&file, format!("{number} sim-secret-provider-{name}\n")).unwrap();
        format!(
            "[provider]\nprefixes = [\"{prefix}\"]\n\n[carrier]\nopen_enrolment = false\nsubscribers = {:?}\n\n",
            file.to_str().unwrap()
        )
    };
    std::fs::write(
        &config_a,
        carrier("a", "+15550100001", "+1") + &peer_config(&data_b, &["+44"]),
    )
    .unwrap();
    std::fs::write(
        &config_b,
        carrier("b", "+447700900002", "+44") + &peer_config(&data_a, &["+1"]),
    )
    .unwrap();
    let a = Serve::start(
        &data_a,
        &[
            "--name",
            "a.example",
            "--federation-listen",
            &fed(fed_a),
            "--listen",
            &pub_a,
            "--config",
            config_a.to_str().unwrap(),
        ],
    );
    let b = Serve::start(
        &data_b,
        &[
            "--name",
            "b.example",
            "--federation-listen",
            &fed(fed_b),
            "--listen",
            &pub_b,
            "--config",
            config_b.to_str().unwrap(),
        ],
    );

    let alice = tmp.path().join("alice");
    let bob = tmp.path().join("bob");
    init(&alice, "+15550100001", "android", &a);
    init(&bob, "+447700900002", "ios", &b);
    device(
        &alice,
        &["enroll", "--subscriber-token", "sim-secret-provider-a"],
    );
    device(
        &bob,
        &["enroll", "--subscriber-token", "sim-secret-provider-b"],
    );
    a.wait_for_transparency();
    b.wait_for_transparency();

    // Alice's claim for Bob goes from A to B over mutual TLS; the
    // conversation is hosted at A and Bob's copy comes back through B.
    device(
        &alice,
        &["send", "--to", "+447700900002", "across providers"],
    );
    assert_eq!(recv_texts(&bob, 1), ["across providers"]);
    // Alice fetched both homes' revocation lists, B's from B's host over
    // B's pinned TLS root (CRED-REV-2, PROV-TLS-1).
    device(&alice, &["recv"]);
    let settings: Value =
        serde_json::from_slice(&std::fs::read(alice.join("device.json")).unwrap()).unwrap();
    for home in ["a.example", "b.example"] {
        assert!(
            settings["revocations"][home].is_array(),
            "{home} not fetched: {}",
            settings["revocations"]
        );
    }
    device(&bob, &["send", "--to", "+15550100001", "and back"]);
    assert_eq!(recv_texts(&alice, 1), ["and back"]);
    let sa = device(&alice, &["status"]);
    let sb = device(&bob, &["status"]);
    assert_eq!(
        sa["conversations"][0]["epoch_authenticator"],
        sb["conversations"][0]["epoch_authenticator"]
    );
    // Bob's keys were proven in B's log, which A's descriptor listed.
    let proof = &sa["conversations"][0]["transparency"]["+447700900002"];
    assert_eq!(proof["proven"], true, "{sa}");
    assert_eq!(proof["directory"], "b.example");
    a.stop();
    b.stop();
}

/// What README's production recipe does: the log key printed before the
/// first start, a real `crosslock kt witness` following it, and a provider
/// outside development mode (witness threshold 1, subscriber
/// authentication, Google's attestation status list). Without any of them
/// it refuses to start; with them two devices talk and each proves the
/// other's keys with a witnessed root.
#[test]
fn a_production_provider_needs_a_witness_and_runs_with_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("provider");
    let print_key = || {
        let out = crosslock()
            .args(["serve", "--print-log-key", "--data-dir"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let log_key = print_key();
    assert_eq!(log_key.len(), 64, "{log_key}");
    assert_eq!(print_key(), log_key, "the key is made once");

    // A witness following the log.
    let mut witness = crosslock()
        .args(["kt", "witness", "--listen", "127.0.0.1:0", "--state"])
        .arg(tmp.path().join("witness"))
        .args(["--follow", &format!("prod.example={log_key}")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(witness.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let [
        "witness",
        "key",
        witness_key,
        "listening",
        "on",
        witness_url,
    ] = words[..]
    else {
        panic!("unexpected witness line {line:?}");
    };

    let subscribers = tmp.path().join("subscribers.txt");
    std::fs::write(
        &subscribers,
        "+15550100001 sim-secret-alice-0001\n+15550100002 sim-secret-bob-00002\n",
    )
    .unwrap();
    let status_list = tmp.path().join("android-status.json");
    std::fs::write(&status_list, r#"{"entries": {}}"#).unwrap();
    let production = |transparency: &str| {
        format!(
            "[provider]\nname = \"prod.example\"\ndevelopment = false\nprefixes = [\"+1555\"]\n\n\
             [carrier]\nopen_enrolment = false\nsubscribers = {subscribers:?}\n\n\
             [attestation]\nandroid_status_list = {status_list:?}\n\n{transparency}"
        )
    };
    let config = tmp.path().join("crosslock.toml");
    // PROV-DEV-3: no witness, no start.
    std::fs::write(&config, production("")).unwrap();
    let out = crosslock()
        .args(["serve", "--data-dir"])
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("witness"), "{stderr}");

    std::fs::write(
        &config,
        production(&format!(
            "[transparency]\nthreshold = 1\nepoch_interval_secs = 1\n\
             witnesses = [{{ url = \"{witness_url}\", key = \"{witness_key}\" }}]\n"
        )),
    )
    .unwrap();
    let serve = Serve::start(&data, &["--config", config.to_str().unwrap()]);
    let alice = tmp.path().join("alice");
    let bob = tmp.path().join("bob");
    init(&alice, "+15550100001", "android", &serve);
    init(&bob, "+15550100002", "ios", &serve);
    // Open enrolment is off: a wrong subscriber token is refused.
    let (ok, _) = device_try(
        &alice,
        &["enroll", "--subscriber-token", "guessing-the-token"],
    );
    assert!(!ok);
    device(
        &alice,
        &["enroll", "--subscriber-token", "sim-secret-alice-0001"],
    );
    device(
        &bob,
        &["enroll", "--subscriber-token", "sim-secret-bob-00002"],
    );
    serve.wait_for_transparency();
    device(&alice, &["send", "--to", "+15550100002", "witnessed"]);
    assert_eq!(recv_texts(&bob, 1), ["witnessed"]);
    let status = device(&alice, &["status"]);
    assert_eq!(status["development_provider"], false, "{status}");
    let proof = &status["conversations"][0]["transparency"]["+15550100002"];
    assert_eq!(proof["proven"], true, "{status}");
    serve.stop();
    let _ = witness.kill();
    let _ = witness.wait();
}

#[test]
fn the_group_subject_and_icon_are_encrypted_and_a_late_member_recovers_them() {
    let tmp = tempfile::tempdir().unwrap();
    let serve = Serve::start(&tmp.path().join("provider"), &[]);
    let [alice, bob, carol] = ["alice", "bob", "carol"].map(|n| tmp.path().join(n));
    init(&alice, "+15550100001", "android", &serve);
    init(&bob, "+447700900002", "ios", &serve);
    init(&carol, "+15550100003", "android", &serve);
    for dir in [&alice, &bob, &carol] {
        device(dir, &["enroll"]);
    }
    serve.wait_for_transparency();
    let group = device(&alice, &["group", "create", "--member", "+447700900002"]);
    let id = group["conversation"].as_str().unwrap().to_owned();
    let subject = |dir: &Path, extra: &[&str]| {
        let mut args = vec!["group", "subject", "--conversation", &id];
        args.extend_from_slice(extra);
        device(dir, &args)
    };

    let set = subject(&alice, &["--set", "Climbing club"]);
    assert_eq!(set["subject"], "Climbing club");
    // The content server holds only ciphertext.
    for blob in walk(&serve.data.join("content/blobs")) {
        let bytes = std::fs::read(blob).unwrap();
        assert!(!bytes.windows(8).any(|w| w == b"Climbing"));
    }
    // The icon: an image file, encrypted the same way.
    let icon_bytes: Vec<u8> = b"\x89PNG\r\n\x1a\nCLUB-ICON-PIXELS"
        .iter()
        .copied()
        .chain((0..4000u32).map(|i| (i % 251) as u8))
        .collect();
    let icon_path = tmp.path().join("club.png");
    std::fs::write(&icon_path, &icon_bytes).unwrap();
    let icon = |dir: &Path, extra: &[&str]| {
        let mut args = vec!["group", "icon", "--conversation", &id];
        args.extend_from_slice(extra);
        device(dir, &args)
    };
    let set_icon = icon(&alice, &["--set", icon_path.to_str().unwrap()]);
    assert_eq!(set_icon["icon"]["media_type"], "image/png");
    for blob in walk(&serve.data.join("content/blobs")) {
        let bytes = std::fs::read(blob).unwrap();
        assert!(!bytes.windows(9).any(|w| w == b"CLUB-ICON"));
    }
    device(&bob, &["recv"]);
    assert_eq!(subject(&bob, &[])["subject"], "Climbing club");
    let saved = tmp.path().join("bob-icon.png");
    let shown = icon(&bob, &["--save", saved.to_str().unwrap()]);
    assert_eq!(shown["icon"]["size"], icon_bytes.len());
    assert_eq!(std::fs::read(&saved).unwrap(), icon_bytes);

    // Carol joins later: she holds no key, asks, and recovers it.
    device(
        &alice,
        &[
            "group",
            "add",
            "--conversation",
            &id,
            "--member",
            "+15550100003",
        ],
    );
    device(&carol, &["recv"]);
    let lacking = subject(&carol, &[]);
    assert_eq!(lacking["subject"], Value::Null);
    assert_eq!(lacking["missing"], serde_json::json!(["subject", "icon"]));
    assert_eq!(icon(&carol, &[])["icon"], Value::Null);
    let asked = subject(&carol, &["--request"]);
    assert_eq!(asked["keys_requested"], true);
    device(&alice, &["recv"]);
    device(&carol, &["recv"]);
    let recovered = subject(&carol, &[]);
    assert_eq!(recovered["subject"], "Climbing club");
    let carol_icon = tmp.path().join("carol-icon.png");
    icon(&carol, &["--save", carol_icon.to_str().unwrap()]);
    assert_eq!(std::fs::read(&carol_icon).unwrap(), icon_bytes);
    // Once every key is open, showing the subject clears the request.
    assert_eq!(recovered["keys_requested"], false);
    device(&bob, &["recv"]);
    assert_eq!(subject(&bob, &[])["keys_requested"], false);
    serve.stop();
}

/// `device monitor`: a device checks its own number's transparency
/// history; a second device enrolled for the number shows as new until the
/// user approves it, and an approval for a credential the log does not hold
/// leaves the alert standing.
#[test]
fn monitor_shows_a_new_device_of_ones_own_number_until_it_is_approved() {
    let tmp = tempfile::tempdir().unwrap();
    let serve = Serve::start(&tmp.path().join("provider"), &[]);
    let [phone, tablet] = ["phone", "tablet"].map(|n| tmp.path().join(n));
    init(&phone, "+15550100001", "android", &serve);
    device(&phone, &["enroll"]);
    serve.wait_for_transparency();
    let quiet = device(&phone, &["monitor"]);
    assert_eq!(quiet["alerts"], serde_json::json!([]));

    // A second device of the same number (the user's tablet, or a thief's).
    init(&tablet, "+15550100001", "android", &serve);
    device(&tablet, &["enroll"]);
    serve.wait_for_transparency();
    let alerted = device(&phone, &["monitor"]);
    let alerts = alerted["alerts"].as_array().unwrap();
    // One alert per credential of the new device (P-256 and Ed25519).
    assert!(!alerts.is_empty(), "{alerted}");
    let device_id = alerts[0]["NewDevice"]["device_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        alerts
            .iter()
            .all(|a| a["NewDevice"]["device_id"] == device_id.as_str())
    );
    assert_eq!(alerted["new_alerts"], alerts.len());

    // Approving a credential the alerts do not show clears nothing.
    let wrong = "00".repeat(32);
    let still = device(
        &phone,
        &["monitor", "--approve", &device_id, "--credential", &wrong],
    );
    assert_eq!(still["alerts"].as_array().unwrap().len(), alerts.len());
    // Approving an id no alert names is refused.
    let (ok, refused) = device_try(&phone, &["monitor", "--approve", "not-a-device"]);
    assert!(!ok, "{refused}");
    // The user recognises the tablet: approved, and the history is quiet.
    let approved = device(&phone, &["monitor", "--approve", &device_id]);
    assert_eq!(approved["alerts"], serde_json::json!([]), "{approved}");
    serve.stop();
}
