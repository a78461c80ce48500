//! Delivery-service store benchmarks (criterion): how many accepted
//! messages a second the durable SQLite store takes (each with its fan-out
//! to a group's inboxes), with concurrent submitters sharing transactions,
//! and how fast a device drains its inbox.
//!
//! `cargo bench -p crosslock-ds -- --quick`. End-to-end numbers over HTTP
//! with real client cores: `crosslock ds bench`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crosslock_ds::store::{
    Accepted, ConversationStore, EpochOwner, Fanout, HostedConversation, InboxStore, Member, Pin,
    SqliteDsStore,
};
use crosslock_wire::api::ds::DeviceRef;

const GROUP: usize = 10;

fn member(i: usize) -> Member {
    Member {
        device: DeviceRef {
            number: format!("+1555000{i:04}"),
            device: format!("device-{i}"),
        },
        home: None,
    }
}

fn store_with_group(dir: &std::path::Path) -> Arc<SqliteDsStore> {
    let store = Arc::new(SqliteDsStore::open(&dir.join("ds.sqlite3")).unwrap());
    let conversation = HostedConversation {
        group_id: b"bench".to_vec(),
        era: 1,
        epoch: 1,
        state: vec![0; 2048],
        group_info: vec![0; 2048],
        ratchet_tree: vec![0; 2048],
        members: (0..GROUP).map(member).collect(),
        ended: false,
    };
    let first = Accepted {
        group_id: b"bench".to_vec(),
        message_id: "create".into(),
        epoch: 0,
        new_state: None,
        opens: Some(EpochOwner {
            epoch: 1,
            device: member(0).device,
        }),
        pin: None,
        fanout: Vec::new(),
        at: 1,
    };
    store.create(&conversation, &first).unwrap();
    store
}

fn message(n: u64) -> Accepted {
    let envelope = vec![0x55; 400]; // a 100-byte text's CPIM + MLS envelope
    Accepted {
        group_id: b"bench".to_vec(),
        message_id: format!("m{n}"),
        epoch: 1,
        new_state: None,
        opens: None,
        pin: Some(Pin {
            epoch: 1,
            authenticator: [7; 32],
            sender: member(0).device,
        }),
        fanout: (1..GROUP)
            .map(|i| Fanout {
                recipient: member(i),
                message_id: format!("m{n}"),
                envelope: envelope.clone(),
                ratchet_tree: None,
            })
            .collect(),
        at: 2,
    }
}

fn accept(c: &mut Criterion) {
    let mut group = c.benchmark_group("ds_store");
    for threads in [1usize, 16, 64] {
        group.throughput(Throughput::Elements(threads as u64));
        group.bench_function(format!("accept_fanout9_x{threads}_threads"), |b| {
            let dir = tempfile::tempdir().unwrap();
            let store = store_with_group(dir.path());
            let mut next = 0u64;
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    std::thread::scope(|s| {
                        for t in 0..threads {
                            let store = store.clone();
                            let n = next + t as u64;
                            s.spawn(move || store.accept(&message(n)).unwrap());
                        }
                    });
                    next += threads as u64;
                }
                start.elapsed()
            });
        });
    }
    group.bench_function("inbox_fetch_and_ack_100", |b| {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_group(dir.path());
        let mut next = 0u64;
        let device = member(1).device;
        b.iter_custom(|iters| {
            for _ in 0..iters * 100 {
                store.accept(&message(next)).unwrap();
                next += 1;
            }
            let start = Instant::now();
            for _ in 0..iters {
                let page = store.inbox(&device, 0, 100).unwrap();
                let seqs: Vec<u64> = page.iter().map(|q| q.seq).collect();
                store.ack(&device, &seqs).unwrap();
            }
            start.elapsed()
        });
    });
    group.finish();
}

criterion_group!(benches, accept);
criterion_main!(benches);
