#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hostile-input catalogue, part 1: the wire formats.
//!
//! Every case feeds one hostile input to one decoder and names the typed
//! error it must produce. The decoders are pure: an `Err` means nothing was
//! produced, so there is nothing to store. Each case is its own `#[test]`
//! (`cargo test -p crosslock-wire --test hostile <case>`).

use crosslock_wire::aad::{AadError, AuthenticatedData};
use crosslock_wire::content_type;
use crosslock_wire::cpim::{self, CpimError, Header, Message, MlsEnvelope};
use crosslock_wire::file_info::{
    FileEncryptionInfo, FileInfo, FileInfoError, FileKey, FileMetadata, Slot,
};
use crosslock_wire::ft_http::{Descriptor, DescriptorError};
use crosslock_wire::imdn::{
    ClientReason, DeliveryStatus, FailureArm, Imdn, ImdnError, Notification,
};
use crosslock_wire::inner::{ApplicationPayload, InnerError};
use crosslock_wire::message_id::{self, MessageIdError};
use crosslock_wire::mimi::{MAX_CONTENT_BYTES, MimiContent, MimiError};
use crosslock_wire::rcc16::capability::{CapabilityError, MlsCapabilities};
use crosslock_wire::report::{DerivedContent, ReceiptEnvelope, ReportError};
use crosslock_wire::status::{MessageStatusReport, StatusError};
use crosslock_wire::typing::{IsComposing, TypingError};

/// One catalogue case: `decoder(input)` must be `Err(pattern)`.
macro_rules! refused {
    ($(#[$doc:meta])* $name:ident: $decode:expr, $input:expr, $pattern:pat $(if $guard:expr)?) => {
        $(#[$doc])*
        #[test]
        fn $name() {
            let input: Vec<u8> = $input;
            let result = $decode(&input[..]);
            assert!(
                matches!(result, Err($pattern) $(if $guard)?),
                "{}: expected {}, got {:?}",
                stringify!($name),
                stringify!($pattern),
                result
            );
        }
    };
}

// ---------------------------------------------------------------- helpers

fn envelope_with(content_type: &str, body: Vec<u8>) -> MlsEnvelope {
    MlsEnvelope {
        from: Some("<tel:+15551234567>".into()),
        to: None,
        date_time: None,
        message_id: "f81d4fae-7dec-11d0-a765-00a0c91e6bf6".into(),
        era: 1,
        epoch_authenticator: [7; 32],
        original_message_id: None,
        content_type: content_type.into(),
        body,
    }
}

fn envelope() -> Vec<u8> {
    envelope_with(content_type::MESSAGE_MLS, vec![0x00, 0x01, 0x00, 0x02]).encode()
}

/// A payload frame (version 1, format 1, generation 0) around `mime`.
fn framed(mime: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 1, 0, 1, 0, 0, 0, 0];
    crosslock_wire::varint::encode_len(mime.len(), &mut out).unwrap();
    out.extend_from_slice(mime);
    out
}

/// Replaces the first occurrence of `from` with `to` (same length or not).
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(from)));
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(to);
    out.extend_from_slice(&bytes[at + from.len()..]);
    out
}

/// A CPIM message from raw header lines (no encoder sanitising).
fn raw_cpim(headers: &[&str], content_headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for h in headers {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    for h in content_headers {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn mls_headers() -> Vec<&'static str> {
    vec![
        "From: <tel:+15551234567>",
        "NS: imdn <urn:ietf:params:imdn>",
        "NS: mls <http://www.gsma.com/rcs/mls>",
        "imdn.Message-ID: abc",
        "mls.Era-ID: 1",
        "mls.Epoch-Authenticator: BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=",
    ]
}

/// A valid FileInfo (slot 1) named `name`.
fn file_info(name: &str) -> FileInfo {
    let encryption = FileEncryptionInfo {
        key: FileKey::from_bytes([9; 32]),
        iv: [8; 12],
        tag: [7; 32],
        length_hint: Some(1000),
    };
    FileInfo::new(
        Slot::File,
        FileMetadata::new(name, "image/jpeg", encryption).unwrap(),
    )
}

/// A valid FT-HTTP descriptor.
fn descriptor() -> String {
    concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<file xmlns=\"urn:gsma:params:xml:ns:rcs:rcs:fthttp\">",
        "<file-info type=\"file\"><file-size>1032</file-size><file-name>encrypted_file</file-name>",
        "<content-type>message/mls-ft</content-type>",
        "<data url=\"https://files.example/blob/1\" until=\"2027-01-15T08:00:00Z\"/></file-info>",
        "</file>"
    )
    .to_owned()
}

/// A FileInfo encoding whose name is `name` (bypassing `FileInfo::new`'s
/// checks, as a hostile sender would): a placeholder of the same length
/// is encoded and then overwritten.
fn file_info_named(name: &[u8]) -> Vec<u8> {
    let placeholder = "n".repeat(name.len());
    replace(
        &file_info(&placeholder).encode(),
        placeholder.as_bytes(),
        name,
    )
}

/// `depth` nested one-element CBOR arrays around a 0.
fn array_bomb(depth: usize) -> Vec<u8> {
    let mut out = vec![0x81; depth];
    out.push(0x00);
    out
}

/// `depth` nested one-entry CBOR maps `{0: {0: ...}}`.
fn map_bomb(depth: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(depth * 2 + 1);
    for _ in 0..depth {
        out.extend_from_slice(&[0xa1, 0x00]);
    }
    out.push(0x00);
    out
}

/// A byte string that declares 2^64 - 1 bytes and carries four.
fn huge_byte_string() -> Vec<u8> {
    let mut out = vec![0x5b];
    out.extend_from_slice(&u64::MAX.to_be_bytes());
    out.extend_from_slice(b"abcd");
    out
}

/// An array that declares 2^32 elements and carries one.
fn huge_array() -> Vec<u8> {
    let mut out = vec![0x9b];
    out.extend_from_slice(&(1u64 << 32).to_be_bytes());
    out.push(0x00);
    out
}

fn mimi_text() -> Vec<u8> {
    MimiContent::text([3; 16], "hello world").encode()
}

// ------------------------------------------------------------------- CPIM

refused!(
    /// A header value with bytes that are not UTF-8.
    cpim_header_invalid_utf8: MlsEnvelope::decode,
    replace(&envelope(), b"tel:+15551234567", b"tel:+1555\xff\xfe34567"),
    CpimError::InvalidHeader { ref name, .. } if name == "From"
);

refused!(
    /// The message ends inside the header section.
    cpim_truncated_headers: MlsEnvelope::decode,
    envelope()[..40].to_vec(),
    CpimError::Truncated
);

refused!(
    /// A body one byte over the 1 MiB limit.
    cpim_oversize_body: MlsEnvelope::decode,
    envelope_with(content_type::MESSAGE_MLS, vec![0; cpim::MAX_BODY + 1]).encode(),
    CpimError::TooLarge
);

refused!(
    /// 100 header lines (limit 64).
    cpim_too_many_headers: Message::decode,
    {
        let mut headers = mls_headers();
        headers.extend(std::iter::repeat_n("X-Filler: x", 100));
        raw_cpim(&headers, &["Content-Type: message/mls"], b"")
    },
    CpimError::TooLarge
);

refused!(
    /// Content-Length says 4, five bytes follow.
    cpim_content_length_mismatch: MlsEnvelope::decode,
    {
        let mut bytes = envelope();
        bytes.push(0x00);
        bytes
    },
    CpimError::ContentLengthMismatch
);

refused!(
    /// `mls.Era-ID` twice (which one would the receiver believe?).
    cpim_duplicate_era_header: MlsEnvelope::decode,
    {
        let mut headers = mls_headers();
        headers.push("mls.Era-ID: 2");
        raw_cpim(&headers, &["Content-Type: message/mls"], b"")
    },
    CpimError::DuplicateHeader(ref name) if name == "mls.Era-ID"
);

refused!(
    /// A body of type `text/plain` where only `message/mls*` is accepted.
    cpim_wrong_media_type: MlsEnvelope::decode,
    envelope_with("text/plain", b"hello".to_vec()).encode(),
    CpimError::UnsupportedContentType(ref t) if t == "text/plain"
);

refused!(
    /// A negative era.
    cpim_era_not_a_number: MlsEnvelope::decode,
    replace(&envelope(), b"mls.Era-ID: 1", b"mls.Era-ID: -1"),
    CpimError::InvalidHeader { ref name, .. } if name == "mls.Era-ID"
);

refused!(
    /// An epoch authenticator of 31 bytes.
    cpim_short_epoch_authenticator: MlsEnvelope::decode,
    {
        let mut headers = mls_headers();
        headers.pop();
        headers.push("mls.Epoch-Authenticator: BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH");
        raw_cpim(&headers, &["Content-Type: message/mls"], b"")
    },
    CpimError::InvalidHeader { ref name, .. } if name == "mls.Epoch-Authenticator"
);

refused!(
    /// A base64 body pretending to be binary MLS.
    cpim_base64_transfer_encoding: MlsEnvelope::decode,
    raw_cpim(
        &mls_headers(),
        &["Content-Type: message/mls", "Content-Transfer-Encoding: base64"],
        b"AAEAAg=="
    ),
    CpimError::InvalidHeader { ref name, .. } if name == "Content-Transfer-Encoding"
);

refused!(
    /// A message id with a space and a control character.
    cpim_message_id_with_controls: MlsEnvelope::decode,
    {
        let mut message = Message::decode(&envelope()).unwrap();
        let h = message
            .headers
            .iter_mut()
            .find(|h| h.name == "imdn.Message-ID")
            .unwrap();
        *h = Header::new("imdn.Message-ID", "a b\u{7}");
        message.encode()
    },
    CpimError::InvalidHeader { ref name, .. } if name == "imdn.Message-ID"
);

// ------------------------------------------------------------------- MIMI

refused!(
    /// A CBOR text string (the part's content type) that is not UTF-8.
    mimi_text_string_invalid_utf8: MimiContent::decode,
    replace(&mimi_text(), b"text/plain", b"text/pl\xc3\x28in"),
    MimiError::InvalidUtf8
);

refused!(
    /// 10,000 nested arrays.
    mimi_array_nesting_bomb: MimiContent::decode,
    array_bomb(10_000),
    MimiError::TooDeep
);

refused!(
    /// 10,000 nested maps.
    mimi_map_nesting_bomb: MimiContent::decode,
    map_bomb(10_000),
    MimiError::TooDeep
);

refused!(
    /// A byte string declaring 2^64 - 1 bytes: refused before allocating.
    mimi_huge_declared_length: MimiContent::decode,
    huge_byte_string(),
    MimiError::Cbor(_)
);

refused!(
    /// An array declaring 2^32 items.
    mimi_huge_declared_count: MimiContent::decode,
    huge_array(),
    MimiError::Cbor(_)
);

refused!(
    /// One byte over 1 MiB.
    mimi_oversize_input: MimiContent::decode,
    vec![0x40; MAX_CONTENT_BYTES + 1],
    MimiError::TooLarge
);

refused!(
    /// A valid content cut one byte short.
    mimi_truncated: MimiContent::decode,
    {
        let full = mimi_text();
        full[..full.len() - 1].to_vec()
    },
    MimiError::Cbor(_)
);

refused!(
    /// A valid content followed by a stray byte (smuggling).
    mimi_trailing_bytes: MimiContent::decode,
    {
        let mut full = mimi_text();
        full.push(0x00);
        full
    },
    MimiError::Cbor(_)
);

refused!(
    /// An indefinite-length array (no deterministic encoding).
    mimi_indefinite_length: MimiContent::decode,
    vec![0x9f, 0x00, 0xff],
    MimiError::Cbor(_)
);

refused!(
    /// A map where the seven-element array belongs.
    mimi_wrong_top_level_type: MimiContent::decode,
    vec![0xa1, 0x01, 0x02],
    MimiError::Invalid(_)
);

// ----------------------------------------------------------------- status

refused!(
    /// Nested arrays far beyond the three levels of a report.
    status_nesting_bomb: MessageStatusReport::decode,
    array_bomb(10_000),
    StatusError::Cbor(_)
);

refused!(
    /// The statuses array declares 2^32 entries.
    status_huge_declared_count: MessageStatusReport::decode,
    {
        let mut out = vec![0x82, 0x00];
        out.extend(huge_array());
        out
    },
    StatusError::Cbor(_)
);

refused!(
    /// A status value outside 0..=6.
    status_unknown_value: MessageStatusReport::decode,
    {
        let mut out = vec![0x82, 0x01, 0x81, 0x82, 0x58, 0x20];
        out.extend([1u8; 32]);
        out.extend([0x18, 99]);
        out
    },
    StatusError::UnknownStatus(99)
);

refused!(
    /// A message id of 31 bytes.
    status_short_message_id: MessageStatusReport::decode,
    {
        let mut out = vec![0x82, 0x01, 0x81, 0x82, 0x58, 0x1f];
        out.extend([1u8; 31]);
        out.push(0x01);
        out
    },
    StatusError::Invalid(_)
);

// --------------------------------------------------------------- FileInfo

refused!(
    /// `../../etc/passwd`: climbing out of the download directory.
    file_info_name_dot_dot_traversal: FileInfo::decode,
    file_info_named(b"../../etc/passwd"),
    FileInfoError::Name(_)
);

refused!(
    /// An absolute path.
    file_info_name_absolute_path: FileInfo::decode,
    file_info_named(b"/etc/passwd"),
    FileInfoError::Name(_)
);

refused!(
    /// A NUL byte truncating the name in C APIs (`safe.txt\0.exe`).
    file_info_name_nul_byte: FileInfo::decode,
    file_info_named(b"safe.txt\0.exe"),
    FileInfoError::Name(_)
);

refused!(
    /// Windows separators.
    file_info_name_backslashes: FileInfo::decode,
    file_info_named(b"..\\..\\win.ini"),
    FileInfoError::Name(_)
);

refused!(
    /// A bare `..`.
    file_info_name_dot_dot: FileInfo::decode,
    file_info_named(b".."),
    FileInfoError::Name(_)
);

refused!(
    /// A name that is not UTF-8.
    file_info_name_invalid_utf8: FileInfo::decode,
    file_info_named(b"photo\xff.jpg"),
    FileInfoError::Utf8("file_name")
);

refused!(
    /// The IV (FileEncryptionInfo field 2) twice, the second one swapping
    /// the first under a "last one wins" parser.
    file_info_duplicate_field: FileInfo::decode,
    {
        let second = [[0x20, 0x01, 0x12, 0x0c].as_slice(), &[0; 12]].concat();
        let mut out = replace(&file_info("a.jpg").encode(), &[0x20, 0x01], &second);
        out[1] += 14;
        let at = out.iter().position(|&b| b == 0x1a).unwrap();
        out[at + 1] += 14;
        out
    },
    FileInfoError::DuplicateField(2)
);

refused!(
    /// A field with the protobuf group wire type (3), which has no length.
    file_info_group_wire_type: FileInfo::decode,
    [vec![0x2b], file_info("a.jpg").encode()].concat(),
    FileInfoError::WireType(3)
);

refused!(
    /// Two slots in one FileInfo (file and thumbnail): one fills one slot.
    file_info_two_slots: FileInfo::decode,
    {
        let mut thumb = file_info("t.jpg").encode();
        thumb[0] = 0x12;
        [file_info("a.jpg").encode(), thumb].concat()
    },
    FileInfoError::Slots(2)
);

refused!(
    /// A thousand unknown fields (2,000 bytes, under the size limit).
    file_info_unknown_field_flood: FileInfo::decode,
    [[0x28, 0x00].repeat(1000), file_info("a.jpg").encode()].concat(),
    FileInfoError::TooLarge
);

refused!(
    /// A length-delimited slot declaring 2^64 - 1 bytes.
    file_info_huge_declared_length: FileInfo::decode,
    vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
    FileInfoError::Protobuf(_)
);

refused!(
    /// `text;html!` is not a media type.
    file_info_wrong_media_type: FileInfo::decode,
    replace(&file_info("a.jpg").encode(), b"\x0aimage/jpeg", b"\x0atext;html!"),
    FileInfoError::MediaType(_)
);

refused!(
    /// The algorithm left out (0, `UNSPECIFIED`): only 1 is accepted.
    file_info_algorithm_unspecified: FileInfo::decode,
    {
        let bytes = file_info("a.jpg").encode();
        // Drop `20 01` and shrink the two enclosing lengths.
        let mut out = replace(&bytes, &[0x20, 0x01], &[]);
        out[1] -= 2;
        let at = out.iter().position(|&b| b == 0x1a).unwrap();
        out[at + 1] -= 2;
        out
    },
    FileInfoError::Algorithm(0)
);

refused!(
    /// A tag written as a two-byte varint (`a0 00` for `20`).
    file_info_non_minimal_varint: FileInfo::decode,
    {
        let mut out = replace(&file_info("a.jpg").encode(), &[0x20, 0x01], &[0xa0, 0x00, 0x01]);
        out[1] += 1;
        let at = out.iter().position(|&b| b == 0x1a).unwrap();
        out[at + 1] += 1;
        out
    },
    FileInfoError::Protobuf("non-minimal varint")
);

refused!(
    /// A 16-byte IV (the old Crosslock layout) where Annex C.2 has 12.
    file_info_short_iv: FileInfo::decode,
    {
        let iv12 = [[0x12, 0x0c].as_slice(), &[8; 12]].concat();
        let iv16 = [[0x12, 0x10].as_slice(), &[8; 16]].concat();
        let mut out = replace(&file_info("a.jpg").encode(), &iv12, &iv16);
        out[1] += 4;
        let at = out.iter().position(|&b| b == 0x1a).unwrap();
        out[at + 1] += 4;
        out
    },
    FileInfoError::Length { what: "initialization_vector", len: 16 }
);

// ------------------------------------------------------ FT-HTTP descriptor

refused!(
    /// A DOCTYPE declaring an entity (the billion-laughs opening).
    ft_http_doctype_entity: Descriptor::decode,
    descriptor()
        .replacen("<file ", "<!DOCTYPE file [<!ENTITY a \"aaaaaaaa\">]><file ", 1)
        .replace("encrypted_file", "&a;")
        .into_bytes(),
    DescriptorError::Malformed("DOCTYPE")
);

refused!(
    /// No `file-info type="file"`, only a thumbnail.
    ft_http_no_file_entry: Descriptor::decode,
    descriptor().replace("type=\"file\"", "type=\"thumbnail\"").into_bytes(),
    DescriptorError::Missing(_)
);

refused!(
    /// A plain-http download URL to a remote host.
    ft_http_non_https_url: Descriptor::decode,
    descriptor().replace("https://files", "http://files").into_bytes(),
    DescriptorError::Url(_)
);

refused!(
    /// 1,000 nested foreign elements inside the descriptor.
    ft_http_nesting_bomb: Descriptor::decode,
    descriptor()
        .replace(
            "<file-info",
            &format!("{}{}<file-info", "<x>".repeat(1000), "</x>".repeat(1000)),
        )
        .into_bytes(),
    DescriptorError::TooDeep
);

refused!(
    /// A descriptor over the 8 KiB limit.
    ft_http_oversize: Descriptor::decode,
    descriptor().replace("encrypted_file", &"a".repeat(9000)).into_bytes(),
    DescriptorError::TooLarge
);

refused!(
    /// A `file-size` that overflows 64 bits.
    ft_http_size_overflow: Descriptor::decode,
    descriptor().replace(">1032<", ">18446744073709551616<").into_bytes(),
    DescriptorError::Size
);

// ----------------------------------------------------------------- report

/// A negative delivery IMDN's derived content (§5), reason 4.
fn derived() -> Vec<u8> {
    let imdn = Imdn::new(
        "MxEBESExQVFhcYGRobHB0eHw",
        0,
        Notification::Delivery(DeliveryStatus::Failed(Some(FailureArm::Client(
            ClientReason::FailedToDecrypt,
        )))),
    );
    DerivedContent::of("MxAAECAwQFBgcICQoLDA0ODw", 1, &imdn).encode()
}

refused!(
    /// The receipt id's length written as a non-minimal varint (`40 18`).
    report_derived_non_minimal_varint: DerivedContent::decode,
    [&[0u8, 1, 0x40][..], &derived()[2..]].concat(),
    ReportError::Varint(_)
);

refused!(
    /// A byte after the derived content's closing `00`.
    report_derived_trailing_byte: DerivedContent::decode,
    [derived(), vec![0]].concat(),
    ReportError::Invalid(_)
);

refused!(
    /// A receipt envelope whose CPIM part is garbage.
    report_envelope_garbage: ReceiptEnvelope::decode,
    b"\x00\xff\xfe not cpim".to_vec(),
    ReportError::Envelope(_)
);

// ------------------------------------------------------------------- imdn

fn imdn_doc(notification: &str) -> Vec<u8> {
    format!(
        "<imdn xmlns=\"urn:ietf:params:xml:ns:imdn\"><message-id>m1</message-id>\
         <datetime>2026-12-07T06:00:00Z</datetime>{notification}</imdn>"
    )
    .into_bytes()
}

refused!(
    /// An entity-expansion bomb: a DOCTYPE declaring entities.
    imdn_entity_bomb: Imdn::decode,
    [
        b"<!DOCTYPE imdn [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;\">]>".to_vec(),
        imdn_doc("<delivery-notification><status><delivered/></status></delivery-notification>")
    ]
    .concat(),
    ImdnError::Dtd
);

refused!(
    /// A failure-reason arm on a display notification (§5 arm rule).
    imdn_arm_on_display: Imdn::decode,
    imdn_doc(
        "<display-notification><status><displayed><mls-client-failure-reason>\
         <failed-to-decrypt/></mls-client-failure-reason></displayed></status></display-notification>"
    ),
    ImdnError::ArmNotAllowed(_)
);

refused!(
    /// Two failure-reason arms in one negative delivery notification.
    imdn_two_arms: Imdn::decode,
    imdn_doc(
        "<delivery-notification><status><failed><mls-client-failure-reason><invalid-commit/>\
         </mls-client-failure-reason><mls-server-failure-reason><incorrect-era/>\
         </mls-server-failure-reason></failed></status></delivery-notification>"
    ),
    ImdnError::ArmNotAllowed(_)
);

// ------------------------------------------------------- inner payload

refused!(
    /// No Content-Type header.
    inner_missing_content_type: ApplicationPayload::decode,
    framed(b"\r\nX-Other: 1\r\n\r\nbody"),
    InnerError::MissingContentType
);

refused!(
    /// Two Content-Type headers (which one is the body?).
    inner_duplicate_content_type: ApplicationPayload::decode,
    framed(b"\r\nContent-Type: text/plain\r\nContent-Type: application/mimi-content\r\n\r\nbody"),
    InnerError::DuplicateContentType
);

refused!(
    /// A bare LF line ending (header smuggling).
    inner_bare_lf: ApplicationPayload::decode,
    framed(b"\r\nContent-Type: text/plain\nX: y\r\n\r\nbody"),
    InnerError::Malformed(_)
);

refused!(
    /// A Content-Length that claims more than the body (fact sheet §3b).
    inner_content_length_mismatch: ApplicationPayload::decode,
    framed(b"\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nbody"),
    InnerError::ContentLengthMismatch
);

refused!(
    /// Header type 4 (reported as group metadata keys, unconfirmed) where
    /// a MIME payload (type 1) is expected.
    inner_unsupported_format: ApplicationPayload::decode,
    {
        let mut bytes = ApplicationPayload::new("text/plain", b"hi".to_vec()).encode(0);
        bytes[3] = 4;
        bytes
    },
    InnerError::UnsupportedFormat(4)
);

refused!(
    /// The frame's length written in four bytes where one would do.
    inner_non_minimal_length: ApplicationPayload::decode,
    [&[0, 1, 0, 1, 0, 0, 0, 0, 0x80, 0, 0, 2][..], b"hi"].concat(),
    InnerError::NonMinimalLength
);

refused!(
    /// A frame whose length prefix covers less than what follows (bytes
    /// smuggled after the body).
    inner_length_mismatch: ApplicationPayload::decode,
    {
        let mut bytes = ApplicationPayload::new("text/plain", b"hi".to_vec()).encode(0);
        bytes.extend_from_slice(b"smuggled");
        bytes
    },
    InnerError::LengthMismatch { .. }
);

// ------------------------------------------------------------- message ids

refused!(
    /// The unprefixed base64url id earlier Crosslock versions sent.
    message_id_unknown_form: |b: &[u8]| message_id::classify(std::str::from_utf8(b).unwrap()),
    b"AAECAwQFRgeICQoLDA0ODw".to_vec(),
    MessageIdError::UnknownForm
);

refused!(
    /// An `Mx` id too long for the `^Mx(.){22,26}` peers check.
    message_id_mx_too_long: |b: &[u8]| message_id::classify(std::str::from_utf8(b).unwrap()),
    format!("Mx{}", "A".repeat(27)).into_bytes(),
    MessageIdError::MxLength
);

// -------------------------------------------------------- capability tags

refused!(
    /// The KDS tag twice with different values (which one gates?).
    capability_duplicate_tag: |b: &[u8]| MlsCapabilities::parse_list(std::str::from_utf8(b).unwrap()),
    b"+g.gsma.rcs.mls.mls-kds=\"2\";+G.GSMA.RCS.MLS.MLS-KDS=\"3\"".to_vec(),
    CapabilityError::Duplicate(_)
);

// ----------------------------------------------------------------- typing

refused!(
    /// A billion-laughs DOCTYPE.
    typing_entity_bomb: IsComposing::decode,
    concat!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">",
        "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>",
        "<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\">",
        "<state>&lol2;</state></isComposing>"
    )
    .as_bytes()
    .to_vec(),
    TypingError::Dtd
);

refused!(
    /// Not UTF-8.
    typing_invalid_utf8: IsComposing::decode,
    b"<isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"><state>\xff</state></isComposing>".to_vec(),
    TypingError::InvalidUtf8
);

// -------------------------------------------------------------------- AAD

refused!(
    /// Authenticated data cut in the middle of the message id.
    aad_truncated: AuthenticatedData::decode,
    {
        let full = AuthenticatedData {
            message_id: b"some-message-id".to_vec(),
            era: 1,
            resend: None,
        }
        .encode();
        full[..full.len() / 2].to_vec()
    },
    AadError::Truncated
);

refused!(
    /// Authenticated data followed by a stray byte.
    aad_trailing_bytes: AuthenticatedData::decode,
    {
        let mut full = AuthenticatedData {
            message_id: b"some-message-id".to_vec(),
            era: 1,
            resend: None,
        }
        .encode();
        full.push(0);
        full
    },
    AadError::TrailingBytes
);

refused!(
    /// A `0x02` resend link whose key-and-MAC field is 63 bytes, not 64.
    aad_resend_link_wrong_length: AuthenticatedData::decode,
    {
        let mut bytes = AuthenticatedData {
            message_id: b"new".to_vec(),
            era: 1,
            resend: None,
        }
        .encode();
        bytes.pop();
        bytes.extend_from_slice(&[2, 0, 0, 0, 1, 2, b'o', b'1', 0, 63]);
        bytes.extend_from_slice(&[0; 63]);
        bytes
    },
    AadError::ResendLinkLength(63)
);

refused!(
    /// A resend tag other than 0, 1 or 2.
    aad_unknown_resend_tag: AuthenticatedData::decode,
    {
        let mut bytes = AuthenticatedData {
            message_id: b"new".to_vec(),
            era: 1,
            resend: None,
        }
        .encode();
        *bytes.last_mut().unwrap() = 3;
        bytes
    },
    AadError::UnknownResendTag(3)
);
