//! A conversation's public group state, tracked as an MLS external
//! observer (RFC 9420 §§ 12.4, 13; RCC.16 server checks). The DS holds no
//! group secret: it verifies signatures, membership, credentials, epochs
//! and tree hashes of every handshake message, and compares each commit's
//! outcome with the GroupInfo the committer sent along.

use std::sync::Arc;

use crosslock_credential::{CredentialError, TrustPolicy};
use crosslock_mls_crypto::CrosslockCrypto;
use crosslock_profile::capabilities::advertised_extensions;
use crosslock_profile::env::Clock;
use crosslock_profile::extensions::{EndMlsExtension, EraExtension};
use crosslock_profile::suite::Suite;
use crosslock_profile::{
    CrosslockRules, IdentityError, LeafIdentity, Rcc16Identity, check_standalone_proposal,
};
use crosslock_wire::api::ds::{DeviceRef, ServerReason};
use mls_rs::external_client::builder::{
    ExternalBaseConfig, WithCryptoProvider, WithIdentityProvider, WithMlsRules,
};
use mls_rs::external_client::{ExternalClient, ExternalGroup, ExternalReceivedMessage};
use mls_rs::group::{CommitEffect, ExportedTree, Roster};
use mls_rs::mls_rules::ProposalSource;
use mls_rs::time::MlsTime;
use mls_rs::{ExtensionList, MlsMessage};

use crate::error::DsError;

type Config = WithMlsRules<
    CrosslockRules,
    WithIdentityProvider<Rcc16Identity, WithCryptoProvider<CrosslockCrypto, ExternalBaseConfig>>,
>;

/// An observed conversation.
pub(crate) type Observed = ExternalGroup<Config>;

/// Builds and checks observed conversations.
pub(crate) struct Observer {
    client: ExternalClient<Config>,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

/// What a conversation looks like after a handshake message.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) epoch: u64,
    pub(crate) era: u32,
    pub(crate) state: Vec<u8>,
    /// Member devices with their credential chains (leaf first).
    pub(crate) members: Vec<(DeviceRef, Vec<Vec<u8>>)>,
    pub(crate) ended: bool,
}

/// A commit the observer accepted.
#[derive(Debug)]
pub(crate) struct CommitChecked {
    /// The committer (for an external commit: the device that rejoined).
    pub(crate) committer: DeviceRef,
    pub(crate) external: bool,
    pub(crate) after: Snapshot,
}

fn reason(reason: ServerReason, e: impl std::fmt::Display) -> DsError {
    DsError::refused(reason, e.to_string())
}

/// Maps an mls-rs refusal to the RCC.16 reason closest to it.
fn mls_refusal(e: mls_rs::error::MlsError) -> DsError {
    use mls_rs::error::MlsError as E;
    let text = e.to_string();
    match &e {
        E::InvalidEpoch => reason(ServerReason::IncorrectEpoch, text),
        // DS-TREE-1: the tree beside the GroupInfo is not the one its
        // GroupContext hashes (another epoch's or another group's), or
        // there is no tree at all.
        E::TreeHashMismatch | E::RatchetTreeNotFound => reason(
            ServerReason::MismatchedRcsGroupState,
            format!("the ratchet tree does not match the GroupInfo: {text}"),
        ),
        E::IdentityProviderError(inner) => {
            let expired = inner
                .inner_dyn_error()
                .downcast_ref::<IdentityError>()
                .is_some_and(|i| {
                    matches!(
                        i,
                        IdentityError::Credential(
                            CredentialError::Expired { .. }
                                | CredentialError::ExpiresTooSoon { .. }
                                | CredentialError::NotYetValid { .. }
                        )
                    )
                });
            if expired {
                reason(ServerReason::ExpiredCredential, text)
            } else {
                reason(ServerReason::InvalidCommit, text)
            }
        }
        _ => reason(ServerReason::InvalidCommit, text),
    }
}

/// The device a leaf belongs to.
fn device_of(identity: &mls_rs::identity::SigningIdentity) -> Result<DeviceRef, DsError> {
    let leaf = LeafIdentity::of(identity).map_err(|e| reason(ServerReason::InvalidCommit, e))?;
    Ok(DeviceRef {
        number: leaf.number.as_str().to_owned(),
        device: leaf.device,
    })
}

/// A credential chain, leaf first.
type Chain = Vec<Vec<u8>>;

fn members_of(roster: Roster<'_>) -> Result<Vec<(DeviceRef, Chain)>, DsError> {
    let mut members = roster
        .members_iter()
        .map(|m| {
            let chain = match &m.signing_identity.credential {
                mls_rs::identity::Credential::X509(chain) => {
                    chain.as_slice().iter().map(|c| c.to_vec()).collect()
                }
                _ => {
                    return Err(reason(
                        ServerReason::InvalidCommit,
                        "not an X.509 credential",
                    ));
                }
            };
            Ok((device_of(&m.signing_identity)?, chain))
        })
        .collect::<Result<Vec<_>, _>>()?;
    members.sort();
    members.dedup_by(|a, b| a.0 == b.0);
    Ok(members)
}

fn era_and_end(extensions: &ExtensionList) -> Result<(u32, bool), DsError> {
    let era = extensions
        .get_as::<EraExtension>()
        .map_err(|e| reason(ServerReason::InvalidCommit, e))?
        .map(|e| e.era)
        .ok_or_else(|| {
            reason(
                ServerReason::InvalidCommit,
                "the group has no era extension",
            )
        })?;
    Ok((era, extensions.has_extension(EndMlsExtension::TYPE)))
}

impl Observer {
    /// An observer accepting credentials under `trust` (every provider's
    /// credential roots that members may chain to), checking their
    /// validity at `clock`'s time when mls-rs gives none.
    pub(crate) fn new(trust: TrustPolicy, clock: Arc<dyn Clock>) -> Self {
        let suites = Suite::ALL.iter().map(|s| s.cipher_suite()).collect();
        let client = ExternalClient::builder()
            .crypto_provider(CrosslockCrypto::with_enabled_cipher_suites(suites))
            .identity_provider(Rcc16Identity::new(trust, clock))
            .mls_rules(CrosslockRules)
            .extension_types(advertised_extensions())
            .build();
        Observer { client }
    }

    /// Starts observing from a GroupInfo and the ratchet tree sent beside
    /// it (MLS-GI-1; `None` reads the tree from a GroupInfo that still
    /// carries the ratchet_tree extension, MLS-GI-2): checks its
    /// signature, the tree (against the GroupContext's tree hash, DS-TREE-1)
    /// and every member's credential at `at` (or now).
    ///
    /// With `at`, the lifetime of every leaf that came from a KeyPackage
    /// is checked at that time too: right for epoch 1, where every leaf
    /// was just added. A later epoch is observed with `None`: MLS-LIFE-1,
    /// a KeyPackage's lifetime is checked when it is added (by the commit
    /// that adds it), not for as long as its leaf stays in the tree
    /// (RFC 9420 §7.3 only recommends it): a member who has not committed
    /// since joining would otherwise make every commit of the group that
    /// keeps them refused 14 days later.
    pub(crate) fn observe(
        &self,
        group_info: &[u8],
        ratchet_tree: Option<&[u8]>,
        at: Option<u64>,
    ) -> Result<Observed, DsError> {
        let message = MlsMessage::from_bytes(group_info)
            .map_err(|e| reason(ServerReason::UnparsableCommit, format!("GroupInfo: {e}")))?;
        let tree = ratchet_tree
            .map(ExportedTree::from_bytes)
            .transpose()
            .map_err(|e| reason(ServerReason::UnparsableCommit, format!("ratchet tree: {e}")))?;
        self.client
            .observe_group(message, tree, at.map(MlsTime::from))
            .map_err(mls_refusal)
    }

    /// The ratchet tree of an observed epoch, to serve beside its GroupInfo.
    pub(crate) fn tree(group: &Observed) -> Result<Vec<u8>, DsError> {
        group
            .export_tree()
            .map_err(|e| DsError::Internal(format!("ratchet tree: {e}")))
    }

    /// Loads a stored state.
    pub(crate) fn load(&self, state: &[u8]) -> Result<Observed, DsError> {
        let snapshot = mls_rs::external_client::ExternalSnapshot::from_bytes(state)
            .map_err(|e| DsError::Internal(format!("stored group state: {e}")))?;
        self.client
            .load_group(snapshot)
            .map_err(|e| DsError::Internal(format!("stored group state: {e}")))
    }

    /// The state to store.
    pub(crate) fn snapshot(group: &Observed) -> Result<Snapshot, DsError> {
        let (era, ended) = era_and_end(&group.group_context().extensions)?;
        Ok(Snapshot {
            epoch: group.group_context().epoch,
            era,
            state: group
                .snapshot()
                .to_bytes()
                .map_err(|e| DsError::Internal(e.to_string()))?,
            members: members_of(group.roster())?,
            ended,
        })
    }

    /// The member device at a leaf.
    pub(crate) fn member_at(group: &Observed, leaf: u32) -> Result<DeviceRef, DsError> {
        let member = group
            .roster()
            .member_with_index(leaf)
            .map_err(|e| reason(ServerReason::InvalidCommit, e))?;
        device_of(&member.signing_identity)
    }

    /// Processes a proposal (validated and cached for the next commit).
    ///
    /// MLS-PROP-4: a proposal no commit may apply (a custom proposal, a
    /// ReInit, a GroupContextExtensions change the rules refuse) is refused
    /// before it is cached: every later commit must include a cached
    /// proposal (`pending-proposal`), so one the rules refuse would block every
    /// commit of the group, the removal of its sender included. On a
    /// refusal the caller stores nothing.
    pub(crate) fn proposal(
        &self,
        group: &mut Observed,
        message: MlsMessage,
        now: u64,
    ) -> Result<Snapshot, DsError> {
        match group
            .process_incoming_message_with_time(message, MlsTime::from(now))
            .map_err(mls_refusal)?
        {
            ExternalReceivedMessage::Proposal(p) => {
                check_standalone_proposal(&p.proposal, group.group_context())
                    .map_err(|e| reason(ServerReason::InvalidCommit, e))?;
                Self::snapshot(group)
            }
            _ => Err(reason(ServerReason::InvalidCommit, "not a proposal")),
        }
    }

    /// Processes a commit and checks it against the GroupInfo the committer
    /// sent for the new epoch.
    pub(crate) fn commit(
        &self,
        group: &mut Observed,
        message: MlsMessage,
        group_info: &[u8],
        ratchet_tree: Option<&[u8]>,
        now: u64,
    ) -> Result<CommitChecked, DsError> {
        let pending = group.get_cached_proposals().len();
        let description = match group
            .process_incoming_message_with_time(message, MlsTime::from(now))
            .map_err(mls_refusal)?
        {
            ExternalReceivedMessage::Commit(d) => d,
            _ => return Err(reason(ServerReason::InvalidCommit, "not a commit")),
        };
        let new_epoch = match &description.effect {
            CommitEffect::NewEpoch(e) => e,
            CommitEffect::Removed { new_epoch, .. } => new_epoch,
            CommitEffect::ReInit(_) => {
                return Err(reason(ServerReason::InvalidCommit, "ReInit is not used"));
            }
        };
        // RFC 9420 § 12.4 / RCC.16: proposals sent before the commit must
        // be in it.
        let by_reference = new_epoch
            .applied_proposals
            .iter()
            .filter(|p| matches!(p.source, ProposalSource::ByReference(_)))
            .count();
        if by_reference < pending {
            return Err(reason(
                ServerReason::PendingProposal,
                format!(
                    "{} pending proposal(s) not committed",
                    pending - by_reference
                ),
            ));
        }
        let committer = Self::member_at(group, description.committer)?;
        // The GroupInfo must describe exactly the epoch the commit made.
        // MLS-LIFE-1: the members' credentials are checked now, the
        // lifetimes of KeyPackages added long ago are not.
        let announced = self.observe(group_info, ratchet_tree, None)?;
        if announced.group_context() != group.group_context() {
            return Err(reason(
                ServerReason::MismatchedRcsGroupState,
                "the GroupInfo does not describe the epoch the commit creates",
            ));
        }
        let ours = group
            .snapshot()
            .to_bytes()
            .map_err(|e| DsError::Internal(e.to_string()))?;
        let theirs = announced
            .snapshot()
            .to_bytes()
            .map_err(|e| DsError::Internal(e.to_string()))?;
        if ours != theirs {
            // Same context and tree: what differs is the interim transcript
            // hash, i.e. the confirmation tag.
            return Err(reason(
                ServerReason::MismatchedConfirmationTag,
                "the GroupInfo's confirmation tag is not the commit's",
            ));
        }
        Ok(CommitChecked {
            committer,
            external: description.is_external,
            after: Self::snapshot(group)?,
        })
    }
}
