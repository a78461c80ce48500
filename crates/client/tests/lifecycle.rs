//! Commits racing at the server, multi-device participants, leaving,
//! ending encryption, credential refresh, late messages and KeyPackage stock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use crosslock_client::*;

#[test]
fn concurrent_commits_one_wins_the_loser_is_unchanged_and_retries() {
    let net = Net::new();
    let (mut alice, mut bob, mut carol, id) = group_of_three(&net);
    let before = bob.security_state(&id).unwrap();

    // Alice and Bob both commit in the same epoch; the server takes Alice's.
    let a = alice.update_keys(&id).unwrap();
    let b = bob.update_keys(&id).unwrap();
    assert!(bob.security_state(&id).unwrap().commit_pending);

    // Bob hears the verdict: rejected. His state is exactly as before.
    bob.commit_rejected(&b).unwrap();
    let after_reject = bob.security_state(&id).unwrap();
    assert_eq!(after_reject.epoch, before.epoch);
    assert_eq!(after_reject.epoch_authenticator, before.epoch_authenticator);
    assert!(!after_reject.commit_pending);

    // The winner's commit is processed normally by everyone.
    alice.commit_accepted(&a).unwrap();
    deliver(&a.commit, &mut [&mut bob, &mut carol]);
    let auth = alice.security_state(&id).unwrap().epoch_authenticator;
    assert_eq!(bob.security_state(&id).unwrap().epoch_authenticator, auth);
    assert_eq!(carol.security_state(&id).unwrap().epoch_authenticator, auth);
    // Bob's stale commit is refused by members if a broken server relayed it.
    assert!(
        carol
            .receive(&b.commit.message_id, &b.commit.envelope)
            .is_err()
    );

    // Bob retries in the new epoch and succeeds.
    let retry = bob.update_keys(&id).unwrap();
    bob.commit_accepted(&retry).unwrap();
    deliver(&retry.commit, &mut [&mut alice, &mut carol]);
    let m = carol.send_text(&id, "all in sync").unwrap();
    for r in deliver(&m.outbound, &mut [&mut alice, &mut bob]) {
        assert_eq!(text_of(&r), "all in sync");
    }
}

#[test]
fn the_winning_commit_arriving_first_supersedes_a_pending_one() {
    let net = Net::new();
    let (mut alice, mut bob, mut carol, id) = group_of_three(&net);
    let a = alice.update_keys(&id).unwrap();
    let _b = bob.update_keys(&id).unwrap();
    alice.commit_accepted(&a).unwrap();
    // Bob receives Alice's winning commit before the server's refusal.
    match bob
        .receive(&a.commit.message_id, &a.commit.envelope)
        .unwrap()
    {
        Received::Commit(c) => assert!(c.superseded_pending && !c.own_commit),
        other => panic!("{other:?}"),
    }
    // The late refusal is then a no-op.
    bob.commit_rejected(&_b).unwrap();
    deliver(&a.commit, &mut [&mut carol]);
    assert_eq!(
        bob.security_state(&id).unwrap().epoch_authenticator,
        carol.security_state(&id).unwrap().epoch_authenticator
    );
}

#[test]
fn own_commit_echoed_by_the_server_counts_as_accepted() {
    let net = Net::new();
    let (mut alice, mut bob, _carol, id) = group_of_three(&net);
    let a = alice.update_keys(&id).unwrap();
    match alice
        .receive(&a.commit.message_id, &a.commit.envelope)
        .unwrap()
    {
        Received::Commit(c) => assert!(c.own_commit),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        alice.commit_accepted(&a),
        Err(ClientError::NoPendingCommit)
    ));
    deliver(&a.commit, &mut [&mut bob]);
    assert_eq!(
        alice.security_state(&id).unwrap().epoch_authenticator,
        bob.security_state(&id).unwrap().epoch_authenticator
    );
}

#[test]
fn a_second_commit_waits_for_the_first_verdict() {
    let net = Net::new();
    let (mut alice, _bob, _carol, id) = group_of_three(&net);
    alice.update_keys(&id).unwrap();
    assert!(matches!(
        alice.update_keys(&id),
        Err(ClientError::CommitPending)
    ));
    assert!(alice.pending_commit(&id).unwrap().is_some());
}

#[test]
fn all_devices_of_a_participant_are_added_and_removed_together() {
    let net = Net::new();
    let mut alice = net.phone("+15551230001", DeviceProfile::Android);
    let mut carol_phone = net.phone("+15551230003", DeviceProfile::Android);
    let mut carol_tablet = net.phone("+15551230003", DeviceProfile::Ios);
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    let claims = [
        claim("+15551230002", &mut [&mut bob]),
        claim("+15551230003", &mut [&mut carol_phone, &mut carol_tablet]),
    ];
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"family".to_vec(),
            },
            &claims,
        )
        .unwrap();
    accept(
        &mut alice,
        &pending,
        &mut [],
        &mut [&mut bob, &mut carol_phone, &mut carol_tablet],
    );
    let id = pending.conversation;
    let state = alice.security_state(&id).unwrap();
    assert_eq!(state.members[&number("+15551230003")].len(), 2);

    // Remove Carol's tablet only.
    let tablet_id = carol_tablet.device_id().to_owned();
    let removal = alice
        .remove_device(&id, &number("+15551230003"), &tablet_id)
        .unwrap();
    alice.commit_accepted(&removal).unwrap();
    let events = deliver(
        &removal.commit,
        &mut [&mut bob, &mut carol_phone, &mut carol_tablet],
    );
    assert!(matches!(&events[2], Received::Commit(c) if c.removed_self));
    assert_eq!(
        alice.security_state(&id).unwrap().members[&number("+15551230003")].len(),
        1
    );
    let m = alice.send_text(&id, "tablet gone").unwrap();
    assert_eq!(
        text_of(&deliver(&m.outbound, &mut [&mut carol_phone])[0]),
        "tablet gone"
    );
    assert!(
        carol_tablet
            .receive(&m.outbound.message_id, &m.outbound.envelope)
            .is_err()
    );

    // Removing the participant removes every remaining device in one commit.
    let removal = alice
        .remove_participant(&id, &number("+15551230003"))
        .unwrap();
    alice.commit_accepted(&removal).unwrap();
    match deliver(&removal.commit, &mut [&mut bob]).remove(0) {
        Received::Commit(c) => assert_eq!(c.removed.len(), 1),
        other => panic!("{other:?}"),
    }
    assert!(
        !alice
            .security_state(&id)
            .unwrap()
            .members
            .contains_key(&number("+15551230003"))
    );
}

#[test]
fn leaving_is_a_self_remove_the_next_committer_applies() {
    let net = Net::new();
    let (mut alice, mut bob, mut carol, id) = group_of_three(&net);
    let proposal = carol.leave(&id).unwrap();
    let events = deliver(&proposal, &mut [&mut alice, &mut bob]);
    assert!(matches!(
        events[0],
        Received::Proposal {
            commit_required: true,
            ..
        }
    ));
    // Alice must commit before sending.
    assert!(matches!(
        alice.send_text(&id, "x"),
        Err(ClientError::CommitRequired)
    ));
    let commit = alice.commit_pending_proposals(&id).unwrap();
    alice.commit_accepted(&commit).unwrap();
    let events = deliver(&commit.commit, &mut [&mut bob, &mut carol]);
    assert!(matches!(&events[0], Received::Commit(c) if c.removed.len() == 1));
    assert!(matches!(&events[1], Received::Commit(c) if c.removed_self));
    assert_eq!(
        carol.security_state(&id).unwrap().status,
        ConversationStatus::Removed
    );
    let m = alice.send_text(&id, "bye carol").unwrap();
    assert_eq!(
        text_of(&deliver(&m.outbound, &mut [&mut bob])[0]),
        "bye carol"
    );
}

#[test]
fn ending_encryption_is_explicit_and_seen_by_everyone() {
    let net = Net::new();
    let (mut alice, mut bob, mut carol, id) = group_of_three(&net);
    let end = alice.end_encryption(&id).unwrap();
    // Nothing changes before the server accepts.
    assert!(alice.security_state(&id).unwrap().encrypted);
    alice.commit_accepted(&end).unwrap();
    for e in deliver(&end.commit, &mut [&mut bob, &mut carol]) {
        assert!(matches!(e, Received::Commit(c) if c.encryption_ended));
    }
    for d in [&mut alice, &mut bob, &mut carol] {
        let s = d.security_state(&id).unwrap();
        assert!(!s.encrypted);
        assert_eq!(s.status, ConversationStatus::Ended);
        assert!(matches!(
            d.send_text(&id, "plain?"),
            Err(ClientError::EncryptionEnded)
        ));
    }
}

#[test]
fn late_messages_from_the_previous_epoch_decrypt_within_retention() {
    let net = Net::new();
    let (mut alice, mut bob, mut carol, id) = group_of_three(&net);
    // Bob sends in epoch 1; Carol only gets it after Alice's update.
    let late = bob.send_text(&id, "late but fine").unwrap();
    let update = alice.update_keys(&id).unwrap();
    alice.commit_accepted(&update).unwrap();
    deliver(&update.commit, &mut [&mut bob, &mut carol]);
    net.clock.advance(86_400);
    assert_eq!(
        text_of(&deliver(&late.outbound, &mut [&mut carol])[0]),
        "late but fine"
    );

    // Past retention (3 days after the epoch ended) the old keys are gone.
    let later = bob.send_text(&id, "one more").unwrap();
    let late2 = later.outbound;
    let update = alice.update_keys(&id).unwrap();
    alice.commit_accepted(&update).unwrap();
    deliver(&update.commit, &mut [&mut bob, &mut carol]);
    net.clock.advance(4 * 86_400);
    carol.maintenance().unwrap();
    let err = carol
        .receive(&late2.message_id, &late2.envelope)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::WrongEpoch { .. } | ClientError::DecryptionFailed
        ),
        "{err:?}"
    );
    let _ = alice;
}

#[test]
fn key_package_stock_tells_when_to_refill() {
    let net = Net::new();
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    let empty = bob.key_package_stock().unwrap();
    assert!(empty.needs_refill());
    let batch = bob.generate_key_packages(12).unwrap();
    assert_eq!(batch.key_packages.len(), 36);
    assert_eq!(batch.last_resort.len(), 3);
    let stock = bob.key_package_stock().unwrap();
    assert!(stock.available.values().all(|&n| n == 12));
    assert_eq!(stock.last_resort.len(), 3);
    assert!(!stock.needs_refill());

    // Three claims and joins later the stock is under the threshold (10).
    let mut alice = net.phone("+15551230001", DeviceProfile::Android);
    let per_suite = |suite| {
        batch
            .key_packages
            .iter()
            .filter(move |(s, _)| *s == suite)
            .map(|(_, kp)| kp.clone())
    };
    let xwing: Vec<Vec<u8>> = per_suite(suite::Suite::MlKem768X25519Aes128).collect();
    let mut refill_seen = false;
    for (i, kp) in xwing.iter().take(3).enumerate() {
        let kps = ParticipantKeyPackages {
            number: number("+15551230002"),
            devices: vec![DeviceKeyPackages(vec![kp.clone()])],
            transparency: None,
        };
        let pending = alice
            .create_conversation(
                NewConversation::Group {
                    group_id: format!("g{i}").into_bytes(),
                },
                &[kps],
            )
            .unwrap();
        alice.commit_accepted(&pending).unwrap();
        let w = pending.welcome.unwrap();
        if let Received::Joined {
            refill_key_packages,
            ..
        } = bob
            .receive_with_tree(&w.message_id, &w.envelope, Some(&pending.ratchet_tree))
            .unwrap()
        {
            refill_seen |= refill_key_packages;
        }
    }
    assert!(refill_seen);
    let stock = bob.key_package_stock().unwrap();
    assert_eq!(stock.available[&suite::Suite::MlKem768X25519Aes128], 9);
    assert_eq!(stock.refill[&suite::Suite::MlKem768X25519Aes128], 91);
    let refill = bob.refill_key_packages().unwrap();
    assert!(!refill.key_packages.is_empty());
    assert!(!bob.key_package_stock().unwrap().needs_refill());

    // Expired KeyPackages stop counting and are purged.
    net.clock.advance(15 * 86_400);
    assert!(bob.key_package_stock().unwrap().needs_refill());
    bob.maintenance().unwrap();
}

#[test]
fn the_last_resort_key_package_is_reusable() {
    let net = Net::new();
    let mut alice = net.phone("+15551230001", DeviceProfile::Android);
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    let batch = bob.generate_key_packages(0).unwrap();
    let last_resort = batch
        .last_resort
        .iter()
        .find(|(s, _)| *s == suite::Suite::MlKem768X25519Aes128)
        .unwrap()
        .1
        .clone();
    for i in 0..2 {
        let kps = ParticipantKeyPackages {
            number: number("+15551230002"),
            devices: vec![DeviceKeyPackages(vec![last_resort.clone()])],
            transparency: None,
        };
        let pending = alice
            .create_conversation(
                NewConversation::Group {
                    group_id: format!("lr{i}").into_bytes(),
                },
                &kps_slice(kps),
            )
            .unwrap();
        alice.commit_accepted(&pending).unwrap();
        let w = pending.welcome.unwrap();
        assert!(matches!(
            bob.receive_with_tree(&w.message_id, &w.envelope, Some(&pending.ratchet_tree))
                .unwrap(),
            Received::Joined { .. }
        ));
    }
    assert_eq!(bob.key_package_stock().unwrap().last_resort.len(), 3);
}

fn kps_slice(k: ParticipantKeyPackages) -> [ParticipantKeyPackages; 1] {
    [k]
}

#[test]
fn safety_numbers_match_and_key_changes_clear_verification() {
    let net = Net::new();
    let mut alice = net.phone("+15551230001", DeviceProfile::Android);
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"pair".to_vec(),
            },
            &[claim("+15551230002", &mut [&mut bob])],
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob]);
    let id = pending.conversation;
    let a = alice.safety_number(&id, &number("+15551230002")).unwrap();
    let b = bob.safety_number(&id, &number("+15551230001")).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        alice.security_state(&id).unwrap().verification[&number("+15551230002")],
        Verification::Unverified
    );

    // A wrong scan changes nothing; the right one verifies.
    assert!(
        !alice
            .confirm_safety_number(&id, &number("+15551230002"), Some(&[1u8; 65]))
            .unwrap()
    );
    assert!(
        alice
            .confirm_safety_number(&id, &number("+15551230002"), Some(b.qr_payload()))
            .unwrap()
    );
    assert_eq!(
        alice.security_state(&id).unwrap().verification[&number("+15551230002")],
        Verification::Verified
    );

    // Bob gets a new device: his key set changes, the warning shows, and
    // the safety number is different until re-verified.
    let mut bob_tablet = net.phone("+15551230002", DeviceProfile::Ios);
    let add = alice
        .add_participants(&id, &[claim("+15551230002", &mut [&mut bob_tablet])])
        .unwrap();
    accept(&mut alice, &add, &mut [&mut bob], &mut [&mut bob_tablet]);
    assert_eq!(
        alice.security_state(&id).unwrap().verification[&number("+15551230002")],
        Verification::KeyChanged
    );
    assert_ne!(
        alice.safety_number(&id, &number("+15551230002")).unwrap(),
        a
    );
    assert!(
        alice
            .confirm_safety_number(&id, &number("+15551230002"), None)
            .unwrap()
    );
    assert_eq!(
        alice.security_state(&id).unwrap().verification[&number("+15551230002")],
        Verification::Verified
    );
}

#[test]
fn credential_refresh_is_a_commit_every_member_processes() {
    let net = Net::new();
    let (mut alice, mut bob, mut carol, id) = group_of_three(&net);
    let refresh = bob.refresh_credential(&id).unwrap();
    bob.commit_accepted(&refresh).unwrap();
    deliver(&refresh.commit, &mut [&mut alice, &mut carol]);
    assert_eq!(
        alice.security_state(&id).unwrap().epoch_authenticator,
        bob.security_state(&id).unwrap().epoch_authenticator
    );
}

#[test]
fn a_pending_commit_survives_a_restart_and_merges_to_the_same_state() {
    use std::sync::Arc;
    let net = Net::new();
    let store = Arc::new(crosslock_client::store::MemoryStore::new());
    let mut alice = net.phone_in(
        store.clone(),
        "+15551230001",
        DeviceProfile::Android,
        dev_config(),
    );
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"restart".to_vec(),
            },
            &[claim("+15551230002", &mut [&mut bob])],
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob]);
    let id = pending.conversation;
    let update = alice.update_keys(&id).unwrap();
    // The app is killed while the commit is at the server.
    drop(alice);
    let store: Arc<dyn crosslock_client::store::StateStore> = store;
    let keystore = Arc::new(crosslock_client::keystore::SoftwareKeyStore::new(
        store.clone(),
    ));
    let mut alice = Device::open(store, keystore, dev_config(), net.env()).unwrap();
    assert_eq!(
        alice.pending_commit(&id).unwrap().unwrap().commit,
        update.commit
    );
    alice.commit_accepted(&update).unwrap();
    deliver(&update.commit, &mut [&mut bob]);
    assert_eq!(
        alice.security_state(&id).unwrap().epoch_authenticator,
        bob.security_state(&id).unwrap().epoch_authenticator
    );
}

#[test]
fn sending_while_a_commit_is_pending_keeps_the_commit_valid() {
    let net = Net::new();
    let (mut alice, mut bob, mut carol, id) = group_of_three(&net);
    let update = alice.update_keys(&id).unwrap();
    let m = alice.send_text(&id, "while pending").unwrap();
    alice.commit_accepted(&update).unwrap();
    deliver(&update.commit, &mut [&mut bob, &mut carol]);
    assert_eq!(
        text_of(&deliver(&m.outbound, &mut [&mut bob])[0]),
        "while pending"
    );
    assert_eq!(
        alice.security_state(&id).unwrap().epoch_authenticator,
        bob.security_state(&id).unwrap().epoch_authenticator
    );
}

#[test]
fn a_late_refusal_of_a_superseded_commit_does_not_discard_a_newer_one() {
    let net = Net::new();
    let (mut alice, mut bob, mut carol, id) = group_of_three(&net);
    let winner = alice.update_keys(&id).unwrap();
    let loser = bob.update_keys(&id).unwrap();
    alice.commit_accepted(&winner).unwrap();
    deliver(&winner.commit, &mut [&mut bob, &mut carol]); // supersedes Bob's commit
    let newer = bob.update_keys(&id).unwrap();
    // The server's refusal of the old commit arrives only now.
    bob.commit_rejected(&loser).unwrap();
    assert!(bob.security_state(&id).unwrap().commit_pending);
    // A stale acceptance is refused too.
    assert!(matches!(
        bob.commit_accepted(&loser),
        Err(ClientError::StaleVerdict)
    ));
    bob.commit_accepted(&newer).unwrap();
    deliver(&newer.commit, &mut [&mut alice, &mut carol]);
    let auth = bob.security_state(&id).unwrap().epoch_authenticator;
    assert_eq!(alice.security_state(&id).unwrap().epoch_authenticator, auth);
    assert_eq!(carol.security_state(&id).unwrap().epoch_authenticator, auth);
}
