//! The bindings' API (what Kotlin and Swift call) against a real provider
//! in-process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attestation;
mod bindings;
mod common;
mod keystore;
mod listener;
