//! The RCC.16 recovery ladder end to end: rejoin by external commit,
//! signed negative delivery IMDNs, resends linked to the original, and
//! a new era. Deterministic (manual clock, seeded ids).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use std::sync::Arc;

use common::*;
use crosslock_client::keystore::SoftwareKeyStore;
use crosslock_client::store::{MemoryStore, StateStore, Table, Write, WriteBatch};
use crosslock_client::wire::imdn::{ClientReason, FailureArm};
use crosslock_client::wire::report::ReceiptEnvelope;
use crosslock_client::*;

const ALICE: &str = "+15551230001";
const BOB: &str = "+15551230002";
const CAROL: &str = "+15551230003";

/// Alice (Android), Bob (iPhone) and Carol (Android) in group "trio";
/// every store is kept so a test can damage or inspect it.
struct Trio {
    alice: Device,
    bob: Device,
    carol: Device,
    alice_store: Arc<MemoryStore>,
    bob_store: Arc<MemoryStore>,
    carol_store: Arc<MemoryStore>,
    id: ConversationId,
    /// The latest GroupInfo, as the delivery service keeps it.
    group_info: Vec<u8>,
    /// The ratchet tree of its epoch, served beside it (MLS-GI-1).
    ratchet_tree: Vec<u8>,
}

fn trio(net: &Net) -> Trio {
    let phone = |n: &str, profile, store: &Arc<MemoryStore>| {
        net.phone_in(store.clone(), n, profile, dev_config())
    };
    let (alice_store, bob_store, carol_store) = (
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryStore::new()),
        Arc::new(MemoryStore::new()),
    );
    let mut alice = phone(ALICE, DeviceProfile::Android, &alice_store);
    let mut bob = phone(BOB, DeviceProfile::Ios, &bob_store);
    let mut carol = phone(CAROL, DeviceProfile::Android, &carol_store);
    let claims = [claim(BOB, &mut [&mut bob]), claim(CAROL, &mut [&mut carol])];
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"00000000-0000-4000-8000-000000000c01".to_vec(),
            },
            &claims,
        )
        .unwrap();
    assert!(!pending.external);
    accept(&mut alice, &pending, &mut [], &mut [&mut bob, &mut carol]);
    Trio {
        alice,
        bob,
        carol,
        alice_store,
        bob_store,
        carol_store,
        id: pending.conversation.clone(),
        group_info: pending.group_info,
        ratchet_tree: pending.ratchet_tree,
    }
}

/// The device in `store` after a restart.
fn reopen(net: &Net, store: &Arc<MemoryStore>) -> Device {
    let store: Arc<dyn StateStore> = store.clone();
    let keystore = Arc::new(SoftwareKeyStore::new(store.clone()));
    Device::open(store, keystore, dev_config(), net.env()).unwrap()
}

fn sender(n: &str, device: &Device) -> Sender {
    Sender {
        number: number(n),
        device: device.device_id().to_owned(),
    }
}

/// The rows of some tables, to show a step left them alone.
fn rows(store: &MemoryStore, tables: &[Table]) -> Vec<(Table, Vec<u8>, Vec<u8>)> {
    snapshot(store)
        .into_iter()
        .filter(|(t, _, _)| tables.contains(t))
        .collect()
}

fn all(store: &MemoryStore) -> Vec<(Table, Vec<u8>, Vec<u8>)> {
    snapshot(store)
}

/// Everyone agrees on the group state and can talk.
fn assert_healthy(devices: &mut [(&str, &mut Device)], id: &ConversationId) {
    let auth = devices[0].1.security_state(id).unwrap().epoch_authenticator;
    for (_, d) in devices.iter_mut() {
        assert_eq!(d.security_state(id).unwrap().epoch_authenticator, auth);
    }
    for i in 0..devices.len() {
        let text = format!("hello from {}", devices[i].0);
        let sent = devices[i].1.send_text(id, &text).unwrap().outbound;
        for (j, (_, d)) in devices.iter_mut().enumerate() {
            if j != i {
                assert_eq!(
                    text_of(&d.receive(&sent.message_id, &sent.envelope).unwrap()),
                    text
                );
            }
        }
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn commit_event(r: Received) -> CommitEvent {
    match r {
        Received::Commit(c) => c,
        other => panic!("expected a commit, got {other:?}"),
    }
}

// ---- rejoin -----------------------------------------------------------------

#[test]
fn member_that_lost_its_group_state_rejoins_and_talks_again() {
    let net = Net::new();
    let mut t = trio(&net);
    // Carol's group state is lost (e.g. a corrupted row was dropped).
    t.carol_store
        .commit(WriteBatch(vec![Write::Delete(
            Table::GroupState,
            t.id.as_bytes().to_vec(),
        )]))
        .unwrap();
    let mut carol = reopen(&net, &t.carol_store);
    assert!(matches!(
        carol.send_text(&t.id, "lost"),
        Err(ClientError::RejoinRequired)
    ));
    let m = t
        .alice
        .send_text(&t.id, "can you read this?")
        .unwrap()
        .outbound;
    let err = carol.receive(&m.message_id, &m.envelope).unwrap_err();
    assert!(matches!(err, ClientError::RejoinRequired));
    assert_eq!(err.rcc16_failure_reason(), Some(4));

    let pending = carol
        .rejoin(&t.id, &t.group_info, Some(&t.ratchet_tree))
        .unwrap();
    assert!(pending.external);
    assert!(pending.welcome.is_none());
    assert_eq!(carol.pending_commit(&t.id).unwrap(), Some(pending.clone()));
    carol.commit_accepted(&pending).unwrap();

    // MLS-EXT-2: the header carries the new epoch's authenticator, which
    // members check after processing.
    let state = t.alice.security_state(&t.id).unwrap();
    let forged = rewrite_header(
        &pending.commit.envelope,
        "mls.Epoch-Authenticator",
        Some(&base64_of(&state.epoch_authenticator)),
    );
    let before = all(&t.alice_store);
    assert!(matches!(
        t.alice.receive(&pending.commit.message_id, &forged),
        Err(ClientError::EpochAuthenticatorMismatch)
    ));
    assert_eq!(all(&t.alice_store), before);

    let carol_sender = sender(CAROL, &carol);
    for d in [&mut t.alice, &mut t.bob] {
        let c = commit_event(
            d.receive(&pending.commit.message_id, &pending.commit.envelope)
                .unwrap(),
        );
        assert_eq!(c.rejoined.as_ref(), Some(&carol_sender));
        assert_eq!(c.committer.as_ref(), Some(&carol_sender));
        assert!(c.added.is_empty() && c.removed.is_empty() && !c.removed_self);
        // Still one device for Carol, and the same key (no key-change alert).
        let state = d.security_state(&t.id).unwrap();
        assert_eq!(state.members[&number(CAROL)].len(), 1);
        assert_eq!(state.members.len(), 3);
        assert_eq!(state.verification[&number(CAROL)], Verification::Unverified);
    }
    assert_healthy(
        &mut [
            ("alice", &mut t.alice),
            ("bob", &mut t.bob),
            ("carol", &mut carol),
        ],
        &t.id,
    );
}

#[test]
fn member_that_missed_commits_rejoins_stage_then_merge() {
    let net = Net::new();
    let mut t = trio(&net);
    // Two commits Carol never gets (the server no longer has them).
    let mut latest = (t.group_info.clone(), t.ratchet_tree.clone());
    for _ in 0..2 {
        let p = t.alice.update_keys(&t.id).unwrap();
        accept(&mut t.alice, &p, &mut [&mut t.bob], &mut []);
        latest = (p.group_info, p.ratchet_tree);
    }
    let m = t.alice.send_text(&t.id, "epoch 3").unwrap().outbound;
    assert!(matches!(
        t.carol.receive(&m.message_id, &m.envelope),
        Err(ClientError::WrongEpoch { .. })
    ));
    let before = rows(&t.carol_store, &[Table::GroupState, Table::Epoch]);
    let everything = all(&t.carol_store);

    // Rejoin, refused by the server: nothing changed at all.
    let refused = t.carol.rejoin(&t.id, &latest.0, Some(&latest.1)).unwrap();
    assert_eq!(
        rows(&t.carol_store, &[Table::GroupState, Table::Epoch]),
        before
    );
    assert!(matches!(
        t.carol.rejoin(&t.id, &latest.0, Some(&latest.1)),
        Err(ClientError::CommitPending)
    ));
    t.carol.commit_rejected(&refused).unwrap();
    assert_eq!(all(&t.carol_store), everything);

    // Again, surviving a restart before the verdict; the server echoes the
    // commit back instead of answering.
    let pending = t.carol.rejoin(&t.id, &latest.0, Some(&latest.1)).unwrap();
    assert_eq!(
        rows(&t.carol_store, &[Table::GroupState, Table::Epoch]),
        before
    );
    let mut carol = reopen(&net, &t.carol_store);
    assert_eq!(carol.pending_commit(&t.id).unwrap(), Some(pending.clone()));
    let own = commit_event(
        carol
            .receive(&pending.commit.message_id, &pending.commit.envelope)
            .unwrap(),
    );
    assert!(own.own_commit);
    assert_eq!(own.rejoined, Some(sender(CAROL, &carol)));
    assert_eq!(carol.pending_commit(&t.id).unwrap(), None);
    assert!(matches!(
        carol.receive(&pending.commit.message_id, &pending.commit.envelope),
        Err(ClientError::Replayed)
    ));
    for d in [&mut t.alice, &mut t.bob] {
        let c = commit_event(
            d.receive(&pending.commit.message_id, &pending.commit.envelope)
                .unwrap(),
        );
        assert_eq!(c.rejoined, Some(sender(CAROL, &carol)));
    }
    assert_eq!(carol.security_state(&t.id).unwrap().epoch, 4);
    assert_healthy(
        &mut [
            ("alice", &mut t.alice),
            ("bob", &mut t.bob),
            ("carol", &mut carol),
        ],
        &t.id,
    );
    // Later commits work on every side (prior epochs line up again).
    let p = carol.update_keys(&t.id).unwrap();
    accept(&mut carol, &p, &mut [&mut t.alice, &mut t.bob], &mut []);
    assert_healthy(&mut [("carol", &mut carol), ("alice", &mut t.alice)], &t.id);
}

#[test]
fn member_that_never_got_the_welcome_rejoins() {
    let net = Net::new();
    let mut alice = net.phone(ALICE, DeviceProfile::Android);
    let mut bob = net.phone(BOB, DeviceProfile::Ios);
    let pending = alice
        .create_conversation(NewConversation::OneToOne, &[claim(BOB, &mut [&mut bob])])
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let id = pending.conversation.clone();
    // The Welcome is lost: Bob has no record, but is in the tree.
    assert!(matches!(
        bob.security_state(&id),
        Err(ClientError::UnknownConversation)
    ));
    let rejoin = bob
        .rejoin(&id, &pending.group_info, Some(&pending.ratchet_tree))
        .unwrap();
    // Refused: the record made for the rejoin goes away again.
    bob.commit_rejected(&rejoin).unwrap();
    assert!(bob.conversations().unwrap().is_empty());
    let rejoin = bob
        .rejoin(&id, &pending.group_info, Some(&pending.ratchet_tree))
        .unwrap();
    bob.commit_accepted(&rejoin).unwrap();
    alice
        .receive(&rejoin.commit.message_id, &rejoin.commit.envelope)
        .unwrap();
    let state = bob.security_state(&id).unwrap();
    assert_eq!(state.kind, ConversationKind::OneToOne);
    assert_eq!(state.era, 1);
    assert_healthy(&mut [("alice", &mut alice), ("bob", &mut bob)], &id);
}

#[test]
fn rejoin_refusals() {
    let net = Net::new();
    let mut t = trio(&net);
    // A stranger cannot join by external commit with the GroupInfo.
    let mut dave = net.phone("+15551230004", DeviceProfile::Android);
    assert!(matches!(
        dave.rejoin(&t.id, &t.group_info, Some(&t.ratchet_tree)),
        Err(ClientError::NotAMember)
    ));
    assert!(dave.conversations().unwrap().is_empty());
    // A GroupInfo of another conversation.
    let other = t
        .alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"other".to_vec(),
            },
            &[claim(BOB, &mut [&mut t.bob])],
        )
        .unwrap();
    t.alice.commit_accepted(&other).unwrap();
    let before = all(&t.carol_store);
    assert!(matches!(
        t.carol
            .rejoin(&t.id, &other.group_info, Some(&other.ratchet_tree)),
        Err(ClientError::InvalidRequest(_))
    ));
    // Not a GroupInfo at all.
    assert!(matches!(
        t.carol.rejoin(&t.id, &other.commit.envelope, None),
        Err(ClientError::Malformed(_))
    ));
    let welcome = other.welcome.unwrap();
    let body = wire::cpim::MlsEnvelope::decode(&welcome.envelope)
        .unwrap()
        .body;
    assert!(matches!(
        t.carol.rejoin(&t.id, &body, None),
        Err(ClientError::Malformed(_))
    ));
    assert_eq!(all(&t.carol_store), before);
    // A GroupInfo older than the state Carol holds (a replay) is refused.
    let p = t.alice.update_keys(&t.id).unwrap();
    accept(&mut t.alice, &p, &mut [&mut t.bob, &mut t.carol], &mut []);
    let before = all(&t.carol_store);
    assert!(matches!(
        t.carol.rejoin(&t.id, &t.group_info, Some(&t.ratchet_tree)),
        Err(ClientError::WrongEpoch {
            current: 2,
            received: 1
        })
    ));
    assert_eq!(all(&t.carol_store), before);
    // A removed member cannot come back by external commit.
    let p = t.alice.remove_participant(&t.id, &number(CAROL)).unwrap();
    accept(&mut t.alice, &p, &mut [&mut t.bob, &mut t.carol], &mut []);
    assert!(matches!(
        t.carol.rejoin(&t.id, &p.group_info, Some(&p.ratchet_tree)),
        Err(ClientError::NotAMember)
    ));
}

// ---- negative reports and resends -------------------------------------------

/// Bob's copy of a message is damaged so it does not decrypt.
fn damaged(envelope: &[u8]) -> Vec<u8> {
    let mut body = wire::cpim::MlsEnvelope::decode(envelope).unwrap().body;
    let i = body.len() - 3;
    body[i] ^= 0x40;
    with_body(envelope, body)
}

#[test]
fn report_resend_round_trip() {
    let net = Net::new();
    let mut t = trio(&net);
    let original = t.alice.send_text(&t.id, "important").unwrap();
    let m = original.outbound.clone();
    // Carol decrypts it; Bob's copy fails.
    assert_eq!(
        text_of(&t.carol.receive(&m.message_id, &m.envelope).unwrap()),
        "important"
    );
    let err = t
        .bob
        .receive(&m.message_id, &damaged(&m.envelope))
        .unwrap_err();
    let reason = err.rcc16_failure_reason().unwrap();
    assert_eq!(reason, 4);
    let report = t.bob.negative_report(&t.id, &m.message_id, reason).unwrap();
    assert_eq!(report.content_type, wire::content_type::IMDN);
    // Our own report echoed back is a duplicate.
    assert!(matches!(
        t.bob.receive(&report.message_id, &report.envelope),
        Err(ClientError::Replayed)
    ));

    let bob_sender = sender(BOB, &t.bob);
    match t
        .alice
        .receive(&report.message_id, &report.envelope)
        .unwrap()
    {
        Received::NegativeReport {
            conversation,
            failed_message_id,
            reason,
            reporter,
            sent_by_us,
        } => {
            assert_eq!(conversation, t.id);
            assert_eq!(failed_message_id, m.message_id);
            assert_eq!(
                reason,
                Some(FailureArm::Client(ClientReason::FailedToDecrypt))
            );
            assert_eq!(reporter, bob_sender);
            assert!(sent_by_us);
        }
        other => panic!("expected a report, got {other:?}"),
    }
    // Carol sees the report too, about a message she did not send.
    assert!(matches!(
        t.carol
            .receive(&report.message_id, &report.envelope)
            .unwrap(),
        Received::NegativeReport {
            sent_by_us: false,
            ..
        }
    ));
    assert!(matches!(
        t.carol.resend_after_report(&t.id, &m.message_id),
        Err(ClientError::OriginalUnavailable(_))
    ));

    let resent = t.alice.resend_after_report(&t.id, &m.message_id).unwrap();
    assert_ne!(resent.outbound.message_id, m.message_id);
    assert_eq!(resent.mimi_id, original.mimi_id);
    let r = resent.outbound;
    match t.bob.receive(&r.message_id, &r.envelope).unwrap() {
        Received::Message(msg) => {
            assert_eq!(msg.resend_of.as_deref(), Some(m.message_id.as_str()));
            assert_eq!(msg.sender, sender(ALICE, &t.alice));
            match &msg.content {
                ReceivedContent::Mimi { id, content } => {
                    assert_eq!(content.text_body(), Some("important"));
                    assert_eq!(Some(*id), original.mimi_id);
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("expected the resend, got {other:?}"),
    }
    // Carol had the original: no second message.
    match t.carol.receive(&r.message_id, &r.envelope).unwrap() {
        Received::Duplicate {
            original,
            message_id,
            ..
        } => {
            assert_eq!(original, m.message_id);
            assert_eq!(message_id, r.message_id);
        }
        other => panic!("expected a duplicate, got {other:?}"),
    }
    // The genuine original reaching Bob after all is not shown twice.
    assert!(matches!(
        t.bob.receive(&m.message_id, &m.envelope).unwrap(),
        Received::Duplicate { .. }
    ));
    assert_eq!(t.bob.undelivered().unwrap().len(), 1);
    // A report about the resend resends the original again, linked to it.
    let again = t.alice.resend_after_report(&t.id, &r.message_id).unwrap();
    match t
        .bob
        .receive(&again.outbound.message_id, &again.outbound.envelope)
    {
        Ok(Received::Duplicate { original, .. }) => assert_eq!(original, m.message_id),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    assert_healthy(
        &mut [
            ("alice", &mut t.alice),
            ("bob", &mut t.bob),
            ("carol", &mut t.carol),
        ],
        &t.id,
    );
}

#[test]
fn a_link_to_another_senders_message_suppresses_nothing() {
    let net = Net::new();
    let mut t = trio(&net);
    let m = t.alice.send_text(&t.id, "alice's").unwrap().outbound;
    // Carol claims to resend Alice's message before Bob gets it.
    let content = wire::mimi::MimiContent::text(t.carol.new_salt(), "carol's");
    let fake = t
        .carol
        .resend(&t.id, &m.message_id, Content::Mimi(content))
        .unwrap()
        .outbound;
    assert_eq!(
        text_of(&t.bob.receive(&fake.message_id, &fake.envelope).unwrap()),
        "carol's"
    );
    assert_eq!(
        text_of(&t.bob.receive(&m.message_id, &m.envelope).unwrap()),
        "alice's"
    );
}

/// Hands `bytes` to Alice under `transport_id`, expects a refusal, and
/// checks that her store did not change.
fn refused(
    alice: &mut Device,
    store: &MemoryStore,
    transport_id: &str,
    bytes: &[u8],
    expect: impl Fn(&ClientError) -> bool,
) {
    let before = all(store);
    let err = alice
        .receive(transport_id, bytes)
        .expect_err("forged report accepted");
    assert!(expect(&err), "unexpected error: {err:?}");
    assert_eq!(all(store), before, "refusal changed the store ({err:?})");
}

fn reframed(report: &Outbound, edit: impl FnOnce(&mut ReceiptEnvelope)) -> Vec<u8> {
    let mut envelope = ReceiptEnvelope::decode(&report.envelope).unwrap();
    edit(&mut envelope);
    envelope.encode()
}

#[test]
fn forged_and_replayed_reports_are_refused() {
    let net = Net::new();
    let mut t = trio(&net);
    let m = t.alice.send_text(&t.id, "x").unwrap().outbound;
    let report = t.bob.negative_report(&t.id, &m.message_id, 4).unwrap();
    let store = t.alice_store.clone();
    let report_refused = |r: ReportRefusal| move |e: &ClientError| matches!(e, ClientError::ReportRefused(x) if *x == r);

    // A damaged signature.
    let forged = reframed(&report, |e| {
        let last = e.signature.len() - 1;
        e.signature[last] ^= 1;
    });
    refused(
        &mut t.alice,
        &store,
        &report.message_id,
        &forged,
        report_refused(ReportRefusal::BadSignature),
    );
    // Not an MLS message at all.
    let forged = reframed(&report, |e| e.signature = vec![0xff; 8]);
    refused(
        &mut t.alice,
        &store,
        &report.message_id,
        &forged,
        report_refused(ReportRefusal::BadSignature),
    );
    // The plaintext changed: another failed message, another reason, no
    // reason.
    let forged = reframed(&report, |e| e.imdn.message_id = "other".into());
    refused(
        &mut t.alice,
        &store,
        &report.message_id,
        &forged,
        report_refused(ReportRefusal::ContentMismatch),
    );
    for arm in [Some(FailureArm::Client(ClientReason::InvalidCommit)), None] {
        let forged = reframed(&report, |e| {
            e.imdn.notification =
                wire::imdn::Notification::Delivery(wire::imdn::DeliveryStatus::Failed(arm))
        });
        refused(
            &mut t.alice,
            &store,
            &report.message_id,
            &forged,
            report_refused(ReportRefusal::ContentMismatch),
        );
    }
    // Another era in the header.
    let forged = reframed(&report, |e| e.era = 2);
    refused(&mut t.alice, &store, &report.message_id, &forged, |e| {
        matches!(
            e,
            ClientError::WrongEra {
                expected: 1,
                received: 2
            }
        )
    });
    // Garbage body, transport id mismatch.
    let mut garbage = wire::cpim::Message::decode(&report.envelope).unwrap();
    garbage.body = b"<imdn/>".to_vec();
    garbage
        .content_headers
        .retain(|h| h.name != "Content-Length");
    refused(
        &mut t.alice,
        &store,
        &report.message_id,
        &garbage.encode(),
        |e| matches!(e, ClientError::Report(_)),
    );
    refused(&mut t.alice, &store, "another-id", &report.envelope, |e| {
        matches!(e, ClientError::MessageIdMismatch { .. })
    });

    // A genuinely signed report from a non-member: Dave has his own group
    // under the same id.
    let mut dave = net.phone("+15551230004", DeviceProfile::Android);
    let mut erin = net.phone("+15551230005", DeviceProfile::Android);
    let p = dave
        .create_conversation(
            NewConversation::Group {
                group_id: b"00000000-0000-4000-8000-000000000c01".to_vec(),
            },
            &[claim("+15551230005", &mut [&mut erin])],
        )
        .unwrap();
    dave.commit_accepted(&p).unwrap();
    let outsider = dave.negative_report(&t.id, &m.message_id, 4).unwrap();
    refused(
        &mut t.alice,
        &store,
        &outsider.message_id,
        &outsider.envelope,
        report_refused(ReportRefusal::BadSignature),
    );

    // The genuine report once; then it is a replay.
    assert!(matches!(
        t.alice
            .receive(&report.message_id, &report.envelope)
            .unwrap(),
        Received::NegativeReport { .. }
    ));
    refused(
        &mut t.alice,
        &store,
        &report.message_id,
        &report.envelope,
        |e| matches!(e, ClientError::Replayed),
    );

    // Reports outside the time window.
    let late = t.bob.negative_report(&t.id, &m.message_id, 0).unwrap();
    net.clock.advance(31 * 86_400);
    refused(
        &mut t.alice,
        &store,
        &late.message_id,
        &late.envelope,
        report_refused(ReportRefusal::Timestamp),
    );
    let early = t.bob.negative_report(&t.id, &m.message_id, 0).unwrap();
    net.clock.set(T0 + 31 * 86_400 - 600);
    refused(
        &mut t.alice,
        &store,
        &early.message_id,
        &early.envelope,
        report_refused(ReportRefusal::Timestamp),
    );

    // Reports are never answered with reports.
    assert_eq!(
        ClientError::ReportRefused(ReportRefusal::BadSignature).rcc16_failure_reason(),
        None
    );
    // Bad arguments: 6 is never sent (Google's decoder throws on it).
    assert!(matches!(
        t.bob.negative_report(&t.id, &m.message_id, 6),
        Err(ClientError::InvalidRequest(_))
    ));
    assert!(matches!(
        t.bob.negative_report(&t.id, "has space", 4),
        Err(ClientError::InvalidRequest(_))
    ));
}

#[test]
fn signed_positive_receipts_and_state_unchanged() {
    let net = Net::new();
    let mut t = trio(&net);
    let m = t.alice.send_text(&t.id, "x").unwrap().outbound;
    t.bob.receive(&m.message_id, &m.envelope).unwrap();
    // Signing leaves Bob's stored group untouched (no pending proposal):
    // only the receipt's own id joins the replay ledger.
    let before = rows(&t.bob_store, &[Table::GroupState, Table::Epoch]);
    let delivered = t.bob.delivery_receipt(&t.id, &m.message_id).unwrap();
    let displayed = t.bob.display_receipt(&t.id, &m.message_id).unwrap();
    assert_eq!(
        rows(&t.bob_store, &[Table::GroupState, Table::Epoch]),
        before
    );
    assert_eq!(delivered.content_type, wire::content_type::IMDN);
    // The signature is a PublicMessage of Bob's leaf in the current epoch,
    // an rcs_signature proposal whose authenticated_data is the derived
    // content of the receipt; the proposal body is empty on the wire (the
    // 0xF002 type is followed by the signature's length, not by a `00`).
    let envelope = ReceiptEnvelope::decode(&delivered.envelope).unwrap();
    let derived =
        wire::report::DerivedContent::of(&delivered.message_id, 1, &envelope.imdn).encode();
    let signature = mls_rs::MlsMessage::from_bytes(&envelope.signature).unwrap();
    match signature.description() {
        mls_rs::MlsMessageDescription::PublicProtocolMessage {
            group_id,
            epoch_id,
            content_type,
            sender,
            authenticated_data,
        } => {
            assert_eq!(group_id, t.id.as_bytes());
            assert_eq!(epoch_id, 1);
            assert_eq!(content_type, mls_rs::group::ContentType::Proposal);
            assert!(matches!(sender, mls_rs::group::Sender::Member(_)));
            assert_eq!(authenticated_data, &derived[..]);
        }
        other => panic!("not a PublicMessage: {other:?}"),
    }
    let at = envelope
        .signature
        .windows(derived.len())
        .position(|w| w == &derived[..])
        .unwrap()
        + derived.len();
    assert_eq!(&envelope.signature[at..at + 3], &[0x02, 0xf0, 0x02]);
    assert_ne!(envelope.signature[at + 3], 0x00);
    let bob_sender = sender(BOB, &t.bob);
    for (r, expected) in [
        (
            &delivered,
            wire::imdn::Notification::Delivery(wire::imdn::DeliveryStatus::Delivered),
        ),
        (
            &displayed,
            wire::imdn::Notification::Display(wire::imdn::DisplayStatus::Displayed),
        ),
    ] {
        match t.alice.receive(&r.message_id, &r.envelope).unwrap() {
            Received::Receipt(ReceiptEvent {
                conversation,
                receipt_message_id,
                message_id,
                notification,
                sender,
                sent_by_us,
            }) => {
                assert_eq!(conversation, t.id);
                assert_eq!(receipt_message_id, r.message_id);
                assert_eq!(message_id, m.message_id);
                assert_eq!(notification, expected);
                assert_eq!(sender, bob_sender);
                assert!(sent_by_us);
            }
            other => panic!("expected a receipt, got {other:?}"),
        }
    }
    // A receipt signed before a commit still verifies after it (the epoch
    // it names is kept), and a later commit still works for Bob (no stray
    // proposal in his group).
    let late = t.carol.delivery_receipt(&t.id, &m.message_id).unwrap();
    let update = t.bob.update_keys(&t.id).unwrap();
    t.bob.commit_accepted(&update).unwrap();
    t.alice
        .receive(&update.commit.message_id, &update.commit.envelope)
        .unwrap();
    t.carol
        .receive(&update.commit.message_id, &update.commit.envelope)
        .unwrap();
    assert!(matches!(
        t.alice.receive(&late.message_id, &late.envelope).unwrap(),
        Received::Receipt(_)
    ));
    assert_healthy(
        &mut [
            ("alice", &mut t.alice),
            ("bob", &mut t.bob),
            ("carol", &mut t.carol),
        ],
        &t.id,
    );
}

#[test]
fn resend_limit_and_unavailable_originals() {
    let net = Net::new();
    let mut t = trio(&net);
    let m = t
        .alice
        .send_text(&t.id, "again and again")
        .unwrap()
        .outbound;
    let mut last = m.message_id.clone();
    for i in 0..MAX_RESENDS {
        // Reports may name the original or one of its resends.
        let failed = if i % 2 == 0 { &m.message_id } else { &last };
        let sent = t.alice.resend_after_report(&t.id, failed).unwrap().outbound;
        let shown = t.bob.receive(&sent.message_id, &sent.envelope).unwrap();
        if i == 0 {
            assert_eq!(text_of(&shown), "again and again");
        } else {
            assert!(matches!(shown, Received::Duplicate { .. }));
        }
        last = sent.message_id;
    }
    let before = all(&t.alice_store);
    for failed in [&m.message_id, &last] {
        match t.alice.resend_after_report(&t.id, failed) {
            Err(ClientError::ResendLimit { original, limit }) => {
                assert_eq!(original, m.message_id);
                assert_eq!(limit, 5);
            }
            other => panic!("expected the resend limit, got {other:?}"),
        }
    }
    assert_eq!(all(&t.alice_store), before);

    // Unknown ids, typing indicators (not kept) and old messages.
    assert!(matches!(
        t.alice.resend_after_report(&t.id, "never-sent"),
        Err(ClientError::OriginalUnavailable(_))
    ));
    let typing = t.alice.send_typing(&t.id, true).unwrap().outbound;
    assert!(matches!(
        t.alice.resend_after_report(&t.id, &typing.message_id),
        Err(ClientError::OriginalUnavailable(_))
    ));
    let old = t.alice.send_text(&t.id, "old").unwrap().outbound;
    net.clock.advance(EpochRetention::default().seconds + 1);
    assert!(matches!(
        t.alice.resend_after_report(&t.id, &old.message_id),
        Err(ClientError::OriginalUnavailable(_))
    ));
    t.alice.maintenance().unwrap();
    assert!(rows(&t.alice_store, &[Table::Sent]).is_empty());
}

// ---- new era ----------------------------------------------------------------

#[test]
fn new_era_end_to_end() {
    let net = Net::new();
    let mut t = trio(&net);
    let old = t.alice.send_text(&t.id, "era 1").unwrap().outbound;
    let old_commit = t.bob.update_keys(&t.id).unwrap();
    t.bob.commit_rejected(&old_commit).unwrap();

    // Refused by the server: nothing changed.
    let before = all(&t.alice_store);
    let claims = |t: &mut Trio| {
        [
            claim(BOB, &mut [&mut t.bob]),
            claim(CAROL, &mut [&mut t.carol]),
        ]
    };
    let c = claims(&mut t);
    let refused_era = t.alice.new_era(&t.id, &c).unwrap();
    assert!(!refused_era.external);
    assert_eq!(t.alice.security_state(&t.id).unwrap().era, 1);
    assert!(matches!(
        t.alice.update_keys(&t.id),
        Err(ClientError::CommitPending)
    ));
    t.alice.commit_rejected(&refused_era).unwrap();
    assert_eq!(all(&t.alice_store), before);
    assert_healthy(&mut [("alice", &mut t.alice), ("bob", &mut t.bob)], &t.id);
    assert!(t.carol.receive(&old.message_id, &old.envelope).is_ok());

    // Accepted.
    let c = claims(&mut t);
    let pending = t.alice.new_era(&t.id, &c).unwrap();
    t.alice.commit_accepted(&pending).unwrap();
    let state = t.alice.security_state(&t.id).unwrap();
    assert_eq!((state.era, state.epoch), (2, 1));
    let welcome = pending.welcome.clone().unwrap();
    for d in [&mut t.bob, &mut t.carol] {
        match d
            .receive_with_tree(
                &welcome.message_id,
                &welcome.envelope,
                Some(&pending.ratchet_tree),
            )
            .unwrap()
        {
            Received::Joined {
                conversation,
                replaced_era,
                ..
            } => {
                assert_eq!(conversation, t.id);
                assert_eq!(replaced_era, Some(1));
            }
            other => panic!("expected Joined, got {other:?}"),
        }
        let s = d.security_state(&t.id).unwrap();
        assert_eq!((s.era, s.epoch), (2, 1));
        assert_eq!(s.members.len(), 3);
    }
    // The old era is over: its messages, commits and GroupInfo are refused.
    let bob_before = all(&t.bob_store);
    assert!(matches!(
        t.bob.receive(&old.message_id, &old.envelope),
        Err(ClientError::WrongEra {
            expected: 2,
            received: 1
        })
    ));
    assert!(matches!(
        t.carol
            .receive(&old_commit.commit.message_id, &old_commit.commit.envelope),
        Err(ClientError::WrongEra {
            expected: 2,
            received: 1
        })
    ));
    assert!(matches!(
        t.bob.rejoin(&t.id, &t.group_info, Some(&t.ratchet_tree)),
        Err(ClientError::WrongEra {
            expected: 2,
            received: 1
        })
    ));
    assert_eq!(all(&t.bob_store), bob_before);
    // The same Welcome again does not replace anything (its KeyPackage is
    // spent, and its era is not newer).
    assert!(
        t.carol
            .receive_with_tree(
                &welcome.message_id,
                &welcome.envelope,
                Some(&pending.ratchet_tree)
            )
            .is_err()
    );

    assert_healthy(
        &mut [
            ("alice", &mut t.alice),
            ("bob", &mut t.bob),
            ("carol", &mut t.carol),
        ],
        &t.id,
    );
    // Commits in the new era (prior epochs of the old era are gone).
    for _ in 0..2 {
        let p = t.carol.update_keys(&t.id).unwrap();
        accept(&mut t.carol, &p, &mut [&mut t.alice, &mut t.bob], &mut []);
    }
    // A rejoin in the new era works from its GroupInfo.
    let p = t.bob.update_keys(&t.id).unwrap();
    accept(&mut t.bob, &p, &mut [&mut t.alice], &mut []);
    let rejoin = t
        .carol
        .rejoin(&t.id, &p.group_info, Some(&p.ratchet_tree))
        .unwrap();
    t.carol.commit_accepted(&rejoin).unwrap();
    for d in [&mut t.alice, &mut t.bob] {
        d.receive(&rejoin.commit.message_id, &rejoin.commit.envelope)
            .unwrap();
    }
    assert_healthy(
        &mut [
            ("alice", &mut t.alice),
            ("bob", &mut t.bob),
            ("carol", &mut t.carol),
        ],
        &t.id,
    );
}

/// The deployed resend link forms a receiver reads (fact sheet §3a/§3c,
/// RCV-RESEND-2): the authenticated `0x02` link alone (header stripped) is
/// shown as a resend of the named original; a bare
/// `mls.Original-Message-ID` header on a message without a link names
/// nothing (nothing authenticates it) and the message is shown as itself.
#[test]
fn resends_are_read_from_the_link_and_never_from_the_header_alone() {
    let net = Net::new();
    let mut t = trio(&net);
    let lost = t.alice.send_text(&t.id, "lost").unwrap().outbound;
    let resent = t
        .alice
        .resend_after_report(&t.id, &lost.message_id)
        .unwrap()
        .outbound;
    let mut envelope = wire::cpim::MlsEnvelope::decode(&resent.envelope).unwrap();
    assert_eq!(
        envelope.original_message_id.as_deref(),
        Some(lost.message_id.as_str())
    );
    envelope.original_message_id = None;
    match t
        .bob
        .receive(&resent.message_id, &envelope.encode())
        .unwrap()
    {
        Received::Message(m) => {
            assert_eq!(m.resend_of.as_deref(), Some(lost.message_id.as_str()));
        }
        other => panic!("{other:?}"),
    }
    // A message with no link, named a resend only by its header: not a
    // resend (the server could have written the header).
    let first = t.alice.send_text(&t.id, "first").unwrap().outbound;
    let plain = t.alice.send_text(&t.id, "again").unwrap().outbound;
    let mut envelope = wire::cpim::MlsEnvelope::decode(&plain.envelope).unwrap();
    envelope.original_message_id = Some(first.message_id.clone());
    match t
        .carol
        .receive(&plain.message_id, &envelope.encode())
        .unwrap()
    {
        Received::Message(m) => assert_eq!(m.resend_of, None),
        other => panic!("{other:?}"),
    }
}

/// An original whose id predates the deployed id forms (22 base64url
/// characters) is named by the authenticated link alone: receivers refuse
/// such an id in `mls.Original-Message-ID` (RCV-MSGID-1).
#[test]
fn a_resend_of_an_old_form_id_carries_the_link_only() {
    let net = Net::new();
    let mut t = trio(&net);
    let old = "AAECAwQFRgeICQoLDA0ODw";
    let again = wire::mimi::MimiContent::text(t.alice.new_salt(), "again");
    let resent = t
        .alice
        .resend(&t.id, old, Content::Mimi(again))
        .unwrap()
        .outbound;
    let envelope = wire::cpim::MlsEnvelope::decode(&resent.envelope).unwrap();
    assert_eq!(envelope.original_message_id, None);
    match t.bob.receive(&resent.message_id, &resent.envelope).unwrap() {
        Received::Message(m) => assert_eq!(m.resend_of.as_deref(), Some(old)),
        other => panic!("{other:?}"),
    }
}
