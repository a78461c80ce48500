//! A commit, after MLS processed it: what it changed (members added,
//! removed, rejoined; end_mls; our own commit echoed or superseded), in
//! the conversation record and its side tables.

use mls_rs::group::proposal::Proposal;
use mls_rs::group::{CommitEffect, CommitMessageDescription, Sender as MlsSender};
use mls_rs::mls_rules::ProposalInfo;

use super::envelope::CheckedEnvelope;
use super::{CommitEvent, Received, Sender, ct_eq};
use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::mls::extensions::{EndMlsExtension, EraExtension};
use crate::mls::identity::LeafIdentity;
use crate::outbound::epoch_authenticator;
use crate::records::{ConversationRecord, ConversationStatus};

impl Device {
    /// The stage of a processed commit; `had_pending`: this device had a
    /// commit of its own pending for the same epoch.
    pub(super) fn receive_commit(
        &mut self,
        id: &ConversationId,
        record: ConversationRecord,
        envelope: &CheckedEnvelope,
        commit: CommitMessageDescription,
        had_pending: bool,
    ) -> Result<Received, ClientError> {
        let own = commit.committer == self.group(id)?.current_member_index() && had_pending;
        let external = commit.is_external;
        let event = self.apply_commit_effects(id, record, commit, own, had_pending)?;
        // RCV-AUTH-2 (MLS-EXT-2): the header is the authenticator of the
        // epoch the external commit created.
        if external {
            let auth = epoch_authenticator(self.group(id)?)?;
            if !ct_eq(&auth, &envelope.epoch_authenticator) {
                return Err(ClientError::EpochAuthenticatorMismatch);
            }
        }
        Ok(Received::Commit(event))
    }

    /// Applies what a processed commit means for the conversation record.
    fn apply_commit_effects(
        &mut self,
        id: &ConversationId,
        mut record: ConversationRecord,
        commit: CommitMessageDescription,
        own: bool,
        had_pending: bool,
    ) -> Result<CommitEvent, ClientError> {
        let group = self.group(id)?;
        let committer = group
            .member_at_index(commit.committer)
            .and_then(|m| LeafIdentity::of(&m.signing_identity).ok())
            .map(Sender::from);
        let rejoined = committer.clone().filter(|_| commit.is_external);
        let pending_id = record
            .pending
            .as_ref()
            .filter(|_| own)
            .map(|p| p.message_id.clone());
        let (new_epoch, removed_self) = match &commit.effect {
            CommitEffect::NewEpoch(e) => (e, false),
            CommitEffect::Removed { new_epoch, .. } => (new_epoch, true),
            CommitEffect::ReInit(_) => {
                return Err(ClientError::InvalidHandshake("ReInit is not used".into()));
            }
        };
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for ProposalInfo {
            proposal, sender, ..
        } in &new_epoch.applied_proposals
        {
            match proposal {
                Proposal::Add(add) => {
                    if let Ok(who) = LeafIdentity::of(add.signing_identity()) {
                        added.push(who.into());
                    }
                }
                Proposal::Remove(remove) => {
                    if let Some(m) = new_epoch.prior_state.member_at_index(remove.to_remove())
                        && let Ok(who) = LeafIdentity::of(&m.signing_identity)
                    {
                        removed.push(who.into());
                    }
                }
                Proposal::SelfRemove(_) => {
                    if let MlsSender::Member(index) = sender
                        && let Some(m) = new_epoch.prior_state.member_at_index(*index)
                        && let Ok(who) = LeafIdentity::of(&m.signing_identity)
                    {
                        removed.push(who.into());
                    }
                }
                _ => {}
            }
        }
        // A rejoined device replaced its own leaf: still a member.
        removed.retain(|r| Some(r) != rejoined.as_ref());
        let epoch = new_epoch.epoch;
        let prior_context = new_epoch.prior_state.context().extensions.clone();
        let prior_profile = crate::wire_profile::profile_of_roster(new_epoch.prior_state.roster());
        let superseded_pending = had_pending && !own;
        if group.has_pending_commit() {
            group.clear_pending_commit();
        }
        let context = group.context().extensions.clone();
        let profile = crate::wire_profile::profile_of(group);
        let wire_profile_changed = (!removed_self && profile != prior_profile).then_some(profile);
        group.write_to_storage().map_err(internal)?;
        // MLS-ERA-1 holds by the rules; check the stored era agrees anyway.
        let era = context
            .get_as::<EraExtension>()
            .ok()
            .flatten()
            .map(|e| e.era);
        if era != Some(record.era) {
            return Err(ClientError::InvalidHandshake(
                "commit left the era extension inconsistent".into(),
            ));
        }
        let encryption_ended = context.has_extension(EndMlsExtension::TYPE);
        if removed_self {
            record.status = ConversationStatus::Removed;
        } else if encryption_ended {
            record.status = ConversationStatus::Ended;
        }
        // A staged rejoin or new era of ours waits for its own verdict.
        record.pending = record.pending.filter(|p| p.kind.replaces_group());
        // GID-3: a 1:1 that gained a third number (or a subject) is a group.
        if !removed_self {
            self.settle_kind(id, &mut record)?;
        }
        self.put_conversation(id, &record)?;
        // GROUP-META-1: our staged subject/icon change becomes current only
        // if this is our own commit echoed back.
        self.settle_staged_metadata(id, pending_id.as_deref())?;
        let mut metadata_keys_requested = Vec::new();
        if !removed_self {
            self.record_epoch_authenticator(id)?;
            self.observe_member_keys(id)?;
            if !own {
                metadata_keys_requested = self.metadata_keys_requested(id, &prior_context)?;
            }
        }
        Ok(CommitEvent {
            conversation: id.clone(),
            committer,
            epoch,
            added,
            removed,
            removed_self,
            encryption_ended,
            own_commit: own,
            superseded_pending,
            rejoined,
            metadata_keys_requested,
            wire_profile_changed,
        })
    }
}
