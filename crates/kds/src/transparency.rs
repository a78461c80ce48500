//! Key transparency at the KDS: publishing queued changes in epochs, and
//! the proofs attached to claims and served to devices.
//!
//! Enrollments and revocations queue the number in the same transaction as
//! the change ([`crate::store::TransparencyQueue`]), so nothing acknowledged
//! is missed. [`Kds::publish_transparency`] reads the queue, computes each
//! number's binding from the store *as it is now* (so a number changed twice
//! is published once, with its latest keys), publishes one epoch and only
//! then removes what it published. A crash in between publishes the same
//! bindings again, which akd recognises as unchanged.

use std::sync::Arc;
use std::time::Duration;

use crosslock_credential::{PhoneNumber, UnverifiedCredential};
use crosslock_kt::server::KtLog;
use crosslock_kt::{Binding, BoundKey, suites_served_by};
use crosslock_wire::api::kt::{HistoryAnswer, LookupAnswer, SignedRoot};

use crate::error::KdsError;
use crate::service::Kds;
use crate::store::{DeviceRecord, SkippedNumber};

/// The name of the stored marker saying this KDS has published bindings
/// with suites (KT-SUITE-1).
const SUITES_MARKER: &str = "kt-bindings-list-suites";

impl Kds {
    fn log(&self) -> Result<&Arc<KtLog>, KdsError> {
        self.kt.as_ref().ok_or(KdsError::NoTransparency)
    }

    async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Kds) -> Result<T, KdsError> + Send + 'static,
    ) -> Result<T, KdsError> {
        let kds = self.clone();
        tokio::task::spawn_blocking(move || f(&kds))
            .await
            .map_err(|e| KdsError::Internal(e.to_string()))?
    }

    /// The binding the store holds for `number` now: what the next epoch
    /// publishes for it.
    pub fn binding_of(&self, number: &str) -> Result<Binding, KdsError> {
        self.binding_from_store(number)?
            .map_err(|e| KdsError::Internal(e.to_string()))
    }

    /// The binding for `number`: the outer error is the store failing (the
    /// epoch is retried), the inner one a binding that cannot be published.
    /// Each key lists the suites its certified key serves (KT-SUITE-1,
    /// `crosslock_kt::suites_served_by`): the algorithm the device chose
    /// for its own certification request, so a binding listing fewer is
    /// seen by the owner's own-history check.
    fn binding_from_store(
        &self,
        number: &str,
    ) -> Result<Result<Binding, crosslock_kt::KtError>, KdsError> {
        let keys = self
            .store
            .keys_of_number(number)?
            .into_iter()
            .filter_map(|c| {
                let leaf = c.chain.first()?;
                let suites = UnverifiedCredential::parse(leaf)
                    .map(|cred| suites_served_by(cred.key().algorithm()))
                    .unwrap_or_default();
                Some(BoundKey::new(c.device_id, c.public_key, leaf).serving(suites.iter().copied()))
            })
            .collect();
        Ok(Binding::of(keys))
    }

    /// Publishes one epoch with up to `max_epoch_updates` queued numbers.
    /// Returns the new latest root, or `None` when nothing was published.
    ///
    /// A queued number whose binding cannot be published (e.g. more keys
    /// than a binding holds, from a database older than the device cap) is
    /// left out, taken off the queue and recorded
    /// ([`crate::store::TransparencyQueue::skipped`]); the others are
    /// published (KDS-KT-1). One number never stops the epoch.
    pub async fn publish_transparency(
        self: &Arc<Self>,
        now: u64,
    ) -> Result<Option<SignedRoot>, KdsError> {
        let log = self.log()?.clone();
        let limit = self.config.transparency.max_epoch_updates;
        let (queued, updates, skipped) = self
            .blocking(move |kds| {
                let queued = kds.store.queued(limit)?;
                let mut updates = Vec::with_capacity(queued.len());
                let mut published = Vec::with_capacity(queued.len());
                let mut skipped = Vec::new();
                for q in queued {
                    // A store failure aborts the epoch (retried on the next
                    // tick, nothing dequeued); only a binding that can
                    // never be published is left out.
                    match kds.publishable(&q.number)? {
                        Ok(update) => {
                            updates.push(update);
                            published.push(q);
                        }
                        Err(reason) => skipped.push(SkippedNumber {
                            number: q.number,
                            seq: q.seq,
                            reason,
                            skipped_at: now,
                        }),
                    }
                }
                Ok((published, updates, skipped))
            })
            .await?;
        if !skipped.is_empty() {
            for s in &skipped {
                let shown = PhoneNumber::parse(&s.number)
                    .map(|n| n.redacted())
                    .unwrap_or_else(|_| "(not a number)".into());
                tracing::warn!(number = %shown, reason = %s.reason, "key-transparency: binding left out of the epoch; the number's devices are not visible to contacts until it changes");
            }
            self.blocking(move |kds| kds.store.skip(&skipped)).await?;
        }
        if queued.is_empty() {
            return Ok(None);
        }
        let count = updates.len();
        let root = log.publish(updates, now).await?;
        self.blocking(move |kds| kds.store.dequeue(&queued)).await?;
        tracing::info!(
            epoch = root.statement.epoch,
            numbers = count,
            "key-transparency epoch closed"
        );
        Ok(Some(root))
    }

    /// A queued number with the binding to publish for it, or why it
    /// cannot be published (the reason never names the number).
    #[allow(clippy::type_complexity)]
    fn publishable(
        &self,
        number: &str,
    ) -> Result<Result<(PhoneNumber, Binding), String>, KdsError> {
        let Ok(parsed) = PhoneNumber::parse(number) else {
            return Ok(Err("the queued entry is not an E.164 number".into()));
        };
        Ok(self
            .binding_from_store(number)?
            .map(|binding| (parsed, binding))
            .map_err(|e| e.to_string()))
    }

    /// Runs the publisher until the task is dropped or aborted: closes an
    /// epoch when `max_epoch_updates` numbers are queued or
    /// `epoch_interval_secs` after the last one, re-signs the latest root
    /// every `refresh_interval_secs`, and asks witnesses again for missing
    /// co-signatures. On a directory still at epoch 0 it first queues every
    /// number the KDS knows (a directory added to a running KDS).
    pub async fn run_transparency(self: Arc<Self>) -> Result<(), KdsError> {
        let log = self.log()?.clone();
        let settings = self.config.transparency;
        self.queue_on_start().await?;
        let mut last_epoch_at = 0u64;
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let t = self.now();
            if let Err(e) = self
                .transparency_tick(&log, t, &mut last_epoch_at, settings)
                .await
            {
                tracing::error!(error = %e, "key-transparency publisher");
            }
        }
    }

    /// What the publisher queues when it starts: every number the KDS
    /// knows when the directory is still at epoch 0 (a directory added to
    /// a running KDS), or when this store has never published bindings
    /// with suites (KT-SUITE-1: a KDS upgraded from version 1 bindings
    /// republishes every number once, so owners' history checks see their
    /// suites listed). Returns how many numbers were queued.
    pub async fn queue_on_start(self: &Arc<Self>) -> Result<usize, KdsError> {
        let log = self.log()?.clone();
        let fresh = self.random();
        // The marker is made once and kept: equal to `fresh` only on the
        // first start that publishes suites.
        let first_with_suites = self
            .blocking(move |kds| Ok(kds.store.secret(SUITES_MARKER, fresh)? == fresh))
            .await?;
        let empty = log.latest_root()?.is_none_or(|r| r.statement.epoch == 0);
        if !empty && !first_with_suites {
            return Ok(0);
        }
        let n = self.blocking(|kds| kds.store.queue_all_numbers()).await?;
        tracing::info!(
            numbers = n,
            reason = if empty {
                "directory starting"
            } else {
                "bindings republished with their suites"
            },
            "key-transparency: every number queued"
        );
        Ok(n)
    }

    async fn transparency_tick(
        self: &Arc<Self>,
        log: &Arc<KtLog>,
        now: u64,
        last_epoch_at: &mut u64,
        settings: crate::config::TransparencySettings,
    ) -> Result<(), KdsError> {
        let queued = self.blocking(|kds| kds.store.queue_len()).await?;
        let due = now.saturating_sub(*last_epoch_at) >= settings.epoch_interval_secs;
        if queued >= settings.max_epoch_updates || (queued > 0 && due) {
            self.publish_transparency(now).await?;
            *last_epoch_at = now;
            return Ok(());
        }
        let Some(root) = log.latest_root()? else {
            return Ok(());
        };
        if now.saturating_sub(root.statement.signed_at) >= settings.refresh_interval_secs {
            log.refresh(now).await?;
        } else if due && root.cosignatures.len() < log.witness_count() {
            log.retry_cosignatures().await?;
            *last_epoch_at = now;
        }
        Ok(())
    }

    /// A lookup proof for a local number, with the devices it proves.
    pub(crate) async fn transparency_lookup(
        self: &Arc<Self>,
        number: &PhoneNumber,
    ) -> Result<(LookupAnswer, Binding), KdsError> {
        let log = self.log()?;
        match log.lookup_with_binding(number).await {
            Ok(found) => Ok(found),
            Err(crosslock_kt::server::KtServerError::UnknownNumber) => {
                Err(KdsError::NotYetPublished {
                    retry_after_secs: self.config.transparency.epoch_interval_secs.max(1),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `POST /v1/kt/lookup`: any device may look up a local number (rate
    /// limited per requester and target, like claims).
    pub(crate) async fn lookup_for(
        self: &Arc<Self>,
        requester: &DeviceRecord,
        number: &str,
        now: u64,
    ) -> Result<LookupAnswer, KdsError> {
        self.log()?;
        let number =
            PhoneNumber::parse(number).map_err(|e| KdsError::InvalidNumber(e.to_string()))?;
        let requester = crate::claim::Requester::Device(requester.device_id.clone());
        let buckets = crate::claim::buckets(
            self,
            b"lookup",
            self.config.transparency.lookup_rate,
            &requester,
            &number,
        );
        {
            let number = number.clone();
            self.blocking(move |kds| kds.take_tokens(&buckets, &number, "lookup", now))
                .await?;
        }
        Ok(self.transparency_lookup(&number).await?.0)
    }

    /// `POST /v1/kt/history`: a device fetches its own number's history.
    pub(crate) async fn history_for(
        self: &Arc<Self>,
        requester: &DeviceRecord,
        number: &str,
    ) -> Result<HistoryAnswer, KdsError> {
        let log = self.log()?;
        let number =
            PhoneNumber::parse(number).map_err(|e| KdsError::InvalidNumber(e.to_string()))?;
        if number.as_str() != requester.number {
            return Err(KdsError::NotYourNumber);
        }
        match log.history(&number).await {
            Ok(h) => Ok(h),
            Err(crosslock_kt::server::KtServerError::UnknownNumber) => {
                Err(KdsError::NotYetPublished {
                    retry_after_secs: self.config.transparency.epoch_interval_secs.max(1),
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}
