//! What the log publishes reveals no phone numbers: not the roots (and the
//! file that keeps them), not the audit proofs anyone may download. The
//! provider's private directory file does hold them, like the KDS's own
//! database: akd keys each number's value states by its label.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use crosslock_kt::server::{KtLogOptions, LogKeys};

/// Every way a number could be spelled in a file or a proof.
fn spellings(n: u32) -> Vec<Vec<u8>> {
    let e164 = number(n).as_str().to_owned();
    let digits = e164.trim_start_matches('+').to_owned();
    vec![
        e164.clone().into_bytes(),
        format!("tel:{e164}").into_bytes(),
        digits.clone().into_bytes(),
        // The number's digits as UTF-16 (some SQLite encodings).
        digits.encode_utf16().flat_map(u16::to_le_bytes).collect(),
    ]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_number_appears_in_the_log_files_or_audit_proofs() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(
        dir.path(),
        LogKeys::generate().unwrap(),
        KtLogOptions::default(),
    )
    .await;
    let numbers: Vec<u32> = (1..=50).collect();
    for (epoch, chunk) in numbers.chunks(10).enumerate() {
        let updates = chunk
            .iter()
            .map(|&n| {
                (
                    number(n),
                    binding(&format!("device-{n}"), u8::try_from(n).unwrap()),
                )
            })
            .collect();
        log.publish(updates, NOW + epoch as u64).await.unwrap();
    }
    let latest = log.latest_root().unwrap().unwrap().statement.epoch;
    let audit = serde_json::to_vec(&log.audit(0, latest).await.unwrap()).unwrap();
    // The proofs are protobuf inside base64: check the decoded bytes too.
    let answer = log.audit(0, latest).await.unwrap();
    let mut published: Vec<(String, Vec<u8>)> = vec![("audit JSON".into(), audit)];
    for (i, proof) in answer.proofs.iter().enumerate() {
        published.push((format!("append-only proof {i}"), proof.0.clone()));
    }
    drop(log);
    let mut private = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(entry.path()).unwrap();
        if name.starts_with("kt-roots") {
            published.push((name, bytes));
        } else if name.starts_with("kt-directory") {
            private.extend(bytes);
        }
    }
    // The scan finds a number where there is one.
    assert!(
        spellings(7)
            .iter()
            .any(|s| contains(format!("x{}x", number(7).as_str()).as_bytes(), s))
    );
    for &n in &numbers {
        for spelling in spellings(n) {
            for (what, bytes) in &published {
                assert!(
                    !contains(bytes, &spelling),
                    "number {n} appears in {what} as {:?}",
                    String::from_utf8_lossy(&spelling)
                );
            }
        }
    }
}
