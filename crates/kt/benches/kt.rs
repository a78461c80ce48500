//! Key-transparency benchmarks on the persistent directory (akd on the
//! SQLite store), pre-filled with `CROSSLOCK_KT_BENCH_LABELS` numbers
//! (default 20,000, at least 10,000):
//!
//! - **lookup_proof**: a lookup proof of a random number's current binding
//!   (what `/v1/kt/lookup` computes), protobuf-encoded.
//! - **lookup_verify**: a client's check of one lookup answer: the log's
//!   root signature, then akd's proof (VRF, membership, freshness).
//! - **history_proof / history_verify**: the complete history of a number
//!   with five versions.
//! - **publish_epoch/1000 and /10000**: one epoch rolling the key of that
//!   many random enrolled numbers, committed to disk (`synchronous=FULL`)
//!   and its root signed. Throughput is in updates.
//!
//! Run: `cargo bench -p crosslock-kt --features server` (`-- --quick` for a
//! short run). For a larger directory and peak memory, use
//! `crosslock kt bench --labels N` instead (see docs/benchmarks.md).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

use std::collections::HashSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use crosslock_credential::PhoneNumber;
use crosslock_kt::server::{KtLog, KtLogOptions, LogKeys};
use crosslock_kt::{Binding, BoundKey, TrustedLog};
use tokio::runtime::Runtime;

const DIRECTORY: &str = "kds.bench.example";
/// The clock every root is signed and checked at.
const NOW: u64 = 1_800_000_000;
/// Updates per epoch while pre-filling.
const FILL_EPOCH: usize = 10_000;
/// Default directory size; override with `CROSSLOCK_KT_BENCH_LABELS`.
const DEFAULT_LABELS: usize = 20_000;
/// Epoch sizes of the publish benchmarks.
const PUBLISH_SIZES: [usize; 2] = [1_000, 10_000];
/// Distinct answers the verification benchmarks cycle through.
const ANSWERS: usize = 64;

/// splitmix64: reproducible label choices and key bytes without a
/// dependency on `rand`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes()[..chunk.len()]);
        }
    }

    /// `k` distinct indices below `n`.
    fn distinct(&mut self, k: usize, n: usize) -> Vec<usize> {
        assert!(k <= n, "cannot pick {k} distinct labels of {n}");
        let mut seen = HashSet::with_capacity(k);
        while seen.len() < k {
            seen.insert(self.below(n));
        }
        seen.into_iter().collect()
    }
}

/// The `index`-th enrolled number: `+1555` and seven digits.
fn number(index: usize) -> PhoneNumber {
    PhoneNumber::parse(&format!("+1555{index:07}")).unwrap()
}

/// The binding of number `index` at key generation `generation`: one
/// device (a UUID-shaped instance id), an uncompressed P-256 public key
/// (65 bytes) and the fingerprint of a leaf certificate of typical size.
/// Different generations give different keys (a key roll).
fn binding(index: usize, generation: u64) -> Binding {
    let mut rng = Rng(((index as u64) << 32) | generation);
    let mut id = [0u8; 16];
    rng.fill(&mut id);
    let device = format!(
        "{}-{}-{}-{}-{}",
        hex::encode(&id[..4]),
        hex::encode(&id[4..6]),
        hex::encode(&id[6..8]),
        hex::encode(&id[8..10]),
        hex::encode(&id[10..])
    );
    let mut key = vec![0u8; 65];
    key[0] = 0x04;
    rng.fill(&mut key[1..]);
    let mut leaf = vec![0u8; 620];
    rng.fill(&mut leaf);
    Binding::of(vec![BoundKey::new(device, key, &leaf)]).unwrap()
}

struct Fixture {
    rt: Runtime,
    _dir: tempfile::TempDir,
    log: KtLog,
    trust: TrustedLog,
    labels: usize,
    rng: Rng,
    /// Next key generation to publish: every key roll is a new value.
    generation: u64,
}

impl Fixture {
    fn new(labels: usize) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let log = rt
            .block_on(KtLog::open(
                dir.path(),
                DIRECTORY,
                LogKeys::generate().unwrap(),
                KtLogOptions::default(),
                NOW,
            ))
            .unwrap();
        let trust = TrustedLog {
            directory: DIRECTORY.into(),
            log_key: log.log_key(),
            vrf_key: log.vrf_key(),
            witnesses: vec![],
            threshold: 0,
            max_root_age_secs: 86_400,
        };
        // Benchmark: measures elapsed wall time.
        #[allow(clippy::disallowed_methods)]
        let started = Instant::now();
        for start in (0..labels).step_by(FILL_EPOCH) {
            let updates = (start..labels.min(start + FILL_EPOCH))
                .map(|i| (number(i), binding(i, 0)))
                .collect();
            rt.block_on(log.publish(updates, NOW)).unwrap();
        }
        eprintln!(
            "kt bench: {labels} labels published in {:.1?}",
            started.elapsed()
        );
        Fixture {
            rt,
            _dir: dir,
            log,
            trust,
            labels,
            rng: Rng(0x5eed),
            generation: 1,
        }
    }

    /// Key rolls of `k` distinct random enrolled numbers.
    fn key_rolls(&mut self, k: usize) -> Vec<(PhoneNumber, Binding)> {
        let generation = self.generation;
        self.generation += 1;
        self.rng
            .distinct(k, self.labels)
            .into_iter()
            .map(|i| (number(i), binding(i, generation)))
            .collect()
    }
}

fn labels_from_env() -> usize {
    let labels = match std::env::var("CROSSLOCK_KT_BENCH_LABELS") {
        Ok(text) => text
            .trim()
            .replace('_', "")
            .parse()
            .expect("CROSSLOCK_KT_BENCH_LABELS must be a number"),
        Err(_) => DEFAULT_LABELS,
    };
    let largest = PUBLISH_SIZES.iter().copied().max().unwrap_or(0);
    assert!(
        (largest..=9_000_000).contains(&labels),
        "CROSSLOCK_KT_BENCH_LABELS must be between {largest} and 9000000"
    );
    labels
}

fn bench(c: &mut Criterion) {
    let labels = labels_from_env();
    let mut fx = Fixture::new(labels);
    let mut group = c.benchmark_group(format!("kt_{labels}_labels"));

    // Proofs, against the freshly filled directory.
    group.throughput(Throughput::Elements(1));
    group.sample_size(50);
    group.bench_function("lookup_proof", |b| {
        let mut rng = Rng(1);
        b.iter(|| {
            let number = number(rng.below(labels));
            black_box(fx.rt.block_on(fx.log.lookup(&number)).unwrap())
        });
    });

    let answers: Vec<_> = {
        let mut rng = Rng(2);
        (0..ANSWERS)
            .map(|_| {
                let number = number(rng.below(labels));
                let answer = fx.rt.block_on(fx.log.lookup(&number)).unwrap();
                (number, answer)
            })
            .collect()
    };
    let proof_bytes = answers.iter().map(|(_, a)| a.proof.0.len()).sum::<usize>() / answers.len();
    eprintln!("kt bench: lookup proofs average {proof_bytes} bytes at {labels} labels");
    group.bench_function("lookup_verify", |b| {
        let mut next = answers.iter().cycle();
        b.iter(|| {
            let (number, answer) = next.next().unwrap();
            black_box(fx.trust.verify_lookup(number, answer, NOW).unwrap())
        });
    });

    // A number with five versions: enrolled, then four key rolls.
    let rolled = labels / 2;
    for generation in 1..=4 {
        fx.rt
            .block_on(fx.log.publish(
                vec![(number(rolled), binding(rolled, 1_000_000 + generation))],
                NOW,
            ))
            .unwrap();
    }
    let rolled = number(rolled);
    group.bench_function("history_proof", |b| {
        b.iter(|| black_box(fx.rt.block_on(fx.log.history(&rolled)).unwrap()));
    });
    let history = fx.rt.block_on(fx.log.history(&rolled)).unwrap();
    assert_eq!(
        fx.trust
            .verify_history(&rolled, &history, NOW)
            .unwrap()
            .entries
            .len(),
        5
    );
    eprintln!(
        "kt bench: a five-version history proof is {} bytes",
        history.proof.0.len()
    );
    group.bench_function("history_verify", |b| {
        b.iter(|| black_box(fx.trust.verify_history(&rolled, &history, NOW).unwrap()));
    });

    // Publishing: each iteration is one epoch of fresh key rolls. Every
    // epoch takes seconds, so few samples, each one epoch.
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(1));
    for size in PUBLISH_SIZES {
        group.throughput(Throughput::Elements(size as u64));
        group.measurement_time(Duration::from_secs(if size >= 10_000 { 40 } else { 10 }));
        group.bench_function(BenchmarkId::new("publish_epoch", size), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let updates = fx.key_rolls(size);
                    // Benchmark: measures elapsed wall time.
                    #[allow(clippy::disallowed_methods)]
                    let started = Instant::now();
                    let root = fx.rt.block_on(fx.log.publish(updates, NOW)).unwrap();
                    total += started.elapsed();
                    black_box(root);
                }
                total
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
