//! Crosslock's key transparency.
//!
//! Certificates say a provider vouches for a key; they do not stop it from
//! vouching for a second, secret key for the same number and showing it to
//! one contact only. Key transparency closes that hole: every number → keys
//! binding is published in an append-only, auditable directory
//! ([akd](https://github.com/facebook/akd)), and a client uses a key only
//! with a proof that it is the number's current binding in a root that the
//! provider's log key signed and independent witnesses co-signed.
//!
//! - [`Binding`]: what the directory says about a number (its devices'
//!   participant keys and credential fingerprints, or a revocation marker);
//!   labels are VRF outputs of the `tel:` URI, so the log shows no number.
//! - [`TrustedLog`]: what a client trusts (log key, VRF key, witnesses,
//!   threshold, freshness) and the checks of lookup and history proofs.
//! - [`SeenRoots`] and [`detect_fork`]: split-view detection from the roots
//!   a device saw and the roots its contacts gossip.
//! - `server` (feature `server`): the persistent directory (akd on SQLite)
//!   with its signed roots, audit verification and the witness service.
//!
//! Time is passed in, never read (GUIDE §3.2): proof checks and the
//! directory's publishing take `now` as plain Unix seconds, and the
//! witness, which must read the time on every co-signing request, is
//! given a clock closure (`Fn() -> u64`) when it is opened. The caller
//! builds both from its `crosslock_profile::Environment`. This crate does
//! not depend on `crosslock-profile` itself: phones link it for proof
//! verification, where the profile (mls-rs and the MLS rules) is no
//! business of theirs, and the profile's own tests use this crate, so a
//! dependency back would be a cycle. Key material (the log's signing key,
//! the VRF key) comes from AWS-LC's generator, like all key material.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod binding;
mod error;
mod gossip;
mod keys;
mod label;
mod root;
#[cfg(feature = "server")]
pub mod server;
mod trust;

pub use binding::{
    Binding, BoundKey, MAX_KEYS, MAX_SUITES, SUITE_MLKEM768X25519, SUITE_P256, SUITE_X25519,
    is_post_quantum_suite, suites_served_by,
};
pub use error::KtError;
pub use gossip::{ForkEvidence, REMEMBERED_ROOTS, SeenRoots, detect_fork};
pub use keys::{PublicKey, SigningKey};
pub use label::{CrosslockDomain, KtConfig, label_of};
pub use root::{
    Root, check_log_signature, cosign, cosignature_valid, root_hash, sign_root, valid_cosignatures,
};
pub use trust::{HistoryEntry, MAX_CLOCK_SKEW_SECS, ProvenBinding, ProvenHistory, TrustedLog};
