//! Unit tests: the Annex C.2 known answer computed with another
//! implementation, every Annex C.3 refusal in its order, and forged
//! FileInfo / descriptor messages sent through MLS (which only the crate
//! can build).

use std::io::Cursor;
use std::sync::Arc;

use crosslock_wire::content_type;
use crosslock_wire::file_info::{FileEncryptionInfo, FileKey};
use crosslock_wire::ft_http;
use crosslock_wire::inner::ApplicationPayload;

use super::keys::FileKeys;
use super::*;
use crate::conversation::NewConversation;
use crate::device::Device;
use crate::env::ManualClock;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::receive::{Received, ReceivedContent};
use crate::test_devices::{claim, phone};

// ---- Annex C.2 known answer ---------------------------------------------

/// Computed independently with Python (`hmac`/`hashlib` for RFC 5869
/// HKDF-SHA256 and HMAC, `cryptography`'s AES-256-CTR with the counter
/// block `IV || 00000000`), from the facts of rcc16-deployed.md §1 alone:
/// K = 00 01 … 1f, info = "hello.txt", IV = a0 a1 … ab,
/// M = "hello, file!" × 5 + "\n" × 5 (65 bytes), Padmé(65) = 72, so 7
/// zero bytes and the trailer 00000041 00000007; 80 bytes of ciphertext.
const KAT_K_ENC: &str = "6cb7186d41010630761eaef0c90b1486192a3f5d8a9ab0ce171ee60c62e691e5";
const KAT_K_HMAC: &str = "d00af96aa2721734ae7cd395d8fbe6592e60e38bbae5bf8384678c73b536644f";
const KAT_IV: &str = "a0a1a2a3a4a5a6a7a8a9aaab";
const KAT_CIPHERTEXT: &str = concat!(
    "f5242a5a3858ac52f34c6a0d15dec5ae8b6bb8fdf0cea4579452040b39d075f2",
    "824e820d0215d5bab20f247fd9e06e305c5dde97a25700cbda6bfc4085ca91fc",
    "cd536914cb74bb20", // last byte of M, then the 7 zero bytes
    "0fd5918f20fec555", // the trailer: u32 BE 65, u32 BE 7
);
const KAT_TAG: &str = "0b747ea58f5f48e10b31bfe15d59365e153c730b1c32cd3c8cf6e598e961c6ef";
/// The same K and IV, info "group_icon", an empty plaintext: the trailer
/// alone (00000000 00000000).
const KAT_ICON_CIPHERTEXT: &str = "6821e1c202857b02";
const KAT_ICON_TAG: &str = "12aa8a6ea67ed5827fe86c53bbb978d9a902788a1e3c422481184930a2804d86";

fn kat_plaintext() -> Vec<u8> {
    let mut p = b"hello, file!".repeat(5);
    p.extend_from_slice(b"\n\n\n\n\n");
    p
}

fn kat_key() -> FileKey {
    FileKey::from_bytes(std::array::from_fn(|i| i as u8))
}

fn kat_iv() -> [u8; IV_LEN] {
    hex::decode(KAT_IV).unwrap().try_into().unwrap()
}

fn arr<const N: usize>(h: &str) -> [u8; N] {
    hex::decode(h).unwrap().try_into().unwrap()
}

fn params<'a>(
    key: &'a FileKey,
    iv: &'a [u8; 12],
    tag: &'a [u8; 32],
    hint: Option<u32>,
) -> DecryptParams<'a> {
    DecryptParams {
        key,
        info: b"hello.txt",
        iv,
        tag,
        length_hint: hint,
    }
}

#[test]
fn hkdf_split_matches_the_vector() {
    // k_enc: the keystream of block 0 under k_enc directly equals ours.
    let keys = FileKeys::derive(&kat_key(), b"hello.txt").unwrap();
    let mut ours = [0u8; 16];
    keys.apply_keystream(&kat_iv(), 0, &mut ours).unwrap();
    let direct = {
        use aws_lc_rs::cipher::{AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
        let k = EncryptingKey::ctr(
            UnboundCipherKey::new(&AES_256, &hex::decode(KAT_K_ENC).unwrap()).unwrap(),
        )
        .unwrap();
        let mut block = [0u8; 16];
        block[..12].copy_from_slice(&kat_iv());
        let mut b = [0u8; 16];
        k.less_safe_encrypt(&mut b, EncryptionContext::Iv128(block.into()))
            .unwrap();
        b
    };
    assert_eq!(ours, direct);
    // k_hmac: the tag under k_hmac directly equals the vector's.
    let mac = aws_lc_rs::hmac::Key::new(
        aws_lc_rs::hmac::HMAC_SHA256,
        &hex::decode(KAT_K_HMAC).unwrap(),
    );
    let data = [
        hex::decode(KAT_IV).unwrap(),
        hex::decode(KAT_CIPHERTEXT).unwrap(),
    ]
    .concat();
    assert_eq!(hex::encode(aws_lc_rs::hmac::sign(&mac, &data)), KAT_TAG);
}

#[test]
fn known_answer_both_ways() {
    let mut ct = Vec::new();
    let out = encrypt_file(
        &kat_plaintext()[..],
        &mut ct,
        &kat_key(),
        b"hello.txt",
        kat_iv(),
    )
    .unwrap();
    assert_eq!(hex::encode(&ct), KAT_CIPHERTEXT);
    assert_eq!(hex::encode(out.tag), KAT_TAG);
    assert_eq!(out.iv, kat_iv());
    assert_eq!((out.size, out.ciphertext_size), (65, 80));
    assert_eq!(ciphertext_size(65), Some(80));
    let (key, iv, tag) = (kat_key(), kat_iv(), arr::<32>(KAT_TAG));
    let ct = hex::decode(KAT_CIPHERTEXT).unwrap();
    assert_eq!(
        decrypt_bytes(&ct, params(&key, &iv, &tag, Some(65))).unwrap(),
        kat_plaintext()
    );
    assert_eq!(
        decrypt_bytes(&ct, params(&key, &iv, &tag, None)).unwrap(),
        kat_plaintext()
    );
    // The group icon: info "group_icon", empty content.
    let (ct, out) = encrypt_bytes(b"", &key, INFO_GROUP_ICON, iv).unwrap();
    assert_eq!(hex::encode(&ct), KAT_ICON_CIPHERTEXT);
    assert_eq!(hex::encode(out.tag), KAT_ICON_TAG);
    let icon_tag = arr::<32>(KAT_ICON_TAG);
    let p = DecryptParams {
        info: INFO_GROUP_ICON,
        ..params(&key, &iv, &icon_tag, Some(0))
    };
    assert_eq!(decrypt_bytes(&ct, p).unwrap(), b"");
    assert_eq!(INFO_GROUP_SUBJECT, b"group_subject");
}

/// Encrypts a forged padded plaintext under the KAT key and returns a
/// ciphertext with a valid tag: only the later C.3 checks can refuse it.
fn forge(padded: &[u8]) -> (Vec<u8>, [u8; 32]) {
    let keys = FileKeys::derive(&kat_key(), b"hello.txt").unwrap();
    let mut ct = padded.to_vec();
    keys.apply_keystream(&kat_iv(), 0, &mut ct).unwrap();
    let mut mac = keys.mac();
    mac.update(&kat_iv());
    mac.update(&ct);
    (ct, mac.sign().as_ref().try_into().unwrap())
}

fn padded(m: &[u8], pad: &[u8], message_len: u32, padding_len: u32) -> Vec<u8> {
    [
        m,
        pad,
        &message_len.to_be_bytes(),
        &padding_len.to_be_bytes(),
    ]
    .concat()
}

#[test]
fn annex_c3_checks_in_order() {
    let (key, iv) = (kat_key(), kat_iv());
    let good = hex::decode(KAT_CIPHERTEXT).unwrap();
    let tag = arr::<32>(KAT_TAG);
    let open = |ct: &[u8], tag: &[u8; 32], hint| {
        let mut out = Vec::new();
        let r = decrypt_file(Cursor::new(ct), &mut out, params(&key, &iv, tag, hint));
        assert!(out.is_empty() || r.is_ok(), "plaintext released on error");
        r
    };
    // 1. shorter than the trailer.
    assert!(matches!(
        open(&good[..7], &tag, None),
        Err(FileError::TooShort(7))
    ));
    // 2. the tag, before anything else: a flipped bit, a wrong tag, a
    // truncated ciphertext, another name (HKDF info) all fail here.
    let mut flipped = good.clone();
    flipped[79] ^= 1;
    assert!(matches!(
        open(&flipped, &tag, Some(65)),
        Err(FileError::BadTag)
    ));
    assert!(matches!(
        open(&good[..72], &tag, Some(65)),
        Err(FileError::BadTag)
    ));
    let mut wrong = tag;
    wrong[31] ^= 1;
    assert!(matches!(
        open(&good, &wrong, Some(999)),
        Err(FileError::BadTag)
    ));
    let renamed = DecryptParams {
        info: b"other.txt",
        ..params(&key, &iv, &tag, None)
    };
    assert!(matches!(
        decrypt_bytes(&good, renamed),
        Err(FileError::BadTag)
    ));
    // 3. messageLength ≥ 2^31.
    let (ct, t) = forge(&padded(b"", b"", 1 << 31, 0));
    assert!(matches!(
        open(&ct, &t, None),
        Err(FileError::LengthTooLarge(0x8000_0000))
    ));
    // 4. the hint.
    assert!(matches!(
        open(&good, &tag, Some(64)),
        Err(FileError::HintMismatch {
            hint: 64,
            length: 65
        })
    ));
    // 5. the lengths against the ciphertext's.
    let (ct, t) = forge(&padded(&[1; 10], &[], 9, 0));
    assert!(matches!(
        open(&ct, &t, None),
        Err(FileError::LengthMismatch {
            ciphertext: 18,
            message: 9,
            padding: 0
        })
    ));
    // 6. paddingLength not Padmé's: 9 bytes pad to 10, not 9 or 11.
    let (ct, t) = forge(&padded(&[1; 9], &[0, 0], 9, 2));
    assert!(matches!(
        open(&ct, &t, None),
        Err(FileError::BadPaddingLength {
            message: 9,
            padding: 2
        })
    ));
    // 7. a non-zero pad byte.
    let (ct, t) = forge(&padded(&[1; 9], &[7], 9, 1));
    assert!(matches!(open(&ct, &t, Some(9)), Err(FileError::BadPadding)));
    // ... and the same forgery with a zero pad is accepted.
    let (ct, t) = forge(&padded(&[1; 9], &[0], 9, 1));
    assert_eq!(
        decrypt_bytes(&ct, params(&key, &iv, &t, Some(9))).unwrap(),
        [1; 9]
    );
    // Oversize input is refused before it is read.
    assert_eq!(MAX_CIPHERTEXT_SIZE, padme(MAX_FILE_SIZE).unwrap() + 8);
    assert_eq!(ciphertext_size(MAX_FILE_SIZE + 1), None);
}

#[test]
fn round_trips_across_buffer_boundaries() {
    let key = FileKey::from_bytes([9; 32]);
    for len in [
        0,
        1,
        7,
        8,
        9,
        255,
        BUFFER_SIZE - 9,
        BUFFER_SIZE - 8,
        BUFFER_SIZE,
        3 * BUFFER_SIZE + 5,
    ] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        let (ct, out) = encrypt_bytes(&data, &key, b"x.bin", [len as u8; 12]).unwrap();
        assert_eq!(
            ct.len() as u64,
            ciphertext_size(len as u64).unwrap(),
            "{len}"
        );
        let p = DecryptParams {
            key: &key,
            info: b"x.bin",
            iv: &out.iv,
            tag: &out.tag,
            length_hint: Some(out.size),
        };
        assert_eq!(decrypt_bytes(&ct, p).unwrap(), data, "{len}");
    }
}

// ---- Forged FileInfo and descriptors through MLS -------------------------

fn pair() -> (Device, Device, ConversationId) {
    let clock = Arc::new(ManualClock::new(1_790_000_000));
    let mut alice = phone("+15551230001", &clock, 11);
    let mut bob = phone("+15551230002", &clock, 12);
    let bob_kps = claim(&mut bob);
    let pending = alice
        .create_conversation(NewConversation::OneToOne, &[bob_kps])
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let welcome = pending.welcome.unwrap();
    bob.receive_with_tree(
        &welcome.message_id,
        &welcome.envelope,
        Some(&pending.ratchet_tree),
    )
    .unwrap();
    (alice, bob, pending.conversation)
}

fn send_raw(
    alice: &mut Device,
    id: &ConversationId,
    media_type: &str,
    body: Vec<u8>,
) -> crate::Outbound {
    let payload = ApplicationPayload::new(media_type, body);
    alice
        .send_payload(id, payload, None, None, |_| Ok(()))
        .unwrap()
        .outbound
}

fn kat_info(slot: Slot) -> FileInfo {
    let enc = FileEncryptionInfo {
        key: kat_key(),
        iv: kat_iv(),
        tag: arr(KAT_TAG),
        length_hint: Some(65),
    };
    FileInfo::new(
        slot,
        FileMetadata::new("hello.txt", "text/plain", enc).unwrap(),
    )
}

fn descriptor(size: u64, thumbnail: bool) -> Vec<u8> {
    let d = |size| {
        ft_http::FileEntry::encrypted(
            size,
            Download {
                url: "https://cs.example/f/1".into(),
                until: 1_790_086_400,
            },
        )
    };
    Descriptor::new(d(size), thumbnail.then(|| d(80)))
        .unwrap()
        .encode()
}

#[test]
fn descriptors_pair_with_the_preceding_file_info_only() {
    let (mut alice, mut bob, id) = pair();
    let mut deliver = |media_type: &str, body: Vec<u8>| {
        let out = send_raw(&mut alice, &id, media_type, body);
        let before = bob.undelivered().unwrap().len();
        let r = bob.receive(&out.message_id, &out.envelope);
        if r.is_err() {
            assert_eq!(
                bob.undelivered().unwrap().len(),
                before,
                "stored on refusal"
            );
        }
        (r, bob.undelivered().unwrap())
    };
    // FILE-PAIR-1: no FileInfo before it.
    assert!(matches!(
        deliver(ft_http::CONTENT_TYPE, descriptor(80, false)).0,
        Err(ClientError::File(FileError::UnpairedDescriptor))
    ));
    // A bad FileInfo is refused and remembered as nothing.
    assert!(matches!(
        deliver(content_type::MLS_RCS_FILE_INFO, vec![0x0a, 0x00]).0,
        Err(ClientError::Content(_))
    ));
    // A good one, then a descriptor whose size does not fit the hint: the
    // refusal changes nothing, so the right descriptor still pairs.
    deliver(
        content_type::MLS_RCS_FILE_INFO,
        kat_info(Slot::File).encode(),
    )
    .0
    .unwrap();
    assert!(matches!(
        deliver(ft_http::CONTENT_TYPE, descriptor(81, false)).0,
        Err(ClientError::File(FileError::DescriptorMismatch(_)))
    ));
    // FILE-PAIR-2: a thumbnail without its key.
    assert!(matches!(
        deliver(ft_http::CONTENT_TYPE, descriptor(80, true)).0,
        Err(ClientError::File(FileError::DescriptorMismatch(_)))
    ));
    match deliver(ft_http::CONTENT_TYPE, descriptor(80, false))
        .0
        .unwrap()
    {
        Received::Message(m) => {
            let ReceivedContent::File(f) = m.content else {
                panic!("{:?}", m.content)
            };
            assert_eq!(f.file.metadata, kat_info(Slot::File).into_metadata());
            assert_eq!(f.file.ciphertext_size, 80);
            assert_eq!(f.file.download.url, "https://cs.example/f/1");
            assert!(f.thumbnail.is_none());
        }
        other => panic!("{other:?}"),
    }
    // It paired once: the same descriptor again has nothing to pair with.
    assert!(matches!(
        deliver(ft_http::CONTENT_TYPE, descriptor(80, false)).0,
        Err(ClientError::File(FileError::UnpairedDescriptor))
    ));
    // With a thumbnail, and the whole message survives a reload from the inbox.
    deliver(
        content_type::MLS_RCS_FILE_INFO,
        kat_info(Slot::File).encode(),
    )
    .0
    .unwrap();
    deliver(
        content_type::MLS_RCS_FILE_INFO,
        kat_info(Slot::Thumbnail).encode(),
    )
    .0
    .unwrap();
    let (got, inbox) = deliver(ft_http::CONTENT_TYPE, descriptor(80, true));
    let Received::Message(m) = got.unwrap() else {
        panic!()
    };
    assert!(matches!(&m.content, ReceivedContent::File(f) if f.thumbnail.is_some()));
    assert_eq!(inbox.last().unwrap().content, m.content);
    // Group metadata keys are never paired as attachments: a slot-4
    // FileInfo not named `group_icon` is refused (GROUP-META-4), a named
    // one in a group without an icon commitment too (GROUP-META-3), and a
    // descriptor after them has nothing to pair with.
    assert!(matches!(
        deliver(
            content_type::MLS_RCS_FILE_INFO,
            kat_info(Slot::Icon).encode(),
        )
        .0,
        Err(ClientError::GroupMetadata(
            crate::group_metadata::GroupMetadataError::WrongFileName { .. }
        ))
    ));
    let enc = kat_info(Slot::Icon).into_metadata().encryption().clone();
    let named = FileInfo::new(
        Slot::Icon,
        FileMetadata::new("group_icon", "image/png", enc).unwrap(),
    );
    assert!(matches!(
        deliver(content_type::MLS_RCS_FILE_INFO, named.encode()).0,
        Err(ClientError::GroupMetadata(
            crate::group_metadata::GroupMetadataError::NotCommitted(_)
        ))
    ));
    assert!(matches!(
        deliver(ft_http::CONTENT_TYPE, descriptor(80, false)).0,
        Err(ClientError::File(FileError::UnpairedDescriptor))
    ));
}
