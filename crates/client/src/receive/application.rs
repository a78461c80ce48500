//! An application message, after MLS decrypted it: who sent it, the
//! original it resends, its frame (RCV-GEN-1), whether it was shown
//! already (RCV-RESEND-1), then what its payload is.

use crosslock_wire::content_type;
use crosslock_wire::inner::ApplicationPayload;
use crosslock_wire::typing::IsComposing;
use mls_rs::group::ApplicationMessageDescription;

use super::envelope::CheckedEnvelope;
use super::group::member_identity;
use super::{Received, Sender};
use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::records::InboxRecord;

impl Device {
    /// The stage of a decrypted application message (framed in
    /// `epoch`), with its sender for the replay ledger.
    pub(super) fn receive_application(
        &mut self,
        id: &ConversationId,
        envelope: &CheckedEnvelope,
        app: ApplicationMessageDescription,
        epoch: u64,
        now: u64,
    ) -> Result<(Received, Sender), ClientError> {
        // CRED-EXP-3: not from a credential that has expired.
        self.check_sender_credential(id, app.sender_index)?;
        let group = self.group(id)?;
        let sender = member_identity(group, app.sender_index)?;
        let resend_of = envelope.resend_of()?;
        // RCV-CONTENT-1: the inner payload decodes (its content in deliver).
        let framed = ApplicationPayload::decode(app.data())
            .map_err(|e| ClientError::Content(e.to_string()))?;
        // RCV-GEN-1 (fact sheet §3b): the signed frame names the generation
        // MLS decrypted with.
        let decrypted = app
            .unauthenticated_key_generation
            .ok_or_else(|| internal("no key generation for a PrivateMessage"))?;
        if framed.generation != decrypted {
            return Err(ClientError::GenerationMismatch {
                framed: framed.generation,
                decrypted,
            });
        }
        group.write_to_storage().map_err(internal)?;
        let message_id = envelope.message_id.clone();
        let shown = self.shown_already(id, &sender, &message_id, resend_of.as_deref())?;
        let event = if let Some(original) = shown {
            Received::Duplicate {
                conversation: id.clone(),
                message_id,
                original,
            }
        } else {
            if let Some(original) = &resend_of {
                self.mark_resend_shown(id, &sender, original, now);
            }
            self.deliver(
                id,
                sender.clone(),
                message_id,
                resend_of,
                framed.payload,
                now,
                epoch,
            )?
        };
        Ok((event, sender))
    }

    /// What a decrypted application payload is: transparency gossip or a
    /// relayed proof (recorded), typing (handed straight over), or a
    /// message for the inbox (file and subject/icon keys paired first).
    #[allow(clippy::too_many_arguments)]
    fn deliver(
        &mut self,
        id: &ConversationId,
        sender: Sender,
        message_id: String,
        resend_of: Option<String>,
        payload: ApplicationPayload,
        now: u64,
        epoch: u64,
    ) -> Result<Received, ClientError> {
        let media_type = payload.media_type();
        if media_type == crate::transparency::KT_GOSSIP {
            let alerts = self.receive_gossip(&payload.body)?;
            return Ok(Received::Transparency {
                conversation: id.clone(),
                sender,
                alerts,
            });
        }
        if media_type == crate::transparency::KT_PROOF {
            let alerts = self.receive_proof(&sender.number, &payload.body)?;
            return Ok(Received::Transparency {
                conversation: id.clone(),
                sender,
                alerts,
            });
        }
        if media_type == content_type::IS_COMPOSING {
            let indicator = IsComposing::decode(&payload.body)
                .map_err(|e| ClientError::Content(e.to_string()))?;
            return Ok(Received::Typing {
                conversation: id.clone(),
                sender,
                indicator,
            });
        }
        // FILE-PAIR-1..3: a FileInfo is remembered, a descriptor paired.
        // GROUP-META-3..5: a subject/icon key delivery is checked and held,
        // its descriptor paired; anything else is a chat attachment's.
        let paired = match crate::group_metadata::pair_metadata_on_receive(
            self,
            id,
            &sender,
            &media_type,
            &payload.body,
        )? {
            Some(paired) => paired,
            None => crate::file::pair_on_receive(self, id, &sender, &media_type, &payload.body)?,
        };
        let record = InboxRecord {
            paired: paired.into_iter().map(Into::into).collect(),
            conversation: id.as_bytes().to_vec().into(),
            sender_number: sender.number.as_str().to_owned(),
            sender_device: sender.device.clone(),
            message_id,
            resend_of,
            content_type: media_type,
            body: payload.body.into(),
            received_at: now,
            epoch,
        };
        Ok(Received::Message(self.put_in_inbox(&record)?))
    }
}
