//! GUIDE §3.7: no raw phone number in any log line. Runs the demo (two
//! federated providers, five phones, the attacks of step 6) with every
//! target at trace level and scans every log line (stderr) for the demo's
//! numbers, in E.164 and bare-digit forms. The narration on stdout is the
//! user interface and may show numbers; it is not scanned.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use crosslock_client::credential::PhoneNumber;

/// The demo's numbers (crates/cli/src/demo.rs: ALICE, BOB, CAROL).
const NUMBERS: [&str; 3] = ["+15550100001", "+447700900002", "+15550100003"];

/// Every form a number could be written in: E.164, the digits with the
/// country code, and the national significant number (which the other
/// forms contain).
fn forms(number: &str) -> Vec<String> {
    let digits = number.trim_start_matches('+');
    let national = match digits.strip_prefix('1') {
        Some(rest) if rest.len() == 10 => rest,
        _ => digits.strip_prefix("44").unwrap_or(digits),
    };
    vec![number.to_owned(), digits.to_owned(), national.to_owned()]
}

#[test]
fn demo_logs_at_trace_level_hold_no_raw_number() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_crosslock"))
        .args(["demo", "--json", "--dir"])
        .arg(dir.path())
        .env("RUST_LOG", "trace")
        .env_remove("RUST_LOG_STYLE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        logs.lines().rev().take(50).collect::<Vec<_>>().join("\n")
    );

    // Not vacuous: the logs are on, at trace level, from the services the
    // numbers pass through, and they name the numbers by their tags.
    let lines: Vec<&str> = logs.lines().collect();
    assert!(lines.len() > 1_000, "only {} log lines", lines.len());
    assert!(lines.iter().any(|l| l.contains(" TRACE ")), "no trace line");
    for target in ["crosslock_acs", "crosslock_kds", "crosslock_kt"] {
        assert!(
            lines.iter().any(|l| l.contains(target)),
            "no line from {target}"
        );
    }
    for number in NUMBERS {
        let tag = PhoneNumber::parse(number).unwrap().redacted();
        assert!(
            lines.iter().any(|l| l.contains(&tag)),
            "no log line names {tag}"
        );
    }

    let mut leaks = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        for number in NUMBERS {
            if forms(number).iter().any(|f| line.contains(f.as_str())) {
                leaks.push(format!("{}: {line}", i + 1));
                break;
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} of {} log lines hold a raw number:\n{}",
        leaks.len(),
        lines.len(),
        leaks.join("\n")
    );
}

#[test]
fn forms_cover_e164_and_bare_digits() {
    assert_eq!(
        forms("+447700900002"),
        ["+447700900002", "447700900002", "7700900002"]
    );
    assert_eq!(
        forms("+15550100001"),
        ["+15550100001", "15550100001", "5550100001"]
    );
}
