//! A conversation where one member runs the deployed RCC.16 profile alone
//! (no Crosslock capability, like Google Messages or Apple Messages) and
//! the others are full Crosslock devices: everything still works, in the
//! deployed formats, and every member's app is told which formats the
//! conversation speaks (WIRE-NEG-1/2, docs/rcc16-conformance.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use crosslock_client::store::{MemoryStore, StateStore};
use crosslock_client::wire::imdn::{DisplayStatus, Notification};
use crosslock_client::wire::inner::ApplicationPayload;
use crosslock_client::wire::mimi::MimiContent;
use crosslock_client::*;
use std::sync::Arc;

const ALICE: &str = "+15551230001";
const BOB: &str = "+15551230002";
const DAVE: &str = "+15551230004";

/// A device of the deployed profile alone.
fn deployed_phone(net: &Net, n: &str) -> Device {
    let mut config = dev_config();
    config.crosslock_extras = false;
    net.phone_with(n, DeviceProfile::Ios, config)
}

fn plain_text(r: &Received) -> String {
    match r {
        Received::Message(m) => match &m.content {
            ReceivedContent::Text(t) => t.clone(),
            other => panic!("expected text/plain, got {other:?}"),
        },
        other => panic!("not a message: {other:?}"),
    }
}

/// Alice and Bob (Crosslock) and Dave (deployed profile) in one group.
fn mixed_group(net: &Net) -> (Device, Device, Device, ConversationId) {
    mixed_group_in(net, Arc::new(MemoryStore::new()))
}

fn mixed_group_in(
    net: &Net,
    store: Arc<dyn StateStore>,
) -> (Device, Device, Device, ConversationId) {
    let mut alice = net.phone_in(store, ALICE, DeviceProfile::Android, dev_config());
    let mut bob = net.phone(BOB, DeviceProfile::Ios);
    let mut dave = deployed_phone(net, DAVE);
    let claims = [claim(BOB, &mut [&mut bob]), claim(DAVE, &mut [&mut dave])];
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: Vec::new(),
            },
            &claims,
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob, &mut dave]);
    (alice, bob, dave, pending.conversation)
}

#[test]
fn every_member_sees_the_deployed_profile_and_texts_travel_as_text_plain() {
    let net = Net::new();
    let (mut alice, mut bob, mut dave, id) = mixed_group(&net);
    for d in [&mut alice, &mut bob, &mut dave] {
        assert_eq!(d.wire_profile(&id).unwrap(), WireProfile::Deployed);
        assert_eq!(
            d.security_state(&id).unwrap().wire_profile,
            WireProfile::Deployed
        );
    }

    // A Crosslock member's text is a framed text/plain body.
    let sent = alice.send_text(&id, "hello from Android").unwrap();
    let got = deliver(&sent.outbound, &mut [&mut bob, &mut dave]);
    assert_eq!(plain_text(&got[0]), "hello from Android");
    assert_eq!(plain_text(&got[1]), "hello from Android");
    assert!(sent.mimi_id.is_none());

    // And the deployed member's text reaches both Crosslock members.
    let reply = dave.send_text(&id, "hi from the stock app").unwrap();
    let got = deliver(&reply.outbound, &mut [&mut alice, &mut bob]);
    assert_eq!(plain_text(&got[0]), "hi from the stock app");
    assert_eq!(plain_text(&got[1]), "hi from the stock app");
}

#[test]
fn crosslock_extras_are_refused_and_change_nothing() {
    let net = Net::new();
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let (mut alice, _bob, _dave, id) = mixed_group_in(&net, store.clone());
    let before = snapshot(store.as_ref());
    let reaction = MimiContent::reaction(alice.new_salt(), [7; 32].into(), "👍");
    for result in [
        alice.send(&id, Content::Mimi(reaction)),
        alice.send_typing(&id, true),
        alice.send_status(&id, Vec::new()),
    ] {
        assert!(
            matches!(result, Err(ClientError::NotNegotiated { .. })),
            "{result:?}"
        );
    }
    // Transparency gossip is a Crosslock extra too: nothing to send.
    assert!(alice.send_transparency_gossip(&id).unwrap().is_none());
    assert_eq!(snapshot(store.as_ref()), before);
}

#[test]
fn read_receipts_are_signed_imdns_every_member_verifies() {
    let net = Net::new();
    let (mut alice, mut bob, mut dave, id) = mixed_group(&net);
    let sent = dave.send_text(&id, "are you there?").unwrap();
    deliver(&sent.outbound, &mut [&mut alice, &mut bob]);

    let receipt = alice
        .display_receipt(&id, &sent.outbound.message_id)
        .unwrap();
    for d in [&mut dave, &mut bob] {
        match d.receive(&receipt.message_id, &receipt.envelope).unwrap() {
            Received::Receipt(r) => {
                assert_eq!(r.message_id, sent.outbound.message_id);
                assert_eq!(r.sender.number, number(ALICE));
                assert!(matches!(
                    r.notification,
                    Notification::Display(DisplayStatus::Displayed)
                ));
            }
            other => panic!("expected a receipt, got {other:?}"),
        }
    }
}

#[test]
fn removing_the_deployed_member_turns_the_extras_on() {
    let net = Net::new();
    let (mut alice, mut bob, mut dave, id) = mixed_group(&net);
    let pending = alice.remove_participant(&id, &number(DAVE)).unwrap();
    accept(&mut alice, &pending, &mut [&mut bob, &mut dave], &mut []);
    for d in [&mut alice, &mut bob] {
        assert_eq!(d.wire_profile(&id).unwrap(), WireProfile::CrosslockExtras);
    }
    // Texts are MIMI content again; typing travels encrypted.
    let sent = alice.send_text(&id, "just us now").unwrap();
    assert!(sent.mimi_id.is_some());
    assert_eq!(
        text_of(&deliver(&sent.outbound, &mut [&mut bob])[0]),
        "just us now"
    );
    let typing = bob.send_typing(&id, true).unwrap();
    assert!(matches!(
        alice
            .receive(&typing.outbound.message_id, &typing.outbound.envelope)
            .unwrap(),
        Received::Typing { .. }
    ));
}

#[test]
fn a_text_plain_body_is_framed_as_deployed_clients_frame_it() {
    // The bytes a deployed peer decodes: version 1, format 1, the sender
    // generation, then the MIME entity (fact sheet §3b).
    let payload = ApplicationPayload::new("text/plain", b"hi".to_vec());
    let framed = payload.encode(3);
    assert_eq!(&framed[..8], &[0, 1, 0, 1, 0, 0, 0, 3]);
    let text = String::from_utf8_lossy(&framed[9..]);
    assert!(text.contains("Content-Type: text/plain;charset=UTF-8\r\n"));
    assert!(text.ends_with("\r\n\r\nhi"));
}

/// WIRE-NEG-3: the commit that changes a conversation's profile says so to
/// every member's app, both ways; a commit that keeps it says nothing.
#[test]
fn the_commit_that_changes_the_profile_tells_every_member() {
    let net = Net::new();
    let mut alice = net.phone(ALICE, DeviceProfile::Android);
    let mut bob = net.phone(BOB, DeviceProfile::Ios);
    let mut carol = net.phone("+15551230003", DeviceProfile::Android);
    let mut dave = deployed_phone(&net, DAVE);
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: Vec::new(),
            },
            &[claim(BOB, &mut [&mut bob])],
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob]);
    let id = pending.conversation;
    let changed = |d: &mut Device, p: &PendingCommit| -> Option<WireProfile> {
        match d.receive(&p.commit.message_id, &p.commit.envelope).unwrap() {
            Received::Commit(c) => c.wire_profile_changed,
            other => panic!("{other:?}"),
        }
    };

    // Another Crosslock device: no change.
    let add = alice
        .add_participants(&id, &[claim("+15551230003", &mut [&mut carol])])
        .unwrap();
    alice.commit_accepted(&add).unwrap();
    assert_eq!(changed(&mut bob, &add), None);
    let w = add.welcome.as_ref().unwrap();
    carol
        .receive_with_tree(&w.message_id, &w.envelope, Some(&add.ratchet_tree))
        .unwrap();

    // Dave, deployed profile alone, joins: the extras stop.
    let add = alice
        .add_participants(&id, &[claim(DAVE, &mut [&mut dave])])
        .unwrap();
    alice.commit_accepted(&add).unwrap();
    assert_eq!(changed(&mut bob, &add), Some(WireProfile::Deployed));
    assert_eq!(changed(&mut carol, &add), Some(WireProfile::Deployed));
    let w = add.welcome.as_ref().unwrap();
    dave.receive_with_tree(&w.message_id, &w.envelope, Some(&add.ratchet_tree))
        .unwrap();

    // Bob removes Dave: the extras are back, and Alice hears it too.
    let removal = bob.remove_participant(&id, &number(DAVE)).unwrap();
    bob.commit_accepted(&removal).unwrap();
    assert_eq!(
        changed(&mut alice, &removal),
        Some(WireProfile::CrosslockExtras)
    );
    assert_eq!(
        changed(&mut carol, &removal),
        Some(WireProfile::CrosslockExtras)
    );
    // Dave, removed, is told he was removed, not about a profile.
    match dave
        .receive(&removal.commit.message_id, &removal.commit.envelope)
        .unwrap()
    {
        Received::Commit(c) => {
            assert!(c.removed_self);
            assert_eq!(c.wire_profile_changed, None);
        }
        other => panic!("{other:?}"),
    }
}
