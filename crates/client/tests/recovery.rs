//! The RCC.16 recovery ladder end to end: rejoin by external commit,
//! signed negative delivery reports, resends linked to the original, and
//! a new era. Deterministic (manual clock, seeded ids).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use std::sync::Arc;

use common::*;
use crosslock_client::keystore::SoftwareKeyStore;
use crosslock_client::store::{MemoryStore, StateStore, Table, Write, WriteBatch};
use crosslock_client::wire::report::{FailureReason, ReportEnvelope};
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

    let pending = carol.rejoin(&t.id, &t.group_info).unwrap();
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
    let mut latest = t.group_info.clone();
    for _ in 0..2 {
        let p = t.alice.update_keys(&t.id).unwrap();
        accept(&mut t.alice, &p, &mut [&mut t.bob], &mut []);
        latest = p.group_info;
    }
    let m = t.alice.send_text(&t.id, "epoch 3").unwrap().outbound;
    assert!(matches!(
        t.carol.receive(&m.message_id, &m.envelope),
        Err(ClientError::WrongEpoch { .. })
    ));
    let before = rows(&t.carol_store, &[Table::GroupState, Table::Epoch]);
    let everything = all(&t.carol_store);

    // Rejoin, refused by the server: nothing changed at all.
    let refused = t.carol.rejoin(&t.id, &latest).unwrap();
    assert_eq!(
        rows(&t.carol_store, &[Table::GroupState, Table::Epoch]),
        before
    );
    assert!(matches!(
        t.carol.rejoin(&t.id, &latest),
        Err(ClientError::CommitPending)
    ));
    t.carol.commit_rejected(&refused).unwrap();
    assert_eq!(all(&t.carol_store), everything);

    // Again, surviving a restart before the verdict; the server echoes the
    // commit back instead of answering.
    let pending = t.carol.rejoin(&t.id, &latest).unwrap();
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
    let rejoin = bob.rejoin(&id, &pending.group_info).unwrap();
    // Refused: the record made for the rejoin goes away again.
    bob.commit_rejected(&rejoin).unwrap();
    assert!(bob.conversations().unwrap().is_empty());
    let rejoin = bob.rejoin(&id, &pending.group_info).unwrap();
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
        dave.rejoin(&t.id, &t.group_info),
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
        t.carol.rejoin(&t.id, &other.group_info),
        Err(ClientError::InvalidRequest(_))
    ));
    // Not a GroupInfo at all.
    assert!(matches!(
        t.carol.rejoin(&t.id, &other.commit.envelope),
        Err(ClientError::Malformed(_))
    ));
    let welcome = other.welcome.unwrap();
    let body = wire::cpim::MlsEnvelope::decode(&welcome.envelope)
        .unwrap()
        .body;
    assert!(matches!(
        t.carol.rejoin(&t.id, &body),
        Err(ClientError::Malformed(_))
    ));
    assert_eq!(all(&t.carol_store), before);
    // A GroupInfo older than the state Carol holds (a replay) is refused.
    let p = t.alice.update_keys(&t.id).unwrap();
    accept(&mut t.alice, &p, &mut [&mut t.bob, &mut t.carol], &mut []);
    let before = all(&t.carol_store);
    assert!(matches!(
        t.carol.rejoin(&t.id, &t.group_info),
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
        t.carol.rejoin(&t.id, &p.group_info),
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
    assert_eq!(report.content_type, wire::content_type::NEGATIVE_REPORT);
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
            assert_eq!(reason, FailureReason::FailedToDecrypt);
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

fn reframed(report: &Outbound, edit: impl FnOnce(&mut ReportEnvelope)) -> Vec<u8> {
    let mut envelope = ReportEnvelope::decode(&report.envelope).unwrap();
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

    // Wrong signature.
    let forged = reframed(&report, |e| {
        let last = e.report.signature.len() - 1;
        e.report.signature[last] ^= 1;
    });
    refused(
        &mut t.alice,
        &store,
        &report.message_id,
        &forged,
        report_refused(ReportRefusal::BadSignature),
    );
    // Signed content changed: another failed message, another reason.
    let forged = reframed(&report, |e| {
        e.report.report.failed_message_id = "other".into()
    });
    refused(
        &mut t.alice,
        &store,
        &report.message_id,
        &forged,
        report_refused(ReportRefusal::BadSignature),
    );
    let forged = reframed(&report, |e| {
        e.report.report.reason = FailureReason::InvalidCommit
    });
    refused(
        &mut t.alice,
        &store,
        &report.message_id,
        &forged,
        report_refused(ReportRefusal::BadSignature),
    );
    // Claims to come from Carol's device, with Bob's chain and signature.
    let carol_device = t.carol.device_id().to_owned();
    let forged = reframed(&report, |e| {
        e.report.report.reporter_number = CAROL.into();
        e.report.report.reporter_device = carol_device;
    });
    refused(
        &mut t.alice,
        &store,
        &report.message_id,
        &forged,
        report_refused(ReportRefusal::CredentialMismatch),
    );
    // Another era, another (unknown) group.
    let forged = reframed(&report, |e| e.report.report.era = 2);
    refused(&mut t.alice, &store, &report.message_id, &forged, |e| {
        matches!(
            e,
            ClientError::WrongEra {
                expected: 1,
                received: 2
            }
        )
    });
    let forged = reframed(&report, |e| {
        e.report.report.group_id = b"elsewhere".to_vec()
    });
    refused(&mut t.alice, &store, &report.message_id, &forged, |e| {
        matches!(e, ClientError::UnknownConversation)
    });
    // Garbage body, transport id mismatch.
    let mut garbage = wire::cpim::Message::decode(&report.envelope).unwrap();
    garbage.body = vec![0x82, 0xff];
    garbage.content_headers.truncate(1);
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
        report_refused(ReportRefusal::NotAMember),
    );

    // The genuine report once; then it is a replay, under any transport id.
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
    let renamed = reframed(&report, |e| e.message_id = "renamed".into());
    refused(&mut t.alice, &store, "renamed", &renamed, |e| {
        matches!(e, ClientError::Replayed)
    });

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
    // Bad arguments.
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
        match d.receive(&welcome.message_id, &welcome.envelope).unwrap() {
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
        t.bob.rejoin(&t.id, &t.group_info),
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
            .receive(&welcome.message_id, &welcome.envelope)
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
    let rejoin = t.carol.rejoin(&t.id, &p.group_info).unwrap();
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
