//! Byte-exact vectors of the subject/icon constructions, both directions.
//!
//! Computed with Python 3 (`hashlib`, `hmac`, `cryptography` for AES-CTR)
//! from the published facts alone (fact sheet §1, §2, §4):
//!
//! ```text
//! salt = bytes.fromhex("3243f6a8885a308d313198a2e03707344a4093822299f31d0082efa98ec4e6c8")
//! okm  = HKDF-SHA256(salt, ikm=K, info=b"group_subject", L=64); k_enc, k_hmac = okm[:32], okm[32:]
//! M = b"Team Crosslock" (14 bytes, Padmé(14) = 14, so no pad)
//! ct  = AES-256-CTR(k_enc, IV || 00000000, M || u32be(14) || u32be(0))
//! tag = HMAC-SHA256(k_hmac, IV || ct)
//! c1(L, V) = sha256(varint(len L) || L || varint(len V) || V)
//! v3 = c1(b"subject_commitment", K); v4 = c1(b"group_subject", tag)
//! FileInfo = field 3 { 1: "group_subject", 2: "text/plain",
//!                      3: { 1: K, 2: IV, 3: tag, 4: varint 1, 5: fixed32 LE 14 } }
//! ```
//! with `K = 00 01 … 1f` and `IV = a0 a1 … ab`. The icon vector: `K = 55×32`,
//! `IV = 66×12`, `M = 00 01 … 27` (40 bytes, Padmé(40) = 40), info
//! `group_icon`, labels `icon_commitment` / `group_icon`.

use crosslock_wire::file_info::{FileInfo, Slot};
use crosslock_wire::ft_http::{Descriptor, Download, FileEntry};
use crosslock_wire::rcc16::Revision;
use crosslock_wire::rcc16::extensions as ext;

use super::*;
use crate::error::ClientError;

fn hex(s: &str) -> Vec<u8> {
    ::hex::decode(s).unwrap()
}

const SUBJECT_CT: &str = "f03c6b61c4c4072c874ba4074273b0809bab5541e137";
const SUBJECT_TAG: &str = "7b1857d685f99880327fca8cdcd551b9d687060c4d79c44744016e479a318d26";
const SUBJECT_V3: &str = "bc0967c67a0d46f643d0fcd209b599b17f77e97ff6d1cd01f64e4d44a0f2bf3d";
const SUBJECT_V4: &str = "1fdf40439e2aff5cd34bc3eaa80bacd37e51562fa80b77287d1b967618b2e037";
const SUBJECT_FILE_INFO: &str = "1a760a0d67726f75705f7375626a656374120a746578742f706c61696e1a590a20\
000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f120ca0a1a2a3a4a5a6a7a8a9aaab1a20\
7b1857d685f99880327fca8cdcd551b9d687060c4d79c44744016e479a318d2620012d0e000000";

const ICON_CT: &str = "fd099b8d8dac1b7dabac4a4aeb62c5229c462afc3ddf90e2a16f9083e519ccf2\
7951fb973740eab08e2dfb2e6e150169";
const ICON_TAG: &str = "4c0d95e3b9ad224df309ecf75728893a16f74703cbad02772779f41034509e7c";
const ICON_V3: &str = "0aa7555bb0d9ff15a53b70e2cb56ff527062d6af75fe3b7956d151dc215268de";
const ICON_V4: &str = "6c887b05d56b3e8821b5a4f7f3f88160e6712bddde698c0d1d563939af14e185";

fn subject_key() -> [u8; 32] {
    std::array::from_fn(|i| i as u8)
}

fn subject_iv() -> [u8; 12] {
    std::array::from_fn(|i| 0xa0 + i as u8)
}

fn arr<const N: usize>(s: &str) -> [u8; N] {
    hex(s).try_into().unwrap()
}

#[test]
fn subject_vector_both_ways() {
    let sealed = seal::seal(
        MetadataKind::Subject,
        b"Team Crosslock",
        "text/plain",
        subject_key(),
        subject_iv(),
    )
    .unwrap();
    assert_eq!(sealed.ciphertext, hex(SUBJECT_CT));
    assert_eq!(sealed.item.tag, arr::<32>(SUBJECT_TAG));
    assert_eq!(sealed.item.length, Some(14));
    // Commitments, and the framed 0xF006 payload `20 ‖ digest`.
    let key = sealed.item.key;
    let tag = sealed.item.tag;
    let v3 = commitment_for(MetadataKind::Subject, Revision::V3_0, &key, &tag);
    let v4 = commitment_for(MetadataKind::Subject, Revision::V4_0, &key, &tag);
    assert_eq!(v3.to_vec(), hex(SUBJECT_V3));
    assert_eq!(v4.to_vec(), hex(SUBJECT_V4));
    let mut framed = vec![0x20];
    framed.extend_from_slice(&v3);
    assert_eq!(ext::encode_commitment(&v3), framed);
    // The key delivery, encoded exactly ...
    let info = seal::file_info(MetadataKind::Subject, &sealed.item).unwrap();
    assert_eq!(info.encode(), hex(SUBJECT_FILE_INFO));
    // ... and decoded from the vector to the same fields.
    let decoded = FileInfo::decode(&hex(SUBJECT_FILE_INFO)).unwrap();
    assert_eq!(decoded.slot(), Slot::Subject);
    let item = seal::item_of(MetadataKind::Subject, &decoded).unwrap();
    assert_eq!(item.key, subject_key());
    assert_eq!(item.iv, subject_iv());
    assert_eq!(item.tag, arr::<32>(SUBJECT_TAG));
    assert_eq!(item.length, Some(14));
    assert_eq!(item.content_type, "text/plain");
    // The vector's ciphertext opens with it; both commitments accept it.
    let value = seal::open(MetadataKind::Subject, &item, &hex(SUBJECT_CT)).unwrap();
    assert_eq!(value, b"Team Crosslock");
    for claimed in [hex(SUBJECT_V3), hex(SUBJECT_V4)] {
        assert!(key_matches(
            &claimed,
            MetadataKind::Subject,
            &item.key,
            &item.tag
        ));
        // The icon labels never accept a subject commitment.
        assert!(!key_matches(
            &claimed,
            MetadataKind::Icon,
            &item.key,
            &item.tag
        ));
    }
}

#[test]
fn icon_vector_both_ways() {
    let value: Vec<u8> = (0..40).collect();
    let sealed = seal::seal(
        MetadataKind::Icon,
        &value,
        "image/png",
        [0x55; 32],
        [0x66; 12],
    )
    .unwrap();
    assert_eq!(sealed.ciphertext, hex(ICON_CT));
    assert_eq!(sealed.item.tag, arr::<32>(ICON_TAG));
    let (key, tag) = (sealed.item.key, sealed.item.tag);
    assert_eq!(
        commitment_for(MetadataKind::Icon, Revision::V3_0, &key, &tag).to_vec(),
        hex(ICON_V3)
    );
    assert_eq!(
        commitment_for(MetadataKind::Icon, Revision::V4_0, &key, &tag).to_vec(),
        hex(ICON_V4)
    );
    let info = seal::file_info(MetadataKind::Icon, &sealed.item).unwrap();
    let decoded = FileInfo::decode(&info.encode()).unwrap();
    assert_eq!(decoded.slot(), Slot::Icon);
    assert_eq!(decoded.metadata().file_name(), "group_icon");
    let item = seal::item_of(MetadataKind::Icon, &decoded).unwrap();
    assert_eq!(
        seal::open(MetadataKind::Icon, &item, &hex(ICON_CT)).unwrap(),
        value
    );
    // Both the framed and the bare commitment (an Apple case) decode and match.
    let mut context = mls_rs::ExtensionList::new();
    for payload in [ext::encode_commitment(&hex(ICON_V4)), hex(ICON_V3)] {
        context.set(mls_rs_core::extension::Extension::new(
            mls_rs_core::extension::ExtensionType::new(ext::ICON_COMMITMENT),
            payload,
        ));
        assert!(item.is_current(&context, MetadataKind::Icon).unwrap());
        assert!(!item.is_current(&context, MetadataKind::Subject).unwrap());
    }
}

#[test]
fn key_and_tag_must_both_be_the_committed_ones() {
    let key = subject_key();
    let tag = arr::<32>(SUBJECT_TAG);
    let v3 = hex(SUBJECT_V3);
    let v4 = hex(SUBJECT_V4);
    let mut other_key = key;
    other_key[31] ^= 1;
    let mut other_tag = tag;
    other_tag[0] ^= 0x80;
    // v3.0 binds the key, v4.0 the tag.
    assert!(!key_matches(&v3, MetadataKind::Subject, &other_key, &tag));
    assert!(key_matches(&v3, MetadataKind::Subject, &key, &other_tag));
    assert!(!key_matches(&v4, MetadataKind::Subject, &key, &other_tag));
    assert!(key_matches(&v4, MetadataKind::Subject, &other_key, &tag));
    // A truncated or empty digest never matches.
    assert!(!key_matches(&v3[..31], MetadataKind::Subject, &key, &tag));
    assert!(!key_matches(&[], MetadataKind::Subject, &key, &tag));
}

#[test]
fn refusals_of_bad_values_and_deliveries() {
    // GROUP-META-4: slot 3 must be named group_subject.
    let sealed = seal::seal(
        MetadataKind::Subject,
        b"x",
        "text/plain",
        subject_key(),
        subject_iv(),
    )
    .unwrap();
    let info = seal::file_info(MetadataKind::Subject, &sealed.item).unwrap();
    assert!(matches!(
        seal::item_of(MetadataKind::Icon, &info),
        Err(GroupMetadataError::WrongFileName {
            expected: "group_icon",
            ..
        })
    ));
    // Sizes and text.
    assert!(matches!(
        seal::seal(
            MetadataKind::Subject,
            &[b'a'; MAX_SUBJECT_BYTES + 1],
            "text/plain",
            [0; 32],
            [0; 12]
        ),
        Err(ClientError::GroupMetadata(
            GroupMetadataError::TooLarge { .. }
        ))
    ));
    assert!(matches!(
        seal::seal(
            MetadataKind::Subject,
            &[0xff, 0xfe],
            "text/plain",
            [0; 32],
            [0; 12]
        ),
        Err(ClientError::GroupMetadata(
            GroupMetadataError::SubjectNotText
        ))
    ));
    // A ciphertext over the icon bound is refused before decryption.
    let item = &sealed.item;
    let huge = vec![0u8; MAX_ICON_BYTES * 2];
    assert!(matches!(
        seal::open(MetadataKind::Icon, item, &huge),
        Err(ClientError::GroupMetadata(
            GroupMetadataError::TooLarge { .. }
        ))
    ));
    // A swapped or truncated ciphertext fails the tag.
    for bad in [hex(SUBJECT_CT), vec![0; 9], sealed.ciphertext[1..].to_vec()] {
        assert!(seal::open(MetadataKind::Subject, item, &bad).is_err());
    }
}

#[test]
fn descriptor_pairing_checks() {
    let sealed = seal::seal(
        MetadataKind::Subject,
        b"Team Crosslock",
        "text/plain",
        subject_key(),
        subject_iv(),
    )
    .unwrap();
    let info = seal::file_info(MetadataKind::Subject, &sealed.item)
        .unwrap()
        .encode();
    let download = Download {
        url: "https://content.example/g/1".into(),
        until: 1_790_086_400,
    };
    let entry = |size| FileEntry::encrypted(size, download.clone());
    let good = Descriptor::new(entry(22), None).unwrap();
    let found = metadata_download(&good, std::slice::from_ref(&info))
        .unwrap()
        .unwrap();
    assert_eq!(found.kind, MetadataKind::Subject);
    assert_eq!(found.download, download);
    assert_eq!(found.ciphertext_size, 22);
    // GROUP-META-5: wrong size, a thumbnail.
    for bad in [
        Descriptor::new(entry(23), None).unwrap(),
        Descriptor::new(entry(22), Some(entry(22))).unwrap(),
    ] {
        assert!(matches!(
            metadata_download(&bad, std::slice::from_ref(&info)),
            Some(Err(ClientError::GroupMetadata(
                GroupMetadataError::DescriptorMismatch(MetadataKind::Subject)
            )))
        ));
    }
    // What a sender sends for this download, byte for byte (fact sheet §2:
    // `<file-name>encrypted_file`, `<content-type>message/mls-ft`; the
    // expiry 1_790_086_400 is 2026-09-22T14:13:20Z), and back.
    let sent = super::deliver::descriptor(MetadataKind::Subject, &sealed.item, download.clone())
        .unwrap()
        .encode();
    let expected = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
        <file xmlns=\"urn:gsma:params:xml:ns:rcs:rcs:fthttp\">\
        <file-info type=\"file\"><file-size>22</file-size>\
        <file-name>encrypted_file</file-name>\
        <content-type>message/mls-ft</content-type>\
        <data url=\"https://content.example/g/1\" until=\"2026-09-22T14:13:20Z\"/>\
        </file-info></file>";
    assert_eq!(String::from_utf8(sent.clone()).unwrap(), expected);
    let back = Descriptor::decode(expected.as_bytes()).unwrap();
    assert_eq!(back, good);
    // A chat attachment's pairing is not ours.
    assert!(metadata_download(&good, &[]).is_none());
}

#[test]
fn kinds_map_to_the_deployed_numbers() {
    assert_eq!(MetadataKind::Subject.commitment_extension(), 0xF006);
    assert_eq!(MetadataKind::Icon.commitment_extension(), 0xF004);
    assert_eq!(MetadataKind::Subject.slot().field(), 3);
    assert_eq!(MetadataKind::Icon.slot().field(), 4);
    // The HKDF info is the file name (fact sheet §1), as in `crate::file`.
    assert_eq!(
        MetadataKind::Subject.file_name().as_bytes(),
        crate::file::INFO_GROUP_SUBJECT
    );
    assert_eq!(
        MetadataKind::Icon.file_name().as_bytes(),
        crate::file::INFO_GROUP_ICON
    );
    assert_eq!(MetadataKind::of_slot(Slot::File), None);
    assert_eq!(MetadataKind::of_slot(Slot::Thumbnail), None);
    for kind in MetadataKind::ALL {
        assert_eq!(MetadataKind::of_slot(kind.slot()), Some(kind));
    }
}
