//! What the SDK tells the app, as Kotlin sealed classes and Swift enums:
//! conversation ids as their canonical strings (crate::ids), bytes as
//! `ByteArray`/`Data`.

use crosslock_client::TransparencyAlert as CoreAlert;
use crosslock_client::wire::imdn::{DeliveryStatus, DisplayStatus, Notification};
use crosslock_sdk::Event as SdkEvent;

use crate::callback::CallbackError;
use crate::error::CrosslockError;
use crate::ids::conversation_string;
use crate::metadata::GroupMetadataKind;

/// A device of a participant.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Sender {
    /// The participant's number, E.164.
    pub number: String,
    /// The device instance id.
    pub device_id: String,
}

impl From<&crosslock_client::Sender> for Sender {
    fn from(s: &crosslock_client::Sender) -> Self {
        Sender {
            number: s.number.as_str().to_owned(),
            device_id: s.device.clone(),
        }
    }
}

/// A key-transparency alert: the log misbehaved, or this number has a key
/// or a device its user did not make.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TransparencyAlert {
    /// `fork`, `unknown-key`, `new-device`, `own-key-missing` or
    /// `own-suites-missing`.
    pub kind: String,
    /// The log epoch that showed it.
    pub epoch: u64,
    /// The device concerned (`new-device`).
    pub device_id: Option<String>,
    /// SHA-256 of the credential concerned, hex (`unknown-key`,
    /// `new-device`): what `approve_device` takes.
    pub credential: Option<String>,
    /// One sentence for the user.
    pub description: String,
}

impl From<&CoreAlert> for TransparencyAlert {
    fn from(alert: &CoreAlert) -> Self {
        let (kind, epoch, device_id, credential, description) = match alert {
            CoreAlert::Fork {
                directory, epoch, ..
            } => (
                "fork",
                *epoch,
                None,
                None,
                format!(
                    "the transparency log {directory} showed two different states at epoch {epoch}"
                ),
            ),
            CoreAlert::UnknownKey {
                epoch, credential, ..
            } => (
                "unknown-key",
                *epoch,
                None,
                Some(credential.clone()),
                "a key this device never had was published under its id".to_owned(),
            ),
            CoreAlert::NewDevice {
                epoch,
                device_id,
                credential,
                ..
            } => (
                "new-device",
                *epoch,
                Some(device_id.clone()),
                Some(credential.clone()),
                "another device was enrolled for this number: approve it if it is yours".to_owned(),
            ),
            CoreAlert::OwnKeyMissing { epoch } => (
                "own-key-missing",
                *epoch,
                None,
                None,
                "this device's key is no longer published for this number".to_owned(),
            ),
            CoreAlert::OwnSuitesMissing { epoch, suites } => (
                "own-suites-missing",
                *epoch,
                None,
                None,
                format!("suites {suites:04x?} of this device are not published"),
            ),
        };
        TransparencyAlert {
            kind: kind.to_owned(),
            epoch,
            device_id,
            credential,
            description,
        }
    }
}

/// One thing for the app to show or act on, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Event {
    /// A text message.
    Text {
        conversation: String,
        from: Sender,
        /// Its transport id (`Mx…`): what a display receipt names.
        message_id: String,
        text: String,
    },
    /// Content this SDK does not render.
    Content {
        conversation: String,
        from: Option<Sender>,
        content_type: String,
    },
    /// A member's encrypted status report (`delivered`, `read`, …).
    Status {
        conversation: String,
        from: Sender,
        statuses: Vec<String>,
    },
    /// A member's signed delivery or display receipt (RCC.16 IMDN):
    /// `delivered`, `displayed`, `failed`, `forbidden` or `error`.
    Receipt {
        conversation: String,
        from: Sender,
        message_id: String,
        notification: String,
    },
    /// A file's key arrived; its link follows.
    FileKey {
        conversation: String,
        from: Sender,
        slot: String,
    },
    /// A file is ready to download (`save_files` with its `message_id`).
    File {
        conversation: String,
        from: Sender,
        message_id: String,
        name: String,
        media_type: String,
        size: u64,
    },
    /// The group's subject or icon changed (`error`: it could not be
    /// opened).
    GroupMetadata {
        conversation: String,
        from: Sender,
        kind: GroupMetadataKind,
        error: Option<String>,
    },
    /// A member is typing (or stopped).
    Typing {
        conversation: String,
        from: Sender,
        active: bool,
    },
    /// A commit changed members, keys or the wire profile.
    MembershipChanged {
        conversation: String,
        epoch: u64,
        added: Vec<Sender>,
        removed: Vec<Sender>,
        /// This device was removed: the conversation is over for it.
        removed_self: bool,
        /// The conversation left end-to-end encryption.
        encryption_ended: bool,
        /// The new wire profile, when it changed (`rcc16-deployed`,
        /// `rcc16-deployed+crosslock`).
        wire_profile_changed: Option<String>,
    },
    /// This device was added to a conversation.
    Joined {
        conversation: String,
        added_by: Sender,
        /// The MLS cipher suite's name.
        suite: String,
        /// Its code point (0x0002 P-256, 0x0001 Ed25519, 0x004F X-Wing).
        suite_code: u16,
    },
    /// A member proposed a change (e.g. to leave).
    Proposal { conversation: String, from: Sender },
    /// A member could not process a message (a signed negative receipt).
    NegativeReport {
        conversation: String,
        failed_message_id: String,
        reason: Option<String>,
        reporter: Sender,
        /// The message was this device's (it was resent).
        sent_by_us: bool,
    },
    /// A contact's keys changed since they were verified or first seen:
    /// compare safety numbers again.
    KeyChanged {
        conversation: String,
        number: String,
    },
    /// Key transparency raised an alert.
    TransparencyAlert { alert: TransparencyAlert },
    /// A conversation's security state may have changed: read it again.
    SecurityState { conversation: String },
    /// This device's credentials must be renewed soon (under 40 days
    /// left, SDK-RENEW-2): get a subscriber token from the carrier (or
    /// the user) and call `renewCredentials`. Raised at most once a day.
    CredentialRenewalDue {
        /// When the installed credentials expire (Unix seconds).
        expires_at: u64,
    },
    /// An inbox item could not be processed; nothing changed for it.
    Undecryptable { message_id: String, error: String },
}

fn notification_name(n: &Notification) -> &'static str {
    match n {
        Notification::Delivery(DeliveryStatus::Delivered) => "delivered",
        Notification::Delivery(DeliveryStatus::Failed(_)) => "failed",
        Notification::Delivery(DeliveryStatus::Forbidden)
        | Notification::Display(DisplayStatus::Forbidden) => "forbidden",
        Notification::Delivery(DeliveryStatus::Error)
        | Notification::Display(DisplayStatus::Error) => "error",
        Notification::Display(DisplayStatus::Displayed) => "displayed",
    }
}

fn senders(list: &[crosslock_client::Sender]) -> Vec<Sender> {
    list.iter().map(Sender::from).collect()
}

impl From<&SdkEvent> for Event {
    fn from(event: &SdkEvent) -> Self {
        use SdkEvent as E;
        let c = conversation_string;
        match event {
            E::Text {
                conversation,
                from,
                message_id,
                text,
            } => Event::Text {
                conversation: c(conversation),
                from: from.into(),
                message_id: message_id.clone(),
                text: text.clone(),
            },
            E::Content {
                conversation,
                from,
                content_type,
            } => Event::Content {
                conversation: c(conversation),
                from: from.as_ref().map(Sender::from),
                content_type: content_type.clone(),
            },
            E::Status {
                conversation,
                from,
                statuses,
            } => Event::Status {
                conversation: c(conversation),
                from: from.into(),
                statuses: statuses.clone(),
            },
            E::Receipt {
                conversation,
                from,
                message_id,
                notification,
            } => Event::Receipt {
                conversation: c(conversation),
                from: from.into(),
                message_id: message_id.clone(),
                notification: notification_name(notification).to_owned(),
            },
            E::FileKey {
                conversation,
                from,
                slot,
            } => Event::FileKey {
                conversation: c(conversation),
                from: from.into(),
                slot: slot.clone(),
            },
            E::File {
                conversation,
                from,
                message_id,
                name,
                media_type,
                size,
            } => Event::File {
                conversation: c(conversation),
                from: from.into(),
                message_id: message_id.clone(),
                name: name.clone(),
                media_type: media_type.clone(),
                size: *size,
            },
            E::GroupMetadata {
                conversation,
                from,
                kind,
                error,
            } => Event::GroupMetadata {
                conversation: c(conversation),
                from: from.into(),
                kind: (*kind).into(),
                error: error.clone(),
            },
            E::Typing {
                conversation,
                from,
                active,
            } => Event::Typing {
                conversation: c(conversation),
                from: from.into(),
                active: *active,
            },
            E::MembershipChanged {
                conversation,
                epoch,
                added,
                removed,
                removed_self,
                encryption_ended,
                wire_profile_changed,
                ..
            } => Event::MembershipChanged {
                conversation: c(conversation),
                epoch: *epoch,
                added: senders(added),
                removed: senders(removed),
                removed_self: *removed_self,
                encryption_ended: *encryption_ended,
                wire_profile_changed: wire_profile_changed.map(|p| p.name().to_owned()),
            },
            E::Joined {
                conversation,
                added_by,
                suite,
            } => Event::Joined {
                conversation: c(conversation),
                added_by: added_by.into(),
                suite: suite.name().to_owned(),
                suite_code: suite.code(),
            },
            E::Proposal { conversation, from } => Event::Proposal {
                conversation: c(conversation),
                from: from.into(),
            },
            E::NegativeReport {
                conversation,
                failed_message_id,
                reason,
                reporter,
                sent_by_us,
            } => Event::NegativeReport {
                conversation: c(conversation),
                failed_message_id: failed_message_id.clone(),
                reason: reason.map(|r| format!("{r:?}")),
                reporter: reporter.into(),
                sent_by_us: *sent_by_us,
            },
            E::KeyChanged {
                conversation,
                number,
            } => Event::KeyChanged {
                conversation: c(conversation),
                number: number.as_str().to_owned(),
            },
            E::TransparencyAlert(alert) => Event::TransparencyAlert {
                alert: alert.into(),
            },
            E::SecurityState { conversation } => Event::SecurityState {
                conversation: c(conversation),
            },
            E::CredentialRenewalDue { expires_at } => Event::CredentialRenewalDue {
                expires_at: *expires_at,
            },
            E::Undecryptable { message_id, error } => Event::Undecryptable {
                message_id: message_id.clone(),
                error: error.clone(),
            },
        }
    }
}

/// Where the app receives events while [`crate::CrosslockDevice::start`]
/// runs: on the device's listener thread, in order. Return quickly (post
/// to the UI thread). The device is not locked while these run: they may
/// call it, `stop()` included.
///
/// A callback that throws does no harm: the SDK logs the exception's type
/// and carries on (the event is not handed over again).
#[uniffi::export(with_foreign)]
pub trait EventListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: Event) -> Result<(), CallbackError>;
    /// The listener stopped: `None` after `stop()` (or the device was
    /// closed), else the error it cannot retry (an unreachable provider is
    /// retried, and not reported here).
    fn on_stopped(&self, error: Option<CrosslockError>) -> Result<(), CallbackError>;
}
