//! A peer's Welcome that carries the Welcome-only keys 0xF003/0xF005 in
//! its GroupInfo (what the spec text asks for; we do not send them): the
//! joiner joins, the keys stay out of the GroupInfo the server gets, and
//! they are not used (the joiner still lacks IV, tag and URL).

use std::sync::Arc;

use crosslock_wire::rcc16::extensions as ext;
use mls_rs::{ExtensionList, MlsMessage};
use mls_rs_core::extension::{Extension, ExtensionType};

use super::MetadataKind;
use crate::Received;
use crate::conversation::NewConversation;
use crate::device::Device;
use crate::env::ManualClock;
use crate::records::DeviceProfile;
use crate::store::{MemoryStore, StateStore};
use crate::test_devices::{claim, dev_config, phone_in};

fn phone(n: &str, clock: &Arc<ManualClock>, seed: u64) -> Device {
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    phone_in(store, n, DeviceProfile::Ios, dev_config(), clock, seed)
}

#[test]
fn a_welcome_with_welcome_only_keys_is_joined_and_they_stay_unused() {
    let clock = Arc::new(ManualClock::new(1_790_000_000));
    let mut alice = phone("+15551230001", &clock, 11);
    let mut bob = phone("+15551230002", &clock, 12);
    let mut carol = phone("+15551230003", &clock, 13);
    let created = alice
        .create_conversation(
            NewConversation::Group {
                group_id: Vec::new(),
            },
            &[claim(&mut bob)],
        )
        .unwrap();
    alice.commit_accepted(&created).unwrap();
    let id = created.conversation.clone();
    let change = alice
        .set_group_metadata(&id, MetadataKind::Subject, b"Climbing club", "text/plain")
        .unwrap();
    alice.commit_accepted(&change.commit).unwrap();
    let key = alice.metadata_record(&id).unwrap().subject.unwrap().key;

    // Alice adds Carol the way the spec text says: 0xF005 (and a 0xF003)
    // in the Welcome's GroupInfo only.
    let (devices, _) = alice.check_participants(&[claim(&mut carol)]).unwrap();
    let kp: MlsMessage = devices
        .into_iter()
        .flatten()
        .map(|(_, c)| c.message)
        .find(|m| {
            m.cipher_suite() == Some(alice.conversation_record(&id).unwrap().suite.cipher_suite())
        })
        .unwrap();
    let mut welcome_only = ExtensionList::new();
    for code in [ext::SUBJECT_KEY, ext::ICON_KEY] {
        welcome_only.set(Extension::new(
            ExtensionType::new(code),
            ext::encode_key(&key),
        ));
    }
    let add = alice
        .atomically(|device| {
            device.stage_commit(&id, |b| {
                Ok(b.add_member(kp)?.set_group_info_ext(welcome_only))
            })
        })
        .unwrap();
    // The GroupInfo for the server carries neither key.
    let info = MlsMessage::from_bytes(&add.group_info)
        .unwrap()
        .into_group_info()
        .unwrap();
    for code in [ext::SUBJECT_KEY, ext::ICON_KEY] {
        assert!(!info.extensions().has_extension(ExtensionType::new(code)));
        assert!(
            !info
                .group_context()
                .extensions
                .has_extension(ExtensionType::new(code))
        );
    }
    alice.commit_accepted(&add).unwrap();
    let welcome = add.welcome.unwrap();
    match carol
        .receive_with_tree(
            &welcome.message_id,
            &welcome.envelope,
            Some(&add.ratchet_tree),
        )
        .unwrap()
    {
        Received::Joined { conversation, .. } => assert_eq!(conversation, id),
        other => panic!("{other:?}"),
    }
    // Carol joined; the Welcome's key alone opens nothing: still missing.
    let shown = carol.group_metadata(&id).unwrap();
    assert_eq!(shown.subject, None);
    assert_eq!(shown.missing, vec![MetadataKind::Subject]);
}
