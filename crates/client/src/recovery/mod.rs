//! The RCC.16 recovery ladder (GUIDE §4), after catching up missed commits
//! from the server has failed:
//!
//! 1. [`Device::rejoin`]: a member whose group state is unusable replaces
//!    its own leaf by external commit, from the GroupInfo the delivery
//!    service keeps ([`rejoin`]);
//! 2. [`Device::negative_report`]: a member that cannot process a message
//!    tells the conversation with a signed negative delivery IMDN (plaintext,
//!    with an `rcs_signature` made in its current epoch);
//!    [`Device::receive`] verifies those of others ([`report`],
//!    `crate::receipt`);
//! 3. [`Device::resend_after_report`]: the sender resends the original
//!    payload as a new message linked to it, at most five times; receivers
//!    show one message per original ([`resend`]);
//! 4. [`Device::new_era`]: a new MLS group under the same group id with the
//!    era incremented, Welcoming every participant ([`era`]).
//!
//! A rejoin and a new era replace the whole group rather than moving it one
//! epoch on. The next group waits in the staging tables until the delivery
//! service's verdict: accepted, it replaces the live group in one write;
//! refused, it is deleted and the live state was never touched (stage,
//! then merge: GUIDE §3.4).

mod era;
mod rejoin;
mod report;
mod resend;

pub(crate) use era::new_era;
pub(crate) use rejoin::rejoin;
pub use report::MAX_REPORT_SKEW_MS;
pub(crate) use report::negative_report;
pub use resend::MAX_RESENDS;
pub(crate) use resend::resend_after_report;

use crate::conversation::CommitApplied;
use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::ledger::seen::message_key;
use crate::mls::MlsClient;
use crate::records::{ConversationRecord, ConversationStatus, PendingKind};
use crate::store::{Table, key};
use crate::suite::Suite;

impl Device {
    /// An mls-rs client of `suite` keeping its groups in the staging tables.
    pub(crate) fn staging_client(&self, suite: Suite) -> Result<MlsClient, ClientError> {
        self.mls_client(suite, self.group_store.staging())
    }

    /// Stages the deletion of a conversation's staged group.
    pub(crate) fn discard_staged_group(&self, id: &ConversationId) -> Result<(), ClientError> {
        self.staged
            .delete(Table::StagedGroupState, id.as_bytes().to_vec());
        for (k, _) in self
            .staged
            .scan(Table::StagedEpoch, &key(&[id.as_bytes()]))?
        {
            self.staged.delete(Table::StagedEpoch, k);
        }
        Ok(())
    }

    /// Stages the deletion of everything a conversation's group leaves
    /// besides its snapshot: prior epochs, epoch authenticators, a staged
    /// group. Needed before another group takes the group id's place (a
    /// rejoin, a new era): mls-rs numbers prior epochs per group id and
    /// refuses an epoch that does not follow the last one stored.
    pub(crate) fn forget_group_history(&mut self, id: &ConversationId) -> Result<(), ClientError> {
        let prefix = key(&[id.as_bytes()]);
        for table in [Table::Epoch, Table::EpochAuthenticator] {
            for (k, _) in self.staged.scan(table, &prefix)? {
                self.staged.delete(table, k);
            }
        }
        self.discard_staged_group(id)?;
        self.groups.remove(id);
        Ok(())
    }

    /// Stages the replacement of a conversation's live group by its staged
    /// one (same keys, other tables).
    fn promote_staged_group(&mut self, id: &ConversationId) -> Result<(), ClientError> {
        let state = self
            .staged
            .get(Table::StagedGroupState, id.as_bytes())?
            .ok_or_else(|| internal("no staged group to promote"))?;
        let epochs = self
            .staged
            .scan(Table::StagedEpoch, &key(&[id.as_bytes()]))?;
        self.forget_group_history(id)?;
        self.staged
            .put(Table::GroupState, id.as_bytes().to_vec(), state);
        for (k, v) in epochs {
            self.staged.put(Table::Epoch, k, v);
        }
        Ok(())
    }

    /// The delivery service accepted a rejoin or a new era: the staged
    /// group becomes the conversation's group.
    pub(crate) fn accept_replacement(
        &mut self,
        id: &ConversationId,
        mut record: ConversationRecord,
    ) -> Result<CommitApplied, ClientError> {
        let pending = record.pending.take().ok_or(ClientError::NoPendingCommit)?;
        let now = self.env.clock.now();
        self.atomically(|device| {
            match pending.kind {
                PendingKind::NewEra { era, suite } => {
                    let client = device.staging_client(suite)?;
                    let mut group = client.load_group(id.as_bytes()).map_err(internal)?;
                    group.apply_pending_commit().map_err(internal)?;
                    group.write_to_storage().map_err(internal)?;
                    record.era = era;
                    record.suite = suite;
                }
                // The external commit is already applied to the staged group.
                PendingKind::Rejoin { .. } => {}
                PendingKind::Commit => return Err(internal("not a replacement commit")),
            }
            device.promote_staged_group(id)?;
            record.status = ConversationStatus::Active;
            // GID-3: the new group may no longer have the 1:1 shape.
            device.settle_kind(id, &mut record)?;
            device.put_conversation(id, &record)?;
            // The server may echo our commit back: it is a duplicate.
            device.mark_seen(message_key(id, &pending.message_id), now, None);
            device.record_epoch_authenticator(id)?;
            device.observe_member_keys(id)?;
            let epoch = device.group(id)?.current_epoch();
            tracing::info!(conversation = %id, era = record.era, epoch, "group replaced");
            Ok(CommitApplied {
                conversation: id.clone(),
                epoch,
            })
        })
    }

    /// The delivery service refused a rejoin or a new era: the staged group
    /// is deleted; the conversation is as it was before.
    pub(crate) fn reject_replacement(
        &mut self,
        id: &ConversationId,
        mut record: ConversationRecord,
    ) -> Result<(), ClientError> {
        let fresh = matches!(
            record.pending.as_ref().map(|p| p.kind),
            Some(PendingKind::Rejoin { fresh_record: true })
        );
        self.atomically(|device| {
            device.discard_staged_group(id)?;
            if fresh {
                device
                    .staged
                    .delete(Table::Conversation, id.as_bytes().to_vec());
            } else {
                record.pending = None;
                device.put_conversation(id, &record)?;
            }
            Ok(())
        })
    }
}

impl Device {
    /// Our own rejoin or new-era commit came back from the server: it won
    /// its epoch, as if [`Device::commit_accepted`] had been called.
    pub(crate) fn replacement_echoed(
        &mut self,
        id: &ConversationId,
        record: ConversationRecord,
        body: &[u8],
    ) -> Result<crate::receive::Received, ClientError> {
        let ours = record
            .pending
            .as_ref()
            .and_then(|p| crosslock_wire::cpim::MlsEnvelope::decode(&p.commit.0).ok())
            .is_some_and(|e| e.body == body);
        if !ours {
            return Err(ClientError::InvalidHandshake(
                "a message reuses the id of our pending commit".into(),
            ));
        }
        let rejoin = matches!(
            record.pending.as_ref().map(|p| p.kind),
            Some(PendingKind::Rejoin { .. })
        );
        let applied = self.accept_replacement(id, record)?;
        let me = crate::receive::Sender {
            number: self.number.clone(),
            device: self.record.device_id.clone(),
        };
        Ok(crate::receive::Received::Commit(
            crate::receive::CommitEvent {
                conversation: id.clone(),
                committer: Some(me.clone()),
                epoch: applied.epoch,
                added: Vec::new(),
                removed: Vec::new(),
                removed_self: false,
                encryption_ended: false,
                own_commit: true,
                superseded_pending: false,
                rejoined: rejoin.then_some(me),
                metadata_keys_requested: Vec::new(),
                // A rejoin or new era keeps the members, and so the profile.
                wire_profile_changed: None,
            },
        ))
    }
}
