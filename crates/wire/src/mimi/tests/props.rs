//! Property tests: round trips, and decoding arbitrary or corrupted bytes.

use super::*;
use crate::cbor::write::to_vec;
use ciborium::Value;
use proptest::prelude::*;

fn arb_id() -> impl Strategy<Value = MessageId> {
    any::<[u8; 32]>().prop_map(MessageId)
}

fn arb_language() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-z]{2}(-[A-Z]{2})?(,[a-z]{2})?"]
}

fn arb_disposition() -> impl Strategy<Value = Disposition> {
    any::<u8>().prop_map(Disposition::from_u8)
}

fn arb_external() -> impl Strategy<Value = ExternalPart> {
    (
        (
            "[ -~]{0,20}",
            "[ -~]{0,40}",
            any::<u32>(),
            any::<u64>(),
            any::<u16>(),
        ),
        (
            proptest::collection::vec(any::<u8>(), 0..33),
            proptest::collection::vec(any::<u8>(), 0..13),
            proptest::collection::vec(any::<u8>(), 0..5),
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..33),
            ".{0,20}",
            ".{0,20}",
        ),
    )
        .prop_map(
            |(
                (content_type, url, expires, size, enc_alg),
                (key, nonce, aad, hash_alg, content_hash, description, filename),
            )| {
                ExternalPart {
                    content_type,
                    url,
                    expires,
                    size,
                    enc_alg,
                    key,
                    nonce,
                    aad,
                    hash_alg,
                    content_hash,
                    description,
                    filename,
                }
            },
        )
}

fn arb_leaf_body() -> impl Strategy<Value = PartBody> {
    prop_oneof![
        Just(PartBody::Null),
        (".{0,20}", proptest::collection::vec(any::<u8>(), 0..64)).prop_map(
            |(content_type, content)| PartBody::Single {
                content_type,
                content
            }
        ),
        arb_external().prop_map(PartBody::External),
    ]
}

fn arb_part() -> impl Strategy<Value = NestedPart> {
    let leaf = (arb_disposition(), arb_language(), arb_leaf_body()).prop_map(
        |(disposition, language, body)| NestedPart {
            disposition,
            language,
            body,
        },
    );
    leaf.prop_recursive(3, 24, 4, |inner| {
        (
            arb_disposition(),
            arb_language(),
            prop_oneof![
                Just(PartSemantics::ChooseOne),
                Just(PartSemantics::SingleUnit),
                Just(PartSemantics::ProcessAll)
            ],
            proptest::collection::vec(inner, 2..4),
        )
            .prop_map(|(disposition, language, semantics, parts)| NestedPart {
                disposition,
                language,
                body: PartBody::Multi { semantics, parts },
            })
    })
}

/// Sorts maps by encoded key and drops repeated keys, as a decoder returns them.
fn canonical(v: Value) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        Value::Tag(t, inner) => Value::Tag(t, Box::new(canonical(*inner))),
        Value::Map(entries) => {
            let mut entries: Vec<(Vec<u8>, Value, Value)> = entries
                .into_iter()
                .map(|(k, v)| (to_vec(&k), k, canonical(v)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries.dedup_by(|a, b| a.0 == b.0);
            Value::Map(entries.into_iter().map(|(_, k, v)| (k, v)).collect())
        }
        other => other,
    }
}

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|i| Value::Integer(i.into())),
        any::<u64>().prop_map(|i| Value::Integer(i.into())),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Value::Bytes),
        ".{0,12}".prop_map(Value::Text),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
        any::<f64>()
            .prop_filter("NaN breaks equality", |f| !f.is_nan())
            .prop_map(Value::Float),
    ]
}

fn arb_key() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-(1i64 << 53) + 1..(1i64 << 53)).prop_map(|i| Value::Integer(i.into())),
        "[a-z]{0,6}".prop_map(Value::Text),
        proptest::collection::vec(any::<u8>(), 0..4).prop_map(Value::Bytes),
    ]
}

fn arb_ext_value() -> impl Strategy<Value = Value> {
    arb_scalar()
        .prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec((arb_key(), inner.clone()), 0..4).prop_map(Value::Map),
                (4u64..1000, inner).prop_map(|(t, v)| Value::Tag(t, Box::new(v))),
            ]
        })
        .prop_map(canonical)
}

fn arb_ext_name() -> impl Strategy<Value = ExtensionName> {
    prop_oneof![
        prop_oneof![3i64..1000, -1000i64..0].prop_map(ExtensionName::Int),
        "[a-zA-Z0-9]{1,20}".prop_map(ExtensionName::Text),
    ]
}

fn arb_extensions() -> impl Strategy<Value = Extensions> {
    (
        proptest::option::of(".{0,30}"),
        proptest::option::of(".{0,30}"),
        proptest::collection::vec((arb_ext_name(), arb_ext_value()), 0..4),
    )
        .prop_map(|(sender_uri, room_uri, other)| {
            let mut other: Vec<(Vec<u8>, ExtensionName, Value)> = other
                .into_iter()
                .map(|(n, v)| {
                    let key = match &n {
                        ExtensionName::Int(i) => Value::Integer((*i).into()),
                        ExtensionName::Text(t) => Value::Text(t.clone()),
                    };
                    (to_vec(&key), n, v)
                })
                .collect();
            other.sort_by(|a, b| a.0.cmp(&b.0));
            other.dedup_by(|a, b| a.0 == b.0);
            Extensions {
                sender_uri,
                room_uri,
                other: other.into_iter().map(|(_, n, v)| (n, v)).collect(),
            }
        })
}

prop_compose! {
    fn arb_content()(
        salt: [u8; 16],
        replaces in proptest::option::of(arb_id()),
        topic_id in proptest::collection::vec(any::<u8>(), 0..8),
        expires in proptest::option::of((any::<bool>(), any::<u32>()).prop_map(|(relative, time)| Expiration { relative, time })),
        in_reply_to in proptest::option::of(arb_id()),
        extensions in arb_extensions(),
        nested_part in arb_part(),
    ) -> MimiContent {
        MimiContent { salt, replaces, topic_id, expires, in_reply_to, extensions, nested_part }
    }
}

proptest! {
    #[test]
    fn round_trip(content in arb_content()) {
        let bytes = content.encode();
        prop_assert_eq!(MimiContent::decode(&bytes), Ok(content));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = MimiContent::decode(&bytes);
    }

    #[test]
    fn corrupted_content_never_panics(content in arb_content(), at: usize, byte: u8) {
        let mut bytes = content.encode();
        let i = at % bytes.len();
        bytes[i] = byte;
        if let Ok(decoded) = MimiContent::decode(&bytes) {
            // Anything accepted is canonical.
            prop_assert_eq!(decoded.encode(), bytes);
        }
    }

    #[test]
    fn message_ids_bind_every_input(content in arb_content(), flip in 0usize..4) {
        let bytes = content.encode();
        let base = MessageId::compute("a", "r", &bytes, &content.salt);
        prop_assert_eq!(base.0[0], MessageId::SHA256);
        let other = match flip {
            0 => MessageId::compute("b", "r", &bytes, &content.salt),
            1 => MessageId::compute("a", "s", &bytes, &content.salt),
            2 => MessageId::compute("ar", "", &bytes, &content.salt),
            _ => MessageId::compute("a", "r", &bytes, &[content.salt[0] ^ 1; 16]),
        };
        prop_assert_ne!(base, other);
    }
}
