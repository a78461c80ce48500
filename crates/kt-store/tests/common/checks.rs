//! Checks every store must pass, whatever its database: each retrieval
//! flag answers as akd's in-memory store does, records round-trip, missing
//! ones are absent, out-of-range epochs are refused.
#![allow(dead_code, unreachable_pub)]

use akd::errors::StorageError;
use akd::storage::memory::AsyncInMemoryDatabase;
use akd::storage::types::{DbRecord, ValueState, ValueStateKey, ValueStateRetrievalFlag as Flag};
use akd::storage::{Database, DbSetState};
use akd::tree_node::{NodeKey, TreeNode, TreeNodeType, TreeNodeWithPreviousValue};
use akd::{AkdLabel, AkdValue, Azks, AzksValue, NodeLabel};

pub fn state(label: &[u8], epoch: u64, version: u64) -> ValueState {
    ValueState {
        value: AkdValue(format!("{epoch}/{version}").into_bytes()),
        version,
        label: NodeLabel {
            label_val: [epoch as u8; 32],
            label_len: 256,
        },
        epoch,
        username: AkdLabel(label.to_vec()),
    }
}

/// Histories with gaps, an empty label, a label with one state, a repeated
/// version: every retrieval flag, single and batched, answers exactly as
/// akd's in-memory store does.
pub async fn every_flag_answers_like_akds_in_memory_store<Db: Database>(ours: &Db) {
    let reference = AsyncInMemoryDatabase::new();

    let mut records = Vec::new();
    for (label, epochs) in [
        (&b"alice"[..], &[1u64, 3, 4, 9][..]),
        (b"bob", &[2, 9]),
        (b"", &[5]),
        (b"carol", &[7]),
    ] {
        for (version, epoch) in (1..).zip(epochs) {
            records.push(DbRecord::ValueState(state(label, *epoch, version)));
        }
    }
    // A version seen twice (akd never does this): the earliest epoch wins.
    records.push(DbRecord::ValueState(state(b"dave", 3, 1)));
    records.push(DbRecord::ValueState(state(b"dave", 6, 1)));
    ours.batch_set(records.clone(), DbSetState::General)
        .await
        .unwrap();
    reference
        .batch_set(records, DbSetState::General)
        .await
        .unwrap();

    let labels: Vec<AkdLabel> = ["alice", "bob", "", "carol", "dave", "nobody"]
        .into_iter()
        .map(AkdLabel::from)
        .collect();
    let mut flags = vec![Flag::MaxEpoch, Flag::MinEpoch];
    for n in [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, u64::MAX] {
        flags.extend([
            Flag::LeqEpoch(n),
            Flag::SpecificEpoch(n),
            Flag::SpecificVersion(n),
        ]);
    }
    for flag in flags {
        for label in &labels {
            let got = ours.get_user_state(label, flag).await;
            let want = reference.get_user_state(label, flag).await;
            match (&got, &want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{flag:?}"),
                (Err(StorageError::NotFound(_)), Err(StorageError::NotFound(_))) => {}
                _ => panic!("{flag:?} {label:?}: {got:?} vs {want:?}"),
            }
        }
        assert_eq!(
            ours.get_user_state_versions(&labels, flag).await.unwrap(),
            reference
                .get_user_state_versions(&labels, flag)
                .await
                .unwrap(),
            "{flag:?}"
        );
    }
    for label in &labels {
        let got = ours.get_user_data(label).await;
        let want = reference.get_user_data(label).await;
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want),
            (Err(StorageError::NotFound(_)), Err(StorageError::NotFound(_))) => {}
            (got, want) => panic!("{label:?}: {got:?} vs {want:?}"),
        }
    }

    let keys: Vec<ValueStateKey> = [("alice", 3), ("alice", 2), ("bob", 9), ("x", 1)]
        .into_iter()
        .map(|(l, e)| ValueStateKey(l.as_bytes().to_vec(), e))
        .collect();
    let mut got = ours.batch_get::<ValueState>(&keys).await.unwrap();
    let mut want = reference.batch_get::<ValueState>(&keys).await.unwrap();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(got.len(), 2);

    // akd's in-memory store cannot `get` a state of the empty label (its key
    // parser wants at least one label byte) though `get_user_state` finds
    // it; this store answers both.
    let empty = ValueStateKey(Vec::new(), 5);
    assert_eq!(
        ours.get::<ValueState>(&empty).await.unwrap(),
        DbRecord::ValueState(state(b"", 5, 1))
    );
    assert!(reference.get::<ValueState>(&empty).await.is_err());
}

pub fn node(byte: u8, epoch: u64) -> TreeNodeWithPreviousValue {
    let label = NodeLabel {
        label_val: [byte; 32],
        label_len: 8,
    };
    let latest = TreeNode {
        label,
        last_epoch: epoch,
        min_descendant_epoch: 1,
        parent: NodeLabel::root(),
        node_type: TreeNodeType::Interior,
        left_child: Some(NodeLabel {
            label_val: [byte; 32],
            label_len: 9,
        }),
        right_child: None,
        hash: AzksValue([byte ^ 0xff; 32]),
    };
    let mut previous = latest.clone();
    previous.last_epoch = epoch - 1;
    previous.node_type = TreeNodeType::Leaf;
    TreeNodeWithPreviousValue {
        label,
        latest_node: latest,
        previous_node: Some(previous),
    }
}

pub async fn records_round_trip_and_missing_ones_are_not_found<Db: Database>(db: &Db) {
    assert!(matches!(
        db.get::<Azks>(&akd::append_only_zks::DEFAULT_AZKS_KEY)
            .await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        db.get::<TreeNodeWithPreviousValue>(&NodeKey(NodeLabel::root()))
            .await,
        Err(StorageError::NotFound(_))
    ));
    assert!(matches!(
        db.get::<ValueState>(&ValueStateKey(b"a".to_vec(), 1)).await,
        Err(StorageError::NotFound(_))
    ));

    // Many nodes: batch_get crosses the 512-key statement boundary.
    let nodes: Vec<_> = (0..=255u8)
        .chain(0..=255)
        .enumerate()
        .map(|(i, b)| {
            let mut n = node(b, 2 + i as u64 / 256);
            n.label.label_len = 8 + i as u32 / 256;
            n.latest_node.label = n.label;
            n.previous_node.as_mut().unwrap().label = n.label;
            n
        })
        .collect();
    let mut records: Vec<DbRecord> = nodes.iter().cloned().map(DbRecord::TreeNode).collect();
    records.push(DbRecord::Azks(Azks {
        latest_epoch: 3,
        num_nodes: 512,
    }));
    db.batch_set(records, DbSetState::TransactionCommit)
        .await
        .unwrap();

    let keys: Vec<NodeKey> = nodes.iter().map(|n| NodeKey(n.label)).collect();
    let mut got = db
        .batch_get::<TreeNodeWithPreviousValue>(&keys)
        .await
        .unwrap();
    let mut want: Vec<DbRecord> = nodes.iter().cloned().map(DbRecord::TreeNode).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        db.get::<TreeNodeWithPreviousValue>(&keys[300])
            .await
            .unwrap(),
        DbRecord::TreeNode(nodes[300].clone())
    );
    assert_eq!(
        db.get::<Azks>(&akd::append_only_zks::DEFAULT_AZKS_KEY)
            .await
            .unwrap(),
        DbRecord::Azks(Azks {
            latest_epoch: 3,
            num_nodes: 512
        })
    );

    // Overwrites replace.
    let mut changed = nodes[0].clone();
    changed.previous_node = None;
    db.set(DbRecord::TreeNode(changed.clone())).await.unwrap();
    assert_eq!(
        db.get::<TreeNodeWithPreviousValue>(&keys[0]).await.unwrap(),
        DbRecord::TreeNode(changed)
    );
}

pub async fn epochs_past_i64_are_refused_not_wrapped<Db: Database>(db: &Db) {
    let err = db
        .set(DbRecord::ValueState(state(b"a", u64::MAX, 1)))
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Other(_)), "{err:?}");
    assert!(matches!(
        db.get_user_state(&AkdLabel::from("a"), Flag::MaxEpoch)
            .await,
        Err(StorageError::NotFound(_))
    ));
}
