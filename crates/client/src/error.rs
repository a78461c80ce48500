//! The one public error type of the client core.

use crosslock_credential::{CredentialError, PhoneNumber};

use crate::keystore::KeyStoreError;
use crate::store::StoreError;
use crate::suite::{Suite, SuiteError};

/// Everything that can go wrong in the client core, grouped by fault.
///
/// Refusals of incoming data change nothing: the device state is exactly
/// what it was before the call. Decryption failures are deliberately
/// opaque ([`ClientError::DecryptionFailed`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    // ---- A peer or the network sent something bad -------------------------
    /// The CPIM envelope is malformed or lacks a required header
    /// (`mls.Era-ID`, `mls.Epoch-Authenticator`, `imdn.Message-ID`).
    #[error("bad message envelope: {0}")]
    Envelope(#[from] crosslock_wire::cpim::CpimError),
    /// RCC.16: the authenticated message id differs from the transport id.
    #[error(
        "message id mismatch: transport says {transport:?}, the message authenticates {authenticated:?}"
    )]
    MessageIdMismatch {
        /// Id the transport delivered the message under.
        transport: String,
        /// Id bound inside the MLS message.
        authenticated: String,
    },
    /// RCV-MSGID-1: the transport message id (or the
    /// `mls.Original-Message-ID` of a resend) is in neither deployed form,
    /// `Mx…` or a UUID (fact sheet §3a).
    #[error("malformed message id: {0}")]
    MalformedMessageId(#[from] crosslock_wire::message_id::MessageIdError),
    /// RCV-GEN-1: the generation written in the plaintext frame is not the
    /// MLS generation the message was decrypted with (fact sheet §3b:
    /// deployed peers refuse the mismatch).
    #[error("plaintext frame says generation {framed}, MLS decrypted generation {decrypted}")]
    GenerationMismatch {
        /// The generation the sender wrote in the frame.
        framed: u32,
        /// The generation MLS used.
        decrypted: u32,
    },
    /// RCV-RESEND-2: a resend's `mls.Original-Message-ID` header and its
    /// authenticated resend link name different originals, or the link's
    /// MAC does not verify over the header's id.
    #[error("the resend's header and its authenticated link disagree")]
    ResendLinkMismatch,
    /// The message belongs to another era of the conversation.
    #[error("message is for era {received}, the conversation is in era {expected}")]
    WrongEra {
        /// The conversation's era.
        expected: u32,
        /// The era the message claims.
        received: u32,
    },
    /// The `mls.Epoch-Authenticator` header does not match the epoch the
    /// message was framed in: a forked or forged group state.
    #[error("epoch authenticator does not match the conversation's state")]
    EpochAuthenticatorMismatch,
    /// Key transparency refused the keys offered for a participant: no
    /// proof, a proof that does not verify, a stale or forked view, or a
    /// key that is not in the number's proven binding.
    #[error("key transparency refused the keys of {}: {source}", .number.redacted())]
    Transparency {
        /// The participant.
        number: PhoneNumber,
        /// Why.
        #[source]
        source: crosslock_kt::KtError,
    },
    /// This message was already processed (for a Welcome: the same
    /// Welcome, whatever transport id it arrives under; RCV-WEL-6).
    #[error("message was already received (replay)")]
    Replayed,
    /// RCV-WEL-7: a Welcome starting a new era of a conversation this
    /// device is in must come from a member of the current era, with the
    /// same signature key. The existing conversation is untouched.
    #[error(
        "a new era's Welcome must come from a current member with the same key; the conversation is unchanged"
    )]
    NewEraNotFromMember,
    /// The message could not be decrypted or authenticated. No detail is
    /// given on purpose.
    #[error("message could not be decrypted")]
    DecryptionFailed,
    /// RCC.16 client failure reason 5: commits must be PublicMessage.
    #[error("commit sent inside a PrivateMessage")]
    CommitInPrivateMessage,
    /// The message is for a conversation this device is not in.
    #[error("unknown conversation")]
    UnknownConversation,
    /// The message is for an epoch this device does not have (too old,
    /// already pruned, or in the future).
    #[error("message is for epoch {received}, the conversation is at epoch {current}")]
    WrongEpoch {
        /// Our epoch.
        current: u64,
        /// The message's epoch.
        received: u64,
    },
    /// The RCC.16 authenticated data is malformed.
    #[error("bad authenticated data: {0}")]
    AuthenticatedData(#[from] crosslock_wire::aad::AadError),
    /// The decrypted content is malformed.
    #[error("bad message content: {0}")]
    Content(String),
    /// A file could not be encrypted or decrypted, or its FileInfo does
    /// not fit the format.
    #[error(transparent)]
    File(#[from] crate::file::FileError),
    /// A group subject or icon key, delivery or ciphertext was refused, or
    /// the operation does not fit the group's state (GROUP-META-*).
    #[error(transparent)]
    GroupMetadata(#[from] crate::group_metadata::GroupMetadataError),
    /// A handshake message (commit, proposal, Welcome) failed MLS
    /// validation: bad signature, tag, tree or rule.
    #[error("invalid handshake message: {0}")]
    InvalidHandshake(String),
    /// A message of an earlier epoch whose sender has since been removed
    /// (or has replaced its leaf): mls-rs keeps no credential of a past
    /// epoch's member, so it refuses rather than attribute the message to
    /// whoever holds that leaf now (RFC 9420 §15.3). Typically a late
    /// receipt from a device removed a moment before; nothing changed.
    #[error("message from a member removed since the epoch it was sent in; dropped")]
    SenderRemovedSinceEpoch,
    /// The bytes are not an MLS message of the expected kind.
    #[error("malformed MLS message: {0}")]
    Malformed(String),
    /// MLS-PROP-1 (RCC.16 §9.5.1): an inbound ServerRemove (0xF004)
    /// proposal is dropped; nothing changed. Members remove with an
    /// ordinary Remove.
    #[error("server_remove proposal dropped")]
    ServerRemoveDropped,
    /// MLS-PROP-2: an rcs_signature (0xF002) proposal arrived as a group
    /// message; it only signs receipts' derived content. Nothing changed.
    #[error("rcs_signature proposal outside a receipt dropped")]
    RcsSignatureDropped,
    /// RCV-KICK-1: a `message/mls-rcs-server-kick` body (server eviction,
    /// host-internal) is recognised and dropped; nothing changed.
    #[error("message/mls-rcs-server-kick dropped")]
    ServerKickDropped,
    /// A Welcome that none of our KeyPackages can open.
    #[error("welcome is not addressed to this device")]
    WelcomeNotForUs,
    /// A signed receipt (delivery, display or negative delivery IMDN) that
    /// does not decode: its CPIM envelope, its IMDN or its derived content.
    #[error("bad receipt: {0}")]
    Report(#[from] crosslock_wire::report::ReportError),
    /// A well-formed signed receipt that failed verification.
    #[error("receipt refused: {0}")]
    ReportRefused(ReportRefusal),

    // ---- KeyPackages and credentials ---------------------------------------
    /// A KeyPackage failed validation.
    #[error("invalid key package: {0}")]
    InvalidKeyPackage(String),
    /// The KeyPackage's lifetime is over.
    #[error("key package has expired")]
    KeyPackageExpired,
    /// The KeyPackage claims a lifetime beyond the accepted maximum.
    #[error("key package lifetime exceeds the accepted maximum ({max_secs} s)")]
    KeyPackageLifetimeTooLong {
        /// The maximum accepted, seconds.
        max_secs: u64,
    },
    /// KP-9: the KeyPackage's lifetime starts before its credential
    /// certificate's notBefore (beyond the accepted clock skew).
    #[error("key package starts before its credential")]
    KeyPackageBeforeCredential,
    /// The KeyPackage's credential names another number than asked for.
    #[error("key package belongs to another number than {expected}")]
    KeyPackageIdentityMismatch {
        /// The number the caller asked to add.
        expected: PhoneNumber,
    },
    /// A credential was refused by the trust policy.
    #[error("credential refused: {0}")]
    Credential(#[from] CredentialError),
    /// ENR-INST-1: the credentials to install are not one chain per
    /// participant key of this device; none was installed.
    #[error(
        "the issued credentials do not fit this device ({0}); none was installed, enrol or renew again"
    )]
    CredentialsDoNotFit(&'static str),

    // ---- Policy -------------------------------------------------------------
    /// No suite is supported by every device and allowed by policy.
    #[error("no cipher suite is supported by every device and allowed by policy")]
    NoCommonSuite,
    /// The policy refuses the conversation's suite.
    #[error("policy refuses {0}")]
    SuiteRefused(Suite),
    /// SUITE-PQ-1: a KeyPackage, Welcome or GroupInfo on the retired
    /// private post-quantum code point 0xFE4C (an early X-Wing draft):
    /// its sender runs an outdated app.
    #[error(
        "cipher suite {code:#06x} is retired (an early post-quantum draft): the other device must update its app to use 0x004F"
    )]
    SuiteRetired {
        /// The retired code point.
        code: u16,
    },
    /// A KeyPackage, Welcome or GroupInfo on a suite Crosslock does not
    /// support.
    #[error("unsupported cipher suite {code:#06x}")]
    UnsupportedSuite {
        /// The code point.
        code: u16,
    },
    /// A device to add has no KeyPackage in the conversation's suite.
    #[error("a device of {number} has no key package for {suite}")]
    MissingSuite {
        /// The participant.
        number: PhoneNumber,
        /// The conversation's suite.
        suite: Suite,
    },
    /// The conversation has left end-to-end encryption (`end_mls`).
    #[error("conversation is no longer end-to-end encrypted")]
    EncryptionEnded,
    /// WIRE-NEG-2: the content needs Crosslock's extras (MIMI content,
    /// MIMI message status, typing inside MLS), and a member of this
    /// conversation runs the deployed RCC.16 profile only
    /// ([`crate::WireProfile::Deployed`]). Send plain text
    /// ([`crate::Content::Text`]) and signed receipts instead.
    #[error(
        "{what} needs Crosslock's extras, and a member of this conversation speaks the deployed RCC.16 profile only: send plain text and signed receipts instead"
    )]
    NotNegotiated {
        /// What could not be sent.
        what: &'static str,
    },
    /// This device is no longer a member of the conversation.
    #[error("this device is no longer a member of the conversation")]
    NotAMember,
    /// KT-MEMBER-3: key transparency has not proven (or has refuted) the
    /// keys of some participants: nothing is sent until their lookups are
    /// recorded ([`crate::Device::lookups_needed`],
    /// [`crate::Device::record_lookup`]) or they are removed.
    #[error(
        "key transparency blocks this conversation: {} participant(s) unproven, {} refuted; record their lookups or remove them",
        .0.unproven.len(),
        .0.refuted.len()
    )]
    TransparencyBlocked(crate::member_transparency::TransparencyBlock),
    /// This device's group state for the conversation is missing or
    /// unusable: rejoin by external commit ([`crate::Device::rejoin`]).
    #[error("the conversation's group state is missing here; rejoin")]
    RejoinRequired,
    /// RCC.16: a message is resent at most 5 times; start a new era
    /// ([`crate::Device::new_era`]) instead.
    #[error("message {original:?} was already resent {limit} times; start a new era")]
    ResendLimit {
        /// The original message id.
        original: String,
        /// The limit (5).
        limit: u8,
    },
    /// The message to resend is not one this device sent in the
    /// conversation, or it is past retention.
    #[error("no sent message {0:?} to resend (unknown or past retention)")]
    OriginalUnavailable(String),

    // ---- API misuse ---------------------------------------------------------
    /// A conversation with that id exists already.
    #[error("conversation already exists")]
    ConversationExists,
    /// `commit_accepted`/`commit_rejected` without a pending commit.
    #[error("no commit is pending in this conversation")]
    NoPendingCommit,
    /// A verdict for a commit that is no longer pending (superseded by the
    /// epoch's winner, or already applied).
    #[error("the verdict is for a commit that is no longer pending")]
    StaleVerdict,
    /// Another commit is pending: report the delivery service's verdict first.
    #[error("a commit is already pending; report whether the server accepted it first")]
    CommitPending,
    /// CRED-EXP-2: this device's credential in the conversation has
    /// expired: nothing is sent or committed with it (every member refuses
    /// it, CRED-EXP-3, and the delivery service refuses the commit,
    /// `expired-credential`).
    #[error(
        "this device's credential has expired: renew it (renew_credentials), then present it in the conversation (refresh_credential)"
    )]
    OwnCredentialExpired,
    /// Proposals are pending: commit them before sending messages.
    #[error("proposals are pending; call commit_pending_proposals first")]
    CommitRequired,
    /// The participant is not in the conversation.
    #[error("{0} is not in the conversation")]
    UnknownParticipant(PhoneNumber),
    /// The arguments do not make sense (empty participant list, bad group id…).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The device has not been created in this store.
    #[error("no device in this store; create one first")]
    NoDevice,
    /// A device already exists in this store.
    #[error("a device already exists in this store")]
    DeviceExists,
    /// ENR-KEY-1: the P-256 participant key is replaced only before
    /// enrolment, and this device is past that (`why` says how).
    #[error(
        "the participant key can be replaced only before enrolment, and this device {why};          a new enrolment needs a new device"
    )]
    EnrolmentStarted {
        /// What the device already has.
        why: &'static str,
    },

    // ---- Internal -------------------------------------------------------------
    /// Storage failed; the operation was not applied.
    #[error(transparent)]
    Storage(#[from] StoreError),
    /// The key store failed; the operation was not applied.
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    /// A bug or an unexpected library failure.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ClientError {
    /// The RCC.16 client failure reason code to put in a negative delivery
    /// report for this refusal, if it is one the sender should hear about.
    pub fn rcc16_failure_reason(&self) -> Option<u8> {
        match self {
            ClientError::Credential(_) | ClientError::KeyPackageIdentityMismatch { .. } => Some(2),
            ClientError::InvalidHandshake(_) => Some(3),
            // RCC.16 client reason 1 `message-from-non-member`.
            ClientError::SenderRemovedSinceEpoch => Some(1),
            ClientError::DecryptionFailed
            | ClientError::WrongEpoch { .. }
            | ClientError::RejoinRequired => Some(4),
            ClientError::CommitInPrivateMessage => Some(5),
            // A report is never answered with a report.
            ClientError::Report(_) | ClientError::ReportRefused(_) => None,
            ClientError::Replayed | ClientError::Storage(_) | ClientError::KeyStore(_) => None,
            // Dropped on purpose (RCC.16 §9.5.1); nothing to report.
            ClientError::ServerRemoveDropped
            | ClientError::RcsSignatureDropped
            | ClientError::ServerKickDropped => None,
            _ => Some(0),
        }
    }
}

impl From<SuiteError> for ClientError {
    fn from(e: SuiteError) -> Self {
        match e {
            SuiteError::Retired { code } => ClientError::SuiteRetired { code },
            SuiteError::Unsupported { code } => ClientError::UnsupportedSuite { code },
        }
    }
}

/// Why a well-formed signed receipt (delivery, display or negative
/// delivery IMDN) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportRefusal {
    /// The signer is not a current member holding the key it signed with
    /// (removed, replaced, or not a member sender).
    #[error("the signer is not a member of the conversation")]
    NotAMember,
    /// The `rcs_signature` is not a PublicMessage with an `rcs_signature`
    /// proposal whose signature and membership tag verify.
    #[error("the rcs_signature does not verify")]
    BadSignature,
    /// The signature names an epoch this device does not keep.
    #[error("the rcs_signature is from an epoch this device does not keep")]
    UnknownEpoch,
    /// What the signature covers is not what the plaintext receipt says
    /// (receipt id, era, type, status, reported id or reason).
    #[error("the signed content does not match the receipt")]
    ContentMismatch,
    /// The receipt's time is outside the accepted window (older than the
    /// replay window, or too far in the future).
    #[error("the receipt's timestamp is outside the accepted window")]
    Timestamp,
}

pub(crate) fn internal(e: impl std::fmt::Display) -> ClientError {
    ClientError::Internal(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Error messages name a participant by its redacted tag (GUIDE §3.7).
    #[test]
    fn messages_do_not_show_the_number() {
        let n = PhoneNumber::parse("+15550100001").unwrap();
        for e in [
            ClientError::KeyPackageIdentityMismatch {
                expected: n.clone(),
            },
            ClientError::MissingSuite {
                number: n.clone(),
                suite: Suite::P256Aes128,
            },
            ClientError::UnknownParticipant(n.clone()),
        ] {
            let text = e.to_string();
            assert!(!text.contains("15550100001"), "{text}");
            assert!(text.contains(&n.redacted()), "{text}");
            let debug = format!("{e:?}");
            assert!(!debug.contains("15550100001"), "{debug}");
        }
    }
}
