//! Every StateStore implementation behaves the same (GUIDE §3.5), and the
//! SQLCipher file is encrypted and refuses the wrong key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crosslock_client::store::*;

fn conformance(store: &dyn StateStore) {
    let t = Table::Conversation;
    assert_eq!(store.get(t, b"a").unwrap(), None);
    store
        .commit(WriteBatch(vec![
            Write::Put(t, b"a".to_vec(), b"1".to_vec()),
            Write::Put(t, b"ab".to_vec(), b"2".to_vec()),
            Write::Put(t, b"b".to_vec(), b"3".to_vec()),
            Write::Put(t, vec![b'a', 0xff], b"4".to_vec()),
            Write::Put(Table::Inbox, b"a".to_vec(), b"other table".to_vec()),
        ]))
        .unwrap();
    assert_eq!(store.get(t, b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(
        store.get(Table::Inbox, b"a").unwrap(),
        Some(b"other table".to_vec())
    );
    let scan: Vec<_> = store
        .scan(t, b"a")
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(scan, vec![b"a".to_vec(), b"ab".to_vec(), vec![b'a', 0xff]]);
    assert_eq!(store.scan(t, &[]).unwrap().len(), 4);
    assert_eq!(store.scan(t, &[0xff]).unwrap().len(), 0);
    // Later writes in a batch win; deletes apply.
    store
        .commit(WriteBatch(vec![
            Write::Put(t, b"a".to_vec(), b"x".to_vec()),
            Write::Put(t, b"a".to_vec(), b"y".to_vec()),
            Write::Delete(t, b"b".to_vec()),
            Write::Delete(t, b"missing".to_vec()),
        ]))
        .unwrap();
    assert_eq!(store.get(t, b"a").unwrap(), Some(b"y".to_vec()));
    assert_eq!(store.get(t, b"b").unwrap(), None);
    store.commit(WriteBatch::default()).unwrap();
    // Binary keys and large values round-trip.
    let big = vec![0xabu8; 1 << 20];
    store
        .commit(WriteBatch(vec![Write::Put(
            Table::GroupState,
            vec![0, 0, 0],
            big.clone(),
        )]))
        .unwrap();
    assert_eq!(store.get(Table::GroupState, &[0, 0, 0]).unwrap(), Some(big));
}

#[test]
fn memory_store_conforms() {
    conformance(&MemoryStore::new());
}

#[test]
fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let key = DatabaseKey::new([7; 32]);
    conformance(&SqliteStore::open(&dir.path().join("device.db"), &key).unwrap());
    conformance(&SqliteStore::open_in_memory(&key).unwrap());
}

#[test]
fn sqlite_file_is_encrypted_and_needs_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    {
        let store = SqliteStore::open(&path, &DatabaseKey::new([1; 32])).unwrap();
        store
            .commit(WriteBatch(vec![Write::Put(
                Table::Inbox,
                b"k".to_vec(),
                b"very secret plaintext".to_vec(),
            )]))
            .unwrap();
    }
    let mut raw = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("device.db-wal")) {
        raw.extend(wal);
    }
    assert!(
        !raw.windows(15).any(|w| w == b"SQLite format 3"),
        "file header in clear"
    );
    assert!(
        !raw.windows(11).any(|w| w == b"very secret"),
        "plaintext on disk"
    );
    assert!(matches!(
        SqliteStore::open(&path, &DatabaseKey::new([2; 32])),
        Err(StoreError::WrongKeyOrNotADatabase)
    ));
    let store = SqliteStore::open(&path, &DatabaseKey::new([1; 32])).unwrap();
    assert_eq!(
        store.get(Table::Inbox, b"k").unwrap(),
        Some(b"very secret plaintext".to_vec())
    );
}

#[test]
fn a_failed_batch_writes_nothing() {
    // A batch is applied whole or not at all: simulate a failure mid-batch
    // by making the database read-only underneath.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let key = DatabaseKey::new([3; 32]);
    let store = SqliteStore::open(&path, &key).unwrap();
    store
        .commit(WriteBatch(vec![Write::Put(
            Table::Seen,
            b"before".to_vec(),
            b"1".to_vec(),
        )]))
        .unwrap();
    drop(store);
    let mut perms = std::fs::metadata(dir.path()).unwrap().permissions();
    use std::os::unix::fs::PermissionsExt;
    perms.set_mode(0o500);
    std::fs::set_permissions(dir.path(), perms.clone()).unwrap();
    let ro = std::fs::metadata(&path).unwrap().permissions();
    let mut ro_file = ro.clone();
    ro_file.set_mode(0o400);
    std::fs::set_permissions(&path, ro_file).unwrap();
    if let Ok(store) = SqliteStore::open(&path, &key) {
        let result = store.commit(WriteBatch(vec![
            Write::Put(Table::Seen, b"a".to_vec(), b"1".to_vec()),
            Write::Put(Table::Seen, b"b".to_vec(), b"2".to_vec()),
        ]));
        // Root may bypass permissions; only check when the write failed.
        if result.is_err() {
            assert_eq!(store.get(Table::Seen, b"a").unwrap(), None);
        }
    }
    perms.set_mode(0o700);
    std::fs::set_permissions(dir.path(), perms).unwrap();
}
