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

impl Device {
    /// Processes one incoming message delivered under `transport_message_id`.
    ///
    /// On success the new state and the decrypted message are stored in one
    /// transaction; on any error nothing changed. A Welcome needs the ratchet
    /// tree that travels beside it: deliver Welcomes with
    /// [`Device::receive_with_tree`] (here only one whose GroupInfo still
    /// carries the ratchet_tree extension joins).
    pub fn receive(
        &mut self,
        transport_message_id: &str,
        bytes: &[u8],
    ) -> Result<Received, ClientError> {
        self.receive_with_tree(transport_message_id, bytes, None)
    }

    /// [`Device::receive`] for a message that arrives with a ratchet tree
    /// beside it: the transport passes `InboxItem.ratchet_tree` (the tree of
    /// the epoch a Welcome joins, MLS-GI-1; an mls-rs `ExportedTree`).
    /// A Welcome joins with `ratchet_tree`, or, when its GroupInfo carries
    /// the ratchet_tree extension (older peers, MLS-GI-2), with that tree
    /// (mls-rs prefers it);
    /// mls-rs checks the tree against the GroupContext's tree hash, so a
    /// wrong tree refuses the Welcome and changes nothing. The tree is
    /// ignored for every other message.
    pub fn receive_with_tree(
        &mut self,
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
            return self.receive_receipt(transport_message_id, message);
        }
        let inbound = Inbound::check(transport_message_id, message)?;
        match inbound.message.wire_format() {
            WireFormat::Welcome => self.join(inbound, ratchet_tree),
            _ => self.receive_group_message(inbound),
        }
    }
}

#[cfg(test)]
mod generation_tests;
