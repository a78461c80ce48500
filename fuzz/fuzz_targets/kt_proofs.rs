//! Key-transparency proofs (`crosslock_kt`), checked against a fixed log
//! (`fuzz/fixtures/kt.json`, written by make-seeds from a real directory):
//!
//! | mode | input after the mode byte | checked with |
//! |---|---|---|
//! | 0 | akd `LookupProof` protobuf, for the fixture's number at its latest root | `TrustedLog::verify_lookup` |
//! | 1 | akd `HistoryProof` protobuf, same | `TrustedLog::verify_history` |
//! | 2 | one byte picking epoch i, then an akd `SingleAppendOnlyProof` (consistency) from root i to root i + 1 | `server::verify_audit` |
//! | 3 | a `LookupAnswer` JSON (root and proof both fuzzed) | `verify_lookup` |
//! | 4 | an `AuditAnswer` JSON | `verify_audit` |
//! | 5 | a `SignedRoot` JSON | `TrustedLog::verify_root` |
//! | 6 | a `Binding` | `Binding::decode`, round trip |
#![no_main]

use std::sync::OnceLock;

use crosslock_credential::PhoneNumber;
use crosslock_fuzz::{KtFixture, hex32};
use crosslock_kt::server::verify_audit;
use crosslock_kt::{Binding, PublicKey, TrustedLog};
use crosslock_wire::api::B64;
use crosslock_wire::api::kt::{AuditAnswer, HistoryAnswer, LookupAnswer, SignedRoot};
use libfuzzer_sys::fuzz_target;

struct Setup {
    log: TrustedLog,
    number: PhoneNumber,
    now: u64,
    roots: Vec<SignedRoot>,
    runtime: tokio::runtime::Runtime,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let f = KtFixture::get();
        Setup {
            log: TrustedLog {
                directory: f.directory.clone(),
                log_key: PublicKey(hex32(&f.log_key)),
                vrf_key: hex32(&f.vrf_key),
                witnesses: Vec::new(),
                threshold: 0,
                max_root_age_secs: 86_400,
            },
            number: PhoneNumber::parse(&f.number).expect("number"),
            now: f.now,
            roots: f.roots.clone(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime"),
        }
    })
}

fn check_binding(binding: &Binding) {
    assert_eq!(Binding::decode(&binding.encode()).as_ref(), Ok(binding));
}

fn audit(s: &Setup, answer: &AuditAnswer) {
    if let Ok(range) = s
        .runtime
        .block_on(verify_audit(&s.log.log_key, &s.log.directory, answer))
    {
        assert!(range.from.epoch <= range.to.epoch);
        assert_eq!(
            range.to.epoch - range.from.epoch + 1,
            answer.roots.len() as u64
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let s = setup();
    let latest = s.roots.last().expect("fixture roots");
    let (mode, body) = data.split_first().unwrap_or((&0, &[]));
    match mode % 7 {
        0 => {
            let answer = LookupAnswer {
                root: latest.clone(),
                proof: B64(body.to_vec()),
            };
            if let Ok(proven) = s.log.verify_lookup(&s.number, &answer, s.now) {
                assert!(proven.since_epoch <= proven.root.epoch);
                check_binding(&proven.binding);
            }
        }
        1 => {
            let answer = HistoryAnswer {
                root: latest.clone(),
                proof: B64(body.to_vec()),
            };
            if let Ok(history) = s.log.verify_history(&s.number, &answer, s.now) {
                for (i, entry) in history.entries.iter().enumerate() {
                    assert_eq!(entry.version, i as u64 + 1);
                    check_binding(&entry.binding);
                }
            }
        }
        2 => {
            let Some((pick, proof)) = body.split_first() else {
                return;
            };
            if s.roots.len() < 2 {
                return;
            }
            let i = usize::from(*pick) % (s.roots.len() - 1);
            let answer = AuditAnswer {
                roots: vec![s.roots[i].clone(), s.roots[i + 1].clone()],
                proofs: vec![B64(proof.to_vec())],
            };
            audit(s, &answer);
        }
        3 => {
            if let Ok(answer) = serde_json::from_slice::<LookupAnswer>(body)
                && let Ok(proven) = s.log.verify_lookup(&s.number, &answer, s.now)
            {
                check_binding(&proven.binding);
            }
        }
        4 => {
            if let Ok(answer) = serde_json::from_slice::<AuditAnswer>(body) {
                audit(s, &answer);
            }
        }
        5 => {
            if let Ok(root) = serde_json::from_slice::<SignedRoot>(body)
                && let Ok(checked) = s.log.verify_root(&root, s.now)
            {
                assert_eq!(checked.epoch, root.statement.epoch);
            }
        }
        _ => {
            if let Ok(binding) = Binding::decode(body) {
                check_binding(&binding);
            }
        }
    }
});
