//! Identifiers the client core hands out.

use std::fmt;

/// A conversation: the MLS group id. For a 1:1 chat it is a UUIDv4 string
/// (RCC.16); for a group chat, the RCS group id bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConversationId(Vec<u8>);

impl ConversationId {
    /// Longest group id accepted (MLS allows more; RCS ids are short).
    pub const MAX_LEN: usize = 255;

    /// Wraps group id bytes (1..=255 bytes).
    pub fn new(bytes: Vec<u8>) -> Option<Self> {
        (!bytes.is_empty() && bytes.len() <= Self::MAX_LEN).then_some(ConversationId(bytes))
    }

    /// The group id bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A URI naming the conversation in MIMI message ids.
    pub fn room_uri(&self) -> String {
        match std::str::from_utf8(&self.0) {
            Ok(s) if uuid::Uuid::parse_str(s).is_ok() => format!("urn:uuid:{s}"),
            _ => format!("urn:crosslock:group:{}", hex::encode(&self.0)),
        }
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(s) if s.chars().all(|c| c.is_ascii_graphic()) => f.write_str(s),
            _ => write!(f, "0x{}", hex::encode(&self.0)),
        }
    }
}

impl fmt::Debug for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConversationId({self})")
    }
}

/// Handle of a decrypted message waiting in the device inbox until the
/// application acknowledges it ([`crate::Device::ack`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(pub(crate) u64);

impl DeliveryId {
    /// The raw sequence number.
    pub fn value(self) -> u64 {
        self.0
    }
}
