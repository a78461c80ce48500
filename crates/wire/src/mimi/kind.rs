//! How a chat UI reads a MIMI message (draft-ietf-mimi-content §5).
//!
//! | fields | kind |
//! |---|---|
//! | `replaces` and a NullPart body | [`ContentKind::Delete`] (also an unlike, §5.7) |
//! | `replaces`, reaction disposition | [`ContentKind::Reaction`] (a changed reaction) |
//! | `replaces`, any other body | [`ContentKind::Edit`] |
//! | `inReplyTo`, reaction disposition, a body | [`ContentKind::Reaction`] |
//! | `inReplyTo`, any other body | [`ContentKind::Reply`] |
//! | a `text/*` single part, or a text alternative | [`ContentKind::Text`] |
//! | anything else | [`ContentKind::Other`] |

use super::content::MimiContent;
use super::part::{Disposition, NestedPart, PartBody, PartSemantics};

/// The kind of a message, as a chat UI would show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentKind {
    /// A new text message.
    Text,
    /// A reply to `in_reply_to`.
    Reply,
    /// A reaction to `in_reply_to` (or a changed reaction replacing `replaces`).
    Reaction,
    /// A new version of `replaces`.
    Edit,
    /// Removes `replaces` (a delete, or an unlike).
    Delete,
    /// Anything else: attachments, rich multipart, unknown shapes.
    Other,
}

impl MimiContent {
    /// Classifies the message; see the module table.
    pub fn kind(&self) -> ContentKind {
        let part = &self.nested_part;
        let null = matches!(part.body, PartBody::Null);
        let reaction = part.disposition == Disposition::Reaction;
        if self.replaces.is_some() {
            return if null {
                ContentKind::Delete
            } else if reaction {
                ContentKind::Reaction
            } else {
                ContentKind::Edit
            };
        }
        if null {
            return ContentKind::Other;
        }
        if self.in_reply_to.is_some() {
            return if reaction {
                ContentKind::Reaction
            } else {
                ContentKind::Reply
            };
        }
        if text_of(part).is_some() || is_text_type(part) {
            ContentKind::Text
        } else {
            ContentKind::Other
        }
    }

    /// The body as text when it is a `text/plain` part in UTF-8 (charset
    /// `utf-8` or none), directly or as an alternative of a chooseOne
    /// MultiPart.
    pub fn text_body(&self) -> Option<&str> {
        text_of(&self.nested_part)
    }
}

fn text_of(part: &NestedPart) -> Option<&str> {
    match &part.body {
        PartBody::Single {
            content_type,
            content,
        } if is_plain_utf8(content_type) => std::str::from_utf8(content).ok(),
        PartBody::Multi {
            semantics: PartSemantics::ChooseOne,
            parts,
        } => parts.iter().find_map(text_of),
        _ => None,
    }
}

fn is_text_type(part: &NestedPart) -> bool {
    match &part.body {
        PartBody::Single { content_type, .. } => media_type(content_type).starts_with("text/"),
        _ => false,
    }
}

/// The lower-cased `type/subtype` of a media type.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `text/plain` with charset `utf-8` or no charset (RFC 2045 §5.1: type,
/// subtype, parameter names and the charset value are case-insensitive).
fn is_plain_utf8(content_type: &str) -> bool {
    if media_type(content_type) != "text/plain" {
        return false;
    }
    content_type
        .split(';')
        .skip(1)
        .all(|param| match param.split_once('=') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
                value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            }
            _ => true,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_utf8_types() {
        for ok in [
            "text/plain;charset=utf-8",
            "Text/Plain; charset=\"UTF-8\"",
            "text/plain",
            "text/plain; format=flowed",
        ] {
            assert!(is_plain_utf8(ok), "{ok}");
        }
        for bad in [
            "text/plain;charset=iso-8859-1",
            "text/markdown",
            "text/plainx",
            "",
        ] {
            assert!(!is_plain_utf8(bad), "{bad}");
        }
    }
}
