//! Why a proof, a root or a request was refused.

use thiserror::Error;

use crate::gossip::ForkEvidence;

/// A key-transparency failure. Every variant is a refusal: nothing that
/// failed is used, and nothing is stored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KtError {
    /// The answer did not come with a transparency proof, and policy needs one.
    #[error("the answer carries no key-transparency proof, and this device requires one")]
    MissingProof,
    /// The root is for a directory this device does not trust.
    #[error(
        "no trusted key-transparency log for directory {0:?}: configure its log key, VRF key and witnesses"
    )]
    UnknownDirectory(String),
    /// The root is for another directory than expected.
    #[error("the root is for directory {got:?}, expected {expected:?}")]
    WrongDirectory {
        /// The directory the answer should be from.
        expected: String,
        /// The directory the root names.
        got: String,
    },
    /// A field that must have a fixed size or form does not.
    #[error("malformed {what}: {why}")]
    Malformed {
        /// What was malformed (root, proof, binding, key...).
        what: &'static str,
        /// Why.
        why: String,
    },
    /// The log's signature on the root does not verify.
    #[error("the log's signature on the root of epoch {epoch} does not verify")]
    BadLogSignature {
        /// The epoch.
        epoch: u64,
    },
    /// Fewer trusted witnesses co-signed the root than required.
    #[error(
        "the root of epoch {epoch} has {valid} valid witness co-signatures, {required} required"
    )]
    TooFewCosignatures {
        /// The epoch.
        epoch: u64,
        /// Valid co-signatures from distinct trusted witnesses.
        valid: usize,
        /// The threshold.
        required: usize,
    },
    /// The root is older than policy allows.
    #[error(
        "the root of epoch {epoch} was signed at {signed_at}, older than the {max_age_secs} s allowed"
    )]
    StaleRoot {
        /// The epoch.
        epoch: u64,
        /// When it was signed.
        signed_at: u64,
        /// The policy's maximum age.
        max_age_secs: u64,
    },
    /// The root claims to be signed in the future.
    #[error("the root of epoch {epoch} claims to be signed at {signed_at}, after now ({now})")]
    RootFromFuture {
        /// The epoch.
        epoch: u64,
        /// Its claimed signing time.
        signed_at: u64,
        /// Our clock.
        now: u64,
    },
    /// The root is for an epoch before one this device already saw: the
    /// log is showing an old view.
    #[error("the root is for epoch {epoch}, but epoch {seen} of this directory was already seen")]
    StaleEpoch {
        /// The root's epoch.
        epoch: u64,
        /// The newest epoch seen.
        seen: u64,
    },
    /// The akd proof does not verify against the signed root.
    #[error("the {what} proof does not verify: {why}")]
    ProofInvalid {
        /// Lookup, history or audit.
        what: &'static str,
        /// akd's reason.
        why: String,
    },
    /// The number's proven binding is a revocation: it has no keys.
    #[error("the number's keys are revoked in the directory")]
    Revoked,
    /// A key offered for the number is not in its proven binding.
    #[error("device {device_id:?} offered a key that is not in the number's proven binding")]
    NotInBinding {
        /// The device whose key is not proven.
        device_id: String,
    },
    /// KT-SUITE-2: the number's proven binding says a device serves a
    /// suite the claim answer holds no KeyPackage of (a provider, peer or
    /// insider withholding post-quantum KeyPackages to force a classical
    /// suite).
    #[error(
        "device {device_id:?} serves suite 0x{suite:04X} in its proven binding, but the claim answer withholds its KeyPackage: a downgrade; claim again later, or set the transparency policy's suite downgrade to warn"
    )]
    SuiteWithheld {
        /// The device.
        device_id: String,
        /// The withheld suite's code point.
        suite: u16,
    },
    /// KT-SUITE-3: the contact's recorded proof listed a suite for a
    /// device that its new binding no longer lists (or no longer says).
    #[error(
        "device {device_id:?} no longer lists suite 0x{suite:04X} in its binding though its recorded proof did: a downgrade; ask the contact to check their device, or set the transparency policy's suite downgrade to warn"
    )]
    SuiteDisappeared {
        /// The device.
        device_id: String,
        /// The suite's code point.
        suite: u16,
    },
    /// Two different roots for the same epoch, both signed by the log.
    #[error("the log signed two different roots for epoch {}: a split view", .0.epoch)]
    Fork(Box<ForkEvidence>),
    /// An audit found a root that does not extend the previous one.
    #[error("audit of epoch {epoch} failed: {why}")]
    AuditFailed {
        /// The epoch whose append-only proof failed.
        epoch: u64,
        /// Why.
        why: String,
    },
}

impl KtError {
    /// A stable, kebab-case reason for logs, HTTP bodies and UIs.
    pub fn reason(&self) -> &'static str {
        match self {
            KtError::MissingProof => "kt-missing-proof",
            KtError::UnknownDirectory(_) => "kt-unknown-directory",
            KtError::WrongDirectory { .. } => "kt-wrong-directory",
            KtError::Malformed { .. } => "kt-malformed",
            KtError::BadLogSignature { .. } => "kt-bad-log-signature",
            KtError::TooFewCosignatures { .. } => "kt-too-few-cosignatures",
            KtError::StaleRoot { .. } => "kt-stale-root",
            KtError::RootFromFuture { .. } => "kt-root-from-future",
            KtError::StaleEpoch { .. } => "kt-stale-epoch",
            KtError::ProofInvalid { .. } => "kt-proof-invalid",
            KtError::Revoked => "kt-revoked",
            KtError::NotInBinding { .. } => "kt-not-in-binding",
            KtError::SuiteWithheld { .. } => "kt-suite-withheld",
            KtError::SuiteDisappeared { .. } => "kt-suite-disappeared",
            KtError::Fork(_) => "kt-fork",
            KtError::AuditFailed { .. } => "kt-audit-failed",
        }
    }

    pub(crate) fn malformed(what: &'static str, why: impl std::fmt::Display) -> Self {
        KtError::Malformed {
            what,
            why: why.to_string(),
        }
    }
}
