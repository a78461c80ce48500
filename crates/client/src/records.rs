//! Records the client core persists (CBOR), next to mls-rs's own state.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ClientError;
use crate::store::StoreError;
use crate::suite::Suite;

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, ClientError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| ClientError::Internal(e.to_string()))?;
    Ok(out)
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ClientError> {
    ciborium::from_reader(bytes).map_err(|e| StoreError::Corrupt(e.to_string()).into())
}

/// Which kind of phone a device is, and so which suites it prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceProfile {
    /// Android: prefers 0x0002 (P-256), what Android RCS peers deploy.
    Android,
    /// iPhone: prefers 0x0001 (X25519/Ed25519).
    Ios,
}

impl DeviceProfile {
    /// Suites in preference order. Every profile supports all three; the
    /// order breaks ties between equally strong suites, and post-quantum
    /// wins whenever every member has it.
    pub fn suite_preference(self) -> [Suite; 3] {
        match self {
            DeviceProfile::Android => [
                Suite::P256Aes128,
                Suite::X25519Aes128,
                Suite::MlKem768X25519Aes128,
            ],
            DeviceProfile::Ios => [
                Suite::X25519Aes128,
                Suite::P256Aes128,
                Suite::MlKem768X25519Aes128,
            ],
        }
    }

    /// What users call it.
    pub fn name(self) -> &'static str {
        match self {
            DeviceProfile::Android => "Android",
            DeviceProfile::Ios => "iPhone",
        }
    }

    /// Parses `android` or `ios`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "android" => Some(DeviceProfile::Android),
            "ios" | "iphone" => Some(DeviceProfile::Ios),
            _ => None,
        }
    }
}

/// The credential a device presents for one signature algorithm.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CredentialRecord {
    /// Key-store alias of the participant key.
    pub(crate) alias: String,
    /// The X.509 chain, leaf first, DER.
    pub(crate) chain: Vec<serde_bytes_vec::Bytes>,
}

/// The device itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DeviceRecord {
    pub(crate) number: String,
    pub(crate) device_id: String,
    pub(crate) profile: DeviceProfile,
    pub(crate) suites: Vec<Suite>,
    /// P-256 credential (suite 0x0002).
    pub(crate) p256: CredentialRecord,
    /// Ed25519 credential (suites 0x0001 and X-Wing).
    pub(crate) ed25519: CredentialRecord,
    pub(crate) created_at: u64,
}

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConversationStatus {
    /// Encrypted and usable.
    Active,
    /// `end_mls` was committed: no longer end-to-end encrypted.
    Ended,
    /// This device was removed (or left).
    Removed,
}

/// 1:1 or group (GID-3). Decided when the conversation is created or
/// joined, and changed only one way: a 1:1 that gains a third number (or
/// a group subject or icon) becomes a group, and a group never becomes a
/// 1:1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConversationKind {
    /// A 1:1 chat with one other participant (a UUIDv4 string as group
    /// id, at most two numbers, no group subject or icon). Its envelopes
    /// carry no CPIM `To`.
    OneToOne,
    /// A group chat, whatever its size (Crosslock's groups have a UUIDv4
    /// id too, GID-1; a deployed client's, the RCS group id). Its
    /// envelopes are addressed `To: <sip:anonymous@anonymous.invalid>`.
    Group,
}

/// A commit waiting for the delivery service's verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingRecord {
    pub(crate) message_id: String,
    pub(crate) commit: serde_bytes_vec::Bytes,
    pub(crate) welcome: Option<serde_bytes_vec::Bytes>,
    pub(crate) welcome_message_id: Option<String>,
    #[serde(default)]
    pub(crate) group_info: serde_bytes_vec::Bytes,
    /// The ratchet tree of the new epoch (MLS-GI-1); empty in records
    /// written before the tree travelled separately.
    #[serde(default)]
    pub(crate) ratchet_tree: serde_bytes_vec::Bytes,
    /// What the commit does to the local state once accepted.
    #[serde(default)]
    pub(crate) kind: PendingKind,
}

/// How a pending commit is applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum PendingKind {
    /// A commit on the live group (mls-rs holds it as the group's pending
    /// commit).
    #[default]
    Commit,
    /// A rejoin by external commit: the rejoined group waits in the staging
    /// tables. `fresh_record`: the conversation record was created for the
    /// rejoin (delete it on refusal).
    Rejoin {
        /// The record did not exist before the rejoin.
        fresh_record: bool,
    },
    /// A new era: the new group and its pending commit wait in the staging
    /// tables.
    NewEra {
        /// The era the new group has.
        era: u32,
        /// Its suite.
        suite: Suite,
    },
}

impl PendingKind {
    /// Whether the commit replaces the whole group (from the staging tables).
    pub(crate) fn replaces_group(self) -> bool {
        !matches!(self, PendingKind::Commit)
    }
}

/// An application message we sent, kept (for the epoch retention period)
/// so it can be resent after a negative delivery report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SentRecord {
    /// The framed application payload as sent (`crosslock_wire::inner`).
    pub(crate) payload: serde_bytes_vec::Bytes,
    /// Its MIMI message id, for MIMI content.
    pub(crate) mimi_id: Option<serde_bytes_vec::Bytes>,
    /// When it was sent (Unix seconds).
    pub(crate) sent_at: u64,
    /// For a resend: the original message id it stands for.
    pub(crate) original: Option<String>,
    /// For an original: how many times it was resent.
    pub(crate) resends: u8,
    /// The era it was sent in (the resend link names it); absent in
    /// records written before it was kept.
    #[serde(default)]
    pub(crate) era: Option<u32>,
}

/// A conversation as the client core tracks it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ConversationRecord {
    pub(crate) kind: ConversationKind,
    pub(crate) era: u32,
    pub(crate) suite: Suite,
    pub(crate) status: ConversationStatus,
    pub(crate) pending: Option<PendingRecord>,
    pub(crate) created_at: u64,
}

/// What we know about a contact's keys.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ContactRecord {
    /// The participant keys last seen (sorted, deduplicated).
    pub(crate) keys: Vec<serde_bytes_vec::Bytes>,
    /// The user confirmed the safety number for exactly `keys`.
    pub(crate) verified: bool,
    /// `keys` changed since first seen and was not re-verified.
    pub(crate) key_changed: bool,
}

/// A decrypted message the application has not acknowledged yet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InboxRecord {
    pub(crate) conversation: serde_bytes_vec::Bytes,
    pub(crate) sender_number: String,
    pub(crate) sender_device: String,
    pub(crate) message_id: String,
    pub(crate) resend_of: Option<String>,
    pub(crate) content_type: String,
    pub(crate) body: serde_bytes_vec::Bytes,
    pub(crate) received_at: u64,
    pub(crate) epoch: u64,
    /// For an FT-HTTP descriptor: the FileInfo encodings it was paired with
    /// (the file's, then the thumbnail's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) paired: Vec<serde_bytes_vec::Bytes>,
}

/// Byte strings serialised as CBOR byte strings (not arrays of integers).
pub(crate) mod serde_bytes_vec {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// A `Vec<u8>` that serialises as bytes.
    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
    pub(crate) struct Bytes(pub(crate) Vec<u8>);

    impl Serialize for Bytes {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(&self.0)
        }
    }

    impl<'de> Deserialize<'de> for Bytes {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = Bytes;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a byte string")
                }
                fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                    Ok(Bytes(v.to_vec()))
                }
                fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Bytes, E> {
                    Ok(Bytes(v))
                }
            }
            d.deserialize_byte_buf(V)
        }
    }

    impl From<Vec<u8>> for Bytes {
        fn from(v: Vec<u8>) -> Self {
            Bytes(v)
        }
    }
}
