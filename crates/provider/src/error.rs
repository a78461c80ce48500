//! Why a provider could not start.

use std::net::SocketAddr;

/// A start-up failure, saying what to change.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The configuration file is unreadable or wrong.
    #[error("{path}: {why}")]
    Config {
        /// The file (or setting) at fault.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// A listener could not be bound.
    #[error(
        "cannot listen on {addr} ({setting}): {why}; is another provider running there? choose another address"
    )]
    Listen {
        /// The setting that named the address.
        setting: String,
        /// The address.
        addr: SocketAddr,
        /// The operating system's reason.
        why: String,
    },
    /// The data dir cannot be used.
    #[error("data dir {path}: {why}")]
    DataDir {
        /// The path at fault.
        path: String,
        /// What went wrong.
        why: String,
    },
    /// Key material is missing, damaged or inconsistent.
    #[error("keys: {0}")]
    Keys(String),
    /// A service could not start.
    #[error("start-up: {0}")]
    Start(String),
}
