//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in this crate, grouped by fault: bad input
/// (files, PEM, DER, names), configuration refused by rustls, and failures of
/// the underlying crypto or HTTP stack.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file (or directory) concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// Text that should hold PEM does not (or lacks the expected section).
    #[error("{origin}: not usable PEM: {reason}")]
    Pem {
        /// Where the text came from: a file path or a short description.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Bytes that should be a PKCS#8 P-256 private key are not one.
    #[error("{origin}: not a P-256 PKCS#8 private key: {reason}")]
    Key {
        /// Where the key came from: a file path or a short description.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A certificate does not parse, or does not fit its use (not a CA, does
    /// not match its private key, unsupported subject).
    #[error("{origin}: unusable certificate: {reason}")]
    Certificate {
        /// Where the certificate came from: a file path or a short description.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A certificate could not be issued (bad names, encoding limits).
    #[error("cannot issue certificate: {0}")]
    Issue(String),

    /// The private key failed to sign (an internal crypto failure).
    #[error("signing failed")]
    Signing,

    /// Random bytes could not be drawn from the system.
    #[error("the system random generator failed")]
    Random,

    /// The caller asked for something that cannot work (e.g. no trust roots).
    #[error("invalid TLS configuration: {0}")]
    Config(String),

    /// rustls refused a configuration (e.g. a key that does not match the
    /// certificate).
    #[error("rustls: {0}")]
    Rustls(#[from] rustls::Error),

    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl TlsError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TlsError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn pem(origin: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        TlsError::Pem {
            origin: origin.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn certificate(origin: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        TlsError::Certificate {
            origin: origin.into(),
            reason: reason.to_string(),
        }
    }
}
