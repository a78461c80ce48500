//! Typing indicators: isComposing documents (RFC 3994,
//! `application/im-iscomposing+xml`), as RCS sends them.
//!
//! ```xml
//! <?xml version="1.0" encoding="UTF-8"?>
//! <isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">
//!   <state>active</state>
//!   <lastactive>2003-01-27T10:43:00Z</lastactive>
//!   <contenttype>text/plain</contenttype>
//!   <refresh>90</refresh>
//! </isComposing>
//! ```
//!
//! `state` is required and is `active` or `idle` (RFC 3994 §3); `lastactive`
//! (an xs:dateTime), `contenttype` and `refresh` (seconds, a positive
//! integer) are optional (§4, §7). Elements from other namespaces are
//! extensions and are skipped (§7 schema `##other`); unknown elements in the
//! isComposing namespace are refused. The decoder takes at most
//! [`MAX_DOCUMENT_BYTES`], refuses any DOCTYPE (so no entity can be declared:
//! no external entities, no entity expansion bombs), knows only the five
//! predefined entities and character references, and refuses processing
//! instructions, encodings other than UTF-8 and nesting beyond 8 levels.

mod error;
mod parse;

pub use error::TypingError;

use crate::text::sanitize_line;

/// The isComposing namespace (RFC 3994 §7).
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:im-iscomposing";
/// The largest document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 4096;

/// Whether the peer is composing (RFC 3994 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComposingState {
    /// The peer is composing a message.
    Active,
    /// The peer is not composing (or stopped).
    Idle,
}

impl ComposingState {
    fn as_str(self) -> &'static str {
        match self {
            ComposingState::Active => "active",
            ComposingState::Idle => "idle",
        }
    }
}

/// An isComposing status message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IsComposing {
    /// Active or idle.
    pub state: ComposingState,
    /// The type of message being composed, e.g. `text/plain`.
    pub content_type: Option<String>,
    /// For `active`: seconds until the state lapses to idle unless refreshed.
    pub refresh_secs: Option<u32>,
    /// When the peer was last active (xs:dateTime text, passed through).
    pub last_active: Option<String>,
}

impl IsComposing {
    /// An `active` indication refreshed every `refresh_secs` seconds.
    pub fn active(refresh_secs: u32) -> IsComposing {
        IsComposing {
            state: ComposingState::Active,
            content_type: None,
            refresh_secs: Some(refresh_secs),
            last_active: None,
        }
    }

    /// An `idle` indication.
    pub fn idle() -> IsComposing {
        IsComposing {
            state: ComposingState::Idle,
            content_type: None,
            refresh_secs: None,
            last_active: None,
        }
    }

    /// The XML document, elements in the RFC 3994 schema order. Text is
    /// escaped; control characters become spaces.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = String::with_capacity(200);
        s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        s.push_str("<isComposing xmlns=\"");
        s.push_str(NAMESPACE);
        s.push_str("\">");
        element(&mut s, "state", self.state.as_str());
        if let Some(t) = &self.last_active {
            element(&mut s, "lastactive", t);
        }
        if let Some(t) = &self.content_type {
            element(&mut s, "contenttype", t);
        }
        if let Some(r) = self.refresh_secs {
            element(&mut s, "refresh", &r.to_string());
        }
        s.push_str("</isComposing>\n");
        s.into_bytes()
    }

    /// Decodes and checks a document.
    pub fn decode(bytes: &[u8]) -> Result<IsComposing, TypingError> {
        parse::parse(bytes)
    }
}

fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    for c in sanitize_line(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests;
