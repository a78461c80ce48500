//! The replay ledger (`Table::Seen`): the ids of the messages this device
//! processed or sent, by conversation ‖ message id (RCV-REPLAY-1, and
//! RCPT-REPLAY-1 for receipts); Welcomes by their transport id and by
//! their content (RCV-WEL-6); and the marks that a resend of an original
//! was shown (RCV-RESEND-1). A value is the time it was recorded (u64
//! seconds, big-endian), then for a shown application message who sent
//! it. Entries older than the replay window are pruned ([`Device::prune_seen`]).

use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::receive::Sender;
use crate::store::{Table, key};

/// The ledger key of a message (or receipt) of a conversation.
pub(crate) fn message_key(id: &ConversationId, message_id: &str) -> Vec<u8> {
    key(&[id.as_bytes(), message_id.as_bytes()])
}

/// The ledger key of a Welcome's transport id, in the empty-conversation
/// namespace of Welcomes.
pub(crate) fn welcome_id_key(message_id: &str) -> Vec<u8> {
    key(&[&[], message_id.as_bytes()])
}

/// The replay-ledger key of a Welcome: SHA-256 of its MLS bytes, in the
/// empty-conversation namespace of Welcomes, three parts long so that no
/// transport id (two parts) can take it (RCV-WEL-6).
pub(crate) fn welcome_content_key(welcome: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    key(&[&[], b"welcome-sha256", &Sha256::digest(welcome)])
}

/// Replay-ledger key marking that a resend of `original` was shown.
fn resent_key(id: &ConversationId, original: &str) -> Vec<u8> {
    key(&[id.as_bytes(), b"resent", original.as_bytes()])
}

/// Replay-ledger value: the time (u64, seconds), then who sent it.
fn seen_value(now: u64, sender: Option<&Sender>) -> Vec<u8> {
    let mut value = now.to_be_bytes().to_vec();
    if let Some(sender) = sender {
        value.extend_from_slice(sender_tag(sender).as_bytes());
    }
    value
}

fn sender_tag(sender: &Sender) -> String {
    format!("{}#{}", sender.number.as_str(), sender.device)
}

impl Device {
    /// Whether the ledger holds `key`.
    pub(crate) fn seen(&self, key: &[u8]) -> Result<bool, ClientError> {
        Ok(self.staged.get(Table::Seen, key)?.is_some())
    }

    /// Stages `key` into the ledger at `now`; `sender` for an application
    /// message that was shown (RCV-RESEND-1 reads it).
    pub(crate) fn mark_seen(&self, key: Vec<u8>, now: u64, sender: Option<&Sender>) {
        self.staged.put(Table::Seen, key, seen_value(now, sender));
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
                from_sender(self.staged.get(Table::Seen, &message_key(id, original))?)
                    || from_sender(self.staged.get(Table::Seen, &resent_key(id, original))?)
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
        self.mark_seen(resent_key(id, original), now, Some(sender));
    }

    /// Stages the deletion of every entry older than the replay window.
    pub(crate) fn prune_seen(&self, now: u64) -> Result<(), ClientError> {
        let window = self.config.replay_window_secs;
        for (k, v) in self.staged.scan(Table::Seen, &[])? {
            let at = v
                .first_chunk::<8>()
                .map(|t| u64::from_be_bytes(*t))
                .ok_or_else(|| internal("seen record"))?;
            if now.saturating_sub(at) > window {
                self.staged.delete(Table::Seen, k);
            }
        }
        Ok(())
    }
}
