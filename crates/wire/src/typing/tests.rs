//! isComposing tests: the RFC 3994 example, XXE and entity bombs, wrong documents, property tests.

use super::*;
use proptest::prelude::*;

/// The example of RFC 3994 §6 (`active`), reformatted.
const RFC_EXAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="urn:ietf:params:xml:ns:im-composing iscomposing.xsd">
  <state>active</state>
  <contenttype>text/plain</contenttype>
  <refresh>90</refresh>
</isComposing>
"#;

#[test]
fn decodes_rfc_example() {
    let doc = IsComposing::decode(RFC_EXAMPLE.as_bytes()).unwrap();
    assert_eq!(
        doc,
        IsComposing {
            state: ComposingState::Active,
            content_type: Some("text/plain".into()),
            refresh_secs: Some(90),
            last_active: None,
        }
    );
}

#[test]
fn encodes_known_document() {
    let doc = IsComposing {
        state: ComposingState::Idle,
        content_type: Some("text/plain".into()),
        refresh_secs: None,
        last_active: Some("2003-01-27T10:43:00Z".into()),
    };
    let want = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
        <isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">\
        <state>idle</state><lastactive>2003-01-27T10:43:00Z</lastactive>\
        <contenttype>text/plain</contenttype></isComposing>\n";
    assert_eq!(String::from_utf8(doc.encode()).unwrap(), want);
    assert_eq!(IsComposing::decode(want.as_bytes()), Ok(doc));
    assert_eq!(
        IsComposing::decode(&IsComposing::active(60).encode()),
        Ok(IsComposing::active(60))
    );
    assert_eq!(
        IsComposing::decode(&IsComposing::idle().encode()),
        Ok(IsComposing::idle())
    );
}

#[test]
fn accepts_prefixes_extensions_comments_and_references() {
    let doc = r#"<ic:isComposing xmlns:ic="urn:ietf:params:xml:ns:im-iscomposing" xmlns:x="urn:example">
        <!-- a comment -->
        <ic:state>idle</ic:state>
        <x:extra><x:deeper a="1">ignored &amp; skipped</x:deeper></x:extra>
        <ic:contenttype>a&amp;b&#x2F;c&lt;&#62;</ic:contenttype>
        <ic:refresh> 120 </ic:refresh>
    </ic:isComposing>"#;
    let got = IsComposing::decode(doc.as_bytes()).unwrap();
    assert_eq!(got.state, ComposingState::Idle);
    assert_eq!(got.content_type.as_deref(), Some("a&b/c<>"));
    assert_eq!(got.refresh_secs, Some(120));
    // And the encoder escapes what needs escaping.
    let back = IsComposing::decode(&got.encode()).unwrap();
    assert_eq!(back, got);
}

fn doc(inner: &str) -> String {
    format!("<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">{inner}</isComposing>")
}

#[test]
fn refuses_xxe_and_entity_bombs() {
    let xxe = r#"<?xml version="1.0"?>
<!DOCTYPE isComposing [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>&xxe;</state></isComposing>"#;
    assert_eq!(IsComposing::decode(xxe.as_bytes()), Err(TypingError::Dtd));
    let laughs = r#"<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>&lol2;</state></isComposing>"#;
    assert_eq!(
        IsComposing::decode(laughs.as_bytes()),
        Err(TypingError::Dtd)
    );
    // An undeclared entity is refused, not looked up.
    assert_eq!(
        IsComposing::decode(doc("<state>&lol;</state>").as_bytes()),
        Err(TypingError::UndefinedEntity("lol".into()))
    );
}

#[test]
fn refuses_wrong_documents() {
    let cases: Vec<(String, TypingError)> = vec![
        ("x".repeat(MAX_DOCUMENT_BYTES + 1), TypingError::TooLarge),
        (doc("<state>busy</state>"), TypingError::UnknownState("busy".into())),
        (doc("<state>Active</state>"), TypingError::UnknownState("Active".into())),
        (doc(""), TypingError::MissingState),
        (doc("<state>idle</state><state>idle</state>"), TypingError::DuplicateElement("state")),
        (doc("<state>idle</state><mood>x</mood>"), TypingError::UnknownElement("mood".into())),
        (doc("<state><b>idle</b></state>"), TypingError::Malformed("markup inside a simple element")),
        (doc("text<state>idle</state>"), TypingError::Malformed("text outside a simple element")),
        (doc("<state>idle</state><refresh>0</refresh>"), TypingError::InvalidValue { element: "refresh", reason: "must be positive" }),
        (doc("<state>idle</state><refresh>-5</refresh>"), TypingError::InvalidValue { element: "refresh", reason: "not a decimal number" }),
        (doc("<state>idle</state><refresh>4294967296</refresh>"), TypingError::InvalidValue { element: "refresh", reason: "out of range" }),
        (doc("<state>idle</state><lastactive>yesterday at 5</lastactive>"), TypingError::InvalidValue { element: "lastactive", reason: "not an xs:dateTime" }),
        (doc("<state>idle</state><contenttype></contenttype>"), TypingError::InvalidValue { element: "contenttype", reason: "must be 1 to 255 characters without controls" }),
        (doc("<state>idle</state><contenttype>a&#1;b</contenttype>"), TypingError::InvalidValue { element: "contenttype", reason: "must be 1 to 255 characters without controls" }),
        ("<isComposing><state>idle</state></isComposing>".into(), TypingError::WrongRoot),
        ("<isComposing xmlns=\"urn:ietf:params:xml:ns:im-composing\"><state>idle</state></isComposing>".into(), TypingError::WrongRoot),
        ("<other xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"/>".into(), TypingError::WrongRoot),
        (format!("{}{}", doc("<state>idle</state>"), doc("<state>idle</state>")), TypingError::Malformed("content after the root element")),
        (format!("<?pi x?>{}", doc("<state>idle</state>")), TypingError::Malformed("processing instruction")),
        (format!("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>{}", doc("<state>idle</state>")), TypingError::UnsupportedEncoding),
        ("".into(), TypingError::Malformed("incomplete document")),
        (format!(" <?xml version=\"1.0\"?>{}", doc("<state>idle</state>")), TypingError::Malformed("XML declaration not at the start")),
        (format!("<?xml version=\"1.1\"?>{}", doc("<state>idle</state>")), TypingError::Malformed("XML version must be 1.0")),
        ("<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"><state>idle</state>".into(), TypingError::Malformed("incomplete document")),
        (doc(&format!("<state>idle</state><x:a xmlns:x=\"u:x\">{}{}</x:a>", "<x:b>".repeat(8), "</x:b>".repeat(8))), TypingError::TooDeep),
    ];
    for (input, want) in cases {
        assert_eq!(IsComposing::decode(input.as_bytes()), Err(want), "{input}");
    }
    assert_eq!(
        IsComposing::decode(b"\xff\xfe"),
        Err(TypingError::InvalidUtf8)
    );
    for broken in [
        doc("<state>idle</statex>"),
        "<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"><state>idle</isComposing>"
            .into(),
        doc("<state>idle</state>&"),
        doc("<state a=>idle</state>"),
    ] {
        assert!(IsComposing::decode(broken.as_bytes()).is_err(), "{broken}");
    }
}

prop_compose! {
    fn arb_doc()(
        active: bool,
        content_type in proptest::option::of("[a-z]{1,10}/[a-z0-9.+&<>-]{1,20}"),
        refresh_secs in proptest::option::of(1u32..),
        last_active in proptest::option::of("20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,3})?(Z|[+-][0-2][0-9]:[0-5][0-9])"),
    ) -> IsComposing {
        IsComposing {
            state: if active { ComposingState::Active } else { ComposingState::Idle },
            content_type, refresh_secs, last_active,
        }
    }
}

proptest! {
    #[test]
    fn round_trip(d in arb_doc()) {
        prop_assert_eq!(IsComposing::decode(&d.encode()), Ok(d));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = IsComposing::decode(&bytes);
    }

    #[test]
    fn decode_of_xmlish_text_never_panics(s in "[<>/=\"'&;#a-z: ?!\\[\\]-]{0,200}") {
        let _ = IsComposing::decode(s.as_bytes());
        let _ = IsComposing::decode(doc(&s).as_bytes());
    }

    #[test]
    fn corrupted_documents_never_panic(d in arb_doc(), at: usize, byte: u8) {
        let mut bytes = d.encode();
        let i = at % bytes.len();
        bytes[i] = byte;
        let _ = IsComposing::decode(&bytes);
    }
}
