//! What receiving yields: the public event types of [`Device::receive`].
//!
//! [`Device::receive`]: crate::Device::receive

use crosslock_credential::PhoneNumber;
use crosslock_wire::file_info::FileInfo;
use crosslock_wire::imdn::FailureArm;
use crosslock_wire::mimi::{MessageId, MimiContent};
use crosslock_wire::status::MessageStatusReport;
use crosslock_wire::typing::IsComposing;

use crate::ids::{ConversationId, DeliveryId};
use crate::mls::identity::LeafIdentity;
use crate::suite::Suite;

/// Who sent something: a participant's device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sender {
    /// The participant.
    pub number: PhoneNumber,
    /// The device instance id.
    pub device: String,
}

impl From<LeafIdentity> for Sender {
    fn from(id: LeafIdentity) -> Self {
        Sender {
            number: id.number,
            device: id.device,
        }
    }
}

/// Decrypted content.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // moved once per message; boxing buys nothing
pub enum ReceivedContent {
    /// Plain text (`text/plain`, UTF-8): what deployed RCC.16 clients
    /// send, and what Crosslock sends where a member lacks its extras.
    Text(String),
    /// MIMI content with its message id.
    Mimi {
        /// The MIMI message id (computed from the authenticated sender).
        id: MessageId,
        /// The content.
        content: MimiContent,
    },
    /// Delivery/read statuses.
    Status(MessageStatusReport),
    /// A file's key container (RCC.16 protobuf FileInfo, strictly
    /// decoded). For a chat attachment (slot 1 or 2) the download follows
    /// in a descriptor ([`ReceivedContent::File`]); slots 3 and 4 carry the
    /// group subject and icon keys.
    FileInfo(FileInfo),
    /// A received file: an FT-HTTP descriptor paired with the sender's
    /// preceding FileInfo messages; what the app needs to download and
    /// decrypt ([`crate::file::decrypt_file`]).
    File(crate::file::ReceivedFile),
    /// A key delivery for the group subject or icon (a FileInfo in slot 3
    /// or 4 paired with its descriptor): download the ciphertext, then
    /// [`Device::open_group_metadata`].
    ///
    /// [`Device::open_group_metadata`]: crate::Device::open_group_metadata
    GroupMetadata(crate::group_metadata::MetadataDownload),
    /// A content type this version does not interpret.
    Other {
        /// Its media type.
        content_type: String,
        /// Its bytes.
        body: Vec<u8>,
    },
}

/// A decrypted application message. It stays in the device inbox until
/// [`Device::ack`]: a crash between decrypting and the application storing
/// it loses nothing ([`Device::undelivered`] returns it again).
///
/// [`Device::ack`]: crate::Device::ack
/// [`Device::undelivered`]: crate::Device::undelivered
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    /// Inbox handle to acknowledge.
    pub delivery: DeliveryId,
    /// The conversation.
    pub conversation: ConversationId,
    /// The authenticated sender.
    pub sender: Sender,
    /// The transport message id.
    pub message_id: String,
    /// The original message this one resends, if any.
    pub resend_of: Option<String>,
    /// The content.
    pub content: ReceivedContent,
    /// When it was received (Unix seconds).
    pub received_at: u64,
}

/// A membership or key change that was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitEvent {
    /// The conversation.
    pub conversation: ConversationId,
    /// Who committed (None for an external commit we could not attribute).
    pub committer: Option<Sender>,
    /// The new epoch.
    pub epoch: u64,
    /// Devices added.
    pub added: Vec<Sender>,
    /// Devices removed.
    pub removed: Vec<Sender>,
    /// This device was removed: the conversation is over for it.
    pub removed_self: bool,
    /// The conversation left end-to-end encryption (`end_mls`).
    pub encryption_ended: bool,
    /// This was our own pending commit, echoed back by the server: it is
    /// now applied (as with [`Device::commit_accepted`]).
    ///
    /// [`Device::commit_accepted`]: crate::Device::commit_accepted
    pub own_commit: bool,
    /// We had a pending commit for the same epoch and this one won: ours
    /// was discarded; make it again if still wanted.
    pub superseded_pending: bool,
    /// An external commit: this device rejoined (RCC.16 recovery), its new
    /// leaf replacing its old one. It is still one device of the
    /// participant, and not listed in `removed`.
    pub rejoined: Option<Sender>,
    /// `MetadataKeysRequested`: this commit set 0xF007
    /// `group_metadata_keys_requested` and this device holds these current
    /// subject/icon keys: re-send each with
    /// [`Device::send_group_metadata_keys`] (its URL and expiry are here).
    ///
    /// [`Device::send_group_metadata_keys`]: crate::Device::send_group_metadata_keys
    pub metadata_keys_requested: Vec<crate::group_metadata::MetadataDownload>,
    /// WIRE-NEG-3: this commit changed the conversation's wire profile (a
    /// member without Crosslock's extras joined or dropped them from its
    /// leaf, or the last such member left); the new profile. Tell the user:
    /// on [`WireProfile::Deployed`] typing, encrypted receipts and
    /// transparency gossip stop.
    ///
    /// [`WireProfile::Deployed`]: crate::WireProfile::Deployed
    pub wire_profile_changed: Option<crate::wire_profile::WireProfile>,
}

/// What an incoming message turned out to be.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // moved once per message; boxing buys nothing
pub enum Received {
    /// An application message (text, receipt, …), held until acknowledged.
    Message(ReceivedMessage),
    /// A typing indicator: ephemeral, not stored.
    Typing {
        /// The conversation.
        conversation: ConversationId,
        /// Who is typing.
        sender: Sender,
        /// The indicator.
        indicator: IsComposing,
    },
    /// Key-transparency roots gossiped by a member were compared with
    /// ours, or a lookup proof a member relayed was recorded (not stored as
    /// a message). `alerts` lists what they revealed: a log that signed two
    /// roots for one epoch.
    Transparency {
        /// The conversation.
        conversation: ConversationId,
        /// Who gossiped.
        sender: Sender,
        /// Alerts raised (also in [`Device::transparency_alerts`]).
        ///
        /// [`Device::transparency_alerts`]: crate::Device::transparency_alerts
        alerts: Vec<crate::transparency::TransparencyAlert>,
    },
    /// A commit was applied.
    Commit(CommitEvent),
    /// A proposal arrived (e.g. a member asking to leave); when
    /// `commit_required`, call [`Device::commit_pending_proposals`].
    ///
    /// [`Device::commit_pending_proposals`]: crate::Device::commit_pending_proposals
    Proposal {
        /// The conversation.
        conversation: ConversationId,
        /// Who proposed.
        sender: Sender,
        /// Whether a commit is now needed before sending.
        commit_required: bool,
    },
    /// We were added to a conversation.
    Joined {
        /// The new conversation.
        conversation: ConversationId,
        /// Who added us.
        added_by: Sender,
        /// The conversation's suite.
        suite: Suite,
        /// Our KeyPackage stock fell below the threshold: refill.
        refill_key_packages: bool,
        /// The Welcome started a new era of a conversation we had: the era
        /// whose state it replaced.
        replaced_era: Option<u32>,
    },
    /// A member reported that it could not process one of the
    /// conversation's messages (a verified negative delivery IMDN, signed
    /// with an `rcs_signature`). If `sent_by_us`, call
    /// [`Device::resend_after_report`] (for reason 4, `failed-to-decrypt`,
    /// RCC.16's remedy: resend from the latest epoch).
    ///
    /// [`Device::resend_after_report`]: crate::Device::resend_after_report
    NegativeReport {
        /// The conversation.
        conversation: ConversationId,
        /// The transport id of the message that failed.
        failed_message_id: String,
        /// Why: the failure-reason arm, if the IMDN has one the signature
        /// covers (client reasons 1 to 6; RCPT-CONTENT-2).
        reason: Option<FailureArm>,
        /// The reporting member's device.
        reporter: Sender,
        /// The failed message is one this device sent (and still keeps).
        sent_by_us: bool,
    },
    /// A member's verified, signed delivery or display receipt.
    Receipt(crate::receipt::ReceiptEvent),
    /// A message this device already showed, arriving again through a
    /// resend link: a resend of an original already shown, or an original
    /// whose resend was shown. Nothing to show; it is acknowledged.
    Duplicate {
        /// The conversation.
        conversation: ConversationId,
        /// The transport id of the duplicate.
        message_id: String,
        /// The original message id it duplicates.
        original: String,
    },
}
