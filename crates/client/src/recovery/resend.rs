//! Resending after a negative delivery report (RCC.16 recovery), and
//! showing one message per original at the receivers.
//!
//! The sender keeps every application payload it sends (except typing
//! indicators and transparency gossip) in the encrypted store for the
//! epoch retention period (`EpochRetention::seconds`, default 3 days: past
//! it, receivers could not decrypt the original's epoch either).
//! [`Device::resend_after_report`] encrypts the stored payload again as a
//! new message whose RCC.16 authenticated data links it to the original,
//! at most [`MAX_RESENDS`] times per original; a report about a resend
//! counts against its original.
//!
//! Receivers deduplicate by the link, bound to the authenticated sender:
//! - a resend of an original that this device already showed (from the
//!   same sender), or of which it already showed a resend, is
//!   [`Received::Duplicate`];
//! - an original that arrives after one of its resends (from the same
//!   sender) was shown is [`Received::Duplicate`] too.
//!
//! A link to another sender's message suppresses nothing: one member
//! cannot hide another member's message by claiming to resend it.

use crosslock_wire::inner::ApplicationPayload;
use crosslock_wire::mimi::MessageId;

use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::receive::{Received, Sender};
use crate::records::{self, SentRecord};
use crate::send::Sent;
use crate::store::{Table, key};

/// RCC.16: a message is resent at most this many times.
pub const MAX_RESENDS: u8 = 5;

pub(crate) fn sent_key(id: &ConversationId, message_id: &str) -> Vec<u8> {
    key(&[id.as_bytes(), message_id.as_bytes()])
}

/// Replay-ledger key marking that a resend of `original` was shown.
fn resent_key(id: &ConversationId, original: &str) -> Vec<u8> {
    key(&[id.as_bytes(), b"resent", original.as_bytes()])
}

/// Replay-ledger value: the time (u64, seconds), then who sent it.
pub(crate) fn seen_value(now: u64, sender: Option<&Sender>) -> Vec<u8> {
    let mut value = now.to_be_bytes().to_vec();
    if let Some(sender) = sender {
        value.extend_from_slice(sender_tag(sender).as_bytes());
    }
    value
}

fn sender_tag(sender: &Sender) -> String {
    format!("{}#{}", sender.number.as_str(), sender.device)
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
        self.staged.put(
            Table::Sent,
            sent_key(id, message_id),
            records::encode(&record)?,
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

    /// Resends a message a member reported as failed (a verified
    /// [`Received::NegativeReport`]): the original payload, encrypted again
    /// in the current epoch as a new message linked to the original
    /// (the authenticated `0x02` resend link and the CPIM
    /// `mls.Original-Message-ID`, as [`Device::resend`]). A report about a resend
    /// resends (and counts against) its original.
    ///
    /// Refused with [`ClientError::ResendLimit`] after [`MAX_RESENDS`]
    /// resends of one original (start a new era), and with
    /// [`ClientError::OriginalUnavailable`] for a message this device did
    /// not send in the conversation or that is past retention.
    pub fn resend_after_report(
        &mut self,
        id: &ConversationId,
        failed_message_id: &str,
    ) -> Result<Sent, ClientError> {
        let failed = self.sent_record(id, failed_message_id)?;
        let (original_id, mut original) = match failed.original.clone() {
            Some(original_id) => {
                let original = self.sent_record(id, &original_id)?;
                (original_id, original)
            }
            None => (failed_message_id.to_owned(), failed),
        };
        if original.resends >= MAX_RESENDS {
            return Err(ClientError::ResendLimit {
                original: original_id,
                limit: MAX_RESENDS,
            });
        }
        original.resends += 1;
        // The stored frame's generation is the original's; the resend is
        // framed again with its own (`send_payload`).
        let payload = ApplicationPayload::decode(&original.payload.0)
            .map_err(internal)?
            .payload;
        let mimi_id = original
            .mimi_id
            .as_ref()
            .and_then(|m| MessageId::from_slice(&m.0));
        let counted = records::encode(&original)?;
        let counted_key = sent_key(id, &original_id);
        self.send_payload(id, payload, mimi_id, Some(&original_id), move |device| {
            device.staged.put(Table::Sent, counted_key, counted);
            Ok(())
        })
    }

    /// RCV-RESEND-1: whether an application message from `sender`
    /// duplicates one this device already showed; returns the original's
    /// id if so.
    pub(crate) fn shown_already(
        &self,
        id: &ConversationId,
        sender: &Sender,
        message_id: &str,
        resend_of: Option<&str>,
    ) -> Result<Option<String>, ClientError> {
        let tag = sender_tag(sender);
        let from_sender =
            |value: Option<Vec<u8>>| value.is_some_and(|v| v.get(8..) == Some(tag.as_bytes()));
        let original = resend_of.unwrap_or(message_id);
        let shown = match resend_of {
            Some(original) => {
                from_sender(
                    self.staged
                        .get(Table::Seen, &key(&[id.as_bytes(), original.as_bytes()]))?,
                ) || from_sender(self.staged.get(Table::Seen, &resent_key(id, original))?)
            }
            None => from_sender(self.staged.get(Table::Seen, &resent_key(id, message_id))?),
        };
        Ok(shown.then(|| original.to_owned()))
    }

    /// Stages the mark that a resend of `original` from `sender` was shown.
    pub(crate) fn mark_resend_shown(
        &self,
        id: &ConversationId,
        sender: &Sender,
        original: &str,
        now: u64,
    ) {
        self.staged.put(
            Table::Seen,
            resent_key(id, original),
            seen_value(now, Some(sender)),
        );
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

/// What a duplicate turns into.
pub(crate) fn duplicate(id: &ConversationId, message_id: String, original: String) -> Received {
    Received::Duplicate {
        conversation: id.clone(),
        message_id,
        original,
    }
}
