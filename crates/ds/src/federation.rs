//! Between providers' delivery services, over mutually authenticated TLS.
//!
//! - A follower forwards its device's submission to the conversation's hub
//!   and relays the verdict (the hub alone orders the conversation).
//! - The hub's fan-out to a follower's devices is queued in its outbox in
//!   the same transaction as the acceptance, and a pump delivers it with
//!   retries and backoff; the follower checks each delivery (`deliver.rs`)
//!   and stores it once (duplicates are acknowledged and ignored). A
//!   follower that does not know the conversation asks for the proof of
//!   its creation here (DS-FED-5), which the pump then sends.

use std::sync::Arc;
use std::time::Duration;

use crosslock_wire::api::ErrorBody;
use crosslock_wire::api::ds::{
    CatchUp, CatchUpRequest, CommitAccepted, Delivery, DeviceRef, FederatedDeliveries,
    ForwardedSubmission, HubProof, MessageAccepted, SubmitCommit, SubmitMessage, SubmitReport,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::config::PeerDs;
use crate::error::DsError;
use crate::store::{OutboxEntry, OutboxStore};

/// Deliveries per federation request.
const BATCH: usize = 256;

/// The catch-up request a follower forwards.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct ForwardedCatchUp {
    pub(crate) sender: DeviceRef,
    pub(crate) request: CatchUpRequest,
}

/// How this delivery service reaches its peers.
#[derive(Debug, Clone)]
pub struct Federation {
    client: Option<reqwest::Client>,
    /// Per-peer clients, each trusting only that peer's TLS root
    /// (PROV-TLS-2); preferred over `client`.
    pinned: Vec<(String, reqwest::Client)>,
    peers: Vec<PeerDs>,
    kick: Arc<Notify>,
}

impl Federation {
    /// No peers.
    pub fn none() -> Self {
        Federation {
            client: None,
            pinned: Vec::new(),
            peers: Vec::new(),
            kick: Arc::default(),
        }
    }

    /// Peers reached with a TLS configuration that presents our federation
    /// certificate and trusts the peers' TLS roots.
    pub fn new(tls: rustls::ClientConfig, peers: Vec<PeerDs>) -> Result<Self, DsError> {
        let client = crosslock_tls::https_client(tls)
            .map_err(|e| DsError::Internal(format!("federation client: {e}")))?;
        Ok(Federation {
            client: Some(client),
            pinned: Vec::new(),
            peers,
            kick: Arc::default(),
        })
    }

    /// Peers reached each with its own TLS configuration (our federation
    /// certificate, and that peer's TLS root alone), so no peer's CA can
    /// speak for another peer's host (PROV-TLS-2).
    pub fn pinned(
        tls: Vec<(String, rustls::ClientConfig)>,
        peers: Vec<PeerDs>,
    ) -> Result<Self, DsError> {
        let pinned = crosslock_tls::pinned_clients(tls)
            .map_err(|e| DsError::Internal(format!("federation client: {e}")))?;
        Ok(Federation {
            client: None,
            pinned,
            peers,
            kick: Arc::default(),
        })
    }

    fn peer(&self, name: &str) -> Result<(&reqwest::Client, &PeerDs), DsError> {
        let client = self
            .pinned
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
            .or(self.client.as_ref())
            .ok_or_else(|| DsError::Peer(format!("{name}: no federation configured")))?;
        let peer = self
            .peers
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| DsError::Peer(format!("{name}: not a configured peer")))?;
        Ok((client, peer))
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        peer: &str,
        path: &str,
        body: &B,
    ) -> Result<T, DsError> {
        let (client, config) = self.peer(peer)?;
        let url = format!("{}{path}", config.federation_url.trim_end_matches('/'));
        let response = client
            .post(&url)
            .json(body)
            .send()
            .await
            .map_err(|e| DsError::Peer(format!("{peer}: {e}")))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| DsError::Peer(format!("{peer}: {e}")))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| DsError::Peer(format!("{peer}: bad answer: {e}")));
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => Err(DsError::from_body(status.as_u16(), &body)),
            Err(_) => Err(DsError::Peer(format!("{peer}: HTTP {status}"))),
        }
    }

    pub(crate) async fn forward_commit(
        &self,
        hub: &str,
        sender: &DeviceRef,
        commit: SubmitCommit,
    ) -> Result<CommitAccepted, DsError> {
        let body = ForwardedSubmission {
            sender: sender.clone(),
            commit: Some(commit),
            message: None,
            report: None,
        };
        self.post(hub, "/federation/v1/ds/submit", &body).await
    }

    pub(crate) async fn forward_message(
        &self,
        hub: &str,
        sender: &DeviceRef,
        message: SubmitMessage,
    ) -> Result<MessageAccepted, DsError> {
        let body = ForwardedSubmission {
            sender: sender.clone(),
            commit: None,
            message: Some(message),
            report: None,
        };
        self.post(hub, "/federation/v1/ds/submit", &body).await
    }

    pub(crate) async fn forward_report(
        &self,
        hub: &str,
        sender: &DeviceRef,
        report: SubmitReport,
    ) -> Result<MessageAccepted, DsError> {
        let body = ForwardedSubmission {
            sender: sender.clone(),
            commit: None,
            message: None,
            report: Some(report),
        };
        self.post(hub, "/federation/v1/ds/submit", &body).await
    }

    pub(crate) async fn forward_catch_up(
        &self,
        hub: &str,
        sender: &DeviceRef,
        request: CatchUpRequest,
    ) -> Result<CatchUp, DsError> {
        let body = ForwardedCatchUp {
            sender: sender.clone(),
            request,
        };
        self.post(hub, "/federation/v1/ds/catch-up", &body).await
    }

    /// New outbox entries: wake the pumps.
    pub(crate) fn kick(&self) {
        self.kick.notify_waiters();
    }

    /// The peer presenting this TLS client certificate.
    pub(crate) fn peer_by_certificate(&self, fingerprint: &[u8; 32]) -> Option<&PeerDs> {
        self.peers
            .iter()
            .find(|p| &p.tls_fingerprint == fingerprint)
    }

    /// Starts one outbox pump per peer: deliver queued fan-out, retry with
    /// exponential backoff (1 s to 60 s) while the peer is down, slow or
    /// answers garbage. Runs until the runtime stops.
    pub(crate) fn start_pumps(&self, store: Arc<dyn OutboxStore>) -> Vec<JoinHandle<()>> {
        self.peers
            .iter()
            .map(|peer| {
                let federation = self.clone();
                let store = store.clone();
                let name = peer.name.clone();
                tokio::spawn(async move { federation.pump(store, name).await })
            })
            .collect()
    }

    /// One federation request for `entries` (one conversation), with the
    /// proof of its creation here when the peer asks for it (DS-FED-5).
    async fn deliver(
        &self,
        store: &Arc<dyn OutboxStore>,
        peer: &str,
        entries: &[OutboxEntry],
    ) -> Result<(), DsError> {
        let group = entries[0].group_id.clone();
        let mut body = FederatedDeliveries {
            group_id: group.clone().into(),
            deliveries: entries
                .iter()
                .map(|e| Delivery {
                    recipient: e.recipient.clone(),
                    message_id: e.message_id.clone(),
                    envelope: e.envelope.clone().into(),
                    ratchet_tree: e.ratchet_tree.clone().map(Into::into),
                })
                .collect(),
            creation: None,
        };
        let post = |body: FederatedDeliveries| async move {
            match tokio::time::timeout(
                Duration::from_secs(30),
                self.post::<_, serde_json::Value>(peer, "/federation/v1/ds/deliver", &body),
            )
            .await
            {
                Ok(result) => result.map(|_| ()),
                Err(_) => Err(DsError::Peer(format!("{peer}: timed out"))),
            }
        };
        match post(body.clone()).await {
            Err(DsError::HubUnproven) => {
                let store = store.clone();
                let creation = tokio::task::spawn_blocking(move || store.creation(&group))
                    .await
                    .map_err(|e| DsError::Internal(e.to_string()))??;
                // No creation record: the conversation is no longer hosted
                // here (a new era elsewhere): nothing proves it.
                let creation = creation.ok_or(DsError::NotTheHub)?;
                body.creation = Some(HubProof {
                    group_info: creation.group_info.into(),
                    ratchet_tree: creation.ratchet_tree.map(Into::into),
                    created_at: creation.created_at,
                });
                post(body).await
            }
            other => other,
        }
    }

    /// Delivers one conversation's entries. Answers the outbox positions
    /// that are done (delivered, or finally refused by the peer) and
    /// whether everything was. A final refusal of several entries is
    /// retried one entry at a time, so that one delivery the peer will
    /// never take (a device revoked there since) does not block the rest.
    async fn send_group(
        &self,
        store: &Arc<dyn OutboxStore>,
        peer: &str,
        entries: &[OutboxEntry],
    ) -> (Vec<u64>, bool) {
        let all = || entries.iter().map(|e| e.seq).collect::<Vec<_>>();
        match self.deliver(store, peer, entries).await {
            Ok(()) => return (all(), true),
            Err(e) if e.is_final_refusal() && entries.len() == 1 => {
                tracing::warn!(%peer, reason = e.reason(), "peer refused a delivery for good; dropped");
                return (all(), true);
            }
            Err(e) if e.is_final_refusal() => {}
            Err(e) => {
                tracing::warn!(%peer, error = %e, "delivery to peer failed");
                return (Vec::new(), false);
            }
        }
        let mut done = Vec::new();
        for entry in entries {
            match self.deliver(store, peer, std::slice::from_ref(entry)).await {
                Ok(()) => done.push(entry.seq),
                Err(e) if e.is_final_refusal() => {
                    tracing::warn!(%peer, reason = e.reason(), "peer refused a delivery for good; dropped");
                    done.push(entry.seq);
                }
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "delivery to peer failed");
                    return (done, false);
                }
            }
        }
        (done, true)
    }

    async fn pump(&self, store: Arc<dyn OutboxStore>, peer: String) {
        let mut backoff = Duration::from_secs(1);
        loop {
            let kicked = self.kick.notified();
            let batch = {
                let store = store.clone();
                let peer = peer.clone();
                tokio::task::spawn_blocking(move || store.outbox(&peer, BATCH)).await
            };
            let batch = match batch {
                Ok(Ok(b)) => b,
                Ok(Err(e)) => {
                    tracing::warn!(%peer, error = %e, "outbox read failed");
                    tokio::time::sleep(backoff).await;
                    continue;
                }
                Err(_) => return,
            };
            if batch.is_empty() {
                let _ = tokio::time::timeout(Duration::from_secs(5), kicked).await;
                continue;
            }
            // One request per conversation in the batch, in order.
            let mut done = Vec::new();
            let mut failed = false;
            let mut start = 0;
            while start < batch.len() {
                let group = &batch[start].group_id;
                let end = batch[start..]
                    .iter()
                    .position(|e| &e.group_id != group)
                    .map_or(batch.len(), |p| start + p);
                let (sent, ok) = self.send_group(&store, &peer, &batch[start..end]).await;
                done.extend(sent);
                if !ok {
                    failed = true;
                    break;
                }
                start = end;
            }
            if !done.is_empty() {
                let store = store.clone();
                match tokio::task::spawn_blocking(move || store.outbox_done(&done)).await {
                    Ok(Ok(())) => {}
                    // Redelivered later; the peer ignores duplicates.
                    Ok(Err(e)) => tracing::warn!(%peer, error = %e, "outbox cleanup failed"),
                    Err(_) => return,
                }
            }
            if failed {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(60));
            } else {
                backoff = Duration::from_secs(1);
            }
        }
    }
}
