//! The MIMI content container (draft-ietf-mimi-content §4.1) and its codec.

use super::MAX_CONTENT_BYTES;
use super::error::MimiError;
use super::expiration::Expiration;
use super::extensions::Extensions;
use super::message_id::MessageId;
use super::part::NestedPart;
use crate::cbor::{self, ScanLimits, read, write};

/// Scan limits: 16 levels of CBOR nesting covers the deepest valid content
/// (4 levels of parts need 8), so deeper input is refused before parsing.
const LIMITS: ScanLimits = ScanLimits {
    max_bytes: MAX_CONTENT_BYTES,
    max_depth: 16,
    max_items: 65_536,
};

/// One MIMI content message.
#[derive(Debug, Clone, PartialEq)]
pub struct MimiContent {
    /// Per-message random salt; the caller supplies it (draft §9.2).
    pub salt: [u8; 16],
    /// The message this one edits, deletes or unlikes.
    pub replaces: Option<MessageId>,
    /// Topic (thread) id; empty for none.
    pub topic_id: Vec<u8>,
    /// Expiry hint.
    pub expires: Option<Expiration>,
    /// The message this one replies or reacts to.
    pub in_reply_to: Option<MessageId>,
    /// senderUri, roomUri and other extensions.
    pub extensions: Extensions,
    /// The body.
    pub nested_part: NestedPart,
}

impl MimiContent {
    /// The deterministic CBOR encoding (RFC 8949 §4.2.1).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        write::array(&mut out, 7);
        write::bytes(&mut out, &self.salt);
        write_id(&mut out, self.replaces.as_ref());
        write::bytes(&mut out, &self.topic_id);
        match &self.expires {
            Some(e) => e.write(&mut out),
            None => write::null(&mut out),
        }
        write_id(&mut out, self.in_reply_to.as_ref());
        self.extensions.write(&mut out);
        self.nested_part.write(&mut out);
        out
    }

    /// Decodes and checks MIMI content; only the deterministic encoding of a
    /// valid message is accepted.
    pub fn decode(bytes: &[u8]) -> Result<MimiContent, MimiError> {
        if bytes.len() > MAX_CONTENT_BYTES {
            return Err(MimiError::TooLarge);
        }
        let value = cbor::parse(bytes, &LIMITS)?;
        let items = read::array_of(&value, 7, "MIMI content must be a 7-element array")
            .map_err(MimiError::Invalid)?;
        let content = MimiContent {
            salt: read::fixed(&items[0], "salt must be 16 bytes").map_err(MimiError::Invalid)?,
            replaces: read_id(&items[1], "replaces must be null or a 32-byte message id")?,
            topic_id: read::bytes(&items[2], "topicId must be bytes")
                .map_err(MimiError::Invalid)?
                .to_vec(),
            expires: read::nullable(&items[3], Expiration::read).map_err(MimiError::Invalid)?,
            in_reply_to: read_id(&items[4], "inReplyTo must be null or a 32-byte message id")?,
            extensions: Extensions::read(&items[5]).map_err(MimiError::Invalid)?,
            nested_part: NestedPart::read(&items[6], 1)?,
        };
        content.validate()?;
        if content.encode() != bytes {
            return Err(MimiError::Invalid(
                "not deterministically encoded (RFC 8949 §4.2.1)",
            ));
        }
        Ok(content)
    }

    /// Checks the rules [`Self::decode`] enforces beyond the CBOR shape:
    /// extension keys and values (§4.3, §6.2, §6.3), part nesting (§6.3),
    /// MultiPart size, languages.
    pub fn validate(&self) -> Result<(), MimiError> {
        self.extensions.validate().map_err(MimiError::Invalid)?;
        self.nested_part.validate(1)
    }

    /// This message's id as sent by `sender_uri` in `room_uri`
    /// (draft-ietf-mimi-content §3.3).
    pub fn message_id(&self, sender_uri: &str, room_uri: &str) -> MessageId {
        MessageId::compute(sender_uri, room_uri, &self.encode(), &self.salt)
    }
}

fn write_id(out: &mut Vec<u8>, id: Option<&MessageId>) {
    match id {
        Some(id) => write::bytes(out, id.as_bytes()),
        None => write::null(out),
    }
}

fn read_id(v: &ciborium::Value, what: read::Expected) -> Result<Option<MessageId>, MimiError> {
    read::nullable(v, |v| read::fixed(v, what).map(MessageId)).map_err(MimiError::Invalid)
}
