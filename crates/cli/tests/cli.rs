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
    for sub in ["demo", "attest"] {
        assert!(text.contains(sub), "help lacks {sub}: {text}");
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
    assert_eq!(steps, 8);
    assert!(
        events
            .iter()
            .filter(|e| e["event"] == "check")
            .all(|e| e["ok"] == true)
    );
    assert_eq!(events.last().unwrap()["ok"], true);
    // What the server relayed never contains the plaintext.
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "server" && e["content_type"] == "message/mls")
    );
    // The phones' databases are encrypted files in the directory given.
    for phone in ["alice", "bob", "carol-phone", "carol-tablet"] {
        let bytes = std::fs::read(dir.path().join(format!("{phone}.db"))).unwrap();
        assert!(!bytes.starts_with(b"SQLite format 3"));
    }
    // Running again into the same directory is refused, not overwritten.
    let again = crosslock()
        .args(["demo", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!again.status.success());
}
