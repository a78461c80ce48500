//! What the three XML decoders of untrusted documents share (isComposing,
//! IMDN, the FT-HTTP descriptor): one strict reader configuration, the XML
//! declaration check, the references XML defines without a DTD, and the
//! excerpt of untrusted text an error may quote. Each decoder maps an
//! [`XmlRefusal`] into its own typed error.

use quick_xml::events::{BytesDecl, BytesRef};
use quick_xml::reader::NsReader;

/// A namespace-resolving reader that expands `<a/>` into start and end,
/// and checks end names and comments.
pub(crate) fn strict_reader(text: &str) -> NsReader<&[u8]> {
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    config.expand_empty_elements = true;
    config.check_end_names = true;
    config.check_comments = true;
    reader
}

/// Why a reference or the declaration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum XmlRefusal {
    /// A character reference naming no character XML allows.
    BadCharacterReference,
    /// An entity other than the five predefined ones (there is no DTD to
    /// define it); its name, cut to an excerpt.
    UndefinedEntity(String),
    /// The declaration names another XML version than 1.0.
    NotXml10,
    /// The declaration names an encoding other than UTF-8.
    UnsupportedEncoding,
}

/// A character reference or one of the five predefined entities.
pub(crate) fn resolve_reference(r: &BytesRef<'_>) -> Result<char, XmlRefusal> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) => Ok(c),
            _ => Err(XmlRefusal::BadCharacterReference),
        };
    }
    match &**r {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        other => Err(XmlRefusal::UndefinedEntity(excerpt(other))),
    }
}

/// The XML declaration: version 1.0, and UTF-8 if an encoding is named.
pub(crate) fn check_declaration(d: &BytesDecl<'_>) -> Result<(), XmlRefusal> {
    match d.version() {
        Ok(v) if v == "1.0" => {}
        _ => return Err(XmlRefusal::NotXml10),
    }
    match d.encoding() {
        None => Ok(()),
        Some(Ok(e)) if e.eq_ignore_ascii_case("utf-8") => Ok(()),
        Some(_) => Err(XmlRefusal::UnsupportedEncoding),
    }
}

/// At most 64 characters of untrusted text, for an error message.
pub(crate) fn excerpt(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::events::Event;

    fn first_reference(doc: &str) -> Result<char, XmlRefusal> {
        let mut reader = strict_reader(doc);
        loop {
            match reader.read_event().expect("well-formed") {
                Event::GeneralRef(r) => return resolve_reference(&r),
                Event::Eof => panic!("no reference in {doc}"),
                _ => {}
            }
        }
    }

    fn declaration(doc: &str) -> Result<(), XmlRefusal> {
        match strict_reader(doc).read_event().expect("well-formed") {
            Event::Decl(d) => check_declaration(&d),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn references() {
        assert_eq!(first_reference("<a>&lt;</a>"), Ok('<'));
        assert_eq!(first_reference("<a>&quot;</a>"), Ok('"'));
        assert_eq!(first_reference("<a>&#x41;</a>"), Ok('A'));
        assert_eq!(first_reference("<a>&#65;</a>"), Ok('A'));
        assert_eq!(
            first_reference("<a>&#0;</a>"),
            Err(XmlRefusal::BadCharacterReference)
        );
        assert_eq!(
            first_reference("<a>&nbsp;</a>"),
            Err(XmlRefusal::UndefinedEntity("nbsp".into()))
        );
    }

    #[test]
    fn declarations() {
        assert_eq!(declaration("<?xml version=\"1.0\"?><a/>"), Ok(()));
        assert_eq!(
            declaration("<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>"),
            Ok(())
        );
        assert_eq!(
            declaration("<?xml version=\"1.1\"?><a/>"),
            Err(XmlRefusal::NotXml10)
        );
        assert_eq!(
            declaration("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>"),
            Err(XmlRefusal::UnsupportedEncoding)
        );
    }

    #[test]
    fn excerpts_are_cut_at_64_characters() {
        assert_eq!(excerpt(&"é".repeat(100)).chars().count(), 64);
        assert_eq!(excerpt("short"), "short");
    }
}
