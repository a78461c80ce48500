//! Key transparency on every member key a device meets, not only on the
//! keys it adds itself (KT-MEMBER-1..4): Welcome rosters, members added by
//! others, rejoins, key changes and new eras.
//!
//! A member key is *proven* when the number's recorded lookup proof
//! (from [`Device::record_lookup`] or a claim) holds it; *refuted* when
//! that proof is recent enough that it must hold the key and does not (a
//! forged or unlogged key); otherwise *unproven*. An unproven member (when
//! the policy requires proofs) or a refuted one blocks the conversation:
//! [`crate::SecurityState::blocked`] says so and sending is refused with
//! [`ClientError::TransparencyBlocked`] until a proof covers the keys (or
//! the culprit is removed). Commits stay possible, so a member can always
//! be removed.

use std::collections::BTreeMap;

use crosslock_credential::PhoneNumber;
use crosslock_kt::KtError;

use crate::device::Device;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::security::Member;
use crate::transparency::{ContactProof, TransparencyStatus};

/// How long after a credential's issue (notBefore) its key must appear in
/// its home's log. A proof signed later than this that lacks the key
/// refutes it (KT-MEMBER-2). Logs publish every minute by default; an hour
/// leaves room for a delayed epoch.
pub const KEY_PUBLICATION_GRACE_SECS: u64 = 3_600;

/// Why a conversation refuses to send: participants whose keys key
/// transparency has not proven (or has refuted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransparencyBlock {
    /// Participants with a key no recorded proof covers yet: look them up
    /// ([`Device::lookups_needed`]) and record the answers
    /// ([`Device::record_lookup`]).
    pub unproven: Vec<PhoneNumber>,
    /// Participants with a key their home's log does not hold although it
    /// should by now (forged, or unlogged): remove them, or record a newer
    /// proof that holds the key.
    pub refuted: Vec<PhoneNumber>,
}

impl TransparencyBlock {
    /// Every participant the block names.
    pub fn numbers(&self) -> Vec<PhoneNumber> {
        let mut all: Vec<PhoneNumber> =
            self.unproven.iter().chain(&self.refuted).cloned().collect();
        all.sort();
        all.dedup();
        all
    }
}

/// The status of `keys` of one participant against its recorded proof.
pub(crate) fn keys_status(proof: Option<&ContactProof>, keys: &[&Member]) -> TransparencyStatus {
    let Some(proof) = proof else {
        return TransparencyStatus::Unproven;
    };
    let mut status = TransparencyStatus::Proven {
        directory: proof.directory.clone(),
        epoch: proof.epoch,
    };
    for m in keys {
        if proof
            .keys
            .iter()
            .any(|(d, k)| *d == m.identity.device && *k == m.key)
        {
            continue;
        }
        // KT-MEMBER-2: the proof was signed long enough after the key's
        // credential was issued that the log must hold it.
        let refuted = proof.signed_at > 0
            && m.not_before
                .is_some_and(|nb| proof.signed_at >= nb.saturating_add(KEY_PUBLICATION_GRACE_SECS));
        if refuted {
            return TransparencyStatus::Refuted {
                directory: proof.directory.clone(),
                epoch: proof.epoch,
                device_id: m.identity.device.clone(),
            };
        }
        status = TransparencyStatus::Unproven;
    }
    status
}

impl Device {
    /// The transparency status of every participant of `members` but this
    /// device: other participants, and this participant's other devices
    /// (KT-MEMBER-5: a key for our own number that the log never held, an
    /// insider's "second device", is refuted or unproven like anyone's).
    pub(crate) fn statuses_of(
        &self,
        members: &[Member],
    ) -> Result<BTreeMap<PhoneNumber, TransparencyStatus>, ClientError> {
        let mut by_number: BTreeMap<&PhoneNumber, Vec<&Member>> = BTreeMap::new();
        let this_device = self.device_id();
        for m in members
            .iter()
            .filter(|m| m.identity.number != self.number || m.identity.device != this_device)
        {
            by_number.entry(&m.identity.number).or_default().push(m);
        }
        by_number
            .into_iter()
            .map(|(number, keys)| {
                let proof = self.contact_proof(number)?;
                Ok((number.clone(), keys_status(proof.as_ref(), &keys)))
            })
            .collect()
    }

    /// The block these statuses put on a conversation under this device's
    /// policy (KT-MEMBER-3): none without trusted logs; refuted keys
    /// always; unproven keys when proofs are required.
    pub(crate) fn block_of(
        &self,
        statuses: &BTreeMap<PhoneNumber, TransparencyStatus>,
    ) -> Option<TransparencyBlock> {
        let policy = &self.config.transparency;
        if policy.logs.is_empty() {
            return None;
        }
        let mut block = TransparencyBlock::default();
        for (number, status) in statuses {
            match status {
                TransparencyStatus::Proven { .. } => {}
                TransparencyStatus::Unproven if policy.required => {
                    block.unproven.push(number.clone())
                }
                TransparencyStatus::Unproven => {}
                TransparencyStatus::Refuted { .. } => block.refuted.push(number.clone()),
            }
        }
        (!block.unproven.is_empty() || !block.refuted.is_empty()).then_some(block)
    }
}

/// Implements [`Device::transparency_block`].
pub(crate) fn transparency_block(
    device: &mut Device,
    id: &ConversationId,
) -> Result<Option<TransparencyBlock>, ClientError> {
    if device.config.transparency.logs.is_empty() {
        return Ok(None);
    }
    let members = device.members_of(id)?;
    let statuses = device.statuses_of(&members)?;
    Ok(device.block_of(&statuses))
}

/// Implements [`Device::lookups_needed`].
pub(crate) fn lookups_needed(
    device: &mut Device,
    id: &ConversationId,
) -> Result<Vec<PhoneNumber>, ClientError> {
    if device.config.transparency.logs.is_empty() {
        return Ok(Vec::new());
    }
    let members = device.members_of(id)?;
    Ok(device
        .statuses_of(&members)?
        .into_iter()
        .filter(|(_, s)| !matches!(s, TransparencyStatus::Proven { .. }))
        .map(|(n, _)| n)
        .collect())
}

impl Device {
    /// KT-MEMBER-3: refuses to send application content while key
    /// transparency blocks the conversation.
    pub(crate) fn check_not_blocked(&mut self, id: &ConversationId) -> Result<(), ClientError> {
        match self.transparency_block(id)? {
            Some(block) => Err(ClientError::TransparencyBlocked(block)),
            None => Ok(()),
        }
    }

    /// KT-MEMBER-1: a Welcome whose roster holds a key that a recorded
    /// proof refutes is refused (the caller discards the joined group).
    pub(crate) fn refuse_refuted(&self, members: &[Member]) -> Result<(), ClientError> {
        if self.config.transparency.logs.is_empty() {
            return Ok(());
        }
        for (number, status) in self.statuses_of(members)? {
            if let TransparencyStatus::Refuted { device_id, .. } = status {
                return Err(ClientError::Transparency {
                    number,
                    source: KtError::NotInBinding { device_id },
                });
            }
        }
        Ok(())
    }
}
