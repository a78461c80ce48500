//! A PublicMessage or PrivateMessage of a conversation, after the entry
//! checks: where it stands against the conversation's state (replay,
//! era, membership, wire format, epoch, epoch authenticator), then MLS,
//! then the stage of its content (`application`, `commit`, `proposal`).

use mls_rs::error::MlsError;
use mls_rs::group::ContentType as MlsContentType;
use mls_rs::group::{ReceivedMessage as MlsReceived, Sender as MlsSender};

use super::envelope::Inbound;
use super::{Received, Sender, ct_eq};
use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::keypackages::now_mls;
use crate::ledger::seen::message_key;
use crate::mls::MlsGroup;
use crate::mls::identity::LeafIdentity;
use crate::outbound::epoch_authenticator;
use crate::records::ConversationStatus;

/// Maps an mls-rs processing failure to what the caller may learn.
pub(super) fn process_error(e: MlsError, current: u64, received: Option<u64>) -> ClientError {
    match e {
        // The key for this generation was used and deleted: a replay.
        MlsError::KeyMissing(_) => ClientError::Replayed,
        MlsError::CantProcessMessageFromSelf => ClientError::Replayed,
        MlsError::EpochNotFound | MlsError::InvalidEpoch => ClientError::WrongEpoch {
            current,
            received: received.unwrap_or(current),
        },
        MlsError::CryptoProviderError(_)
        | MlsError::InvalidFutureGeneration(_)
        | MlsError::SerializationError(_)
        | MlsError::InvalidSender
        | MlsError::UnencryptedApplicationMessage => ClientError::DecryptionFailed,
        MlsError::IdentityProviderError(e) => {
            ClientError::InvalidHandshake(format!("credential refused: {e}"))
        }
        MlsError::MlsRulesError(e) => ClientError::InvalidHandshake(format!("rule violated: {e}")),
        // RCV-MLS-2: mls-rs refuses a past-epoch sender whose leaf changed since.
        // The prior-epoch sender check (a removed or replaced leaf).
        MlsError::MemberNotFound => ClientError::SenderRemovedSinceEpoch,
        other => ClientError::InvalidHandshake(other.to_string()),
    }
}

impl Device {
    /// A PublicMessage or PrivateMessage: checked against the
    /// conversation's state, processed by MLS, then handed to the stage of
    /// its content; the new state, the replay ledger entry and any inbox
    /// message are written together.
    pub(super) fn receive_group_message(
        &mut self,
        inbound: Inbound,
    ) -> Result<Received, ClientError> {
        let Inbound { envelope, message } = inbound;
        let group_id = message
            .group_id()
            .ok_or_else(|| ClientError::Malformed("no group id".into()))?;
        // RCV-MLS-0: a group we are in.
        let id = ConversationId::new(group_id.to_vec()).ok_or(ClientError::UnknownConversation)?;
        let record = self.conversation_record(&id)?;
        let seen_key = message_key(&id, &envelope.message_id);
        // RCV-REPLAY-1: not processed before (the 30-day ledger).
        if self.seen(&seen_key)? {
            return Err(ClientError::Replayed);
        }
        if let Some(pending) = &record.pending
            && pending.kind.replaces_group()
            && pending.message_id == envelope.message_id
        {
            return self.replacement_echoed(&id, record, &envelope.body);
        }
        // RCV-ERA-1 (and RCV-AAD-1): the message is of the conversation's era.
        envelope.check_era(record.era)?;
        // RCV-MEMBER-1: we are still a member.
        if record.status == ConversationStatus::Removed {
            return Err(ClientError::NotAMember);
        }
        // RCV-WF-1: no commit as a PrivateMessage, no application message as a PublicMessage.
        let (content_type, external_commit) = match message.description() {
            mls_rs::MlsMessageDescription::PrivateProtocolMessage { content_type, .. } => {
                if content_type == MlsContentType::Commit {
                    return Err(ClientError::CommitInPrivateMessage);
                }
                (content_type, false)
            }
            mls_rs::MlsMessageDescription::PublicProtocolMessage {
                content_type,
                sender,
                ..
            } => {
                if content_type == MlsContentType::Application {
                    return Err(ClientError::DecryptionFailed);
                }
                (content_type, matches!(sender, MlsSender::NewMemberCommit))
            }
            _ => return Err(ClientError::Malformed("not a group message".into())),
        };
        // RCV-END-1: no application message after end_mls.
        if content_type == MlsContentType::Application && record.status == ConversationStatus::Ended
        {
            return Err(ClientError::EncryptionEnded);
        }
        let received_epoch = message.epoch();
        let current = self.group(&id)?.current_epoch();
        // RCV-EPOCH-1: the epoch is current or a retained past one (WrongEpoch below).
        let expected_auth = match received_epoch {
            // RCV-AUTH-2 (MLS-EXT-2): an external commit is of the current epoch.
            // MLS-EXT-2: an external committer cannot know this epoch's
            // authenticator; it sends the one of the epoch its commit
            // creates, checked after processing.
            Some(e) if e == current && external_commit => envelope.epoch_authenticator.to_vec(),
            Some(e) if e == current => epoch_authenticator(self.group(&id)?)?.to_vec(),
            Some(e) if e < current && !external_commit => self
                .stored_epoch_authenticator(&id, e)?
                .ok_or(ClientError::WrongEpoch {
                    current,
                    received: e,
                })?,
            other => {
                return Err(ClientError::WrongEpoch {
                    current,
                    received: other.unwrap_or(current),
                });
            }
        };
        // RCV-AUTH-1: the header is the authenticator of the message's epoch.
        if !ct_eq(&expected_auth, &envelope.epoch_authenticator) {
            return Err(ClientError::EpochAuthenticatorMismatch);
        }
        let now = self.env.clock.now();
        let time = now_mls(self);
        self.atomically(|device| {
            let group = device.group(&id)?;
            let had_pending = group.has_pending_commit();
            let prior_epoch = group.current_epoch();
            // RCV-MLS-1: MLS accepts it (signature, membership tag,
            // decryption, tree, MLS-* rules).
            let processed = group
                .process_incoming_message_with_time(message, time)
                .map_err(|e| process_error(e, prior_epoch, received_epoch))?;
            let (event, shown_from) = match processed {
                MlsReceived::ApplicationMessage(app) => {
                    envelope.confirm(&app.authenticated_data)?;
                    let (event, sender) =
                        device.receive_application(&id, &envelope, app, prior_epoch, now)?;
                    (event, Some(sender))
                }
                MlsReceived::Commit(commit) => {
                    envelope.confirm(&commit.authenticated_data)?;
                    let event =
                        device.receive_commit(&id, record, &envelope, commit, had_pending)?;
                    (event, None)
                }
                MlsReceived::Proposal(proposal) => {
                    envelope.confirm(&proposal.authenticated_data)?;
                    (device.receive_proposal(&id, proposal)?, None)
                }
                other => return Err(ClientError::Malformed(format!("unexpected {other:?}"))),
            };
            device.mark_seen(seen_key, now, shown_from.as_ref());
            Ok(event)
        })
    }
}

/// The sender at leaf `index` of the group.
pub(super) fn member_identity(group: &MlsGroup, index: u32) -> Result<Sender, ClientError> {
    let member = group
        .member_at_index(index)
        .ok_or_else(|| ClientError::InvalidHandshake("message from an unknown leaf".into()))?;
    LeafIdentity::of(&member.signing_identity)
        .map(Sender::from)
        .map_err(internal)
}
