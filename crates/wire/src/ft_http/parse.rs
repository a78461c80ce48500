//! A strict FT-HTTP descriptor parser over the `quick-xml` pull reader.
//!
//! The reader tokenises, checks that end tags match and resolves
//! namespaces; this module decides what is allowed. No entity is ever
//! expanded: a DOCTYPE is refused, and a reference is resolved only if it
//! is a character reference or one of the five predefined entities.

use crate::xml::{check_declaration, excerpt, resolve_reference, strict_reader};
use quick_xml::XmlVersion;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};

use super::error::DescriptorError;
use super::{Download, FileEntry, MAX_DESCRIPTOR_BYTES, NAMESPACE, parse_until};

/// The deepest element nesting accepted (the schema needs 3).
const MAX_DEPTH: usize = 8;
/// Longest text of a simple element we read.
const MAX_TEXT: usize = 512;

/// The simple elements of a `file-info` we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Size,
    Name,
    ContentType,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Size => "file-size",
            Field::Name => "file-name",
            Field::ContentType => "content-type",
        }
    }
}

/// One `file-info` while it is read.
#[derive(Default)]
struct Entry {
    values: [Option<String>; 3],
    data: Option<(Option<String>, Option<String>)>,
}

/// What the parse found.
pub(super) struct Parsed {
    pub(super) file: FileEntry,
    pub(super) thumbnail: Option<FileEntry>,
}

#[derive(Default)]
struct Walk {
    depth: usize,
    root_done: bool,
    /// Depth of the element whose subtree is being skipped.
    skipping_from: Option<usize>,
    /// The `file-info` being read: true for `file`, false for `thumbnail`.
    entry: Option<(bool, Entry)>,
    /// The simple element being read and its text so far.
    current: Option<(Field, String)>,
    /// Inside `data` (which must stay empty).
    in_data: bool,
    file: Option<Entry>,
    thumbnail: Option<Entry>,
}

pub(super) fn parse(bytes: &[u8]) -> Result<Parsed, DescriptorError> {
    // FT-HTTP-1.
    if bytes.len() > MAX_DESCRIPTOR_BYTES {
        return Err(DescriptorError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| DescriptorError::Encoding)?;
    let mut reader = strict_reader(text);
    let mut walk = Walk::default();
    let mut first = true;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| DescriptorError::Xml(excerpt(&e.to_string())))?;
        match event {
            Event::Eof => break,
            Event::Start(e) => {
                let bound = matches!(ns, ResolveResult::Bound(Namespace(n)) if n == NAMESPACE);
                walk.start(bound, &e)?;
            }
            Event::End(_) => walk.end()?,
            Event::Text(t) => walk.text(&t.xml10_content())?,
            Event::CData(c) => walk.text(&c.xml10_content())?,
            Event::GeneralRef(r) => walk.text(resolve_reference(&r)?.encode_utf8(&mut [0; 4]))?,
            Event::Comment(_) => {}
            Event::Decl(d) if first => check_declaration(&d)?,
            Event::Decl(_) => {
                return Err(DescriptorError::Malformed(
                    "XML declaration not at the start",
                ));
            }
            // FT-HTTP-2.
            Event::DocType(_) => return Err(DescriptorError::Malformed("DOCTYPE")),
            Event::PI(_) => return Err(DescriptorError::Malformed("processing instruction")),
            Event::Empty(_) => return Err(DescriptorError::Malformed("unexpected empty element")),
        }
        first = false;
    }
    if !walk.root_done || walk.depth != 0 {
        return Err(DescriptorError::Malformed("incomplete document"));
    }
    walk.finish()
}

impl Walk {
    fn start(&mut self, bound: bool, e: &BytesStart<'_>) -> Result<(), DescriptorError> {
        if self.root_done {
            return Err(DescriptorError::Malformed("content after the root element"));
        }
        let mut attrs = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|e| DescriptorError::Xml(excerpt(&e.to_string())))?;
            attrs.push(a);
        }
        self.depth += 1;
        // FT-HTTP-3.
        if self.depth > MAX_DEPTH {
            return Err(DescriptorError::TooDeep);
        }
        if self.skipping_from.is_some() {
            return Ok(());
        }
        let local = e.local_name();
        let local = local.as_ref();
        match self.depth {
            1 if bound && local == "file" => Ok(()),
            1 => Err(DescriptorError::WrongRoot),
            2 if bound && local == "file-info" => {
                let kind =
                    attribute(&attrs, "type")?.ok_or(DescriptorError::Missing("file-info type"))?;
                let is_file = match kind.as_str() {
                    "file" => true,
                    "thumbnail" => false,
                    _ => return Err(DescriptorError::UnknownType),
                };
                let taken = if is_file { &self.file } else { &self.thumbnail };
                if taken.is_some() {
                    return Err(DescriptorError::Duplicate("file-info"));
                }
                self.entry = Some((is_file, Entry::default()));
                Ok(())
            }
            3 if bound && self.entry.is_some() => {
                let Some((_, entry)) = &mut self.entry else {
                    return Ok(());
                };
                let field = match local {
                    "file-size" => Field::Size,
                    "file-name" => Field::Name,
                    "content-type" => Field::ContentType,
                    "data" => {
                        if entry.data.is_some() {
                            return Err(DescriptorError::Duplicate("data"));
                        }
                        entry.data = Some((attribute(&attrs, "url")?, attribute(&attrs, "until")?));
                        self.in_data = true;
                        return Ok(());
                    }
                    _ => {
                        self.skipping_from = Some(self.depth);
                        return Ok(());
                    }
                };
                if entry.values[field as usize].is_some() {
                    return Err(DescriptorError::Duplicate(field.name()));
                }
                self.current = Some((field, String::new()));
                Ok(())
            }
            // Elements we do not read (RCC.07 extensions, `mls-file`, other
            // namespaces) are skipped with their subtree.
            2 | 3 if self.current.is_none() && !self.in_data => {
                self.skipping_from = Some(self.depth);
                Ok(())
            }
            _ => Err(DescriptorError::Malformed("markup inside a simple element")),
        }
    }

    fn end(&mut self) -> Result<(), DescriptorError> {
        if self.skipping_from == Some(self.depth) {
            self.skipping_from = None;
        } else if self.skipping_from.is_none() {
            match self.depth {
                3 if self.in_data => self.in_data = false,
                3 => {
                    if let (Some((field, text)), Some((_, entry))) =
                        (self.current.take(), &mut self.entry)
                    {
                        entry.values[field as usize] = Some(text);
                    }
                }
                2 => match self.entry.take() {
                    Some((true, e)) => self.file = Some(e),
                    Some((false, e)) => self.thumbnail = Some(e),
                    None => {}
                },
                _ => {}
            }
        }
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 0 {
            self.root_done = true;
        }
        Ok(())
    }

    fn text(&mut self, s: &str) -> Result<(), DescriptorError> {
        if self.skipping_from.is_some() {
            return Ok(());
        }
        match &mut self.current {
            Some((_, buf)) => {
                if buf.len() + s.len() > MAX_TEXT {
                    return Err(DescriptorError::TooLarge);
                }
                buf.push_str(s);
                Ok(())
            }
            None if s.trim().is_empty() => Ok(()),
            None => Err(DescriptorError::Malformed("text outside a simple element")),
        }
    }

    /// FT-HTTP-4: one `file`, at most one `thumbnail`, each complete.
    fn finish(self) -> Result<Parsed, DescriptorError> {
        let file = self
            .file
            .ok_or(DescriptorError::Missing("file-info type=\"file\""))?;
        Ok(Parsed {
            file: file.entry()?,
            thumbnail: self.thumbnail.map(Entry::entry).transpose()?,
        })
    }
}

impl Entry {
    fn entry(self) -> Result<FileEntry, DescriptorError> {
        let [size, _name, content_type] = self.values;
        let size = size.ok_or(DescriptorError::Missing("file-size"))?;
        let size = size.trim();
        if size.is_empty() || size.len() > 20 || !size.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DescriptorError::Size);
        }
        let size = size.parse().map_err(|_| DescriptorError::Size)?;
        let content_type = content_type.ok_or(DescriptorError::Missing("content-type"))?;
        let (url, until) = self.data.ok_or(DescriptorError::Missing("data"))?;
        let url = url.ok_or(DescriptorError::Missing("data url"))?;
        let until = parse_until(&until.ok_or(DescriptorError::Missing("data until"))?)?;
        Ok(FileEntry {
            size,
            content_type: content_type.trim().to_owned(),
            download: Download {
                url: url.trim().to_owned(),
                until,
            },
        })
    }
}

/// The value of the unprefixed attribute `name`, unescaped.
fn attribute(attrs: &[Attribute<'_>], name: &str) -> Result<Option<String>, DescriptorError> {
    let mut found = None;
    for a in attrs {
        if a.key.prefix().is_none() && a.key.local_name().as_ref() == name {
            if found.is_some() {
                return Err(DescriptorError::Duplicate("attribute"));
            }
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| DescriptorError::Xml(excerpt(&e.to_string())))?;
            found = Some(v.into_owned());
        }
    }
    Ok(found)
}
