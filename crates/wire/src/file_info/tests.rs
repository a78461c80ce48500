//! FileInfo tests: a hand-written vector, forged and broken input, property
//! tests.

use super::*;
use crate::cbor::write::to_vec;
use crate::test_util::hex;
use proptest::prelude::*;

fn fields(name: &str) -> FileInfoFields {
    FileInfoFields {
        url: "https://cs.example/f/1".into(),
        key: FileKey::from_bytes([0x11; 32]),
        size: 5,
        encrypted_size: 53,
        media_type: "text/plain".into(),
        name: name.into(),
        expires: 1_790_000_000,
    }
}

fn info() -> FileInfo {
    FileInfo::new(fields("a.txt")).unwrap()
}

fn with_thumbnail() -> FileInfo {
    let mut thumb = fields("a-thumb.jpg");
    thumb.media_type = "image/jpeg".into();
    thumb.key = FileKey::from_bytes([0x33; 32]);
    info()
        .with_thumbnail(FileInfo::new(thumb).unwrap())
        .unwrap()
}

/// The value tree of an encoding, to forge variants of it.
fn tree(info: &FileInfo) -> Vec<(Value, Value)> {
    match ciborium::de::from_reader::<Value, _>(&info.encode()[..]).unwrap() {
        Value::Map(entries) => entries,
        _ => unreachable!(),
    }
}

fn uint(n: u64) -> Value {
    Value::Integer(n.into())
}

/// `info`'s map with field `key` set to `value` (or removed), encoded
/// deterministically.
fn forge(info: &FileInfo, key: u64, value: Option<Value>) -> Vec<u8> {
    let mut entries: Vec<_> = tree(info)
        .into_iter()
        .filter(|(k, _)| *k != uint(key))
        .collect();
    if let Some(v) = value {
        entries.push((uint(key), v));
    }
    to_vec(&Value::Map(entries))
}

#[test]
fn known_encoding() {
    let bytes = hex(&format!(
        "a7
         01 76 {url}
         02 5820 {key}
         03 05
         04 1835
         05 6a {media}
         06 65 {name}
         08 1a 6ab13b80",
        url = "68747470733a2f2f63732e6578616d706c652f662f31",
        key = "11".repeat(32),
        media = "746578742f706c61696e",
        name = "612e747874",
    ));
    assert_eq!(info().encode(), bytes);
    assert_eq!(FileInfo::decode(&bytes), Ok(info()));
}

#[test]
fn round_trips_with_a_thumbnail() {
    let info = with_thumbnail();
    let bytes = info.encode();
    assert_eq!(bytes[0], 0xa8);
    let back = FileInfo::decode(&bytes).unwrap();
    assert_eq!(back, info);
    let thumb = back.thumbnail().unwrap();
    assert_eq!(thumb.name(), "a-thumb.jpg");
    assert_eq!(thumb.key(), &FileKey::from_bytes([0x33; 32]));
    assert!(thumb.thumbnail().is_none());
}

#[test]
fn accessors_and_expiry() {
    let info = info();
    assert_eq!(info.url(), "https://cs.example/f/1");
    assert_eq!(info.size(), 5);
    assert_eq!(info.encrypted_size(), 53);
    assert_eq!(info.media_type(), "text/plain");
    assert_eq!(info.name(), "a.txt");
    assert_eq!(info.safe_file_name(), "a.txt");
    assert!(!info.is_expired(1_789_999_999));
    assert!(info.is_expired(1_790_000_000));
}

#[test]
fn debug_never_shows_the_key() {
    let text = format!("{:?}", with_thumbnail());
    assert!(text.contains("a.txt") && text.contains("<redacted>"));
    for secret in ["17, 17", "0x11", "51, 51", "[17", "[51"] {
        assert!(!text.contains(secret), "{text}");
    }
}

#[test]
fn path_traversal_names_are_refused() {
    // Decision (docs/client-core.md "Files"): refused, never repaired.
    for name in ["../../etc/passwd", "..", "a/b", "a\\b", "x\0y", "."] {
        assert!(
            matches!(FileInfo::new(fields(name)), Err(FileInfoError::Name(_))),
            "{name:?}"
        );
        let forged = forge(&info(), NAME, Some(Value::Text(name.into())));
        assert!(
            matches!(FileInfo::decode(&forged), Err(FileInfoError::Name(_))),
            "{name:?}"
        );
    }
}

#[test]
fn refuses_bad_text_fields() {
    let long_url = format!("https://x.example/{}", "a".repeat(2040));
    let cases = [
        (URL, Value::Text(long_url), "Url"),
        (URL, Value::Text("http://cs.example/x".into()), "Url"),
        (
            MEDIA_TYPE,
            Value::Text("text/plain; charset=utf-8".into()),
            "MediaType",
        ),
        (
            MEDIA_TYPE,
            Value::Text(format!("a/{}", "b".repeat(200))),
            "MediaType",
        ),
        (NAME, Value::Text("n".repeat(256)), "Name"),
        (NAME, Value::Text(String::new()), "Name"),
    ];
    for (key, value, want) in cases {
        let err = FileInfo::decode(&forge(&info(), key, Some(value))).unwrap_err();
        assert!(format!("{err:?}").starts_with(want), "{key}: {err:?}");
    }
}

#[test]
fn refuses_unknown_missing_duplicate_and_mistyped_fields() {
    let info = info();
    assert_eq!(
        FileInfo::decode(&forge(&info, 10, Some(uint(0)))),
        Err(FileInfoError::UnknownField(10))
    );
    assert_eq!(
        FileInfo::decode(&forge(&info, 0, Some(uint(0)))),
        Err(FileInfoError::UnknownField(0))
    );
    // Key 7 (the retired blob SHA-256) is unknown now.
    assert_eq!(
        FileInfo::decode(&forge(&info, 7, Some(Value::Bytes(vec![0x22; 32])))),
        Err(FileInfoError::UnknownField(7))
    );
    for (key, what) in [
        (URL, "url"),
        (KEY, "key"),
        (SIZE, "size"),
        (ENCRYPTED_SIZE, "encrypted size"),
        (MEDIA_TYPE, "media type"),
        (NAME, "name"),
        (EXPIRES, "expires"),
    ] {
        assert_eq!(
            FileInfo::decode(&forge(&info, key, None)),
            Err(FileInfoError::MissingField(what))
        );
    }
    for (key, value) in [
        (URL, Value::Bytes(b"https://x".to_vec())),
        (KEY, Value::Bytes(vec![0; 31])),
        (KEY, Value::Bytes(vec![0; 33])),
        (SIZE, Value::Integer((-1).into())),
        (SIZE, Value::Text("5".into())),
        (ENCRYPTED_SIZE, Value::Null),
        (EXPIRES, Value::Float(1.5)),
        (THUMBNAIL, Value::Array(vec![])),
        (NAME, Value::Bytes(b"a.txt".to_vec())),
    ] {
        assert!(
            matches!(
                FileInfo::decode(&forge(&info, key, Some(value.clone()))),
                Err(FileInfoError::Invalid(_))
            ),
            "{key}: {value:?}"
        );
    }
    // Text and negative keys.
    let mut entries = tree(&info);
    entries.push((Value::Text("x".into()), uint(1)));
    assert!(matches!(
        FileInfo::decode(&to_vec(&Value::Map(entries))),
        Err(FileInfoError::Invalid(_))
    ));
    let mut entries = tree(&info);
    entries.push((Value::Integer((-1).into()), uint(1)));
    assert!(matches!(
        FileInfo::decode(&to_vec(&Value::Map(entries))),
        Err(FileInfoError::Invalid(_))
    ));
    // A duplicate key: `a8 ... 08 <expires> 08 00`.
    let mut dup = info.encode();
    dup[0] = 0xa8;
    dup.extend_from_slice(&[0x08, 0x00]);
    assert_eq!(
        FileInfo::decode(&dup),
        Err(FileInfoError::DuplicateField(8))
    );
    // Not a map at all.
    assert!(matches!(
        FileInfo::decode(&hex("80")),
        Err(FileInfoError::Invalid(_))
    ));
}

#[test]
fn thumbnails_nest_one_level_only() {
    let outer = with_thumbnail();
    assert_eq!(
        info().with_thumbnail(outer.clone()),
        Err(FileInfoError::TooDeep)
    );
    // Forged: a thumbnail whose thumbnail has a thumbnail.
    let two = forge(&info(), THUMBNAIL, Some(Value::Map(tree(&outer))));
    assert_eq!(FileInfo::decode(&two), Err(FileInfoError::TooDeep));
    let mut three_levels = tree(&outer);
    three_levels.push((uint(THUMBNAIL), Value::Map(tree(&outer))));
    let three = forge(&info(), THUMBNAIL, Some(Value::Map(three_levels)));
    assert_eq!(FileInfo::decode(&three), Err(FileInfoError::TooDeep));
    // A nesting bomb is refused by the scan, before any tree is built.
    let mut bomb = [0xa1, 0x09].repeat(1_000);
    bomb.push(0x00);
    assert_eq!(FileInfo::decode(&bomb), Err(FileInfoError::TooDeep));
}

#[test]
fn refuses_non_deterministic_encodings() {
    let bytes = info().encode();
    // Fields out of order: swap the size (03 05) and the key entry.
    let mut entries = tree(&info());
    entries.swap(1, 2);
    let mut unsorted = hex("a7");
    for (k, v) in &entries {
        unsorted.extend(to_vec(k));
        unsorted.extend(to_vec(v));
    }
    assert_eq!(
        FileInfo::decode(&unsorted),
        Err(FileInfoError::NotCanonical)
    );
    // The size 5 written as 18 05.
    let at = bytes.windows(2).position(|w| w == [0x03, 0x05]).unwrap();
    let mut long_int = bytes[..at + 1].to_vec();
    long_int.extend_from_slice(&[0x18, 0x05]);
    long_int.extend_from_slice(&bytes[at + 2..]);
    assert_eq!(
        FileInfo::decode(&long_int),
        Err(FileInfoError::NotCanonical)
    );
    // An indefinite-length map.
    let mut indefinite = bytes.clone();
    indefinite[0] = 0xbf;
    indefinite.push(0xff);
    assert!(matches!(
        FileInfo::decode(&indefinite),
        Err(FileInfoError::Cbor(_))
    ));
}

#[test]
fn refuses_truncated_trailing_and_oversized_input() {
    let bytes = with_thumbnail().encode();
    for n in 0..bytes.len() {
        assert!(FileInfo::decode(&bytes[..n]).is_err(), "prefix {n}");
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(
        FileInfo::decode(&trailing),
        Err(FileInfoError::Cbor(_))
    ));
    let huge = forge(
        &info(),
        URL,
        Some(Value::Text("a".repeat(MAX_FILE_INFO_BYTES))),
    );
    assert_eq!(FileInfo::decode(&huge), Err(FileInfoError::TooLarge));
    // Every field at its bound, with a thumbnail, fits the limit.
    let mut big = fields(&"n".repeat(MAX_NAME_BYTES));
    big.url = format!("https://{}", "u".repeat(MAX_URL_BYTES - 8));
    big.media_type = format!("a/{}", "b".repeat(MAX_MEDIA_TYPE_BYTES - 2));
    big.size = u64::MAX;
    big.encrypted_size = u64::MAX;
    big.expires = u64::MAX;
    let biggest = FileInfo::new(big.clone())
        .unwrap()
        .with_thumbnail(FileInfo::new(big).unwrap())
        .unwrap();
    let encoded = biggest.encode();
    assert!(encoded.len() <= MAX_FILE_INFO_BYTES, "{}", encoded.len());
    assert_eq!(FileInfo::decode(&encoded), Ok(biggest));
}

fn arb_fields() -> impl Strategy<Value = FileInfoFields> {
    (
        "https://[a-z0-9.-]{1,30}(/[A-Za-z0-9._~%-]{0,20}){0,4}",
        any::<[u8; 32]>(),
        any::<u64>(),
        any::<u64>(),
        "[a-z0-9]{1,10}/[a-z0-9][a-z0-9.+-]{0,20}",
        "[^/\\\\\\p{Cc}.]{1,40}(\\.[^/\\\\\\p{Cc}.]{1,10})?",
        any::<u64>(),
    )
        .prop_filter("names fit in 255 bytes", |t| t.5.len() <= MAX_NAME_BYTES)
        .prop_map(
            |(url, key, size, encrypted_size, media_type, name, expires)| FileInfoFields {
                url,
                key: FileKey::from_bytes(key),
                size,
                encrypted_size,
                media_type,
                name,
                expires,
            },
        )
}

fn arb_info() -> impl Strategy<Value = FileInfo> {
    (arb_fields(), proptest::option::of(arb_fields())).prop_map(|(f, t)| {
        let info = FileInfo::new(f).unwrap();
        match t {
            Some(t) => info.with_thumbnail(FileInfo::new(t).unwrap()).unwrap(),
            None => info,
        }
    })
}

proptest! {
    #[test]
    fn round_trip(info in arb_info()) {
        prop_assert_eq!(FileInfo::decode(&info.encode()), Ok(info));
    }

    #[test]
    fn safe_names_are_bare(info in arb_info()) {
        let name = info.safe_file_name();
        prop_assert!(check_file_name(&name).is_ok());
        prop_assert!(!name.starts_with('.') && !name.ends_with(['.', ' ']));
        prop_assert!(!name.contains(':'));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = FileInfo::decode(&bytes);
    }

    #[test]
    fn corrupted_encodings_never_panic(info in arb_info(), at: usize, byte: u8) {
        let mut bytes = info.encode();
        let i = at % bytes.len();
        bytes[i] = byte;
        if let Ok(decoded) = FileInfo::decode(&bytes) {
            prop_assert_eq!(decoded.encode(), bytes);
        }
    }

    #[test]
    fn truncated_encodings_are_refused(info in arb_info(), at: usize) {
        let bytes = info.encode();
        prop_assert!(FileInfo::decode(&bytes[..at % bytes.len()]).is_err());
    }
}
