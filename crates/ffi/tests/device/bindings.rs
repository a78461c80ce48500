//! The calls bound late: the group subject and icon, remove_device,
//! upload_file / announce_file, and the Attester at enrolment.

use std::sync::{Arc, Mutex};

use crosslock_ffi::{
    Attestation, AttestationRequest, Attester, CallbackError, CrosslockError, Event,
    GroupMetadataKind, PlatformKeyStore,
};

use crate::common::*;

/// A PNG's signature and an IHDR chunk's start: bytes an icon could hold.
const ICON: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";

#[test]
fn group_subject_icon_and_removing_one_device() {
    let net = Net::start();
    let alice = net.phone("alice", ALICE);
    let bob = net.phone("bob", BOB);
    let carol = net.phone("carol", CAROL);
    let group = alice
        .create_group(vec![BOB.into(), CAROL.into()])
        .unwrap()
        .conversation;

    let subject = alice
        .set_group_subject(group.clone(), "Crosslock café".into())
        .unwrap();
    let icon = alice
        .set_group_icon(group.clone(), ICON.to_vec(), "image/png".into())
        .unwrap();
    assert!(icon.epoch > subject.epoch && subject.stored_bytes > 0);
    // The server holds ciphertext: never the subject's bytes.
    assert!(subject.stored_bytes as usize != "Crosslock café".len());

    let mine = alice.group_metadata(group.clone(), false).unwrap();
    assert_eq!(mine.subject.as_deref(), Some("Crosslock café"));
    assert_eq!(mine.icon.as_ref().map(|i| i.image.as_slice()), Some(ICON));

    let seen = sync_until(&bob, |e| {
        matches!(
            e,
            Event::GroupMetadata {
                kind: GroupMetadataKind::Icon,
                error: None,
                ..
            }
        )
    });
    assert!(seen.iter().any(|e| matches!(
        e,
        Event::GroupMetadata { kind: GroupMetadataKind::Subject, error: None, conversation, .. }
            if *conversation == group
    )));
    let theirs = bob.group_metadata(group.clone(), false).unwrap();
    assert_eq!(theirs.subject.as_deref(), Some("Crosslock café"));
    let theirs_icon = theirs.icon.unwrap();
    assert_eq!(
        (
            theirs_icon.media_type.as_str(),
            theirs_icon.image.as_slice()
        ),
        ("image/png", ICON)
    );
    assert!(theirs.missing.is_empty() && !theirs.asked_now);

    // An icon that is not an image is refused before anything changes.
    assert!(matches!(
        alice.set_group_icon(group.clone(), b"hello".to_vec(), "text/plain".into()),
        Err(CrosslockError::Input { .. })
    ));

    // Removing Carol's one device: the group goes on without it.
    let carol_device = carol.device_id();
    let epoch = alice
        .remove_device(group.clone(), CAROL.into(), carol_device.clone())
        .unwrap();
    assert!(epoch > icon.epoch);
    let members = alice.security_state(group.clone()).unwrap().members;
    assert!(members.iter().all(|m| m.number != CAROL), "{members:?}");
    sync_until(&carol, |e| {
        matches!(e, Event::MembershipChanged { removed_self: true, conversation, .. }
            if *conversation == group)
    });
    alice
        .send_text(group.clone(), "without carol".into())
        .unwrap();
    sync_until(&bob, |e| is_text(e, "without carol"));
    // A malformed number is refused without echoing it.
    match alice.remove_device(group, "0044 7911 123456".into(), carol_device) {
        Err(CrosslockError::Input { reason }) => assert!(!reason.contains("7911"), "{reason}"),
        other => panic!("expected an input error, got {other:?}"),
    }
}

#[test]
fn one_upload_announced_in_two_conversations() {
    let net = Net::start();
    let alice = net.phone("alice", ALICE);
    let bob = net.phone("bob", BOB);
    let chat = alice.open_chat(BOB.into()).unwrap().conversation;
    let group = alice.create_group(vec![BOB.into()]).unwrap().conversation;

    let path = net.path("photo.jpg");
    let content: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &content).unwrap();
    let uploaded = alice.upload_file(dir_string(&path), None, None).unwrap();
    assert_eq!(uploaded.size(), content.len() as u64);
    assert_eq!(
        (uploaded.name().as_str(), uploaded.media_type().as_str()),
        ("photo.jpg", "image/jpeg")
    );
    assert!(uploaded.uploaded_bytes() > uploaded.size());
    assert!(uploaded.link_expires_at() > 0);
    alice.announce_file(chat.clone(), uploaded.clone()).unwrap();
    alice.announce_file(group.clone(), uploaded).unwrap();

    let mut files = Vec::new();
    let seen = sync_until(
        &bob,
        |e| matches!(e, Event::File { conversation, .. } if *conversation == group),
    );
    files.extend(seen.into_iter().filter_map(|e| match e {
        Event::File {
            conversation,
            message_id,
            ..
        } => Some((conversation, message_id)),
        _ => None,
    }));
    let conversations: Vec<&String> = files.iter().map(|(c, _)| c).collect();
    assert!(conversations.contains(&&chat) && conversations.contains(&&group));
    for (i, (_, message_id)) in files.iter().enumerate() {
        let out = net.path(&format!("bob-files-{i}"));
        let saved = bob
            .save_files(dir_string(&out), Some(message_id.clone()), None)
            .unwrap();
        assert!(saved.failed.is_empty(), "{:?}", saved.failed);
        assert_eq!(saved.files.len(), 1);
        assert_eq!(saved.files[0].size, content.len() as u64);
        assert_eq!(std::fs::read(&saved.files[0].path).unwrap(), content);
    }
}

/// An attester that records what it was asked and answers as told.
struct RecordingAttester {
    answer: Result<Option<Attestation>, String>,
    asked: Mutex<Vec<AttestationRequest>>,
}

impl RecordingAttester {
    fn new(answer: Result<Option<Attestation>, String>) -> Arc<RecordingAttester> {
        Arc::new(RecordingAttester {
            answer,
            asked: Mutex::default(),
        })
    }
}

impl Attester for RecordingAttester {
    fn attest(&self, request: AttestationRequest) -> Result<Option<Attestation>, CallbackError> {
        self.asked.lock().unwrap().push(request);
        self.answer
            .clone()
            .map_err(|reason| CallbackError::Failed { reason })
    }
}

#[test]
fn the_attester_is_asked_for_the_kds_nonce_bound_to_the_p256_key() {
    let net = Net::start();

    // No attestation to offer: the provider (attestation optional)
    // enrols; the request binds its nonce to the platform's P-256 key.
    let store = TestKeyStore::new(Fault::Honest);
    let phone = net.device(
        "phone",
        ALICE,
        Some(store.clone() as Arc<dyn PlatformKeyStore>),
    );
    let none = RecordingAttester::new(Ok(None));
    phone
        .enroll("any-subscriber".into(), false, Some(none.clone()))
        .unwrap();
    let asked = none.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    let request = &asked[0];
    assert_eq!(request.nonce.len(), 32);
    assert_eq!(
        request.participant_key,
        store.made.lock().unwrap()[0],
        "the attested key is the platform's P-256 key"
    );
    assert_eq!(
        request.challenge,
        crosslock_attest::enrollment_challenge(&request.nonce, &request.participant_key).to_vec(),
        "the challenge is the one the KDS recomputes"
    );

    // An attestation that is not one reaches the KDS, which refuses it.
    let bogus = RecordingAttester::new(Ok(Some(Attestation::Android {
        chain: vec![b"not a certificate".to_vec()],
    })));
    let device = net.device("bogus", BOB, None);
    match device.enroll("any-subscriber".into(), false, Some(bogus.clone())) {
        Err(CrosslockError::Refused { .. }) => {}
        other => panic!("expected the KDS to refuse, got {other:?}"),
    }
    assert!(!device.is_enrolled());
    assert_eq!(bogus.asked.lock().unwrap().len(), 1);

    // An attester that fails stops the enrolment, typed, keeping the
    // app's reason out of the SDK's message.
    let failing = RecordingAttester::new(Err("App Attest unavailable for +15550100003".into()));
    let device = net.device("failing", CAROL, None);
    match device.enroll("any-subscriber".into(), false, Some(failing)) {
        Err(CrosslockError::Input { reason }) => {
            assert!(reason.contains("Attester"), "{reason}");
            assert!(!reason.contains("0100003"), "{reason}");
        }
        other => panic!("expected an input error, got {other:?}"),
    }
    assert!(!device.is_enrolled());
    // Once the attester is fixed, the same device enrols.
    device.enroll("any-subscriber".into(), false, None).unwrap();
}
