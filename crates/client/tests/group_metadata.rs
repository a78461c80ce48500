//! The encrypted group subject and icon end to end (RCC.16 §9.7.1; fact
//! sheet §1, §2, §4): set, read by members, changed, recovered by a late
//! joiner through 0xF007, and what an attacker cannot do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use std::sync::Arc;

use common::*;
use crosslock_client::file::{FileError, FileInfo, FileMetadata, Slot};
use crosslock_client::store::MemoryStore;
use crosslock_client::wire::file_info::{FileEncryptionInfo, FileKey};
use crosslock_client::wire::rcc16::Revision;
use crosslock_client::*;

const URL: &str = "https://content.example/group/1";
const UNTIL: u64 = T0 + 7 * 86_400;

struct Club {
    alice: Device,
    bob: Device,
    carol: Device,
    carol_store: Arc<MemoryStore>,
    id: ConversationId,
}

/// Alice creates a group with Bob and Carol (Carol's store kept, to prove
/// refusals change nothing).
fn club(net: &Net, alice_config: DeviceConfig) -> Club {
    let mut alice = net.phone_with("+15551230001", DeviceProfile::Android, alice_config);
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    let carol_store = Arc::new(MemoryStore::new());
    let mut carol = net.phone_in(
        carol_store.clone(),
        "+15551230003",
        DeviceProfile::Android,
        dev_config(),
    );
    let claims = [
        claim("+15551230002", &mut [&mut bob]),
        claim("+15551230003", &mut [&mut carol]),
    ];
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"climbing-club".to_vec(),
            },
            &claims,
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob, &mut carol]);
    Club {
        alice,
        bob,
        carol,
        carol_store,
        id: pending.conversation,
    }
}

/// `sender` sets `kind`, the server accepts, and the members process it.
fn set(
    sender: &mut Device,
    id: &ConversationId,
    kind: MetadataKind,
    value: &[u8],
    media_type: &str,
    members: &mut [&mut Device],
) -> MetadataChange {
    let change = sender
        .set_group_metadata(id, kind, value, media_type)
        .unwrap();
    accept(sender, &change.commit, members, &mut []);
    change
}

/// Delivers the key messages; returns the download each member got.
fn deliver_keys(sent: &[Sent], members: &mut [&mut Device]) -> Vec<MetadataDownload> {
    assert_eq!(sent.len(), 2);
    let mut downloads = Vec::new();
    for member in members.iter_mut() {
        match member
            .receive(&sent[0].outbound.message_id, &sent[0].outbound.envelope)
            .unwrap()
        {
            Received::Message(m) => match m.content {
                ReceivedContent::FileInfo(info) => {
                    assert!(matches!(info.slot(), Slot::Subject | Slot::Icon));
                }
                other => panic!("expected the FileInfo, got {other:?}"),
            },
            other => panic!("expected a message, got {other:?}"),
        }
        match member
            .receive(&sent[1].outbound.message_id, &sent[1].outbound.envelope)
            .unwrap()
        {
            Received::Message(m) => match m.content {
                ReceivedContent::GroupMetadata(d) => downloads.push(d),
                other => panic!("expected the metadata download, got {other:?}"),
            },
            other => panic!("expected a message, got {other:?}"),
        }
    }
    downloads
}

fn commit_event(r: Received) -> CommitEvent {
    match r {
        Received::Commit(c) => c,
        other => panic!("expected a commit, got {other:?}"),
    }
}

fn metadata_error(e: ClientError) -> GroupMetadataError {
    match e {
        ClientError::GroupMetadata(e) => e,
        other => panic!("expected a group metadata error, got {other:?}"),
    }
}

fn icon() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..300u16).map(|i| (i * 7) as u8));
    png
}

#[test]
fn subject_and_icon_are_set_read_by_members_and_changed() {
    let net = Net::new();
    let Club {
        mut alice,
        mut bob,
        mut carol,
        id,
        ..
    } = club(&net, dev_config());

    // The subject: committed, then its key delivered after the upload.
    let change = set(
        &mut alice,
        &id,
        MetadataKind::Subject,
        "Climbing club".as_bytes(),
        "text/plain",
        &mut [&mut bob, &mut carol],
    );
    assert!(!change.ciphertext.windows(8).any(|w| w == b"Climbing"));
    assert_eq!(
        alice.group_metadata(&id).unwrap().subject.as_deref(),
        Some("Climbing club")
    );
    let before = bob.group_metadata(&id).unwrap();
    assert_eq!(before.subject, None);
    assert_eq!(before.missing, vec![MetadataKind::Subject]);
    let sent = alice
        .send_group_metadata_keys(&id, MetadataKind::Subject, URL, UNTIL)
        .unwrap();
    // The descriptor describes the ciphertext only (fact sheet §2).
    let descriptor = String::from_utf8_lossy(&sent[1].outbound.envelope).into_owned();
    assert!(!descriptor.contains("Climbing"));
    for d in deliver_keys(&sent, &mut [&mut bob, &mut carol]) {
        assert_eq!(d.kind, MetadataKind::Subject);
        assert_eq!(d.download.url, URL);
        assert_eq!(d.download.until, UNTIL);
        assert_eq!(d.ciphertext_size, change.ciphertext.len() as u64);
    }
    for member in [&mut bob, &mut carol] {
        let opened = member
            .open_group_metadata(&id, MetadataKind::Subject, &change.ciphertext)
            .unwrap();
        assert_eq!(opened, b"Climbing club");
        let shown = member.group_metadata(&id).unwrap();
        assert_eq!(shown.subject.as_deref(), Some("Climbing club"));
        assert!(shown.missing.is_empty());
    }

    // The icon, set by Bob.
    let icon_change = set(
        &mut bob,
        &id,
        MetadataKind::Icon,
        &icon(),
        "image/png",
        &mut [&mut alice, &mut carol],
    );
    let sent = bob
        .send_group_metadata_keys(&id, MetadataKind::Icon, "https://content.example/i", UNTIL)
        .unwrap();
    deliver_keys(&sent, &mut [&mut alice, &mut carol]);
    for member in [&mut alice, &mut carol] {
        member
            .open_group_metadata(&id, MetadataKind::Icon, &icon_change.ciphertext)
            .unwrap();
        let shown = member.group_metadata(&id).unwrap();
        assert_eq!(shown.icon, Some(("image/png".to_owned(), icon())));
        // Setting the icon left the subject's commitment byte for byte.
        assert_eq!(shown.subject.as_deref(), Some("Climbing club"));
    }

    // Carol changes the subject: the old value is no longer shown anywhere
    // until the new key arrives, and the old key is refused as stale.
    let renamed = set(
        &mut carol,
        &id,
        MetadataKind::Subject,
        "Bouldering club".as_bytes(),
        "text/plain",
        &mut [&mut alice, &mut bob],
    );
    let stale = bob.group_metadata(&id).unwrap();
    assert_eq!(stale.subject, None);
    assert_eq!(stale.missing, vec![MetadataKind::Subject]);
    assert_eq!(stale.icon, Some(("image/png".to_owned(), icon())));
    let refused = bob
        .open_group_metadata(&id, MetadataKind::Subject, &change.ciphertext)
        .unwrap_err();
    assert!(matches!(
        metadata_error(refused),
        GroupMetadataError::CommitmentMismatch(MetadataKind::Subject)
    ));
    let sent = carol
        .send_group_metadata_keys(
            &id,
            MetadataKind::Subject,
            "https://content.example/s2",
            UNTIL,
        )
        .unwrap();
    deliver_keys(&sent, &mut [&mut alice, &mut bob]);
    for member in [&mut alice, &mut bob] {
        member
            .open_group_metadata(&id, MetadataKind::Subject, &renamed.ciphertext)
            .unwrap();
        assert_eq!(
            member.group_metadata(&id).unwrap().subject.as_deref(),
            Some("Bouldering club")
        );
    }
}

#[test]
fn a_late_joiner_recovers_both_keys_through_0xf007() {
    let net = Net::new();
    let Club {
        mut alice,
        mut bob,
        mut carol,
        id,
        ..
    } = club(&net, dev_config());
    let subject = set(
        &mut alice,
        &id,
        MetadataKind::Subject,
        b"Climbing club",
        "text/plain",
        &mut [&mut bob, &mut carol],
    );
    let sent = alice
        .send_group_metadata_keys(&id, MetadataKind::Subject, URL, UNTIL)
        .unwrap();
    deliver_keys(&sent, &mut [&mut bob, &mut carol]);
    let icon_change = set(
        &mut alice,
        &id,
        MetadataKind::Icon,
        &icon(),
        "image/png",
        &mut [&mut bob, &mut carol],
    );
    let sent = alice
        .send_group_metadata_keys(&id, MetadataKind::Icon, "https://content.example/i", UNTIL)
        .unwrap();
    deliver_keys(&sent, &mut [&mut bob, &mut carol]);

    // Dave is added later: he holds no key for the committed values.
    let mut dave = net.phone("+15551230004", DeviceProfile::Ios);
    let add = alice
        .add_participants(&id, &[claim("+15551230004", &mut [&mut dave])])
        .unwrap();
    accept(
        &mut alice,
        &add,
        &mut [&mut bob, &mut carol],
        &mut [&mut dave],
    );
    let lacking = dave.group_metadata(&id).unwrap();
    assert_eq!(lacking.subject, None);
    assert_eq!(lacking.icon, None);
    assert_eq!(
        lacking.missing,
        vec![MetadataKind::Subject, MetadataKind::Icon]
    );
    assert!(!lacking.keys_requested);
    // Clearing a request that was never made, or requesting twice, is refused.
    assert!(matches!(
        metadata_error(dave.clear_group_metadata_request(&id).unwrap_err()),
        GroupMetadataError::NotRequested
    ));

    // Dave requests; Alice (who set both) is told what to re-send. Carol
    // never opened hers but holds the keys and URLs: she could re-send too.
    let request = dave.request_group_metadata_keys(&id).unwrap();
    dave.commit_accepted(&request).unwrap();
    assert!(dave.group_metadata(&id).unwrap().keys_requested);
    assert!(matches!(
        metadata_error(dave.request_group_metadata_keys(&id).unwrap_err()),
        GroupMetadataError::AlreadyRequested
    ));
    let event = commit_event(
        alice
            .receive(&request.commit.message_id, &request.commit.envelope)
            .unwrap(),
    );
    let kinds: Vec<_> = event
        .metadata_keys_requested
        .iter()
        .map(|d| d.kind)
        .collect();
    assert_eq!(kinds, vec![MetadataKind::Subject, MetadataKind::Icon]);
    let carol_event = commit_event(
        carol
            .receive(&request.commit.message_id, &request.commit.envelope)
            .unwrap(),
    );
    assert_eq!(carol_event.metadata_keys_requested.len(), 2);
    commit_event(
        bob.receive(&request.commit.message_id, &request.commit.envelope)
            .unwrap(),
    );

    // Alice re-sends from what the event says; Dave opens both.
    for d in &event.metadata_keys_requested {
        let sent = alice
            .send_group_metadata_keys(&id, d.kind, &d.download.url, d.download.until)
            .unwrap();
        deliver_keys(&sent, &mut [&mut dave, &mut bob, &mut carol]);
    }
    // Dave may not clear the flag while a value is still unopened.
    dave.open_group_metadata(&id, MetadataKind::Subject, &subject.ciphertext)
        .unwrap();
    assert!(matches!(
        metadata_error(dave.clear_group_metadata_request(&id).unwrap_err()),
        GroupMetadataError::KeysMissing(missing) if missing == vec![MetadataKind::Icon]
    ));
    dave.open_group_metadata(&id, MetadataKind::Icon, &icon_change.ciphertext)
        .unwrap();
    let recovered = dave.group_metadata(&id).unwrap();
    assert_eq!(recovered.subject.as_deref(), Some("Climbing club"));
    assert_eq!(recovered.icon, Some(("image/png".to_owned(), icon())));
    assert!(recovered.missing.is_empty() && recovered.keys_requested);

    // GROUP-META-6: the requester clears the flag once it holds every key.
    let clear = dave.clear_group_metadata_request(&id).unwrap();
    accept(
        &mut dave,
        &clear,
        &mut [&mut alice, &mut bob, &mut carol],
        &mut [],
    );
    for member in [&mut alice, &mut bob, &mut carol, &mut dave] {
        let shown = member.group_metadata(&id).unwrap();
        assert!(!shown.keys_requested);
    }
    // Bob and Carol hold the keys but never downloaded; Alice and Dave show
    // the values.
    for member in [&mut alice, &mut dave] {
        let shown = member.group_metadata(&id).unwrap();
        assert_eq!(shown.subject.as_deref(), Some("Climbing club"));
    }
    // Nothing left to request.
    assert!(matches!(
        metadata_error(dave.request_group_metadata_keys(&id).unwrap_err()),
        GroupMetadataError::NothingToRequest
    ));
}

#[test]
fn v4_commitments_over_the_tag_are_read_by_v3_devices() {
    let net = Net::new();
    let mut v4 = dev_config();
    v4.revision = Revision::V4_0;
    let Club {
        mut alice,
        mut bob,
        mut carol,
        id,
        ..
    } = club(&net, v4);
    let change = set(
        &mut alice,
        &id,
        MetadataKind::Subject,
        b"Climbing club",
        "text/plain",
        &mut [&mut bob, &mut carol],
    );
    let sent = alice
        .send_group_metadata_keys(&id, MetadataKind::Subject, URL, UNTIL)
        .unwrap();
    deliver_keys(&sent, &mut [&mut bob, &mut carol]);
    assert_eq!(
        bob.open_group_metadata(&id, MetadataKind::Subject, &change.ciphertext)
            .unwrap(),
        b"Climbing club"
    );
    // And the other way: a v3.0 device's commitment, read by the v4.0 one.
    let icon_change = set(
        &mut bob,
        &id,
        MetadataKind::Icon,
        &icon(),
        "image/png",
        &mut [&mut alice, &mut carol],
    );
    let sent = bob
        .send_group_metadata_keys(&id, MetadataKind::Icon, URL, UNTIL)
        .unwrap();
    deliver_keys(&sent, &mut [&mut alice]);
    alice
        .open_group_metadata(&id, MetadataKind::Icon, &icon_change.ciphertext)
        .unwrap();
}

#[test]
fn a_rejected_commit_drops_the_staged_key() {
    let net = Net::new();
    let Club {
        mut alice,
        mut bob,
        mut carol,
        id,
        ..
    } = club(&net, dev_config());
    let change = alice
        .set_group_metadata(&id, MetadataKind::Subject, b"Never", "text/plain")
        .unwrap();
    alice.commit_rejected(&change.commit).unwrap();
    assert_eq!(alice.group_metadata(&id).unwrap(), GroupMetadata::default());
    assert!(matches!(
        metadata_error(
            alice
                .send_group_metadata_keys(&id, MetadataKind::Subject, URL, UNTIL)
                .unwrap_err()
        ),
        GroupMetadataError::NoKey(MetadataKind::Subject)
    ));
    // Another member's commit wins the epoch over ours: ours is dropped too.
    let mine = alice
        .set_group_metadata(&id, MetadataKind::Subject, b"Mine", "text/plain")
        .unwrap();
    let theirs = set(
        &mut bob,
        &id,
        MetadataKind::Subject,
        b"Theirs",
        "text/plain",
        &mut [&mut alice, &mut carol],
    );
    assert!(alice.commit_accepted(&mine.commit).is_err());
    let shown = alice.group_metadata(&id).unwrap();
    assert_eq!(shown.subject, None);
    assert_eq!(shown.missing, vec![MetadataKind::Subject]);
    assert!(!theirs.ciphertext.is_empty());
    // Opening before any commitment exists is refused.
    assert!(matches!(
        metadata_error(
            alice
                .open_group_metadata(&id, MetadataKind::Icon, &theirs.ciphertext)
                .unwrap_err()
        ),
        GroupMetadataError::NotCommitted(MetadataKind::Icon)
    ));
}

/// A member sends a slot-3 key delivery of its own making.
fn forged_delivery(
    sender: &mut Device,
    id: &ConversationId,
    name: &str,
    key: [u8; 32],
    tag: [u8; 32],
) -> Sent {
    let encryption = FileEncryptionInfo {
        key: FileKey::from_bytes(key),
        iv: [7; 12],
        tag,
        length_hint: Some(13),
    };
    let metadata = FileMetadata::new(name, "text/plain", encryption).unwrap();
    sender
        .send(
            id,
            Content::FileInfo(FileInfo::new(Slot::Subject, metadata)),
        )
        .unwrap()
}

#[test]
fn attacker_forged_stale_and_misnamed_keys_and_a_swapped_ciphertext_are_refused() {
    let net = Net::new();
    let Club {
        mut alice,
        mut bob,
        mut carol,
        carol_store,
        id,
    } = club(&net, dev_config());
    let first = set(
        &mut alice,
        &id,
        MetadataKind::Subject,
        b"Climbing club",
        "text/plain",
        &mut [&mut bob, &mut carol],
    );
    let first_keys = alice
        .send_group_metadata_keys(&id, MetadataKind::Subject, URL, UNTIL)
        .unwrap();
    deliver_keys(&first_keys, &mut [&mut bob, &mut carol]);

    // 1. Bob, an insider, delivers a key that is not the committed one.
    let before = snapshot(carol_store.as_ref());
    let forged = forged_delivery(&mut bob, &id, "group_subject", [0x42; 32], [0x43; 32]);
    let refused = carol
        .receive(&forged.outbound.message_id, &forged.outbound.envelope)
        .unwrap_err();
    assert!(matches!(
        metadata_error(refused),
        GroupMetadataError::CommitmentMismatch(MetadataKind::Subject)
    ));
    assert_eq!(snapshot(carol_store.as_ref()), before);

    // 2. The right key under a name other than group_subject.
    let opened = carol
        .open_group_metadata(&id, MetadataKind::Subject, &first.ciphertext)
        .unwrap();
    assert_eq!(opened, b"Climbing club");
    let before = snapshot(carol_store.as_ref());
    let misnamed = {
        let sent = alice
            .send_group_metadata_keys(&id, MetadataKind::Subject, URL, UNTIL)
            .unwrap();
        // Re-wrap the same key material under another name.
        let info = match bob
            .receive(&sent[0].outbound.message_id, &sent[0].outbound.envelope)
            .unwrap()
        {
            Received::Message(m) => match m.content {
                ReceivedContent::FileInfo(info) => info,
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        let e = info.metadata().encryption();
        let (key, tag) = (*e.key.as_bytes(), e.tag);
        forged_delivery(&mut bob, &id, "subject.txt", key, tag)
    };
    let refused = carol
        .receive(&misnamed.outbound.message_id, &misnamed.outbound.envelope)
        .unwrap_err();
    assert!(matches!(
        metadata_error(refused),
        GroupMetadataError::WrongFileName {
            kind: MetadataKind::Subject,
            expected: "group_subject"
        }
    ));
    assert_eq!(snapshot(carol_store.as_ref()), before);

    // 3. The content server swaps the ciphertext: the tag check fails and
    //    nothing changes.
    let other = alice
        .set_group_metadata(&id, MetadataKind::Icon, b"not the subject", "text/plain")
        .unwrap();
    alice.commit_rejected(&other.commit).unwrap();
    let mut tampered = first.ciphertext.clone();
    tampered[0] ^= 1;
    for swapped in [other.ciphertext.clone(), tampered] {
        let refused = carol
            .open_group_metadata(&id, MetadataKind::Subject, &swapped)
            .unwrap_err();
        assert!(
            matches!(refused, ClientError::File(FileError::BadTag)),
            "{refused:?}"
        );
        assert_eq!(snapshot(carol_store.as_ref()), before);
    }

    // 4. After a change, the old subject's key delivery is replayed by an
    //    insider: refused as stale; the old key cannot open anything.
    let second = set(
        &mut alice,
        &id,
        MetadataKind::Subject,
        b"Bouldering club",
        "text/plain",
        &mut [&mut bob, &mut carol],
    );
    let before = snapshot(carol_store.as_ref());
    let info = match carol
        .undelivered()
        .unwrap()
        .into_iter()
        .find_map(|m| match m.content {
            ReceivedContent::FileInfo(info) => Some(info),
            _ => None,
        }) {
        Some(info) => info,
        None => panic!("carol kept the first delivery's FileInfo"),
    };
    let e = info.metadata().encryption();
    let replay = forged_delivery(&mut bob, &id, "group_subject", *e.key.as_bytes(), e.tag);
    let refused = carol
        .receive(&replay.outbound.message_id, &replay.outbound.envelope)
        .unwrap_err();
    assert!(matches!(
        metadata_error(refused),
        GroupMetadataError::CommitmentMismatch(MetadataKind::Subject)
    ));
    let refused = carol
        .open_group_metadata(&id, MetadataKind::Subject, &first.ciphertext)
        .unwrap_err();
    assert!(matches!(
        metadata_error(refused),
        GroupMetadataError::CommitmentMismatch(MetadataKind::Subject)
    ));
    assert_eq!(snapshot(carol_store.as_ref()), before);
    assert!(!second.ciphertext.is_empty());
}

/// The extensions of the GroupContext a commit creates, from the GroupInfo
/// the delivery service gets.
fn context_of(pending: &PendingCommit) -> mls_rs::ExtensionList {
    let info = mls_rs::MlsMessage::from_bytes(&pending.group_info)
        .unwrap()
        .into_group_info()
        .unwrap();
    info.group_context().extensions.clone()
}

fn ext_data(list: &mls_rs::ExtensionList, code: u16) -> Option<Vec<u8>> {
    list.get(mls_rs_core::extension::ExtensionType::new(code))
        .map(|e| e.extension_data)
}

#[test]
fn the_committed_extensions_are_the_deployed_bytes_and_no_key_reaches_the_server() {
    for revision in [Revision::V3_0, Revision::V4_0] {
        let net = Net::new();
        let mut config = dev_config();
        config.revision = revision;
        let Club {
            mut alice,
            mut bob,
            mut carol,
            id,
            ..
        } = club(&net, config);
        let change = set(
            &mut alice,
            &id,
            MetadataKind::Subject,
            b"Climbing club",
            "text/plain",
            &mut [&mut bob, &mut carol],
        );
        let context = context_of(&change.commit);
        // Framed: `20 ‖ SHA-256 digest` (fact sheet §4).
        let subject = ext_data(&context, 0xF006).unwrap();
        assert_eq!(subject.len(), 33);
        assert_eq!(subject[0], 0x20);
        // The era is kept byte for byte; no key extension anywhere in what
        // the server sees.
        assert_eq!(ext_data(&context, 0xF001), Some(vec![0, 0, 0, 1]));
        for key_ext in [0xF003, 0xF005] {
            assert_eq!(ext_data(&context, key_ext), None);
        }
        let info = mls_rs::MlsMessage::from_bytes(&change.commit.group_info)
            .unwrap()
            .into_group_info()
            .unwrap();
        assert!(
            !info
                .extensions()
                .has_extension(mls_rs_core::extension::ExtensionType::new(0xF003))
        );
        assert!(
            !info
                .extensions()
                .has_extension(mls_rs_core::extension::ExtensionType::new(0xF005))
        );

        // Icon set by Bob (v3.0): the subject commitment is untouched.
        let icon_change = set(
            &mut bob,
            &id,
            MetadataKind::Icon,
            &icon(),
            "image/png",
            &mut [&mut alice, &mut carol],
        );
        let after = context_of(&icon_change.commit);
        assert_eq!(ext_data(&after, 0xF006), Some(subject.clone()));
        assert_eq!(ext_data(&after, 0xF004).map(|d| d.len()), Some(33));

        // 0xF007 by revision: v3.0 the 29 ASCII bytes bare, v4.0 framed.
        let mut dave = net.phone_with("+15551230004", DeviceProfile::Ios, {
            let mut c = dev_config();
            c.revision = revision;
            c
        });
        let add = alice
            .add_participants(&id, &[claim("+15551230004", &mut [&mut dave])])
            .unwrap();
        accept(
            &mut alice,
            &add,
            &mut [&mut bob, &mut carol],
            &mut [&mut dave],
        );
        let request = dave.request_group_metadata_keys(&id).unwrap();
        let flag = ext_data(&context_of(&request), 0xF007).unwrap();
        let literal = b"group_metadata_keys_requested".to_vec();
        match revision {
            Revision::V3_0 => assert_eq!(flag, literal),
            Revision::V4_0 => {
                assert_eq!(flag[0], 0x1d);
                assert_eq!(flag[1..], literal[..]);
            }
        }
        assert_eq!(ext_data(&context_of(&request), 0xF006), Some(subject));
    }
}

#[test]
fn a_staged_key_survives_a_restart_and_an_echoed_commit_makes_it_current() {
    let net = Net::new();
    let alice_store = Arc::new(MemoryStore::new());
    let mut alice = net.phone_in(
        alice_store.clone(),
        "+15551230001",
        DeviceProfile::Android,
        dev_config(),
    );
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"restart-club".to_vec(),
            },
            &[claim("+15551230002", &mut [&mut bob])],
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob]);
    let id = pending.conversation;
    let change = alice
        .set_group_metadata(&id, MetadataKind::Subject, b"Climbing club", "text/plain")
        .unwrap();

    // The phone restarts with the commit in flight.
    drop(alice);
    let keystore = Arc::new(crosslock_client::keystore::SoftwareKeyStore::new(
        alice_store.clone(),
    ));
    let mut alice = Device::open(alice_store, keystore, dev_config(), net.env()).unwrap();
    // Not current before the verdict ...
    assert_eq!(alice.group_metadata(&id).unwrap(), GroupMetadata::default());
    // ... current once the server echoes the commit back.
    let echo = commit_event(
        alice
            .receive(
                &change.commit.commit.message_id,
                &change.commit.commit.envelope,
            )
            .unwrap(),
    );
    assert!(echo.own_commit);
    bob.receive(
        &change.commit.commit.message_id,
        &change.commit.commit.envelope,
    )
    .unwrap();
    assert_eq!(
        alice.group_metadata(&id).unwrap().subject.as_deref(),
        Some("Climbing club")
    );
    let sent = alice
        .send_group_metadata_keys(&id, MetadataKind::Subject, URL, T0 + 60)
        .unwrap();
    deliver_keys(&sent, &mut [&mut bob]);

    // A joiner asks after the URL expired: nothing is offered for re-sending
    // (the app uploads again and calls send_group_metadata_keys).
    net.clock.advance(120);
    let mut carol = net.phone("+15551230003", DeviceProfile::Android);
    let add = alice
        .add_participants(&id, &[claim("+15551230003", &mut [&mut carol])])
        .unwrap();
    accept(&mut alice, &add, &mut [&mut bob], &mut [&mut carol]);
    let request = carol.request_group_metadata_keys(&id).unwrap();
    carol.commit_accepted(&request).unwrap();
    let event = commit_event(
        alice
            .receive(&request.commit.message_id, &request.commit.envelope)
            .unwrap(),
    );
    assert!(event.metadata_keys_requested.is_empty());
    let sent = alice
        .send_group_metadata_keys(&id, MetadataKind::Subject, URL, T0 + 86_400)
        .unwrap();
    deliver_keys(&sent, &mut [&mut carol]);
    carol
        .open_group_metadata(&id, MetadataKind::Subject, &change.ciphertext)
        .unwrap();
    assert_eq!(
        carol.group_metadata(&id).unwrap().subject.as_deref(),
        Some("Climbing club")
    );
}

#[test]
fn a_key_delivery_overtaken_by_a_change_is_refused() {
    let net = Net::new();
    let Club {
        mut alice,
        mut bob,
        mut carol,
        carol_store,
        id,
    } = club(&net, dev_config());
    set(
        &mut alice,
        &id,
        MetadataKind::Subject,
        b"Climbing club",
        "text/plain",
        &mut [&mut bob, &mut carol],
    );
    let sent = alice
        .send_group_metadata_keys(&id, MetadataKind::Subject, URL, UNTIL)
        .unwrap();
    // Carol gets the FileInfo, then Bob's change, then the descriptor.
    carol
        .receive(&sent[0].outbound.message_id, &sent[0].outbound.envelope)
        .unwrap();
    let renamed = set(
        &mut bob,
        &id,
        MetadataKind::Subject,
        b"Bouldering club",
        "text/plain",
        &mut [&mut alice, &mut carol],
    );
    let before = snapshot(carol_store.as_ref());
    let refused = carol
        .receive(&sent[1].outbound.message_id, &sent[1].outbound.envelope)
        .unwrap_err();
    assert!(matches!(
        metadata_error(refused),
        GroupMetadataError::CommitmentMismatch(MetadataKind::Subject)
    ));
    assert_eq!(snapshot(carol_store.as_ref()), before);
    // Bob's own delivery still pairs and opens.
    let sent = bob
        .send_group_metadata_keys(&id, MetadataKind::Subject, URL, UNTIL)
        .unwrap();
    deliver_keys(&sent, &mut [&mut carol]);
    assert_eq!(
        carol
            .open_group_metadata(&id, MetadataKind::Subject, &renamed.ciphertext)
            .unwrap(),
        b"Bouldering club"
    );
}

#[test]
fn the_subject_and_icon_carry_into_a_new_era() {
    let net = Net::new();
    let Club {
        mut alice,
        mut bob,
        mut carol,
        id,
        ..
    } = club(&net, dev_config());
    let change = set(
        &mut alice,
        &id,
        MetadataKind::Subject,
        b"Climbing club",
        "text/plain",
        &mut [&mut bob, &mut carol],
    );
    let sent = alice
        .send_group_metadata_keys(&id, MetadataKind::Subject, URL, UNTIL)
        .unwrap();
    deliver_keys(&sent, &mut [&mut bob, &mut carol]);
    bob.open_group_metadata(&id, MetadataKind::Subject, &change.ciphertext)
        .unwrap();

    let claims = [
        claim("+15551230002", &mut [&mut bob]),
        claim("+15551230003", &mut [&mut carol]),
    ];
    let era = alice.new_era(&id, &claims).unwrap();
    // GROUP-META-8: the commitment is in the new era's GroupContext, byte
    // for byte.
    let carried = ext_data(&context_of(&era), 0xF006).unwrap();
    alice.commit_accepted(&era).unwrap();
    let welcome = era.welcome.clone().unwrap();
    for member in [&mut bob, &mut carol] {
        match member
            .receive_with_tree(
                &welcome.message_id,
                &welcome.envelope,
                Some(&era.ratchet_tree),
            )
            .unwrap()
        {
            Received::Joined { replaced_era, .. } => assert_eq!(replaced_era, Some(1)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(carried.len(), 33);
    for member in [&mut alice, &mut bob] {
        assert_eq!(
            member.group_metadata(&id).unwrap().subject.as_deref(),
            Some("Climbing club")
        );
    }
    // Carol held the key but never opened it: she still can, in the new era.
    carol
        .open_group_metadata(&id, MetadataKind::Subject, &change.ciphertext)
        .unwrap();
}
