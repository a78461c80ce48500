//! Forged, broken, non-deterministic and oversized MIMI content.

use super::vectors::ORIGINAL;
use super::*;

#[test]
fn part_depth_limit() {
    let four = MimiContent::new([1; 16], nested(MAX_PART_DEPTH));
    assert_eq!(MimiContent::decode(&four.encode()).as_ref(), Ok(&four));
    let five = MimiContent::new([1; 16], nested(MAX_PART_DEPTH + 1));
    assert_eq!(five.validate(), Err(MimiError::TooDeep));
    assert_eq!(MimiContent::decode(&five.encode()), Err(MimiError::TooDeep));
}

#[test]
fn refuses_truncated_and_trailing_input() {
    let bytes = hex(ORIGINAL);
    for n in 0..bytes.len() {
        assert!(MimiContent::decode(&bytes[..n]).is_err(), "prefix {n}");
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        MimiContent::decode(&trailing),
        Err(MimiError::Cbor("trailing bytes after the data item".into()))
    );
}

#[test]
fn refuses_non_deterministic_encodings() {
    let text = MimiContent::text([0; 16], "a").encode();
    // Salt length written as 58 10 instead of 50.
    let long_len = mutate(&text, 1, &[0x58, 0x10]);
    // Disposition 1 written as 18 01.
    let at = text.len() - 32;
    assert_eq!(text[at], 0x85);
    let long_int = mutate(&text, at + 1, &[0x18, 0x01]);
    // Outer array as indefinite length.
    let mut indefinite = mutate(&text, 0, &[0x9f]);
    indefinite.push(0xff);
    // Extension keys out of order: {2: "r", 1: "s"}.
    let ext_at = 1 + 17 + 1 + 1 + 1 + 1;
    assert_eq!(text[ext_at], 0xa0);
    let unsorted = mutate(&text, ext_at, &hex("a2 02 6172 01 6173"));
    let sorted = mutate(&text, ext_at, &hex("a2 01 6173 02 6172"));
    assert!(MimiContent::decode(&sorted).is_ok());
    let not_det = Err(MimiError::Invalid(
        "not deterministically encoded (RFC 8949 §4.2.1)",
    ));
    assert_eq!(MimiContent::decode(&long_len), not_det);
    assert_eq!(MimiContent::decode(&long_int), not_det);
    assert_eq!(MimiContent::decode(&unsorted), not_det);
    assert_eq!(
        MimiContent::decode(&indefinite),
        Err(MimiError::Cbor("indefinite-length item".into()))
    );
}

#[test]
fn refuses_schema_violations() {
    let text = MimiContent::text([0; 16], "a").encode();
    let part_at = text.len() - 32;
    assert_eq!(text[part_at], 0x85);
    let ext_at = 22;
    let with_part = |part: &str| {
        let mut v = text[..part_at].to_vec();
        v.extend(hex(part));
        v
    };
    let invalid = |s: &'static str| Err(MimiError::Invalid(s));
    let cases: Vec<(Vec<u8>, Result<MimiContent, MimiError>)> = vec![
        (
            hex("86 00 00 00 00 00 00"),
            invalid("MIMI content must be a 7-element array"),
        ),
        (hex("a0"), invalid("MIMI content must be a 7-element array")),
        (
            mutate(&text, 1, &hex("51 00")),
            invalid("salt must be 16 bytes"),
        ),
        (
            mutate(&text, 1, &hex("4f")),
            Err(MimiError::Cbor("trailing bytes after the data item".into())),
        ),
        (
            mutate(&text, 18, &hex("41 00")),
            invalid("replaces must be null or a 32-byte message id"),
        ),
        (
            mutate(&text, 19, &hex("60")),
            invalid("topicId must be bytes"),
        ),
        (
            mutate(&text, 20, &hex("82 f5 1b0000000100000000")),
            invalid("expires must be null or [bool, uint32]"),
        ),
        (
            mutate(&text, 20, &hex("82 01 01")),
            invalid("expires must be null or [bool, uint32]"),
        ),
        (
            mutate(&text, ext_at, &hex("80")),
            invalid("extensions must be a map"),
        ),
        (
            mutate(&text, ext_at, &hex("a1 00 00")),
            invalid("extension key 0 is reserved"),
        ),
        (
            mutate(&text, ext_at, &hex("a1 01 01")),
            invalid("senderUri and roomUri must be text"),
        ),
        (
            mutate(&text, ext_at, &hex("a2 01 6161 01 6161")),
            invalid("duplicate extension key"),
        ),
        (
            mutate(&text, ext_at, &hex("a1 1b0020000000000000 00")),
            invalid("integer extension keys must be within ±(2^53 − 1)"),
        ),
        (
            mutate(&text, ext_at, &hex("a1 60 00")),
            invalid("text extension keys must be 1 to 255 bytes"),
        ),
        (
            mutate(&text, ext_at, &hex("a1 f5 00")),
            invalid("extension keys must be integers or text"),
        ),
        (
            mutate(&text, ext_at, &hex("a1 03 81818181 00")),
            invalid("extension value nested more than 4 levels"),
        ),
        (
            mutate(&text, ext_at, &hex("a1 03 818181 00")),
            Ok(MimiContent {
                ..MimiContent::text([0; 16], "a")
            }),
        ),
        (
            mutate(&text, ext_at, &hex("a1 03 a1 f5 00")),
            invalid("map keys inside extensions must be safe integers, text or bytes"),
        ),
        (
            mutate(&text, ext_at, &hex("a1 03 a2 01 00 01 00")),
            invalid("duplicate map key inside an extension"),
        ),
        (
            with_part("84 01 60 01 60"),
            invalid("part has the wrong number of fields for its cardinality"),
        ),
        (
            with_part("84 01 60 00 60"),
            invalid("part has the wrong number of fields for its cardinality"),
        ),
        (
            with_part("82 01 60"),
            invalid("part has the wrong number of fields for its cardinality"),
        ),
        (
            with_part("85 01 60 01 40 40"),
            invalid("contentType must be text"),
        ),
        (
            with_part("85 01 60 01 60 60"),
            invalid("content must be bytes"),
        ),
        (
            with_part("83 01 60 f6"),
            invalid("unknown part cardinality"),
        ),
        (with_part("a0"), invalid("a part must be an array")),
        (
            mutate(&text, part_at + 3, &hex("04")),
            invalid("unknown part cardinality"),
        ),
        (
            mutate(&text, part_at + 1, &hex("190100")),
            invalid("disposition must be 0..=255"),
        ),
        (
            mutate(&text, part_at + 2, &hex("6120")),
            invalid("language must be empty or a list of language tags"),
        ),
        (
            mutate(&text, part_at + 2, &hex("40")),
            invalid("language must be text"),
        ),
    ];
    for (i, (bytes, want)) in cases.into_iter().enumerate() {
        let got = MimiContent::decode(&bytes);
        match want {
            Ok(_) => assert!(got.is_ok(), "case {i}: {got:?}"),
            Err(e) => assert_eq!(got, Err(e), "case {i}"),
        }
    }
}

#[test]
fn refuses_bignums_and_odd_tags_without_panicking() {
    let text = MimiContent::text([0; 16], "a").encode();
    let with_ext = |ext: &str| mutate(&text, 22, &hex(ext));
    // Bignum tags: ciborium may turn them into integers, which then fail the
    // deterministic re-encoding; either way they are refused.
    for ext in ["a1 03 c2 41 01", "a1 03 c3 40", "a1 03 c2 01"] {
        assert!(MimiContent::decode(&with_ext(ext)).is_err(), "{ext}");
    }
    // An ordinary tag is fine, and so is a bignum too large for an integer.
    assert!(MimiContent::decode(&with_ext("a1 03 d820 6161")).is_ok());
    assert!(
        MimiContent::decode(&with_ext("a1 03 c2 51 0102030405060708090a0b0c0d0e0f1011")).is_ok()
    );
}

#[test]
fn refuses_bad_multiparts() {
    let one_part = NestedPart {
        disposition: Disposition::Render,
        language: String::new(),
        body: PartBody::Multi {
            semantics: PartSemantics::ChooseOne,
            parts: vec![single(TEXT_PLAIN_UTF8, b"x")],
        },
    };
    let c = MimiContent::new([0; 16], one_part);
    assert_eq!(
        MimiContent::decode(&c.encode()),
        Err(MimiError::Invalid("a MultiPart needs at least two parts"))
    );
    let two = MimiContent::new([0; 16], nested(2)).encode();
    // partSemantics 2 -> 3
    let at = two.iter().rposition(|&b| b == 0x82).unwrap() - 1;
    assert_eq!(two[at], 0x02);
    assert_eq!(
        MimiContent::decode(&mutate(&two, at, &[0x03])),
        Err(MimiError::Invalid("partSemantics must be 0, 1 or 2"))
    );
}

// Bounds the decoder's running time: elapsed wall time.
#[allow(clippy::disallowed_methods)]
#[test]
fn refuses_bombs_and_oversized_input() {
    // A 100 000-deep array nest is refused by the scan, without recursion.
    let mut bomb = vec![0x81u8; 100_000];
    bomb.push(0);
    let started = std::time::Instant::now();
    assert_eq!(MimiContent::decode(&bomb), Err(MimiError::TooDeep));
    assert!(started.elapsed().as_secs() < 5);
    // The same inside an extension value.
    let text = MimiContent::text([0; 16], "a").encode();
    let mut ext_bomb = text[..22].to_vec();
    ext_bomb.extend_from_slice(&[0xa1, 0x03]);
    ext_bomb.extend(std::iter::repeat_n(0x81, 50_000));
    assert_eq!(MimiContent::decode(&ext_bomb), Err(MimiError::TooDeep));
    // Lengths that claim far more than the input holds.
    for forged in [
        "87 5b ffffffffffffffff",
        "87 50 9b ffffffffffffffff",
        "9a 7fffffff 00",
    ] {
        assert_eq!(
            MimiContent::decode(&hex(forged)),
            Err(MimiError::Cbor("truncated".into()))
        );
    }
    // Over 1 MiB.
    let big = MimiContent::text([0; 16], &"a".repeat(MAX_CONTENT_BYTES));
    assert_eq!(MimiContent::decode(&big.encode()), Err(MimiError::TooLarge));
    // Invalid UTF-8 in a text string.
    let bad = mutate(&text, text.len() - 7, &[0xff]);
    assert_eq!(MimiContent::decode(&bad), Err(MimiError::InvalidUtf8));
    // Too many items.
    let mut wide = hex("87 50 00000000000000000000000000000000 f6 40 f6 f6 a0 83 01 60 00");
    wide[0] = 0x88;
    wide.extend(hex("9a 00010000"));
    wide.extend(std::iter::repeat_n(0u8, 65_536));
    assert_eq!(MimiContent::decode(&wide), Err(MimiError::TooLarge));
}
