//! A phone interrupted at the worst moments, against a real provider
//! in-process: the app stops its loop while a page is being handled, and
//! the network loses the provider's answer to a commit it accepted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::proxy::Proxy;
use common::*;
use crosslock_sdk::{ErrorKind, Event, Messenger};

/// The attacker's timing (or an app's bad luck): Bob's app stops its
/// loop the moment his inbox acknowledgement has reached the provider,
/// before his SDK hears the answer. The items are gone from the provider
/// then, so every event must still reach the app: the step that began
/// handling them finishes and hands them over, and nothing comes twice
/// in a later sync. A stop while the long-poll waits still ends the loop
/// at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_while_a_page_is_handled_loses_no_event() {
    let dir = tempfile::tempdir().unwrap();
    let provider = provider(dir.path()).await;
    let proxy = Proxy::start(&provider).await;
    let (alice_clock, bob_clock) = (clock(), clock());
    let mut alice = phone(
        dir.path(),
        "alice",
        ALICE,
        Route::direct(&provider),
        &alice_clock,
    )
    .await;
    let mut bob = phone(dir.path(), "bob", BOB, proxy.route(), &bob_clock).await;
    let chat = alice.open_chat(BOB).await.unwrap().conversation;
    let texts = ["one", "two", "three"];
    for text in texts {
        alice.send_text(&chat, text).await.unwrap();
    }

    let listener = Recorded::default();
    tokio::time::timeout(
        Duration::from_secs(60),
        bob.run(&listener, proxy.next_ack()),
    )
    .await
    .expect("the loop did not stop")
    .unwrap();
    let mut seen = listener.0.into_inner().unwrap();
    let handed = seen.len();
    seen.extend(bob.sync(1).await.unwrap());
    seen.extend(bob.sync(0).await.unwrap());
    let joined = seen
        .iter()
        .filter(|e| matches!(e, Event::Joined { conversation, .. } if *conversation == chat))
        .count();
    assert_eq!(joined, 1, "the Welcome's event: {seen:?}");
    for text in texts {
        let n = seen
            .iter()
            .filter(|e| matches!(e, Event::Text { text: t, .. } if t == text))
            .count();
        assert_eq!(n, 1, "{text:?}: {seen:?}");
    }
    assert!(
        seen[..handed]
            .iter()
            .any(|e| matches!(e, Event::Text { .. })),
        "the stopped step handed its page over: {seen:?}"
    );

    // A stop while the long-poll waits (nothing fetched yet) ends the
    // loop at once, not when the 25 s wait is over.
    let listener = Recorded::default();
    tokio::time::timeout(
        Duration::from_secs(15),
        bob.run(&listener, tokio::time::sleep(Duration::from_secs(2))),
    )
    .await
    .expect("the stop waited for the long-poll")
    .unwrap();
    alice.send_text(&chat, "four").await.unwrap();
    let got = until(
        &mut bob,
        |e| matches!(e, Event::Text { text, .. } if text == "four"),
    )
    .await;
    let mut all = listener.0.into_inner().unwrap();
    all.extend(got);
    let fours = all
        .iter()
        .filter(|e| matches!(e, Event::Text { text, .. } if text == "four"))
        .count();
    assert_eq!(fours, 1, "{all:?}");
    provider.shutdown().await;
}

/// The network loses the provider's answer to Alice's commit after the
/// provider accepted it. Her SDK must not guess "refused" (she would stay
/// an epoch behind Bob, unable to read him): it submits the same commit
/// again and learns it won. When every answer is lost, the commit stays
/// pending (across a restart too) and her next sync settles it before it
/// reads the new epoch's messages; then both talk in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_is_lost_is_settled_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let provider = provider(dir.path()).await;
    let proxy = Proxy::start(&provider).await;
    let (alice_clock, bob_clock) = (clock(), clock());
    let mut alice = phone(dir.path(), "alice", ALICE, proxy.route(), &alice_clock).await;
    let mut bob = phone(dir.path(), "bob", BOB, Route::direct(&provider), &bob_clock).await;
    let chat = alice.open_chat(BOB).await.unwrap().conversation;
    alice.send_text(&chat, "before").await.unwrap();
    until(
        &mut bob,
        |e| matches!(e, Event::Text { text, .. } if text == "before"),
    )
    .await;
    let epoch = alice.security_state(&chat).unwrap().epoch;

    // One answer lost: the commit is submitted again and acknowledged.
    proxy.lose_commit_answers(1);
    let pending = alice.device_mut().update_keys(&chat).unwrap();
    assert_eq!(alice.submit(&pending).await.unwrap(), epoch + 1);
    assert_eq!(proxy.lost_answers(), [200], "the provider accepted it");
    assert_eq!(alice.security_state(&chat).unwrap().epoch, epoch + 1);
    until(
        &mut bob,
        |e| matches!(e, Event::MembershipChanged { epoch: e, .. } if *e == epoch + 1),
    )
    .await;

    // Every answer lost: the outcome stays unknown, and so does the commit.
    proxy.lose_commit_answers(usize::MAX);
    let pending = alice.device_mut().update_keys(&chat).unwrap();
    let err = alice.submit(&pending).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
    assert_eq!(proxy.lost_answers()[1], 200, "the provider accepted it");
    assert_eq!(alice.security_state(&chat).unwrap().epoch, epoch + 1);
    assert!(alice.device().pending_commit(&chat).unwrap().is_some());
    // Bob is in the new epoch already, and talks there.
    until(
        &mut bob,
        |e| matches!(e, Event::MembershipChanged { epoch: e, .. } if *e == epoch + 2),
    )
    .await;
    bob.send_text(&chat, "in the new epoch").await.unwrap();

    // Alice's app dies and starts again: the commit is still pending.
    let alice_dir = alice.dir().to_owned();
    drop(alice);
    let mut alice = Messenger::open(&alice_dir, options(&alice_clock)).unwrap();
    assert!(alice.device().pending_commit(&chat).unwrap().is_some());

    // The network is back: her sync settles the commit first, then reads
    // Bob's message of the epoch it opened.
    proxy.lose_commit_answers(0);
    let got = until(
        &mut alice,
        |e| matches!(e, Event::Text { text, .. } if text == "in the new epoch"),
    )
    .await;
    assert!(
        !got.iter().any(|e| matches!(e, Event::Undecryptable { .. })),
        "{got:?}"
    );
    assert_eq!(alice.security_state(&chat).unwrap().epoch, epoch + 2);
    assert!(alice.device().pending_commit(&chat).unwrap().is_none());
    alice.send_text(&chat, "after").await.unwrap();
    until(
        &mut bob,
        |e| matches!(e, Event::Text { text, .. } if text == "after"),
    )
    .await;
    assert_eq!(
        alice.security_state(&chat).unwrap().epoch_authenticator,
        bob.security_state(&chat).unwrap().epoch_authenticator
    );
    provider.shutdown().await;
}
