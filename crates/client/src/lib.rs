//! Crosslock's client core.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod config;
mod conversation;
mod device;
mod enrollment;
pub mod error;
mod expiry;
pub mod file;
pub mod group_metadata;
mod ids;
mod keypackages;
pub mod keystore;
mod kind;
mod ledger;
mod maintenance;
mod member_transparency;
pub(crate) mod mls;
mod outbound;
mod receipt;
mod receive;
pub(crate) mod records;
mod recovery;
mod safety;
mod security;
mod send;
pub mod store;
mod suite_transparency;
#[cfg(test)]
mod test_devices;
mod transparency;
mod wire_profile;

pub use config::{DeviceConfig, KeyPackagePolicy};
pub use conversation::{CommitApplied, DeviceKeyPackages, NewConversation, ParticipantKeyPackages};
pub use crosslock_credential as credential;
pub use crosslock_kt as kt;
pub use crosslock_profile::env;
pub use crosslock_wire as wire;
pub use device::{Device, NewDevice};
pub use enrollment::ENROLLED_ALGORITHMS;
pub use error::{ClientError, ReportRefusal};
pub use group_metadata::{
    GroupMetadata, GroupMetadataError, MetadataChange, MetadataDownload, MetadataKind,
};
pub use ids::{ConversationId, DeliveryId};
pub use keypackages::{KeyPackageBatch, KeyPackageOrder, KeyPackageStock, PublishedStock};
pub use member_transparency::{KEY_PUBLICATION_GRACE_SECS, TransparencyBlock};
pub use mls::capabilities::crosslock_extras;
pub use mls::identity::LeafIdentity;

/// The MLS rules and identity checks of a Crosslock conversation, for
/// observers that track a conversation's public state without being a
/// member (the delivery service).
///
/// They live in `crosslock-profile`, which the delivery service uses
/// directly; this module keeps the client's public paths.
pub mod observer {
    pub use crosslock_profile::capabilities::{
        advertised_credentials, advertised_extensions, advertised_proposals,
    };
    pub use crosslock_profile::extensions::{EndMlsExtension, EraExtension};
    pub use crosslock_profile::identity::{IdentityError, Rcc16Identity};
    pub use crosslock_profile::rules::{CrosslockRules, RuleError, check_standalone_proposal};
}

/// MLS cipher suites: the profile's ([`crosslock_profile::suite`]), with
/// [`check_incoming`](suite::check_incoming) reporting in the client's
/// error type.
pub mod suite {
    pub use crosslock_profile::suite::*;

    use crate::error::ClientError;

    /// The suite of a KeyPackage, Welcome or GroupInfo someone sent us
    /// (SUITE-PQ-1): [`crosslock_profile::suite::check_incoming`], refusing
    /// with [`ClientError::SuiteRetired`] (the sender must update its app)
    /// or [`ClientError::UnsupportedSuite`].
    pub fn check_incoming(cipher_suite: mls_rs::CipherSuite) -> Result<Suite, ClientError> {
        Ok(crosslock_profile::suite::check_incoming(cipher_suite)?)
    }
}

pub use mls::storage::EpochRetention;
pub use outbound::{Outbound, PendingCommit};
pub use receipt::ReceiptEvent;
pub use receive::{CommitEvent, Received, ReceivedContent, ReceivedMessage, Sender};
pub use records::{ConversationKind, ConversationStatus, DeviceProfile};
pub use recovery::{MAX_REPORT_SKEW_MS, MAX_RESENDS};
pub use safety::{SAFETY_NUMBER_VERSION, SafetyNumber};
pub use security::{DeviceInfo, SecurityState, Verification};
pub use send::{Content, Sent};
pub use suite_transparency::{DowngradeKind, SuiteDowngrade, SuiteDowngradePolicy};
pub use transparency::{
    KT_GOSSIP, KT_PROOF, MAX_GOSSIP_ROOTS, TransparencyAlert, TransparencyPolicy,
    TransparencyStatus,
};
pub use wire_profile::WireProfile;
