//! Negative delivery reports (RCC.16 recovery, third rung): made by a
//! member that cannot process a message, verified by every other member.
//!
//! The report travels outside MLS (the reporter's group state may be what
//! is broken), so it carries its own proof of origin: a signature by the
//! reporter's participant key and the reporter's credential chain. The
//! receiver checks, in order (cheapest first; any refusal changes
//! nothing): the envelope and the transport id, the conversation and its
//! era, the report time (within the replay window, at most
//! [`MAX_REPORT_SKEW_MS`] ahead), the replay ledger, that the reporter
//! (number and device) is a current member, that the chain passes the
//! trust policy at the report time and certifies that member's leaf key,
//! and the signature. Wire format: `crosslock_wire::report`.

use crosslock_credential::{CredentialError, PhoneNumber};
use crosslock_wire::content_type;
use crosslock_wire::cpim::Message;
use crosslock_wire::report::{
    FailureReason, NegativeReport, ReportEnvelope, ReportError, SignedNegativeReport,
};
use mls_rs::crypto::SignaturePublicKey;
use mls_rs::identity::{Credential, SigningIdentity};
use mls_rs_core::identity::CertificateChain;
use sha2::{Digest, Sha256};

use crate::device::Device;
use crate::error::{ClientError, ReportRefusal};
use crate::ids::ConversationId;
use crate::mls::identity::{IdentityError, LeafIdentity};
use crate::outbound::Outbound;
use crate::receive::{Received, Sender};
use crate::records::ConversationStatus;
use crate::store::{Table, key};

/// How far in the future a report's timestamp may be (clock skew), ms.
pub const MAX_REPORT_SKEW_MS: u64 = 5 * 60 * 1000;

/// The replay-ledger key of a report: the digest of what it signs, so the
/// same report under another transport id (or with a re-encoded
/// signature) is still a replay.
fn seen_key(id: &ConversationId, report: &NegativeReport) -> Vec<u8> {
    let digest = Sha256::digest(report.signing_input());
    key(&[id.as_bytes(), b"negative-report", &digest])
}

impl Device {
    /// Makes a signed negative delivery report for a message this device
    /// could not process: `reason` is the RCC.16 client failure reason
    /// (`ClientError::rcc16_failure_reason` of the refusal, 0 to 5).
    ///
    /// Works without a usable group state: the report is signed with the
    /// participant key of the conversation's suite and carries this
    /// device's credential chain. Send the envelope to the conversation
    /// (`content_type` is `application/vnd.crosslock.negative-report+cbor`).
    pub fn negative_report(
        &mut self,
        id: &ConversationId,
        failed_message_id: &str,
        reason: u8,
    ) -> Result<Outbound, ClientError> {
        let reason = FailureReason::from_code(reason.into()).ok_or_else(|| {
            ClientError::InvalidRequest(format!("{reason} is not an RCC.16 failure reason"))
        })?;
        let record = self.conversation_record(id)?;
        if record.status == ConversationStatus::Removed {
            return Err(ClientError::NotAMember);
        }
        let report = NegativeReport {
            group_id: id.as_bytes().to_vec(),
            era: record.era,
            failed_message_id: failed_message_id.to_owned(),
            reason,
            reporter_number: self.number.as_str().to_owned(),
            reporter_device: self.record.device_id.clone(),
            timestamp_ms: self.env.clock.now_millis(),
            credential_chain: self.credential_chain(record.suite),
        };
        report
            .validate()
            .map_err(|e| ClientError::InvalidRequest(e.to_string()))?;
        let alias = &self
            .credential_record(record.suite.signature_algorithm())
            .alias;
        let signature = self.keystore.sign(alias, &report.signing_input())?;
        let message_id = self.new_message_id();
        let now = self.env.clock.now();
        let seen = seen_key(id, &report);
        // Our own report echoed back is a duplicate.
        self.atomically(|device| {
            device
                .staged
                .put(Table::Seen, seen, now.to_be_bytes().to_vec());
            Ok(())
        })?;
        let envelope = ReportEnvelope {
            message_id: message_id.clone(),
            report: SignedNegativeReport { report, signature },
        }
        .encode();
        Ok(Outbound {
            message_id,
            content_type: content_type::NEGATIVE_REPORT,
            envelope,
        })
    }

    /// Verifies a report from another member (from `Device::receive`).
    pub(crate) fn receive_report(
        &mut self,
        transport_message_id: &str,
        message: Message,
    ) -> Result<Received, ClientError> {
        // NDR-ENV-1: the envelope and the report decode; the transport id
        // is the envelope's.
        let envelope = ReportEnvelope::from_message(message)?;
        if envelope.message_id != transport_message_id {
            return Err(ClientError::MessageIdMismatch {
                transport: transport_message_id.to_owned(),
                authenticated: envelope.message_id,
            });
        }
        let SignedNegativeReport { report, signature } = envelope.report;
        let id =
            ConversationId::new(report.group_id.clone()).ok_or(ClientError::UnknownConversation)?;
        // NDR-CONV-1: a conversation we are in, in the report's era.
        let record = self.conversation_record(&id)?;
        if record.status == ConversationStatus::Removed {
            return Err(ClientError::NotAMember);
        }
        if report.era != record.era {
            return Err(ClientError::WrongEra {
                expected: record.era,
                received: report.era,
            });
        }
        // NDR-TIME-1: made within the replay window, not in the future.
        let now_ms = self.env.clock.now_millis();
        let oldest = now_ms.saturating_sub(self.config.replay_window_secs.saturating_mul(1000));
        if report.timestamp_ms < oldest || report.timestamp_ms > now_ms + MAX_REPORT_SKEW_MS {
            return Err(ClientError::ReportRefused(ReportRefusal::Timestamp));
        }
        // NDR-REPLAY-1: not seen before (by what it signs).
        let seen = seen_key(&id, &report);
        if self.staged.get(Table::Seen, &seen)?.is_some() {
            return Err(ClientError::Replayed);
        }
        // NDR-MEMBER-1: the reporter is a current member device.
        let number = PhoneNumber::parse(&report.reporter_number)
            .map_err(|_| ReportError::Invalid("reporter number is not a valid number"))?;
        let member = self
            .members_of(&id)?
            .into_iter()
            .find(|m| m.identity.number == number && m.identity.device == report.reporter_device)
            .ok_or(ClientError::ReportRefused(ReportRefusal::NotAMember))?;
        // NDR-CRED-1: the chain passes the trust policy at the report time,
        // certifies the member's leaf key (CRED-KEY-1) and names the member.
        let identity = SigningIdentity::new(
            Credential::X509(CertificateChain::from(report.credential_chain.clone())),
            SignaturePublicKey::new(member.key.clone()),
        );
        let validated = self
            .identity
            .validate(&identity, report.timestamp_ms / 1000)
            .map_err(|e| match e {
                IdentityError::Credential(CredentialError::KeyMismatch) => {
                    ClientError::ReportRefused(ReportRefusal::CredentialMismatch)
                }
                IdentityError::Credential(e) => ClientError::Credential(e),
                _ => ClientError::ReportRefused(ReportRefusal::CredentialMismatch),
            })?;
        if LeafIdentity::of(&identity).ok().as_ref() != Some(&member.identity) {
            return Err(ClientError::ReportRefused(
                ReportRefusal::CredentialMismatch,
            ));
        }
        // NDR-SIG-1: the participant key signed it.
        if !validated.key().verify(&report.signing_input(), &signature) {
            return Err(ClientError::ReportRefused(ReportRefusal::BadSignature));
        }
        let sent_by_us = match self.sent_record(&id, &report.failed_message_id) {
            Ok(_) => true,
            Err(ClientError::OriginalUnavailable(_)) => false,
            Err(e) => return Err(e),
        };
        let now = self.env.clock.now();
        self.atomically(|device| {
            device
                .staged
                .put(Table::Seen, seen, now.to_be_bytes().to_vec());
            Ok(())
        })?;
        tracing::info!(conversation = %id, reason = report.reason.code(), "negative report verified");
        Ok(Received::NegativeReport {
            conversation: id,
            failed_message_id: report.failed_message_id,
            reason: report.reason,
            reporter: Sender::from(member.identity),
            sent_by_us,
        })
    }
}
