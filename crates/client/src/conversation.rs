//! Conversation operations that change membership or keys. Each returns a
//! [`PendingCommit`]; local state moves only when the delivery service's
//! verdict is reported (stage, then merge: GUIDE §3.4).

use std::collections::BTreeSet;

use crosslock_credential::PhoneNumber;
use crosslock_wire::api::kds::ClaimResponse;
use crosslock_wire::api::kt::LookupAnswer;
use crosslock_wire::rcc16::extensions::DowngradeReason;
use mls_rs::group::CommitBuilder;
use mls_rs::{ExtensionList, MlsMessage};

use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::keypackages::{check_key_package, now_mls};
use crate::mls::MlsConfig;
use crate::mls::extensions::{EndMlsExtension, EraExtension};
use crate::mls::identity::LeafIdentity;
use crate::outbound::{
    HANDSHAKE, PendingCommit, authenticated_data, envelope, epoch_authenticator,
};
use crate::records::{
    ConversationKind, ConversationRecord, ConversationStatus, PendingKind, PendingRecord,
};
use crate::store::{Table, key};
use crate::suite::{Suite, negotiate};
use crate::transparency::{KtVerified, Offered};
use rayon::prelude::*;

/// One device's KeyPackages, possibly one per suite (as a KDS claim returns them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceKeyPackages(pub Vec<Vec<u8>>);

/// Every device of one participant: all are added in one commit (RCC.16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantKeyPackages {
    /// The number the KeyPackages were claimed for.
    pub number: PhoneNumber,
    /// One entry per device.
    pub devices: Vec<DeviceKeyPackages>,
    /// The key-transparency proof of the number's binding that came with
    /// the claim (required when the device's policy says so).
    pub transparency: Option<LookupAnswer>,
}

impl ParticipantKeyPackages {
    /// The participant of a KDS claim answer, with its transparency proof.
    pub fn from_claim(claim: &ClaimResponse) -> Result<Self, ClientError> {
        let number = PhoneNumber::parse(&claim.number).map_err(|e| {
            ClientError::InvalidRequest(format!("claim answer names an invalid number: {e}"))
        })?;
        Ok(ParticipantKeyPackages {
            number,
            devices: claim
                .devices
                .iter()
                .map(|d| DeviceKeyPackages(d.key_packages.iter().map(|kp| kp.0.clone()).collect()))
                .collect(),
            transparency: claim.transparency.clone(),
        })
    }
}

/// What kind of conversation to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewConversation {
    /// A 1:1 chat with exactly one other participant (our own other
    /// devices may be included); the group id is a fresh UUIDv4 string.
    OneToOne,
    /// A group chat. Its MLS group id is `group_id` when that is a
    /// lowercase UUIDv4 string (e.g. one agreed out of band), and otherwise
    /// a fresh one: RCC.16 servers as deployed refuse any other shape
    /// (fact sheet §6, GID-1). The id is in [`PendingCommit::conversation`].
    Group {
        /// A lowercase UUIDv4 string to use, or anything else (for example
        /// empty) for a fresh one.
        group_id: Vec<u8>,
    },
}

/// The outcome of a commit the delivery service accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitApplied {
    /// The conversation.
    pub conversation: ConversationId,
    /// The new epoch.
    pub epoch: u64,
}

/// A checked KeyPackage, ready to add.
pub(crate) struct Checked {
    pub(crate) message: MlsMessage,
    pub(crate) identity: LeafIdentity,
}

/// (device id, signature key, leaf certificate, suite) of a checked
/// KeyPackage.
fn offered_key(suite: Suite, c: &Checked) -> Result<Offered, ClientError> {
    let kp = c
        .message
        .as_key_package()
        .ok_or_else(|| internal("checked KeyPackage is not one"))?;
    let identity = kp.signing_identity();
    let mls_rs::identity::Credential::X509(chain) = &identity.credential else {
        return Err(internal("checked KeyPackage without X.509 credential"));
    };
    let leaf = chain
        .as_slice()
        .first()
        .ok_or_else(|| internal("empty certificate chain"))?;
    Ok((
        c.identity.device.clone(),
        identity.signature_key.as_bytes().to_vec(),
        leaf.to_vec(),
        suite,
    ))
}

/// Per device of each participant, its checked KeyPackages by suite.
pub(crate) type CheckedDevices = Vec<Vec<(Suite, Checked)>>;

impl Device {
    /// Checks every KeyPackage of `participants` and each participant's
    /// transparency proof; returns, per device, the KeyPackages by suite,
    /// and the proofs to record.
    pub(crate) fn check_participants(
        &self,
        participants: &[ParticipantKeyPackages],
    ) -> Result<(CheckedDevices, Vec<KtVerified>), ClientError> {
        if participants.is_empty() {
            return Err(ClientError::InvalidRequest("no participants given".into()));
        }
        for participant in participants {
            if participant.devices.is_empty() {
                return Err(ClientError::InvalidRequest(format!(
                    "{} has no devices",
                    participant.number.redacted()
                )));
            }
        }
        // Every KeyPackage is checked (credential chain included) in
        // parallel; the first failure in input order is reported.
        let jobs: Vec<(usize, &PhoneNumber, &[u8])> = participants
            .iter()
            .flat_map(|p| p.devices.iter().map(move |d| (p, d)))
            .enumerate()
            .flat_map(|(device, (p, d))| {
                d.0.iter().map(move |kp| (device, &p.number, kp.as_slice()))
            })
            .collect();
        let now = self.env.clock.now();
        let policy = self.config.key_packages;
        let identity = &self.identity;
        let checked: Vec<Result<(usize, Suite, Checked), ClientError>> = jobs
            .par_iter()
            .map(|(device, number, bytes)| {
                let (message, suite, identity) = check_key_package(identity, now, &policy, bytes)?;
                // KP-5: the credential names the number it was claimed for.
                // The credential must name the number that was asked for.
                if identity.number != **number {
                    return Err(ClientError::KeyPackageIdentityMismatch {
                        expected: (*number).clone(),
                    });
                }
                Ok((*device, suite, Checked { message, identity }))
            })
            .collect();
        let device_count = participants.iter().map(|p| p.devices.len()).sum();
        let mut devices: Vec<Vec<(Suite, Checked)>> =
            (0..device_count).map(|_| Vec::new()).collect();
        for result in checked {
            let (device, suite, checked) = result?;
            devices[device].push((suite, checked));
        }
        // Key transparency: every offered key must be in the participant's
        // proven binding.
        let mut verified = Vec::new();
        let mut next = 0;
        for participant in participants {
            let count = participant.devices.len();
            let offered: Vec<Offered> = devices[next..next + count]
                .iter()
                .flatten()
                .map(|(s, c)| offered_key(*s, c))
                .collect::<Result<_, _>>()?;
            next += count;
            verified.extend(self.verify_transparency(
                &participant.number,
                participant.transparency.as_ref(),
                &offered,
            )?);
        }
        Ok((devices, verified))
    }
}

/// Implements [`Device::create_conversation`].
pub(crate) fn create_conversation(
    device: &mut Device,
    kind: NewConversation,
    participants: &[ParticipantKeyPackages],
) -> Result<PendingCommit, ClientError> {
    let id = match &kind {
        NewConversation::OneToOne => {
            let others: BTreeSet<_> = participants
                .iter()
                .map(|p| &p.number)
                .filter(|n| **n != device.number)
                .collect();
            if others.len() != 1 {
                return Err(ClientError::InvalidRequest(
                    "a 1:1 conversation has exactly one other participant".into(),
                ));
            }
            ConversationId::fresh(device.env.random())
        }
        NewConversation::Group { group_id } if ConversationId::is_deployed_form(group_id) => {
            ConversationId::new(group_id.clone())
                .ok_or_else(|| internal("a 36-byte id is a valid conversation id"))?
        }
        // GID-1: our groups get the deployed id form too.
        NewConversation::Group { .. } => ConversationId::fresh(device.env.random()),
    };
    if device
        .staged
        .get(Table::Conversation, id.as_bytes())?
        .is_some()
    {
        return Err(ClientError::ConversationExists);
    }
    let (devices, verified) = match device.check_participants(participants) {
        Ok(checked) => checked,
        Err(e) => return device.keep_fork_alert(Err(e)),
    };
    let preference = device.record.suites.clone();
    let suite = negotiate(
        &preference,
        |s| {
            devices
                .iter()
                .all(|d| d.iter().any(|(suite, _)| *suite == s))
        },
        &device.config.suites,
    )
    .ok_or(ClientError::NoCommonSuite)?;
    let mut chosen = Vec::new();
    for offers in devices {
        if let Some((_, checked)) = offers.into_iter().find(|(s, _)| *s == suite) {
            chosen.push(checked);
        }
    }
    let kind = match kind {
        NewConversation::OneToOne => ConversationKind::OneToOne,
        NewConversation::Group { .. } => ConversationKind::Group,
    };
    let result = device.atomically(|device| {
        device.stage_transparency(&verified)?;
        let now = now_mls(device);
        let mut extensions = ExtensionList::new();
        extensions.set_from(EraExtension { era: 1 }).map_err(internal)?;
        let group = device
            .client(suite)?
            .create_group_with_id(id.as_bytes().to_vec(), extensions, ExtensionList::new(), Some(now))
            .map_err(internal)?;
        device.groups.insert(id.clone(), group);
        let record = ConversationRecord {
            kind,
            era: 1,
            suite,
            status: ConversationStatus::Active,
            pending: None,
            created_at: device.env.clock.now(),
        };
        device.put_conversation(&id, &record)?;
        device.record_epoch_authenticator(&id)?;
        tracing::info!(conversation = %id, suite = suite.code(), devices = chosen.len(), "conversation created");
        device.stage_commit(&id, |builder| {
            chosen.into_iter().try_fold(builder, |b, c| b.add_member(c.message))
        })
    });
    device.keep_fork_alert(result)
}

/// Implements [`Device::add_participants`].
pub(crate) fn add_participants(
    device: &mut Device,
    id: &ConversationId,
    participants: &[ParticipantKeyPackages],
) -> Result<PendingCommit, ClientError> {
    let record = device.conversation_record(id)?;
    let (devices, verified) = match device.check_participants(participants) {
        Ok(checked) => checked,
        Err(e) => return device.keep_fork_alert(Err(e)),
    };
    let members = device.members_of(id)?;
    let mut chosen = Vec::new();
    for (offers, participant) in devices.into_iter().zip(
        participants
            .iter()
            .flat_map(|p| p.devices.iter().map(move |_| &p.number)),
    ) {
        // KP-6: every device has a KeyPackage in the conversation's suite.
        let (_, checked) = offers
            .into_iter()
            .find(|(s, _)| *s == record.suite)
            .ok_or_else(|| ClientError::MissingSuite {
                number: participant.clone(),
                suite: record.suite,
            })?;
        // KP-8: the device is not already a member.
        if members.iter().any(|m| m.identity == checked.identity) {
            return Err(ClientError::InvalidRequest(format!(
                "a device of {} is already in the conversation",
                participant.redacted()
            )));
        }
        chosen.push(checked);
    }
    device.atomically(|device| {
        device.stage_transparency(&verified)?;
        device.stage_commit(id, |builder| {
            chosen
                .into_iter()
                .try_fold(builder, |b, c| b.add_member(c.message))
        })
    })
}

/// Implements [`Device::remove_participant`].
pub(crate) fn remove_participant(
    device: &mut Device,
    id: &ConversationId,
    number: &PhoneNumber,
) -> Result<PendingCommit, ClientError> {
    if number == &device.number {
        return Err(ClientError::InvalidRequest(
            "use leave() to leave a conversation".into(),
        ));
    }
    let leaves: Vec<u32> = device
        .members_of(id)?
        .into_iter()
        .filter(|m| &m.identity.number == number)
        .map(|m| m.index)
        .collect();
    if leaves.is_empty() {
        return Err(ClientError::UnknownParticipant(number.clone()));
    }
    device.atomically(|device| device.stage_removal(id, leaves))
}

/// Implements [`Device::remove_device`].
pub(crate) fn remove_device(
    device: &mut Device,
    id: &ConversationId,
    number: &PhoneNumber,
    device_id: &str,
) -> Result<PendingCommit, ClientError> {
    let own = device.group(id)?.current_member_index();
    let leaf = device
        .members_of(id)?
        .into_iter()
        .find(|m| &m.identity.number == number && m.identity.device == device_id && m.index != own)
        .ok_or_else(|| ClientError::UnknownParticipant(number.clone()))?;
    device.atomically(|device| device.stage_removal(id, vec![leaf.index]))
}

/// Implements [`Device::refresh_credential`].
pub(crate) fn refresh_credential(
    device: &mut Device,
    id: &ConversationId,
) -> Result<PendingCommit, ClientError> {
    let record = device.conversation_record(id)?;
    let client = device.client(record.suite)?;
    let (identity, _) = client.signing_identity().map_err(internal)?;
    let identity = identity.clone();
    let alias = device
        .credential_record(record.suite.signature_algorithm())
        .alias
        .clone();
    // CRED-EXP-2 does not hold this commit back: it is the one that
    // replaces an expired credential with the renewed one.
    device.atomically(|device| {
        device.stage_commit_with(id, false, Vec::new(), |builder| {
            Ok(builder
                .set_new_signing_identity(crate::mls::crypto::signer_handle(&alias), identity))
        })
    })
}

/// Implements [`Device::presents_installed_credential`].
pub(crate) fn presents_installed_credential(
    device: &mut Device,
    id: &ConversationId,
) -> Result<bool, ClientError> {
    let record = device.conversation_record(id)?;
    let installed = {
        let client = device.client(record.suite)?;
        let (identity, _) = client.signing_identity().map_err(internal)?;
        identity.credential.clone()
    };
    let group = device.group(id)?;
    let own = group.current_member_signing_identity().map_err(internal)?;
    Ok(own.credential == installed)
}

/// Implements [`Device::end_encryption`].
pub(crate) fn end_encryption(
    device: &mut Device,
    id: &ConversationId,
) -> Result<PendingCommit, ClientError> {
    let record = device.conversation_record(id)?;
    device.atomically(|device| {
        let mut extensions = device.group(id)?.context().extensions.clone();
        extensions
            .set_from(EraExtension { era: record.era })
            .map_err(internal)?;
        extensions.set(EndMlsExtension::extension(
            device.config.revision,
            DowngradeReason::Unset,
        ));
        device.stage_commit(id, |builder| builder.set_group_context_ext(extensions))
    })
}

/// Implements [`Device::leave`].
pub(crate) fn leave(
    device: &mut Device,
    id: &ConversationId,
) -> Result<crate::outbound::Outbound, ClientError> {
    let record = device.active_record(id)?;
    device.atomically(|device| {
        let message_id = device.new_message_id();
        let aad = authenticated_data(&message_id, record.era, None);
        let group = device.group(id)?;
        let auth = epoch_authenticator(group)?;
        let proposal = group.propose_self_remove(aad).map_err(internal)?;
        group.write_to_storage().map_err(internal)?;
        envelope(
            message_id,
            HANDSHAKE,
            record.kind,
            record.era,
            auth,
            &proposal,
        )
    })
}

/// Implements [`Device::commit_accepted`].
pub(crate) fn commit_accepted(
    device: &mut Device,
    commit: &PendingCommit,
) -> Result<CommitApplied, ClientError> {
    let id = &commit.conversation;
    let mut record = device.conversation_record(id)?;
    match &record.pending {
        None => return Err(ClientError::NoPendingCommit),
        Some(p) if p.message_id != commit.commit.message_id => {
            return Err(ClientError::StaleVerdict);
        }
        Some(p) if p.kind.replaces_group() => return device.accept_replacement(id, record),
        Some(_) => {}
    }
    device.atomically(|device| {
        let group = device.group(id)?;
        let description = group.apply_pending_commit().map_err(internal)?;
        group.write_to_storage().map_err(internal)?;
        let epoch = group.current_epoch();
        if group
            .context()
            .extensions
            .has_extension(EndMlsExtension::TYPE)
        {
            record.status = ConversationStatus::Ended;
        }
        drop(description);
        record.pending = None;
        // GID-3: a 1:1 that gained a third number (or a subject) is a group.
        device.settle_kind(id, &mut record)?;
        device.put_conversation(id, &record)?;
        // GROUP-META-1: a subject/icon change staged with this commit
        // becomes current.
        device.settle_staged_metadata(id, Some(&commit.commit.message_id))?;
        device.record_epoch_authenticator(id)?;
        device.observe_member_keys(id)?;
        Ok(CommitApplied {
            conversation: id.clone(),
            epoch,
        })
    })
}

/// Implements [`Device::commit_rejected`].
pub(crate) fn commit_rejected(
    device: &mut Device,
    commit: &PendingCommit,
) -> Result<(), ClientError> {
    let id = &commit.conversation;
    let mut record = device.conversation_record(id)?;
    match &record.pending {
        Some(p) if p.message_id == commit.commit.message_id => {
            if p.kind.replaces_group() {
                return device.reject_replacement(id, record);
            }
        }
        _ => return Ok(()),
    }
    device.atomically(|device| {
        // The conversation record is authoritative for "no commit
        // pending"; the (possibly multi-megabyte) group snapshot is not
        // rewritten here: a stale pending commit in it is dropped when
        // the group is next loaded (`Device::group`) and disappears with
        // the group's next write.
        device.group(id)?.clear_pending_commit();
        record.pending = None;
        // GROUP-META-1: a subject/icon change staged with it is dropped.
        device.settle_staged_metadata(id, None)?;
        device.put_conversation(id, &record)
    })
}

/// Implements [`Device::pending_commit`].
pub(crate) fn pending_commit(
    device: &Device,
    id: &ConversationId,
) -> Result<Option<PendingCommit>, ClientError> {
    let record = device.conversation_record(id)?;
    Ok(record.pending.map(|p| PendingCommit {
        external: matches!(p.kind, PendingKind::Rejoin { .. }),
        conversation: id.clone(),
        commit: crate::outbound::Outbound {
            message_id: p.message_id,
            content_type: HANDSHAKE,
            envelope: p.commit.0,
        },
        welcome: p.welcome.map(|w| crate::outbound::Outbound {
            message_id: p.welcome_message_id.unwrap_or_default(),
            content_type: HANDSHAKE,
            envelope: w.0,
        }),
        group_info: p.group_info.0,
        ratchet_tree: p.ratchet_tree.0,
    }))
}

impl Device {
    // ---- shared steps ---------------------------------------------------------

    /// The record of a conversation we can still act in.
    pub(crate) fn active_record(
        &self,
        id: &ConversationId,
    ) -> Result<ConversationRecord, ClientError> {
        let record = self.conversation_record(id)?;
        match record.status {
            ConversationStatus::Active => Ok(record),
            ConversationStatus::Ended => Err(ClientError::EncryptionEnded),
            ConversationStatus::Removed => Err(ClientError::NotAMember),
        }
    }

    /// Builds a commit (inside an `atomically`), stages the group state and
    /// the pending record. The commit also removes the member devices whose
    /// credential has expired (CRED-EXP-1); this device's own must not have
    /// (CRED-EXP-2).
    pub(crate) fn stage_commit(
        &mut self,
        id: &ConversationId,
        build: impl FnOnce(
            CommitBuilder<'_, MlsConfig>,
        ) -> Result<CommitBuilder<'_, MlsConfig>, mls_rs::error::MlsError>,
    ) -> Result<PendingCommit, ClientError> {
        self.stage_commit_with(id, true, Vec::new(), build)
    }

    /// A commit removing the leaves `leaves` (and, CRED-EXP-1, every member
    /// device whose credential has expired), inside an `atomically`.
    pub(crate) fn stage_removal(
        &mut self,
        id: &ConversationId,
        leaves: Vec<u32>,
    ) -> Result<PendingCommit, ClientError> {
        self.stage_commit_with(id, true, leaves, |b| Ok(b))
    }

    /// [`Device::stage_commit`], removing `removing` too; `check_own`: hold
    /// this device's own leaf to CRED-EXP-2.
    pub(crate) fn stage_commit_with(
        &mut self,
        id: &ConversationId,
        check_own: bool,
        removing: Vec<u32>,
        build: impl FnOnce(
            CommitBuilder<'_, MlsConfig>,
        ) -> Result<CommitBuilder<'_, MlsConfig>, mls_rs::error::MlsError>,
    ) -> Result<PendingCommit, ClientError> {
        let mut record = self.active_record(id)?;
        if record.pending.is_some() {
            return Err(ClientError::CommitPending);
        }
        if check_own {
            self.check_own_credential(id)?;
        }
        // CRED-EXP-1: the expired members go in the same commit, each once.
        let mut removals = removing;
        for leaf in self.expired_members(id)? {
            if !removals.contains(&leaf) {
                removals.push(leaf);
            }
        }
        if !removals.is_empty() {
            tracing::info!(conversation = %id, removals = removals.len(), "commit removes devices");
        }
        let now = now_mls(self);
        let commit_id = self.new_message_id();
        let welcome_id = self.new_message_id();
        let aad = authenticated_data(&commit_id, record.era, None);
        let group = self.group(id)?;
        if group.has_pending_commit() {
            return Err(ClientError::CommitPending);
        }
        let auth = epoch_authenticator(group)?;
        let builder = group
            .commit_builder()
            .authenticated_data(aad)
            .commit_time(now);
        let output = removals
            .into_iter()
            .try_fold(builder, |b, leaf| b.remove_member(leaf))
            .and_then(build)
            .and_then(|b| b.build())
            .map_err(commit_error)?;
        group.write_to_storage().map_err(internal)?;
        let commit = envelope(
            commit_id,
            HANDSHAKE,
            record.kind,
            record.era,
            auth,
            output.commit_message(),
        )?;
        let welcome = output
            .welcome_messages()
            .first()
            .map(|w| envelope(welcome_id, HANDSHAKE, record.kind, record.era, auth, w))
            .transpose()?;
        let group_info = output
            .external_commit_group_info()
            .ok_or_else(|| internal("commit output without GroupInfo"))?
            .to_bytes()
            .map_err(internal)?;
        let ratchet_tree = tree_bytes(&output)?;
        record.pending = Some(PendingRecord {
            message_id: commit.message_id.clone(),
            commit: commit.envelope.clone().into(),
            welcome: welcome.as_ref().map(|w| w.envelope.clone().into()),
            welcome_message_id: welcome.as_ref().map(|w| w.message_id.clone()),
            group_info: group_info.clone().into(),
            ratchet_tree: ratchet_tree.clone().into(),
            kind: PendingKind::Commit,
        });
        self.put_conversation(id, &record)?;
        Ok(PendingCommit {
            conversation: id.clone(),
            commit,
            welcome,
            group_info,
            ratchet_tree,
            external: false,
        })
    }

    /// Remembers the current epoch's authenticator, to check the
    /// `mls.Epoch-Authenticator` header of late messages from that epoch.
    pub(crate) fn record_epoch_authenticator(
        &mut self,
        id: &ConversationId,
    ) -> Result<(), ClientError> {
        let keep = self.config.epoch_retention.max_epochs;
        let group = self.group(id)?;
        let epoch = group.current_epoch();
        let auth = epoch_authenticator(group)?;
        self.staged.put(
            Table::EpochAuthenticator,
            key(&[id.as_bytes(), &epoch.to_be_bytes()]),
            auth.to_vec(),
        );
        if let Some(old) = epoch.checked_sub(keep) {
            self.staged.delete(
                Table::EpochAuthenticator,
                key(&[id.as_bytes(), &old.to_be_bytes()]),
            );
        }
        Ok(())
    }

    pub(crate) fn stored_epoch_authenticator(
        &self,
        id: &ConversationId,
        epoch: u64,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        Ok(self.staged.get(
            Table::EpochAuthenticator,
            &key(&[id.as_bytes(), &epoch.to_be_bytes()]),
        )?)
    }
}

/// Maps an mls-rs failure while building a commit.
pub(crate) fn commit_error(e: mls_rs::error::MlsError) -> ClientError {
    use mls_rs::error::MlsError as E;
    match e {
        E::InvalidLifetime { .. } => ClientError::KeyPackageExpired,
        // KP-7: mls-rs verifies the KeyPackage and leaf signatures while building the commit.
        E::InvalidSignature => ClientError::InvalidKeyPackage("signature does not verify".into()),
        E::IdentityProviderError(e) => ClientError::InvalidKeyPackage(e.to_string()),
        E::DuplicateLeafData(_) => {
            ClientError::InvalidRequest("device is already in the conversation".into())
        }
        E::CommitRequired => ClientError::CommitRequired,
        E::ExistingPendingCommit => ClientError::CommitPending,
        other => ClientError::Internal(other.to_string()),
    }
}

/// The ratchet tree of the epoch a commit creates, as it travels beside the
/// GroupInfo (MLS-GI-1: no GroupInfo carries the ratchet_tree extension, so
/// mls-rs hands the tree out in the commit output).
pub(crate) fn tree_bytes(output: &mls_rs::group::CommitOutput) -> Result<Vec<u8>, ClientError> {
    output
        .ratchet_tree()
        .ok_or_else(|| internal("commit output without ratchet tree"))?
        .to_bytes()
        .map_err(internal)
}
