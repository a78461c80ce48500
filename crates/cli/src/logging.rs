//! Structured logs on stderr for the long-running commands (`serve`,
//! `kt witness`), and for `demo` and `chaos` when `RUST_LOG` is set.
//! `RUST_LOG` overrides the default level. The services log numbers only
//! redacted and never keys or tokens (tests/log_redaction.rs checks the
//! demo's logs at trace level).

/// Installs the subscriber once; later calls do nothing.
pub(crate) fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,crosslock=info,crosslock_provider=info,crosslock_kds=info,crosslock_ds=info,crosslock_kt=info,crosslock_acs=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
