//! TLS for every Crosslock service.
//!
//! Crosslock's provider services (the key distribution service, the delivery
//! service, the content server) speak HTTPS in two directions:
//!
//! - **to devices**, with an ordinary server certificate and no client
//!   certificate ([`ClientAuth::None`]); devices authenticate inside the
//!   protocol (their credential, their attestation), not at the TLS layer;
//! - **to peer providers**, with mutual TLS: a provider's KDS asking a peer's
//!   KDS for KeyPackages, or one delivery service fanning a commit out to
//!   another, each present a client certificate from their own provider's TLS
//!   CA, which the peer has pinned as a root ([`ClientAuth::Required`]).
//!
//! This crate is the one place that decides how that is done, so every
//! service gets the same choices: rustls with the aws-lc-rs provider, TLS 1.3
//! only, ALPN `h2` then `http/1.1`, P-256 keys, explicit trust roots (never
//! the system store).
//!
//! What it holds:
//! - [`KeyPair`]: a P-256 key held in software (PKCS#8 PEM files, mode 0600),
//!   which also signs X.509 as a [`crosslock_credential::CertSigner`];
//! - [`TlsCa`]: a provider's small TLS certificate authority (development and
//!   self-hosted deployments), issuing server and federation client
//!   certificates as [`Identity`] values. It is distinct from the RCC.16
//!   participant-credential CA;
//! - [`server_config`] / [`client_config`]: the rustls configurations;
//! - [`serve`]: runs an axum router over TLS with graceful shutdown and tells
//!   handlers which client certificate the connection verified
//!   ([`PeerCertificate`]);
//! - [`https_client`]: the reqwest client one provider calls another with.
//!
//! Authorisation stays with the services: rustls proves a peer holds a
//! certificate from a trusted root; which peer may do what (e.g. the pinned
//! [`Identity::leaf_sha256`] of each federated provider) is the handler's
//! decision.

#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod ca;
mod cert;
mod client;
mod config;
mod error;
mod identity;
mod key;
mod pem;
mod serve;

pub use ca::{CA_CERT_FILE, CA_KEY_FILE, TlsCa};
pub use client::{https_client, pinned_clients};
pub use config::{ClientAuth, client_config, server_config};
pub use error::TlsError;
pub use identity::{Identity, sha256};
pub use key::KeyPair;
pub use serve::{HANDSHAKE_TIMEOUT, PeerCertificate, SHUTDOWN_GRACE, serve};

/// Re-exported so callers name the same rustls types this crate builds.
pub use rustls;
