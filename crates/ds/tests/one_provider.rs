//! One provider: conversations ordered and relayed by its delivery service.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use crosslock_client::*;
use crosslock_ds::{DsError, Federation};
use crosslock_wire::api::ds::ServerReason;

async fn provider() -> (Provider, DsServer) {
    let provider = Provider::start(ProviderSetup::default()).await;
    let ds = start_ds(&provider, provider.trust(), Federation::none(), |_| {}).await;
    (provider, ds)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_one_to_one_through_the_delivery_service() {
    let (p, ds) = provider().await;
    let mut alice = Phone::enroll(&p, &ds, "+15550100001", DeviceProfile::Android, p.trust()).await;
    let mut bob = Phone::enroll(&p, &ds, "+15550100002", DeviceProfile::Ios, p.trust()).await;
    let bob_kps = alice.claim(&p, "+15550100002").await;
    let pending = alice
        .device
        .create_conversation(NewConversation::OneToOne, &[bob_kps])
        .unwrap();
    let id = pending.conversation.clone();
    let accepted = alice.submit(&pending).await.unwrap();
    assert_eq!(accepted.epoch, 1);

    // Bob gets the Welcome, then messages in order.
    let joined = bob.sync().await;
    assert!(
        matches!(joined.as_slice(), [Ok(Received::Joined { .. })]),
        "{joined:?}"
    );
    alice.text(&id, "hello bob").await;
    alice.text(&id, "second").await;
    let got = bob.sync().await;
    assert_eq!(texts(&got), ["hello bob", "second"]);
    // Acknowledged items are gone.
    assert!(bob.sync().await.is_empty());

    // Bob answers; both agree on the epoch authenticator.
    bob.text(&id, "hi alice").await;
    assert_eq!(texts(&alice.sync().await), ["hi alice"]);
    let a = alice.device.security_state(&id).unwrap();
    let b = bob.device.security_state(&id).unwrap();
    assert_eq!(a.epoch_authenticator, b.epoch_authenticator);
    assert_eq!(a.epoch, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_commits_in_one_epoch_exactly_one_wins_and_the_loser_retries() {
    let (p, ds) = provider().await;
    let mut alice = Phone::enroll(&p, &ds, "+15550100011", DeviceProfile::Android, p.trust()).await;
    let mut bob = Phone::enroll(&p, &ds, "+15550100012", DeviceProfile::Ios, p.trust()).await;
    let pending = alice
        .device
        .create_conversation(
            NewConversation::OneToOne,
            &[alice.claim(&p, "+15550100012").await],
        )
        .unwrap();
    let id = pending.conversation.clone();
    alice.submit(&pending).await.unwrap();
    bob.sync().await;

    // Both update their keys in epoch 1 at the same time.
    let a_commit = alice.device.update_keys(&id).unwrap();
    let b_commit = bob.device.update_keys(&id).unwrap();
    let (ra, rb) = tokio::join!(alice.submit(&a_commit), bob.submit(&b_commit));
    let (winner_is_alice, loser_err) = match (ra, rb) {
        (Ok(_), Err(e)) => (true, e),
        (Err(e), Ok(_)) => (false, e),
        other => panic!("exactly one commit must win: {other:?}"),
    };
    assert!(
        matches!(
            loser_err,
            DsError::Refused {
                reason: ServerReason::IncorrectEpoch,
                ..
            }
        ),
        "{loser_err:?}"
    );
    let (winner, loser) = if winner_is_alice {
        (&mut alice, &mut bob)
    } else {
        (&mut bob, &mut alice)
    };
    // The loser's state is unchanged (still epoch 1) until it processes the
    // winning commit from its inbox; then it retries and wins epoch 2.
    assert_eq!(loser.device.security_state(&id).unwrap().epoch, 1);
    let seen = loser.sync().await;
    assert!(
        matches!(seen.as_slice(), [Ok(Received::Commit(_))]),
        "{seen:?}"
    );
    assert_eq!(loser.device.security_state(&id).unwrap().epoch, 2);
    let retry = loser.device.update_keys(&id).unwrap();
    assert_eq!(loser.submit(&retry).await.unwrap().epoch, 3);
    winner.sync().await;
    assert_eq!(
        winner
            .device
            .security_state(&id)
            .unwrap()
            .epoch_authenticator,
        loser
            .device
            .security_state(&id)
            .unwrap()
            .epoch_authenticator
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pushes_wake_a_device_and_carry_nothing_but_its_token() {
    let (p, mut ds) = provider().await;
    let mut alice = Phone::enroll(&p, &ds, "+15550100021", DeviceProfile::Android, p.trust()).await;
    let mut bob = Phone::enroll(&p, &ds, "+15550100022", DeviceProfile::Ios, p.trust()).await;
    bob.ds.register_push("apns-token-of-bob").await.unwrap();
    let pending = alice
        .device
        .create_conversation(
            NewConversation::OneToOne,
            &[alice.claim(&p, "+15550100022").await],
        )
        .unwrap();
    let id = pending.conversation.clone();
    alice.submit(&pending).await.unwrap();
    let wake = tokio::time::timeout(std::time::Duration::from_secs(5), ds.pushes.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(wake.tokens, ["apns-token-of-bob"]);
    // What the push service receives names no sender, conversation or content.
    let wire = serde_json::to_string(&wake).unwrap();
    assert_eq!(wire, r#"{"tokens":["apns-token-of-bob"]}"#);
    bob.sync().await;
    // A burst of messages within the batching window wakes once or a few
    // times, never once per message with anything but the token.
    for i in 0..20 {
        alice.text(&id, &format!("m{i}")).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut wakes = 0;
    while let Ok(w) = ds.pushes.try_recv() {
        assert_eq!(w.tokens, ["apns-token-of-bob"]);
        wakes += 1;
    }
    assert!((1..20).contains(&wakes), "{wakes} wake-ups for 20 messages");
    // Alice registered no token: she is never pushed.
    bob.text(&id, "reply").await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(ds.pushes.try_recv().is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_that_lost_commits_catches_up_from_the_delivery_service() {
    let (p, ds) = provider().await;
    let mut alice = Phone::enroll(&p, &ds, "+15550100031", DeviceProfile::Android, p.trust()).await;
    let mut bob = Phone::enroll(&p, &ds, "+15550100032", DeviceProfile::Ios, p.trust()).await;
    let pending = alice
        .device
        .create_conversation(
            NewConversation::OneToOne,
            &[alice.claim(&p, "+15550100032").await],
        )
        .unwrap();
    let id = pending.conversation.clone();
    alice.submit(&pending).await.unwrap();
    bob.sync().await;
    for _ in 0..2 {
        let commit = alice.device.update_keys(&id).unwrap();
        alice.submit(&commit).await.unwrap();
    }
    // Bob's copies of the two commits are lost (acknowledged unprocessed).
    let lost = bob.ds.inbox(0, 10, 0).await.unwrap();
    assert_eq!(lost.items.len(), 2);
    bob.ds
        .ack(lost.items.iter().map(|i| i.seq).collect())
        .await
        .unwrap();
    let sent = alice.text(&id, "in epoch 3").await;
    let page = bob.ds.inbox(0, 10, 0).await.unwrap();
    let item = &page.items[0];
    assert!(
        bob.device
            .receive_with_tree(&item.message_id, &item.envelope.0, item.tree())
            .is_err()
    );
    assert_eq!(bob.device.security_state(&id).unwrap().epoch, 1);

    // Recovery, first step: the missed commits from the DS, then the message.
    let catch_up = bob.ds.catch_up(id.as_bytes(), 1).await.unwrap();
    assert_eq!(
        (catch_up.era, catch_up.epoch, catch_up.commits.len()),
        (1, 3, 2)
    );
    for c in &catch_up.commits {
        assert!(matches!(
            bob.device.receive(&c.message_id, &c.envelope.0),
            Ok(Received::Commit(_))
        ));
    }
    let got = bob
        .device
        .receive_with_tree(&item.message_id, &item.envelope.0, item.tree())
        .unwrap();
    match got {
        Received::Message(m) => assert_eq!(m.message_id, sent.outbound.message_id),
        other => panic!("{other:?}"),
    }
    // Only members may catch up.
    let eve = Phone::enroll(&p, &ds, "+15550100666", DeviceProfile::Android, p.trust()).await;
    assert!(matches!(
        eve.ds.catch_up(id.as_bytes(), 0).await,
        Err(DsError::NotAMember)
    ));
}
