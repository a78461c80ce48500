//! Shared helpers for the key-transparency tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use crosslock_credential::PhoneNumber;
use crosslock_kt::server::{KtLog, KtLogOptions, LogKeys};
use crosslock_kt::{Binding, BoundKey, PublicKey, TrustedLog};

pub const DIRECTORY: &str = "kds.a.example";
pub const NOW: u64 = 1_800_000_000;

pub fn number(n: u32) -> PhoneNumber {
    PhoneNumber::parse(&format!("+1555{n:07}")).unwrap()
}

/// A binding of one device with a key derived from `seed`.
pub fn binding(device: &str, seed: u8) -> Binding {
    Binding::of(vec![BoundKey::new(device, vec![seed; 65], &[seed; 200])]).unwrap()
}

pub async fn open_log(dir: &std::path::Path, keys: LogKeys, options: KtLogOptions) -> KtLog {
    KtLog::open(dir, DIRECTORY, keys, options, NOW)
        .await
        .unwrap()
}

pub fn trust(log: &KtLog, witnesses: Vec<PublicKey>, threshold: usize) -> TrustedLog {
    TrustedLog {
        directory: DIRECTORY.into(),
        log_key: log.log_key(),
        vrf_key: log.vrf_key(),
        witnesses,
        threshold,
        max_root_age_secs: 86_400,
    }
}
