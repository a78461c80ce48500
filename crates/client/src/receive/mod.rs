//! Receiving: every check RCC.16 asks for, then MLS, then one atomic write
//! of the new state together with the decrypted message.
//!
//! Order of checks (cheapest and most specific first), each stage taking
//! what the one before produced:
//! 1. here: a server kick or a signed receipt (`crate::receipt`) is told
//!    apart from an MLS message;
//! 2. [`envelope`]: the entry checks, once: CPIM envelope headers,
//!    transport id = envelope id, id forms, proposals dropped unseen, the
//!    MLS message, and its RCC.16 authenticated data (message id and era)
//!    against the envelope; the result is an [`envelope::Inbound`];
//! 3. [`welcome`] for a Welcome; [`group`] for a group message: replay
//!    ledger, era, membership, commit-in-PrivateMessage, epoch
//!    authenticator of the epoch the message was framed in, MLS
//!    processing; then the stage of its content: [`application`] (frame,
//!    duplicates, content decoding, into the [`inbox`]), [`commit`] or
//!    [`proposal`].
//!
//! Any refusal leaves the device state untouched. The events handed back
//! are in [`received`].

mod application;
mod commit;
mod envelope;
mod group;
mod inbox;
mod proposal;
mod received;
mod welcome;

pub(crate) use inbox::{ack, undelivered};
pub use received::{CommitEvent, Received, ReceivedContent, ReceivedMessage, Sender};

use crosslock_wire::content_type;
use crosslock_wire::cpim::Message as CpimMessage;
use crosslock_wire::report::ReceiptEnvelope;
use mls_rs::WireFormat;

use crate::device::Device;
use crate::error::ClientError;
use envelope::Inbound;

/// RCV-KICK-1: whether the CPIM body is a `message/mls-rcs-server-kick`
/// (matched case-insensitively, parameters ignored).
fn is_server_kick(message: &CpimMessage) -> bool {
    message.content_type().is_some_and(|t| {
        t.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case(content_type::MLS_RCS_SERVER_KICK)
        })
    })
}

/// Equality of two byte strings in constant time (for their length).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Implements [`Device::receive_with_tree`].
pub(crate) fn receive_with_tree(
    device: &mut Device,
    transport_message_id: &str,
    bytes: &[u8],
    ratchet_tree: Option<&[u8]>,
) -> Result<Received, ClientError> {
    let message = CpimMessage::decode(bytes)?;
    if is_server_kick(&message) {
        // RCV-KICK-1: eviction is the server's business; membership
        // changes only by a commit.
        return Err(ClientError::ServerKickDropped);
    }
    if ReceiptEnvelope::is_receipt(&message) {
        return device.receive_receipt(transport_message_id, message);
    }
    let inbound = Inbound::check(transport_message_id, message)?;
    match inbound.message.wire_format() {
        WireFormat::Welcome => device.join(inbound, ratchet_tree),
        _ => device.receive_group_message(inbound),
    }
}

#[cfg(test)]
mod generation_tests;
