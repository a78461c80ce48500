//! `crosslock kt witness`: runs a key-transparency witness. It follows the
//! logs named with `--follow`, checks that every root a log asks it to
//! co-sign only extends the roots it already checked, co-signs it, and
//! refuses a second root for any epoch (keeping both as fork evidence).
//! The checks and the HTTP API live in `crosslock_kt::server::witness`;
//! this module handles the key file, the state folder, the listener,
//! logging and shutdown.
//!
//! On start it prints one line on stdout for scripts,
//! `witness key <HEX> listening on http://<ADDR>`, with the address
//! actually bound (so `--listen 127.0.0.1:0` reveals its port); logs go to
//! stderr. Exit status: 0 after a clean shutdown (Ctrl-C, SIGTERM) or
//! `--print-key`; 1 when the server fails while running; 2 when it cannot
//! start (arguments, key file, state, listen address).

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crosslock_client::env::Environment;
use crosslock_kt::server::witness::{FollowedLog, Witness, router};
use crosslock_kt::{PublicKey, SigningKey};

/// The witness's signing key (PKCS#8, mode 0600) inside `--state`.
const KEY_FILE: &str = "witness-key.pk8";
/// The witness's state (verified roots, positions, fork evidence).
const STATE_FILE: &str = "witness.sqlite3";
/// Held (advisory lock) while a witness runs on the folder.
const LOCK_FILE: &str = "witness.lock";
/// How long requests in flight may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Smallest `--max-body`: below this not even one epoch's request fits.
const MIN_BODY_BYTES: usize = 4096;

/// Arguments of `crosslock kt witness`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = "\
The witness speaks plain HTTP: run it behind a TLS-terminating proxy (logs \
reach it over HTTPS), or on a private network.

On start it prints one line on stdout:
    witness key <HEX> listening on http://<ADDR>
Give logs that URL (behind the proxy: the proxy's) and the key; give clients \
the key. `--print-key` prints the key alone, creating it if needed.")]
pub(crate) struct WitnessArgs {
    /// Address to listen on, plain HTTP (port 0: any free port, printed
    /// on start).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8450")]
    listen: SocketAddr,
    /// Folder of the witness's key (witness-key.pk8, made on first use;
    /// back it up) and its state (witness.sqlite3). One witness per folder.
    #[arg(long, value_name = "DIR")]
    state: PathBuf,
    /// A log to follow: its directory name (the provider's KDS id), '=',
    /// and its root-signing key as 64 hex digits. Repeat for each log.
    #[arg(
        long = "follow",
        value_name = "DIRECTORY=LOGKEYHEX",
        value_parser = parse_follow,
        required_unless_present = "print_key"
    )]
    follows: Vec<FollowedLog>,
    /// Largest co-signing request accepted, in bytes (a log catching a
    /// witness up sends every epoch since the witness's last co-signature
    /// in one request).
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    max_body: usize,
    /// Print the witness's public key (hex) and exit, creating the key
    /// first if the folder has none.
    #[arg(long)]
    print_key: bool,
}

pub(crate) fn run(args: WitnessArgs) -> ExitCode {
    if let Err(why) = check_args(&args) {
        eprintln!("error: {why}");
        return ExitCode::from(2);
    }
    if let Err(why) = create_private_dir(&args.state) {
        eprintln!("error: {why}");
        return ExitCode::from(2);
    }
    // Held until the process exits: a second witness on the same state
    // would keep its own view of the positions.
    let _lock = if args.print_key {
        None
    } else {
        match lock_state(&args.state) {
            Ok(lock) => Some(lock),
            Err(why) => {
                eprintln!("error: {why}");
                return ExitCode::from(2);
            }
        }
    };
    let key = match load_or_create_key(&args.state) {
        Ok(key) => key,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::from(2);
        }
    };
    if args.print_key {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", key.public_key().to_hex());
        return ExitCode::SUCCESS;
    }

    crate::logging::init();
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
    let state_db = args.state.join(STATE_FILE);
    let env = Environment::system();
    let witness = match Witness::open(&state_db, key, args.follows, move || env.now()) {
        Ok(witness) => Arc::new(witness),
        Err(e) => {
            eprintln!(
                "error: cannot open the witness state {}: {e}",
                state_db.display()
            );
            return ExitCode::from(2);
        }
    };
    runtime.block_on(serve(witness, args.listen, args.max_body))
}

fn check_args(args: &WitnessArgs) -> Result<(), String> {
    if args.max_body < MIN_BODY_BYTES {
        return Err(format!(
            "--max-body must be at least {MIN_BODY_BYTES} bytes"
        ));
    }
    let mut seen = BTreeSet::new();
    for log in &args.follows {
        if !seen.insert(log.directory.as_str()) {
            return Err(format!(
                "--follow names directory {:?} twice; give each log once, with its one log key \
                 (a log with a new key is a new log: it needs a new directory name)",
                log.directory
            ));
        }
    }
    Ok(())
}

/// Parses `--follow DIRECTORY=LOGKEYHEX`.
fn parse_follow(text: &str) -> Result<FollowedLog, String> {
    let Some((directory, key)) = text.split_once('=') else {
        return Err("expected DIRECTORY=LOGKEYHEX, e.g. kds.example=<64 hex digits>".into());
    };
    let directory = directory.trim();
    if directory.is_empty() {
        return Err("the directory name before '=' is empty".into());
    }
    if directory.len() > usize::from(u16::MAX) {
        return Err("the directory name is longer than 65535 bytes".into());
    }
    Ok(FollowedLog {
        directory: directory.to_owned(),
        log_key: parse_public_key(key)?,
    })
}

/// Parses an Ed25519 public key given as 64 hex digits (the form every
/// `crosslock` flag takes; `/v1/kt/info` shows keys in base64, so that
/// form is recognised and its hex suggested).
pub(crate) fn parse_public_key(text: &str) -> Result<PublicKey, String> {
    use base64::Engine as _;
    let text = text.trim();
    if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text)
        && bytes.len() == 32
    {
        return Err(format!(
            "{text:?} looks like base64 (as /v1/kt/info shows keys); give the key in hex: {}",
            hex::encode(bytes)
        ));
    }
    match PublicKey::from_hex(text) {
        Ok(key) => Ok(key),
        Err(e) => Err(format!(
            "{text:?} is not an Ed25519 public key as 64 hex digits: {e}"
        )),
    }
}

/// Creates `dir` (mode 0700 on Unix) if it does not exist.
fn create_private_dir(dir: &Path) -> Result<(), String> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| format!("cannot create the state folder {}: {e}", dir.display()))
}

/// Takes the folder's lock, or says which folder is in use.
fn lock_state(dir: &Path) -> Result<std::fs::File, String> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "another witness is running with --state {}; one witness per state folder",
            dir.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

/// Loads the witness key from `dir`, or makes one there: written to a
/// temporary file (mode 0600), synced, then linked into place only if no
/// key appeared meanwhile, so a key file is never partial or replaced.
fn load_or_create_key(dir: &Path) -> Result<SigningKey, String> {
    let path = dir.join(KEY_FILE);
    match std::fs::read(&path) {
        Ok(pkcs8) => return parse_key_file(&path, &pkcs8),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(format!(
                "cannot read the witness key {}: {e}",
                path.display()
            ));
        }
    }
    let key = SigningKey::generate().map_err(|e| format!("cannot make a witness key: {e}"))?;
    let write_err =
        |e: std::io::Error| format!("cannot write the witness key in {}: {e}", dir.display());
    // tempfile creates the file with mode 0600 on Unix.
    let mut file = tempfile::Builder::new()
        .prefix(".witness-key-")
        .tempfile_in(dir)
        .map_err(write_err)?;
    file.write_all(key.pkcs8()).map_err(write_err)?;
    file.as_file().sync_all().map_err(write_err)?;
    match file.persist_noclobber(&path) {
        Ok(_) => {
            // Make the new name durable too.
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(write_err)?;
            eprintln!(
                "created a new witness key in {} (public key {}); back it up",
                path.display(),
                key.public_key()
            );
            Ok(key)
        }
        // Another process made the key first: use that one.
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            let pkcs8 = std::fs::read(&path)
                .map_err(|e| format!("cannot read the witness key {}: {e}", path.display()))?;
            parse_key_file(&path, &pkcs8)
        }
        Err(e) => Err(write_err(e.error)),
    }
}

fn parse_key_file(path: &Path, pkcs8: &[u8]) -> Result<SigningKey, String> {
    let key = SigningKey::from_pkcs8(pkcs8).map_err(|e| {
        format!(
            "the witness key {} is not a PKCS#8 Ed25519 key ({e}). Restore it from backup; \
             or move it away to start with a new key, which every log and client following \
             this witness must then be given",
            path.display()
        )
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            eprintln!(
                "warning: the witness key {} is readable by other users; chmod 600 it",
                path.display()
            );
        }
    }
    Ok(key)
}

async fn serve(witness: Arc<Witness>, listen: SocketAddr, max_body: usize) -> ExitCode {
    // Signal handlers first, so a signal right after the startup line is
    // a clean shutdown rather than the default (immediate) death.
    let mut signals = match Signals::new() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("error: cannot listen for shutdown signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {listen}: {e}");
            return ExitCode::from(2);
        }
    };
    let bound = listener.local_addr().unwrap_or(listen);
    let info = witness.info();
    for position in &info.directories {
        tracing::info!(
            directory = %position.directory,
            last_cosigned_epoch = position.last_epoch,
            "following log"
        );
    }
    let evidence = witness.evidence().len();
    if evidence > 0 {
        tracing::warn!(
            forks = evidence,
            "fork evidence on record: GET /witness/v1/evidence"
        );
    }
    {
        let mut out = std::io::stdout().lock();
        let line = format!(
            "witness key {} listening on http://{bound}",
            witness.public_key()
        );
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            // Nobody reads the startup line; keep serving all the same.
            tracing::warn!("stdout is closed; the startup line was not printed");
        }
    }
    tracing::info!(address = %bound, max_body, "witness listening (plain HTTP)");

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = router(witness, max_body);
    let mut server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    tokio::select! {
        signal = signals.recv() => {
            tracing::info!(signal, "shutting down");
        }
        ended = &mut server => {
            let why = match ended {
                Ok(Ok(())) => "the server stopped by itself".to_owned(),
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
            };
            eprintln!("error: the witness server failed: {why}");
            return ExitCode::FAILURE;
        }
    }
    let _ = stop.send(());
    match tokio::time::timeout(SHUTDOWN_GRACE, server).await {
        Ok(Ok(Ok(()))) => {
            tracing::info!("witness stopped");
            ExitCode::SUCCESS
        }
        Ok(Ok(Err(e))) => {
            eprintln!("error: the witness server failed while stopping: {e}");
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            eprintln!("error: the witness server failed while stopping: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            // State is written in one transaction per co-signature:
            // abandoning a request loses nothing acknowledged.
            tracing::warn!(
                grace_secs = SHUTDOWN_GRACE.as_secs(),
                "requests still running after the grace period; stopping anyway"
            );
            ExitCode::SUCCESS
        }
    }
}

/// Ctrl-C and (on Unix) SIGTERM.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> std::io::Result<Self> {
        Ok(Signals {})
    }

    /// Waits for the first signal; returns its name.
    #[cfg(unix)]
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) -> &'static str {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const KEY: &str = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";

    #[test]
    fn follow_needs_a_name_and_a_hex_key() {
        let log = parse_follow(&format!("kds.a.example={KEY}")).ok();
        assert_eq!(log.map(|l| l.directory), Some("kds.a.example".to_owned()));
        assert!(
            parse_follow(KEY)
                .unwrap_err()
                .contains("DIRECTORY=LOGKEYHEX")
        );
        assert!(
            parse_follow(&format!("={KEY}"))
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            parse_follow("kds.a.example=abcd")
                .unwrap_err()
                .contains("64 hex digits")
        );
        let b64 = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=";
        let why = parse_follow(&format!("kds.a.example={b64}")).unwrap_err();
        assert!(why.contains("base64") && why.contains(KEY), "{why}");
    }

    #[test]
    fn a_new_key_is_private_and_loads_again() {
        let dir = tempfile::tempdir().unwrap();
        let made = load_or_create_key(dir.path()).unwrap();
        let loaded = load_or_create_key(dir.path()).unwrap();
        assert_eq!(made.public_key(), loaded.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Only the key file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(KEY_FILE)]);
    }

    #[test]
    fn a_corrupt_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), b"not a key").unwrap();
        let why = load_or_create_key(dir.path()).unwrap_err();
        assert!(why.contains("not a PKCS#8 Ed25519 key"), "{why}");
    }

    #[test]
    fn one_witness_per_state_folder() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock_state(dir.path()).unwrap();
        assert!(
            lock_state(dir.path())
                .unwrap_err()
                .contains("another witness")
        );
        drop(first);
        assert!(lock_state(dir.path()).is_ok());
    }
}
