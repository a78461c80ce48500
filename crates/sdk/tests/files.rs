//! Received files against a real provider in-process: what a hostile
//! sender (or a broken content server) can do to the receiver's folder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use crosslock_sdk::files::Uploaded;
use crosslock_sdk::{ErrorKind, Event, NoProgress};

/// Alice sends three files: a good one; one whose key and announced size
/// are a small file's but whose link is a larger blob's (a sender lying,
/// or a content server serving something else); and `notes.txt`, a name
/// Bob's folder already holds. Bob saves them all at once: the lying one
/// is refused (typed, and not tried again), the others are saved, his own
/// `notes.txt` is untouched and Alice's is saved beside it; each saved
/// size is the real one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_file_stops_nothing_and_no_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let provider = provider(dir.path()).await;
    let (alice_clock, bob_clock) = (clock(), clock());
    let mut alice = phone(
        dir.path(),
        "alice",
        ALICE,
        Route::direct(&provider),
        &alice_clock,
    )
    .await;
    let mut bob = phone(dir.path(), "bob", BOB, Route::direct(&provider), &bob_clock).await;
    let chat = alice.open_chat(BOB).await.unwrap().conversation;

    let write = |name: &str, content: &[u8]| {
        let path = dir.path().join("alice-files").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    };
    let report: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
    let notes = b"alice's notes".to_vec();
    alice
        .send_file(&chat, &write("report.pdf", &report), None, &NoProgress)
        .await
        .unwrap();
    // The lie: a 1 kB file's key and size, a 200 kB blob's link.
    let big = alice
        .upload_file(&write("big.bin", &[7u8; 200_000]), None, &NoProgress)
        .await
        .unwrap();
    let small = alice
        .upload_file(&write("photo.jpg", &[9u8; 1000]), None, &NoProgress)
        .await
        .unwrap();
    let lie = Uploaded {
        file: small.file,
        download: big.download,
    };
    alice.announce_file(&chat, &lie).await.unwrap();
    alice
        .send_file(&chat, &write("notes.txt", &notes), None, &NoProgress)
        .await
        .unwrap();

    let mut events = Vec::new();
    while events
        .iter()
        .filter(|e| matches!(e, Event::File { .. }))
        .count()
        < 3
    {
        events.extend(until(&mut bob, |e| matches!(e, Event::File { .. })).await);
    }
    let hinted = |name: &str| {
        events.iter().find_map(|e| match e {
            Event::File { name: n, size, .. } if n == name => Some(*size),
            _ => None,
        })
    };
    // The event's size is the sender's hint: the lie is not seen yet.
    assert_eq!(hinted("photo.jpg"), Some(1000));

    let out = dir.path().join("bob-files");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), b"bob's own notes").unwrap();
    let saved = bob.save_files(&out, None, &NoProgress).await.unwrap();

    assert_eq!(saved.failed.len(), 1, "{saved:?}");
    let failed = &saved.failed[0];
    assert_eq!(failed.name.as_deref(), Some("photo.jpg"));
    assert_eq!(failed.error.kind(), ErrorKind::Refused, "{}", failed.error);
    assert!(!failed.kept, "a refusal would come again every time");
    assert!(
        events.iter().any(
            |e| matches!(e, Event::File { message_id, .. } if *message_id == failed.message_id)
        ),
        "the failure names its event"
    );
    let mut files: Vec<_> = saved
        .files
        .iter()
        .map(|f| {
            (
                f.path.file_name().unwrap().to_str().unwrap().to_owned(),
                f.size,
            )
        })
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            ("notes (1).txt".to_owned(), notes.len() as u64),
            ("report.pdf".to_owned(), report.len() as u64)
        ]
    );
    assert_eq!(
        std::fs::read(out.join("notes.txt")).unwrap(),
        b"bob's own notes"
    );
    assert_eq!(std::fs::read(out.join("notes (1).txt")).unwrap(), notes);
    assert_eq!(std::fs::read(out.join("report.pdf")).unwrap(), report);
    assert!(
        !out.join("photo.jpg").exists(),
        "a refused blob left a file"
    );
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        3,
        "nothing else left behind"
    );
    // Nothing waits any more: the refused file is not fetched again.
    assert!(
        bob.save_files(&out, None, &NoProgress)
            .await
            .unwrap()
            .is_empty()
    );
    provider.shutdown().await;
}

/// FILE-SAVE-4: a member who sends a file under a message id that is the
/// hex SHA-256 of another message's id (the other record's file name,
/// which an older version's lookup still tries) cannot make "save the
/// file of my message" save the other one: the record's own id must be
/// the one asked for. FILE-SAVE-5: what a save cut short left in the
/// device's directory is removed, and nothing but the saved file ever
/// appears in the app's folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_one_file_saves_that_file_only_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let provider = provider(dir.path()).await;
    let (alice_clock, bob_clock) = (clock(), clock());
    let mut alice = phone(
        dir.path(),
        "alice",
        ALICE,
        Route::direct(&provider),
        &alice_clock,
    )
    .await;
    let mut bob = phone(dir.path(), "bob", BOB, Route::direct(&provider), &bob_clock).await;
    let chat = alice.open_chat(BOB).await.unwrap().conversation;
    let path = dir.path().join("secret.txt");
    std::fs::write(&path, b"the victim's file").unwrap();
    alice
        .send_file(&chat, &path, None, &NoProgress)
        .await
        .unwrap();
    let events = until(&mut bob, |e| matches!(e, Event::File { .. })).await;
    let victim = events
        .iter()
        .find_map(|e| match e {
            Event::File { message_id, .. } => Some(message_id.clone()),
            _ => None,
        })
        .unwrap();
    let out = dir.path().join("bob-files");
    let disguised = hex::encode(crosslock_tls::sha256(victim.as_bytes()));
    let asked = bob.save_files(&out, Some(&disguised), &NoProgress).await;
    let Err(e) = asked else {
        panic!("saved another message's file: {asked:?}")
    };
    assert_eq!(e.kind(), ErrorKind::Input, "{e}");
    assert_eq!(std::fs::read_dir(&out).map_or(0, |d| d.count()), 0);

    // A save cut short left plaintext in the device's directory.
    let saving = dir.path().join("bob").join("saving");
    std::fs::create_dir_all(&saving).unwrap();
    std::fs::write(saving.join(".tmpCRASH"), b"half a file").unwrap();
    let saved = bob
        .save_files(&out, Some(&victim), &NoProgress)
        .await
        .unwrap();
    assert_eq!(saved.files.len(), 1, "{saved:?}");
    assert_eq!(
        std::fs::read(&saved.files[0].path).unwrap(),
        b"the victim's file"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(&saving).unwrap().count(), 0);
    provider.shutdown().await;
}
