//! The RCC.16 MLS profile Crosslock's clients and servers share.
//!
//! A conversation's rules are checked twice: by every member's client,
//! and by the delivery service, which follows each conversation as an MLS
//! external observer and accepts the first valid commit per epoch
//! (docs/ds.md). Both sides must apply the *same* checks, or the server
//! would accept commits the members then refuse (a stuck conversation), or
//! refuse commits the members would accept. So the checks live here, in
//! one crate both link, rather than in the client with servers depending
//! on the whole client core:
//!
//! - [`identity`]: the RCC.16 identity provider ([`Rcc16Identity`]: a
//!   leaf's X.509 credential passes the trust policy and certifies the key
//!   the leaf signs with) and how a leaf is named ([`LeafIdentity`]);
//!   issuer-scoped revocation ([`revocation`]).
//! - [`rules`]: Crosslock's [`MlsRules`](mls_rs::MlsRules)
//!   ([`CrosslockRules`]: era fixed, `end_mls` one-way, no ReInit, no
//!   custom proposal applied, external commits only rejoin).
//! - [`extensions`] and [`capabilities`]: the RCC.16 GroupContext
//!   extensions, and what a leaf advertises (the deployed lists, plus
//!   Crosslock's extras marker).
//! - [`suite`]: the cipher suites, their ranking and the suite policy.
//! - [`env`]: time and randomness as values ([`Environment`]: a `Clock`
//!   and an `Entropy`, GUIDE §3.2). Every service (KDS, DS, ACS, the
//!   provider's wiring) and the client core read the clock and draw
//!   random bytes only through one; the workspace `clippy.toml` refuses
//!   the ambient calls elsewhere.
//!
//! What is not here: anything that holds a device's secrets or state (the
//! mls-rs client, its storage and its key-store crypto provider stay in
//! `crosslock-client`). This crate does no I/O.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod capabilities;
pub mod env;
pub mod extensions;
pub mod identity;
pub mod revocation;
pub mod rules;
pub mod suite;

pub use capabilities::crosslock_extras;
pub use env::Environment;
pub use identity::{IdentityError, LeafIdentity, Rcc16Identity};
pub use rules::{CrosslockRules, RuleError, check_standalone_proposal};
pub use suite::{Suite, SuiteError, SuitePolicy};
