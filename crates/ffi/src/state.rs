//! What the app shows about a conversation's protection, and what the
//! device's calls return.

use crosslock_client::TransparencyStatus;
use crosslock_client::{ConversationKind, ConversationStatus, Verification as CoreVerification};

use crate::events::Event;
use crate::ids::conversation_string;

/// Whether the user checked a contact's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Verification {
    /// Keys pinned on first use, safety number not compared.
    Unverified,
    /// The user confirmed the safety number for the current keys.
    Verified,
    /// The contact's keys changed since they were first seen or verified:
    /// compare the safety number again.
    KeyChanged,
}

impl From<CoreVerification> for Verification {
    fn from(v: CoreVerification) -> Self {
        match v {
            CoreVerification::Unverified => Verification::Unverified,
            CoreVerification::Verified => Verification::Verified,
            CoreVerification::KeyChanged => Verification::KeyChanged,
        }
    }
}

/// One device of a member.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MemberDevice {
    /// The device instance id.
    pub device_id: String,
    /// SHA-256 of its participant key, hex (first 16 bytes).
    pub key_fingerprint: String,
    /// Whether it is this device.
    pub this_device: bool,
}

/// A member of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Member {
    /// Their number, E.164.
    pub number: String,
    /// Their devices in the conversation.
    pub devices: Vec<MemberDevice>,
    /// Whether the user checked their keys (`None`: this device's own
    /// number).
    pub verification: Option<Verification>,
    /// Key transparency of their keys here: `proven`, `unproven` or
    /// `refuted` (`None`: this device's own number).
    pub transparency: Option<String>,
}

/// A conversation's security state.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SecurityState {
    /// The conversation.
    pub conversation: String,
    /// A group (else a 1:1).
    pub group: bool,
    /// End-to-end encrypted (false after `end_mls` or once removed).
    pub encrypted: bool,
    /// `active`, `ended` or `removed`.
    pub status: String,
    /// The MLS cipher suite's name and code point.
    pub suite: String,
    pub suite_code: u16,
    /// `rcc16-deployed`, or `rcc16-deployed+crosslock` when every member
    /// speaks Crosslock's extras (typing, MIMI content and status).
    pub wire_profile: String,
    /// The RCC.16 era and the MLS epoch.
    pub era: u32,
    pub epoch: u64,
    /// Equal on every member's device iff they share the same group state.
    pub epoch_authenticator: Vec<u8>,
    /// Every member with their devices.
    pub members: Vec<Member>,
    /// One of this device's commits waits for the server's verdict.
    pub commit_pending: bool,
    /// This device holds key-transparency alerts (`transparency_alerts`).
    pub transparency_alerts: bool,
    /// Sending is refused until key transparency proves these members'
    /// keys (KT-MEMBER-3): numbers unproven or refuted.
    pub blocked_by: Vec<String>,
    /// Members whose post-quantum suite was withheld or disappeared.
    pub suite_downgrades: Vec<String>,
}

impl From<crosslock_client::SecurityState> for SecurityState {
    fn from(s: crosslock_client::SecurityState) -> Self {
        let members = s
            .members
            .iter()
            .map(|(number, devices)| Member {
                number: number.as_str().to_owned(),
                devices: devices
                    .iter()
                    .map(|d| MemberDevice {
                        device_id: d.device_id.clone(),
                        key_fingerprint: d.key_fingerprint.clone(),
                        this_device: d.this_device,
                    })
                    .collect(),
                verification: s.verification.get(number).map(|v| (*v).into()),
                transparency: s.transparency.get(number).map(|t| {
                    match t {
                        TransparencyStatus::Proven { .. } => "proven",
                        TransparencyStatus::Unproven => "unproven",
                        TransparencyStatus::Refuted { .. } => "refuted",
                    }
                    .to_owned()
                }),
            })
            .collect();
        let blocked_by = s
            .blocked
            .iter()
            .flat_map(|b| b.unproven.iter().chain(&b.refuted))
            .map(|n| n.as_str().to_owned())
            .collect();
        SecurityState {
            conversation: conversation_string(&s.conversation),
            group: s.kind == ConversationKind::Group,
            encrypted: s.encrypted,
            status: match s.status {
                ConversationStatus::Active => "active",
                ConversationStatus::Ended => "ended",
                ConversationStatus::Removed => "removed",
            }
            .to_owned(),
            suite: s.suite.name().to_owned(),
            suite_code: s.suite.code(),
            wire_profile: s.wire_profile.name().to_owned(),
            era: s.era,
            epoch: s.epoch,
            epoch_authenticator: s.epoch_authenticator.to_vec(),
            members,
            commit_pending: s.commit_pending,
            transparency_alerts: s.transparency_alerts,
            blocked_by,
            suite_downgrades: s
                .suite_downgrades
                .keys()
                .map(|n| n.as_str().to_owned())
                .collect(),
        }
    }
}

/// The safety number of this device's user and a contact.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SafetyNumber {
    /// The 60 digits.
    pub digits: String,
    /// The digits in twelve groups of five, as shown to users.
    pub grouped: String,
    /// The payload to show as a QR code (the other phone scans it and
    /// passes it to `confirm_safety_number`).
    pub qr_payload: Vec<u8>,
}

impl From<crosslock_client::SafetyNumber> for SafetyNumber {
    fn from(s: crosslock_client::SafetyNumber) -> Self {
        SafetyNumber {
            digits: s.digits().to_owned(),
            grouped: s.grouped(),
            qr_payload: s.qr_payload().to_vec(),
        }
    }
}

/// A conversation opened or created.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Started {
    /// The conversation.
    pub conversation: String,
    /// Its epoch once the delivery service accepted it; `None` when it
    /// already existed.
    pub epoch: Option<u64>,
}

impl From<crosslock_sdk::Started> for Started {
    fn from(s: crosslock_sdk::Started) -> Self {
        Started {
            conversation: conversation_string(&s.conversation),
            epoch: s.epoch,
        }
    }
}

/// What enrolment did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Enrolled {
    /// Credential chains installed (one per signature algorithm).
    pub credentials: u32,
    /// The assurance the KDS recorded from the device's attestation (and
    /// put in its credentials): `hardware-verified` (an attested hardware
    /// key, locked bootloader and verified boot, or App Attest
    /// production), `hardware`, or `none`.
    pub assurance: String,
    /// KeyPackages published per suite.
    pub key_packages: u32,
    /// Why no KeyPackages were published, when their upload failed. The
    /// device is enrolled all the same, but nobody can add it to a
    /// conversation until the lifecycle uploads them (`maintain`, or the
    /// listener started with `start`, does so at once); calling `enroll`
    /// again is refused. Show "not reachable yet" until then.
    pub key_packages_failed: Option<String>,
}

/// What a credential renewal did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Renewed {
    /// Credential chains installed (one per participant key).
    pub credentials: u32,
    /// When the new credentials expire (Unix seconds).
    pub expires_at: u64,
    /// Conversations where the new credential is presented at the next
    /// lifecycle run (a commit in each active one).
    pub conversations: u32,
    /// KeyPackages uploaded under the new credentials.
    pub key_packages: u32,
    /// Why that upload failed, if it did: the credentials are renewed all
    /// the same, and the lifecycle uploads KeyPackages at its next run.
    pub key_packages_failed: Option<String>,
}

/// A message sent.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SentMessage {
    /// Its transport id (`Mx…`).
    pub message_id: String,
    /// The ciphertext's size.
    pub ciphertext_bytes: u64,
}

impl From<crosslock_sdk::Sent> for SentMessage {
    fn from(s: crosslock_sdk::Sent) -> Self {
        SentMessage {
            message_id: s.message_id,
            ciphertext_bytes: s.ciphertext_bytes as u64,
        }
    }
}

/// What one `maintain` call did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Maintained {
    /// The daily maintenance ran.
    pub maintenance: bool,
    /// KeyPackages uploaded to refill the stock.
    pub key_packages_uploaded: u32,
    /// The number's own transparency history was checked.
    pub monitored: bool,
    /// Conversations where the credential was presented again.
    pub credentials_refreshed: Vec<String>,
    /// Conversations from which member devices whose credential expired
    /// were removed (CRED-EXP-1).
    pub expired_removed: Vec<String>,
    /// The credentials were renewed through the app's
    /// `SubscriberTokenSource`.
    pub renewed: bool,
    /// Jobs that failed, with why (tried again next time).
    pub failed: Vec<String>,
    /// What the app should hear about (transparency alerts, security
    /// state changes), as `sync` returns them.
    pub events: Vec<Event>,
}
