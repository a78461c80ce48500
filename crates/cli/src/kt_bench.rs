//! `crosslock kt bench`: fills a fresh key-transparency directory (akd on
//! the SQLite store, exactly as a provider runs it) with N numbers and
//! measures what the targets are about:
//!
//! - publishing: the fill's overall rate, then one measured epoch of key
//!   rolls (existing numbers) and one of new enrolments;
//! - lookup proofs of random numbers: size, time to make (the server's
//!   `/v1/kt/lookup`), time to verify (the client's full check: root
//!   signature, then akd's proof), each checked to prove the binding that
//!   was published;
//! - peak resident memory (`VmHWM`) and the directory's size on disk.
//!
//! Bindings are shaped like real ones: one device with a UUID-like instance
//! id, a 65-byte uncompressed P-256 key and the SHA-256 fingerprint of a
//! 620-byte leaf certificate. Key bytes are pseudo-random rather than real
//! curve points: the directory never parses them, and generating a million
//! key pairs would only slow the fill down.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crosslock_client::credential::PhoneNumber;
use crosslock_client::env::Environment;
use crosslock_kt::server::{KtLog, KtLogOptions, LogKeys};
use crosslock_kt::{Binding, BoundKey, TrustedLog};
use serde::Serialize;

/// The directory name roots are signed for.
const DIRECTORY: &str = "kds.bench.example";
/// Numbers are `+1555` and seven digits: at most this many.
const MAX_NUMBERS: usize = 10_000_000;
/// Print fill progress at least this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Arguments of `crosslock kt bench`.
#[derive(clap::Args, Debug)]
pub(crate) struct BenchArgs {
    /// Numbers to enrol before measuring.
    #[arg(long, value_name = "N")]
    labels: usize,
    /// Updates per epoch, while filling and in each measured epoch.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    batch: usize,
    /// Keep the directory's files in this folder (which must not hold a
    /// directory yet) instead of a temporary folder deleted afterwards.
    #[arg(long, value_name = "PATH")]
    dir: Option<PathBuf>,
    /// Random numbers to take lookup proofs of.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    samples: usize,
    /// akd's node cache limit in MiB (the provider's default is 256).
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    cache_mib: usize,
    /// Print the results as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Everything measured, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Report {
    labels: usize,
    batch: usize,
    cache_mib: usize,
    /// Worker threads of the runtime (the machine's available parallelism).
    threads: usize,
    fill: Rate,
    /// One epoch of `batch` key rolls of random enrolled numbers.
    epoch_key_rolls: Rate,
    /// One epoch of `batch` new numbers.
    epoch_new_labels: Rate,
    lookup: LookupStats,
    /// Linux `VmHWM`; `null` where `/proc/self/status` does not say.
    peak_rss_bytes: Option<u64>,
    /// Every file of the directory folder, while the log is open.
    disk_bytes: u64,
    disk_files: BTreeMap<String, u64>,
}

/// Publishing throughput: updates over the time spent in `publish` (the
/// epoch's akd work, its commit to disk and the signed root).
#[derive(Debug, Serialize)]
struct Rate {
    updates: usize,
    epochs: usize,
    seconds: f64,
    updates_per_sec: f64,
}

/// Lookup proofs of `samples` random numbers.
#[derive(Debug, Serialize)]
struct LookupStats {
    samples: usize,
    /// akd's protobuf-encoded proof, as `LookupAnswer.proof` carries it
    /// (without the signed root).
    proof_bytes_mean: f64,
    proof_bytes_max: usize,
    make_ms_median: f64,
    make_ms_p99: f64,
    verify_ms_median: f64,
    verify_ms_p99: f64,
}

/// A failure that stops the benchmark.
#[derive(Debug)]
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

pub(crate) fn run(args: BenchArgs) -> ExitCode {
    if let Err(why) = check_args(&args) {
        eprintln!("error: {why}");
        return ExitCode::from(2);
    }
    let (_temp, dir) = match &args.dir {
        Some(dir) => {
            if dir.join("kt-directory.sqlite3").exists() || dir.join("kt-roots.sqlite3").exists() {
                eprintln!(
                    "error: {} already holds a directory; the benchmark needs a fresh one",
                    dir.display()
                );
                return ExitCode::from(2);
            }
            (None, dir.clone())
        }
        None => match tempfile::Builder::new()
            .prefix("crosslock-kt-bench-")
            .tempdir()
        {
            Ok(temp) => {
                let path = temp.path().to_owned();
                (Some(temp), path)
            }
            Err(e) => {
                eprintln!("error: cannot create a temporary directory: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(measure(&args, &dir)) {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print_table(&report, &dir, args.dir.is_some());
            }
            ExitCode::SUCCESS
        }
        Err(Failure(why)) => {
            eprintln!("error: {why}");
            ExitCode::FAILURE
        }
    }
}

fn check_args(args: &BenchArgs) -> Result<(), String> {
    if args.batch == 0 || args.samples == 0 {
        return Err("--batch and --samples must be at least 1".into());
    }
    if args.labels < args.batch {
        return Err(format!(
            "--labels ({}) must be at least --batch ({}): the measured epoch rolls the keys of --batch enrolled numbers",
            args.labels, args.batch
        ));
    }
    if args.labels.saturating_add(args.batch) > MAX_NUMBERS {
        return Err(format!(
            "--labels plus --batch must not exceed {MAX_NUMBERS}"
        ));
    }
    Ok(())
}

// Benchmark: measures elapsed wall time.
#[allow(clippy::disallowed_methods)]
async fn measure(args: &BenchArgs, dir: &Path) -> Result<Report, Failure> {
    let options = KtLogOptions {
        cache_limit_bytes: args.cache_mib.saturating_mul(1024 * 1024),
        ..KtLogOptions::default()
    };
    let log = KtLog::open(dir, DIRECTORY, LogKeys::generate()?, options, unix_now()).await?;
    let trust = TrustedLog {
        directory: DIRECTORY.into(),
        log_key: log.log_key(),
        vrf_key: log.vrf_key(),
        witnesses: vec![],
        threshold: 0,
        max_root_age_secs: 86_400,
    };
    let mut rng = Rng(0x006b_7462_656e_6368);
    // Key generation of every number whose key was rolled (others: 0).
    let mut rolled: HashMap<usize, u64> = HashMap::new();

    // Fill.
    let epochs = args.labels.div_ceil(args.batch);
    let mut fill_time = Duration::ZERO;
    let mut last_progress: Option<Instant> = None;
    for (k, start) in (0..args.labels).step_by(args.batch).enumerate() {
        let end = args.labels.min(start + args.batch);
        let updates = (start..end)
            .map(|i| update(i, 0))
            .collect::<Result<Vec<_>, _>>()?;
        let took = publish(&log, updates).await?;
        fill_time += took;
        if k + 1 == epochs || last_progress.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
            last_progress = Some(Instant::now());
            eprintln!(
                "fill: epoch {}/{epochs}, {end} labels; this epoch {:.0} updates/s, overall {:.0} updates/s; resident {}",
                k + 1,
                per_sec(end - start, took),
                per_sec(end, fill_time),
                proc_status_kib("VmRSS").map_or_else(|| "?".into(), |kib| mib(kib * 1024)),
            );
        }
    }
    let fill = Rate {
        updates: args.labels,
        epochs,
        seconds: fill_time.as_secs_f64(),
        updates_per_sec: per_sec(args.labels, fill_time),
    };

    // One epoch of key rolls.
    let picked = rng.distinct(args.batch, args.labels);
    for &i in &picked {
        rolled.insert(i, 1);
    }
    let updates = picked
        .iter()
        .map(|&i| update(i, 1))
        .collect::<Result<Vec<_>, _>>()?;
    let took = publish(&log, updates).await?;
    let epoch_key_rolls = Rate {
        updates: args.batch,
        epochs: 1,
        seconds: took.as_secs_f64(),
        updates_per_sec: per_sec(args.batch, took),
    };
    eprintln!(
        "measured epoch: {} key rolls, {:.0} updates/s",
        args.batch, epoch_key_rolls.updates_per_sec
    );

    // One epoch of new numbers.
    let total = args.labels + args.batch;
    let updates = (args.labels..total)
        .map(|i| update(i, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let took = publish(&log, updates).await?;
    let epoch_new_labels = Rate {
        updates: args.batch,
        epochs: 1,
        seconds: took.as_secs_f64(),
        updates_per_sec: per_sec(args.batch, took),
    };
    eprintln!(
        "measured epoch: {} new labels, {:.0} updates/s",
        args.batch, epoch_new_labels.updates_per_sec
    );

    // Lookup proofs of random numbers, made and verified one at a time.
    eprintln!("lookups: {} proofs of random numbers", args.samples);
    let mut sizes = Vec::with_capacity(args.samples);
    let mut make = Vec::with_capacity(args.samples);
    let mut verify = Vec::with_capacity(args.samples);
    for _ in 0..args.samples {
        let i = rng.below(total);
        let number = number(i)?;
        let started = Instant::now();
        let answer = log.lookup(&number).await?;
        make.push(started.elapsed());
        sizes.push(answer.proof.0.len());
        let now = unix_now();
        let started = Instant::now();
        let proven = trust.verify_lookup(&number, &answer, now)?;
        verify.push(started.elapsed());
        let generation = rolled.get(&i).copied().unwrap_or(0);
        if proven.binding != binding(i, generation)? || proven.version != generation + 1 {
            return Err(Failure(format!(
                "the lookup proof of {} proves version {} with another binding than the one published",
                number.as_str(),
                proven.version
            )));
        }
    }
    make.sort_unstable();
    verify.sort_unstable();
    let lookup = LookupStats {
        samples: args.samples,
        proof_bytes_mean: sizes.iter().sum::<usize>() as f64 / sizes.len() as f64,
        proof_bytes_max: sizes.iter().copied().max().unwrap_or(0),
        make_ms_median: ms(percentile(&make, 50)),
        make_ms_p99: ms(percentile(&make, 99)),
        verify_ms_median: ms(percentile(&verify, 50)),
        verify_ms_p99: ms(percentile(&verify, 99)),
    };

    let disk_files = files_in(dir)?;
    Ok(Report {
        labels: args.labels,
        batch: args.batch,
        cache_mib: args.cache_mib,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        fill,
        epoch_key_rolls,
        epoch_new_labels,
        lookup,
        peak_rss_bytes: proc_status_kib("VmHWM").map(|kib| kib * 1024),
        disk_bytes: disk_files.values().sum(),
        disk_files,
    })
}

/// Publishes one epoch; returns the time `publish` took.
// Benchmark: measures elapsed wall time.
#[allow(clippy::disallowed_methods)]
async fn publish(log: &KtLog, updates: Vec<(PhoneNumber, Binding)>) -> Result<Duration, Failure> {
    let count = updates.len();
    let before = log.latest_root()?.map_or(0, |r| r.statement.epoch);
    let started = Instant::now();
    let root = log.publish(updates, unix_now()).await?;
    let took = started.elapsed();
    if root.statement.epoch != before + 1 {
        return Err(Failure(format!(
            "publishing {count} updates made epoch {} after epoch {before}",
            root.statement.epoch
        )));
    }
    Ok(took)
}

fn print_table(report: &Report, dir: &Path, kept: bool) {
    let rate = |r: &Rate| {
        format!(
            "{:.0} updates/s ({} updates in {:.2} s)",
            r.updates_per_sec, r.updates, r.seconds
        )
    };
    let l = &report.lookup;
    let rows: Vec<(String, String, &str)> = vec![
        (
            "labels".into(),
            format!(
                "{} (+{} new in the measured epoch)",
                report.labels, report.batch
            ),
            "",
        ),
        (
            format!("fill ({} epochs of {})", report.fill.epochs, report.batch),
            rate(&report.fill),
            "",
        ),
        (
            "epoch of key rolls".into(),
            rate(&report.epoch_key_rolls),
            "≥ 3000 updates/s",
        ),
        (
            "epoch of new labels".into(),
            rate(&report.epoch_new_labels),
            "≥ 3000 updates/s",
        ),
        (
            "lookup proof size".into(),
            format!(
                "mean {:.0} B, max {} B",
                l.proof_bytes_mean, l.proof_bytes_max
            ),
            "≤ 5 KB",
        ),
        (
            "lookup proof make".into(),
            format!(
                "median {:.3} ms, p99 {:.3} ms",
                l.make_ms_median, l.make_ms_p99
            ),
            "",
        ),
        (
            "lookup proof verify".into(),
            format!(
                "median {:.3} ms, p99 {:.3} ms",
                l.verify_ms_median, l.verify_ms_p99
            ),
            "≤ 1 ms",
        ),
        (
            "peak resident memory".into(),
            report.peak_rss_bytes.map_or_else(|| "unknown".into(), mib),
            "≤ 1.5 GB",
        ),
        ("on disk".into(), mib(report.disk_bytes), ""),
    ];
    let width = rows
        .iter()
        .map(|(name, _, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    let value_width = rows
        .iter()
        .map(|(_, value, _)| value.chars().count())
        .max()
        .unwrap_or(0);
    println!(
        "Key-transparency directory, {} labels, {} samples, {} threads, {} MiB node cache",
        report.labels, l.samples, report.threads, report.cache_mib
    );
    println!("{:width$}  {:value_width$}  target (at 1M labels)", "", "");
    for (name, value, target) in &rows {
        println!("{name:width$}  {value:value_width$}  {target}");
    }
    for (file, bytes) in &report.disk_files {
        println!("  {file}: {}", mib(*bytes));
    }
    if kept {
        println!("directory kept in {}", dir.display());
    }
}

/// The `index`-th number: `+1555` and seven digits.
fn number(index: usize) -> Result<PhoneNumber, Failure> {
    Ok(PhoneNumber::parse(&format!("+1555{index:07}"))?)
}

/// Number `index` with its binding at key generation `generation`.
fn update(index: usize, generation: u64) -> Result<(PhoneNumber, Binding), Failure> {
    Ok((number(index)?, binding(index, generation)?))
}

/// The binding of number `index` at key generation `generation` (0 at
/// enrolment, +1 per key roll); see the module documentation.
fn binding(index: usize, generation: u64) -> Result<Binding, Failure> {
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
    Ok(Binding::of(vec![BoundKey::new(device, key, &leaf)])?)
}

/// splitmix64: reproducible choices and key bytes.
#[derive(Debug)]
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

    /// `k` distinct indices below `n` (`k <= n`), in random order.
    fn distinct(&mut self, k: usize, n: usize) -> Vec<usize> {
        if k * 2 > n {
            // Dense: a partial Fisher–Yates shuffle.
            let mut all: Vec<usize> = (0..n).collect();
            for j in 0..k {
                let pick = j + self.below(n - j);
                all.swap(j, pick);
            }
            all.truncate(k);
            return all;
        }
        let mut seen = HashSet::with_capacity(k);
        let mut out = Vec::with_capacity(k);
        while out.len() < k {
            let i = self.below(n);
            if seen.insert(i) {
                out.push(i);
            }
        }
        out
    }
}

/// Now, for the roots the benchmark's log signs.
fn unix_now() -> u64 {
    Environment::system().now()
}

fn per_sec(updates: usize, took: Duration) -> f64 {
    updates as f64 / took.as_secs_f64().max(f64::MIN_POSITIVE)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The nearest-rank `p`th percentile of sorted, non-empty `values`.
fn percentile(values: &[Duration], p: usize) -> Duration {
    let rank = (values.len() * p).div_ceil(100).max(1);
    values[rank.min(values.len()) - 1]
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A `kB` field of `/proc/self/status` (Linux), e.g. `VmHWM`.
fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Sizes of the regular files in `dir`.
fn files_in(dir: &Path) -> Result<BTreeMap<String, u64>, Failure> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_file() {
            files.insert(entry.file_name().to_string_lossy().into_owned(), meta.len());
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 50), Duration::from_millis(50));
        assert_eq!(percentile(&values, 99), Duration::from_millis(99));
        assert_eq!(percentile(&values[..1], 99), Duration::from_millis(1));
    }

    #[test]
    fn distinct_picks_are_distinct_and_in_range() {
        let mut rng = Rng(7);
        for (k, n) in [(10, 1000), (900, 1000), (1000, 1000)] {
            let picked = rng.distinct(k, n);
            assert_eq!(picked.len(), k);
            assert_eq!(picked.iter().collect::<HashSet<_>>().len(), k);
            assert!(picked.iter().all(|&i| i < n));
        }
    }

    #[test]
    fn bindings_are_realistic_and_differ_per_generation() {
        let first = binding(42, 0).ok();
        let rolled = binding(42, 1).ok();
        assert!(first.is_some() && rolled.is_some() && first != rolled);
        let first = first.unwrap_or(Binding::Revoked);
        let keys = first.keys();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].public_key.len(), 65);
        assert_eq!(keys[0].device_id.len(), 36);
        assert_eq!(
            number(42).ok().map(|n| n.as_str().to_owned()).as_deref(),
            Some("+15550000042")
        );
    }
}
