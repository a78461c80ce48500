//! Test support: providers (KDS + ACS from the KDS tests, plus a delivery
//! service) on loopback, and phones that talk to them over HTTP.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub(crate) mod client;
pub(crate) mod devices;
#[path = "../../../kds/tests/common/mod.rs"]
pub(crate) mod kds;
pub(crate) mod two;

pub(crate) use client::DsClient;
use std::sync::Arc;

use crosslock_client::*;
use crosslock_ds::store::SqliteDsStore;
use crosslock_ds::{ChannelPush, ContentConfig, ContentServer, Ds, DsConfig, DsError, Federation};
use crosslock_wire::api::ds::{CommitAccepted, SubmitCommit, WakeUp};
use devices::StoreDevices;
pub(crate) use kds::*;

/// A provider's delivery service on a loopback port.
pub(crate) struct DsServer {
    pub(crate) ds: Arc<Ds>,
    pub(crate) url: String,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) pushes: tokio::sync::mpsc::UnboundedReceiver<WakeUp>,
}

/// Starts a DS for `provider` (its devices authenticate with their KDS
/// tokens), with `configure` applied to the defaults.
pub(crate) async fn start_ds(
    provider: &Provider,
    credentials: crosslock_client::credential::TrustPolicy,
    federation: Federation,
    configure: impl FnOnce(&mut DsConfig),
) -> DsServer {
    start_ds_with_env(
        provider,
        credentials,
        federation,
        configure,
        env::Environment::system(),
    )
    .await
}

/// [`start_ds`] with the DS's clock and randomness given.
pub(crate) async fn start_ds_with_env(
    provider: &Provider,
    credentials: crosslock_client::credential::TrustPolicy,
    federation: Federation,
    configure: impl FnOnce(&mut DsConfig),
    environment: env::Environment,
) -> DsServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = DsConfig::new(provider.kds.config().kds_id.clone(), credentials);
    config.push.batch_window_ms = 10;
    configure(&mut config);
    let store = Arc::new(SqliteDsStore::open(&dir.path().join("ds.sqlite3")).unwrap());
    let auth = Arc::new(StoreDevices(provider.kds.store().clone()));
    let (push, pushes) = ChannelPush::new();
    let ds = Arc::new(Ds::new(
        config,
        store,
        auth.clone(),
        federation,
        Some(Arc::new(push)),
        environment,
    ));
    // Runs until the runtime stops.
    let _background = crosslock_ds::start_background(&ds);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let content_config = ContentConfig {
        public_base_url: url.clone(),
        ..ContentConfig::default()
    };
    let content = Arc::new(
        ContentServer::open(
            &dir.path().join("content"),
            content_config,
            auth,
            env::Environment::system(),
        )
        .unwrap(),
    );
    let router = crosslock_ds::router(ds.clone()).merge(crosslock_ds::content_router(content));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    DsServer {
        ds,
        url,
        dir,
        pushes,
    }
}

/// A phone with its KDS token and DS client.
pub(crate) struct Phone {
    pub(crate) device: Device,
    pub(crate) token: String,
    pub(crate) ds: DsClient,
}

impl Phone {
    /// Enrolls at `provider`, publishes KeyPackages, and talks to `ds`.
    pub(crate) async fn enroll(
        provider: &Provider,
        ds: &DsServer,
        number: &str,
        profile: DeviceProfile,
        trust: crosslock_client::credential::TrustPolicy,
    ) -> Phone {
        let mut device = phone(number, profile, trust);
        let token = provider.enroll(&mut device, false).await;
        provider.publish(&mut device, &token, 3).await;
        let ds = DsClient::new(http(), ds.url.clone(), token.clone());
        Phone { device, token, ds }
    }

    /// Submits a pending commit and applies the verdict.
    pub(crate) async fn submit(
        &mut self,
        pending: &PendingCommit,
    ) -> Result<CommitAccepted, DsError> {
        let request = SubmitCommit {
            commit: pending.commit.envelope.clone().into(),
            welcome: pending.welcome.as_ref().map(|w| w.envelope.clone().into()),
            group_info: pending.group_info.clone().into(),
            ratchet_tree: Some(pending.ratchet_tree.clone().into()),
            external: false,
        };
        match self.ds.commit(&request).await {
            Ok(accepted) => {
                self.device.commit_accepted(pending).unwrap();
                Ok(accepted)
            }
            Err(e) => {
                self.device.commit_rejected(pending).unwrap();
                Err(e)
            }
        }
    }

    /// Sends text in a conversation through the DS.
    pub(crate) async fn text(&mut self, id: &ConversationId, text: &str) -> Sent {
        let sent = self.device.send_text(id, text).unwrap();
        self.ds.message(&sent.outbound.envelope).await.unwrap();
        sent
    }

    /// Fetches the inbox (waiting up to `wait` seconds), hands every item to
    /// the client core, acknowledges the app-visible messages to the core,
    /// and the items to the DS. Returns what the core made of them.
    pub(crate) async fn sync_wait(&mut self, wait: u64) -> Vec<Result<Received, ClientError>> {
        let page = self.ds.inbox(0, 500, wait).await.unwrap();
        let mut out = Vec::new();
        let mut seqs = Vec::new();
        for item in page.items {
            let result =
                self.device
                    .receive_with_tree(&item.message_id, &item.envelope.0, item.tree());
            if let Ok(Received::Message(m)) = &result {
                self.device.ack(m.delivery).unwrap();
            }
            seqs.push(item.seq);
            out.push(result);
        }
        if !seqs.is_empty() {
            self.ds.ack(seqs).await.unwrap();
        }
        out
    }

    /// [`Phone::sync_wait`] without waiting.
    pub(crate) async fn sync(&mut self) -> Vec<Result<Received, ClientError>> {
        self.sync_wait(0).await
    }

    /// Claims `number`'s KeyPackages at `provider`.
    pub(crate) async fn claim(&self, provider: &Provider, number: &str) -> ParticipantKeyPackages {
        let (status, answer) = provider.claim(&self.token, number).await;
        assert_eq!(status, 200, "{answer}");
        participant(&answer)
    }
}

/// The texts among received results.
pub(crate) fn texts(received: &[Result<Received, ClientError>]) -> Vec<String> {
    received
        .iter()
        .filter_map(|r| match r {
            Ok(Received::Message(m)) => match &m.content {
                ReceivedContent::Mimi { content, .. } => content.text_body().map(str::to_owned),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

impl Phone {
    /// Encrypts `data` (RCC.16 Annex C.2), uploads the ciphertext to this
    /// phone's content server as `encrypted_file`, and sends its FileInfo
    /// and FT-HTTP descriptor in the conversation (two messages).
    pub(crate) async fn send_file(
        &mut self,
        id: &ConversationId,
        data: &[u8],
        name: &str,
        media_type: &str,
    ) -> crosslock_wire::file_info::FileMetadata {
        let mut blob = Vec::new();
        let prepared = self
            .device
            .prepare_file(data, &mut blob, name, media_type)
            .unwrap();
        let response = http()
            .post(format!("{}/v1/files", self.ds.base()))
            .bearer_auth(&self.token)
            .header(
                "content-disposition",
                "attachment; filename=\"encrypted_file\"",
            )
            .body(blob)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let uploaded: crosslock_wire::api::files::UploadAnswer = response.json().await.unwrap();
        let download = crosslock_client::file::Download {
            url: uploaded.url,
            until: uploaded.expires_at,
        };
        let sent = self
            .device
            .send_file(id, &prepared, download, None)
            .unwrap();
        for s in sent {
            self.ds.message(&s.outbound.envelope).await.unwrap();
        }
        prepared.metadata().clone()
    }

    /// Downloads and decrypts a received file.
    pub(crate) async fn fetch_file(&self, file: &crosslock_client::file::Attachment) -> Vec<u8> {
        let blob = http().get(&file.download.url).send().await.unwrap();
        assert_eq!(blob.status(), 200);
        let blob = blob.bytes().await.unwrap().to_vec();
        assert_eq!(blob.len() as u64, file.ciphertext_size);
        let mut out = Vec::new();
        crosslock_client::file::decrypt_file(std::io::Cursor::new(blob), &mut out, &file.metadata)
            .unwrap();
        out
    }
}
