//! What the SDK tells the app: everything that arrived or changed, in the
//! order it happened.

use crosslock_client::credential::PhoneNumber;
use crosslock_client::suite::Suite;
use crosslock_client::wire::imdn::{FailureArm, Notification};
use crosslock_client::{ConversationId, MetadataKind, Sender, TransparencyAlert, WireProfile};

/// One thing for the app to show or act on.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A text message.
    Text {
        /// The conversation.
        conversation: ConversationId,
        /// The sending device.
        from: Sender,
        /// Its transport id (`Mx…`).
        message_id: String,
        /// The text.
        text: String,
    },
    /// Content this SDK does not render (a MIMI body without text, or an
    /// unknown content type).
    Content {
        /// The conversation.
        conversation: ConversationId,
        /// The sending device, when known.
        from: Option<Sender>,
        /// Its content type.
        content_type: String,
    },
    /// A member's encrypted MIMI status report (a Crosslock extra).
    Status {
        /// The conversation.
        conversation: ConversationId,
        /// The reporting device.
        from: Sender,
        /// The statuses, lower-case (`delivered`, `read`, …).
        statuses: Vec<String>,
    },
    /// A member's signed delivery or display receipt (RCC.16 IMDN).
    Receipt {
        /// The conversation.
        conversation: ConversationId,
        /// The signing device.
        from: Sender,
        /// The message it is about.
        message_id: String,
        /// What it says.
        notification: Notification,
    },
    /// A file's key arrived; its link follows in a descriptor (or, for
    /// slots 3 and 4, it is a group subject or icon key).
    FileKey {
        /// The conversation.
        conversation: ConversationId,
        /// The sending device.
        from: Sender,
        /// The FileInfo slot, lower-case (`file`, `thumbnail`, …).
        slot: String,
    },
    /// A file is ready to download ([`crate::Messenger::save_files`]).
    File {
        /// The conversation.
        conversation: ConversationId,
        /// The sending device.
        from: Sender,
        /// The descriptor's transport id (the file's handle).
        message_id: String,
        /// Its file name, made safe for a file system.
        name: String,
        /// Its media type.
        media_type: String,
        /// Its size in bytes as the sender announced it (the FileInfo's
        /// `file_length_hint`; 0 when it sent none): a hint, unchecked
        /// until the file is saved. The download is held to the announced
        /// ciphertext size (FILE-SAVE-3) and decryption to the hint
        /// (FILE-C3-4); the real size is [`crate::SavedFile::size`].
        size: u64,
    },
    /// The group's subject or icon changed and was fetched and opened (or
    /// could not be: `error`).
    GroupMetadata {
        /// The conversation.
        conversation: ConversationId,
        /// The sending device.
        from: Sender,
        /// Subject or icon.
        kind: MetadataKind,
        /// Why it could not be opened, if it could not.
        error: Option<String>,
    },
    /// A member is typing, or stopped.
    Typing {
        /// The conversation.
        conversation: ConversationId,
        /// The typing device.
        from: Sender,
        /// Typing (true) or idle.
        active: bool,
    },
    /// A commit changed the conversation: members, keys, or its profile.
    MembershipChanged {
        /// The conversation.
        conversation: ConversationId,
        /// The new epoch.
        epoch: u64,
        /// Devices added.
        added: Vec<Sender>,
        /// Devices removed.
        removed: Vec<Sender>,
        /// This device was removed: the conversation is over for it.
        removed_self: bool,
        /// The conversation left end-to-end encryption.
        encryption_ended: bool,
        /// Group keys re-sent because a member asked (0xF007).
        metadata_keys_resent: usize,
        /// The conversation's wire profile changed (WIRE-NEG-3).
        wire_profile_changed: Option<WireProfile>,
    },
    /// This device was added to a conversation.
    Joined {
        /// The conversation.
        conversation: ConversationId,
        /// Who added it.
        added_by: Sender,
        /// The conversation's cipher suite.
        suite: Suite,
    },
    /// A member proposed a change (e.g. to leave); committed if needed.
    Proposal {
        /// The conversation.
        conversation: ConversationId,
        /// Who proposed.
        from: Sender,
    },
    /// A member could not process a message (a signed negative IMDN).
    NegativeReport {
        /// The conversation.
        conversation: ConversationId,
        /// The message that failed.
        failed_message_id: String,
        /// Why, when the signed report says.
        reason: Option<FailureArm>,
        /// The reporting device.
        reporter: Sender,
        /// The message was this device's (it was resent).
        sent_by_us: bool,
    },
    /// A contact's keys changed since they were verified or first seen:
    /// compare safety numbers again.
    KeyChanged {
        /// The conversation.
        conversation: ConversationId,
        /// The contact.
        number: PhoneNumber,
    },
    /// Key transparency raised an alert (a forked log, a key or device
    /// under this number the user did not make, …).
    TransparencyAlert(TransparencyAlert),
    /// A conversation's security state may have changed (members, suite,
    /// verification, transparency): read it again.
    SecurityState {
        /// The conversation.
        conversation: ConversationId,
    },
    /// This device's credentials expire at `expires_at` (Unix seconds)
    /// and the SDK could not renew them by itself (no subscriber token
    /// without the user, or the renewal failed): get a subscriber token
    /// and call [`crate::Messenger::renew_credentials`]. Raised at most
    /// once a day while renewal is due (under 40 days left; after 45 days
    /// of age nobody can add the device to a conversation).
    CredentialRenewalDue {
        /// When the installed credentials expire (Unix seconds).
        expires_at: u64,
    },
    /// An inbox item could not be processed; nothing changed for it.
    Undecryptable {
        /// Its transport id.
        message_id: String,
        /// Why.
        error: String,
    },
}

impl Event {
    /// The conversation the event is about, if any.
    pub fn conversation(&self) -> Option<&ConversationId> {
        match self {
            Event::Text { conversation, .. }
            | Event::Content { conversation, .. }
            | Event::Status { conversation, .. }
            | Event::Receipt { conversation, .. }
            | Event::FileKey { conversation, .. }
            | Event::File { conversation, .. }
            | Event::GroupMetadata { conversation, .. }
            | Event::Typing { conversation, .. }
            | Event::MembershipChanged { conversation, .. }
            | Event::Joined { conversation, .. }
            | Event::Proposal { conversation, .. }
            | Event::NegativeReport { conversation, .. }
            | Event::KeyChanged { conversation, .. }
            | Event::SecurityState { conversation } => Some(conversation),
            Event::TransparencyAlert(_)
            | Event::CredentialRenewalDue { .. }
            | Event::Undecryptable { .. } => None,
        }
    }
}

/// Where an app receives events from [`crate::Messenger::run`].
pub trait EventListener: Send + Sync {
    /// Called for each event, in order.
    fn on_event(&self, event: Event);
}
