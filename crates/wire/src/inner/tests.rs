//! Application payload tests: byte-exact frames written out from the fact
//! sheet (§3b), broken, forged and oversized input, property tests.
//!
//! The vectors were computed with a short Python script: `rest` is the
//! header text below followed by the body, the prefix is
//! `(0x4000 | len(rest)).to_bytes(2, "big")` (RFC 9420 §2.1.2, two-byte
//! form for 64..16383), and the frame is
//! `00 01 ‖ 00 01 ‖ generation.to_bytes(4, "big") ‖ prefix ‖ rest`.

use super::*;
use crate::content_type;
use crate::test_util::hex;
use proptest::prelude::*;

/// `fixed` (hex) followed by the ASCII `text` and the `body` bytes.
fn vector(fixed: &str, text: &str, body: &[u8]) -> Vec<u8> {
    let mut v = hex(fixed);
    v.extend_from_slice(text.as_bytes());
    v.extend_from_slice(body);
    v
}

const HI_TEXT: &str = "\r\nContent-Type: text/plain;charset=UTF-8\r\n\
    Content-Disposition: inline\r\nContent-Length: 2\r\n\r\n";

#[test]
fn text_hi_at_generation_0_and_4() {
    // len(rest) = 94 = 0x5e -> prefix 40 5e.
    for (generation, fixed) in [
        (0, "0001 0001 00000000 405e"),
        (4, "0001 0001 00000004 405e"),
    ] {
        let want = vector(fixed, HI_TEXT, b"hi");
        let p = ApplicationPayload::new(content_type::TEXT_PLAIN, b"hi".to_vec());
        assert_eq!(p.encode(generation), want);
        let framed = ApplicationPayload::decode(&want).unwrap();
        assert_eq!(framed.generation, generation);
        assert_eq!(framed.payload.content_type, "text/plain;charset=UTF-8");
        assert_eq!(framed.payload.media_type(), "text/plain");
        assert_eq!(framed.payload.disposition, Disposition::Inline);
        assert_eq!(framed.payload.body, b"hi");
        // The decoded payload re-encodes to the same bytes.
        assert_eq!(framed.payload.encode(generation), want);
    }
}

#[test]
fn file_info_body() {
    // message/* gets the charset too; len(rest) = 115 = 0x73.
    let body = hex("0a02080112020801");
    let want = vector(
        "0001 0001 00000001 4073",
        "\r\nContent-Type: message/mls-rcs-file-info;charset=UTF-8\r\n\
         Content-Disposition: inline\r\nContent-Length: 8\r\n\r\n",
        &body,
    );
    let p = ApplicationPayload::new(content_type::MLS_RCS_FILE_INFO, body.clone());
    assert_eq!(p.encode(1), want);
    let framed = ApplicationPayload::decode(&want).unwrap();
    assert_eq!(framed.generation, 1);
    assert_eq!(framed.payload.media_type(), content_type::MLS_RCS_FILE_INFO);
    assert_eq!(framed.payload.body, body);
}

#[test]
fn image_attachment() {
    // image/* never gets a charset; len(rest) = 93 = 0x5d.
    let body = hex("ffd8ffe000104a464946");
    let want = vector(
        "0001 0001 00000007 405d",
        "\r\nContent-Type: image/jpeg\r\n\
         Content-Disposition: attachment\r\nContent-Length: 10\r\n\r\n",
        &body,
    );
    let p = ApplicationPayload {
        content_type: "image/jpeg".into(),
        disposition: Disposition::Attachment,
        body: body.clone(),
    };
    assert_eq!(p.encode(7), want);
    assert_eq!(
        ApplicationPayload::decode(&want),
        Ok(Framed {
            generation: 7,
            payload: p
        })
    );
}

/// A frame around arbitrary MIME text, with a correct minimal prefix.
fn frame_text(text: &[u8]) -> Vec<u8> {
    let mut v = hex("0001 0001 00000000");
    crate::varint::encode_len(text.len(), &mut v).unwrap();
    v.extend_from_slice(text);
    v
}

#[test]
fn decoding_is_tolerant_where_peers_may_differ() {
    // Header names in any case, unknown headers ignored, no leading blank
    // line, Content-Disposition and Content-Length optional.
    let framed = ApplicationPayload::decode(&frame_text(
        b"content-type:\ttext/plain; charset=utf-8 \r\nX-Other: y\r\n\
          CONTENT-DISPOSITION: Attachment; filename=a.txt\r\n\r\nhi",
    ))
    .unwrap();
    assert_eq!(framed.payload.content_type, "text/plain; charset=utf-8");
    assert_eq!(framed.payload.media_type(), "text/plain");
    assert_eq!(framed.payload.disposition, Disposition::Attachment);
    assert_eq!(framed.payload.body, b"hi");
    let empty = ApplicationPayload::decode(&frame_text(b"\r\nContent-Type: a/b\r\n\r\n")).unwrap();
    assert!(empty.payload.body.is_empty());
    assert_eq!(empty.payload.disposition, Disposition::Inline);
}

#[test]
fn refuses_bad_frames() {
    let good = ApplicationPayload::new("text/plain", b"hi".to_vec()).encode(0);
    let mut longer = good.clone();
    longer.push(b'!');
    let cases: Vec<(Vec<u8>, InnerError)> = vec![
        (vec![], InnerError::Truncated),
        (hex("0001 0001 000000"), InnerError::Truncated),
        (hex("0001 0001 00000000"), InnerError::Truncated),
        (hex("0001 0001 00000000 40"), InnerError::Truncated),
        (
            hex("0002 0001 00000000 00"),
            InnerError::UnsupportedVersion(2),
        ),
        (
            hex("0000 0001 00000000 00"),
            InnerError::UnsupportedVersion(0),
        ),
        // Header type 4 (reported for group metadata keys) is not MIME.
        (
            hex("0001 0004 00000000 00"),
            InnerError::UnsupportedFormat(4),
        ),
        // 2 in the two-byte form: valid value, not minimal.
        (
            hex("0001 0001 00000000 4002 6869"),
            InnerError::NonMinimalLength,
        ),
        (hex("0001 0001 00000000 c0000000"), InnerError::TooLarge),
        // A stray byte after the body: the prefix no longer covers the rest.
        (
            longer,
            InnerError::LengthMismatch {
                declared: 94,
                actual: 95,
            },
        ),
        (
            good[..good.len() - 1].to_vec(),
            InnerError::LengthMismatch {
                declared: 94,
                actual: 93,
            },
        ),
        // The generation written in 2 bytes: `40 5e` is read as its low
        // half and the CR (0x0d) as the prefix, 93 bytes follow.
        (
            [hex("0001 0001 0000"), good[8..].to_vec()].concat(),
            InnerError::LengthMismatch {
                declared: 13,
                actual: 93,
            },
        ),
        // The generation written in 8 bytes: its fifth byte is read as a
        // zero prefix, 3 + 2 + 94 bytes follow.
        (
            [hex("0001 0001 00000000 00000000"), good[8..].to_vec()].concat(),
            InnerError::LengthMismatch {
                declared: 0,
                actual: 99,
            },
        ),
        (
            frame_text(b"\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nhi"),
            InnerError::ContentLengthMismatch,
        ),
        (
            frame_text(b"\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nhi"),
            InnerError::ContentLengthMismatch,
        ),
        (
            frame_text(b"\r\nContent-Type: text/plain\r\nContent-Length: -2\r\n\r\nhi"),
            InnerError::InvalidContentLength,
        ),
        (
            frame_text(
                b"\r\nContent-Type: a/b\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
            ),
            InnerError::DuplicateHeader("Content-Length"),
        ),
        (
            frame_text(b"\r\nContent-Type: a/b\r\nContent-Disposition: render\r\n\r\nhi"),
            InnerError::InvalidDisposition,
        ),
        (
            frame_text(
                b"\r\nContent-Type: a/b\r\nContent-Disposition: inline\r\n\
                  Content-Disposition: attachment\r\n\r\nhi",
            ),
            InnerError::DuplicateHeader("Content-Disposition"),
        ),
        (frame_text(b"\r\n\r\nbody"), InnerError::MissingContentType),
        (
            frame_text(b"X: y\r\n\r\nbody"),
            InnerError::MissingContentType,
        ),
        (
            frame_text(b"Content-Type: a/b\r\nContent-Type: a/b\r\n\r\n"),
            InnerError::DuplicateContentType,
        ),
        (frame_text(b"Content-Type: a/b\r\n"), InnerError::Truncated),
        (
            frame_text(b"Content-Type: a/b\n\nbody"),
            InnerError::Malformed("line endings must be CRLF"),
        ),
        (
            frame_text(b"Content-Type: a/b\r\r\n"),
            InnerError::Malformed("line endings must be CRLF"),
        ),
        (
            frame_text(b"Content-Type: text\r\n\r\n"),
            InnerError::InvalidContentType,
        ),
        (
            frame_text(b"Content-Type: a/b; c\r\n\r\n"),
            InnerError::InvalidContentType,
        ),
        (
            frame_text(b"Content-Type: a/(b)\r\n\r\n"),
            InnerError::InvalidContentType,
        ),
        (
            frame_text(b"Content-Type a/b\r\n\r\n"),
            InnerError::Malformed("header line without ':'"),
        ),
        (
            frame_text(b" Content-Type: a/b\r\n\r\n"),
            InnerError::Malformed("invalid header name"),
        ),
        (
            frame_text(b"Content-Type: a/b\x00\r\n\r\n"),
            InnerError::Malformed("control character in header value"),
        ),
        (
            frame_text(b"Content-Type: \xff\r\n\r\n"),
            InnerError::Malformed("header value is not UTF-8"),
        ),
        // Crosslock's retired unframed form.
        (
            b"Content-Type: application/mimi-content\r\n\r\n\x87".to_vec(),
            InnerError::UnsupportedVersion(0x436f),
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(
            ApplicationPayload::decode(&bytes),
            Err(want),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
    }
    assert!(ApplicationPayload::decode(&good).is_ok());
}

#[test]
fn refuses_oversized_payloads() {
    let mut long = b"X: ".to_vec();
    long.extend(std::iter::repeat_n(b'a', MAX_HEADER_BYTES));
    assert_eq!(
        ApplicationPayload::decode(&frame_text(&long)),
        Err(InnerError::TooLarge)
    );
    long.extend_from_slice(b"\r\nContent-Type: a/b\r\n\r\n");
    assert_eq!(
        ApplicationPayload::decode(&frame_text(&long)),
        Err(InnerError::TooLarge)
    );
    let many: Vec<u8> = (0..=MAX_HEADERS)
        .flat_map(|i| format!("X{i}: y\r\n").into_bytes())
        .chain(b"Content-Type: a/b\r\n\r\n".iter().copied())
        .collect();
    assert_eq!(
        ApplicationPayload::decode(&frame_text(&many)),
        Err(InnerError::TooLarge)
    );
    let big = ApplicationPayload::new("a/b", vec![0; MAX_BODY + 1]);
    assert_eq!(
        ApplicationPayload::decode(&big.encode(0)),
        Err(InnerError::TooLarge)
    );
    let max = ApplicationPayload::new("a/b", vec![0; MAX_BODY]);
    assert_eq!(
        ApplicationPayload::decode(&max.encode(0)).map(|f| f.payload.body.len()),
        Ok(MAX_BODY)
    );
}

#[test]
fn encode_cannot_inject_headers() {
    let p = ApplicationPayload::new("a/b\r\n\r\ninjected", b"body".to_vec());
    // The sanitised type is no longer a media type, so the forgery fails closed.
    assert_eq!(
        ApplicationPayload::decode(&p.encode(0)),
        Err(InnerError::InvalidContentType)
    );
}

/// Found by fuzzing (fuzz/fuzz_targets/inner.rs): the decoder accepts a tab
/// inside the Content-Type value, so the encoder keeps it.
#[test]
fn a_tab_inside_the_content_type_survives_a_round_trip() {
    let p = ApplicationPayload::new("text/plain;\tcharset=utf-8", b"hi".to_vec());
    let framed = ApplicationPayload::decode(&p.encode(3)).unwrap();
    assert_eq!(framed.payload, p);
    assert_eq!(framed.payload.encode(3), p.encode(3));
}

fn arb_type() -> impl Strategy<Value = String> {
    (
        "[a-z]{1,12}/[a-z0-9.+-]{1,24}",
        proptest::option::of("[a-z]{1,8}=[A-Za-z0-9-]{1,12}"),
    )
        .prop_map(|(t, p)| match p {
            Some(p) => format!("{t};{p}"),
            None => t,
        })
}

fn arb_payload() -> impl Strategy<Value = ApplicationPayload> {
    (
        arb_type(),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..256),
    )
        .prop_map(|(content_type, attachment, body)| ApplicationPayload {
            content_type,
            disposition: if attachment {
                Disposition::Attachment
            } else {
                Disposition::Inline
            },
            body,
        })
}

proptest! {
    #[test]
    fn round_trip(p in arb_payload(), generation: u32) {
        let framed = ApplicationPayload::decode(&p.encode(generation)).unwrap();
        prop_assert_eq!(framed.generation, generation);
        prop_assert_eq!(framed.payload.media_type(), p.media_type());
        prop_assert_eq!(&framed.payload.body, &p.body);
        prop_assert_eq!(framed.payload.disposition, p.disposition);
        // Encoding is idempotent once the charset rule has been applied.
        prop_assert_eq!(framed.payload.encode(generation), p.encode(generation));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = ApplicationPayload::decode(&bytes);
    }

    #[test]
    fn corrupted_payloads_never_panic(p in arb_payload(), at: usize, byte: u8) {
        let mut bytes = p.encode(0);
        let i = at % bytes.len();
        bytes[i] = byte;
        let _ = ApplicationPayload::decode(&bytes);
    }
}
