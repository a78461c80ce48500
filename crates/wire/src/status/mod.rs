//! MIMI message status reports (`application/mimi-message-status`).
//!
//! The per-message entries and status values follow
//! draft-mahy-mimi-message-status §3–§4:
//!
//! ```text
//! MessageStatusReport = [ timestamp: uint, statuses: [ * PerMessageStatus ] ]
//! PerMessageStatus    = [ messageId: bstr .size 32, status: uint ]
//! ; 0 unread, 1 delivered, 2 read, 3 expired, 4 deleted, 5 hidden, 6 error
//! ```
//!
//! The latest draft sends the bare `[ * PerMessageStatus ]` and leaves time
//! to the hub's accepted timestamp; earlier text (the report in
//! draft-ietf-mimi-content) wrapped it as `[timestamp, statuses]`. Crosslock
//! keeps the wrapper, with the timestamp as milliseconds since the UNIX epoch
//! as a plain `uint`, because its delivery service stamps no time that is
//! bound to the encrypted content, and a read receipt needs the reader's own
//! time. Unknown status values (7..255 in the draft) are refused, as is any
//! report with more than [`MAX_ENTRIES`] entries. Only the deterministic
//! encoding (RFC 8949 §4.2.1) is accepted.

mod error;

pub use error::StatusError;

use crate::cbor::{self, ScanLimits, read, write};
use crate::mimi::MessageId;

/// The most entries a report may carry.
pub const MAX_ENTRIES: usize = 1024;

/// An entry encodes to at most 1 + 34 + 1 bytes, the header to at most 18.
const LIMITS: ScanLimits = ScanLimits {
    max_bytes: 32 + MAX_ENTRIES * 40,
    max_depth: 3,
    max_items: 3 + MAX_ENTRIES * 3,
};

/// The status of one message at the report's sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageStatus {
    /// 0: not yet read.
    Unread,
    /// 1: a client of the sender received it.
    Delivered,
    /// 2: the sender read it.
    Read,
    /// 3: it expired and is not available for reading.
    Expired,
    /// 4: it was deleted.
    Deleted,
    /// 5: the sender's client hid it (for example archived).
    Hidden,
    /// 6: the id is known but receiving the message failed.
    Error,
}

impl MessageStatus {
    /// The wire value.
    pub fn to_u8(self) -> u8 {
        self as u8
    }

    /// The status for a wire value, if it is one of the seven defined.
    pub fn from_u64(v: u64) -> Option<MessageStatus> {
        use MessageStatus::*;
        Some(match v {
            0 => Unread,
            1 => Delivered,
            2 => Read,
            3 => Expired,
            4 => Deleted,
            5 => Hidden,
            6 => Error,
            _ => return None,
        })
    }
}

/// The status of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PerMessageStatus {
    /// The MIMI message id.
    pub message_id: MessageId,
    /// Its status.
    pub status: MessageStatus,
}

/// A report of the status of several messages in one room.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MessageStatusReport {
    /// When the report was made, in milliseconds since the UNIX epoch.
    pub timestamp_ms: u64,
    /// The statuses, in the sender's order.
    pub statuses: Vec<PerMessageStatus>,
}

impl MessageStatusReport {
    /// The deterministic CBOR encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.statuses.len() * 36);
        write::array(&mut out, 2);
        write::uint(&mut out, self.timestamp_ms);
        write::array(&mut out, self.statuses.len());
        for s in &self.statuses {
            write::array(&mut out, 2);
            write::bytes(&mut out, s.message_id.as_bytes());
            write::uint(&mut out, s.status.to_u8().into());
        }
        out
    }

    /// Decodes and checks a report.
    pub fn decode(bytes: &[u8]) -> Result<MessageStatusReport, StatusError> {
        let value = cbor::parse(bytes, &LIMITS)?;
        let top = read::array_of(&value, 2, "a report must be [timestamp, statuses]")
            .map_err(StatusError::Invalid)?;
        let timestamp_ms =
            read::uint(&top[0], "timestamp must be a uint").map_err(StatusError::Invalid)?;
        let entries =
            read::array(&top[1], "statuses must be an array").map_err(StatusError::Invalid)?;
        if entries.len() > MAX_ENTRIES {
            return Err(StatusError::TooMany);
        }
        let statuses = entries
            .iter()
            .map(|entry| {
                let pair = read::array_of(entry, 2, "an entry must be [messageId, status]")
                    .map_err(StatusError::Invalid)?;
                let message_id = read::fixed(&pair[0], "messageId must be 32 bytes")
                    .map(MessageId)
                    .map_err(StatusError::Invalid)?;
                let raw: u64 =
                    read::uint(&pair[1], "status must be a uint").map_err(StatusError::Invalid)?;
                let status = MessageStatus::from_u64(raw).ok_or(StatusError::UnknownStatus(raw))?;
                Ok(PerMessageStatus { message_id, status })
            })
            .collect::<Result<Vec<_>, StatusError>>()?;
        let report = MessageStatusReport {
            timestamp_ms,
            statuses,
        };
        if report.encode() != bytes {
            return Err(StatusError::Invalid(
                "not deterministically encoded (RFC 8949 §4.2.1)",
            ));
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests;
