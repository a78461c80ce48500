//! `scripts/softhsm-token`: the configuration it writes and its
//! idempotence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{make_token, require_softhsm, script};

/// Labels of the initialised tokens `softhsm2-util` sees under `conf`.
fn token_labels(conf: &std::path::Path) -> Vec<String> {
    let output = Command::new("softhsm2-util")
        .arg("--show-slots")
        .env("SOFTHSM2_CONF", conf)
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Label:"))
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn creates_a_token_and_reuses_it() {
    require_softhsm();
    let dir = tempfile::tempdir().unwrap();
    let conf = make_token(dir.path(), "first", "1234-pin");
    let text = std::fs::read_to_string(&conf).unwrap();
    let tokens = dir.path().canonicalize().unwrap().join("tokens");
    assert!(
        text.lines()
            .any(|l| l == format!("directories.tokendir = {}", tokens.display())),
        "{text}"
    );
    assert_eq!(token_labels(&conf), ["first"]);

    // Running again reuses the token; a second label adds a second one.
    assert_eq!(make_token(dir.path(), "first", "1234-pin"), conf);
    assert_eq!(token_labels(&conf), ["first"]);
    make_token(dir.path(), "second", "1234-pin");
    let mut labels = token_labels(&conf);
    labels.sort();
    assert_eq!(labels, ["first", "second"]);
}

#[test]
fn refuses_bad_arguments() {
    require_softhsm();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for args in [
        vec![],
        vec![d, "label"],
        vec![d, "label", "123"],        // PIN too short
        vec![d, " padded", "1234-pin"], // blank-padded label
        vec![d, "a-label-longer-than-thirty-two-bytes", "1234-pin"], // PKCS#11 labels are 32 bytes
    ] {
        let output = Command::new("bash")
            .arg(script())
            .args(&args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "accepted {args:?}");
        assert!(!output.stderr.is_empty(), "no message for {args:?}");
    }
}

#[test]
fn says_to_run_setup_without_softhsm() {
    // An empty PATH hides softhsm2-util (bash itself is started by path).
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new("/bin/bash")
        .arg(script())
        .arg(dir.path())
        .arg("label")
        .arg("1234-pin")
        .env("PATH", dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("run scripts/setup"), "{stderr}");
}
