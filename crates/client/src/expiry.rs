//! Members whose credential expired (CRED-EXP-1..3).
//!
//! RCC.16 (GUIDE §4): every credential in use must be valid, and the
//! delivery service refuses a commit whose resulting group holds an
//! expired one (`expired-credential`): it checks every member's credential
//! in the GroupInfo of the epoch a commit creates
//! (`crates/ds/src/observer.rs`, `Observer::commit`), and so does every
//! device that joins by Welcome (RCV-WEL-5) or rejoins. A member device not
//! renewed in time would otherwise make every commit that keeps it refused,
//! and nobody could be added: the group would be stuck with it.
//!
//! So the group removes it: every commit this device makes removes the
//! other member devices whose credential has expired (CRED-EXP-1), a plain
//! Remove every member verifies like any other, which the delivery service
//! accepts (the new epoch no longer holds the expired credential). The
//! SDK's maintenance commits for it as soon as it sees one
//! (`Device::remove_expired_members`). Until then the expired device
//! cannot speak: its own client refuses to send or commit
//! ([`ClientError::OwnCredentialExpired`], CRED-EXP-2), and every member
//! refuses its application messages (CRED-EXP-3).

use crosslock_credential::CredentialError;
use mls_rs::group::proposal::Proposal;
use mls_rs::group::{Member, Sender as MlsSender};
use mls_rs::identity::SigningIdentity;

use crate::device::Device;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::mls::identity::{IdentityError, Rcc16Identity};
use crate::outbound::PendingCommit;

/// CRED-TIME-1 at `now`: whether a leaf's credential has expired (a
/// certificate of its chain is past its notAfter). Any other refusal of
/// the credential is not this rule's.
pub(crate) fn has_expired(identity: &Rcc16Identity, leaf: &SigningIdentity, now: u64) -> bool {
    matches!(
        identity.validate(leaf, now),
        Err(IdentityError::Credential(CredentialError::Expired { .. }))
    )
}

impl Device {
    /// CRED-EXP-1: the leaves of `id`, other than this device's, whose
    /// credential has expired now, and that no proposal waiting to be
    /// committed removes already (a member that asked to leave is removed
    /// by its own proposal, which every commit must include).
    pub(crate) fn expired_members(&mut self, id: &ConversationId) -> Result<Vec<u32>, ClientError> {
        let now = self.env.clock.now();
        let identity = self.identity.clone();
        let group = self.group(id)?;
        let own = group.current_member_index();
        let leaving: Vec<u32> = group
            .get_cached_proposals()
            .into_iter()
            .filter_map(|p| match (p.proposal(), *p.sender()) {
                (Proposal::Remove(r), _) => Some(r.to_remove()),
                (Proposal::SelfRemove(_), MlsSender::Member(index)) => Some(index),
                _ => None,
            })
            .collect();
        Ok(group
            .roster()
            .members_iter()
            .filter(|m: &Member| m.index != own && !leaving.contains(&m.index))
            .filter(|m| has_expired(&identity, &m.signing_identity, now))
            .map(|m| m.index)
            .collect())
    }

    /// CRED-EXP-2: this device's own leaf in `id` must not carry an expired
    /// credential when it sends or commits (the commit that presents a
    /// renewed one excepted, `refresh_credential`).
    pub(crate) fn check_own_credential(&mut self, id: &ConversationId) -> Result<(), ClientError> {
        let now = self.env.clock.now();
        let identity = self.identity.clone();
        let group = self.group(id)?;
        let own = group
            .member_at_index(group.current_member_index())
            .ok_or_else(|| crate::error::internal("own leaf missing"))?;
        if has_expired(&identity, &own.signing_identity, now) {
            return Err(ClientError::OwnCredentialExpired);
        }
        Ok(())
    }

    /// CRED-EXP-3: the sender at leaf `index` of `id` must not present an
    /// expired credential now; its application messages are refused
    /// (RCC.16 client reason 2, `invalid-credential`).
    pub(crate) fn check_sender_credential(
        &mut self,
        id: &ConversationId,
        index: u32,
    ) -> Result<(), ClientError> {
        let now = self.env.clock.now();
        let identity = self.identity.clone();
        let group = self.group(id)?;
        let Some(sender) = group.member_at_index(index) else {
            return Ok(()); // mls-rs refused it already (RCV-MLS-2).
        };
        match identity.validate(&sender.signing_identity, now) {
            Err(IdentityError::Credential(e @ CredentialError::Expired { .. })) => {
                Err(ClientError::Credential(e))
            }
            _ => Ok(()),
        }
    }

    /// CRED-EXP-1: a commit removing the member devices of `id` whose
    /// credential has expired, if there are any (every commit this device
    /// makes removes them; this one changes nothing else). `None` when
    /// there is none, or when this device cannot commit here now (its own
    /// credential expired, a commit pending, the conversation ended).
    pub(crate) fn remove_expired_members_inner(
        &mut self,
        id: &ConversationId,
    ) -> Result<Option<PendingCommit>, ClientError> {
        let record = self.conversation_record(id)?;
        if record.status != crate::records::ConversationStatus::Active
            || record.pending.is_some()
            || self.expired_members(id)?.is_empty()
        {
            return Ok(None);
        }
        self.atomically(|device| device.stage_commit(id, |b| Ok(b)))
            .map(Some)
    }
}
