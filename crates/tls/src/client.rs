//! The HTTP client a provider uses to call another provider.

use std::time::Duration;

use crate::error::TlsError;

/// How long establishing a connection (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole request may take unless the caller sets its own.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A reqwest client for calling another provider with mutual TLS: it uses
/// exactly `config` (see [`crate::client_config`]) and refuses plain `http://`
/// URLs.
pub fn https_client(config: rustls::ClientConfig) -> Result<reqwest::Client, TlsError> {
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .https_only(true)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .build()?)
}

/// One HTTPS client per named peer, each with its own configuration (its
/// peer's root alone): no peer's CA can speak for another peer's host.
pub fn pinned_clients(
    configs: Vec<(String, rustls::ClientConfig)>,
) -> Result<Vec<(String, reqwest::Client)>, TlsError> {
    configs
        .into_iter()
        .map(|(name, config)| https_client(config).map(|c| (name, c)))
        .collect()
}
