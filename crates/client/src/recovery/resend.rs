//! Resending after a negative delivery report (RCC.16 recovery), and
//! showing one message per original at the receivers.
//!
//! The sender keeps every application payload it sends (except typing
//! indicators and transparency gossip) in the sent ledger
//! (`crate::ledger::sent`) for the epoch retention period.
//! [`Device::resend_after_report`] encrypts the stored payload again as a
//! new message whose RCC.16 authenticated data links it to the original,
//! at most [`MAX_RESENDS`] times per original; a report about a resend
//! counts against its original.
//!
//! Receivers deduplicate by the link, bound to the authenticated sender
//! (the replay ledger's resend marks, `crate::ledger::seen`; RCV-RESEND-1
//! in `crate::receive::application`):
//! - a resend of an original that this device already showed (from the
//!   same sender), or of which it already showed a resend, is
//!   [`Received::Duplicate`];
//! - an original that arrives after one of its resends (from the same
//!   sender) was shown is [`Received::Duplicate`] too.
//!
//! A link to another sender's message suppresses nothing: one member
//! cannot hide another member's message by claiming to resend it.
//!
//! [`Received::Duplicate`]: crate::Received::Duplicate

use crosslock_wire::inner::ApplicationPayload;
use crosslock_wire::mimi::MessageId;

use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::send::Sent;

/// RCC.16: a message is resent at most this many times.
pub const MAX_RESENDS: u8 = 5;

/// Implements [`Device::resend_after_report`].
pub(crate) fn resend_after_report(
    device: &mut Device,
    id: &ConversationId,
    failed_message_id: &str,
) -> Result<Sent, ClientError> {
    let failed = device.sent_record(id, failed_message_id)?;
    let (original_id, mut original) = match failed.original.clone() {
        Some(original_id) => {
            let original = device.sent_record(id, &original_id)?;
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
    let counted_id = original_id.clone();
    device.send_payload(id, payload, mimi_id, Some(&original_id), move |device| {
        device.put_sent_record(id, &counted_id, &original)
    })
}
