//! Negative delivery receipts (RCC.16 recovery, after self-heal has
//! failed): a member that cannot process a message says so with a signed
//! negative delivery IMDN (`../shared/rcc16-deployed.md` §5), verified by
//! every other member like any signed receipt (`crate::receipt`).
//!
//! The IMDN travels in plaintext with the failure-reason arm
//! `<mls-client-failure-reason>`; its `rcs_signature` is made in the
//! reporter's current epoch, so a member whose group state is gone rejoins
//! first (the ladder's first rung) and reports after. The sender's remedy
//! for reason 4 (`failed-to-decrypt`) is to advance to its latest epoch
//! and resend ([`Device::resend_after_report`], at most
//! [`super::MAX_RESENDS`] times per original).

use crosslock_wire::imdn::{ClientReason, DeliveryStatus, FailureArm, Notification};

use crate::device::Device;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::outbound::Outbound;

/// How far in the future a receipt's `<datetime>` may be (clock skew), ms.
pub const MAX_REPORT_SKEW_MS: u64 = 5 * 60 * 1000;

/// Implements [`Device::negative_report`].
pub(crate) fn negative_report(
    device: &mut Device,
    id: &ConversationId,
    failed_message_id: &str,
    reason: u8,
) -> Result<Outbound, ClientError> {
    // RCPT-SEND-1: reason 1-5 (6 is never sent) or no arm (0).
    let arm = match reason {
        0 => None,
        code => Some(FailureArm::Client(
            ClientReason::from_code(code)
                .filter(|r| r.is_sendable())
                .ok_or_else(|| {
                    ClientError::InvalidRequest(format!(
                        "{reason} is not an RCC.16 failure reason Crosslock sends"
                    ))
                })?,
        )),
    };
    device.signed_receipt(
        id,
        failed_message_id,
        Notification::Delivery(DeliveryStatus::Failed(arm)),
    )
}
