//! `crosslock kt bench` on a small directory: it runs to completion and
//! reports every measurement, with sane values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn crosslock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crosslock"))
}

#[test]
fn small_directory_reports_every_measurement() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kt");
    let out = crosslock()
        .args([
            "kt",
            "bench",
            "--labels",
            "2000",
            "--batch",
            "500",
            "--samples",
            "50",
            "--json",
            "--dir",
        ])
        .arg(&kept)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kt bench failed:\n{stdout}\n{stderr}");
    // Progress went to stderr, so stdout is exactly one JSON object.
    assert!(stderr.contains("fill: epoch 4/4, 2000 labels"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&stdout).expect("stdout is one JSON object");

    assert_eq!(report["labels"], 2000);
    assert_eq!(report["batch"], 500);
    assert_eq!(report["fill"]["updates"], 2000);
    assert_eq!(report["fill"]["epochs"], 4);
    for rate in ["fill", "epoch_key_rolls", "epoch_new_labels"] {
        let per_sec = report[rate]["updates_per_sec"].as_f64().unwrap();
        let seconds = report[rate]["seconds"].as_f64().unwrap();
        assert!(per_sec > 0.0 && per_sec.is_finite(), "{rate}: {per_sec}");
        assert!(seconds > 0.0, "{rate}: {seconds}");
    }
    assert_eq!(report["epoch_key_rolls"]["updates"], 500);
    assert_eq!(report["epoch_new_labels"]["updates"], 500);

    let lookup = &report["lookup"];
    assert_eq!(lookup["samples"], 50);
    let mean = lookup["proof_bytes_mean"].as_f64().unwrap();
    let max = lookup["proof_bytes_max"].as_u64().unwrap();
    // A lookup proof holds three VRF proofs (80 bytes each) and three
    // Merkle paths: far more than 500 bytes, far less than 64 KiB.
    assert!(
        mean > 500.0 && mean <= max as f64 && max < 64 * 1024,
        "{lookup}"
    );
    for timing in [
        "make_ms_median",
        "make_ms_p99",
        "verify_ms_median",
        "verify_ms_p99",
    ] {
        let ms = lookup[timing].as_f64().unwrap();
        assert!(ms > 0.0 && ms < 10_000.0, "{timing}: {ms}");
    }
    assert!(lookup["make_ms_median"].as_f64() <= lookup["make_ms_p99"].as_f64());
    assert!(lookup["verify_ms_median"].as_f64() <= lookup["verify_ms_p99"].as_f64());

    if cfg!(target_os = "linux") {
        let peak = report["peak_rss_bytes"].as_u64().unwrap();
        assert!(peak > 1024 * 1024, "{peak}");
    }
    // The files stayed where --dir said, and the report counts them.
    let disk = report["disk_bytes"].as_u64().unwrap();
    let directory = report["disk_files"]["kt-directory.sqlite3"]
        .as_u64()
        .unwrap();
    assert!(directory > 0 && disk >= directory);
    assert!(kept.join("kt-directory.sqlite3").exists());

    // A second run into the same folder is refused: it needs a fresh one.
    let again = crosslock()
        .args(["kt", "bench", "--labels", "10", "--batch", "10", "--dir"])
        .arg(&kept)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn refuses_a_batch_larger_than_the_directory() {
    let out = crosslock()
        .args(["kt", "bench", "--labels", "10", "--batch", "100"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--batch"));
}
