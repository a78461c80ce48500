//! `crosslock kt audit`: checks that every epoch of a key-transparency log
//! only extends the previous one: every root signed by the log key, for the
//! expected directory, epochs consecutive, and akd's append-only proof from
//! each root to the next. Epoch 0 must be the empty directory; an audit
//! starting later trusts its first root as the starting point.
//!
//! - Online (`--kds URL`): fetches `GET /v1/kt/audit` in requests of at
//!   most `--chunk` epochs; consecutive requests share their boundary
//!   epoch, whose root must be the same in both (two roots for one epoch,
//!   both signed by the log, are a split view). `--save DIR` keeps every
//!   answer as `audit-FROM-TO.json`.
//! - Offline (`--dir DIR`): verifies such saved answers (every
//!   `audit-*.json` overlapping the range, whatever their boundaries),
//!   checks that all agree on each epoch's root and that together they
//!   prove every step from `--from` to `--to`.
//!
//! Prints one JSON verdict on stdout (`ok`, `failed` or `error`) and one
//! line for people on stderr. Exit status: 0 verified, 1 the audit failed
//! (a signature or proof does not verify, a gap, a fork), 2 the audit could
//! not be made (arguments, network, files).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crosslock_kt::PublicKey;
use crosslock_kt::server::{MAX_AUDIT_EPOCHS, empty_directory_root, verify_audit};
use crosslock_wire::api::ErrorBody;
use crosslock_wire::api::kt::{AuditAnswer, LogInfo};
use serde::Serialize;

use crate::kt_witness::parse_public_key;

/// How long connecting to the log may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Print progress at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Arguments of `crosslock kt audit`.
#[derive(clap::Args, Debug)]
#[command(
    group(clap::ArgGroup::new("source").required(true).args(["kds", "dir"])),
    after_long_help = "\
Prints one JSON object on stdout:
    {\"verdict\": \"ok\" | \"failed\" | \"error\", \"directory\", \"from\", \"to\",
     \"epochs_verified\", \"root_hash_at_to\" (hex, when ok), \"reason\", \"message\"}
epochs_verified counts the epochs after --from proven to extend their
predecessor (contiguously from --from, when the audit stopped early).

Exit status: 0 verified; 1 the audit failed (a signature or append-only proof
does not verify, a gap, a fork); 2 the audit could not be made."
)]
pub(crate) struct AuditArgs {
    /// The log's base URL (its KDS), e.g. https://kds.example:8443; the
    /// audit reads GET /v1/kt/info and /v1/kt/audit.
    #[arg(long, value_name = "URL")]
    kds: Option<String>,
    /// Audit answers saved by --save in this folder, instead of a log
    /// (offline audit).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["save", "ca"])]
    dir: Option<PathBuf>,
    /// The directory the roots must be for (the provider's KDS id).
    #[arg(long, value_name = "NAME")]
    directory: String,
    /// The log's root-signing key, 64 hex digits, as configured out of
    /// band (never taken from the log).
    #[arg(long, value_name = "HEX", value_parser = parse_public_key)]
    log_key: PublicKey,
    /// First epoch. Epoch 0 must be the empty directory; a later one is
    /// trusted as the starting point.
    #[arg(long, value_name = "EPOCH", default_value_t = 0)]
    from: u64,
    /// Last epoch [default: the log's latest; offline: the latest saved].
    #[arg(long, value_name = "EPOCH")]
    to: Option<u64>,
    /// Also save every answer fetched in this folder, as
    /// audit-FROM-TO.json, for a later `--dir` audit.
    #[arg(long, value_name = "DIR", requires = "kds")]
    save: Option<PathBuf>,
    /// Trust only this CA (PEM) for an https URL, instead of the system's
    /// roots (a development PKI).
    #[arg(long, value_name = "FILE.pem", requires = "kds")]
    ca: Option<PathBuf>,
    /// Epochs per request, 2 to 1000 (the log's limit).
    #[arg(long, value_name = "N", default_value_t = MAX_AUDIT_EPOCHS)]
    chunk: u64,
    /// Seconds one request may take (a request of 1000 busy epochs is
    /// large).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    timeout: u64,
}

/// What the audit says, as printed on stdout.
#[derive(Debug, Serialize)]
struct Verdict {
    /// `ok`, `failed` or `error`.
    verdict: &'static str,
    directory: String,
    from: u64,
    /// `null` when the latest epoch could not be learnt.
    to: Option<u64>,
    /// Epochs after `from` proven to extend their predecessor.
    epochs_verified: u64,
    /// The root hash at `to`, hex (only when verified).
    root_hash_at_to: Option<String>,
    /// A stable reason (`null` when verified).
    reason: Option<&'static str>,
    /// What happened, for people (`null` when verified).
    message: Option<String>,
}

/// Why an audit stopped.
#[derive(Debug)]
enum Stop {
    /// The log's data does not verify: exit 1.
    Failed(&'static str, String),
    /// The audit could not be made: exit 2.
    Error(&'static str, String),
}

/// How far an audit got.
#[derive(Debug, Default)]
struct Reach {
    to: Option<u64>,
    /// The last epoch proven contiguously from `from`, with its root hash.
    proven: Option<(u64, [u8; 32])>,
}

pub(crate) fn run(args: AuditArgs) -> ExitCode {
    let mut reach = Reach {
        to: args.to,
        proven: None,
    };
    let outcome = match check_args(&args) {
        Err(stop) => Err(stop),
        Ok(()) => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Err(e) => Err(Stop::Error(
                "internal",
                format!("cannot start the runtime: {e}"),
            )),
            Ok(runtime) => runtime.block_on(async {
                match &args.dir {
                    Some(dir) => offline(&args, dir, &mut reach).await,
                    None => online(&args, &mut reach).await,
                }
            }),
        },
    };
    report(&args, &reach, outcome)
}

fn check_args(args: &AuditArgs) -> Result<(), Stop> {
    if !(2..=MAX_AUDIT_EPOCHS).contains(&args.chunk) {
        return Err(usage(format!(
            "--chunk must be from 2 to {MAX_AUDIT_EPOCHS}"
        )));
    }
    if args.timeout == 0 {
        return Err(usage("--timeout must be at least 1 second".into()));
    }
    if let Some(to) = args.to
        && to < args.from
    {
        return Err(usage(format!(
            "--to ({to}) is before --from ({})",
            args.from
        )));
    }
    Ok(())
}

fn usage(message: String) -> Stop {
    Stop::Error("invalid-argument", message)
}

/// Prints the verdict and the human line; returns the exit status.
fn report(args: &AuditArgs, reach: &Reach, outcome: Result<(), Stop>) -> ExitCode {
    let verified = reach
        .proven
        .map_or(0, |(epoch, _)| epoch.saturating_sub(args.from));
    let mut verdict = Verdict {
        verdict: "ok",
        directory: args.directory.clone(),
        from: args.from,
        to: reach.to,
        epochs_verified: verified,
        root_hash_at_to: None,
        reason: None,
        message: None,
    };
    let (status, human) = match outcome {
        Ok(()) => {
            let hash = reach
                .proven
                .map(|(_, hash)| hex::encode(hash))
                .unwrap_or_default();
            let human = format!(
                "audit ok: {} epochs {}..={}: each of the {verified} epochs after {} extends the \
                 previous one; root hash at {}: {hash}",
                args.directory,
                args.from,
                reach.to.unwrap_or(args.from),
                args.from,
                reach.to.unwrap_or(args.from),
            );
            verdict.root_hash_at_to = Some(hash);
            (ExitCode::SUCCESS, human)
        }
        Err(Stop::Failed(reason, message)) => {
            let verified_to = match reach.proven {
                Some((epoch, _)) if epoch > args.from => format!("verified up to epoch {epoch}"),
                _ => "nothing verified".to_owned(),
            };
            let human = format!(
                "audit FAILED: {} epochs {}..={} ({verified_to}): {message}",
                args.directory,
                args.from,
                reach.to.map_or_else(|| "?".to_owned(), |to| to.to_string()),
            );
            verdict.verdict = "failed";
            verdict.reason = Some(reason);
            verdict.message = Some(message);
            (ExitCode::from(1), human)
        }
        Err(Stop::Error(reason, message)) => {
            let human = format!("error: {message}");
            verdict.verdict = "error";
            verdict.reason = Some(reason);
            verdict.message = Some(message);
            (ExitCode::from(2), human)
        }
    };
    let json = serde_json::to_string_pretty(&verdict).unwrap_or_else(|e| {
        format!(
            "{{\"verdict\": \"error\", \"reason\": \"internal\", \"message\": {:?}}}",
            e.to_string()
        )
    });
    // A closed stdout leaves nobody to tell; the exit status still says it.
    let _ = writeln!(std::io::stdout().lock(), "{json}");
    eprintln!("{human}");
    status
}

/// Checks one answer that should cover `from..=to` and extend what `reach`
/// has proven; advances `reach`.
async fn extend(
    args: &AuditArgs,
    reach: &mut Reach,
    answer: &AuditAnswer,
    from: u64,
    to: u64,
    source: &str,
) -> Result<(), Stop> {
    let epochs: Vec<u64> = answer.roots.iter().map(|r| r.statement.epoch).collect();
    if epochs.first() != Some(&from) || epochs.last() != Some(&to) {
        return Err(Stop::Failed(
            "wrong-range",
            format!(
                "{source}: asked for epochs {from}..={to}, got {}",
                range_text(epochs.first(), epochs.last())
            ),
        ));
    }
    let range = verify(args, answer, source).await?;
    match reach.proven {
        Some((epoch, hash)) if epoch == from => {
            if hash != range.from.hash {
                return Err(fork(from, &hash, &range.from.hash, source));
            }
        }
        Some((epoch, _)) => {
            return Err(Stop::Error(
                "internal",
                format!("{source} starts at epoch {from}, not at the epoch reached ({epoch})"),
            ));
        }
        None => check_start(args, range.from.epoch, &range.from.hash).await?,
    }
    reach.proven = Some((range.to.epoch, range.to.hash));
    Ok(())
}

/// `verify_audit` under the configured key and directory.
async fn verify(
    args: &AuditArgs,
    answer: &AuditAnswer,
    source: &str,
) -> Result<crosslock_kt::server::AuditedRange, Stop> {
    verify_audit(&args.log_key, &args.directory, answer)
        .await
        .map_err(|e| Stop::Failed(e.reason(), format!("{source}: {e}")))
}

/// Epoch 0 must be the empty directory (a log whose epoch 0 is anything
/// else started with bindings no audit can see).
async fn check_start(args: &AuditArgs, epoch: u64, hash: &[u8; 32]) -> Result<(), Stop> {
    if epoch != 0 {
        return Ok(());
    }
    let empty = empty_directory_root()
        .await
        .map_err(|e| Stop::Error("internal", e))?;
    if *hash != empty {
        return Err(Stop::Failed(
            "kt-not-genesis",
            format!(
                "epoch 0 of {} has root hash {}, not the empty directory's ({}): the log started \
                 with bindings no audit can see",
                args.directory,
                hex::encode(hash),
                hex::encode(empty)
            ),
        ));
    }
    Ok(())
}

fn fork(epoch: u64, first: &[u8; 32], second: &[u8; 32], source: &str) -> Stop {
    Stop::Failed(
        "kt-fork",
        format!(
            "the log signed two roots for epoch {epoch}: {} and, in {source}, {} (a split view)",
            hex::encode(first),
            hex::encode(second)
        ),
    )
}

fn range_text(first: Option<&u64>, last: Option<&u64>) -> String {
    match (first, last) {
        (Some(first), Some(last)) => format!("epochs {first}..={last}"),
        _ => "no roots".into(),
    }
}

// ---------------------------------------------------------------------------
// Online

// Progress output: elapsed wall time for the operator.
#[allow(clippy::disallowed_methods)]
async fn online(args: &AuditArgs, reach: &mut Reach) -> Result<(), Stop> {
    let base = base_url(args.kds.as_deref().unwrap_or_default())?;
    let http = http_client(args)?;
    if let Some(save) = &args.save {
        std::fs::create_dir_all(save).map_err(|e| {
            Stop::Error(
                "io",
                format!("cannot create the --save folder {}: {e}", save.display()),
            )
        })?;
    }
    let to = match args.to {
        Some(to) => to,
        None => {
            let info: LogInfo = get(&http, &format!("{base}/v1/kt/info")).await?;
            if info.latest_epoch < args.from {
                return Err(usage(format!(
                    "--from ({}) is after the log's latest epoch ({})",
                    args.from, info.latest_epoch
                )));
            }
            info.latest_epoch
        }
    };
    reach.to = Some(to);

    let started = Instant::now();
    let mut last_progress = Instant::now();
    let mut from = args.from;
    loop {
        let end = to.min(from.saturating_add(args.chunk - 1));
        let url = format!("{base}/v1/kt/audit?from={from}&to={end}");
        let answer: AuditAnswer = get(&http, &url).await?;
        if let Some(save) = &args.save {
            save_answer(save, from, end, &answer)?;
        }
        extend(
            args,
            reach,
            &answer,
            from,
            end,
            &format!("the answer for epochs {from}..={end}"),
        )
        .await?;
        if end == to {
            break;
        }
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            eprintln!(
                "audit: epochs {}..={end} of {}..={to} verified ({:.0} s)",
                args.from,
                args.from,
                started.elapsed().as_secs_f64()
            );
        }
        from = end;
    }
    Ok(())
}

/// The base URL without a trailing slash, checked to be http(s).
fn base_url(text: &str) -> Result<String, Stop> {
    let url = reqwest::Url::parse(text)
        .map_err(|e| usage(format!("--kds {text:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(usage(format!(
            "--kds {text:?} must be an http:// or https:// URL"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(usage(format!(
            "--kds {text:?} must be a base URL, without ? or #"
        )));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

fn http_client(args: &AuditArgs) -> Result<reqwest::Client, Stop> {
    // reqwest is built without a bundled rustls provider: use AWS-LC, as
    // every Crosslock service does. (Already installed is fine.)
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(Duration::from_secs(args.timeout))
        .user_agent(concat!("crosslock-kt-audit/", env!("CARGO_PKG_VERSION")));
    if let Some(ca) = &args.ca {
        let pem = std::fs::read(ca)
            .map_err(|e| Stop::Error("io", format!("cannot read --ca {}: {e}", ca.display())))?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            usage(format!(
                "--ca {} is not PEM certificates: {e}",
                ca.display()
            ))
        })?;
        if roots.is_empty() {
            return Err(usage(format!("--ca {} holds no certificate", ca.display())));
        }
        builder = builder.tls_certs_only(roots);
    }
    builder
        .build()
        .map_err(|e| Stop::Error("internal", format!("cannot make the HTTP client: {e}")))
}

/// GETs `url` and decodes its JSON; any failure stops the audit with
/// exit 2 (the log's data was not obtained, so nothing was refuted).
async fn get<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> Result<T, Stop> {
    let network = |e: reqwest::Error| Stop::Error("network", format!("GET {url}: {}", causes(&e)));
    let answer = http.get(url).send().await.map_err(network)?;
    let status = answer.status();
    if !status.is_success() {
        let body: Option<ErrorBody> = answer.json().await.ok();
        let detail = body.map_or_else(String::new, |b| format!(": {} ({})", b.message, b.error));
        return Err(Stop::Error(
            "http-error",
            format!("GET {url}: HTTP {status}{detail}"),
        ));
    }
    let bytes = answer.bytes().await.map_err(network)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Stop::Error(
            "malformed-answer",
            format!("GET {url}: the answer is not the expected JSON: {e}"),
        )
    })
}

/// An error with its causes (reqwest's own message rarely says why).
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Writes `answer` to `DIR/audit-FROM-TO.json` (atomically: a crash leaves
/// the old file or the new one).
fn save_answer(dir: &Path, from: u64, to: u64, answer: &AuditAnswer) -> Result<(), Stop> {
    let path = dir.join(format!("audit-{from}-{to}.json"));
    let io = |e: std::io::Error| Stop::Error("io", format!("cannot save {}: {e}", path.display()));
    let json = serde_json::to_vec(answer)
        .map_err(|e| Stop::Error("internal", format!("cannot encode an audit answer: {e}")))?;
    let mut file = tempfile::Builder::new()
        .prefix(".audit-")
        .tempfile_in(dir)
        .map_err(io)?;
    file.write_all(&json).map_err(io)?;
    file.as_file().sync_all().map_err(io)?;
    file.persist(&path).map_err(|e| io(e.error))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Offline

/// One saved answer.
#[derive(Debug)]
struct Saved {
    name: String,
    first: u64,
    last: u64,
    answer: AuditAnswer,
}

async fn offline(args: &AuditArgs, dir: &Path, reach: &mut Reach) -> Result<(), Stop> {
    let mut saved = read_saved(dir)?;
    if saved.is_empty() {
        return Err(Stop::Error(
            "no-files",
            format!(
                "{} holds no audit-*.json files (made by --save)",
                dir.display()
            ),
        ));
    }
    let latest = saved.iter().map(|s| s.last).max().unwrap_or(0);
    let to = args.to.unwrap_or(latest);
    if to < args.from {
        return Err(usage(format!(
            "--from ({}) is after the latest saved epoch ({latest})",
            args.from
        )));
    }
    reach.to = Some(to);
    saved.retain(|s| s.first <= to && s.last >= args.from);
    saved.sort_by_key(|s| (s.first, s.last));

    // Every file in the range verifies, and all agree on each epoch's root.
    let mut roots: BTreeMap<u64, ([u8; 32], &str)> = BTreeMap::new();
    let mut checked: Vec<&Saved> = Vec::with_capacity(saved.len());
    for file in &saved {
        let failure = match verify(args, &file.answer, &file.name).await {
            Err(stop) => Some(stop),
            Ok(_) => agree(&file.answer, &file.name, &mut roots).err(),
        };
        if let Some(stop) = failure {
            reach.proven = prefix(args, &checked, to, &roots);
            return Err(stop);
        }
        checked.push(file);
    }
    if let Some((hash, _)) = roots.get(&0)
        && args.from == 0
    {
        check_start(args, 0, hash).await?;
    }

    // Together they prove every step from `from` to `to`.
    reach.proven = prefix(args, &checked, to, &roots);
    match reach.proven {
        Some((epoch, _)) if epoch == to => Ok(()),
        Some((epoch, _)) => Err(Stop::Failed(
            "gap",
            format!(
                "no saved answer proves that epoch {} extends epoch {epoch} (files in {} cover \
                 {}); fetch that range again with --save",
                epoch + 1,
                dir.display(),
                coverage(&checked)
            ),
        )),
        None => Err(Stop::Failed(
            "gap",
            format!(
                "no saved answer holds epoch {} (files in {} cover {})",
                args.from,
                dir.display(),
                coverage(&checked)
            ),
        )),
    }
}

/// Reads every `audit-*.json` in `dir`.
fn read_saved(dir: &Path) -> Result<Vec<Saved>, Stop> {
    let io = |e: std::io::Error| Stop::Error("io", format!("cannot read {}: {e}", dir.display()));
    let mut saved = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        if !(name.starts_with("audit-") && name.ends_with(".json") && path.is_file()) {
            continue;
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| Stop::Error("io", format!("cannot read {}: {e}", path.display())))?;
        let answer: AuditAnswer = serde_json::from_slice(&bytes).map_err(|e| {
            Stop::Error(
                "malformed-file",
                format!("{} is not a saved audit answer: {e}", path.display()),
            )
        })?;
        let epochs = answer.roots.iter().map(|r| r.statement.epoch);
        let (Some(first), Some(last)) = (epochs.clone().min(), epochs.max()) else {
            return Err(Stop::Failed(
                "kt-malformed",
                format!("{name} holds no roots"),
            ));
        };
        saved.push(Saved {
            name,
            first,
            last,
            answer,
        });
    }
    Ok(saved)
}

/// Records each root of `answer` (already verified) in `roots`; a second
/// hash for an epoch is a fork.
fn agree<'a>(
    answer: &AuditAnswer,
    name: &'a str,
    roots: &mut BTreeMap<u64, ([u8; 32], &'a str)>,
) -> Result<(), Stop> {
    for root in &answer.roots {
        let epoch = root.statement.epoch;
        let hash: [u8; 32] = root
            .statement
            .root_hash
            .0
            .as_slice()
            .try_into()
            .map_err(|_| {
                Stop::Failed(
                    "kt-malformed",
                    format!("{name}: epoch {epoch}: root hash not 32 bytes"),
                )
            })?;
        match roots.get(&epoch) {
            Some((known, _)) if *known == hash => {}
            Some((known, other)) => {
                let mut stop = fork(epoch, known, &hash, name);
                if let Stop::Failed(_, message) = &mut stop {
                    message.push_str(&format!("; the first is in {other}"));
                }
                return Err(stop);
            }
            None => {
                roots.insert(epoch, (hash, name));
            }
        }
    }
    Ok(())
}

/// The last epoch that `files` (verified, consistent, sorted by first
/// epoch) prove contiguously from `--from`, capped at `to`, with its hash.
fn prefix(
    args: &AuditArgs,
    files: &[&Saved],
    to: u64,
    roots: &BTreeMap<u64, ([u8; 32], &str)>,
) -> Option<(u64, [u8; 32])> {
    let mut reached: Option<u64> = None;
    for file in files {
        let at = reached.unwrap_or(args.from);
        if file.first > at {
            break;
        }
        if file.last >= at {
            reached = Some(reached.map_or(file.last, |r| r.max(file.last)));
        }
    }
    let epoch = reached?.min(to);
    roots.get(&epoch).map(|(hash, _)| (epoch, *hash))
}

/// The epoch ranges `files` cover, for messages.
fn coverage(files: &[&Saved]) -> String {
    if files.is_empty() {
        return "nothing in the range".into();
    }
    files
        .iter()
        .map(|f| format!("{}..={}", f.first, f.last))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_http_without_query() {
        assert_eq!(
            base_url("http://127.0.0.1:8443/").ok().as_deref(),
            Some("http://127.0.0.1:8443")
        );
        assert_eq!(
            base_url("https://kds.example/kt").ok().as_deref(),
            Some("https://kds.example/kt")
        );
        assert!(base_url("ftp://kds.example").is_err());
        assert!(base_url("kds.example").is_err());
        assert!(base_url("http://kds.example/?x=1").is_err());
    }
}
