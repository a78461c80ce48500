//! Hostile input at the client: every refusal has its own typed error and
//! leaves the stored state byte-for-byte as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use std::sync::Arc;

use common::*;
use crosslock_client::credential::TrustPolicy;
use crosslock_client::store::{MemoryStore, StateStore};
use crosslock_client::*;

struct Pair {
    alice: Device,
    bob: Device,
    bob_store: Arc<MemoryStore>,
    id: ConversationId,
}

fn pair(net: &Net) -> Pair {
    let mut alice = net.phone("+15551230001", DeviceProfile::Android);
    let bob_store = Arc::new(MemoryStore::new());
    let mut bob = net.phone_in(
        bob_store.clone(),
        "+15551230002",
        DeviceProfile::Ios,
        dev_config(),
    );
    let pending = alice
        .create_conversation(
            NewConversation::OneToOne,
            &[claim("+15551230002", &mut [&mut bob])],
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob]);
    Pair {
        alice,
        bob,
        bob_store,
        id: pending.conversation,
    }
}

/// Feeds `bytes` to Bob under `transport_id`, checks the error with `expect`,
/// that nothing was stored, and that the genuine message still works.
fn refused(p: &mut Pair, transport_id: &str, bytes: &[u8], expect: impl Fn(&ClientError) -> bool) {
    let before = snapshot(p.bob_store.as_ref() as &dyn StateStore);
    let state = p.bob.security_state(&p.id).unwrap();
    let err = p
        .bob
        .receive(transport_id, bytes)
        .expect_err("hostile input accepted");
    assert!(expect(&err), "unexpected error: {err:?}");
    assert_eq!(
        snapshot(p.bob_store.as_ref() as &dyn StateStore),
        before,
        "refusal changed the store ({err:?})"
    );
    assert_eq!(p.bob.security_state(&p.id).unwrap(), state);
}

#[test]
fn tampered_ciphertext() {
    let net = Net::new();
    let mut p = pair(&net);
    let m = p.alice.send_text(&p.id, "genuine").unwrap().outbound;
    let body = wire::cpim::MlsEnvelope::decode(&m.envelope).unwrap().body;
    // Flip a byte near the end (inside the AEAD ciphertext/tag).
    let mut forged = body.clone();
    let i = forged.len() - 3;
    forged[i] ^= 0x40;
    refused(
        &mut p,
        &m.message_id,
        &with_body(&m.envelope, forged),
        |e| matches!(e, ClientError::DecryptionFailed),
    );
    // Truncated body.
    refused(
        &mut p,
        &m.message_id,
        &with_body(&m.envelope, body[..body.len() / 2].to_vec()),
        |e| matches!(e, ClientError::Malformed(_)),
    );
    assert_eq!(
        text_of(&p.bob.receive(&m.message_id, &m.envelope).unwrap()),
        "genuine"
    );
}

#[test]
fn wrong_era() {
    let net = Net::new();
    let mut p = pair(&net);
    let m = p.alice.send_text(&p.id, "genuine").unwrap().outbound;
    let forged = rewrite_header(&m.envelope, "mls.Era-ID", Some("2"));
    refused(&mut p, &m.message_id, &forged, |e| {
        matches!(
            e,
            ClientError::WrongEra {
                expected: 1,
                received: 2
            }
        )
    });
    assert_eq!(
        text_of(&p.bob.receive(&m.message_id, &m.envelope).unwrap()),
        "genuine"
    );
}

#[test]
fn missing_cpim_headers() {
    let net = Net::new();
    let mut p = pair(&net);
    let m = p.alice.send_text(&p.id, "genuine").unwrap().outbound;
    for header in ["mls.Era-ID", "mls.Epoch-Authenticator", "imdn.Message-ID"] {
        let forged = rewrite_header(&m.envelope, header, None);
        refused(
            &mut p,
            &m.message_id,
            &forged,
            |e| matches!(e, ClientError::Envelope(wire::cpim::CpimError::MissingHeader(h)) if h.eq_ignore_ascii_case(header)),
        );
    }
    refused(&mut p, &m.message_id, b"\x00\xffgarbage", |e| {
        matches!(e, ClientError::Envelope(_))
    });
    assert_eq!(
        text_of(&p.bob.receive(&m.message_id, &m.envelope).unwrap()),
        "genuine"
    );
}

#[test]
fn message_id_mismatch() {
    let net = Net::new();
    let mut p = pair(&net);
    let m = p.alice.send_text(&p.id, "genuine").unwrap().outbound;
    // The transport delivers it under another id than the envelope's.
    refused(&mut p, "some-other-id", &m.envelope, |e| {
        matches!(e, ClientError::MessageIdMismatch { .. })
    });
    // The server rewrites the envelope id consistently: the id bound inside
    // MLS (RCC.16 authenticated data) still disagrees.
    let rewritten = "MxAAAAAAAAAAAAAAAAAAAAAA";
    let forged = rewrite_header(&m.envelope, "imdn.Message-ID", Some(rewritten));
    refused(
        &mut p,
        rewritten,
        &forged,
        |e| matches!(e, ClientError::MessageIdMismatch { transport, .. } if transport == rewritten),
    );
    assert_eq!(
        text_of(&p.bob.receive(&m.message_id, &m.envelope).unwrap()),
        "genuine"
    );
}

#[test]
fn forged_epoch_authenticator() {
    let net = Net::new();
    let mut p = pair(&net);
    let m = p.alice.send_text(&p.id, "genuine").unwrap().outbound;
    let fake = base64_32(0x5a);
    let forged = rewrite_header(&m.envelope, "mls.Epoch-Authenticator", Some(&fake));
    refused(&mut p, &m.message_id, &forged, |e| {
        matches!(e, ClientError::EpochAuthenticatorMismatch)
    });
    assert_eq!(
        text_of(&p.bob.receive(&m.message_id, &m.envelope).unwrap()),
        "genuine"
    );
}

fn base64_32(byte: u8) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

#[test]
fn replayed_message() {
    let net = Net::new();
    let mut p = pair(&net);
    let m = p.alice.send_text(&p.id, "once").unwrap().outbound;
    assert_eq!(
        text_of(&p.bob.receive(&m.message_id, &m.envelope).unwrap()),
        "once"
    );
    refused(&mut p, &m.message_id, &m.envelope, |e| {
        matches!(e, ClientError::Replayed)
    });
    // Replayed under a fresh transport id: the ratchet key is gone.
    let fresh = "MxAAAAAAAAAAAAAAAAAAfresh";
    let renamed = rewrite_header(&m.envelope, "imdn.Message-ID", Some(fresh));
    refused(&mut p, fresh, &renamed, |e| {
        matches!(
            e,
            ClientError::Replayed | ClientError::MessageIdMismatch { .. }
        )
    });
    // Our own message echoed back by the server is a duplicate too.
    let mine = p.bob.send_text(&p.id, "mine").unwrap().outbound;
    refused(&mut p, &mine.message_id, &mine.envelope, |e| {
        matches!(e, ClientError::Replayed)
    });
}

#[test]
fn unknown_conversation_and_garbage_mls() {
    let net = Net::new();
    let mut p = pair(&net);
    // A conversation Bob is not in.
    let mut carol = net.phone("+15551230003", DeviceProfile::Android);
    let mut dave = net.phone("+15551230004", DeviceProfile::Ios);
    let other = carol
        .create_conversation(
            NewConversation::Group {
                group_id: b"elsewhere".to_vec(),
            },
            &[claim("+15551230004", &mut [&mut dave])],
        )
        .unwrap();
    carol.commit_accepted(&other).unwrap();
    let m = carol
        .send_text(&other.conversation, "elsewhere")
        .unwrap()
        .outbound;
    refused(&mut p, &m.message_id, &m.envelope, |e| {
        matches!(e, ClientError::UnknownConversation)
    });
    // A body that is not an MLS message.
    let m = p.alice.send_text(&p.id, "x").unwrap().outbound;
    refused(
        &mut p,
        &m.message_id,
        &with_body(&m.envelope, vec![0, 1, 0, 2]),
        |e| matches!(e, ClientError::Malformed(_)),
    );
}

#[test]
fn expired_and_overlong_key_packages() {
    let net = Net::new();
    let mut alice = net.phone("+15551230001", DeviceProfile::Android);
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    // KP-3 (fact sheet §6): a KeyPackage living 365 days from its
    // certificate's notBefore (T0 − 1 h for a development credential made
    // at T0) is accepted; 366 days is refused.
    let mut year = dev_config();
    year.key_packages.lifetime_secs = 365 * 86_400 - 3_600;
    let mut dave = net.phone_with("+15551230004", DeviceProfile::Ios, year);
    let dave_kps = claim("+15551230004", &mut [&mut dave]);
    let mut erin = net.phone("+15551230005", DeviceProfile::Android);
    erin.create_conversation(NewConversation::OneToOne, &[dave_kps])
        .unwrap();
    let mut long = dev_config();
    long.key_packages.lifetime_secs = 366 * 86_400 - 3_600;
    let mut carol = net.phone_with("+15551230003", DeviceProfile::Ios, long);
    let carol_kps = claim("+15551230003", &mut [&mut carol]);
    assert!(matches!(
        alice.create_conversation(NewConversation::OneToOne, &[carol_kps]),
        Err(ClientError::KeyPackageLifetimeTooLong { .. })
    ));
    // Expired: Bob's KeyPackage is 15 days old.
    let bob_kps = claim("+15551230002", &mut [&mut bob]);
    net.clock.advance(15 * 86_400);
    assert!(matches!(
        alice.create_conversation(NewConversation::OneToOne, &[bob_kps]),
        Err(ClientError::KeyPackageExpired)
    ));
    assert!(alice.conversations().unwrap().is_empty());
}

#[test]
fn key_package_for_another_number_is_refused() {
    let net = Net::new();
    let mut alice = net.phone("+15551230001", DeviceProfile::Android);
    let mut mallory = net.phone("+15559999999", DeviceProfile::Ios);
    // A claim for Bob's number answered with Mallory's KeyPackage.
    let mut kps = claim("+15559999999", &mut [&mut mallory]);
    kps.number = number("+15551230002");
    assert!(matches!(
        alice.create_conversation(NewConversation::OneToOne, &[kps]),
        Err(ClientError::KeyPackageIdentityMismatch { .. })
    ));
}

#[test]
fn production_trust_refuses_development_credentials() {
    let net = Net::new();
    let prod = DeviceConfig::new(TrustPolicy::Production {
        anchors: crosslock_client::credential::TrustAnchors::none(),
        carriers: crosslock_client::credential::TrustedCarriers::default(),
    });
    let mut alice = net.phone_with("+15551230001", DeviceProfile::Android, prod);
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    assert!(matches!(
        alice.create_conversation(
            NewConversation::OneToOne,
            &[claim("+15551230002", &mut [&mut bob])]
        ),
        Err(ClientError::Credential(
            crosslock_client::credential::CredentialError::DevelopmentCredentialRefused
        ))
    ));
}

#[test]
fn hostile_welcomes_are_refused() {
    let net = Net::new();
    let mut alice = net.phone("+15551230001", DeviceProfile::Android);
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    let mut eve = net.phone("+15551230009", DeviceProfile::Ios);
    let pending = alice
        .create_conversation(
            NewConversation::OneToOne,
            &[claim("+15551230002", &mut [&mut bob])],
        )
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let w = pending.welcome.unwrap();
    // Not addressed to Eve.
    assert!(matches!(
        eve.receive_with_tree(&w.message_id, &w.envelope, Some(&pending.ratchet_tree)),
        Err(ClientError::WelcomeNotForUs)
    ));
    // Era header lying about the group's era.
    let lie = rewrite_header(&w.envelope, "mls.Era-ID", Some("7"));
    assert!(matches!(
        bob.receive_with_tree(&w.message_id, &lie, Some(&pending.ratchet_tree)),
        Err(ClientError::WrongEra {
            expected: 1,
            received: 7
        })
    ));
    // The genuine one works once; its KeyPackage is then consumed.
    assert!(matches!(
        bob.receive_with_tree(&w.message_id, &w.envelope, Some(&pending.ratchet_tree))
            .unwrap(),
        Received::Joined { .. }
    ));
    assert!(
        bob.receive_with_tree(&w.message_id, &w.envelope, Some(&pending.ratchet_tree))
            .is_err()
    );
}

#[test]
fn a_credential_with_less_than_30_days_left_is_not_put_into_use() {
    let net = Net::new();
    let mut alice = net.phone("+15551230001", DeviceProfile::Android);
    let mut bob = net.phone("+15551230002", DeviceProfile::Ios);
    // Bob's credential (75 days) has 25 days left; his KeyPackage is fresh.
    net.clock.advance(50 * 86_400);
    let kps = claim("+15551230002", &mut [&mut bob]);
    let refused = alice.create_conversation(NewConversation::OneToOne, &[kps]);
    assert!(
        matches!(
            refused,
            Err(ClientError::Credential(
                crosslock_client::credential::CredentialError::ExpiresTooSoon { .. }
            ))
        ),
        "{refused:?}"
    );
}
