//! Crosslock's delivery service (DS): the RCS "conversation focus".
//!
//! - **ordering**: per conversation exactly one commit per epoch; the first
//!   valid one wins and is fanned out, later ones are refused with
//!   `incorrect-epoch`. The DS tracks each conversation's public group
//!   state as an MLS external observer (no secrets) and checks what RCC.16
//!   lists (era, epoch, epoch authenticator, credentials, membership,
//!   parseability, pending proposals). Welcomes go out only after their
//!   commit won.
//! - **inboxes**: store-and-forward per device, at-least-once: a message
//!   stays until the device acknowledges it; resubmitting a message id is
//!   idempotent; retention and size limits apply.
//! - **push**: wake-up only, no sender, conversation or content.
//! - **files**: encrypted blobs behind unguessable capability tokens.
//! - **federation**: each conversation has one hub, its creator's provider
//!   (proven to followers with the creator's GroupInfo); other providers
//!   forward submissions to it and receive its fan-out over mutual TLS,
//!   checked before it is stored (`deliver.rs`, DS-FED-*).
//!
//! A library with axum routers; the provider (`crosslock serve`) wires it
//! to listeners, and to the devices its KDS enrolled through the narrow
//! [`DeviceAuth`] trait (the DS does not depend on the KDS).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod auth;
mod config;
mod content;
mod deliver;
mod error;
mod federation;
mod observer;
mod push;
mod ratelimit;
mod report;
mod routes;
mod service;
pub mod store;
mod submit;
pub mod testing;

pub use auth::DeviceAuth;
pub use config::{DsConfig, PeerDs, PushSettings, RateLimit};
pub use content::{ContentConfig, ContentServer, content_router};
pub use error::DsError;
pub use federation::Federation;
pub use push::{ChannelPush, PushGateway, WebhookPush};
pub use routes::{federation_router, router, start_background};
pub use service::Ds;
