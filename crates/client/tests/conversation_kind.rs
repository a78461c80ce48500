//! GID-3: 1:1 or group, on every device of the conversation, whoever
//! joins it and whatever its envelopes say.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use crosslock_client::wire::cpim::MlsEnvelope;
use crosslock_client::wire::cpim::addressing;
use crosslock_client::*;

const ALICE: &str = "+15551230001";
const BOB: &str = "+15551230002";
const CAROL: &str = "+15551230003";

fn kind(d: &mut Device, id: &ConversationId) -> ConversationKind {
    d.security_state(id).unwrap().kind
}

/// The CPIM `To` of an outbound envelope.
fn to_of(out: &Outbound) -> Option<String> {
    MlsEnvelope::decode(&out.envelope).unwrap().to
}

/// A conversation Alice creates (`group`: as a group, else a 1:1) with
/// `others`, every joiner joining it, with the Welcome's envelope passed
/// through `tamper` (what a hostile creator or server could do to it).
fn create(
    alice: &mut Device,
    group: bool,
    others: &mut [(&str, &mut Device)],
    tamper: impl Fn(&[u8]) -> Vec<u8>,
) -> (ConversationId, PendingCommit) {
    let claims: Vec<_> = others
        .iter_mut()
        .map(|(n, d)| claim(n, &mut [&mut **d]))
        .collect();
    let kind = if group {
        NewConversation::Group {
            group_id: Vec::new(),
        }
    } else {
        NewConversation::OneToOne
    };
    let pending = alice.create_conversation(kind, &claims).unwrap();
    alice.commit_accepted(&pending).unwrap();
    let welcome = pending.welcome.clone().unwrap();
    let envelope = tamper(&welcome.envelope);
    for (_, d) in others.iter_mut() {
        assert!(matches!(
            d.receive_with_tree(&welcome.message_id, &envelope, Some(&pending.ratchet_tree))
                .unwrap(),
            Received::Joined { .. }
        ));
    }
    (pending.conversation.clone(), pending)
}

/// A rewrite of an envelope on its way.
type Tamper = dyn Fn(&[u8]) -> Vec<u8>;

fn untouched(envelope: &[u8]) -> Vec<u8> {
    envelope.to_vec()
}

/// A group of three and a group of two, both created by Alice with a
/// UUID id like a 1:1's (GID-1): everyone who joins them sees a group,
/// because the Welcome says group chat (`To` the anonymous URI). The
/// envelopes of a group say so; a 1:1's have no `To` at all.
#[test]
fn groups_of_three_and_of_two_are_groups_to_everyone_who_joins() {
    let net = Net::new();
    let mut alice = net.phone(ALICE, DeviceProfile::Android);
    let mut bob = net.phone(BOB, DeviceProfile::Ios);
    let mut carol = net.phone(CAROL, DeviceProfile::Android);

    let (trio, pending) = create(
        &mut alice,
        true,
        &mut [(BOB, &mut bob), (CAROL, &mut carol)],
        untouched,
    );
    assert!(ConversationId::is_deployed_form(trio.as_bytes()));
    let anonymous = Some(addressing::group_chat_to());
    assert_eq!(to_of(&pending.commit), anonymous);
    assert_eq!(to_of(pending.welcome.as_ref().unwrap()), anonymous);
    for d in [&mut alice, &mut bob, &mut carol] {
        assert_eq!(kind(d, &trio), ConversationKind::Group);
    }
    let sent = bob.send_text(&trio, "to all").unwrap();
    assert_eq!(to_of(&sent.outbound), anonymous);
    deliver(&sent.outbound, &mut [&mut alice, &mut carol]);

    let (pair, _) = create(&mut alice, true, &mut [(BOB, &mut bob)], untouched);
    assert_eq!(kind(&mut alice, &pair), ConversationKind::Group);
    assert_eq!(kind(&mut bob, &pair), ConversationKind::Group);
    let sent = bob.send_text(&pair, "still a group").unwrap();
    assert_eq!(to_of(&sent.outbound), anonymous);

    // A 1:1 stays a 1:1 on both sides; its envelopes name nobody.
    let (chat, pending) = create(&mut alice, false, &mut [(BOB, &mut bob)], untouched);
    assert_eq!(to_of(&pending.commit), None);
    assert_eq!(to_of(pending.welcome.as_ref().unwrap()), None);
    assert_eq!(kind(&mut alice, &chat), ConversationKind::OneToOne);
    assert_eq!(kind(&mut bob, &chat), ConversationKind::OneToOne);
    let sent = bob.send_text(&chat, "just us").unwrap();
    assert_eq!(to_of(&sent.outbound), None);
    let got = deliver(&sent.outbound, &mut [&mut alice]);
    assert_eq!(text_of(&got[0]), "just us");
    // Commits keep it so.
    let pending = bob.update_keys(&chat).unwrap();
    accept(&mut bob, &pending, &mut [&mut alice], &mut []);
    assert_eq!(kind(&mut alice, &chat), ConversationKind::OneToOne);
    assert_eq!(kind(&mut bob, &chat), ConversationKind::OneToOne);
}

/// The attacker's test: a Welcome whose envelope lies about the kind (no
/// `To`, or a `To` naming one number as a 1:1's would) cannot make a
/// group of three numbers a 1:1 for anyone: the authenticated roster
/// decides.
#[test]
fn a_lying_envelope_cannot_make_a_group_of_three_a_one_to_one() {
    let strip = |envelope: &[u8]| {
        let mut e = MlsEnvelope::decode(envelope).unwrap();
        e.to = None;
        e.encode()
    };
    let name_one = |envelope: &[u8]| {
        let mut e = MlsEnvelope::decode(envelope).unwrap();
        e.to = Some(format!("<tel:{BOB}>"));
        e.encode()
    };
    let tampers: [&Tamper; 2] = [&strip, &name_one];
    for tamper in tampers {
        let net = Net::new();
        let mut alice = net.phone(ALICE, DeviceProfile::Android);
        let mut bob = net.phone(BOB, DeviceProfile::Ios);
        let mut carol = net.phone(CAROL, DeviceProfile::Android);
        let (id, _) = create(
            &mut alice,
            true,
            &mut [(BOB, &mut bob), (CAROL, &mut carol)],
            tamper,
        );
        assert_eq!(kind(&mut bob, &id), ConversationKind::Group);
        assert_eq!(kind(&mut carol, &id), ConversationKind::Group);
    }
}

/// A 1:1 that gains a third number is a group from then on, for its
/// members and for the newcomer, and never goes back: not when the third
/// number leaves again.
#[test]
fn a_one_to_one_that_gains_a_third_number_becomes_a_group_for_good() {
    let net = Net::new();
    let mut alice = net.phone(ALICE, DeviceProfile::Android);
    let mut bob = net.phone(BOB, DeviceProfile::Ios);
    let mut carol = net.phone(CAROL, DeviceProfile::Android);
    let (id, _) = create(&mut alice, false, &mut [(BOB, &mut bob)], untouched);
    assert_eq!(kind(&mut bob, &id), ConversationKind::OneToOne);

    let pending = alice
        .add_participants(&id, &[claim(CAROL, &mut [&mut carol])])
        .unwrap();
    // The commit is still framed in the 1:1: no `To`.
    assert_eq!(to_of(&pending.commit), None);
    accept(&mut alice, &pending, &mut [&mut bob], &mut [&mut carol]);
    for d in [&mut alice, &mut bob, &mut carol] {
        assert_eq!(kind(d, &id), ConversationKind::Group);
    }
    let sent = alice.send_text(&id, "Carol is here").unwrap();
    assert_eq!(to_of(&sent.outbound), Some(addressing::group_chat_to()));
    deliver(&sent.outbound, &mut [&mut bob, &mut carol]);

    let pending = alice.remove_participant(&id, &number(CAROL)).unwrap();
    accept(&mut alice, &pending, &mut [&mut bob, &mut carol], &mut []);
    assert_eq!(alice.security_state(&id).unwrap().members.len(), 2);
    assert_eq!(kind(&mut alice, &id), ConversationKind::Group);
    assert_eq!(kind(&mut bob, &id), ConversationKind::Group);
}

/// A 1:1 whose Welcome a server marks as group chat is joined as a group:
/// the envelope is outside MLS, so it may only ever err that way (the
/// cost: `open_chat` starts another 1:1).
#[test]
fn an_envelope_can_only_make_a_one_to_one_a_group() {
    let net = Net::new();
    let mut alice = net.phone(ALICE, DeviceProfile::Android);
    let mut bob = net.phone(BOB, DeviceProfile::Ios);
    let mark = |envelope: &[u8]| {
        let mut e = MlsEnvelope::decode(envelope).unwrap();
        e.to = Some("\"Anonymous\" <SIP:anonymous@anonymous.invalid>".into());
        e.encode()
    };
    let (id, _) = create(&mut alice, false, &mut [(BOB, &mut bob)], mark);
    assert_eq!(kind(&mut alice, &id), ConversationKind::OneToOne);
    assert_eq!(kind(&mut bob, &id), ConversationKind::Group);
}
