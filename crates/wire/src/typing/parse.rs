//! A strict isComposing parser over the `quick-xml` pull reader.
//!
//! The reader tokenises, checks well-formedness (matching end tags) and
//! resolves namespaces; this module decides what is allowed. It never expands
//! entities: a DOCTYPE is refused outright, and a general reference is
//! resolved here only if it is a character reference or one of the five
//! predefined entities (XML 1.0 §4.6).

use super::error::TypingError;
use super::{ComposingState, IsComposing, MAX_DOCUMENT_BYTES, NAMESPACE};
use crate::text::is_control;
use crate::xml::excerpt;
use crate::xml::{check_declaration, resolve_reference, strict_reader};
use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};

/// The deepest element nesting accepted (the schema needs 2; extensions more).
const MAX_DEPTH: usize = 8;

/// The simple elements of RFC 3994 §7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    State,
    LastActive,
    ContentType,
    Refresh,
}

impl Field {
    fn of(local: &str) -> Option<Field> {
        Some(match local {
            "state" => Field::State,
            "lastactive" => Field::LastActive,
            "contenttype" => Field::ContentType,
            "refresh" => Field::Refresh,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Field::State => "state",
            Field::LastActive => "lastactive",
            Field::ContentType => "contenttype",
            Field::Refresh => "refresh",
        }
    }
}

/// Parser state while walking the events.
#[derive(Default)]
struct Walk {
    depth: usize,
    root_done: bool,
    /// The simple element being read, and its text so far.
    current: Option<(Field, String)>,
    /// Depth of the foreign (extension) element being skipped.
    skipping_from: Option<usize>,
    values: [Option<String>; 4],
}

pub(super) fn parse(bytes: &[u8]) -> Result<IsComposing, TypingError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(TypingError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| TypingError::InvalidUtf8)?;
    let mut reader = strict_reader(text);
    let mut walk = Walk::default();
    let mut first = true;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| TypingError::Xml(excerpt(&e.to_string())))?;
        match event {
            Event::Eof => break,
            Event::Start(e) => {
                // Attributes are ignored, but must be well-formed and unique.
                for attribute in e.attributes() {
                    attribute.map_err(|e| TypingError::Xml(excerpt(&e.to_string())))?;
                }
                let local = e.local_name();
                let bound = matches!(ns, ResolveResult::Bound(Namespace(n)) if n == NAMESPACE);
                walk.start(bound, local.as_ref())?;
            }
            Event::End(_) => walk.end(),
            Event::Text(t) => walk.text(&t.xml10_content())?,
            Event::CData(c) => walk.text(&c.xml10_content())?,
            Event::GeneralRef(r) => walk.text(resolve_reference(&r)?.encode_utf8(&mut [0; 4]))?,
            Event::Comment(_) => {}
            Event::Decl(_) if !first => {
                return Err(TypingError::Malformed("XML declaration not at the start"));
            }
            Event::Decl(d) => check_declaration(&d)?,
            Event::DocType(_) => return Err(TypingError::Dtd),
            Event::PI(_) => return Err(TypingError::Malformed("processing instruction")),
            Event::Empty(_) => return Err(TypingError::Malformed("unexpected empty element")),
        }
        first = false;
    }
    if !walk.root_done || walk.depth != 0 {
        return Err(TypingError::Malformed("incomplete document"));
    }
    walk.finish()
}

impl Walk {
    fn start(&mut self, in_namespace: bool, local: &str) -> Result<(), TypingError> {
        if self.root_done {
            return Err(TypingError::Malformed("content after the root element"));
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(TypingError::TooDeep);
        }
        if self.skipping_from.is_some() {
            return Ok(());
        }
        match self.depth {
            1 if in_namespace && local == "isComposing" => Ok(()),
            1 => Err(TypingError::WrongRoot),
            2 if in_namespace => {
                let field =
                    Field::of(local).ok_or_else(|| TypingError::UnknownElement(excerpt(local)))?;
                if self.values[field as usize].is_some() {
                    return Err(TypingError::DuplicateElement(field.name()));
                }
                self.current = Some((field, String::new()));
                Ok(())
            }
            2 => {
                self.skipping_from = Some(2);
                Ok(())
            }
            _ => Err(TypingError::Malformed("markup inside a simple element")),
        }
    }

    fn end(&mut self) {
        if self.depth == 2
            && let Some((field, text)) = self.current.take()
        {
            self.values[field as usize] = Some(text);
        }
        if self.skipping_from == Some(self.depth) {
            self.skipping_from = None;
        }
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 0 {
            self.root_done = true;
        }
    }

    fn text(&mut self, s: &str) -> Result<(), TypingError> {
        if self.skipping_from.is_some() {
            return Ok(());
        }
        match &mut self.current {
            Some((_, buf)) => {
                buf.push_str(s);
                Ok(())
            }
            None if s.trim().is_empty() => Ok(()),
            None => Err(TypingError::Malformed("text outside a simple element")),
        }
    }

    fn finish(self) -> Result<IsComposing, TypingError> {
        let [state, last_active, content_type, refresh] = self.values;
        let state = match state.as_deref().map(str::trim) {
            None => return Err(TypingError::MissingState),
            Some("active") => ComposingState::Active,
            Some("idle") => ComposingState::Idle,
            Some(other) => return Err(TypingError::UnknownState(excerpt(other))),
        };
        Ok(IsComposing {
            state,
            content_type: content_type.map(|t| check_content_type(&t)).transpose()?,
            refresh_secs: refresh.map(|t| check_refresh(&t)).transpose()?,
            last_active: last_active.map(|t| check_date_time(&t)).transpose()?,
        })
    }
}

fn check_content_type(text: &str) -> Result<String, TypingError> {
    let t = text.trim();
    if t.is_empty() || t.len() > 255 || t.chars().any(is_control) {
        return Err(TypingError::InvalidValue {
            element: "contenttype",
            reason: "must be 1 to 255 characters without controls",
        });
    }
    Ok(t.to_owned())
}

fn check_refresh(text: &str) -> Result<u32, TypingError> {
    let invalid = |reason| TypingError::InvalidValue {
        element: "refresh",
        reason,
    };
    let t = text.trim();
    if t.is_empty() || t.len() > 10 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("not a decimal number"));
    }
    match t.parse::<u32>() {
        Ok(0) => Err(invalid("must be positive")),
        Ok(n) => Ok(n),
        Err(_) => Err(invalid("out of range")),
    }
}

/// The characters of an xs:dateTime; the value itself is passed through.
fn check_date_time(text: &str) -> Result<String, TypingError> {
    let t = text.trim();
    let ok = (1..=64).contains(&t.len())
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'+' | b'-'));
    if ok {
        Ok(t.to_owned())
    } else {
        Err(TypingError::InvalidValue {
            element: "lastactive",
            reason: "not an xs:dateTime",
        })
    }
}
