//! Checking a signed receipt from another member (from `Device::receive`).
//!
//! In order, cheapest first; any refusal changes nothing:
//! 1. RCPT-ENV-1: the CPIM envelope and the IMDN decode
//!    (`ReceiptEnvelope`), and the transport id is the envelope's
//!    `imdn.Message-ID`;
//! 2. RCPT-SIG-1: `mls.MLS-Derived-Content-Signature` is an MLS
//!    PublicMessage of a conversation we are in, in the envelope's era;
//! 3. RCPT-TIME-1: the IMDN's `<datetime>` is within the replay window and
//!    at most [`MAX_REPORT_SKEW_MS`] ahead;
//! 4. RCPT-REPLAY-1: the receipt id was not seen before;
//! 5. RCPT-SIG-2: mls-rs verifies the PublicMessage against the epoch it
//!    names (this one or a kept earlier one): the membership tag and the
//!    signature over the FramedContent with the sender's leaf key; the
//!    sender is a member leaf that still holds that key now (a removed or
//!    replaced member is refused); the content is an `rcs_signature`
//!    custom proposal;
//! 6. RCPT-CONTENT-1: its `authenticated_data` is the derived content of
//!    the plaintext receipt: receipt id, era, type, status, reported id
//!    and failure reason;
//! 7. RCPT-CONTENT-2: a failure-reason arm the signature does not cover
//!    (a server reason or a Google-only token, signed as 0) is not
//!    reported.

use crosslock_wire::cpim::Message;
use crosslock_wire::imdn::{DeliveryStatus, Notification};
use crosslock_wire::report::{DerivedContent, ReceiptEnvelope};
use mls_rs::error::MlsError;
use mls_rs::group::Sender as MlsSender;
use mls_rs::{MlsMessage, WireFormat};
use mls_rs_core::group::ProposalType;

use super::ReceiptEvent;
use crate::device::Device;
use crate::error::{ClientError, ReportRefusal};
use crate::ids::ConversationId;
use crate::ledger::seen::message_key;
use crate::mls::identity::LeafIdentity;
use crate::receive::{Received, Sender};
use crate::records::ConversationStatus;
use crate::recovery::MAX_REPORT_SKEW_MS;

fn refused(r: ReportRefusal) -> ClientError {
    ClientError::ReportRefused(r)
}

/// What mls-rs's refusal of the signature means for the receipt.
fn signature_error(e: MlsError) -> ClientError {
    match e {
        MlsError::MemberNotFound => refused(ReportRefusal::NotAMember),
        MlsError::EpochNotFound => refused(ReportRefusal::UnknownEpoch),
        _ => refused(ReportRefusal::BadSignature),
    }
}

impl Device {
    /// Verifies a receipt (positive, display or negative) from a member.
    pub(crate) fn receive_receipt(
        &mut self,
        transport_message_id: &str,
        message: Message,
    ) -> Result<Received, ClientError> {
        // RCPT-ENV-1.
        let envelope = ReceiptEnvelope::from_message(message)?;
        if envelope.message_id != transport_message_id {
            return Err(ClientError::MessageIdMismatch {
                transport: transport_message_id.to_owned(),
                authenticated: envelope.message_id,
            });
        }
        // Receipts travel in plaintext: the arm rule holds by construction.
        envelope
            .imdn
            .check_arm_rule(false)
            .map_err(crosslock_wire::report::ReportError::from)?;
        // RCPT-SIG-1.
        let signature = MlsMessage::from_bytes(&envelope.signature)
            .map_err(|_| refused(ReportRefusal::BadSignature))?;
        if signature.wire_format() != WireFormat::PublicMessage {
            return Err(refused(ReportRefusal::BadSignature));
        }
        let group_id = signature
            .group_id()
            .ok_or(refused(ReportRefusal::BadSignature))?;
        let id = ConversationId::new(group_id.to_vec()).ok_or(ClientError::UnknownConversation)?;
        let record = self.conversation_record(&id)?;
        if record.status == ConversationStatus::Removed {
            return Err(ClientError::NotAMember);
        }
        if envelope.era != record.era {
            return Err(ClientError::WrongEra {
                expected: record.era,
                received: envelope.era,
            });
        }
        // RCPT-TIME-1.
        let now_ms = self.env.clock.now_millis();
        let oldest = now_ms.saturating_sub(self.config.replay_window_secs.saturating_mul(1000));
        match envelope.imdn.timestamp_ms() {
            Some(t) if t >= oldest && t <= now_ms.saturating_add(MAX_REPORT_SKEW_MS) => {}
            _ => return Err(refused(ReportRefusal::Timestamp)),
        }
        // RCPT-REPLAY-1.
        // The receipt's own transport id, which the signature binds.
        let seen = message_key(&id, &envelope.message_id);
        if self.seen(&seen)? {
            return Err(ClientError::Replayed);
        }
        // RCPT-SIG-2, on a copy of the group that is never written back.
        let mut scratch = self.scratch_group(&id, record.suite)?;
        let (authenticated_data, sender) = scratch
            .validate_custom_proposal(&signature, Some(ProposalType::RCS_SIGNATURE))
            .map_err(signature_error)?;
        let MlsSender::Member(index) = sender else {
            return Err(refused(ReportRefusal::NotAMember));
        };
        let member = scratch
            .member_at_index(index)
            .ok_or(refused(ReportRefusal::NotAMember))?;
        drop(scratch);
        let sender = Sender::from(
            LeafIdentity::of(&member.signing_identity)
                .map_err(|_| refused(ReportRefusal::NotAMember))?,
        );
        // RCPT-CONTENT-1.
        let expected = DerivedContent::of(&envelope.message_id, envelope.era, &envelope.imdn);
        match DerivedContent::decode(&authenticated_data) {
            Ok(signed) if signed == expected => {}
            _ => return Err(refused(ReportRefusal::ContentMismatch)),
        }
        let reported = envelope.imdn.message_id.clone();
        let sent_by_us = match self.sent_record(&id, &reported) {
            Ok(_) => true,
            Err(ClientError::OriginalUnavailable(_)) => false,
            Err(e) => return Err(e),
        };
        let now = self.env.clock.now();
        self.atomically(|device| {
            device.mark_seen(seen, now, None);
            Ok(())
        })?;
        Ok(match envelope.imdn.notification {
            Notification::Delivery(DeliveryStatus::Failed(reason)) => {
                tracing::info!(conversation = %id, "negative delivery receipt verified");
                Received::NegativeReport {
                    conversation: id,
                    failed_message_id: reported,
                    // RCPT-CONTENT-2: only a reason the signature covers
                    // (codes 1 to 6); any other arm signs as 0, so a relay
                    // could have written or swapped it.
                    reason: reason.filter(|arm| arm.binary_code() != 0),
                    reporter: sender,
                    sent_by_us,
                }
            }
            notification => Received::Receipt(ReceiptEvent {
                conversation: id,
                receipt_message_id: envelope.message_id,
                message_id: reported,
                notification,
                sender,
                sent_by_us,
            }),
        })
    }
}
