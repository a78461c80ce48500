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
