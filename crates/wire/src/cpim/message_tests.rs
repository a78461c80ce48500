//! Tests of the generic CPIM codec: RFC 3862 examples, broken and oversized input, property tests.

use super::*;
use proptest::prelude::*;

/// A message written by hand from RFC 3862 §2 and §3.
const KNOWN: &[u8] = b"From: MR SANDERS <im:piglet@100akerwood.com>\r\n\
To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n\
DateTime: 2000-12-13T13:40:00-08:00\r\n\
Subject:;lang=fr beaucoup de miel\r\n\
NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n\
MyFeatures.WackyMessageOption: Use-silly-font\r\n\
\r\n\
Content-Type: text/xml; charset=utf-8\r\n\
Content-ID: <1234567890@foo.com>\r\n\
\r\n\
<body>Here is the text of my message.</body>";

#[test]
fn decodes_known_message() {
    let m = Message::decode(KNOWN).unwrap();
    assert_eq!(m.headers.len(), 6);
    assert_eq!(
        m.headers[0],
        Header::new("From", "MR SANDERS <im:piglet@100akerwood.com>")
    );
    assert_eq!(
        m.headers[3],
        Header::new("Subject", ";lang=fr beaucoup de miel")
    );
    assert_eq!(
        m.headers[5],
        Header::new("MyFeatures.WackyMessageOption", "Use-silly-font")
    );
    assert_eq!(m.content_type(), Some("text/xml; charset=utf-8"));
    assert_eq!(m.header("DateTime"), Some("2000-12-13T13:40:00-08:00"));
    assert_eq!(m.body, b"<body>Here is the text of my message.</body>");
}

#[test]
fn encodes_known_message_byte_for_byte() {
    let m = Message {
        headers: vec![Header::new("From", "<tel:+15551234567>")],
        content_headers: vec![
            Header::new("Content-Type", "message/mls"),
            Header::new("Content-Length", "3"),
        ],
        body: vec![0, 0xff, b'\n'],
    };
    let want: &[u8] = b"From: <tel:+15551234567>\r\n\r\n\
Content-Type: message/mls\r\nContent-Length: 3\r\n\r\n\x00\xff\n";
    assert_eq!(m.encode(), want);
    assert_eq!(Message::decode(want).unwrap(), m);
}

#[test]
fn empty_message_header_section_is_allowed() {
    let m = Message::decode(b"\r\nContent-Type: text/plain\r\n\r\nhi").unwrap();
    assert!(m.headers.is_empty());
    assert_eq!(m.body, b"hi");
}

#[test]
fn refuses_structural_errors() {
    let cases: &[(&[u8], CpimError)] = &[
        (b"", CpimError::Truncated),
        (b"From: <a>\r\n", CpimError::Truncated),
        (
            b"From: <a>\r\n\r\nContent-Type: x/y\r\n",
            CpimError::Truncated,
        ),
        (b"From: <a>\r\n\r\nContent-Type: x/y", CpimError::Truncated),
        (
            b"From: <a>\n\nContent-Type: x/y\n\nbody",
            CpimError::Malformed("bare LF in header section"),
        ),
        (
            b"From: <a>\r\r\n",
            CpimError::Malformed("bare CR in header section"),
        ),
        (
            b"From <a>\r\n\r\n",
            CpimError::Malformed("header line without ':'"),
        ),
        (
            b"From:<a>\r\n\r\n",
            CpimError::Malformed("expected SP after ':'"),
        ),
        (
            b" From: <a>\r\n\r\n",
            CpimError::InvalidHeader {
                name: " From".into(),
                reason: "not an RFC 3862 header name",
            },
        ),
        (b"\r\n\r\nbody", CpimError::MissingHeader("Content-Type")),
        (
            b"\r\nContent-Length: 4\r\n\r\nbody",
            CpimError::MissingHeader("Content-Type"),
        ),
        (
            b"\r\nContent-Type: a/b\r\ncontent-type: a/b\r\n\r\n",
            CpimError::DuplicateHeader("content-type".into()),
        ),
        (
            b"\r\nContent-Type: a/b\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
            CpimError::DuplicateHeader("Content-Length".into()),
        ),
        (
            b"\r\nContent-Type: a/b\r\nContent-Length: 5\r\n\r\nbody",
            CpimError::ContentLengthMismatch,
        ),
        (
            b"\r\nContent-Type: a/b\r\nContent-Length: 3\r\n\r\nbody",
            CpimError::ContentLengthMismatch,
        ),
        (
            b"\r\nContent-Type: a/b\r\nContent-Length: -4\r\n\r\nbody",
            CpimError::InvalidHeader {
                name: "Content-Length".into(),
                reason: "not a decimal length",
            },
        ),
        (
            b"\r\nContent-Type: a/b\r\nContent-Length: 99999999999999999999\r\n\r\nbody",
            CpimError::InvalidHeader {
                name: "Content-Length".into(),
                reason: "not a decimal length",
            },
        ),
        (
            b"X: a\x01b\r\n\r\n",
            CpimError::InvalidHeader {
                name: "X".into(),
                reason: "control character in header value",
            },
        ),
        (
            b"X: a\tb\r\n\r\n",
            CpimError::InvalidHeader {
                name: "X".into(),
                reason: "control character in header value",
            },
        ),
        (
            b"X: \xff\r\n\r\n",
            CpimError::InvalidHeader {
                name: "X".into(),
                reason: "header value is not UTF-8",
            },
        ),
        (
            b"\xff: x\r\n\r\n",
            CpimError::Malformed("header name is not UTF-8"),
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(
            Message::decode(bytes).as_ref(),
            Err(want),
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn refuses_oversized_input() {
    // Header section over 16 KiB, with and without a line ending in it.
    let mut long = b"X: ".to_vec();
    long.extend(std::iter::repeat_n(b'a', MAX_HEADER_BYTES));
    assert_eq!(Message::decode(&long), Err(CpimError::TooLarge));
    long.extend_from_slice(b"\r\n\r\nContent-Type: a/b\r\n\r\n");
    assert_eq!(Message::decode(&long), Err(CpimError::TooLarge));

    // 65 headers.
    let mut many = Vec::new();
    for i in 0..=MAX_HEADERS {
        many.extend_from_slice(format!("X{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\nContent-Type: a/b\r\n\r\n");
    assert_eq!(Message::decode(&many), Err(CpimError::TooLarge));

    // Body over the limit, with and without Content-Length.
    let limits = Limits {
        max_body: 4,
        ..Limits::default()
    };
    assert!(Message::decode_with(b"\r\nContent-Type: a/b\r\n\r\n1234", &limits).is_ok());
    assert_eq!(
        Message::decode_with(b"\r\nContent-Type: a/b\r\n\r\n12345", &limits),
        Err(CpimError::TooLarge)
    );
    assert_eq!(
        Message::decode_with(
            b"\r\nContent-Type: a/b\r\nContent-Length: 5\r\n\r\n12345",
            &limits
        ),
        Err(CpimError::TooLarge)
    );
}

#[test]
fn encode_cannot_inject_headers() {
    let m = Message {
        headers: vec![
            Header::new("X", "v\r\nmls.Era-ID: 9"),
            Header::new("Bad Name:", "v"),
        ],
        content_headers: vec![Header::new("Content-Type", "a/b\r\n\r\nforged")],
        body: b"body".to_vec(),
    };
    let back = Message::decode(&m.encode()).unwrap();
    assert_eq!(back.headers.len(), 2);
    assert_eq!(back.headers[0], Header::new("X", "v  mls.Era-ID: 9"));
    assert_eq!(back.headers[1].name, "Bad_Name_");
    assert_eq!(back.content_type(), Some("a/b    forged"));
    assert_eq!(back.body, b"body");
}

fn arb_name() -> impl Strategy<Value = String> {
    let name = "[A-Za-z0-9!#$%&'*+^_`|~-]{1,12}";
    (proptest::option::of(name), name).prop_map(|(prefix, local)| match prefix {
        Some(p) => format!("{p}.{local}"),
        None => local,
    })
}

fn arb_value() -> impl Strategy<Value = String> {
    "[ -~\u{a0}-\u{2fff}]{0,40}"
}

fn arb_header() -> impl Strategy<Value = Header> {
    (arb_name(), arb_value()).prop_map(|(n, v)| Header::new(n, v))
}

prop_compose! {
    fn arb_message()(
        headers in proptest::collection::vec(arb_header(), 0..10),
        mut content_headers in proptest::collection::vec(arb_header(), 0..4),
        content_type in arb_value(),
        body in proptest::collection::vec(any::<u8>(), 0..200),
        with_length: bool,
    ) -> Message {
        content_headers.retain(|h| {
            !h.name.eq_ignore_ascii_case("Content-Type")
                && !h.name.eq_ignore_ascii_case("Content-Length")
        });
        content_headers.insert(0, Header::new("Content-Type", content_type));
        if with_length {
            content_headers.push(Header::new("Content-Length", body.len().to_string()));
        }
        Message { headers, content_headers, body }
    }
}

proptest! {
    #[test]
    fn round_trip(m in arb_message()) {
        prop_assert_eq!(Message::decode(&m.encode()), Ok(m));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Message::decode(&bytes);
    }

    #[test]
    fn corrupted_messages_never_panic(m in arb_message(), at: usize, byte: u8) {
        let mut bytes = m.encode();
        let i = at % bytes.len();
        bytes[i] = byte;
        let _ = Message::decode(&bytes);
    }
}
