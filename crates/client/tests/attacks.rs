#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Attacks of issue 14 on the client core, each run as the attacker would:
//! a hostile provider handing a Welcome with a key its log never held, a
//! hostile member adding an unlogged key or gossiping a forged root, a
//! stranger starting a "new era" of someone else's conversation, a replayed
//! Welcome re-wrapped under a new transport id, and one provider's
//! revocation list aimed at another provider's credentials.
//!
//! Transparency proofs come from a real key-transparency log
//! (`crosslock_kt::server::KtLog` on SQLite in a temporary directory),
//! co-signed by a witness key the devices require (threshold 1).

mod common;

use std::sync::Arc;

use ciborium::Value;
use common::*;
use crosslock_client::credential::{KeyAlgorithm, PublicKey, UnverifiedCredential};
use crosslock_client::env::Clock;
use crosslock_client::kt::{
    Binding, BoundKey, KtError, SigningKey, TrustedLog, cosign, sign_root, suites_served_by,
};
use crosslock_client::store::{MemoryStore, StateStore, Table, Write, WriteBatch};
use crosslock_client::suite::Suite;
use crosslock_client::wire::api::B64;
use crosslock_client::wire::api::kt::{LookupAnswer, SignedRoot};
use crosslock_client::wire::inner::ApplicationPayload;
use crosslock_client::*;
use crosslock_kt::server::{KtLog, KtLogOptions, LogKeys, VrfSecret};

const ALICE: &str = "+15551230001";
const BOB: &str = "+15551230002";
const CAROL: &str = "+15551230003";
const DIRECTORY: &str = "kds.home.example";

/// A real transparency log, its witness, and a copy of the log's signing
/// key (what a hostile log signs with).
struct Log {
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
    log: KtLog,
    log_key: SigningKey,
    witness: SigningKey,
}

impl Log {
    fn new(now: u64) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let keys = LogKeys::generate().unwrap();
        let copy = LogKeys {
            log_key: SigningKey::from_pkcs8(keys.log_key.pkcs8()).unwrap(),
            vrf: VrfSecret::from_bytes(keys.vrf.to_bytes()),
        };
        let log_key = SigningKey::from_pkcs8(keys.log_key.pkcs8()).unwrap();
        let log = rt
            .block_on(KtLog::open(
                dir.path(),
                DIRECTORY,
                copy,
                KtLogOptions::default(),
                now,
            ))
            .unwrap();
        Log {
            rt,
            _dir: dir,
            log,
            log_key,
            witness: SigningKey::generate().unwrap(),
        }
    }

    fn trusted(&self) -> TrustedLog {
        TrustedLog {
            directory: DIRECTORY.into(),
            log_key: self.log.log_key(),
            vrf_key: self.log.vrf_key(),
            witnesses: vec![self.witness.public_key()],
            threshold: 1,
            max_root_age_secs: 86_400,
        }
    }

    /// The witness co-signs the latest root.
    fn cosign_latest(&self) {
        let root = self.log.latest_root().unwrap().unwrap();
        let cosignature = cosign(&self.witness, &root.statement).unwrap();
        self.log
            .add_cosignature(root.statement.epoch, &cosignature)
            .unwrap();
    }

    /// Publishes the current keys of every device of each number.
    fn publish(&self, numbers: &[(&str, &[&Device])], now: u64) {
        let updates = numbers
            .iter()
            .map(|(n, devices)| (number(n), binding_of(devices)))
            .collect();
        self.rt.block_on(self.log.publish(updates, now)).unwrap();
        self.cosign_latest();
    }

    /// Publishes `binding` for `n` (what a hostile KDS publishes).
    fn publish_binding(&self, n: &str, binding: Binding, now: u64) {
        self.rt
            .block_on(self.log.publish(vec![(number(n), binding)], now))
            .unwrap();
        self.cosign_latest();
    }

    /// Re-signs the latest root at `now` (and has it co-signed).
    fn refresh(&self, now: u64) {
        self.rt.block_on(self.log.refresh(now)).unwrap();
        self.cosign_latest();
    }

    fn lookup(&self, n: &str) -> LookupAnswer {
        self.rt.block_on(self.log.lookup(&number(n))).unwrap()
    }
}

/// What a KDS publishes for these devices: every credential of each, with
/// the suites its key serves (KT-SUITE-1).
fn binding_of(devices: &[&Device]) -> Binding {
    binding_serving(devices, |suites| suites.to_vec())
}

/// [`binding_of`] with each key's suites passed through `suites` (what a
/// hostile KDS lists instead).
fn binding_serving(devices: &[&Device], suites: impl Fn(&[u16]) -> Vec<u16>) -> Binding {
    let mut keys: Vec<BoundKey> = Vec::new();
    for d in devices {
        for suite in d.suites() {
            let chain = d.credential_chain(*suite);
            let leaf = &chain[0];
            let device_id = UnverifiedCredential::parse(leaf)
                .unwrap()
                .device()
                .unwrap()
                .to_owned();
            let key = d.participant_key(*suite).unwrap().as_bytes().to_vec();
            if !keys.iter().any(|k| k.public_key == key) {
                let algorithm = UnverifiedCredential::parse(leaf).unwrap().key().algorithm();
                let served = suites(suites_served_by(algorithm));
                keys.push(BoundKey::new(&device_id, key, leaf).serving(served));
            }
        }
    }
    Binding::of(keys).unwrap()
}

fn kt_config(log: &Log) -> DeviceConfig {
    let mut config = dev_config();
    config.transparency = TransparencyPolicy::new(vec![log.trusted()]);
    config
}

/// A device requiring proofs from `log`, with its store.
fn kt_phone(net: &Net, log: &Log, n: &str) -> (Device, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let device = net.phone_in(store.clone(), n, DeviceProfile::Android, kt_config(log));
    (device, store)
}

/// A claim answer with the number's lookup proof, as the home KDS gives it.
fn kt_claim(log: &Log, n: &str, devices: &mut [&mut Device]) -> ParticipantKeyPackages {
    let mut c = claim(n, devices);
    c.transparency = Some(log.lookup(n));
    c
}

fn blocked(result: Result<Sent, ClientError>) -> TransparencyBlock {
    match result {
        Err(ClientError::TransparencyBlocked(block)) => block,
        other => panic!("expected a transparency block, got {other:?}"),
    }
}

/// Alice (creator), Bob and Carol in group `trio`, every device requiring
/// witnessed proofs, every key logged, every member proven to every other.
struct World {
    net: Net,
    log: Log,
    alice: Device,
    alice_store: Arc<MemoryStore>,
    bob: Device,
    bob_store: Arc<MemoryStore>,
    carol: Device,
    id: ConversationId,
}

fn world() -> World {
    world_with(true)
}

/// [`world`]; Carol's device requires proofs only if `carol_requires`.
fn world_with(carol_requires: bool) -> World {
    let net = Net::new();
    let log = Log::new(T0);
    let (mut alice, alice_store) = kt_phone(&net, &log, ALICE);
    let (mut bob, bob_store) = kt_phone(&net, &log, BOB);
    let mut carol_config = kt_config(&log);
    carol_config.transparency.required = carol_requires;
    let mut carol = net.phone_with(CAROL, DeviceProfile::Android, carol_config);
    log.publish(
        &[(ALICE, &[&alice]), (BOB, &[&bob]), (CAROL, &[&carol])],
        T0,
    );
    let claims = [
        kt_claim(&log, BOB, &mut [&mut bob]),
        kt_claim(&log, CAROL, &mut [&mut carol]),
    ];
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"00000000-0000-4000-8000-000000000c01".to_vec(),
            },
            &claims,
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob, &mut carol]);
    let id = pending.conversation;
    for (device, others) in [(&mut bob, [ALICE, CAROL]), (&mut carol, [ALICE, BOB])] {
        for n in others {
            device.record_lookup(&number(n), &log.lookup(n)).unwrap();
        }
    }
    World {
        net,
        log,
        alice,
        alice_store,
        bob,
        bob_store,
        carol,
        id,
    }
}

/// Moves the clock past the publication grace and has the log re-sign its
/// root then: a proof from now on must hold every key issued before.
fn after_grace(w: &World) {
    w.net.clock.advance(KEY_PUBLICATION_GRACE_SECS + 60);
    w.log.refresh(w.net.clock.now());
}

fn alice_text(w: &mut World) {
    let sent = w.alice.send_text(&w.id, "still works").unwrap();
    let got = w
        .bob
        .receive(&sent.outbound.message_id, &sent.outbound.envelope)
        .unwrap();
    assert_eq!(text_of(&got), "still works");
}

// ---- finding 4: transparency on every member key ---------------------------

/// The legitimate path: a device that joins by Welcome meets members it
/// has no proof for. Sending is blocked (a state the app sees, not a flag)
/// until it looks them up; then it works.
#[test]
fn joining_member_must_prove_the_roster_before_sending() {
    let net = Net::new();
    let log = Log::new(T0);
    let (mut alice, _) = kt_phone(&net, &log, ALICE);
    let (mut bob, _) = kt_phone(&net, &log, BOB);
    let (mut carol, _) = kt_phone(&net, &log, CAROL);
    log.publish(
        &[(ALICE, &[&alice]), (BOB, &[&bob]), (CAROL, &[&carol])],
        T0,
    );
    let claims = [
        kt_claim(&log, BOB, &mut [&mut bob]),
        kt_claim(&log, CAROL, &mut [&mut carol]),
    ];
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"00000000-0000-4000-8000-000000000c01".to_vec(),
            },
            &claims,
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob]);
    let id = pending.conversation;
    // Alice proved both when she added them.
    assert_eq!(alice.security_state(&id).unwrap().blocked, None);
    // Bob proved nobody: blocked, and told whom to look up.
    let state = bob.security_state(&id).unwrap();
    let expected = TransparencyBlock {
        unproven: vec![number(ALICE), number(CAROL)],
        refuted: vec![],
    };
    assert_eq!(state.blocked.as_ref(), Some(&expected));
    assert_eq!(
        bob.lookups_needed(&id).unwrap(),
        vec![number(ALICE), number(CAROL)]
    );
    assert_eq!(blocked(bob.send_text(&id, "hi")), expected);
    // Alice relays her own lookup proof inside the conversation (a member
    // at another provider cannot reach her home): it proves itself.
    let relayed = alice.send_own_proof(&id, &log.lookup(ALICE)).unwrap();
    match bob
        .receive(&relayed.outbound.message_id, &relayed.outbound.envelope)
        .unwrap()
    {
        Received::Transparency { alerts, .. } => assert!(alerts.is_empty()),
        other => panic!("expected a relayed proof, got {other:?}"),
    }
    assert_eq!(
        blocked(bob.send_text(&id, "hi")).unproven,
        vec![number(CAROL)]
    );
    bob.record_lookup(&number(CAROL), &log.lookup(CAROL))
        .unwrap();
    assert!(bob.lookups_needed(&id).unwrap().is_empty());
    let sent = bob.send_text(&id, "hi").unwrap();
    assert_eq!(
        text_of(
            &alice
                .receive(&sent.outbound.message_id, &sent.outbound.envelope)
                .unwrap()
        ),
        "hi"
    );
}

/// A hostile provider mints a credential for Bob (its own CA, here a
/// self-issued development credential) that Bob's home log never held, and
/// hands Alice a Welcome whose roster carries it. Alice's recorded proof of
/// Bob, signed long after that credential was issued, lacks the key: the
/// Welcome is refused and nothing is stored.
#[test]
fn hostile_provider_welcome_with_an_unlogged_key_is_refused() {
    let mut w = world();
    // The interception device: Bob's number, a key nobody logged.
    let mut mallory = w.net.phone(BOB, DeviceProfile::Android);
    after_grace(&w);
    w.alice
        .record_lookup(&number(BOB), &w.log.lookup(BOB))
        .unwrap();
    let pending = mallory
        .create_conversation(
            NewConversation::Group {
                group_id: b"intercept".to_vec(),
            },
            &[claim(ALICE, &mut [&mut w.alice])],
        )
        .unwrap();
    mallory.commit_accepted(&pending).unwrap();
    let welcome = pending.welcome.unwrap();
    let before = snapshot(w.alice_store.as_ref());
    let conversations = w.alice.conversations().unwrap();
    let refused = w.alice.receive_with_tree(
        &welcome.message_id,
        &welcome.envelope,
        Some(&pending.ratchet_tree),
    );
    match refused {
        Err(ClientError::Transparency {
            number: n,
            source: KtError::NotInBinding { .. },
        }) => assert_eq!(n, number(BOB)),
        other => panic!("expected NotInBinding, got {other:?}"),
    }
    assert_eq!(snapshot(w.alice_store.as_ref()), before, "nothing stored");
    assert_eq!(w.alice.conversations().unwrap(), conversations);
    alice_text(&mut w);
}

/// An insider at Alice's own provider mints a second "Alice" device (her
/// number, a key her log never held) and starts a group with Alice and
/// Bob from it, to read what Alice says there. Alice's own phone checks
/// her number's other devices like anyone's (KT-MEMBER-5): her recorded
/// proof of her own number lacks the ghost's key, so the Welcome is
/// refused and nothing is stored.
#[test]
fn insider_ghost_device_of_ones_own_number_is_refused() {
    let mut w = world();
    let mut ghost = w.net.phone(ALICE, DeviceProfile::Android);
    after_grace(&w);
    w.alice
        .record_lookup(&number(ALICE), &w.log.lookup(ALICE))
        .unwrap();
    let pending = ghost
        .create_conversation(
            NewConversation::Group {
                group_id: b"ghost".to_vec(),
            },
            &[claim(ALICE, &mut [&mut w.alice])],
        )
        .unwrap();
    ghost.commit_accepted(&pending).unwrap();
    let welcome = pending.welcome.unwrap();
    let before = snapshot(w.alice_store.as_ref());
    let conversations = w.alice.conversations().unwrap();
    match w.alice.receive_with_tree(
        &welcome.message_id,
        &welcome.envelope,
        Some(&pending.ratchet_tree),
    ) {
        Err(ClientError::Transparency {
            number: n,
            source: KtError::NotInBinding { .. },
        }) => assert_eq!(n, number(ALICE)),
        other => panic!("expected NotInBinding, got {other:?}"),
    }
    assert_eq!(snapshot(w.alice_store.as_ref()), before, "nothing stored");
    assert_eq!(w.alice.conversations().unwrap(), conversations);
    alice_text(&mut w);
}

/// A hostile member (Carol, whose client skips transparency checks) adds
/// a device under Bob's number that Bob's log never held. Alice's
/// conversation is blocked with the reason visible (Bob refuted) and she
/// cannot send, until the forged device is removed.
#[test]
fn member_cannot_add_an_unlogged_key_unnoticed() {
    let mut w = world_with(false);
    let mut mallory = w.net.phone(BOB, DeviceProfile::Android);
    after_grace(&w);
    w.alice
        .record_lookup(&number(BOB), &w.log.lookup(BOB))
        .unwrap();
    // Offered with a genuine proof of Bob's binding, even a lax client
    // refuses the forged key; the hostile one offers it without a proof.
    let mut forged = claim(BOB, &mut [&mut mallory]);
    forged.transparency = Some(w.log.lookup(BOB));
    assert!(matches!(
        w.carol
            .add_participants(&w.id, std::slice::from_ref(&forged)),
        Err(ClientError::Transparency {
            source: KtError::NotInBinding { .. },
            ..
        })
    ));
    forged.transparency = None;
    let pending = w.carol.add_participants(&w.id, &[forged]).unwrap();
    w.carol.commit_accepted(&pending).unwrap();
    match w
        .alice
        .receive(&pending.commit.message_id, &pending.commit.envelope)
        .unwrap()
    {
        Received::Commit(event) => assert_eq!(event.added.len(), 1),
        other => panic!("expected the commit, got {other:?}"),
    }
    let state = w.alice.security_state(&w.id).unwrap();
    assert_eq!(
        state.blocked,
        Some(TransparencyBlock {
            unproven: vec![],
            refuted: vec![number(BOB)],
        })
    );
    assert!(matches!(
        state.transparency.get(&number(BOB)),
        Some(TransparencyStatus::Refuted { .. })
    ));
    assert_eq!(
        blocked(w.alice.send_text(&w.id, "secret")).refuted,
        vec![number(BOB)]
    );
    assert_eq!(w.alice.lookups_needed(&w.id).unwrap(), vec![number(BOB)]);
    // A fresh proof does not help: the key is not in Bob's binding.
    w.alice
        .record_lookup(&number(BOB), &w.log.lookup(BOB))
        .unwrap();
    assert!(w.alice.security_state(&w.id).unwrap().blocked.is_some());
    // Removing the forged device (commits stay possible) lifts the block.
    let remove = w
        .alice
        .remove_device(&w.id, &number(BOB), mallory.device_id())
        .unwrap();
    w.alice.commit_accepted(&remove).unwrap();
    for m in [&pending, &remove] {
        w.bob
            .receive(&m.commit.message_id, &m.commit.envelope)
            .unwrap();
    }
    assert_eq!(w.alice.security_state(&w.id).unwrap().blocked, None);
    alice_text(&mut w);
}

/// Someone holding one of Bob's KeyPackages (not a member of Bob's
/// conversation) sends him a Welcome for a "new era" of it. Refused:
/// a new era comes only from a member of the current era with the same
/// key; the existing conversation is untouched.
#[test]
fn new_era_welcome_from_a_non_member_is_refused() {
    let net = Net::new();
    let bob_store = Arc::new(MemoryStore::new());
    let mut alice = net.phone(ALICE, DeviceProfile::Android);
    let mut bob = net.phone_in(bob_store.clone(), BOB, DeviceProfile::Ios, dev_config());
    let mut mallory = net.phone(CAROL, DeviceProfile::Android);
    let group_id = b"00000000-0000-4000-8000-000000000b01".to_vec();
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: group_id.clone(),
            },
            &[claim(BOB, &mut [&mut bob])],
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob]);
    let id = pending.conversation;
    // Mallory makes her own group under the same id (with a friend) and
    // starts era 2 of it with Bob's KeyPackage.
    let mut friend = net.phone("+15551230009", DeviceProfile::Android);
    let own = mallory
        .create_conversation(
            NewConversation::Group { group_id },
            &[claim("+15551230009", &mut [&mut friend])],
        )
        .unwrap();
    mallory.commit_accepted(&own).unwrap();
    let era = mallory
        .new_era(&own.conversation, &[claim(BOB, &mut [&mut bob])])
        .unwrap();
    mallory.commit_accepted(&era).unwrap();
    let welcome = era.welcome.unwrap();
    let before = snapshot(bob_store.as_ref());
    let state = bob.security_state(&id).unwrap();
    let refused = bob.receive_with_tree(
        &welcome.message_id,
        &welcome.envelope,
        Some(&era.ratchet_tree),
    );
    assert!(
        matches!(refused, Err(ClientError::NewEraNotFromMember)),
        "{refused:?}"
    );
    assert_eq!(snapshot(bob_store.as_ref()), before, "nothing stored");
    assert_eq!(bob.security_state(&id).unwrap(), state);
    // The genuine new era, from Alice, is accepted.
    let genuine = alice.new_era(&id, &[claim(BOB, &mut [&mut bob])]).unwrap();
    alice.commit_accepted(&genuine).unwrap();
    let w = genuine.welcome.unwrap();
    match bob
        .receive_with_tree(&w.message_id, &w.envelope, Some(&genuine.ratchet_tree))
        .unwrap()
    {
        Received::Joined {
            replaced_era: Some(1),
            added_by,
            ..
        } => assert_eq!(added_by.number, number(ALICE)),
        other => panic!("expected the new era, got {other:?}"),
    }
}

// ---- finding 14 (a): Welcome replay keyed on content -----------------------

/// Bob was added with his last-resort KeyPackage (it survives the join),
/// then removed. Whoever kept the Welcome re-wraps it under a new
/// transport id to put Bob back into the group's old state. Refused as a
/// replay; nothing changes.
#[test]
fn rewrapped_welcome_cannot_readd_a_removed_device() {
    let net = Net::new();
    let bob_store = Arc::new(MemoryStore::new());
    let mut alice = net.phone(ALICE, DeviceProfile::Android);
    // A short replay window, to reach the epoch rule while the
    // last-resort KeyPackage still lives.
    let mut config = dev_config();
    config.replay_window_secs = 86_400;
    let mut bob = net.phone_in(bob_store.clone(), BOB, DeviceProfile::Ios, config);
    let batch = bob.generate_key_packages(0).unwrap();
    let last_resort = ParticipantKeyPackages {
        number: number(BOB),
        devices: vec![DeviceKeyPackages(
            batch.last_resort.into_iter().map(|(_, kp)| kp).collect(),
        )],
        transparency: None,
    };
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"g".to_vec(),
            },
            &[last_resort],
        )
        .unwrap();
    accept(&mut alice, &pending, &mut [], &mut [&mut bob]);
    let id = pending.conversation;
    let welcome = pending.welcome.unwrap();
    let removal = alice.remove_participant(&id, &number(BOB)).unwrap();
    alice.commit_accepted(&removal).unwrap();
    bob.receive(&removal.commit.message_id, &removal.commit.envelope)
        .unwrap();
    assert_eq!(
        bob.security_state(&id).unwrap().status,
        ConversationStatus::Removed
    );
    // The same Welcome under a new transport id.
    let mut envelope = wire::cpim::MlsEnvelope::decode(&welcome.envelope).unwrap();
    envelope.message_id = "MxAAAAAAAAAAAAAAAAAAwelcome".into();
    let rewrapped = envelope.encode();
    let before = snapshot(bob_store.as_ref());
    let refused = bob.receive_with_tree(
        "MxAAAAAAAAAAAAAAAAAAwelcome",
        &rewrapped,
        Some(&pending.ratchet_tree),
    );
    assert!(matches!(refused, Err(ClientError::Replayed)), "{refused:?}");
    assert_eq!(snapshot(bob_store.as_ref()), before, "nothing stored");
    assert_eq!(
        bob.security_state(&id).unwrap().status,
        ConversationStatus::Removed
    );
    // After the replay window the content ledger is purged: the epoch
    // rule still refuses the old Welcome.
    net.clock.advance(2 * 86_400);
    bob.maintenance().unwrap();
    let before = snapshot(bob_store.as_ref());
    let refused = bob.receive_with_tree(
        "MxAAAAAAAAAAAAAAAAAAwelcome",
        &rewrapped,
        Some(&pending.ratchet_tree),
    );
    assert!(matches!(refused, Err(ClientError::Replayed)), "{refused:?}");
    assert_eq!(snapshot(bob_store.as_ref()), before, "nothing stored");
}

// ---- finding 13: gossiped roots verified before they count -----------------

/// Bob, a hostile member, gossips roots at epoch 2^63: one the log never
/// signed, and one the log signed but no witness co-signed (Alice requires
/// one). Neither counts: Alice's remembered roots are unchanged and later
/// genuine lookups still verify.
#[test]
fn gossiped_forged_root_at_epoch_2_pow_63_changes_nothing() {
    let mut w = world();
    w.alice
        .record_lookup(&number(BOB), &w.log.lookup(BOB))
        .unwrap();
    let genuine = w.log.log.latest_root().unwrap().unwrap();
    let mut statement = genuine.statement.clone();
    statement.epoch = 1 << 63;
    statement.root_hash = B64(vec![0x42; 32]);
    let unsigned = sign_root(&SigningKey::generate().unwrap(), statement.clone()).unwrap();
    let unwitnessed = sign_root(&w.log.log_key, statement).unwrap();
    for forged in [unsigned, unwitnessed] {
        let seen_before = seen_roots_row(&w.alice_store);
        let sent = gossip_raw(&mut w, vec![forged]);
        match w.alice.receive(&sent.message_id, &sent.envelope).unwrap() {
            Received::Transparency { alerts, .. } => assert!(alerts.is_empty(), "{alerts:?}"),
            other => panic!("expected gossip, got {other:?}"),
        }
        assert_eq!(
            seen_roots_row(&w.alice_store),
            seen_before,
            "nothing counted"
        );
        assert!(w.alice.transparency_alerts().unwrap().is_empty());
    }
    // A later genuine epoch still verifies.
    w.net.clock.advance(60);
    let dave = w.net.phone("+15551230004", DeviceProfile::Android);
    w.log
        .publish(&[("+15551230004", &[&dave])], w.net.clock.now());
    w.alice
        .record_lookup(&number(BOB), &w.log.lookup(BOB))
        .unwrap();
    assert_ne!(seen_roots_row(&w.alice_store), None);
}

/// Bob, a hostile member, relays "proofs" that would prove keys they do
/// not: his own genuine proof labelled as Carol's, and Carol's proof with
/// a root the log never signed. Both are ignored: Alice's recorded proofs
/// and remembered roots are unchanged.
#[test]
fn relayed_forged_proof_proves_nothing() {
    let mut w = world();
    let carol_row = format!("kt/contact/{CAROL}").into_bytes();
    let mut carol_forged = w.log.lookup(CAROL);
    carol_forged.root = sign_root(
        &SigningKey::generate().unwrap(),
        carol_forged.root.statement.clone(),
    )
    .unwrap();
    // A genuine proof of Carol's number relayed by Bob counts for nothing
    // either: a member relays its own number's proof only (KT-RELAY-1),
    // or an old one could roll Carol's recorded keys back.
    let carol_genuine = w.log.lookup(CAROL);
    for (n, answer) in [
        (CAROL, w.log.lookup(BOB)),
        (CAROL, carol_forged),
        (CAROL, carol_genuine),
    ] {
        let before = (
            w.alice_store.get(Table::Device, &carol_row).unwrap(),
            seen_roots_row(&w.alice_store),
        );
        let body = serde_json::to_vec(&serde_json::json!({"number": n, "answer": answer})).unwrap();
        let sent = bob_sends_raw(&mut w, ApplicationPayload::new(KT_PROOF, body));
        match w.alice.receive(&sent.message_id, &sent.envelope).unwrap() {
            Received::Transparency { alerts, .. } => assert!(alerts.is_empty(), "{alerts:?}"),
            other => panic!("expected a relayed proof, got {other:?}"),
        }
        let after = (
            w.alice_store.get(Table::Device, &carol_row).unwrap(),
            seen_roots_row(&w.alice_store),
        );
        assert_eq!(after, before, "nothing recorded");
    }
    alice_text(&mut w);
}

/// The stored row of roots Alice has seen.
fn seen_roots_row(store: &Arc<MemoryStore>) -> Option<Vec<u8>> {
    store.get(Table::Device, b"kt/seen-roots").unwrap()
}

/// A compromised Bob sends `roots` as gossip.
fn gossip_raw(w: &mut World, roots: Vec<SignedRoot>) -> Outbound {
    let payload = ApplicationPayload::new(KT_GOSSIP, serde_json::to_vec(&roots).unwrap());
    bob_sends_raw(w, payload)
}

/// A compromised Bob sends `payload` verbatim: the record of a genuine
/// message he sent is rewritten in his store, then resent.
fn bob_sends_raw(w: &mut World, payload: ApplicationPayload) -> Outbound {
    // The original is never delivered: its resend is shown as new.
    let original = w.bob.send_text(&w.id, "original").unwrap().outbound;
    let rows = w.bob_store.scan(Table::Sent, &[]).unwrap();
    let (key, value) = rows
        .into_iter()
        .find(|(k, _)| k.ends_with(original.message_id.as_bytes()))
        .unwrap();
    let mut record: Value = ciborium::from_reader(value.as_slice()).unwrap();
    for (k, v) in record.as_map_mut().unwrap() {
        if k.as_text() == Some("payload") {
            *v = Value::Bytes(payload.encode(0));
        }
    }
    let mut bytes = Vec::new();
    ciborium::into_writer(&record, &mut bytes).unwrap();
    w.bob_store
        .commit(WriteBatch(vec![Write::Put(Table::Sent, key, bytes)]))
        .unwrap();
    w.bob
        .resend_after_report(&w.id, &original.message_id)
        .unwrap()
        .outbound
}

// ---- finding 14 (b): revocations scoped by issuer --------------------------

/// Provider X publishes a revocation list naming the serial of Bob's
/// credential (issued by another CA). Recorded under X's CA key, it
/// revokes nothing of Bob's; the same serial from Bob's own issuer does.
#[test]
fn one_providers_revocation_list_cannot_revoke_another_providers_credential() {
    let net = Net::new();
    let mut alice = net.phone(ALICE, DeviceProfile::Android);
    let mut bob = net.phone(BOB, DeviceProfile::Ios);
    // Bob's serials, and the key that issued each (his development
    // credentials are issued by his own participant keys).
    let mut serials = Vec::new();
    let mut issuers: Vec<PublicKey> = Vec::new();
    for suite in bob.suites().to_vec() {
        let leaf = bob.credential_chain(suite)[0].clone();
        serials.push(
            UnverifiedCredential::parse(&leaf)
                .unwrap()
                .serial()
                .to_ascii_uppercase(),
        );
        issuers.push(bob.participant_key(suite).unwrap());
    }
    // Provider X's CA keys: keys that issued nothing of Bob's.
    let x = net.phone(CAROL, DeviceProfile::Android);
    for algorithm in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Ed25519] {
        let suite = *x
            .suites()
            .iter()
            .find(|s| s.signature_algorithm() == algorithm)
            .unwrap();
        alice
            .note_revoked(&x.participant_key(suite).unwrap(), &serials)
            .unwrap();
    }
    let pending = alice
        .create_conversation(NewConversation::OneToOne, &[claim(BOB, &mut [&mut bob])])
        .unwrap();
    alice.commit_rejected(&pending).unwrap();
    // The same serials from Bob's own issuer revoke his credentials.
    for issuer in &issuers {
        alice.note_revoked(issuer, &serials).unwrap();
    }
    let refused =
        alice.create_conversation(NewConversation::OneToOne, &[claim(BOB, &mut [&mut bob])]);
    assert!(
        matches!(
            refused,
            Err(ClientError::Credential(
                credential::CredentialError::Revoked { .. }
            ))
        ),
        "{refused:?}"
    );
}

mod thief {
    //! Attacks on the device (issue 14): the thief with the phone.
    //!
    //! The thief images the phone's storage while the app runs (the database
    //! and its WAL as they are on disk at that moment) and, at worst, also gets
    //! the database key out of the platform key store. Forward secrecy then
    //! rests on one property: an epoch secret the client has deleted is gone
    //! from the files, not merely unlinked (STORE-ERASE-1/2).
    //!
    //! SQLCipher encrypts every page at rest with a fresh IV per write, so
    //! scanning the raw files would find nothing whatever the store does. The
    //! test therefore decrypts every page itself, as the thief with the key
    //! would: the main file page by page (free pages included) and every frame
    //! of the WAL (earlier images of pages included), with SQLCipher 4's page
    //! format (AES-256-CBC, the raw key, a 16-byte IV and a 64-byte HMAC at the
    //! end of each page; page 1 starts with the 16-byte salt in clear).

    use std::path::{Path, PathBuf};

    use aws_lc_rs::cipher::{AES_256, DecryptingKey, DecryptionContext, UnboundCipherKey};
    use aws_lc_rs::iv::FixedLength;
    use crosslock_client::store::{DatabaseKey, SqliteStore, StateStore, Table, Write, WriteBatch};

    const KEY: [u8; 32] = [0x5C; 32];
    /// SQLCipher 4 defaults: 4 KiB pages, 80 reserved bytes (IV 16, HMAC-SHA512 64).
    const PAGE: usize = 4096;
    const RESERVE: usize = 80;
    const SALT: usize = 16;
    const WAL_HEADER: usize = 32;
    const FRAME_HEADER: usize = 24;

    /// A recognisable stand-in for an epoch secret (mls-rs writes prior-epoch
    /// secrets to `Table::Epoch`).
    const SECRET: &[u8] = b"crosslock-test-old-epoch-secret!";
    /// A row that stays: proves the scanner reads the snapshot it is given.
    const LIVE: &[u8] = b"crosslock-test-live-conversation";

    /// Decrypts one SQLCipher page; `first` for page 1 (salt in clear).
    fn decrypt_page(page: &[u8], first: bool) -> Vec<u8> {
        assert_eq!(page.len(), PAGE);
        let start = if first { SALT } else { 0 };
        let iv: [u8; 16] = page[PAGE - RESERVE..PAGE - RESERVE + 16]
            .try_into()
            .unwrap();
        let mut data = page[start..PAGE - RESERVE].to_vec();
        let key = DecryptingKey::cbc(UnboundCipherKey::new(&AES_256, &KEY).unwrap()).unwrap();
        key.decrypt(&mut data, DecryptionContext::Iv128(FixedLength::from(iv)))
            .unwrap();
        if first {
            // The SQLite header after the salt: page size 4096 at offset 16,
            // 80 reserved bytes at 20, payload fractions 64/32/32 at 21..24. If
            // these hold, the decryption is right.
            assert_eq!(&data[0..2], &[0x10, 0x00], "page size");
            assert_eq!(&data[4..8], &[80, 64, 32, 32], "reserve and fractions");
        }
        data
    }

    /// Every page of the main file and every frame of the WAL, decrypted.
    struct Image {
        main: Vec<Vec<u8>>,
        wal: Vec<Vec<u8>>,
    }

    impl Image {
        /// Reads the files as they are on disk now (while the store may still
        /// be open: the thief's snapshot).
        fn take(db: &Path) -> Self {
            let bytes = std::fs::read(db).unwrap();
            assert_eq!(bytes.len() % PAGE, 0);
            let main = bytes
                .chunks(PAGE)
                .enumerate()
                .map(|(i, page)| decrypt_page(page, i == 0))
                .collect();
            let wal_path = PathBuf::from(format!("{}-wal", db.display()));
            let wal_bytes = std::fs::read(&wal_path).unwrap_or_default();
            let mut wal = Vec::new();
            if !wal_bytes.is_empty() {
                assert_eq!(
                    u32::from_be_bytes(wal_bytes[8..12].try_into().unwrap()),
                    PAGE as u32,
                    "WAL page size"
                );
                for frame in wal_bytes[WAL_HEADER..].chunks(FRAME_HEADER + PAGE) {
                    if frame.len() < FRAME_HEADER + PAGE {
                        break;
                    }
                    let page_no = u32::from_be_bytes(frame[0..4].try_into().unwrap());
                    wal.push(decrypt_page(&frame[FRAME_HEADER..], page_no == 1));
                }
            }
            Image { main, wal }
        }

        fn in_main(&self, needle: &[u8]) -> bool {
            self.main.iter().any(|p| contains(p, needle))
        }

        fn in_wal(&self, needle: &[u8]) -> bool {
            self.wal.iter().any(|p| contains(p, needle))
        }

        /// Whether any piece of the secret (either half) is anywhere.
        fn holds_any_of(&self, secret: &[u8]) -> bool {
            let (a, b) = secret.split_at(secret.len() / 2);
            [secret, a, b]
                .iter()
                .any(|n| self.in_main(n) || self.in_wal(n))
        }
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    /// A prior-epoch record: small (in a b-tree cell) or large (spilling onto
    /// overflow pages, which a delete frees).
    fn epoch_rows() -> Vec<(Vec<u8>, Vec<u8>)> {
        let small = [&[0u8; 8][..], SECRET].concat();
        let mut large = vec![0x42u8; 20_000];
        for at in [100, 5_000, 9_000, 14_000, 19_000] {
            large[at..at + SECRET.len()].copy_from_slice(SECRET);
        }
        vec![
            (b"group-1/epoch-1".to_vec(), small),
            (b"group-1/epoch-2".to_vec(), large),
        ]
    }

    #[test]
    fn thief_with_the_phone_finds_no_deleted_epoch_secret_in_the_database_files() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("device.db");
        let key = DatabaseKey::new(KEY);

        // The device stores prior-epoch secrets (kept 3 days for late messages)
        // and a conversation that stays.
        let store = SqliteStore::open(&db, &key).unwrap();
        let mut writes: Vec<Write> = epoch_rows()
            .into_iter()
            .map(|(k, v)| Write::Put(Table::Epoch, k, v))
            .collect();
        writes.push(Write::Put(
            Table::Conversation,
            b"conversation".to_vec(),
            LIVE.to_vec(),
        ));
        store.commit(WriteBatch(writes)).unwrap();
        // Control: while the secrets are live, the scanner finds them (in the
        // WAL, where the fresh pages are).
        let live = Image::take(&db);
        assert!(live.in_wal(SECRET), "the scanner reads the WAL");
        drop(store);
        // Control: after a restart they sit in the main file.
        let at_rest = Image::take(&db);
        assert!(at_rest.in_main(SECRET), "the scanner reads the main file");

        // Three days later the epochs are pruned.
        let store = SqliteStore::open(&db, &key).unwrap();
        let prune = epoch_rows()
            .into_iter()
            .map(|(k, _)| Write::Delete(Table::Epoch, k))
            .collect();
        store.commit(WriteBatch(prune)).unwrap();
        assert_eq!(store.scan(Table::Epoch, b"").unwrap(), vec![]);

        // The thief images the phone with the app still running...
        let seized = Image::take(&db);
        assert!(seized.in_main(LIVE), "the snapshot is readable");
        assert!(
            !seized.holds_any_of(SECRET),
            "a deleted epoch secret survives in the running device's files \
             (main file: {}, WAL: {})",
            seized.in_main(SECRET),
            seized.in_wal(SECRET)
        );
        // ...or after the app closed.
        drop(store);
        let closed = Image::take(&db);
        assert!(closed.in_main(LIVE));
        assert!(!closed.holds_any_of(SECRET));

        // The store still works and still holds what was not deleted.
        let store = SqliteStore::open(&db, &key).unwrap();
        assert_eq!(
            store.get(Table::Conversation, b"conversation").unwrap(),
            Some(LIVE.to_vec())
        );
    }

    #[test]
    fn erase_history_leaves_no_earlier_version_of_a_replaced_row() {
        // A group snapshot is replaced at every epoch; its earlier versions
        // carry earlier epochs' secrets. `erase_history` removes them on demand.
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("device.db");
        let store = SqliteStore::open(&db, &DatabaseKey::new(KEY)).unwrap();
        let put = |v: &[u8]| {
            store
                .commit(WriteBatch(vec![Write::Put(
                    Table::GroupState,
                    b"group-1".to_vec(),
                    v.to_vec(),
                )]))
                .unwrap();
        };
        put(SECRET);
        put(LIVE);
        let before = Image::take(&db);
        assert!(before.in_wal(SECRET), "the replaced version is in the WAL");
        store.erase_history().unwrap();
        let after = Image::take(&db);
        assert!(after.in_main(LIVE));
        assert!(!after.holds_any_of(SECRET));
        assert!(after.wal.is_empty(), "the WAL is truncated");
    }
}

// ---- finding 8: no silent post-quantum downgrade ---------------------------

/// 0x004F (X-Wing KEM), the post-quantum suite.
const XWING: u16 = 0x004F;

/// The claim answer a hostile KDS hands out: the genuine one (every
/// device's KeyPackages, the genuine lookup proof) minus the post-quantum
/// KeyPackages of the devices `strip` selects.
fn stripped_claim(
    log: &Log,
    n: &str,
    devices: &mut [&mut Device],
    strip: &[bool],
) -> ParticipantKeyPackages {
    ParticipantKeyPackages {
        number: number(n),
        devices: devices
            .iter_mut()
            .zip(strip)
            .map(|(d, strip)| {
                let batch = d.generate_key_packages(1).unwrap();
                DeviceKeyPackages(
                    batch
                        .key_packages
                        .into_iter()
                        .filter(|(s, _)| !(*strip && s.is_post_quantum()))
                        .map(|(_, kp)| kp)
                        .collect(),
                )
            })
            .collect(),
        transparency: Some(log.lookup(n)),
    }
}

fn without_xwing(suites: &[u16]) -> Vec<u16> {
    suites.iter().copied().filter(|s| *s != XWING).collect()
}

/// The refusal's transparency reason, for `number`.
fn kt_refusal<T: std::fmt::Debug>(result: Result<T, ClientError>, n: &str) -> KtError {
    match result {
        Err(ClientError::Transparency {
            number: got,
            source,
        }) => {
            assert_eq!(got, number(n));
            source
        }
        other => panic!("expected a transparency refusal, got {other:?}"),
    }
}

/// KT-SUITE-2: Alice's provider withholds Bob's X-Wing KeyPackages from a
/// genuine claim answer (from both of his devices, then from one), so
/// that negotiation would pick a classical suite. The proven binding says
/// his devices serve X-Wing: refused with `SuiteWithheld`, nothing
/// stored, no conversation. The genuine answer gives a post-quantum one.
#[test]
fn hostile_kds_stripping_post_quantum_key_packages_is_refused() {
    let net = Net::new();
    let log = Log::new(T0);
    let (mut alice, alice_store) = kt_phone(&net, &log, ALICE);
    let (mut bob, _) = kt_phone(&net, &log, BOB);
    let (mut bob2, _) = kt_phone(&net, &log, BOB);
    log.publish(&[(ALICE, &[&alice]), (BOB, &[&bob, &bob2])], T0);
    let before = snapshot(alice_store.as_ref());
    for strip in [[true, true], [false, true]] {
        let claim = stripped_claim(&log, BOB, &mut [&mut bob, &mut bob2], &strip);
        let refused = alice.create_conversation(NewConversation::OneToOne, &[claim]);
        match kt_refusal(refused, BOB) {
            KtError::SuiteWithheld { device_id, suite } => {
                assert_eq!(suite, XWING);
                if strip[0] {
                    assert!(device_id == bob.device_id() || device_id == bob2.device_id());
                } else {
                    assert_eq!(device_id, bob2.device_id());
                }
            }
            other => panic!("expected SuiteWithheld, got {other:?}"),
        }
        assert_eq!(snapshot(alice_store.as_ref()), before, "nothing stored");
        assert!(alice.conversations().unwrap().is_empty());
    }
    let claim = kt_claim(&log, BOB, &mut [&mut bob, &mut bob2]);
    let pending = alice
        .create_conversation(NewConversation::OneToOne, &[claim])
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let state = alice.security_state(&pending.conversation).unwrap();
    assert_eq!(state.suite, Suite::MlKem768X25519Aes128);
    assert!(state.suite_downgrades.is_empty());
}

/// KT-SUITE-2 under `SuiteDowngradePolicy::Warn`: the same stripped claim
/// answer goes through (classical suite), and the conversation's security
/// state names the contact, the device and the withheld suite. A later
/// claim offering every post-quantum KeyPackage clears the warning.
#[test]
fn suite_downgrade_under_warn_policy_shows_in_security_state() {
    let net = Net::new();
    let log = Log::new(T0);
    let mut config = kt_config(&log);
    config.transparency.suite_downgrade = SuiteDowngradePolicy::Warn;
    let mut alice = net.phone_with(ALICE, DeviceProfile::Android, config);
    let (mut bob, _) = kt_phone(&net, &log, BOB);
    log.publish(&[(ALICE, &[&alice]), (BOB, &[&bob])], T0);
    let claim = stripped_claim(&log, BOB, &mut [&mut bob], &[true]);
    let pending = alice
        .create_conversation(NewConversation::OneToOne, &[claim])
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    let id = pending.conversation;
    let state = alice.security_state(&id).unwrap();
    assert!(!state.suite.is_post_quantum(), "{}", state.suite);
    let warnings = &state.suite_downgrades[&number(BOB)];
    assert_eq!(warnings.len(), 1);
    assert_eq!(
        (
            warnings[0].device_id.as_str(),
            warnings[0].suite,
            warnings[0].kind
        ),
        (bob.device_id(), XWING, DowngradeKind::Withheld)
    );
    // The genuine answer: post-quantum again, the warning is gone.
    let claim = kt_claim(&log, BOB, &mut [&mut bob]);
    let again = alice
        .create_conversation(
            NewConversation::Group {
                group_id: b"again".to_vec(),
            },
            &[claim],
        )
        .unwrap();
    alice.commit_accepted(&again).unwrap();
    assert_eq!(
        alice.security_state(&again.conversation).unwrap().suite,
        Suite::MlKem768X25519Aes128
    );
    assert!(
        alice
            .security_state(&id)
            .unwrap()
            .suite_downgrades
            .is_empty()
    );
}

/// KT-SUITE-3: Alice recorded Bob's proof listing X-Wing. His provider
/// then publishes his same keys without X-Wing (and later as an old,
/// suite-less binding) and answers claims without X-Wing KeyPackages, a
/// consistent story. Alice refuses both the lookup and the claim with
/// `SuiteDisappeared`; nothing stored, no conversation.
#[test]
fn contact_post_quantum_suite_disappearing_from_the_binding_is_refused() {
    let net = Net::new();
    let log = Log::new(T0);
    let (mut alice, alice_store) = kt_phone(&net, &log, ALICE);
    let (mut bob, _) = kt_phone(&net, &log, BOB);
    log.publish(&[(ALICE, &[&alice]), (BOB, &[&bob])], T0);
    alice.record_lookup(&number(BOB), &log.lookup(BOB)).unwrap();
    let classical = binding_serving(&[&bob], without_xwing);
    let suiteless = binding_serving(&[&bob], |_| Vec::new());
    assert_eq!(suiteless.encode()[0], 1, "an old (version 1) encoding");
    for hostile in [classical, suiteless] {
        net.clock.advance(60);
        log.publish_binding(BOB, hostile, net.clock.now());
        let before = snapshot(alice_store.as_ref());
        let refused = alice.record_lookup(&number(BOB), &log.lookup(BOB));
        assert!(
            matches!(
                kt_refusal(refused, BOB),
                KtError::SuiteDisappeared { ref device_id, suite: XWING } if device_id == bob.device_id()
            ),
            "lookup"
        );
        let claim = stripped_claim(&log, BOB, &mut [&mut bob], &[true]);
        let refused = alice.create_conversation(NewConversation::OneToOne, &[claim]);
        assert!(matches!(
            kt_refusal(refused, BOB),
            KtError::SuiteDisappeared { suite: XWING, .. }
        ));
        assert_eq!(snapshot(alice_store.as_ref()), before, "nothing stored");
        assert!(alice.conversations().unwrap().is_empty());
    }
}

/// KT-SUITE-4: a provider publishing the owner's keys with fewer suites
/// than the device serves (so contacts would not notice X-Wing withheld)
/// is caught by the owner's own-history check.
#[test]
fn provider_listing_fewer_suites_raises_the_owners_alert() {
    let net = Net::new();
    let log = Log::new(T0);
    let (mut alice, _) = kt_phone(&net, &log, ALICE);
    log.publish(&[(ALICE, &[&alice])], T0);
    let history = |log: &Log| log.rt.block_on(log.log.history(&number(ALICE))).unwrap();
    let alerts = alice.check_own_history(&history(&log)).unwrap();
    assert!(
        !alerts
            .iter()
            .any(|a| matches!(a, TransparencyAlert::OwnSuitesMissing { .. })),
        "{alerts:?}"
    );
    net.clock.advance(60);
    log.publish_binding(
        ALICE,
        binding_serving(&[&alice], without_xwing),
        net.clock.now(),
    );
    let alerts = alice.check_own_history(&history(&log)).unwrap();
    assert!(
        alerts.iter().any(|a| matches!(
            a,
            TransparencyAlert::OwnSuitesMissing { suites, .. } if *suites == vec![XWING]
        )),
        "{alerts:?}"
    );
}

/// KT-SUITE-1: a binding with suites goes through the real log and comes
/// back equal (version 2); one published before suites were recorded
/// (version 1) still decodes and proves its keys, with suites unknown, so
/// an old number's contacts keep working.
#[test]
fn binding_suites_round_trip_and_old_bindings_still_prove_keys() {
    let net = Net::new();
    let log = Log::new(T0);
    let (mut alice, _) = kt_phone(&net, &log, ALICE);
    let (bob, _) = kt_phone(&net, &log, BOB);
    let (mut carol, _) = kt_phone(&net, &log, CAROL);
    log.publish(&[(ALICE, &[&alice]), (BOB, &[&bob])], T0);
    log.publish_binding(CAROL, binding_serving(&[&carol], |_| Vec::new()), T0);
    let trusted = log.trusted();
    let proven = trusted
        .verify_lookup(&number(BOB), &log.lookup(BOB), T0)
        .unwrap();
    assert_eq!(proven.binding, binding_of(&[&bob]));
    assert_eq!(proven.binding.encode()[0], 2);
    assert_eq!(
        proven.binding.suites_of(bob.device_id()),
        Some([0x0001, 0x0002, XWING].into_iter().collect())
    );
    let old = trusted
        .verify_lookup(&number(CAROL), &log.lookup(CAROL), T0)
        .unwrap();
    assert_eq!(old.binding.encode()[0], 1);
    assert_eq!(old.binding.suites_of(carol.device_id()), None);
    let claim = kt_claim(&log, CAROL, &mut [&mut carol]);
    let pending = alice
        .create_conversation(NewConversation::OneToOne, &[claim])
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    assert_eq!(
        alice.security_state(&pending.conversation).unwrap().suite,
        Suite::MlKem768X25519Aes128
    );
}

/// `envelope` with an `mls.Original-Message-ID` header naming `original`.
fn with_original_header(envelope: &[u8], original: &str) -> Vec<u8> {
    let mut e = wire::cpim::MlsEnvelope::decode(envelope).unwrap();
    e.original_message_id = Some(original.to_owned());
    e.encode()
}

/// The delivery service writes `mls.Original-Message-ID` (outside MLS, so
/// nothing authenticates it) onto genuine messages of Alice that carry no
/// resend link: on one naming a message Bob already showed, to have it
/// dropped as a duplicate of it; on one naming a message still to come, so
/// that the later genuine message is dropped. Both must be shown, as
/// themselves (RCV-RESEND-2: only the authenticated link names an original).
#[test]
fn server_cannot_make_a_message_a_duplicate_with_an_unauthenticated_header() {
    let net = Net::new();
    let (mut alice, mut bob, _carol, id) = group_of_three(&net);
    let meet = alice.send_text(&id, "meet at 5").unwrap().outbound;
    let cancel = alice
        .send_text(&id, "cancelled, do not come")
        .unwrap()
        .outbound;
    assert_eq!(
        text_of(&bob.receive(&meet.message_id, &meet.envelope).unwrap()),
        "meet at 5"
    );
    let tagged = with_original_header(&cancel.envelope, &meet.message_id);
    match bob.receive(&cancel.message_id, &tagged).unwrap() {
        Received::Message(m) => assert_eq!(m.resend_of, None),
        other => panic!("a genuine message was suppressed: {other:?}"),
    }
    // Naming a message still to come.
    let first = alice.send_text(&id, "first").unwrap().outbound;
    let second = alice.send_text(&id, "second").unwrap().outbound;
    let tagged = with_original_header(&second.envelope, &first.message_id);
    match bob.receive(&second.message_id, &tagged).unwrap() {
        Received::Message(m) => assert_eq!(m.resend_of, None),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        text_of(&bob.receive(&first.message_id, &first.envelope).unwrap()),
        "first"
    );
}

/// The delivery service (or anyone relaying) rewrites the failure-reason
/// arm of Carol's genuine signed negative receipt. The signed derived
/// content carries `failure_reason` 0 for no arm, for every server reason
/// and for Google's own tokens, so it can swap one of those for another
/// (here: "encryption-not-available", "failed because of a downgrade")
/// without breaking the signature. What Bob's app is told must come from
/// the signature: no reason (RCPT-CONTENT-2).
#[test]
fn relay_cannot_put_an_unsigned_failure_reason_into_a_verified_receipt() {
    use crosslock_client::wire::imdn::{
        ClientReason, DeliveryStatus, FailureArm, Notification, ServerReason,
    };
    let net = Net::new();
    let (mut alice, mut bob, mut carol, id) = group_of_three(&net);
    for forged in [
        FailureArm::Server(ServerReason::EncryptionNotAvailable),
        FailureArm::Client(ClientReason::ControlMessageFailedDueToDowngrade),
    ] {
        let m = alice.send_text(&id, "hi").unwrap().outbound;
        let r = carol.negative_report(&id, &m.message_id, 0).unwrap();
        let mut envelope = wire::report::ReceiptEnvelope::decode(&r.envelope).unwrap();
        envelope.imdn.notification = Notification::Delivery(DeliveryStatus::Failed(Some(forged)));
        match bob.receive(&r.message_id, &envelope.encode()) {
            Ok(Received::NegativeReport { reason, .. }) => assert_eq!(reason, None),
            Err(ClientError::ReportRefused(_)) => {}
            other => panic!("an unsigned reason reached the app: {other:?}"),
        }
    }
    // A signed reason still arrives.
    let m = alice.send_text(&id, "hi").unwrap().outbound;
    let r = carol.negative_report(&id, &m.message_id, 4).unwrap();
    match bob.receive(&r.message_id, &r.envelope).unwrap() {
        Received::NegativeReport { reason, .. } => assert_eq!(
            reason,
            Some(FailureArm::Client(ClientReason::FailedToDecrypt))
        ),
        other => panic!("{other:?}"),
    }
}
