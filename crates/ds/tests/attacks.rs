#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Issue 14, delivery-service part: the attacks of a hostile peer provider
//! (finding 6) and of a hostile group member (finding 7), run the way the
//! attacker would: provider B's federation client certificate against
//! provider A's federation API, and a member's own device against the
//! delivery services, two providers on loopback with their real SQLite
//! stores. Each asserts the typed refusal and that A's DS tables are
//! exactly as before (row digests), and that the legitimate path still
//! works.

mod common;

use std::collections::BTreeMap;

use common::two::{Two, two_providers, two_providers_with};
use common::*;
use crosslock_client::credential::PhoneNumber;
use crosslock_client::*;
use crosslock_ds::{DsError, RateLimit};
use crosslock_wire::api::B64;
use crosslock_wire::api::ds::ServerReason;
use crosslock_wire::cpim::MlsEnvelope;
use crosslock_wire::report::ReceiptEnvelope;
use sha2::{Digest, Sha256};

const ALICE: &str = "+15550100001";
const CAROL: &str = "+15550100003";
const BOB: &str = "+447700900123";

// ---- helpers ------------------------------------------------------------------------

/// Every table of a DS's database: row count and digest of all rows,
/// once the outbox pump delivered what earlier requests queued (so that
/// only the request under test can make a difference).
async fn tables(ds: &DsServer) -> BTreeMap<String, (usize, String)> {
    let conn = rusqlite::Connection::open_with_flags(
        ds.dir.path().join("ds.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    for _ in 0..100 {
        let queued: i64 = conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
            .unwrap();
        if queued == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = BTreeMap::new();
    for table in names {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let mut row = String::new();
                for i in 0..columns {
                    row.push_str(&format!("{:?}|", r.get_ref(i)?));
                }
                Ok(row)
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        let digest = hex::encode(Sha256::digest(rows.concat().as_bytes()));
        out.insert(table, (rows.len(), digest));
    }
    assert!(out.contains_key("inbox") && out.contains_key("epoch_owners"));
    out
}

/// Provider B, turned hostile: posts to A's federation API with B's own
/// (configured, pinned) client certificate.
async fn b_delivers_to_a(p: &Two, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let client = crosslock_tls::https_client(p.client_tls_b.clone()).unwrap();
    let answer = client
        .post(format!("{}/federation/v1/ds/deliver", p.fed_url_a))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap())
}

/// B's delivery to A, refused with `want`; A's tables unchanged.
async fn refused(p: &Two, body: serde_json::Value, want: (u16, &str)) {
    let before = tables(&p.ds_a).await;
    let (status, answer) = b_delivers_to_a(p, &body).await;
    assert_eq!((status, reason(&answer).as_str()), want, "{answer}");
    assert!(
        answer["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{answer}"
    );
    assert_eq!(
        tables(&p.ds_a).await,
        before,
        "a refused delivery stored nothing"
    );
}

fn delivery(group: &[u8], to: serde_json::Value, id: &str, envelope: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "group_id": B64(group.to_vec()),
        "deliveries": [{ "recipient": to, "message_id": id, "envelope": B64(envelope.to_vec()) }],
    })
}

fn device_json(phone: &Phone) -> serde_json::Value {
    serde_json::json!({
        "number": phone.device.number().as_str(),
        "device": phone.device.device_id(),
    })
}

fn message_id(envelope: &[u8]) -> String {
    MlsEnvelope::decode(envelope).unwrap().message_id
}

fn rewrap(envelope: &[u8], change: impl FnOnce(&mut MlsEnvelope)) -> Vec<u8> {
    let mut e = MlsEnvelope::decode(envelope).unwrap();
    change(&mut e);
    e.encode()
}

/// Syncs until `n` results arrived (federation is asynchronous).
async fn sync_n(phone: &mut Phone, n: usize) -> Vec<Result<Received, ClientError>> {
    let mut all = Vec::new();
    for _ in 0..50 {
        all.extend(phone.sync_wait(2).await);
        if all.len() >= n {
            break;
        }
    }
    assert_eq!(all.len(), n, "{all:?}");
    all
}

/// Alice (A) created `group` with Bob (B) and Carol (A); both joined.
struct Group {
    p: Two,
    alice: Phone,
    bob: Phone,
    carol: Phone,
    id: ConversationId,
}

async fn group(p: Two, group_id: &[u8]) -> Group {
    let t = p.trust.clone();
    let mut alice = Phone::enroll(&p.a, &p.ds_a, ALICE, DeviceProfile::Android, t.clone()).await;
    let mut carol = Phone::enroll(&p.a, &p.ds_a, CAROL, DeviceProfile::Ios, t.clone()).await;
    let mut bob = Phone::enroll(&p.b, &p.ds_b, BOB, DeviceProfile::Ios, t).await;
    let members = [alice.claim(&p.a, BOB).await, alice.claim(&p.a, CAROL).await];
    let pending = alice
        .device
        .create_conversation(
            NewConversation::Group {
                group_id: group_id.to_vec(),
            },
            &members,
        )
        .unwrap();
    let id = pending.conversation.clone();
    alice.submit(&pending).await.unwrap();
    assert!(matches!(
        sync_n(&mut bob, 1).await[0],
        Ok(Received::Joined { .. })
    ));
    assert!(matches!(
        sync_n(&mut carol, 1).await[0],
        Ok(Received::Joined { .. })
    ));
    Group {
        p,
        alice,
        bob,
        carol,
        id,
    }
}

fn refused_for(result: Result<impl std::fmt::Debug, DsError>, want: ServerReason) {
    match result {
        Err(DsError::Refused { reason, .. }) if reason == want => {}
        other => panic!("expected {want:?}, got {other:?}"),
    }
}

// ---- finding 6: a hostile peer's deliveries ------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn peer_cannot_deliver_unparsable_envelopes() {
    let mut g = group(two_providers().await, b"fed-parse").await;
    let alice = device_json(&g.alice);
    let real = g
        .bob
        .device
        .send_text(&g.id, "real")
        .unwrap()
        .outbound
        .envelope;
    let id = message_id(&real);
    let group = g.id.as_bytes();
    // Not CPIM; CPIM around garbage instead of MLS; a real envelope under
    // another delivery id (the inbox keys on it).
    let garbage_mls = rewrap(&real, |e| e.body = vec![0xff; 40]);
    for (envelope, delivery_id) in [
        (b"AAAA".to_vec(), id.clone()),
        (garbage_mls, id.clone()),
        (real.clone(), "another-id".to_owned()),
    ] {
        refused(
            &g.p,
            delivery(group, alice.clone(), &delivery_id, &envelope),
            (400, "unparsable-envelope"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn peer_cannot_deliver_an_envelope_of_another_group() {
    let mut g = group(two_providers().await, b"fed-mismatch").await;
    let real = g
        .bob
        .device
        .send_text(&g.id, "real")
        .unwrap()
        .outbound
        .envelope;
    // A genuine envelope of the group, filed under other group ids.
    for other in [b"some-other-group".as_slice(), b"fed-mismatch-2"] {
        refused(
            &g.p,
            delivery(other, device_json(&g.alice), &message_id(&real), &real),
            (400, "group-mismatch"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn peer_cannot_deliver_a_receipt_of_another_group_or_without_a_group() {
    let mut g = group(two_providers().await, b"fed-receipt").await;
    let m = g.alice.text(&g.id, "hi").await;
    assert_eq!(texts(&sync_n(&mut g.bob, 1).await), ["hi"]);
    // Bob's genuine signed receipt (an IMDN; its rcs_signature names the
    // group), filed by B under another group id (DS-FED-2).
    let receipt = g
        .bob
        .device
        .delivery_receipt(&g.id, &m.outbound.message_id)
        .unwrap();
    let alice = device_json(&g.alice);
    refused(
        &g.p,
        delivery(
            b"some-other-group",
            alice.clone(),
            &receipt.message_id,
            &receipt.envelope,
        ),
        (400, "group-mismatch"),
    )
    .await;
    // The same receipt whose signature is not an MLS message: no group to
    // check, so it is not delivered (DS-FED-1).
    let mut bad = ReceiptEnvelope::decode(&receipt.envelope).unwrap();
    bad.signature = vec![0xff; 16];
    refused(
        &g.p,
        delivery(g.id.as_bytes(), alice, &receipt.message_id, &bad.encode()),
        (400, "unparsable-envelope"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn peer_cannot_deliver_to_devices_that_are_not_ours() {
    let mut g = group(two_providers().await, b"fed-recipients").await;
    let real = g
        .bob
        .device
        .send_text(&g.id, "real")
        .unwrap()
        .outbound
        .envelope;
    let id = message_id(&real);
    // A device A never enrolled, under a number A hosts; B's own device;
    // Carol's device after A revoked it.
    let unknown = serde_json::json!({
        "number": ALICE,
        "device": "0b3c6d2e-5a4f-4e21-9c77-3f1d2a6b8e90",
    });
    for to in [unknown, device_json(&g.bob)] {
        refused(
            &g.p,
            delivery(g.id.as_bytes(), to, &id, &real),
            (403, "unknown-recipient"),
        )
        .await;
    }
    let carol = device_json(&g.carol);
    g.p.a
        .kds
        .store()
        .revoke(Some(g.carol.device.device_id()), None, now())
        .unwrap();
    refused(
        &g.p,
        delivery(g.id.as_bytes(), carol, &id, &real),
        (403, "unknown-recipient"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn peer_cannot_take_over_a_group_hosted_here() {
    let mut g = group(two_providers().await, b"fed-hosted").await;
    // B writes a real envelope of A's group into Alice's inbox as if it
    // were the hub, also with Alice's own creation GroupInfo as "proof".
    let real = g
        .bob
        .device
        .send_text(&g.id, "real")
        .unwrap()
        .outbound
        .envelope;
    let mut body = delivery(
        g.id.as_bytes(),
        device_json(&g.alice),
        &message_id(&real),
        &real,
    );
    refused(&g.p, body.clone(), (403, "not-the-hub")).await;
    let info = g.p.ds_a.ds.store().conversation(g.id.as_bytes()).unwrap();
    assert!(matches!(info, Some(crosslock_ds::store::Hosting::Hub(_))));
    body["creation"] = serde_json::json!({ "group_info": B64(vec![0; 8]), "created_at": 1 });
    refused(&g.p, body, (403, "not-the-hub")).await;
    // The genuine path: Bob's message goes through A, the hub.
    g.bob.ds.message(&real).await.unwrap();
    assert_eq!(texts(&sync_n(&mut g.alice, 1).await), ["real"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn peer_cannot_become_hub_without_proof_of_creation_there() {
    let p = two_providers().await;
    let t = p.trust.clone();
    let mut alice = Phone::enroll(&p.a, &p.ds_a, ALICE, DeviceProfile::Android, t.clone()).await;
    let mut bob = Phone::enroll(&p.b, &p.ds_b, BOB, DeviceProfile::Ios, t).await;
    // A group id A does not know yet. B's envelope for it: the creation
    // commit of a group Alice's device made and never submitted, whose
    // GroupInfo is signed by Alice (homed at A, not B).
    let pending = alice
        .device
        .create_conversation(
            NewConversation::Group {
                group_id: b"00000000-0000-4000-8000-000000000a05".to_vec(),
            },
            &[alice.claim(&p.a, BOB).await],
        )
        .unwrap();
    let envelope = pending.commit.envelope.clone();
    let id = message_id(&envelope);
    let mut body = delivery(
        b"00000000-0000-4000-8000-000000000a05",
        device_json(&alice),
        &id,
        &envelope,
    );
    refused(&p, body.clone(), (409, "hub-unproven")).await;
    let epoch_one = B64(pending.group_info.clone());
    for (group_info, created_at) in [
        (epoch_one.clone(), now()),          // created by a device homed at A
        (epoch_one.clone(), now() + 86_400), // "created" tomorrow
        (B64(b"not a GroupInfo".to_vec()), now()),
    ] {
        body["creation"] =
            serde_json::json!({ "group_info": group_info, "created_at": created_at });
        refused(&p, body.clone(), (403, "hub-proof-refused")).await;
    }
    alice.device.commit_rejected(&pending).unwrap();
    // B's device's genuine creation, proving hub B, for another group id:
    // refused as proof for this one.
    let bobs = bob
        .device
        .create_conversation(
            NewConversation::Group {
                group_id: b"00000000-0000-4000-8000-000000000a03".to_vec(),
            },
            &[bob.claim(&p.b, ALICE).await],
        )
        .unwrap();
    body["creation"] =
        serde_json::json!({ "group_info": B64(bobs.group_info.clone()), "created_at": now() });
    refused(&p, body, (403, "hub-proof-refused")).await;
    // The genuine path: Bob's group is created at B, B's pump proves it to
    // A, and Alice joins.
    bob.submit(&bobs).await.unwrap();
    assert!(matches!(
        sync_n(&mut alice, 1).await[0],
        Ok(Received::Joined { .. })
    ));
    assert!(matches!(
        p.ds_a.ds.store().conversation(b"00000000-0000-4000-8000-000000000a03").unwrap(),
        Some(crosslock_ds::store::Hosting::Follower { ref hub }) if hub == "kds.b.example"
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn peer_cannot_prove_creation_by_a_number_homed_elsewhere() {
    // A's numbering plan homes +44 numbers at a third provider, C; B's CA
    // nevertheless certified Bob's +44 number.
    let mut plan = crosslock_client::credential::NumberingPlan::new();
    plan.add_all(["+1"], "kds.a.example").unwrap();
    plan.add_all(["+44"], "kds.c.example").unwrap();
    let p = two_providers_with(|c| c.numbering = Some(plan)).await;
    let t = p.trust.clone();
    let mut alice = Phone::enroll(&p.a, &p.ds_a, ALICE, DeviceProfile::Android, t.clone()).await;
    let mut bob = Phone::enroll(&p.b, &p.ds_b, BOB, DeviceProfile::Ios, t).await;
    let bobs = bob
        .device
        .create_conversation(
            NewConversation::Group {
                group_id: b"00000000-0000-4000-8000-000000000a04".to_vec(),
            },
            &[bob.claim(&p.b, ALICE).await],
        )
        .unwrap();
    let welcome = bobs.welcome.as_ref().unwrap().envelope.clone();
    let mut body = delivery(
        b"00000000-0000-4000-8000-000000000a04",
        device_json(&alice),
        &message_id(&welcome),
        &welcome,
    );
    body["creation"] =
        serde_json::json!({ "group_info": B64(bobs.group_info.clone()), "created_at": now() });
    refused(&p, body, (403, "hub-proof-refused")).await;
    // B's own pump meets the same refusal: Alice never joins, A never
    // follows the group at B.
    bob.submit(&bobs).await.unwrap();
    assert!(alice.sync_wait(3).await.is_empty());
    assert!(
        p.ds_a
            .ds
            .store()
            .conversation(b"00000000-0000-4000-8000-000000000a04")
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn peer_flood_is_rate_limited_per_peer() {
    let p = two_providers_with(|c| {
        c.peer_rate = RateLimit {
            burst: 3.0,
            per_second: 0.001,
        }
    })
    .await;
    let alice = Phone::enroll(
        &p.a,
        &p.ds_a,
        ALICE,
        DeviceProfile::Android,
        p.trust.clone(),
    )
    .await;
    let body = delivery(b"flood", device_json(&alice), "flood-1", b"AAAA");
    for _ in 0..3 {
        refused(&p, body.clone(), (400, "unparsable-envelope")).await;
    }
    for _ in 0..3 {
        refused(&p, body.clone(), (429, "rate-limited")).await;
    }
    // A's own devices are not limited by B's budget.
    assert!(alice.ds.inbox(0, 10, 0).await.unwrap().items.is_empty());
}

// ---- finding 7: a member cannot wedge a conversation --------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn member_cannot_pin_a_garbage_epoch_authenticator() {
    let mut g = group(
        two_providers().await,
        b"00000000-0000-4000-8000-000000000a02",
    )
    .await;
    let store = g.p.ds_a.ds.store().clone();
    let pin = |store: &std::sync::Arc<dyn crosslock_ds::store::DsStore>| {
        store
            .epoch_authenticator(b"00000000-0000-4000-8000-000000000a02", 1, 1)
            .unwrap()
    };
    // Bob (at B) speaks first in the epoch Alice opened, with garbage.
    // Nothing is pinned yet, so it is relayed, pins nothing, and the
    // members' clients drop it (RCV-AUTH-1).
    let poison = |bob: &mut Phone, id: &ConversationId, byte: u8| {
        let sent = bob.device.send_text(id, "poison").unwrap();
        rewrap(&sent.outbound.envelope, |e| {
            e.epoch_authenticator = [byte; 32]
        })
    };
    let first = poison(&mut g.bob, &g.id, 0xaa);
    g.bob.ds.message(&first).await.unwrap();
    assert_eq!(pin(&store), None, "a member's claim pins nothing");
    // Carol's honest message goes through and pins nothing either.
    g.carol.text(&g.id, "carol here").await;
    assert_eq!(pin(&store), None);
    // Alice opened the epoch: her message pins the true authenticator.
    g.alice.text(&g.id, "alice here").await;
    let truth = g
        .alice
        .device
        .security_state(&g.id)
        .unwrap()
        .epoch_authenticator;
    assert_eq!(pin(&store), Some(truth));
    // Bob's garbage is now refused, and changes nothing.
    let later = poison(&mut g.bob, &g.id, 0xbb);
    let before = tables(&g.p.ds_a).await;
    refused_for(
        g.bob.ds.message(&later).await,
        ServerReason::IncorrectEpochAuthenticator,
    );
    assert_eq!(tables(&g.p.ds_a).await, before);
    // Honest messages and the commit removing Bob still go through.
    g.carol.text(&g.id, "still fine").await;
    let removal = g
        .alice
        .device
        .remove_participant(&g.id, &PhoneNumber::parse(BOB).unwrap())
        .unwrap();
    assert_eq!(g.alice.submit(&removal).await.unwrap().epoch, 2);
    // Carol: the first poison is dropped by her client, the rest arrive.
    let got = sync_n(&mut g.carol, 3).await;
    assert!(
        matches!(got[0], Err(ClientError::EpochAuthenticatorMismatch)),
        "{got:?}"
    );
    assert_eq!(texts(&got), ["alice here"]);
    assert!(matches!(got[2], Ok(Received::Commit(_))), "{got:?}");
    assert_eq!(
        g.carol
            .device
            .security_state(&g.id)
            .unwrap()
            .epoch_authenticator,
        g.alice
            .device
            .security_state(&g.id)
            .unwrap()
            .epoch_authenticator
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn member_that_opened_an_epoch_cannot_block_its_own_removal() {
    let mut g = group(
        two_providers().await,
        b"00000000-0000-4000-8000-000000000a01",
    )
    .await;
    // Bob (at B) opens epoch 2 with a key update, then pins garbage for
    // it with his first message.
    let update = g.bob.device.update_keys(&g.id).unwrap();
    assert_eq!(g.bob.submit(&update).await.unwrap().epoch, 2);
    assert!(matches!(
        sync_n(&mut g.alice, 1).await[0],
        Ok(Received::Commit(_))
    ));
    assert!(matches!(
        sync_n(&mut g.carol, 1).await[0],
        Ok(Received::Commit(_))
    ));
    let sent = g.bob.device.send_text(&g.id, "poison").unwrap();
    let poison = rewrap(&sent.outbound.envelope, |e| {
        e.epoch_authenticator = [0x55; 32]
    });
    g.bob.ds.message(&poison).await.unwrap();
    let store = g.p.ds_a.ds.store().clone();
    assert_eq!(
        store
            .epoch_authenticator(b"00000000-0000-4000-8000-000000000a01", 1, 2)
            .unwrap(),
        Some([0x55; 32])
    );
    // In the epoch Bob opened, Alice's application messages are refused
    // (DS-AUTH-2: the pin is its opener's word), changing nothing …
    let honest = g.alice.device.send_text(&g.id, "in epoch 2").unwrap();
    let before = tables(&g.p.ds_a).await;
    refused_for(
        g.alice.ds.message(&honest.outbound.envelope).await,
        ServerReason::IncorrectEpochAuthenticator,
    );
    assert_eq!(tables(&g.p.ds_a).await, before);
    // … but her commit removing Bob is judged on MLS alone (DS-AUTH-3).
    let removal = g
        .alice
        .device
        .remove_participant(&g.id, &PhoneNumber::parse(BOB).unwrap())
        .unwrap();
    assert_eq!(g.alice.submit(&removal).await.unwrap().epoch, 3);
    // Epoch 3 is Alice's: the conversation flows again.
    g.alice.text(&g.id, "bob is gone").await;
    let got = sync_n(&mut g.carol, 3).await;
    assert!(
        matches!(got[0], Err(ClientError::EpochAuthenticatorMismatch)),
        "{got:?}"
    );
    assert_eq!(texts(&got), ["bob is gone"]);
    let truth = g
        .alice
        .device
        .security_state(&g.id)
        .unwrap()
        .epoch_authenticator;
    assert_eq!(
        store
            .epoch_authenticator(b"00000000-0000-4000-8000-000000000a01", 1, 3)
            .unwrap(),
        Some(truth)
    );
    // Bob, removed, is refused.
    let after = g.bob.device.send_text(&g.id, "still here?").unwrap();
    assert!(matches!(
        g.bob.ds.message(&after.outbound.envelope).await,
        Err(DsError::NotAMember)
    ));
}

// ---- issue 15: the ratchet tree beside the GroupInfo -----------------------------------

/// DS-TREE-1 (fact sheet §4, MLS-GI-1): a member submits a genuine commit
/// and GroupInfo with a ratchet tree that is not the new epoch's: the
/// tree of the epoch the commit ends (fetched by catch-up), none at all,
/// or bytes that are no tree. The hub refuses each with a reason token
/// and stores nothing; the same commit with its own tree is accepted and
/// the hub then serves that tree beside the GroupInfo.
#[tokio::test(flavor = "multi_thread")]
async fn member_cannot_submit_a_commit_with_another_epochs_tree() {
    let mut g = group(
        two_providers().await,
        b"00000000-0000-4000-8000-000000000a15",
    )
    .await;
    let old = g
        .alice
        .ds
        .catch_up(g.id.as_bytes(), u64::MAX)
        .await
        .unwrap();
    let old_tree = old.ratchet_tree.clone().expect("the hub serves the tree");
    let pending = g.alice.device.update_keys(&g.id).unwrap();
    assert_ne!(old_tree.0, pending.ratchet_tree);
    let request = |tree: Option<B64>| crosslock_wire::api::ds::SubmitCommit {
        commit: pending.commit.envelope.clone().into(),
        welcome: None,
        group_info: pending.group_info.clone().into(),
        ratchet_tree: tree,
        external: false,
    };
    let before = tables(&g.p.ds_a).await;
    for (tree, want) in [
        (Some(old_tree), ServerReason::MismatchedRcsGroupState),
        (None, ServerReason::MismatchedRcsGroupState),
        (
            Some(B64(
                pending.ratchet_tree[..pending.ratchet_tree.len() / 2].to_vec()
            )),
            ServerReason::UnparsableCommit,
        ),
    ] {
        refused_for(g.alice.ds.commit(&request(tree)).await, want);
        assert_eq!(tables(&g.p.ds_a).await, before);
    }
    assert_eq!(g.alice.submit(&pending).await.unwrap().epoch, 2);
    let now = g
        .alice
        .ds
        .catch_up(g.id.as_bytes(), u64::MAX)
        .await
        .unwrap();
    assert_eq!(now.tree(), Some(pending.ratchet_tree.as_slice()));
}

/// A member turns the `rcs_signature` of one of its own signed receipts (an
/// MLS PublicMessage carrying a custom proposal, signed and
/// membership-tagged in the current epoch) into a group proposal. Cached,
/// it would be a proposal every later commit must include (`pending-proposal`,
/// RFC 9420 §12.4) while no commit may apply it (MLS-PROP-2): every commit,
/// the one removing the attacker included, refused with `pending-proposal`.
/// The DS refuses it like any proposal no commit may apply (MLS-PROP-4).
#[tokio::test(flavor = "multi_thread")]
async fn member_cannot_freeze_a_group_with_a_proposal_no_commit_may_apply() {
    let mut g = group(
        two_providers().await,
        b"00000000-0000-4000-8000-000000000a05",
    )
    .await;
    let m = g.alice.device.send_text(&g.id, "hi").unwrap();
    let receipt = g
        .carol
        .device
        .delivery_receipt(&g.id, &m.outbound.message_id)
        .unwrap();
    let signature = ReceiptEnvelope::decode(&receipt.envelope)
        .unwrap()
        .signature;
    let authenticator = g
        .carol
        .device
        .security_state(&g.id)
        .unwrap()
        .epoch_authenticator;
    let proposal = MlsEnvelope {
        from: None,
        to: None,
        date_time: None,
        message_id: "MxAAECAwQFRgeICQoLDA0ODw".into(),
        era: 1,
        epoch_authenticator: authenticator,
        original_message_id: None,
        content_type: crosslock_wire::content_type::MLS_RCS_CLIENT.into(),
        body: signature,
    }
    .encode();
    let before = tables(&g.p.ds_a).await;
    refused_for(
        g.carol.ds.message(&proposal).await,
        ServerReason::InvalidCommit,
    );
    assert_eq!(tables(&g.p.ds_a).await, before);
    // The commit removing Carol still goes through.
    let removal = g
        .alice
        .device
        .remove_participant(&g.id, &PhoneNumber::parse(CAROL).unwrap())
        .unwrap();
    assert_eq!(g.alice.submit(&removal).await.unwrap().epoch, 2);
}
