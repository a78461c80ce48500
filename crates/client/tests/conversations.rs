//! Conversations between Android and iPhone devices: suites, messages both
//! ways, large groups, and what removed and late members can read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use crosslock_client::suite::{Suite, SuitePolicy};
use crosslock_client::*;

#[test]
fn android_and_ios_agree_on_a_suite_and_talk_both_ways() {
    let net = Net::new();
    // Classical-only peers: the creator's preference decides between the
    // two equally strong classical suites.
    let mut config = dev_config();
    config.suites = SuitePolicy::default();
    let mut alice = net.phone("+15551230001", DeviceProfile::Android);
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);

    let bob_kps = claim("+15551230002", &mut [&mut bob]);
    let pending = alice
        .create_conversation(NewConversation::OneToOne, &[bob_kps])
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob]);
    let id = pending.conversation.clone();

    let a = alice.security_state(&id).unwrap();
    let b = bob.security_state(&id).unwrap();
    // Every Crosslock device supports the hybrid suite, so it wins.
    assert_eq!(a.suite, Suite::MlKem768X25519Aes128);
    assert_eq!(a.suite, b.suite);
    assert_eq!(a.epoch_authenticator, b.epoch_authenticator);
    assert!(a.encrypted && b.encrypted);
    assert_eq!(a.era, 1);
    assert_eq!(a.members.len(), 2);

    let sent = alice.send_text(&id, "hi Bob, from Android").unwrap();
    assert_eq!(
        text_of(&deliver(&sent.outbound, &mut [&mut bob])[0]),
        "hi Bob, from Android"
    );
    let reply = bob.send_text(&id, "hi Alice, from iPhone").unwrap();
    let got = deliver(&reply.outbound, &mut [&mut alice]);
    assert_eq!(text_of(&got[0]), "hi Alice, from iPhone");
    // The server sees no plaintext.
    assert!(!reply.outbound.envelope.windows(5).any(|w| w == b"Alice"));
}

#[test]
fn classical_suite_follows_the_creators_preference() {
    let net = Net::new();
    for (creator_profile, expected) in [
        (DeviceProfile::Android, Suite::P256Aes128),
        (DeviceProfile::Ios, Suite::X25519Aes128),
    ] {
        let mut creator = net.phone("+15551230001", creator_profile);
        let mut peer = net.phone("+15551230002", DeviceProfile::Ios);
        // The peer only publishes classical KeyPackages (an RCS peer
        // without post-quantum support).
        let batch = peer.generate_key_packages(1).unwrap();
        let classical = DeviceKeyPackages(
            batch
                .key_packages
                .into_iter()
                .filter(|(s, _)| !s.is_post_quantum())
                .map(|(_, kp)| kp)
                .collect(),
        );
        let kps = ParticipantKeyPackages {
            number: number("+15551230002"),
            devices: vec![classical],
            transparency: None,
        };
        let pending = creator
            .create_conversation(NewConversation::OneToOne, &[kps])
            .unwrap();
        accept(&mut creator, &pending, &mut [], &mut [&mut peer]);
        let id = pending.conversation;
        assert_eq!(creator.security_state(&id).unwrap().suite, expected);
        assert_eq!(peer.security_state(&id).unwrap().suite, expected);
        let m = peer.send_text(&id, "ok").unwrap();
        assert_eq!(text_of(&deliver(&m.outbound, &mut [&mut creator])[0]), "ok");
    }
}

#[test]
fn require_post_quantum_refuses_a_classical_only_peer() {
    let net = Net::new();
    let mut config = dev_config();
    config.suites = SuitePolicy::post_quantum_only();
    let mut alice = net.phone_with("+15551230001", DeviceProfile::Android, config);
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    let batch = bob.generate_key_packages(1).unwrap();
    let classical = DeviceKeyPackages(
        batch
            .key_packages
            .into_iter()
            .filter(|(s, _)| !s.is_post_quantum())
            .map(|(_, kp)| kp)
            .collect(),
    );
    let kps = ParticipantKeyPackages {
        number: number("+15551230002"),
        devices: vec![classical],
        transparency: None,
    };
    assert!(matches!(
        alice.create_conversation(NewConversation::OneToOne, &[kps]),
        Err(ClientError::NoCommonSuite)
    ));
    assert!(alice.conversations().unwrap().is_empty());
}

#[test]
fn a_policy_that_refuses_classical_does_not_join_a_classical_conversation() {
    let net = Net::new();
    let mut strict = dev_config();
    strict.suites = SuitePolicy::post_quantum_only();
    let mut alice = net.phone("+15551230001", DeviceProfile::Android);
    let mut bob = net.phone_with("+15551230002", DeviceProfile::Ios, strict);
    let batch = bob.generate_key_packages(1).unwrap();
    let p256 = DeviceKeyPackages(
        batch
            .key_packages
            .into_iter()
            .filter(|(s, _)| *s == Suite::P256Aes128)
            .map(|(_, kp)| kp)
            .collect(),
    );
    let kps = ParticipantKeyPackages {
        number: number("+15551230002"),
        devices: vec![p256],
        transparency: None,
    };
    let pending = alice
        .create_conversation(NewConversation::OneToOne, &[kps])
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let welcome = pending.welcome.unwrap();
    assert!(matches!(
        bob.receive_with_tree(
            &welcome.message_id,
            &welcome.envelope,
            Some(&pending.ratchet_tree)
        ),
        Err(ClientError::SuiteRefused(Suite::P256Aes128))
    ));
    assert!(bob.conversations().unwrap().is_empty());
}

#[test]
fn fifty_member_group_across_both_profiles() {
    let net = Net::new();
    let mut phones: Vec<Device> = (0..50)
        .map(|i| {
            let profile = if i % 2 == 0 {
                DeviceProfile::Android
            } else {
                DeviceProfile::Ios
            };
            net.phone(&format!("+1555200{i:04}"), profile)
        })
        .collect();
    let (creator, rest) = phones.split_first_mut().unwrap();
    let claims: Vec<_> = rest
        .iter_mut()
        .enumerate()
        .map(|(i, d)| claim(&format!("+1555200{:04}", i + 1), &mut [d]))
        .collect();
    let pending = creator
        .create_conversation(
            NewConversation::Group {
                group_id: b"rcs-group-50".to_vec(),
            },
            &claims,
        )
        .unwrap();
    let mut joiners: Vec<&mut Device> = rest.iter_mut().collect();
    accept(creator, &pending, &mut [], &mut joiners);
    let id = pending.conversation.clone();
    let auth = creator.security_state(&id).unwrap().epoch_authenticator;
    for d in rest.iter_mut() {
        let s = d.security_state(&id).unwrap();
        assert_eq!(s.epoch_authenticator, auth);
        assert_eq!(s.members.len(), 50);
    }
    // A message from an iPhone member reaches all 49 others.
    let (sender, others) = rest.split_first_mut().unwrap();
    let m = sender.send_text(&id, "hello, fifty").unwrap();
    let mut recipients: Vec<&mut Device> = others.iter_mut().collect();
    recipients.push(creator);
    for r in deliver(&m.outbound, &mut recipients) {
        assert_eq!(text_of(&r), "hello, fifty");
    }
}

#[test]
fn removed_member_cannot_read_later_and_late_member_cannot_read_earlier() {
    let net = Net::new();
    let (mut alice, mut bob, mut carol, id) = group_of_three(&net);
    let mut dave = net.phone("+15551230004", DeviceProfile::Ios);

    let before = alice.send_text(&id, "before dave").unwrap();
    deliver(&before.outbound, &mut [&mut bob, &mut carol]);

    // Remove Carol. She does not get to see the removal yet.
    let removal = alice
        .remove_participant(&id, &number("+15551230003"))
        .unwrap();
    alice.commit_accepted(&removal).unwrap();
    bob.receive(&removal.commit.message_id, &removal.commit.envelope)
        .unwrap();
    let secret = alice.send_text(&id, "carol must not read this").unwrap();
    deliver(&secret.outbound, &mut [&mut bob]);
    // With only her old keys, Carol cannot open the new epoch.
    let err = carol
        .receive(&secret.outbound.message_id, &secret.outbound.envelope)
        .unwrap_err();
    assert!(matches!(err, ClientError::WrongEpoch { .. }), "{err:?}");
    match carol
        .receive(&removal.commit.message_id, &removal.commit.envelope)
        .unwrap()
    {
        Received::Commit(c) => assert!(c.removed_self),
        other => panic!("{other:?}"),
    }
    assert!(!carol.security_state(&id).unwrap().encrypted);

    // Add Dave.
    let add = alice
        .add_participants(&id, &[claim("+15551230004", &mut [&mut dave])])
        .unwrap();
    accept(&mut alice, &add, &mut [&mut bob], &mut [&mut dave]);

    let after = alice.send_text(&id, "after").unwrap();
    assert_eq!(
        text_of(&deliver(&after.outbound, &mut [&mut bob, &mut dave])[1]),
        "after"
    );
    // Carol, removed, cannot read what follows her removal.
    assert!(matches!(
        carol.receive(&after.outbound.message_id, &after.outbound.envelope),
        Err(ClientError::NotAMember)
    ));
    // Even with her last state forced open, the keys are not there: the
    // message is for an epoch she never had.
    // Dave, added later, cannot read what came before him.
    let err = dave
        .receive(&before.outbound.message_id, &before.outbound.envelope)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::WrongEpoch { .. } | ClientError::EpochAuthenticatorMismatch
        ),
        "{err:?}"
    );
}

/// A message Carol sent just before her removal reaches Bob after he has
/// processed the removal: mls-rs keeps no credential of a past epoch's
/// member, so it is refused with a typed error (not attributed to whoever
/// holds her leaf next) and Bob's state is unchanged.
#[test]
fn a_late_message_from_a_removed_member_is_a_typed_refusal() {
    let net = Net::new();
    let (mut alice, mut bob, mut carol, id) = group_of_three(&net);
    let last = carol.send_text(&id, "my last words").unwrap();
    let removal = alice
        .remove_participant(&id, &number("+15551230003"))
        .unwrap();
    alice.commit_accepted(&removal).unwrap();
    bob.receive(&removal.commit.message_id, &removal.commit.envelope)
        .unwrap();
    let before = bob.security_state(&id).unwrap();
    let err = bob
        .receive(&last.outbound.message_id, &last.outbound.envelope)
        .unwrap_err();
    assert!(
        matches!(err, ClientError::SenderRemovedSinceEpoch),
        "{err:?}"
    );
    // RCC.16 client reason 1, message-from-non-member.
    assert_eq!(err.rcc16_failure_reason(), Some(1));
    assert_eq!(bob.security_state(&id).unwrap(), before);
    // Bob still reads Alice.
    let next = alice.send_text(&id, "still here").unwrap();
    assert_eq!(
        text_of(&deliver(&next.outbound, &mut [&mut bob])[0]),
        "still here"
    );
}

#[test]
fn receipts_and_typing_travel_encrypted() {
    let net = Net::new();
    let mut alice = net.phone("+15551230001", DeviceProfile::Android);
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    let pending = alice
        .create_conversation(
            NewConversation::OneToOne,
            &[claim("+15551230002", &mut [&mut bob])],
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob]);
    let id = pending.conversation;

    let typing = bob.send_typing(&id, true).unwrap();
    assert!(!typing.outbound.envelope.windows(6).any(|w| w == b"active"));
    match alice
        .receive(&typing.outbound.message_id, &typing.outbound.envelope)
        .unwrap()
    {
        Received::Typing { sender, .. } => assert_eq!(sender.number, number("+15551230002")),
        other => panic!("{other:?}"),
    }
    let sent = alice.send_text(&id, "read me").unwrap();
    let mimi_id = sent.mimi_id.unwrap();
    let got = bob
        .receive(&sent.outbound.message_id, &sent.outbound.envelope)
        .unwrap();
    let Received::Message(m) = &got else { panic!() };
    let ReceivedContent::Mimi {
        id: received_id, ..
    } = &m.content
    else {
        panic!()
    };
    assert_eq!(
        *received_id, mimi_id,
        "both sides compute the same MIMI message id"
    );
    bob.ack(m.delivery).unwrap();
    let receipt = bob
        .send_status(
            &id,
            vec![wire::status::PerMessageStatus {
                message_id: mimi_id,
                status: wire::status::MessageStatus::Read,
            }],
        )
        .unwrap();
    match alice
        .receive(&receipt.outbound.message_id, &receipt.outbound.envelope)
        .unwrap()
    {
        Received::Message(ReceivedMessage {
            content: ReceivedContent::Status(report),
            ..
        }) => {
            assert_eq!(report.statuses[0].message_id, mimi_id);
            assert_eq!(report.statuses[0].status, wire::status::MessageStatus::Read);
        }
        other => panic!("{other:?}"),
    }
}

/// MLS-LIFE-1: a KeyPackage's lifetime (14 days for ours) is checked when
/// it is added, not for as long as its leaf stays in the tree. Three weeks
/// after the group was made, with no member having committed since, Dave
/// is added and joins: the leaves Alice, Bob and Carol joined with are
/// long past their KeyPackages' lifetimes, and their credentials are
/// still checked.
#[test]
fn a_group_whose_members_never_committed_still_takes_new_members() {
    let net = Net::new();
    let (mut alice, mut bob, mut carol, id) = group_of_three(&net);
    net.clock.advance(21 * 86_400);
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
    let hello = dave.send_text(&id, "three weeks later").unwrap();
    for r in deliver(&hello.outbound, &mut [&mut alice, &mut bob, &mut carol]) {
        assert_eq!(text_of(&r), "three weeks later");
    }
}
