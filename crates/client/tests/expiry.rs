//! CRED-EXP-1..3: a member whose credential expired is removed by the
//! next commit any other member makes, and cannot speak meanwhile.
//!
//! Carol's phone is made on day 0, Alice's and Bob's on day 40 (their
//! credentials last until day 115): on day 76 Carol's credential (75 days)
//! has expired and theirs have not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use std::sync::Arc;

use common::*;
use crosslock_client::credential::CredentialError;
use crosslock_client::env::{Clock, Environment, ManualClock, SeededEntropy};
use crosslock_client::keystore::SoftwareKeyStore;
use crosslock_client::store::MemoryStore;
use crosslock_client::*;

const ALICE: &str = "+15551230001";
const BOB: &str = "+15551230002";
const CAROL: &str = "+15551230003";
const DAVE: &str = "+15551230004";
const DAY: u64 = 86_400;

/// Carol's phone, on a clock of its own (one that lags, or a client that
/// ignores its clock): made on day 0 like her credential.
fn lagging_carol(clock: &Arc<ManualClock>) -> (Device, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let keystore = Arc::new(SoftwareKeyStore::new(store.clone()));
    let device = Device::create(
        store.clone(),
        keystore,
        NewDevice {
            number: number(CAROL),
            profile: DeviceProfile::Android,
        },
        dev_config(),
        Environment {
            clock: clock.clone(),
            entropy: Arc::new(SeededEntropy::new(999_983)),
        },
    )
    .unwrap();
    (device, store)
}

struct World {
    net: Net,
    carol_clock: Arc<ManualClock>,
    alice: Device,
    bob: Device,
    carol: Device,
    bob_store: Arc<MemoryStore>,
    id: ConversationId,
}

/// Day 76: the group of Alice, Bob and Carol, made on day 40; Carol's
/// credential expired on day 75, her phone's clock says day 74.
fn world() -> World {
    let net = Net::new();
    let carol_clock = Arc::new(ManualClock::new(T0));
    let (mut carol, _) = lagging_carol(&carol_clock);
    net.clock.advance(40 * DAY);
    carol_clock.advance(40 * DAY);
    let mut alice = net.phone(ALICE, DeviceProfile::Android);
    let bob_store = Arc::new(MemoryStore::new());
    let mut bob = net.phone_in(bob_store.clone(), BOB, DeviceProfile::Ios, dev_config());
    let claims = [claim(BOB, &mut [&mut bob]), claim(CAROL, &mut [&mut carol])];
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: Vec::new(),
            },
            &claims,
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob, &mut carol]);
    net.clock.advance(36 * DAY);
    carol_clock.advance(34 * DAY);
    World {
        net,
        carol_clock,
        alice,
        bob,
        carol,
        bob_store,
        id: pending.conversation,
    }
}

fn numbers(d: &mut Device, id: &ConversationId) -> Vec<String> {
    d.security_state(id)
        .unwrap()
        .members
        .keys()
        .map(|n| n.as_str().to_owned())
        .collect()
}

/// The expired device cannot speak: its own client refuses to send or
/// commit once its clock knows (CRED-EXP-2), and when its clock lags (or
/// its client does not care) every member refuses what it sends
/// (CRED-EXP-3, RCC.16 reason 2), changing nothing.
#[test]
fn an_expired_member_cannot_speak() {
    let mut w = world();
    let sent = w
        .carol
        .send_text(&w.id, "from an expired credential")
        .unwrap();
    let before = snapshot(w.bob_store.as_ref());
    let refused = w
        .bob
        .receive(&sent.outbound.message_id, &sent.outbound.envelope);
    match refused {
        Err(e @ ClientError::Credential(CredentialError::Expired { .. })) => {
            assert_eq!(e.rcc16_failure_reason(), Some(2));
        }
        other => panic!("accepted from an expired credential: {other:?}"),
    }
    assert_eq!(snapshot(w.bob_store.as_ref()), before);

    // Carol's clock catches up: her client refuses by itself.
    w.carol_clock.set(w.net.clock.now());
    assert!(matches!(
        w.carol.send_text(&w.id, "again"),
        Err(ClientError::OwnCredentialExpired)
    ));
    assert!(matches!(
        w.carol.update_keys(&w.id),
        Err(ClientError::OwnCredentialExpired)
    ));
    assert!(w.carol.remove_expired_members(&w.id).unwrap().is_none());
}

/// The others keep the group working: the commit one of them makes
/// removes the expired device (here one that asks for nothing else), the
/// others apply it, the expired device learns it was removed, and the two
/// talk on. Before the removal, talking already works.
#[test]
fn the_next_commit_removes_the_expired_member_and_the_others_talk_on() {
    let mut w = world();
    let sent = w.alice.send_text(&w.id, "before the removal").unwrap();
    assert_eq!(
        text_of(&deliver(&sent.outbound, &mut [&mut w.bob])[0]),
        "before the removal"
    );

    let pending = w.alice.remove_expired_members(&w.id).unwrap().unwrap();
    w.alice.commit_accepted(&pending).unwrap();
    match w
        .bob
        .receive(&pending.commit.message_id, &pending.commit.envelope)
        .unwrap()
    {
        Received::Commit(c) => {
            assert_eq!(c.removed.len(), 1);
            assert_eq!(c.removed[0].number, number(CAROL));
        }
        other => panic!("not a commit: {other:?}"),
    }
    w.carol_clock.set(w.net.clock.now());
    match w
        .carol
        .receive(&pending.commit.message_id, &pending.commit.envelope)
        .unwrap()
    {
        Received::Commit(c) => assert!(c.removed_self),
        other => panic!("not a commit: {other:?}"),
    }
    assert_eq!(numbers(&mut w.alice, &w.id), [ALICE, BOB]);
    assert_eq!(numbers(&mut w.bob, &w.id), [ALICE, BOB]);
    assert!(w.alice.remove_expired_members(&w.id).unwrap().is_none());

    let sent = w.bob.send_text(&w.id, "after the removal").unwrap();
    assert_eq!(
        text_of(&deliver(&sent.outbound, &mut [&mut w.alice])[0]),
        "after the removal"
    );
}

/// Every commit removes the expired device, whatever else it does: a key
/// update, an explicit removal of the same device (once, not twice), and
/// an add, whose newcomer joins a group without the expired credential
/// (a joiner refuses a tree holding one, RCV-WEL-5).
#[test]
fn every_commit_removes_the_expired_member_once() {
    let mut w = world();
    let pending = w.bob.update_keys(&w.id).unwrap();
    accept(&mut w.bob, &pending, &mut [&mut w.alice], &mut []);
    assert_eq!(numbers(&mut w.alice, &w.id), [ALICE, BOB]);

    let mut w = world();
    let pending = w.alice.remove_participant(&w.id, &number(CAROL)).unwrap();
    accept(&mut w.alice, &pending, &mut [&mut w.bob], &mut []);
    assert_eq!(numbers(&mut w.bob, &w.id), [ALICE, BOB]);

    let mut w = world();
    let mut dave = w.net.phone(DAVE, DeviceProfile::Ios);
    let pending = w
        .alice
        .add_participants(&w.id, &[claim(DAVE, &mut [&mut dave])])
        .unwrap();
    accept(&mut w.alice, &pending, &mut [&mut w.bob], &mut [&mut dave]);
    assert_eq!(numbers(&mut dave, &w.id), [ALICE, BOB, DAVE]);
    let sent = dave.send_text(&w.id, "hello both").unwrap();
    deliver(&sent.outbound, &mut [&mut w.alice, &mut w.bob]);
}
