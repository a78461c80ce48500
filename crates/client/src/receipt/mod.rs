//! Signed RCC.16 receipts (`../shared/rcc16-deployed.md` §5, RCC.16
//! §7.6.2 / §7.6.3): delivery, display and negative delivery IMDNs, sent
//! in plaintext with an `rcs_signature` over their derived content.
//!
//! Making one ([`Device::delivery_receipt`], [`Device::display_receipt`],
//! `Device::negative_report`): the IMDN (`crosslock_wire::imdn`), its
//! derived content (`crosslock_wire::report::DerivedContent`, bound to the
//! receipt's own id and the era), and an MLS PublicMessage carrying an
//! `rcs_signature` (0xF002) custom proposal with an empty body and the
//! derived content as `authenticated_data`, signed (and membership-tagged)
//! by this member in the group's current epoch. The proposal is built on a
//! throwaway copy of the group loaded from storage: the proposal it caches
//! is dropped with it, so the group's pending proposals and the stored
//! state never change. Checking one: [`verify`].

mod verify;

use crosslock_wire::content_type;
use crosslock_wire::cpim::is_valid_message_id;
use crosslock_wire::imdn::{DeliveryStatus, DisplayStatus, Imdn, Notification};
use crosslock_wire::report::{DerivedContent, ReceiptEnvelope};
use mls_rs::group::proposal::CustomProposal;
use mls_rs_core::group::ProposalType;

use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::ledger::seen::message_key;
use crate::mls::MlsGroup;
use crate::outbound::Outbound;
use crate::receive::Sender;
use crate::records::ConversationStatus;

/// A verified positive (or forbidden / error) receipt from a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptEvent {
    /// The conversation.
    pub conversation: ConversationId,
    /// The receipt's own transport id.
    pub receipt_message_id: String,
    /// The id of the message the receipt is about.
    pub message_id: String,
    /// What it says (never a failed delivery: that is a
    /// `Received::NegativeReport`).
    pub notification: Notification,
    /// The member that signed it.
    pub sender: Sender,
    /// The message is one this device sent (and still keeps).
    pub sent_by_us: bool,
}

/// Implements [`Device::delivery_receipt`].
pub(crate) fn delivery_receipt(
    device: &mut Device,
    conversation: &ConversationId,
    message_id: &str,
) -> Result<Outbound, ClientError> {
    device.signed_receipt(
        conversation,
        message_id,
        Notification::Delivery(DeliveryStatus::Delivered),
    )
}

/// Implements [`Device::display_receipt`].
pub(crate) fn display_receipt(
    device: &mut Device,
    conversation: &ConversationId,
    message_id: &str,
) -> Result<Outbound, ClientError> {
    device.signed_receipt(
        conversation,
        message_id,
        Notification::Display(DisplayStatus::Displayed),
    )
}

impl Device {
    /// The receipt `notification` about `reported`, signed with an
    /// `rcs_signature` in the conversation's current epoch.
    pub(crate) fn signed_receipt(
        &mut self,
        id: &ConversationId,
        reported: &str,
        notification: Notification,
    ) -> Result<Outbound, ClientError> {
        if !is_valid_message_id(reported) {
            return Err(ClientError::InvalidRequest(
                "a message id is 1 to 128 visible ASCII characters".into(),
            ));
        }
        let record = self.conversation_record(id)?;
        if record.status == ConversationStatus::Removed {
            return Err(ClientError::NotAMember);
        }
        let message_id = self.new_message_id();
        let imdn = Imdn::new(reported, self.env.clock.now_millis(), notification);
        let derived = DerivedContent::of(&message_id, record.era, &imdn).encode();
        // RCPT-SEND-1: signed on a copy loaded from storage; pending proposals stay.
        let mut scratch = self.scratch_group(id, record.suite)?;
        let signature = scratch
            .propose_custom(
                CustomProposal::new(ProposalType::RCS_SIGNATURE, Vec::new()),
                derived,
            )
            .map_err(internal)?
            .to_bytes()
            .map_err(internal)?;
        drop(scratch);
        let now = self.env.clock.now();
        // Our own receipt echoed back is a duplicate.
        self.atomically(|device| {
            device.mark_seen(message_key(id, &message_id), now, None);
            Ok(())
        })?;
        let envelope = ReceiptEnvelope {
            message_id: message_id.clone(),
            date_time: None,
            era: record.era,
            signature,
            imdn,
        }
        .encode();
        Ok(Outbound {
            message_id,
            content_type: content_type::IMDN,
            envelope,
        })
    }

    /// A copy of the conversation's group, loaded from storage and never
    /// written back (the device's cached group is not touched).
    fn scratch_group(
        &self,
        id: &ConversationId,
        suite: crate::suite::Suite,
    ) -> Result<MlsGroup, ClientError> {
        self.client(suite)?
            .load_group(id.as_bytes())
            .map_err(|e| match e {
                mls_rs::error::MlsError::GroupNotFound => ClientError::RejoinRequired,
                other => internal(other),
            })
    }
}
