//! MLS-GI-1 (fact sheet §4): no GroupInfo a Crosslock device sends carries
//! the ratchet_tree extension (0x0002): Google's CreateMlsConversation
//! refuses one that does, and LineageOS sends the tree separately. The tree
//! of the new epoch travels beside the GroupInfo (`PendingCommit::
//! ratchet_tree`) and beside the Welcome (`Device::receive_with_tree`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use crosslock_client::store::MemoryStore;
use crosslock_client::*;

const ALICE: &str = "+15551230001";
const BOB: &str = "+15551230002";
const CAROL: &str = "+15551230003";

/// RFC 9420 §2.1.2 variable-size length: the top two bits of the first
/// byte give the length of the length (1, 2 or 4 bytes).
fn varint(b: &mut &[u8]) -> usize {
    let first = b[0];
    let (len, value) = match first >> 6 {
        0 => (1, u32::from(first & 0x3f)),
        1 => (2, u32::from(first & 0x3f) << 8 | u32::from(b[1])),
        2 => (4, u32::from_be_bytes([first & 0x3f, b[1], b[2], b[3]])),
        _ => panic!("invalid varint prefix"),
    };
    *b = &b[len..];
    value as usize
}

fn vector<'a>(b: &mut &'a [u8]) -> &'a [u8] {
    let len = varint(b);
    let (v, rest) = b.split_at(len);
    *b = rest;
    v
}

fn u16_at(b: &mut &[u8]) -> u16 {
    let v = u16::from_be_bytes([b[0], b[1]]);
    *b = &b[2..];
    v
}

/// The types in an `Extension extensions<V>` (each `uint16
/// extension_type; opaque extension_data<V>`).
fn extension_types(mut list: &[u8]) -> Vec<u16> {
    let mut types = Vec::new();
    while !list.is_empty() {
        types.push(u16_at(&mut list));
        vector(&mut list);
    }
    types
}

/// Reads an `MLSMessage` holding a GroupInfo field by field (RFC 9420 §6
/// and §12.4.3): `version = 1`, `wire_format = 4` (mls_group_info), then
/// `GroupContext { version, cipher_suite, group_id<V>, epoch u64,
/// tree_hash<V>, confirmed_transcript_hash<V>, extensions<V> }`,
/// `extensions<V>`, `confirmation_tag<V>`, `signer u32`, `signature<V>`.
/// Answers the extension types of the GroupContext and of the GroupInfo.
fn group_info_extensions(bytes: &[u8]) -> (Vec<u16>, Vec<u16>) {
    let mut b = bytes;
    assert_eq!(u16_at(&mut b), 1, "mls10");
    assert_eq!(u16_at(&mut b), 4, "wire_format mls_group_info");
    assert_eq!(u16_at(&mut b), 1, "GroupContext.version");
    u16_at(&mut b); // cipher_suite
    vector(&mut b); // group_id
    b = &b[8..]; // epoch
    let hash_len = vector(&mut b).len(); // tree_hash
    assert_eq!(vector(&mut b).len(), hash_len, "confirmed_transcript_hash");
    let context = extension_types(vector(&mut b));
    let info = extension_types(vector(&mut b));
    assert_eq!(vector(&mut b).len(), hash_len, "confirmation_tag");
    b = &b[4..]; // signer
    vector(&mut b); // signature
    assert!(b.is_empty(), "trailing bytes after the GroupInfo");
    (context, info)
}

/// `external_pub` (RFC 9420 §12.4.3.2): the only GroupInfo extension.
const EXTERNAL_PUB: u16 = 0x0004;
const RATCHET_TREE: u16 = 0x0002;

fn assert_no_tree_extension(group_info: &[u8]) {
    let (context, info) = group_info_extensions(group_info);
    assert_eq!(info, vec![EXTERNAL_PUB], "GroupInfo extensions");
    assert!(!context.contains(&RATCHET_TREE));
}

/// MLS-GI-1: the GroupInfo of a creation, of an add, of a key update and
/// of a rejoin by external commit has `external_pub` and nothing else; the
/// tree comes beside it, and a joiner joins with it.
#[test]
fn group_infos_for_the_server_carry_no_ratchet_tree() {
    let net = Net::new();
    let mut alice = net.phone(ALICE, DeviceProfile::Android);
    let mut bob = net.phone(BOB, DeviceProfile::Ios);
    let mut carol = net.phone(CAROL, DeviceProfile::Android);
    let create = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"00000000-0000-4000-8000-00000000a7e1".to_vec(),
            },
            &[claim(BOB, &mut [&mut bob])],
        )
        .unwrap();
    assert_no_tree_extension(&create.group_info);
    assert!(!create.ratchet_tree.is_empty());
    accept(&mut alice, &create, &mut [], &mut [&mut bob]);
    let id = create.conversation.clone();

    let add = alice
        .add_participants(&id, &[claim(CAROL, &mut [&mut carol])])
        .unwrap();
    assert_no_tree_extension(&add.group_info);
    // The tree grew by Carol's leaf: it is the new epoch's, not the old.
    assert_ne!(add.ratchet_tree, create.ratchet_tree);
    accept(&mut alice, &add, &mut [&mut bob], &mut [&mut carol]);

    let update = bob.update_keys(&id).unwrap();
    assert_no_tree_extension(&update.group_info);
    accept(&mut bob, &update, &mut [&mut alice, &mut carol], &mut []);

    let rejoin = carol
        .rejoin(&id, &update.group_info, Some(&update.ratchet_tree))
        .unwrap();
    assert_no_tree_extension(&rejoin.group_info);
    carol.commit_accepted(&rejoin).unwrap();
    for d in [&mut alice, &mut bob] {
        d.receive(&rejoin.commit.message_id, &rejoin.commit.envelope)
            .unwrap();
    }
    let auth = alice.security_state(&id).unwrap().epoch_authenticator;
    assert_eq!(carol.security_state(&id).unwrap().epoch_authenticator, auth);
    // MLS-GI-2: without a tree beside it, a GroupInfo without the
    // extension cannot be rejoined from.
    let p = alice.update_keys(&id).unwrap();
    accept(&mut alice, &p, &mut [&mut bob, &mut carol], &mut []);
    assert!(matches!(
        carol.rejoin(&id, &p.group_info, None),
        Err(ClientError::InvalidHandshake(_))
    ));
}

/// MLS-GI-1: the Welcome's GroupInfo has no tree either: the Welcome joins
/// only with the tree of its epoch beside it. Without one, with another
/// conversation's tree, with the tree of another epoch of the same
/// conversation or with bytes that are no tree, it is refused and nothing
/// is stored; with the right one it joins.
#[test]
fn a_welcome_joins_only_with_its_own_tree() {
    let net = Net::new();
    let mut alice = net.phone(ALICE, DeviceProfile::Android);
    let mut carol = net.phone(CAROL, DeviceProfile::Android);
    let bob_store = Arc::new(MemoryStore::new());
    let mut bob = net.phone_in(bob_store.clone(), BOB, DeviceProfile::Ios, dev_config());
    let other = alice
        .create_conversation(
            NewConversation::OneToOne,
            &[claim(CAROL, &mut [&mut carol])],
        )
        .unwrap();
    accept(&mut alice, &other, &mut [], &mut [&mut carol]);
    let later = alice.update_keys(&other.conversation).unwrap();
    alice.commit_accepted(&later).unwrap();

    let pending = alice
        .create_conversation(NewConversation::OneToOne, &[claim(BOB, &mut [&mut bob])])
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let w = pending.welcome.clone().unwrap();
    let before = snapshot(bob_store.as_ref());
    let mut truncated = pending.ratchet_tree.clone();
    truncated.truncate(truncated.len() / 2);
    for (tree, what) in [
        (None, "no tree"),
        (
            Some(other.ratchet_tree.as_slice()),
            "another conversation's",
        ),
        (Some(later.ratchet_tree.as_slice()), "another epoch's"),
        (Some(truncated.as_slice()), "truncated"),
        (Some(&[][..]), "empty"),
    ] {
        let err = bob
            .receive_with_tree(&w.message_id, &w.envelope, tree)
            .expect_err(what);
        assert!(
            matches!(
                err,
                ClientError::InvalidHandshake(_) | ClientError::Malformed(_)
            ),
            "{what}: {err:?}"
        );
        assert_eq!(
            snapshot(bob_store.as_ref()),
            before,
            "{what}: nothing stored"
        );
    }
    assert!(matches!(
        bob.receive_with_tree(&w.message_id, &w.envelope, Some(&pending.ratchet_tree))
            .unwrap(),
        Received::Joined { .. }
    ));
    let auth = alice
        .security_state(&pending.conversation)
        .unwrap()
        .epoch_authenticator;
    assert_eq!(
        bob.security_state(&pending.conversation)
            .unwrap()
            .epoch_authenticator,
        auth
    );
}
