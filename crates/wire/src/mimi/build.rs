//! Constructors for the messages a chat app sends, shaped like the examples
//! of draft-ietf-mimi-content §5. The caller supplies the 16-byte random salt
//! (§9.2); nothing here draws randomness.

use super::content::MimiContent;
use super::expiration::Expiration;
use super::extensions::Extensions;
use super::message_id::MessageId;
use super::part::{Disposition, NestedPart, PartBody};
use crate::content_type::TEXT_PLAIN_UTF8;

impl MimiContent {
    /// A message with `nested_part` as its body and no other fields set.
    pub fn new(salt: [u8; 16], nested_part: NestedPart) -> MimiContent {
        MimiContent {
            salt,
            replaces: None,
            topic_id: Vec::new(),
            expires: None,
            in_reply_to: None,
            extensions: Extensions::default(),
            nested_part,
        }
    }

    /// A plain-text message (§5.1, with `text/plain;charset=utf-8`).
    pub fn text(salt: [u8; 16], body: &str) -> MimiContent {
        Self::new(salt, text_part(Disposition::Render, body))
    }

    /// A text reply to `in_reply_to` (§5.2).
    pub fn reply(salt: [u8; 16], in_reply_to: MessageId, body: &str) -> MimiContent {
        MimiContent {
            in_reply_to: Some(in_reply_to),
            ..Self::text(salt, body)
        }
    }

    /// A reaction, typically one emoji, to the message `to` (§5.3).
    pub fn reaction(salt: [u8; 16], to: MessageId, emoji: &str) -> MimiContent {
        MimiContent {
            in_reply_to: Some(to),
            ..Self::new(salt, text_part(Disposition::Reaction, emoji))
        }
    }

    /// A new text for the message `replaces`, which must be the id of the
    /// first version of the message (§5.5).
    pub fn edit(salt: [u8; 16], replaces: MessageId, new_body: &str) -> MimiContent {
        MimiContent {
            replaces: Some(replaces),
            ..Self::text(salt, new_body)
        }
    }

    /// Deletes the message `replaces` (its first version): a NullPart body
    /// that replaces it (§5.6).
    pub fn delete(salt: [u8; 16], replaces: MessageId) -> MimiContent {
        MimiContent {
            replaces: Some(replaces),
            ..Self::new(salt, null_part(Disposition::Render))
        }
    }

    /// Withdraws the reaction sent as message `reaction` (§5.7).
    pub fn unreact(salt: [u8; 16], reaction: MessageId) -> MimiContent {
        MimiContent {
            replaces: Some(reaction),
            ..Self::new(salt, null_part(Disposition::Reaction))
        }
    }

    /// The same message with an expiry hint (§5.8).
    pub fn with_expiry(self, expires: Expiration) -> MimiContent {
        MimiContent {
            expires: Some(expires),
            ..self
        }
    }

    /// The same message with the senderUri and roomUri extensions set.
    pub fn with_uris(mut self, sender_uri: &str, room_uri: &str) -> MimiContent {
        self.extensions.sender_uri = Some(sender_uri.to_owned());
        self.extensions.room_uri = Some(room_uri.to_owned());
        self
    }
}

fn text_part(disposition: Disposition, body: &str) -> NestedPart {
    NestedPart {
        disposition,
        language: String::new(),
        body: PartBody::Single {
            content_type: TEXT_PLAIN_UTF8.to_owned(),
            content: body.as_bytes().to_vec(),
        },
    }
}

fn null_part(disposition: Disposition) -> NestedPart {
    NestedPart {
        disposition,
        language: String::new(),
        body: PartBody::Null,
    }
}
