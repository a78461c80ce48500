//! The device side of the DS API for these tests: the SDK's client, with
//! the DS's refusals decoded back into `DsError` so the tests can say
//! exactly which refusal they expect.

use crosslock_ds::DsError;
use crosslock_sdk::SdkError;
use crosslock_wire::api::ErrorBody;
use crosslock_wire::api::ds::{
    CatchUp, CommitAccepted, InboxPage, MessageAccepted, SubmitCommit, SubmitReport,
};

/// The DS's refusal, decoded back into its `DsError`.
fn ds_error(e: SdkError) -> DsError {
    match e {
        SdkError::Server {
            status,
            code,
            message,
            ..
        } => DsError::from_body(
            status,
            &ErrorBody {
                error: code,
                message,
            },
        ),
        other => DsError::Peer(other.to_string()),
    }
}

/// `crosslock_sdk::transport::DsClient` answering `DsError`s.
#[derive(Clone, Debug)]
pub(crate) struct DsClient(crosslock_sdk::transport::DsClient);

#[allow(dead_code)] // each test binary uses some of it
impl DsClient {
    pub(crate) fn new(
        http: reqwest::Client,
        base: impl Into<String>,
        token: impl Into<String>,
    ) -> Self {
        DsClient(crosslock_sdk::transport::DsClient::new(http, base, token))
    }
    pub(crate) fn base(&self) -> &str {
        self.0.base()
    }
    pub(crate) async fn commit(&self, c: &SubmitCommit) -> Result<CommitAccepted, DsError> {
        self.0.commit(c).await.map_err(ds_error)
    }
    pub(crate) async fn message(&self, envelope: &[u8]) -> Result<MessageAccepted, DsError> {
        self.0.message(envelope).await.map_err(ds_error)
    }
    pub(crate) async fn report(&self, r: &SubmitReport) -> Result<MessageAccepted, DsError> {
        self.0.report(r).await.map_err(ds_error)
    }
    pub(crate) async fn inbox(
        &self,
        after: u64,
        limit: usize,
        wait: u64,
    ) -> Result<InboxPage, DsError> {
        self.0.inbox(after, limit, wait).await.map_err(ds_error)
    }
    pub(crate) async fn next_page(
        &self,
        through: u64,
        limit: usize,
        wait: u64,
    ) -> Result<InboxPage, DsError> {
        self.0
            .next_page(through, limit, wait)
            .await
            .map_err(ds_error)
    }
    pub(crate) async fn ack(&self, seqs: Vec<u64>) -> Result<(), DsError> {
        self.0.ack(seqs).await.map_err(ds_error)
    }
    pub(crate) async fn register_push(&self, token: &str) -> Result<(), DsError> {
        self.0.register_push(token).await.map_err(ds_error)
    }
    pub(crate) async fn catch_up(&self, group_id: &[u8], from: u64) -> Result<CatchUp, DsError> {
        self.0.catch_up(group_id, from).await.map_err(ds_error)
    }
}
