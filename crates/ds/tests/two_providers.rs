//! Provider A (Android users) and provider B (iPhone users): conversations
//! hosted by one provider's delivery service and followed by the other's,
//! over mutually authenticated TLS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::two::two_providers;
use common::*;
use crosslock_client::wire::api::ds::SubmitReport;
use crosslock_client::wire::imdn::{DisplayStatus, Notification};
use crosslock_client::wire::status::{MessageStatus, PerMessageStatus};
use crosslock_client::*;

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

#[tokio::test(flavor = "multi_thread")]
async fn android_at_a_and_iphone_at_b_one_to_one_with_receipts_and_typing() {
    let p = two_providers().await;
    let mut alice = Phone::enroll(
        &p.a,
        &p.ds_a,
        "+15550100001",
        DeviceProfile::Android,
        p.trust.clone(),
    )
    .await;
    let mut bob = Phone::enroll(
        &p.b,
        &p.ds_b,
        "+447700900123",
        DeviceProfile::Ios,
        p.trust.clone(),
    )
    .await;
    let pending = alice
        .device
        .create_conversation(
            NewConversation::OneToOne,
            &[alice.claim(&p.a, "+447700900123").await],
        )
        .unwrap();
    let id = pending.conversation.clone();
    alice.submit(&pending).await.unwrap();
    let hello = alice.text(&id, "hello from android").await;
    // Bob (at B) gets the Welcome and the message through B's DS.
    let got = sync_n(&mut bob, 2).await;
    assert!(matches!(got[0], Ok(Received::Joined { .. })), "{got:?}");
    assert_eq!(texts(&got[1..]), ["hello from android"]);
    // Bob's answer, read receipt and typing go B → A (the hub) → Alice.
    let typing = bob.device.send_typing(&id, true).unwrap();
    bob.ds.message(&typing.outbound.envelope).await.unwrap();
    let read = bob
        .device
        .send_status(
            &id,
            vec![PerMessageStatus {
                message_id: hello.mimi_id.unwrap(),
                status: MessageStatus::Read,
            }],
        )
        .unwrap();
    bob.ds.message(&read.outbound.envelope).await.unwrap();
    let from_bob = bob.text(&id, "hello from iphone").await;
    let got = sync_n(&mut alice, 3).await;
    assert!(matches!(got[0], Ok(Received::Typing { .. })), "{got:?}");
    match &got[1] {
        Ok(Received::Message(m)) => match &m.content {
            ReceivedContent::Status(s) => {
                assert_eq!(s.statuses[0].status, MessageStatus::Read);
                assert_eq!(Some(&s.statuses[0].message_id), hello.mimi_id.as_ref());
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(texts(&got[2..]), ["hello from iphone"]);
    // The hub (A) holds the conversation; B only follows it.
    assert!(matches!(
        p.ds_a.ds.store().conversation(id.as_bytes()).unwrap(),
        Some(crosslock_ds::store::Hosting::Hub(_))
    ));
    assert!(matches!(
        p.ds_b.ds.store().conversation(id.as_bytes()).unwrap(),
        Some(crosslock_ds::store::Hosting::Follower { .. })
    ));
    assert_eq!(
        alice
            .device
            .security_state(&id)
            .unwrap()
            .epoch_authenticator,
        bob.device.security_state(&id).unwrap().epoch_authenticator
    );

    // Signed RCC.16 receipts (plaintext IMDNs with an rcs_signature) cross
    // the providers both ways: Bob's delivery receipt B -> A (forwarded to
    // the hub), Alice's display receipt A -> B (B checks the group its
    // signature names, DS-FED-2).
    let submit = |r: &Outbound| SubmitReport {
        group_id: id.as_bytes().to_vec().into(),
        message_id: r.message_id.clone(),
        envelope: r.envelope.clone().into(),
    };
    let delivered = bob
        .device
        .delivery_receipt(&id, &hello.outbound.message_id)
        .unwrap();
    bob.ds.report(&submit(&delivered)).await.unwrap();
    let got = sync_n(&mut alice, 1).await;
    assert!(
        matches!(&got[0], Ok(Received::Receipt(r))
            if r.message_id == hello.outbound.message_id && r.sent_by_us),
        "{got:?}"
    );
    let displayed = alice
        .device
        .display_receipt(&id, &from_bob.outbound.message_id)
        .unwrap();
    alice.ds.report(&submit(&displayed)).await.unwrap();
    let got = sync_n(&mut bob, 1).await;
    assert!(
        matches!(&got[0], Ok(Received::Receipt(r))
            if r.message_id == from_bob.outbound.message_id
                && r.notification == Notification::Display(DisplayStatus::Displayed)),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_across_providers_with_a_two_device_participant_an_add_a_removal_and_a_late_device()
{
    let p = two_providers().await;
    let t = p.trust.clone();
    let mut alice = Phone::enroll(
        &p.a,
        &p.ds_a,
        "+15550100001",
        DeviceProfile::Android,
        t.clone(),
    )
    .await;
    let mut bob = Phone::enroll(
        &p.b,
        &p.ds_b,
        "+447700900123",
        DeviceProfile::Ios,
        t.clone(),
    )
    .await;
    let mut carol_phone = Phone::enroll(
        &p.b,
        &p.ds_b,
        "+447700900456",
        DeviceProfile::Ios,
        t.clone(),
    )
    .await;
    let mut carol_tablet = Phone::enroll(
        &p.b,
        &p.ds_b,
        "+447700900456",
        DeviceProfile::Ios,
        t.clone(),
    )
    .await;
    let mut dave = Phone::enroll(
        &p.a,
        &p.ds_a,
        "+15550100004",
        DeviceProfile::Android,
        t.clone(),
    )
    .await;

    let bob_kps = alice.claim(&p.a, "+447700900123").await;
    let carol_kps = alice.claim(&p.a, "+447700900456").await;
    assert_eq!(carol_kps.devices.len(), 2, "both of Carol's devices");
    let pending = alice
        .device
        .create_conversation(
            NewConversation::Group {
                group_id: b"rcs-group-1".to_vec(),
            },
            &[bob_kps, carol_kps],
        )
        .unwrap();
    let id = pending.conversation.clone();
    alice.submit(&pending).await.unwrap();
    alice.text(&id, "welcome all").await;
    assert_eq!(texts(&sync_n(&mut bob, 2).await), ["welcome all"]);
    assert_eq!(texts(&sync_n(&mut carol_phone, 2).await), ["welcome all"]);

    // Carol's phone (B) sends a photo without a thumbnail: the ciphertext
    // goes to B's content server, the FileInfo and the descriptor inside
    // MLS; Alice (A) downloads it with the capability URL and decrypts it.
    let photo: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let info = carol_phone
        .send_file(&id, &photo, "beach.jpg", "image/jpeg")
        .await;
    let got = sync_n(&mut alice, 2).await;
    assert!(matches!(
        &got[0],
        Ok(Received::Message(m)) if matches!(m.content, ReceivedContent::FileInfo(_))
    ));
    let received = match &got[1] {
        Ok(Received::Message(m)) => match &m.content {
            ReceivedContent::File(f) => f.file.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    assert_eq!(received.metadata, info);
    assert_eq!(alice.fetch_file(&received).await, photo);
    assert_eq!(received.metadata.file_name(), "beach.jpg");
    // What the servers stored: the ciphertext's size, not its name or content.
    let blob = http()
        .get(&received.download.url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(blob.len() > photo.len() && !blob.windows(9).any(|w| w == b"beach.jpg"));
    assert_eq!(sync_n(&mut bob, 2).await.len(), 2);

    // Bob (follower B) adds Dave (A): forwarded to the hub, fanned out.
    let dave_kps = bob.claim(&p.b, "+15550100004").await;
    let add = bob.device.add_participants(&id, &[dave_kps]).unwrap();
    bob.submit(&add).await.unwrap();
    assert!(matches!(
        sync_n(&mut dave, 1).await[0],
        Ok(Received::Joined { .. })
    ));
    assert!(matches!(
        sync_n(&mut alice, 1).await[0],
        Ok(Received::Commit(_))
    ));
    assert!(matches!(
        sync_n(&mut carol_phone, 1).await[0],
        Ok(Received::Commit(_))
    ));
    dave.text(&id, "thanks bob").await;
    assert_eq!(texts(&sync_n(&mut bob, 1).await), ["thanks bob"]);

    // Alice removes Dave; he learns it and cannot read what follows.
    let remove = alice
        .device
        .remove_participant(
            &id,
            &crosslock_client::credential::PhoneNumber::parse("+15550100004").unwrap(),
        )
        .unwrap();
    alice.submit(&remove).await.unwrap();
    let removed = sync_n(&mut dave, 1).await;
    assert!(
        removed
            .iter()
            .any(|r| matches!(r, Ok(Received::Commit(c)) if c.removed_self)),
        "{removed:?}"
    );
    alice.text(&id, "after dave left").await;
    assert!(
        dave.sync_wait(1).await.is_empty(),
        "a removed device gets nothing new"
    );
    assert_eq!(
        texts(&sync_n(&mut carol_phone, 3).await),
        ["thanks bob", "after dave left"]
    );

    // Carol's tablet was offline the whole time: everything is waiting, in
    // order, and it ends in the same state as everyone.
    let late = sync_n(&mut carol_tablet, 8).await;
    assert!(matches!(late[0], Ok(Received::Joined { .. })), "{late:?}");
    assert_eq!(
        texts(&late),
        ["welcome all", "thanks bob", "after dave left"]
    );
    let reference = alice.device.security_state(&id).unwrap();
    for phone in [&mut bob, &mut carol_phone, &mut carol_tablet] {
        phone.sync().await;
        let state = phone.device.security_state(&id).unwrap();
        assert_eq!(state.epoch, reference.epoch);
        assert_eq!(state.epoch_authenticator, reference.epoch_authenticator);
    }
    // Dave's device refuses to send after its removal.
    assert!(matches!(
        dave.device.send_text(&id, "still here?"),
        Err(ClientError::NotAMember)
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_revoked_at_the_follower_does_not_block_the_hubs_outbox() {
    let p = two_providers().await;
    let t = p.trust.clone();
    let mut alice = Phone::enroll(
        &p.a,
        &p.ds_a,
        "+15550100001",
        DeviceProfile::Android,
        t.clone(),
    )
    .await;
    let mut bob = Phone::enroll(
        &p.b,
        &p.ds_b,
        "+447700900123",
        DeviceProfile::Ios,
        t.clone(),
    )
    .await;
    let mut carol = Phone::enroll(&p.b, &p.ds_b, "+447700900456", DeviceProfile::Ios, t).await;
    let members = [
        alice.claim(&p.a, "+447700900123").await,
        alice.claim(&p.a, "+447700900456").await,
    ];
    let pending = alice
        .device
        .create_conversation(
            NewConversation::Group {
                group_id: b"revoked-at-b".to_vec(),
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
    // B revokes Carol's device; the group still lists it. B refuses the
    // deliveries for it for good (DS-FED-3), A's pump drops those and
    // delivers the rest.
    p.b.kds
        .store()
        .revoke(Some(carol.device.device_id()), None, now())
        .unwrap();
    let sent = [
        alice.text(&id, "after the revocation").await,
        alice.text(&id, "and again").await,
    ];
    assert_eq!(
        texts(&sync_n(&mut bob, 2).await),
        ["after the revocation", "and again"]
    );
    for _ in 0..100 {
        if p.ds_a
            .ds
            .store()
            .outbox("kds.b.example", 10)
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        p.ds_a
            .ds
            .store()
            .outbox("kds.b.example", 10)
            .unwrap()
            .is_empty()
    );
    // Neither reached the revoked device's inbox at B.
    let conn = rusqlite::Connection::open(p.ds_b.dir.path().join("ds.sqlite3")).unwrap();
    let key = format!("+447700900456#{}", carol.device.device_id());
    for s in &sent {
        let id = crosslock_wire::cpim::MlsEnvelope::decode(&s.outbound.envelope)
            .unwrap()
            .message_id;
        let stored: i64 = conn
            .query_row(
                "SELECT count(*) FROM inbox WHERE device = ?1 AND message_id = ?2",
                [&key, &id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, 0);
    }
}
