//! A device's HTTP client for the delivery-service API (docs/ds.md).

use crosslock_wire::api::ds::{
    AckRequest, CatchUp, CatchUpRequest, CommitAccepted, InboxPage, MessageAccepted,
    PushRegistration, SubmitCommit, SubmitMessage, SubmitReport,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::SdkError;
use crate::transport::http::server_error;

/// Calls a delivery service as one device (its KDS bearer token).
#[derive(Clone)]
pub struct DsClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for DsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DsClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl DsClient {
    /// A client of the DS at `base` (e.g. `https://ds.example`) for the
    /// device holding `token`.
    pub fn new(http: reqwest::Client, base: impl Into<String>, token: impl Into<String>) -> Self {
        DsClient {
            http,
            base: base.into().trim_end_matches('/').to_owned(),
            token: token.into(),
        }
    }

    /// The DS base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn answer<T: DeserializeOwned>(
        what: &str,
        response: reqwest::Response,
    ) -> Result<T, SdkError> {
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SdkError::network(format!("delivery service: {e}")))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| SdkError::network(format!("{what}: unexpected answer: {e}")));
        }
        Err(server_error(
            what,
            status.as_u16(),
            &String::from_utf8_lossy(&bytes),
        ))
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, SdkError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .timeout(super::http::API_TIMEOUT)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| SdkError::network(format!("delivery service: {e}")))?;
        Self::answer(path, response).await
    }

    /// Submits a commit (with its Welcome and GroupInfo).
    pub async fn commit(&self, commit: &SubmitCommit) -> Result<CommitAccepted, SdkError> {
        self.post("/v1/ds/commit", commit).await
    }

    /// Submits an application message or proposal (its CPIM envelope).
    pub async fn message(&self, envelope: &[u8]) -> Result<MessageAccepted, SdkError> {
        self.post(
            "/v1/ds/message",
            &SubmitMessage {
                envelope: envelope.to_vec().into(),
            },
        )
        .await
    }

    /// Relays a signed receipt (a delivery, display or negative delivery
    /// IMDN) to the conversation.
    pub async fn report(&self, report: &SubmitReport) -> Result<MessageAccepted, SdkError> {
        self.post("/v1/ds/report", report).await
    }

    /// The inbox after `after`; waits up to `wait_secs` for something.
    pub async fn inbox(
        &self,
        after: u64,
        limit: usize,
        wait_secs: u64,
    ) -> Result<InboxPage, SdkError> {
        self.get_inbox(&format!("after={after}&limit={limit}&wait={wait_secs}"))
            .await
    }

    /// Acknowledges every item up to and including `ack_through`, then
    /// returns what follows it (waiting up to `wait_secs`): one request per
    /// page for a device that processes its inbox in order.
    pub async fn next_page(
        &self,
        ack_through: u64,
        limit: usize,
        wait_secs: u64,
    ) -> Result<InboxPage, SdkError> {
        self.get_inbox(&format!(
            "after={ack_through}&ack_through={ack_through}&limit={limit}&wait={wait_secs}"
        ))
        .await
    }

    async fn get_inbox(&self, query: &str) -> Result<InboxPage, SdkError> {
        let response = self
            .http
            .get(format!("{}/v1/ds/inbox?{query}", self.base))
            .timeout(super::http::API_TIMEOUT)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| SdkError::network(format!("delivery service: {e}")))?;
        Self::answer("/v1/ds/inbox", response).await
    }

    /// Acknowledges inbox items (they are deleted).
    pub async fn ack(&self, seqs: Vec<u64>) -> Result<(), SdkError> {
        self.post::<_, serde_json::Value>("/v1/ds/inbox/ack", &AckRequest { seqs })
            .await
            .map(|_| ())
    }

    /// Registers the device's push token.
    pub async fn register_push(&self, token: &str) -> Result<(), SdkError> {
        self.post::<_, serde_json::Value>(
            "/v1/ds/push",
            &PushRegistration {
                token: token.to_owned(),
            },
        )
        .await
        .map(|_| ())
    }

    /// The conversation's commits from `from_epoch` on, and its GroupInfo.
    pub async fn catch_up(&self, group_id: &[u8], from_epoch: u64) -> Result<CatchUp, SdkError> {
        self.post(
            "/v1/ds/catch-up",
            &CatchUpRequest {
                group_id: group_id.to_vec().into(),
                from_epoch,
            },
        )
        .await
    }
}
