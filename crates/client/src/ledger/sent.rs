//! The sent ledger (`Table::Sent`): every application payload this device
//! sends (except typing indicators and transparency gossip), by
//! conversation ‖ message id, kept for the epoch retention period
//! (`EpochRetention::seconds`, default 3 days: past it, receivers could
//! not decrypt the original's epoch either). `crate::recovery` resends
//! from it; a receipt is `sent_by_us` when its message is here.

use crosslock_wire::inner::ApplicationPayload;
use crosslock_wire::mimi::MessageId;

use crate::device::Device;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::records::{self, SentRecord};
use crate::store::{Table, key};

/// The ledger key of a message this device sent.
pub(crate) fn sent_key(id: &ConversationId, message_id: &str) -> Vec<u8> {
    key(&[id.as_bytes(), message_id.as_bytes()])
}

/// Payloads worth keeping for a resend: not typing indicators or gossip.
fn worth_keeping(payload: &ApplicationPayload) -> bool {
    let media = payload.media_type();
    media != crosslock_wire::content_type::IS_COMPOSING && media != crate::transparency::KT_GOSSIP
}

impl Device {
    /// Stages the record of a sent payload (from `send_payload`).
    pub(crate) fn remember_sent(
        &self,
        id: &ConversationId,
        message_id: &str,
        payload: &ApplicationPayload,
        encoded: &[u8],
        mimi_id: Option<&MessageId>,
        resend_of: Option<&str>,
    ) -> Result<(), ClientError> {
        if !worth_keeping(payload) {
            return Ok(());
        }
        let era = self.conversation_record(id)?.era;
        let record = SentRecord {
            payload: encoded.to_vec().into(),
            mimi_id: mimi_id.map(|m| m.as_bytes().to_vec().into()),
            sent_at: self.env.clock.now(),
            original: resend_of.map(str::to_owned),
            resends: 0,
            era: Some(era),
        };
        self.put_sent_record(id, message_id, &record)
    }

    /// Stages `record` as the ledger entry of `message_id`.
    pub(crate) fn put_sent_record(
        &self,
        id: &ConversationId,
        message_id: &str,
        record: &SentRecord,
    ) -> Result<(), ClientError> {
        self.staged.put(
            Table::Sent,
            sent_key(id, message_id),
            records::encode(record)?,
        );
        Ok(())
    }

    /// The era a message this device sent was sent in, if its record is
    /// still kept (records from before the era was recorded have none).
    pub(crate) fn original_era(
        &self,
        id: &ConversationId,
        message_id: &str,
    ) -> Result<Option<u32>, ClientError> {
        match self.staged.get(Table::Sent, &sent_key(id, message_id))? {
            Some(bytes) => Ok(records::decode::<SentRecord>(&bytes)?.era),
            None => Ok(None),
        }
    }

    /// The record of a message this device sent in the conversation and
    /// still keeps; [`ClientError::OriginalUnavailable`] otherwise (never
    /// sent here, or past retention).
    pub(crate) fn sent_record(
        &self,
        id: &ConversationId,
        message_id: &str,
    ) -> Result<SentRecord, ClientError> {
        let unavailable = || ClientError::OriginalUnavailable(message_id.to_owned());
        let bytes = self
            .staged
            .get(Table::Sent, &sent_key(id, message_id))?
            .ok_or_else(unavailable)?;
        let record: SentRecord = records::decode(&bytes)?;
        let age = self.env.clock.now().saturating_sub(record.sent_at);
        if age > self.config.epoch_retention.seconds {
            return Err(unavailable());
        }
        Ok(record)
    }

    /// Stages the deletion of sent payloads past retention.
    pub(crate) fn purge_sent(&self, now: u64) -> Result<(), ClientError> {
        for (k, v) in self.staged.scan(Table::Sent, &[])? {
            let record: SentRecord = records::decode(&v)?;
            if now.saturating_sub(record.sent_at) > self.config.epoch_retention.seconds {
                self.staged.delete(Table::Sent, k);
            }
        }
        Ok(())
    }
}
