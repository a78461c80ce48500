//! `crosslock serve`: a whole provider in one process (crates/provider).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crosslock_client::env::Environment;
use crosslock_provider::{Provider, ProviderConfig};

/// Options of `crosslock serve`.
#[derive(clap::Args, Debug)]
pub(crate) struct ServeArgs {
    /// Where the provider keeps its databases and keys (created on first
    /// start).
    #[arg(long, value_name = "DIR", default_value = "./crosslock-data")]
    data_dir: PathBuf,
    /// The device-facing TLS address (overrides `provider.listen`; default
    /// 127.0.0.1:8443).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// The `/healthz` and `/metrics` address (overrides
    /// `provider.admin_listen`; default 127.0.0.1:9443).
    #[arg(long, value_name = "ADDR")]
    admin_listen: Option<SocketAddr>,
    /// The federation (mutual TLS) address, bound when peers are configured
    /// (overrides `provider.federation_listen`; default 127.0.0.1:8444).
    #[arg(long, value_name = "ADDR")]
    federation_listen: Option<SocketAddr>,
    /// The provider's name (overrides `provider.name`).
    #[arg(long)]
    name: Option<String>,
    /// Production settings (TOML; see docs/serve.md). Without it every
    /// setting has its documented default.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the effective configuration as TOML and exit.
    #[arg(long)]
    print_config: bool,
    /// Print the transparency log's root-signing key (hex; what a witness
    /// follows: `crosslock kt witness --follow NAME=KEY`) and exit, making
    /// the key in the data dir first if it has none.
    #[arg(long)]
    print_log_key: bool,
}

/// `--print-log-key`: the log key lives in `DATA/kt/keys` (docs/serve.md).
fn print_log_key(data_dir: &std::path::Path) -> ExitCode {
    let dir = data_dir.join("kt").join("keys");
    let made = std::fs::create_dir_all(&dir).and_then(|()| {
        use std::os::unix::fs::PermissionsExt as _;
        for d in [data_dir.to_path_buf(), data_dir.join("kt"), dir.clone()] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    });
    if let Err(e) = made {
        eprintln!("error: {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    match crosslock_kt::server::LogKeys::load_or_create(&dir) {
        Ok(keys) => {
            println!("{}", hex::encode(keys.log_key.public_key().0));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: transparency keys in {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

/// The configuration file with the command line's overrides.
fn effective(args: &ServeArgs) -> Result<ProviderConfig, String> {
    let mut config = match &args.config {
        Some(path) => ProviderConfig::load(path).map_err(|e| e.to_string())?,
        None => ProviderConfig::default(),
    };
    if let Some(addr) = args.listen {
        config.provider.listen = addr;
    }
    if let Some(addr) = args.admin_listen {
        config.provider.admin_listen = addr;
    }
    if let Some(addr) = args.federation_listen {
        config.provider.federation_listen = addr;
    }
    if let Some(name) = &args.name {
        config.provider.name = name.clone();
    }
    config.check()?;
    Ok(config)
}

pub(crate) fn run(args: ServeArgs) -> ExitCode {
    if args.print_log_key {
        return print_log_key(&args.data_dir);
    }
    let config = match effective(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if args.print_config {
        print!("{}", config.to_toml());
        return ExitCode::SUCCESS;
    }
    crate::logging::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(config, args.data_dir))
}

// Start-up time reported to the operator: elapsed wall time.
#[allow(clippy::disallowed_methods)]
async fn serve(config: ProviderConfig, data_dir: PathBuf) -> ExitCode {
    let started = Instant::now();
    let provider = match Provider::start(config, &data_dir, Environment::system()).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "provider did not start");
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ready_ms = started.elapsed().as_secs_f64() * 1000.0;
    let peer_file = data_dir.join("peer.toml");
    let peer = toml::to_string_pretty(&PeerFile {
        peers: vec![provider.peer_section().clone()],
    })
    .unwrap_or_default();
    if let Err(e) = std::fs::write(&peer_file, peer) {
        tracing::warn!(error = %e, path = %peer_file.display(), "cannot write the peer block");
    }
    tracing::info!(
        provider = %provider.config().provider.name,
        ready_ms = format!("{ready_ms:.0}"),
        devices = %provider.public_url(),
        tls_ca = %provider.tls_ca_path().display(),
        admin = %format!("http://{}", provider.admin_addr()),
        federation = %provider.federation_addr().map(|a| format!("https://{a}")).unwrap_or_else(|| "off (no peers)".into()),
        data_dir = %data_dir.display(),
        peer_block = %peer_file.display(),
        "provider ready"
    );
    eprintln!(
        "crosslock serve: {} ready in {ready_ms:.0} ms\n  devices     {}   (TLS root to trust: {})\n  admin       http://{}/healthz, /metrics\n  federation  {}\n  peer block  {} (give it to peer providers)\n  Ctrl-C stops.",
        provider.config().provider.name,
        provider.public_url(),
        provider.tls_ca_path().display(),
        provider.admin_addr(),
        provider
            .federation_addr()
            .map(|a| format!("https://{a}"))
            .unwrap_or_else(|| "off (no peers configured)".into()),
        peer_file.display(),
    );
    wait_for_signal().await;
    tracing::info!("shutting down");
    provider.shutdown().await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

#[derive(serde::Serialize)]
struct PeerFile {
    peers: Vec<crosslock_provider::PeerSection>,
}

/// Ctrl-C, or SIGTERM on Unix.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
