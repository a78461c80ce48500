//! Crosslock's client SDK: what an Android or iPhone app embeds.
//!
//! The client core (`crosslock-client`: identity, MLS, the RCC.16 wire,
//! the encrypted database) plus what a phone needs around it:
//!
//! - **transport** to the provider ([`transport`]): TLS pinned to the
//!   provider's root (and each peer's root for that peer's host only),
//!   typed errors;
//! - **set-up** from the provider descriptor, **enrolment** with the
//!   carrier proof and optional device attestation, platform **key
//!   stores** ([`PlatformKeys`]);
//! - **conversations, messages, files with progress, receipts, typing**,
//!   the group subject and icon;
//! - the **sync loop** (long-poll) and **events** for the app ([`Event`]);
//! - the **lifecycle** ([`lifecycle`]): KeyPackage stock, maintenance,
//!   revocation lists, own transparency history, gossip, credential
//!   refresh in every conversation, credential renewal through the app's
//!   subscriber tokens ([`renew`]), push registration.
//!
//! Time and randomness come in through [`Options::env`]. Everything runs
//! in-process against a real provider in the tests.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod conversations;
mod descriptor;
pub mod enroll;
pub mod error;
pub mod events;
pub mod files;
pub mod keypackages;
pub mod keys;
pub mod lifecycle;
mod messenger;
pub mod metadata;
mod recovery;
pub mod renew;
pub mod revocations;
pub mod storage;
mod sync;
mod token;
pub mod transparency;
pub mod transport;

pub use conversations::Started;
pub use crosslock_client as client;
pub use descriptor::{device_config, peer_tls};
pub use enroll::{Attester, Enrolled};
pub use error::{ErrorKind, SdkError};
pub use events::{Event, EventListener};
pub use files::{FailedFile, NoProgress, Progress, Saved, SavedFile, SentFile, Stage};
pub use keys::PlatformKeys;
pub use lifecycle::{Maintained, Schedule};
pub use messenger::{Messenger, Options, Sent, Setup, parse_profile};
pub use renew::{Renewed, SubscriberTokens};
