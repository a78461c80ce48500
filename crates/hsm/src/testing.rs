//! Test support for crates that need a SoftHSM2 token: a token per test,
//! in a process of its own. Used by this crate's tests and by the KDS's.
//!
//! SoftHSM2 finds its tokens through `SOFTHSM2_CONF`, read once per process
//! when the module is initialised, and changing the environment of a
//! running multi-threaded test process is unsound (`std::env::set_var` is
//! `unsafe`, and this workspace forbids unsafe code). So each test runs
//! twice: the parent (the ordinary `cargo test` run) creates a token in a
//! temporary directory with `scripts/softhsm-token`, then re-runs this test
//! binary, filtered to that one test, with `SOFTHSM2_CONF` set at spawn;
//! the child sees [`CHILD`] naming the test and runs the body. Every test
//! therefore has its own token, its own PKCS#11 module state, and no test
//! affects another.
//!
//! When SoftHSM2 is missing the parent fails and says to run
//! `scripts/setup`: these tests never skip silently.

#![allow(clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::SOFTHSM2_MODULE;

/// Names the test the child process is to run.
pub const CHILD: &str = "CROSSLOCK_HSM_TEST_CHILD";

/// The label of each test's token.
pub const TOKEN: &str = "crosslock-test-ca";
/// The token's user (and SO) PIN.
pub const PIN: &str = "test-pin-8231";

/// The module the tests drive: Debian's SoftHSM2.
pub fn module() -> &'static Path {
    Path::new(SOFTHSM2_MODULE)
}

/// `scripts/softhsm-token`, found from this crate's manifest.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/softhsm-token")
}

/// Fails the test, with the fix, when SoftHSM2 is not installed.
pub fn require_softhsm() {
    let util = Command::new("softhsm2-util").arg("--version").output();
    let util_ok = util.map(|o| o.status.success()).unwrap_or(false);
    assert!(
        module().exists() && util_ok,
        "SoftHSM2 is not installed ({} or softhsm2-util is missing): run scripts/setup \
         (it installs the Debian package softhsm2)",
        SOFTHSM2_MODULE
    );
}

/// Creates (or reuses) a token in `dir` with the script; returns the path
/// of the configuration file, checked against the `export` line printed.
pub fn make_token(dir: &Path, label: &str, pin: &str) -> PathBuf {
    let output = Command::new("bash")
        .arg(script())
        .arg(dir)
        .arg(label)
        .arg(pin)
        .output()
        .expect("run scripts/softhsm-token");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "scripts/softhsm-token failed: {}{}",
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    let conf = dir
        .canonicalize()
        .expect("token dir exists")
        .join("softhsm2.conf");
    assert!(conf.is_file(), "no {}", conf.display());
    assert_eq!(
        stdout.trim(),
        format!("export SOFTHSM2_CONF={}", conf.display()),
        "the script should print the export line"
    );
    conf
}

/// Runs `body` in a child process that has a fresh token labelled
/// [`TOKEN`] (PIN [`PIN`]) configured. `test` must be the name of the
/// calling `#[test]` function.
pub fn with_token(test: &str, body: impl FnOnce()) {
    if std::env::var(CHILD).as_deref() == Ok(test) {
        body();
        return;
    }
    require_softhsm();
    let dir = tempfile::tempdir().expect("temporary directory");
    let conf = make_token(dir.path(), TOKEN, PIN);
    let output = Command::new(std::env::current_exe().expect("test binary path"))
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD, test)
        .output()
        .expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Shown with `--nocapture`.
    print!("{stdout}");
    assert!(
        output.status.success(),
        "{test} failed in its token process:\n{stdout}\n{stderr}"
    );
    // Guard against a filter that matched nothing (a passing no-op).
    assert!(
        stdout.contains("1 passed"),
        "{test} did not run in its token process:\n{stdout}\n{stderr}"
    );
}
