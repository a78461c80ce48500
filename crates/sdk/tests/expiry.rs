//! CRED-EXP-1..3 against a real provider: a member of a group lets its
//! credential expire (not renewed for 75 days) while the others renewed
//! theirs. The provider and the phones share one clock the test moves by
//! days (as in `renew.rs`): the delivery service judges credentials by it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{World, shared_env as env};
use crosslock_client::{ClientError, ConversationId, DeviceProfile};
use crosslock_provider::{Provider, ProviderConfig};
use crosslock_sdk::{Event, Messenger, Options, Schedule, SdkError, Setup};

const ALICE: &str = "+15550100001";
const BOB: &str = "+15550100002";
const CAROL: &str = "+15550100003";
const DAVE: &str = "+15550100004";
const DAY: u64 = 86_400;

async fn provider(dir: &Path, world: &Arc<World>) -> Provider {
    let mut config = ProviderConfig::default();
    config.provider.name = "a.example".into();
    config.provider.prefixes = vec!["+1".into()];
    config.provider.listen = ([127, 0, 0, 1], 0).into();
    config.provider.admin_listen = ([127, 0, 0, 1], 0).into();
    config.provider.federation_listen = ([127, 0, 0, 1], 0).into();
    config.transparency.epoch_interval_secs = 1;
    Provider::start(config, &dir.join("provider"), env(world))
        .await
        .unwrap()
}

async fn phone(
    dir: &Path,
    number: &str,
    provider: &Provider,
    world: &Arc<World>,
    schedule: Schedule,
) -> Messenger {
    let setup = Setup {
        number: number.into(),
        profile: DeviceProfile::Android,
        server: provider.public_url(),
        tls_ca_pem: std::fs::read_to_string(provider.tls_ca_path()).unwrap(),
    };
    let options = Options {
        env: env(world),
        schedule,
        ..Options::default()
    };
    let mut m = Messenger::create(&dir.join(number), setup, options)
        .await
        .unwrap();
    m.enroll("any-subscriber", 5, None, false).await.unwrap();
    m
}

/// Syncs until `want` matches an event (the DS fans out asynchronously).
async fn until(m: &mut Messenger, want: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut all = Vec::new();
    for _ in 0..20 {
        let events = m.sync(1).await.unwrap();
        let found = events.iter().any(&want);
        all.extend(events);
        if found {
            return all;
        }
    }
    panic!("not seen; got {all:?}");
}

/// Syncs until the peer is in the same epoch as `of` in `id`.
async fn catch_up(peer: &mut Messenger, of: &mut Messenger, id: &ConversationId) {
    let want = of.security_state(id).unwrap().epoch_authenticator;
    for _ in 0..20 {
        if peer
            .security_state(id)
            .is_ok_and(|s| s.epoch_authenticator == want)
        {
            return;
        }
        peer.sync(1).await.unwrap();
    }
    panic!("{} never reached the epoch", peer.number().as_str());
}

fn numbers(m: &mut Messenger, id: &ConversationId) -> Vec<String> {
    m.security_state(id)
        .unwrap()
        .members
        .keys()
        .map(|n| n.as_str().to_owned())
        .collect()
}

/// Day 0: Alice's group with Bob and Carol. Day 40: Alice and Bob renew
/// their credentials and present them in the group; Carol does not. Day
/// 76: Carol's credential has expired. Her phone refuses to speak with
/// it; Alice's lifecycle removes her in a commit the delivery service and
/// Bob accept (Carol learns she was removed); Alice and Bob talk on, and
/// Alice adds Dave, who joins and talks with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_credential_expired_is_removed_and_the_group_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let world = Arc::new(World::default());
    let provider = provider(dir.path(), &world).await;
    // Alice's refresh is not due on day 76 (presented on day 40): the
    // removal is the lifecycle's own commit.
    let alice_schedule = Schedule {
        credential_refresh_secs: 50 * DAY,
        ..Schedule::default()
    };
    let mut alice = phone(dir.path(), ALICE, &provider, &world, alice_schedule).await;
    let mut bob = phone(dir.path(), BOB, &provider, &world, Schedule::default()).await;
    let mut carol = phone(dir.path(), CAROL, &provider, &world, Schedule::default()).await;
    let group = alice
        .create_group(&[BOB.to_owned(), CAROL.to_owned()])
        .await
        .unwrap()
        .conversation;
    catch_up(&mut bob, &mut alice, &group).await;
    catch_up(&mut carol, &mut alice, &group).await;

    // Day 40: Alice and Bob renew and present the new credentials.
    world.advance(40 * DAY).await;
    alice
        .renew_credentials("any-subscriber", None)
        .await
        .unwrap();
    let done = alice.maintain().await.unwrap();
    assert!(done.credentials_refreshed.contains(&group), "{done:?}");
    catch_up(&mut bob, &mut alice, &group).await;
    catch_up(&mut carol, &mut alice, &group).await;
    bob.renew_credentials("any-subscriber", None).await.unwrap();
    let done = bob.maintain().await.unwrap();
    assert!(done.credentials_refreshed.contains(&group), "{done:?}");
    catch_up(&mut alice, &mut bob, &group).await;
    catch_up(&mut carol, &mut bob, &group).await;

    // Day 76: Carol's credential (75 days) has expired.
    world.advance(36 * DAY).await;
    let refused = carol.send_text(&group, "from an expired credential").await;
    assert!(
        matches!(
            refused,
            Err(SdkError::Client(ClientError::OwnCredentialExpired))
        ),
        "{refused:?}"
    );

    let epoch = alice.security_state(&group).unwrap().epoch;
    let done = alice.maintain().await.unwrap();
    assert_eq!(done.expired_removed, vec![group.clone()], "{done:?}");
    assert!(done.failed.is_empty(), "{done:?}");
    // Accepted by the delivery service: the epoch moved on.
    assert_eq!(alice.security_state(&group).unwrap().epoch, epoch + 1);
    assert_eq!(numbers(&mut alice, &group), [ALICE, BOB]);
    until(&mut bob, |e| {
        matches!(e, Event::MembershipChanged { conversation, removed, .. }
            if *conversation == group && removed.iter().any(|r| r.number.as_str() == CAROL))
    })
    .await;
    assert_eq!(numbers(&mut bob, &group), [ALICE, BOB]);
    until(&mut carol, |e| {
        matches!(e, Event::MembershipChanged { conversation, removed_self: true, .. }
            if *conversation == group)
    })
    .await;
    // Nothing left to remove.
    assert!(alice.maintain().await.unwrap().expired_removed.is_empty());

    alice.send_text(&group, "without Carol").await.unwrap();
    until(
        &mut bob,
        |e| matches!(e, Event::Text { text, .. } if text == "without Carol"),
    )
    .await;
    bob.send_text(&group, "still here").await.unwrap();
    until(
        &mut alice,
        |e| matches!(e, Event::Text { text, .. } if text == "still here"),
    )
    .await;

    // The group takes new members again.
    let mut dave = phone(dir.path(), DAVE, &provider, &world, Schedule::default()).await;
    alice.add_member(&group, DAVE).await.unwrap();
    until(
        &mut dave,
        |e| matches!(e, Event::Joined { conversation, .. } if *conversation == group),
    )
    .await;
    catch_up(&mut bob, &mut alice, &group).await;
    dave.send_text(&group, "hello both").await.unwrap();
    for m in [&mut alice, &mut bob] {
        until(
            m,
            |e| matches!(e, Event::Text { text, .. } if text == "hello both"),
        )
        .await;
    }
    provider.shutdown().await;
}
