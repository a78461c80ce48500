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
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
