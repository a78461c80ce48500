#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `crosslock chaos --seed 1 --quick`: every fault scenario runs, and none
//! loses or duplicates a message (the short version of `scripts/chaos`).

use std::process::Command;

#[test]
fn every_fault_scenario_loses_and_duplicates_nothing() {
    let output = Command::new(env!("CARGO_BIN_EXE_crosslock"))
        .args(["chaos", "--seed", "1", "--quick", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "provider-kill",
            "device-commit-crash",
            "device-file-crash",
            "peer-down",
            "peer-slow",
            "peer-garbage",
            "disk-full"
        ]
    );
    for row in &rows {
        assert_eq!(row["ok"], true, "{row}");
        assert_eq!(row["lost"], 0, "{row}");
        assert_eq!(row["duplicated"], 0, "{row}");
        assert!(row["acknowledged"].as_u64().unwrap() > 0, "{row}");
        assert_eq!(row["acknowledged"], row["delivered"], "{row}");
    }
    assert!(output.status.success(), "{stdout}");
}

#[test]
fn an_unknown_scenario_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_crosslock"))
        .args(["chaos", "--only", "meteor-strike"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("meteor-strike") && stderr.contains("provider-kill"),
        "{stderr}"
    );
}
