//! The `crosslock` binary as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn crosslock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crosslock"))
}

#[test]
fn version_and_help() {
    let out = crosslock().arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("crosslock "), "{text}");
    let out = crosslock().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for sub in ["demo", "attest", "serve", "device"] {
        assert!(text.contains(sub), "help lacks {sub}: {text}");
    }
    // Every subcommand explains itself.
    for args in [
        &["serve"][..],
        &["device"],
        &["device", "init"],
        &["device", "enroll"],
        &["device", "send"],
        &["device", "recv"],
        &["device", "status"],
        &["device", "verify"],
        &["device", "group", "create"],
        &["device", "file", "send"],
        &["demo"],
        &["ds", "bench"],
    ] {
        let out = crosslock().args(args).arg("--help").output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(help.lines().count() > 3, "{args:?}: {help}");
        assert!(help.contains("Usage: crosslock"), "{args:?}: {help}");
    }
}

#[test]
fn demo_runs_every_step_and_reports_json_events() {
    let dir = tempfile::tempdir().unwrap();
    let out = crosslock()
        .args(["demo", "--json", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let steps = events.iter().filter(|e| e["event"] == "step").count();
    assert_eq!(steps, 6);
    let checks: Vec<_> = events.iter().filter(|e| e["event"] == "check").collect();
    assert!(checks.len() >= 15, "{checks:?}");
    assert!(checks.iter().all(|e| e["ok"] == true));
    assert_eq!(events.last().unwrap()["ok"], true);
    // What the servers stored is described by sizes and counts, never text.
    let server: Vec<_> = events.iter().filter(|e| e["event"] == "server").collect();
    assert!(server.len() >= 4);
    for e in &server {
        assert!(!e.to_string().contains("Dinner"), "{e}");
    }
    assert!(
        server
            .iter()
            .any(|e| e["detail"]["name"] == "encrypted_file")
    );
    // The phones' databases are encrypted files in the directory given.
    for phone in [
        "alice",
        "bob",
        "carol-phone",
        "carol-tablet",
        "bob-reinstalled",
    ] {
        let bytes = std::fs::read(dir.path().join(phone).join("state.db")).unwrap();
        assert!(!bytes.starts_with(b"SQLite format 3"), "{phone}");
    }
    // Running again into the same directory is refused, not overwritten.
    let again = crosslock()
        .args(["demo", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!again.status.success());
}

fn attest_data(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../attest/tests/data")
        .join(relative)
}

#[test]
fn attest_android_exit_codes_and_json() {
    let caiman = attest_data("android/caiman_sdk36_TEE_EC_RKP.pem");
    let out = crosslock()
        .args([
            "attest",
            "android",
            "--at",
            "2025-09-26T12:00:00Z",
            "--policy",
            "strict",
            "--chain",
        ])
        .arg(&caiman)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(attest_data("android/caiman_sdk36_TEE_EC_RKP.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["verdict"], "accepted");
    assert_eq!(
        json["attestationChallenge"],
        expected["attestationChallenge"]
    );
    assert_eq!(
        json["hardwareEnforced"]["rootOfTrust"],
        expected["hardwareEnforced"]["rootOfTrust"]
    );
    let marlin = attest_data("android/marlin_sdk29_TEE_EC_NONE.pem");
    for policy in ["strict", "dev"] {
        let out = crosslock()
            .args([
                "attest",
                "android",
                "--at",
                "2025-09-26T12:00:00Z",
                "--policy",
                policy,
                "--chain",
            ])
            .arg(&marlin)
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(0), "marlin accepted under {policy}");
    }
}

#[test]
fn attest_apple_accepts_each_sample_and_refuses_a_changed_byte() {
    for sample in [
        "ios-14.2.yaml",
        "ios-14.3.yaml",
        "ios-14.4-beta-1.yaml",
        "ios-14.4.yaml",
    ] {
        let text = std::fs::read_to_string(attest_data(&format!("apple/{sample}"))).unwrap();
        let doc = text
            .split("\n---")
            .find(|d| d.contains("attestationBase64"))
            .unwrap();
        let field = |key: &str| {
            doc.lines()
                .find_map(|l| l.trim_start().strip_prefix(&format!("{key}: ")))
                .unwrap()
                .trim()
                .trim_matches('\'')
                .to_owned()
        };
        let dir = tempfile::tempdir().unwrap();
        let object = dir.path().join("object.b64");
        std::fs::write(&object, field("attestationBase64")).unwrap();
        let app_id = format!("{}.{}", field("teamIdentifier"), field("bundleIdentifier"));
        let run = |path: &std::path::Path| {
            crosslock()
                .args([
                    "attest",
                    "apple",
                    "--client-data-hash",
                    &field("clientDataHashSha256Base64"),
                    "--app-id",
                    &app_id,
                ])
                .args(["--at", &field("timestamp"), "--object"])
                .arg(path)
                .output()
                .unwrap()
        };
        let out = run(&object);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{sample}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        // One byte of the attested data changed (the object ends with
        // authData). The App Attest receipt inside the object is Apple's
        // fraud-metric token and is carried, not verified: see
        // crates/attest/README.md.
        use base64::Engine;
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(field("attestationBase64"))
            .unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let changed = dir.path().join("changed.b64");
        std::fs::write(
            &changed,
            base64::engine::general_purpose::STANDARD.encode(&bytes),
        )
        .unwrap();
        assert_eq!(
            run(&changed).status.code(),
            Some(1),
            "{sample}: a changed byte was accepted"
        );
    }
}
