//! The log's side of co-signing: asking a witness to co-sign a new root,
//! with the audit proof from the last epoch that witness co-signed.

use std::sync::Mutex;
use std::time::Duration;

use crosslock_wire::api::ErrorBody;
use crosslock_wire::api::kt::{CosignRequest, Cosignature, SignedRoot, WitnessPosition};

use crate::keys::PublicKey;
use crate::root::cosignature_valid;
use crate::server::error::KtServerError;
use crate::server::log::KtLog;

/// A witness the log asks for co-signatures (`POST {url}/witness/v1/cosign`).
#[derive(Debug)]
pub struct WitnessClient {
    url: String,
    key: PublicKey,
    http: reqwest::Client,
    /// The last epoch this witness co-signed, as far as we know.
    last_epoch: Mutex<Option<u64>>,
}

impl WitnessClient {
    /// A witness at `url` (e.g. `https://witness.example:8446`) whose key is
    /// `key`. `http` carries the TLS configuration; requests time out after
    /// 30 seconds.
    pub fn new(url: impl Into<String>, key: PublicKey, http: reqwest::Client) -> Self {
        WitnessClient {
            url: url.into().trim_end_matches('/').to_owned(),
            key,
            http,
            last_epoch: Mutex::new(None),
        }
    }

    /// The witness's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The witness's key.
    pub fn key(&self) -> PublicKey {
        self.key
    }

    fn remembered(&self) -> Option<u64> {
        *self
            .last_epoch
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remember(&self, epoch: u64) {
        *self
            .last_epoch
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(epoch);
    }

    /// Asks for a co-signature of `root` (already stored; called with the
    /// log's publication lock held). The audit from
    /// the witness's position goes in requests of at most
    /// [`MAX_EPOCHS_PER_REQUEST`] epochs, so a witness that was away for a
    /// long time catches up step by step within its body limit.
    pub(crate) async fn cosign(
        &self,
        log: &KtLog,
        root: &SignedRoot,
    ) -> Result<Cosignature, KtServerError> {
        let epoch = root.statement.epoch;
        let mut from = self
            .remembered()
            .unwrap_or(epoch.saturating_sub(1))
            .min(epoch);
        let mut restarts = 0;
        loop {
            let to = epoch.min(from.saturating_add(MAX_EPOCHS_PER_REQUEST));
            let audit = log.audit_locked(from, to).await?;
            let Some(last) = audit.roots.last().map(|r| r.statement.clone()) else {
                return Err(KtServerError::Witness(format!("{}: empty audit", self.url)));
            };
            match self.request(&CosignRequest { audit }).await? {
                Answer::Cosigned(c) => {
                    if c.witness_key.0 != self.key.0 || !cosignature_valid(&last, &c) {
                        return Err(KtServerError::Witness(format!(
                            "{}: answered with an invalid co-signature",
                            self.url
                        )));
                    }
                    self.remember(to);
                    if to == epoch {
                        // For the statement stored now (the caller checks
                        // it against the stored root: a re-signing in
                        // between is caught there).
                        return Ok(c);
                    }
                    from = to;
                }
                Answer::StartAt(position) => {
                    if position.last_epoch > epoch {
                        return Err(KtServerError::Witness(format!(
                            "{}: witness has co-signed epoch {}, beyond ours ({epoch})",
                            self.url, position.last_epoch
                        )));
                    }
                    restarts += 1;
                    if restarts > 2 {
                        return Err(KtServerError::Witness(format!(
                            "{}: could not agree on the audit start",
                            self.url
                        )));
                    }
                    from = position.last_epoch;
                }
            }
        }
    }

    async fn request(&self, request: &CosignRequest) -> Result<Answer, KtServerError> {
        let fail = |e: reqwest::Error| KtServerError::Witness(format!("{}: {e}", self.url));
        let answer = self
            .http
            .post(format!("{}/witness/v1/cosign", self.url))
            .timeout(Duration::from_secs(30))
            .json(request)
            .send()
            .await
            .map_err(fail)?;
        let status = answer.status();
        if status.is_success() {
            return Ok(Answer::Cosigned(answer.json().await.map_err(fail)?));
        }
        if status == reqwest::StatusCode::CONFLICT {
            return Ok(Answer::StartAt(answer.json().await.map_err(fail)?));
        }
        let body: Option<ErrorBody> = answer.json().await.ok();
        Err(KtServerError::Witness(format!(
            "{}: HTTP {status}: {}",
            self.url,
            body.map_or_else(String::new, |b| format!("{} ({})", b.message, b.error))
        )))
    }
}

/// Most epochs one co-signing request spans.
pub const MAX_EPOCHS_PER_REQUEST: u64 = 16;

enum Answer {
    Cosigned(Cosignature),
    StartAt(WitnessPosition),
}
