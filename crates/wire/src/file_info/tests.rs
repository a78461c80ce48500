use proptest::prelude::*;

use super::*;

/// The vector, encoded by hand in Python from the field numbers and
/// encoding rules of rcc16-deployed.md §2 (a 6-line varint / tag /
/// length-delimited writer; not with this codec):
/// `FileInfo{ file = FileMetadata{ "hello.txt", "text/plain",
/// FileEncryptionInfo{ key 00..1f, iv a0..ab, tag 0b74…c6ef, algorithm 1,
/// hint 65 } } }`. The tag is the one of the Annex C.2 vector in
/// `crosslock_client::file` for the same file.
const VECTOR: &str = concat!(
    "0a72",                     // field 1 (file), 114 bytes
    "0a0968656c6c6f2e747874",   // file_name "hello.txt"
    "120a746578742f706c61696e", // content_type "text/plain"
    "1a59",                     // encryption_info, 89 bytes
    "0a20000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", // key_material
    "120ca0a1a2a3a4a5a6a7a8a9aaab", // initialization_vector
    "1a200b747ea58f5f48e10b31bfe15d59365e153c730b1c32cd3c8cf6e598e961c6ef", // hmac_tag
    "2001",                     // algorithm 1
    "2d41000000",               // fixed32 hint 65, LE
);

fn encryption(hint: Option<u32>) -> FileEncryptionInfo {
    FileEncryptionInfo {
        key: FileKey::from_bytes(std::array::from_fn(|i| i as u8)),
        iv: std::array::from_fn(|i| 0xa0 + i as u8),
        tag: crate::test_util::hex(
            "0b747ea58f5f48e10b31bfe15d59365e153c730b1c32cd3c8cf6e598e961c6ef",
        )
        .try_into()
        .unwrap(),
        length_hint: hint,
    }
}

fn info(slot: Slot) -> FileInfo {
    FileInfo::new(
        slot,
        FileMetadata::new("hello.txt", "text/plain", encryption(Some(65))).unwrap(),
    )
}

#[test]
fn known_vector_both_ways() {
    let bytes = crate::test_util::hex(VECTOR);
    assert_eq!(info(Slot::File).encode(), bytes);
    let decoded = FileInfo::decode(&bytes).unwrap();
    assert_eq!(decoded.slot(), Slot::File);
    let m = decoded.metadata();
    assert_eq!(m.file_name(), "hello.txt");
    assert_eq!(m.content_type(), "text/plain");
    assert_eq!(m.encryption(), &encryption(Some(65)));
    // The other slots differ in the first tag byte only: 0x12, 0x1a, 0x22.
    for (slot, first) in [
        (Slot::Thumbnail, 0x12),
        (Slot::Subject, 0x1a),
        (Slot::Icon, 0x22),
    ] {
        let mut b = bytes.clone();
        b[0] = first;
        assert_eq!(info(slot).encode(), b);
        assert_eq!(FileInfo::decode(&b).unwrap(), info(slot));
    }
}

#[test]
fn debug_never_shows_the_key() {
    let shown = format!("{:?}", info(Slot::File));
    assert!(shown.contains("FileKey(<redacted>)"), "{shown}");
    assert!(!shown.contains("0, 1, 2, 3"), "{shown}");
}

/// `VECTOR` with the encryption info replaced by `enc` (hex).
fn with_encryption(enc: &str) -> Vec<u8> {
    let enc = crate::test_util::hex(enc);
    let mut meta = crate::test_util::hex("0a0968656c6c6f2e747874120a746578742f706c61696e");
    meta.push(0x1a);
    meta.push(enc.len() as u8);
    meta.extend(enc);
    let mut out = vec![0x0a, meta.len() as u8];
    out.extend(meta);
    out
}

const KEY: &str = "0a20000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const IV: &str = "120ca0a1a2a3a4a5a6a7a8a9aaab";
const TAG: &str = "1a200b747ea58f5f48e10b31bfe15d59365e153c730b1c32cd3c8cf6e598e961c6ef";

#[test]
fn peers_may_reorder_omit_the_hint_and_add_unknown_fields() {
    // Descending order, no hint, unknown varint / fixed64 / bytes fields.
    let bytes = with_encryption(&format!("2001{TAG}{IV}{KEY}3005390102030405060708420100"));
    let m = FileInfo::decode(&bytes).unwrap().into_metadata();
    assert_eq!(m.encryption(), &encryption(None));
    // Re-encoded the way we send (without a hint: none to write).
    assert_eq!(
        FileInfo::new(Slot::File, m).encode(),
        with_encryption(&format!("{KEY}{IV}{TAG}2001"))
    );
}

#[test]
fn refusals() {
    let ok = format!("{KEY}{IV}{TAG}2001");
    let cases: Vec<(&str, Vec<u8>, FileInfoError)> = vec![
        (
            "algorithm absent",
            with_encryption(&format!("{KEY}{IV}{TAG}")),
            FileInfoError::Algorithm(0),
        ),
        (
            "algorithm 2",
            with_encryption(&format!("{KEY}{IV}{TAG}2002")),
            FileInfoError::Algorithm(2),
        ),
        (
            "short key",
            with_encryption(&format!("0a1f{}{IV}{TAG}2001", "00".repeat(31))),
            FileInfoError::Length {
                what: "key_material",
                len: 31,
            },
        ),
        (
            "16-byte IV",
            with_encryption(&format!("{KEY}1210{}{TAG}2001", "00".repeat(16))),
            FileInfoError::Length {
                what: "initialization_vector",
                len: 16,
            },
        ),
        (
            "short tag",
            with_encryption(&format!("{KEY}{IV}1a10{}2001", "00".repeat(16))),
            FileInfoError::Length {
                what: "hmac_tag",
                len: 16,
            },
        ),
        (
            "no tag",
            with_encryption(&format!("{KEY}{IV}2001")),
            FileInfoError::MissingField("hmac_tag"),
        ),
        (
            "hint as varint",
            with_encryption(&format!("{ok}2841")),
            FileInfoError::WrongWireType(5),
        ),
        (
            "algorithm as bytes",
            with_encryption(&format!("{KEY}{IV}{TAG}220101")),
            FileInfoError::WrongWireType(4),
        ),
        (
            "duplicate IV",
            with_encryption(&format!("{ok}{IV}")),
            FileInfoError::DuplicateField(2),
        ),
        (
            "group wire type",
            with_encryption(&format!("{ok}33")),
            FileInfoError::WireType(3),
        ),
        (
            "non-minimal tag",
            with_encryption(&format!("{KEY}{IV}{TAG}a00001")),
            FileInfoError::Protobuf("non-minimal varint"),
        ),
        (
            "truncated hint",
            with_encryption(&format!("{ok}2d4100")),
            FileInfoError::Protobuf("truncated fixed-width field"),
        ),
        ("no slot", Vec::new(), FileInfoError::Slots(0)),
        (
            "two slots",
            [info(Slot::File).encode(), info(Slot::Thumbnail).encode()].concat(),
            FileInfoError::Slots(2),
        ),
        (
            "slot as varint",
            vec![0x08, 0x01],
            FileInfoError::WrongWireType(1),
        ),
        (
            "no encryption info",
            crate::test_util::hex("0a0b0a0968656c6c6f2e747874"),
            FileInfoError::MissingField("encryption_info"),
        ),
        (
            "too large",
            vec![0x2a; MAX_FILE_INFO_BYTES + 1],
            FileInfoError::TooLarge,
        ),
        (
            "too many unknown fields",
            [[0x28, 0x00].repeat(17), info(Slot::File).encode()].concat(),
            FileInfoError::TooLarge,
        ),
    ];
    for (what, bytes, err) in cases {
        assert_eq!(FileInfo::decode(&bytes), Err(err), "{what}");
    }
    // Names and types are checked as on sending.
    let named = |name: &[u8], ct: &[u8]| {
        let mut meta = vec![0x0a, name.len() as u8];
        meta.extend(name);
        meta.extend([0x12, ct.len() as u8]);
        meta.extend(ct);
        let enc = crate::test_util::hex(&ok);
        meta.extend([0x1a, enc.len() as u8]);
        meta.extend(enc);
        let mut out = vec![0x0a, meta.len() as u8];
        out.extend(meta);
        FileInfo::decode(&out)
    };
    assert!(matches!(
        named(b"../../etc/passwd", b"text/plain"),
        Err(FileInfoError::Name(_))
    ));
    assert!(matches!(
        named(b"", b"text/plain"),
        Err(FileInfoError::Name(_))
    ));
    assert!(matches!(
        named(b"a\xff", b"text/plain"),
        Err(FileInfoError::Utf8("file_name"))
    ));
    assert!(matches!(
        named(b"a.txt", b"text;html"),
        Err(FileInfoError::MediaType(_))
    ));
    assert_eq!(
        named(b"group_icon", b"").unwrap().metadata().content_type(),
        ""
    );
    // Every truncation of the vector is refused.
    let bytes = crate::test_util::hex(VECTOR);
    for n in 0..bytes.len() {
        assert!(FileInfo::decode(&bytes[..n]).is_err(), "{n}");
    }
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = FileInfo::decode(&bytes);
    }

    #[test]
    fn corrupted_vectors_never_panic_and_round_trip_when_accepted(at: usize, byte: u8) {
        let mut bytes = crate::test_util::hex(VECTOR);
        let at = at % bytes.len();
        bytes[at] = byte;
        if let Ok(info) = FileInfo::decode(&bytes) {
            prop_assert_eq!(FileInfo::decode(&info.encode()), Ok(info));
        }
    }
}
