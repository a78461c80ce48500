//! Identifiers the client core hands out.

use std::fmt;

/// A conversation: the MLS group id. Conversations this device creates get
/// a lowercase UUIDv4 string (36 ASCII bytes), 1:1 and groups alike: RCC.16
/// servers as deployed refuse other ids (fact sheet §6, GID-1). Ids minted
/// by peers are accepted in any shape of 1 to 255 bytes (GID-2).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConversationId(Vec<u8>);

impl ConversationId {
    /// Longest group id accepted (MLS allows more; RCS ids are short).
    pub const MAX_LEN: usize = 255;

    /// Wraps group id bytes (1..=255 bytes).
    pub fn new(bytes: Vec<u8>) -> Option<Self> {
        (!bytes.is_empty() && bytes.len() <= Self::MAX_LEN).then_some(ConversationId(bytes))
    }

    /// A fresh lowercase UUIDv4 string from 16 random bytes (GID-1).
    pub(crate) fn fresh(random: [u8; 16]) -> Self {
        ConversationId(
            uuid::Builder::from_random_bytes(random)
                .into_uuid()
                .hyphenated()
                .to_string()
                .into_bytes(),
        )
    }

    /// Whether the id has the deployed form: a lowercase, hyphenated UUID
    /// string of version 4 and the RFC 9562 variant (36 ASCII bytes).
    pub fn is_deployed_form(bytes: &[u8]) -> bool {
        let lowercase = bytes
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'-'));
        bytes.len() == 36
            && lowercase
            && uuid::Uuid::try_parse_ascii(bytes).is_ok_and(|u| {
                u.get_version_num() == 4 && u.get_variant() == uuid::Variant::RFC4122
            })
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

#[cfg(test)]
mod tests {
    use super::ConversationId;

    #[test]
    fn deployed_group_ids() {
        // Random bytes 00..0f: uuid sets version 4 (byte 6 high nibble) and
        // the RFC variant (byte 8 top bits 10).
        let random: [u8; 16] = std::array::from_fn(|i| i as u8);
        let id = ConversationId::fresh(random);
        assert_eq!(id.as_bytes(), b"00010203-0405-4607-8809-0a0b0c0d0e0f");
        assert!(ConversationId::is_deployed_form(id.as_bytes()));
        for bad in [
            &b"00010203-0405-4607-8809-0A0B0C0D0E0F"[..], // uppercase
            b"00010203-0405-1607-8809-0a0b0c0d0e0f",      // version 1
            b"00010203-0405-4607-c809-0a0b0c0d0e0f",      // Microsoft variant
            b"000102030405460788090a0b0c0d0e0f",          // unhyphenated
            b"{00010203-0405-4607-8809-0a0b0c0d0e0f}",    // braced
            b"trio",
            b"",
        ] {
            assert!(!ConversationId::is_deployed_form(bad), "{bad:?}");
        }
    }
}
