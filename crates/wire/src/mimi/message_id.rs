//! MIMI message ids (draft-ietf-mimi-content §3.3).
//!
//! ```text
//! hash_output = SHA-256( senderUriLength || senderUri ||
//!                        roomUriLength   || roomUri   ||
//!                        message         || salt )
//! messageId   = 0x01 || hash_output[0..30]
//! ```
//!
//! `senderUriLength` and `roomUriLength` are big-endian `uint16` byte counts,
//! `message` is the whole encoded MIMI content (salt included), and the salt
//! is appended again against length extension. The first octet names the
//! hash in the IANA Named Information Hash Algorithm registry (1 = SHA-256).

use super::error::MimiError;
use sha2::{Digest, Sha256};
use std::fmt;

/// A MIMI message id: a hash algorithm octet and 31 octets of hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub [u8; 32]);

impl MessageId {
    /// The hash algorithm octet for SHA-256 (IANA Named Information registry).
    pub const SHA256: u8 = 0x01;

    /// What [`MessageId::compute`] returns for a URI longer than 65 535
    /// bytes, which the `uint16` length cannot express. It begins with the
    /// reserved algorithm octet 0, so it never equals a computed id.
    pub const UNREPRESENTABLE: MessageId = MessageId([0; 32]);

    /// Computes the id of the encoded content `content` sent by `sender_uri`
    /// in `room_uri` (draft-ietf-mimi-content §3.3). Returns
    /// [`Self::UNREPRESENTABLE`] if either URI is longer than 65 535 bytes;
    /// [`Self::try_compute`] reports that as an error instead.
    pub fn compute(sender_uri: &str, room_uri: &str, content: &[u8], salt: &[u8; 16]) -> MessageId {
        Self::try_compute(sender_uri, room_uri, content, salt).unwrap_or(Self::UNREPRESENTABLE)
    }

    /// [`Self::compute`], refusing URIs longer than 65 535 bytes.
    pub fn try_compute(
        sender_uri: &str,
        room_uri: &str,
        content: &[u8],
        salt: &[u8; 16],
    ) -> Result<MessageId, MimiError> {
        let too_long = || MimiError::Invalid("URI longer than 65535 bytes");
        let sender_len = u16::try_from(sender_uri.len()).map_err(|_| too_long())?;
        let room_len = u16::try_from(room_uri.len()).map_err(|_| too_long())?;
        let mut h = Sha256::new();
        h.update(sender_len.to_be_bytes());
        h.update(sender_uri.as_bytes());
        h.update(room_len.to_be_bytes());
        h.update(room_uri.as_bytes());
        h.update(content);
        h.update(salt);
        let digest = h.finalize();
        let mut id = [0u8; 32];
        id[0] = Self::SHA256;
        id[1..].copy_from_slice(&digest[..31]);
        Ok(MessageId(id))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// An id from exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<MessageId> {
        bytes.try_into().ok().map(MessageId)
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({self})")
    }
}

impl From<[u8; 32]> for MessageId {
    fn from(bytes: [u8; 32]) -> Self {
        MessageId(bytes)
    }
}
