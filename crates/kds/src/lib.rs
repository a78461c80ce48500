//! Crosslock's key distribution service (KDS).
//!
//! A provider's KDS is its certificate authority and KeyPackage directory:
//! - **enrollment**: a device proves its number (the signed proof of a
//!   carrier authoritative for a number homed here), its hardware (Android Key Attestation / Apple App Attest) and
//!   its keys (PKCS#10), and gets short-lived RCC.16 credentials;
//! - **KeyPackages**: devices upload validated KeyPackages; claims hand
//!   each out once (a last-resort package when none is left), rate-limited
//!   per requester and target, per requester, and per peer;
//! - **federation**: claims for numbers homed at a peer provider go to that
//!   provider's KDS over mutually authenticated TLS;
//! - **revocation** by the device or an administrator;
//! - **key transparency** (optional, `crosslock-kt`): every enrollment and
//!   revocation is queued in the same transaction and published in the next
//!   epoch; claim answers carry lookup proofs.
//!
//! A library with axum routers ([`router`], [`federation_router`]); the
//! `crosslock` binary wires it to listeners. Time and randomness (nonces,
//! tokens, serials) come from the `Environment` given to [`Kds::new`].
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod claim;
mod config;
mod enroll;
mod error;
mod federation;
mod keypackages;
mod routes;
mod service;
pub mod store;
mod transparency;

pub use claim::Requester;
pub use config::{AttestationRequirement, KdsConfig, PeerKds, RateLimit, TransparencySettings};
pub use error::KdsError;
pub use federation::{FederationClient, REQUESTER_HEADER};
pub use keypackages::{MAX_UPLOAD, SUITES};
pub use routes::{federation_router, router};
pub use service::Kds;
