//! `crosslock chaos`: fault scenarios with a fixed seed, each checked
//! against a ledger of what was acknowledged and what the applications got.
//!
//! | scenario | fault |
//! |---|---|
//! | `provider-kill` | `crosslock serve` (KDS and DS) killed with SIGKILL at random moments under message and claim load, restarted on the same data dir |
//! | `device-commit-crash` | a phone dies at every write while it processes a commit, and restarts from its encrypted database |
//! | `device-file-crash` | a phone dies after uploading a file and before sending its key, and restarts |
//! | `peer-down`, `peer-slow`, `peer-garbage` | the peer provider is down, answers slowly, or speaks garbage |
//! | `disk-full` | the provider's data dir fills up (a small tmpfs, or a file-size limit where mounting is not allowed) |
//!
//! The table counts copies of messages: `acknowledged` is every (message,
//! recipient) pair a provider accepted, `delivered` the pairs that reached
//! the recipient's application, `lost` the acknowledged pairs that never
//! arrived, `duplicated` the pairs that reached an application under more
//! than one delivery. Exit status 0 only when every scenario's checks held
//! and nothing was lost or duplicated.

mod device_kill;
mod disk_full;
mod ledger;
mod peer;
mod phones;
mod provider_kill;
mod serve_proc;

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

pub(crate) use ledger::{Ledger, Rng};

/// Options of `crosslock chaos`.
#[derive(clap::Args, Debug)]
pub(crate) struct ChaosArgs {
    /// The seed of every random choice (kill moments, who sends, crash
    /// points): the same seed replays the same schedule.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Run only these scenarios (repeatable).
    #[arg(long = "only", value_name = "SCENARIO")]
    only: Vec<String>,
    /// Fewer operations per scenario (CI).
    #[arg(long)]
    quick: bool,
    /// Keep the scenarios' data dirs here instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    dir: Option<std::path::PathBuf>,
    /// Print the table as JSON lines, one object per scenario.
    #[arg(long)]
    json: bool,
}

/// What one scenario did.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Faults injected plus messages, claims and syncs made.
    pub(crate) operations: u64,
    /// The ledger's tally.
    pub(crate) tally: ledger::Tally,
    /// Checks beyond the ledger that held, for the notes column.
    pub(crate) notes: Vec<String>,
}

/// A scenario failed a check or could not run.
#[derive(Debug)]
pub(crate) struct Broken(pub(crate) String);

impl<E: std::fmt::Display> From<E> for Broken {
    fn from(e: E) -> Self {
        Broken(e.to_string())
    }
}

/// Fails the scenario unless `ok`.
pub(crate) fn check(ok: bool, what: impl Into<String>) -> Result<(), Broken> {
    if ok {
        Ok(())
    } else {
        Err(Broken(format!("check failed: {}", what.into())))
    }
}

/// How big a run is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Size {
    pub(crate) quick: bool,
}

impl Size {
    /// `full` normally, `quick` with `--quick`.
    pub(crate) fn pick(self, full: u64, quick: u64) -> u64 {
        if self.quick { quick } else { full }
    }
}

const SCENARIOS: [&str; 7] = [
    "provider-kill",
    "device-commit-crash",
    "device-file-crash",
    "peer-down",
    "peer-slow",
    "peer-garbage",
    "disk-full",
];

async fn scenario(name: &str, seed: u64, size: Size, dir: &Path) -> Result<Outcome, Broken> {
    let mut rng = Rng::new(seed ^ ledger::fnv(name));
    match name {
        "provider-kill" => provider_kill::run(&mut rng, size, dir).await,
        "device-commit-crash" => device_kill::commit_crash(&mut rng, size, dir).await,
        "device-file-crash" => device_kill::file_crash(&mut rng, size, dir).await,
        "peer-down" => peer::run(peer::Fault::Down, &mut rng, size, dir).await,
        "peer-slow" => peer::run(peer::Fault::Slow, &mut rng, size, dir).await,
        "peer-garbage" => peer::run(peer::Fault::Garbage, &mut rng, size, dir).await,
        "disk-full" => disk_full::run(&mut rng, size, dir).await,
        other => Err(Broken(format!(
            "unknown scenario {other:?}; choose from {}",
            SCENARIOS.join(", ")
        ))),
    }
}

// Reports how long each scenario took: elapsed wall time.
#[allow(clippy::disallowed_methods)]
pub(crate) fn run(args: ChaosArgs) -> ExitCode {
    // The faults make the services log warnings by design; show them only
    // when asked for.
    if std::env::var_os("RUST_LOG").is_some() {
        crate::logging::init();
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let names: Vec<String> = if args.only.is_empty() {
        SCENARIOS.iter().map(|s| (*s).to_owned()).collect()
    } else {
        args.only.clone()
    };
    if let Some(bad) = names.iter().find(|n| !SCENARIOS.contains(&n.as_str())) {
        eprintln!(
            "error: unknown scenario {bad:?}; choose from {}",
            SCENARIOS.join(", ")
        );
        return ExitCode::from(2);
    }
    let temp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot create a temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let root = args.dir.clone().unwrap_or_else(|| temp.path().to_owned());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let size = Size { quick: args.quick };
    if !args.json {
        println!(
            "{:<20} {:>10} {:>12} {:>10} {:>5} {:>10}  result",
            "scenario", "operations", "acknowledged", "delivered", "lost", "duplicated"
        );
    }
    let mut all_ok = true;
    for name in &names {
        let dir = root.join(name);
        let started = std::time::Instant::now();
        let result = match std::fs::create_dir_all(&dir) {
            Ok(()) => runtime.block_on(scenario(name, args.seed, size, &dir)),
            Err(e) => Err(Broken(format!("{}: {e}", dir.display()))),
        };
        let seconds = started.elapsed().as_secs_f64();
        let (outcome, error) = match result {
            Ok(o) => (o, None),
            Err(Broken(why)) => (Outcome::default(), Some(why)),
        };
        let t = &outcome.tally;
        let ok = error.is_none() && t.lost == 0 && t.duplicated == 0;
        all_ok &= ok;
        if args.json {
            println!(
                "{}",
                json!({
                    "scenario": name, "seed": args.seed, "operations": outcome.operations,
                    "acknowledged": t.acknowledged, "delivered": t.delivered,
                    "lost": t.lost, "duplicated": t.duplicated, "ok": ok,
                    "seconds": seconds, "notes": outcome.notes, "error": error,
                })
            );
        } else {
            println!(
                "{:<20} {:>10} {:>12} {:>10} {:>5} {:>10}  {} ({seconds:.1} s)",
                name,
                outcome.operations,
                t.acknowledged,
                t.delivered,
                t.lost,
                t.duplicated,
                if ok { "ok" } else { "FAILED" }
            );
            for note in &outcome.notes {
                println!("{:<20} {note}", "");
            }
            if let Some(why) = error {
                println!("{:<20} {why}", "");
            }
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
