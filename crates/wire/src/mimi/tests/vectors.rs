//! Known-answer vectors from draft-ietf-mimi-content §5, and the constructors.

use super::*;

const ROOM: &str = "mimi://example.com/r/engineering_team";
const ALICE: &str = "mimi://example.com/u/alice-smith";
const BOB: &str = "mimi://example.com/u/bob-jones";
const CATHY: &str = "mimi://example.com/u/cathy-washington";

// Encodings written from the annotated examples of draft-ietf-mimi-content
// §5 (the -08 text); the ids are the ones the draft prints for them.
pub(super) const ORIGINAL: &str = "87 50 5eed9406c2545547ab6f09f20a18b003 f6 40 f6 f6
    a2 01 7820 6d696d693a2f2f6578616d706c652e636f6d2f752f616c6963652d736d697468
       02 7825 6d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d
    85 01 60 01 781e 746578742f6d61726b646f776e3b76617269616e743d47464d2d4d494d49
       5839 48692065766572796f6e652c207765206a75737420736869707065642072656c65617365
            20322e302e205f5f476f6f642020776f726b5f5f21";
const ORIGINAL_ID: &str = "017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4";

const REPLY: &str = "87 50 11a458c73b8dd2cf404db4b378b8fe4d f6 40 f6
    5820 017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4
    a2 01 781e 6d696d693a2f2f6578616d706c652e636f6d2f752f626f622d6a6f6e6573
       02 7825 6d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d
    85 01 60 01 781e 746578742f6d61726b646f776e3b76617269616e743d47464d2d4d494d49
       5821 5269676874206f6e21205f436f6e67726174756c6174696f6e735f2027616c6c21";
const REPLY_ID: &str = "015354973c2b65ca937bf1e035ae53a5ab80e947afa43d46920d4202e5cc0b27";

const REACTION: &str = "87 50 d37bc0e6a8b4f04e9e6382375f587bf6 f6 40 f6
    5820 017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4
    a2 01 7825 6d696d693a2f2f6578616d706c652e636f6d2f752f63617468792d77617368696e67746f6e
       02 7825 6d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d
    85 02 60 01 7818 746578742f706c61696e3b636861727365743d7574662d38 43 e29da4";
const REACTION_ID: &str = "0158c4288911e50a8f6be3f47746b6682f10fd91bc8c05557aa589a3157aff68";

const DELETE: &str = "87 50 0a590d73b2c7761c39168be5ebf7f2e6
    5820 015354973c2b65ca937bf1e035ae53a5ab80e947afa43d46920d4202e5cc0b27 40 f6
    5820 017ce54837404c3696e0c747b985cb172716d0ed0a3d249ca63ace7d82a096f4
    a2 01 781e 6d696d693a2f2f6578616d706c652e636f6d2f752f626f622d6a6f6e6573
       02 7825 6d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d
    83 01 60 00";
const DELETE_ID: &str = "011d9efc78d04d4dcf4d82b07d5199bbef37011c1f0c7e004b6111c6dda504b4";

const EXPIRING: &str = "87 50 33be993eb39f418f9295afc2ae160d2d f6 40 82 f4 1a62036674 f6
    a2 01 7820 6d696d693a2f2f6578616d706c652e636f6d2f752f616c6963652d736d697468
       02 7825 6d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d
    85 01 60 01 781e 746578742f6d61726b646f776e3b76617269616e743d47464d2d4d494d49
       5850 5f5f2a56504e20474f494e4720444f574e2a5f5f2049276d207265626f6f74696e672074
            68652056504e20696e2074656e206d696e7574657320756e6c65737320616e796f6e65206f
            626a656374732e";
const EXPIRING_ID: &str = "01e59db8173939facc2c8a4a0f0ae8d0c7a11a81239626630c9464a8d6717a03";

const ATTACHMENT: &str = "87 50 18fac6371e4e53f1aeaf8a013155c166 f6 40 f6 f6
    a2 01 781e 6d696d693a2f2f6578616d706c652e636f6d2f752f626f622d6a6f6e6573
       02 7825 6d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d
    8f 06 62 656e 02 69 766964656f2f6d7034
       782b 68747470733a2f2f6578616d706c652e636f6d2f73746f726167652f386b7342346253727252452e6d7034
       00 1a2a36ced1 01 50 21399320958a6f4c745dde670d95e0d8 4c c86cf2c33f21527d1dd76f5b 40 01
       5820 9ab17a8cf0890baaae7ee016c7312fcc080ba46498389458ee44f0276e783163
       781c 3220686f757273206f66206b6579207369676e696e6720766964656f
       6b 62696766696c652e6d7034";
const ATTACHMENT_ID: &str = "0176180c7d19a925021fe446d241134d05c38e0d999cdc0f39c391d2377ed9d1";

const CONFERENCING: &str = "87 50 678ac6cd54de049c3e9665cd212470fa f6 47 466f6f20313138 f6 f6
    a2 01 7820 6d696d693a2f2f6578616d706c652e636f6d2f752f616c6963652d736d697468
       02 7825 6d696d693a2f2f6578616d706c652e636f6d2f722f656e67696e656572696e675f7465616d
    8f 07 60 02 60 781e 68747470733a2f2f6578616d706c652e636f6d2f6a6f696e2f3132333435
       00 00 00 40 40 40 00 40 781b 4a6f696e2074686520466f6f2031313820636f6e666572656e6365 60";
const CONFERENCING_ID: &str = "01496d15a8dba28d7397f9868b70768e4a67f765d5b5b1ae9e03848c5fdeb0ba";

/// Decodes a vector, checks it re-encodes to itself and hashes to the id the
/// draft prints.
fn check_vector(hex_bytes: &str, sender: &str, want_id: &str) -> MimiContent {
    let bytes = hex(hex_bytes);
    let content = MimiContent::decode(&bytes).unwrap();
    assert_eq!(content.encode(), bytes);
    assert_eq!(content.extensions.sender_uri.as_deref(), Some(sender));
    assert_eq!(content.extensions.room_uri.as_deref(), Some(ROOM));
    assert_eq!(content.message_id(sender, ROOM), id(want_id));
    assert_eq!(
        MessageId::compute(sender, ROOM, &bytes, &content.salt),
        id(want_id)
    );
    content
}

#[test]
fn draft_original_message() {
    let c = check_vector(ORIGINAL, ALICE, ORIGINAL_ID);
    assert_eq!(c.salt, hex("5eed9406c2545547ab6f09f20a18b003")[..]);
    assert_eq!((c.replaces, c.in_reply_to, c.expires), (None, None, None));
    assert!(c.topic_id.is_empty());
    assert_eq!(c.nested_part.disposition, Disposition::Render);
    assert_eq!(
        c.nested_part.body,
        PartBody::Single {
            content_type: "text/markdown;variant=GFM-MIMI".into(),
            content: b"Hi everyone, we just shipped release 2.0. __Good  work__!".to_vec(),
        }
    );
    assert_eq!(c.kind(), ContentKind::Text);
    assert_eq!(c.text_body(), None);
}

#[test]
fn draft_reply_reaction_delete() {
    let reply = check_vector(REPLY, BOB, REPLY_ID);
    assert_eq!(reply.in_reply_to, Some(id(ORIGINAL_ID)));
    assert_eq!(reply.kind(), ContentKind::Reply);

    let reaction = check_vector(REACTION, CATHY, REACTION_ID);
    assert_eq!(reaction.kind(), ContentKind::Reaction);
    assert_eq!(reaction.text_body(), Some("\u{2764}"));

    let delete = check_vector(DELETE, BOB, DELETE_ID);
    assert_eq!(delete.replaces, Some(id(REPLY_ID)));
    assert_eq!(delete.nested_part.body, PartBody::Null);
    assert_eq!(delete.kind(), ContentKind::Delete);
}

#[test]
fn draft_expiring_attachment_conferencing() {
    let expiring = check_vector(EXPIRING, ALICE, EXPIRING_ID);
    assert_eq!(expiring.expires, Some(Expiration::at(1_644_390_004)));

    let attachment = check_vector(ATTACHMENT, BOB, ATTACHMENT_ID);
    assert_eq!(attachment.nested_part.disposition, Disposition::Attachment);
    assert_eq!(attachment.nested_part.language, "en");
    let PartBody::External(e) = &attachment.nested_part.body else {
        panic!("not external")
    };
    assert_eq!(e.content_type, "video/mp4");
    assert_eq!(e.size, 708_234_961);
    assert_eq!(e.enc_alg, 1);
    assert_eq!(e.key, hex("21399320958a6f4c745dde670d95e0d8"));
    assert_eq!(e.nonce.len(), 12);
    assert_eq!(e.hash_alg, 1);
    assert_eq!(e.filename, "bigfile.mp4");
    assert_eq!(attachment.kind(), ContentKind::Other);

    let conf = check_vector(CONFERENCING, ALICE, CONFERENCING_ID);
    assert_eq!(conf.topic_id, b"Foo 118");
    assert_eq!(conf.nested_part.disposition, Disposition::Session);
}

#[test]
fn message_id_refuses_unrepresentable_uris() {
    let long = "x".repeat(65_536);
    assert!(MessageId::try_compute(&long, ROOM, b"", &[0; 16]).is_err());
    assert_eq!(
        MessageId::compute(ROOM, &long, b"", &[0; 16]),
        MessageId::UNREPRESENTABLE
    );
    let ok = "x".repeat(65_535);
    assert_eq!(
        MessageId::compute(&ok, ROOM, b"", &[0; 16]).0[0],
        MessageId::SHA256
    );
}

#[test]
fn constructors_and_kinds() {
    let salt = [7u8; 16];
    let target = id(ORIGINAL_ID);
    let text = MimiContent::text(salt, "hello");
    assert_eq!(text.kind(), ContentKind::Text);
    assert_eq!(text.text_body(), Some("hello"));
    // Hand-written: [h'07'*16, null, h'', null, null, {}, [1, "", 1, "text/plain;charset=utf-8", 'hello']]
    let want = hex(&format!(
        "87 50 {} f6 40 f6 f6 a0 85 01 60 01 7818 746578742f706c61696e3b636861727365743d7574662d38 45 68656c6c6f",
        "07".repeat(16)
    ));
    assert_eq!(text.encode(), want);

    let reply = MimiContent::reply(salt, target, "yes");
    assert_eq!(
        (reply.kind(), reply.in_reply_to),
        (ContentKind::Reply, Some(target))
    );
    let reaction = MimiContent::reaction(salt, target, "👍");
    assert_eq!(reaction.kind(), ContentKind::Reaction);
    assert_eq!(reaction.nested_part.disposition, Disposition::Reaction);
    assert_eq!(reaction.text_body(), Some("👍"));
    let edit = MimiContent::edit(salt, target, "fixed");
    assert_eq!(
        (edit.kind(), edit.text_body()),
        (ContentKind::Edit, Some("fixed"))
    );
    let delete = MimiContent::delete(salt, target);
    assert_eq!(
        (delete.kind(), delete.text_body()),
        (ContentKind::Delete, None)
    );
    let unreact = MimiContent::unreact(salt, target);
    assert_eq!(unreact.kind(), ContentKind::Delete);
    let expiring = MimiContent::text(salt, "bye").with_expiry(Expiration::after_reading(30));
    assert_eq!(
        expiring.expires,
        Some(Expiration {
            relative: true,
            time: 30
        })
    );
    let with_uris = MimiContent::text(salt, "hi").with_uris(ALICE, ROOM);
    assert_eq!(with_uris.extensions.sender_uri.as_deref(), Some(ALICE));

    for c in [
        text, reply, reaction, edit, delete, unreact, expiring, with_uris,
    ] {
        assert_eq!(MimiContent::decode(&c.encode()).as_ref(), Ok(&c));
    }
}

#[test]
fn text_body_finds_a_plain_alternative() {
    let alt = NestedPart {
        disposition: Disposition::Render,
        language: String::new(),
        body: PartBody::Multi {
            semantics: PartSemantics::ChooseOne,
            parts: vec![
                single("text/markdown;variant=GFM-MIMI", b"**hi**"),
                single("text/plain; charset=UTF-8", b"hi"),
            ],
        },
    };
    let c = MimiContent::new([0; 16], alt);
    assert_eq!(c.text_body(), Some("hi"));
    assert_eq!(c.kind(), ContentKind::Text);
    let bad_utf8 = MimiContent::new([0; 16], single(TEXT_PLAIN_UTF8, &[0xff]));
    assert_eq!(bad_utf8.text_body(), None);
}
