//! Signed receipts (RCC.16 §7.6; negative delivery IMDNs of the recovery
//! ladder, and delivery and display IMDNs): plain CPIM `message/imdn+xml`
//! relayed to the conversation's other members, never interpreted. The
//! receipt's `rcs_signature` is verified by the members that receive it;
//! the DS only checks that the submitting device is a member and the size.

use std::sync::Arc;

use crosslock_wire::api::ds::{MessageAccepted, SubmitReport};
use crosslock_wire::cpim::is_valid_message_id;

use crate::error::DsError;
use crate::service::{Ds, Lookup};
use crate::store::{Accepted, Fanout, Outcome};
use crate::submit::Submitter;

/// Largest receipt envelope.
pub(crate) const MAX_REPORT_BYTES: usize = 16 * 1024;

impl Ds {
    /// A signed receipt from `who`.
    pub(crate) async fn submit_report(
        self: &Arc<Self>,
        who: Submitter,
        request: SubmitReport,
        now: u64,
    ) -> Result<MessageAccepted, DsError> {
        if request.envelope.0.len() > MAX_REPORT_BYTES {
            return Err(DsError::TooLarge);
        }
        if !is_valid_message_id(&request.message_id) {
            return Err(DsError::Malformed("invalid message id".into()));
        }
        self.device_rate
            .take(format!("{}#{}", who.device.number, who.device.device).as_bytes())?;
        let conversation = match self.lookup(&request.group_id.0)? {
            Some(Lookup::Hub(c)) => c,
            Some(Lookup::Follower(hub)) if who.home.is_none() => {
                return self
                    .federation
                    .forward_report(&hub, &who.device, request)
                    .await;
            }
            _ => return Err(DsError::UnknownConversation),
        };
        if !conversation
            .members
            .iter()
            .any(|m| m.device == who.device && m.home == who.home)
        {
            return Err(DsError::NotAMember);
        }
        let accepted = Accepted {
            group_id: conversation.group_id.clone(),
            message_id: request.message_id.clone(),
            epoch: conversation.epoch,
            new_state: None,
            opens: None,
            pin: None,
            fanout: conversation
                .members
                .iter()
                .filter(|m| m.device != who.device)
                .map(|m| Fanout {
                    recipient: m.clone(),
                    message_id: request.message_id.clone(),
                    envelope: request.envelope.0.clone(),
                    ratchet_tree: None,
                })
                .collect(),
            at: now,
        };
        let ds = self.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            ds.store.accept(&accepted).map(|o| (o, accepted.fanout))
        })
        .await
        .map_err(|e| DsError::Internal(e.to_string()))??;
        match outcome {
            (Outcome::Stored, fanout) => {
                self.notify_local(&fanout);
                Ok(MessageAccepted { duplicate: false })
            }
            _ => Ok(MessageAccepted { duplicate: true }),
        }
    }
}
