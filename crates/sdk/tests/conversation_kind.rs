//! GID-3 through the SDK against a real provider: `open_chat(peer)` and
//! `chat_with(peer)` find only a 1:1 with exactly that peer, never a
//! group shared with them, on the group's creator or on those who joined.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use crosslock_client::{ConversationId, ConversationKind};
use crosslock_sdk::{Event, Messenger};

const CAROL: &str = "+15550100003";

/// Syncs until `m` has joined `id`.
async fn joined(m: &mut Messenger, id: &ConversationId) {
    until(
        m,
        |e| matches!(e, Event::Joined { conversation, .. } if conversation == id),
    )
    .await;
}

/// Alice makes a group of three (Alice, Bob, Carol) and a group of two
/// (Alice, Bob). Neither Bob nor Carol finds a chat with Alice in them;
/// Bob's `open_chat(alice)` starts the real 1:1, which both then find,
/// and which stays a 1:1 on both sides. A message in it reaches Alice
/// alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_chat_never_returns_a_group_shared_with_the_peer() {
    let dir = tempfile::tempdir().unwrap();
    let provider = provider(dir.path()).await;
    let clock = clock();
    let mut alice = phone(dir.path(), "alice", ALICE, Route::direct(&provider), &clock).await;
    let mut bob = phone(dir.path(), "bob", BOB, Route::direct(&provider), &clock).await;
    let mut carol = phone(dir.path(), "carol", CAROL, Route::direct(&provider), &clock).await;

    let trio = alice
        .create_group(&[BOB.to_owned(), CAROL.to_owned()])
        .await
        .unwrap()
        .conversation;
    let pair = alice
        .create_group(&[BOB.to_owned()])
        .await
        .unwrap()
        .conversation;
    joined(&mut bob, &trio).await;
    if bob.security_state(&pair).is_err() {
        joined(&mut bob, &pair).await;
    }
    joined(&mut carol, &trio).await;

    for id in [&trio, &pair] {
        for m in [&mut alice, &mut bob] {
            assert_eq!(m.security_state(id).unwrap().kind, ConversationKind::Group);
        }
    }
    assert_eq!(
        carol.security_state(&trio).unwrap().kind,
        ConversationKind::Group
    );
    assert_eq!(bob.chat_with(ALICE).unwrap(), None);
    assert_eq!(carol.chat_with(ALICE).unwrap(), None);
    assert_eq!(carol.chat_with(BOB).unwrap(), None);
    assert_eq!(alice.chat_with(BOB).unwrap(), None);

    // Bob opens the chat with Alice: a new conversation, not a group.
    let chat = bob.open_chat(ALICE).await.unwrap();
    assert!(chat.epoch.is_some(), "created, not found");
    let chat = chat.conversation;
    assert_ne!(chat, trio);
    assert_ne!(chat, pair);
    joined(&mut alice, &chat).await;
    assert_eq!(
        alice.security_state(&chat).unwrap().kind,
        ConversationKind::OneToOne
    );
    assert_eq!(
        bob.security_state(&chat).unwrap().kind,
        ConversationKind::OneToOne
    );
    assert_eq!(bob.chat_with(ALICE).unwrap(), Some(chat.clone()));
    assert_eq!(alice.chat_with(BOB).unwrap(), Some(chat.clone()));
    let again = bob.open_chat(ALICE).await.unwrap();
    assert_eq!((again.conversation, again.epoch), (chat.clone(), None));

    bob.send_text(&chat, "for Alice alone").await.unwrap();
    let events = until(
        &mut alice,
        |e| matches!(e, Event::Text { text, .. } if text == "for Alice alone"),
    )
    .await;
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Text { conversation, text, .. } if *conversation == chat && text == "for Alice alone"
    )));
    let carols = carol.sync(1).await.unwrap();
    assert!(
        !carols
            .iter()
            .any(|e| matches!(e, Event::Text { text, .. } if text == "for Alice alone")),
        "{carols:?}"
    );
    provider.shutdown().await;
}
