//! A delivery service killed with SIGKILL loses nothing it acknowledged,
//! and after a restart every message reaches the application exactly once.
//!
//! The DS runs in a child process (this test binary re-executed with
//! `child_delivery_service`), on SQLite files in a directory the parent
//! owns; the parent runs the KDS, the phones, and does the killing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;

use common::devices::StoreDevices;
use common::*;
use crosslock_client::credential::{
    KeyAlgorithm, PublicKey, TrustAnchors, TrustPolicy, TrustedCarriers,
};
use crosslock_client::*;
use crosslock_ds::store::SqliteDsStore;
use crosslock_ds::{Ds, DsConfig, Federation};
use crosslock_kds::store::SqliteKdsStore;

const CHILD: &str = "CROSSLOCK_DS_CHILD";

/// The child: a DS serving until killed. Does nothing in a normal run.
#[test]
fn child_delivery_service() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    let dir = std::path::PathBuf::from(spec["dir"].as_str().unwrap());
    let key = |name: &str| {
        PublicKey::new(
            KeyAlgorithm::EcdsaP256,
            hex::decode(spec[name].as_str().unwrap()).unwrap(),
        )
        .unwrap()
    };
    let trust = TrustPolicy::Production {
        anchors: TrustAnchors::new(vec![key("ca")]),
        carriers: TrustedCarriers::new(vec![(
            spec["carrier_id"].as_str().unwrap().to_owned(),
            key("carrier"),
        )]),
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let kds = SqliteKdsStore::open(Path::new(spec["kds"].as_str().unwrap())).unwrap();
        let store = Arc::new(SqliteDsStore::open(&dir.join("ds.sqlite3")).unwrap());
        let config = DsConfig::new("kds.a.example", trust);
        let ds = Arc::new(Ds::new(
            config,
            store,
            Arc::new(StoreDevices(Arc::new(kds))),
            Federation::none(),
            None,
        ));
        let listener = tokio::net::TcpListener::bind(spec["addr"].as_str().unwrap())
            .await
            .unwrap();
        axum::serve(listener, crosslock_ds::router(ds))
            .await
            .unwrap();
    });
}

struct ChildDs {
    spec: String,
    url: String,
    child: Option<Child>,
}

impl ChildDs {
    async fn start(p: &Provider, dir: &Path) -> ChildDs {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let spec = serde_json::json!({
            "dir": dir,
            "kds": p._dir.path().join("kds.db"),
            "addr": addr.to_string(),
            "ca": hex::encode(p.ca_key.as_bytes()),
            "carrier": hex::encode(p.acs.public_key().as_bytes()),
            "carrier_id": p.acs.carrier_id(),
        })
        .to_string();
        let mut child = ChildDs {
            spec,
            url: format!("http://{addr}"),
            child: None,
        };
        child.spawn().await;
        child
    }

    async fn spawn(&mut self) {
        let exe = std::env::current_exe().unwrap();
        let process = Command::new(exe)
            .args([
                "child_delivery_service",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, &self.spec)
            .spawn()
            .unwrap();
        self.child = Some(process);
        // Ready when it answers (401 without a token).
        for _ in 0..200 {
            if let Ok(r) = http().get(format!("{}/v1/ds/inbox", self.url)).send().await
                && r.status() == 401
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("child DS did not start");
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}

impl Drop for ChildDs {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_between_acknowledging_and_delivering_loses_and_duplicates_nothing() {
    let p = Provider::start(ProviderSetup::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut ds = ChildDs::start(&p, dir.path()).await;
    let mut alice = phone("+15550100001", DeviceProfile::Android, p.trust());
    let mut bob = phone("+15550100002", DeviceProfile::Ios, p.trust());
    let alice_token = p.enroll(&mut alice, false).await;
    let bob_token = p.enroll(&mut bob, false).await;
    p.publish(&mut bob, &bob_token, 2).await;
    let mut alice = Phone {
        device: alice,
        token: alice_token.clone(),
        ds: DsClient::new(http(), ds.url.clone(), alice_token),
    };
    let mut bob = Phone {
        device: bob,
        token: bob_token.clone(),
        ds: DsClient::new(http(), ds.url.clone(), bob_token),
    };
    let pending = alice
        .device
        .create_conversation(
            NewConversation::OneToOne,
            &[alice.claim(&p, "+15550100002").await],
        )
        .unwrap();
    let id = pending.conversation.clone();
    alice.submit(&pending).await.unwrap();
    assert!(matches!(
        bob.sync().await.as_slice(),
        [Ok(Received::Joined { .. })]
    ));

    // 50 messages, each acknowledged by the DS, then SIGKILL at once.
    let n = 50;
    let mut sent = std::collections::HashSet::new();
    for i in 0..n {
        sent.insert(
            alice
                .text(&id, &format!("message {i}"))
                .await
                .outbound
                .message_id,
        );
    }
    ds.kill();
    ds.spawn().await;

    // Bob fetches and decrypts everything, but "crashes" before
    // acknowledging the DS; the DS is killed again; he fetches again.
    // (An acknowledgement the DS had not yet written — Bob's for the
    // Welcome — may be lost with the process: that item comes again, and
    // the client core recognises it.)
    let page = bob.ds.inbox(0, 500, 0).await.unwrap();
    let ours = page
        .items
        .iter()
        .filter(|i| sent.contains(&i.message_id))
        .count();
    assert_eq!(ours, n, "every acknowledged message survived");
    assert!(page.items.len() <= n + 1);
    let mut app: Vec<String> = Vec::new();
    for item in &page.items {
        if let Ok(Received::Message(m)) =
            bob.device
                .receive_with_tree(&item.message_id, &item.envelope.0, item.tree())
        {
            if let ReceivedContent::Mimi { content, .. } = &m.content {
                app.push(content.text_body().unwrap().to_owned());
            }
            bob.device.ack(m.delivery).unwrap();
        }
    }
    ds.kill();
    ds.spawn().await;
    let again = bob.sync().await;
    assert_eq!(
        again.len(),
        page.items.len(),
        "unacknowledged items are delivered again"
    );
    for r in &again {
        // The client core recognises each as already processed.
        assert!(r.is_err(), "{r:?}");
    }
    let expected: Vec<String> = (0..n).map(|i| format!("message {i}")).collect();
    assert_eq!(app, expected, "exactly once, in order");
    assert!(
        bob.sync().await.is_empty(),
        "acknowledged items are gone for good"
    );
}
