//! Crosslock's MLS rules: what every member enforces on every commit.

use crosslock_wire::rcc16::extensions as rcc16_ext;
use mls_rs::client_builder::PaddingMode;
use mls_rs::group::Roster;
use mls_rs::group::proposal::ProposalType;
use mls_rs::mls_rules::{
    CommitDirection, CommitOptions, CommitSource, EncryptionOptions, ProposalBundle,
};
use mls_rs::{ExtensionList, MlsRules};
use mls_rs_core::group::GroupContext;

use crate::extensions::{EndMlsExtension, EraExtension};
use crate::identity::LeafIdentity;

/// A commit broke a Crosslock rule.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// MLS-ERA-1: the era extension is fixed for the life of an MLS group.
    #[error("commit changes or removes the conversation era")]
    EraChanged,
    /// MLS-END-1: once `end_mls` is committed it cannot be withdrawn.
    #[error("commit withdraws end_mls")]
    EndMlsWithdrawn,
    /// MLS-REINIT-1: a new era is a new group Welcomed explicitly, never a ReInit.
    #[error("ReInit proposals are not used; start a new era instead")]
    ReInitRefused,
    /// A GroupContext extension does not decode (MLS-CTX-1).
    #[error("malformed group context extension: {0}")]
    Extension(String),
    /// MLS-PROP-1 (RCC.16 §9.5.1): a ServerRemove (0xF004) proposal is
    /// never applied; members remove with an ordinary Remove.
    #[error("server_remove proposals are dropped; members commit an ordinary Remove")]
    ServerRemoveRefused,
    /// MLS-PROP-2: an rcs_signature (0xF002) proposal only signs derived
    /// content (receipts); it is never valid inside a commit.
    #[error("an rcs_signature proposal is never valid inside a commit")]
    RcsSignatureInCommit,
    /// MLS-PROP-3: a custom proposal whose meaning Crosslock does not
    /// implement (advertised for parity with deployed clients only).
    #[error("custom proposal 0x{0:04X} is not applied")]
    UnsupportedProposal(u16),
    /// MLS-PROP-4: pre-shared keys are not used.
    #[error("pre-shared key proposals are not used")]
    PskRefused,
    /// MLS-EXT-1: an external commit only rejoins: it removes exactly one
    /// leaf, of the same device (number and device id) as the new leaf.
    /// Nobody joins a conversation by external commit.
    #[error("an external commit must replace the committer's own leaf")]
    ExternalJoinRefused,
}

impl mls_rs_core::error::IntoAnyError for RuleError {
    fn into_dyn_error(self) -> Result<Box<dyn std::error::Error + Send + Sync>, Self> {
        Ok(Box::new(self))
    }
}

/// Crosslock's [`MlsRules`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CrosslockRules;

fn era_of(extensions: &ExtensionList) -> Result<Option<u32>, RuleError> {
    extensions
        .get_as::<EraExtension>()
        .map(|e| e.map(|e| e.era))
        .map_err(|e| RuleError::Extension(e.to_string()))
}

/// MLS-CTX-1: the RCC.16 GroupContext extensions a commit sets or changes
/// decode (fact sheet §4): 0xF003/0xF005 framed 32-byte keys, 0xF004/0xF006
/// commitments (framed or bare digests), 0xF007 the metadata-keys flag.
/// Values left as they were are not re-checked: extensions peers wrote are
/// mirrored byte for byte.
fn check_rcc16_extensions(old: &ExtensionList, new: &ExtensionList) -> Result<(), RuleError> {
    for extension in new.iter() {
        if old.get(extension.extension_type).as_ref() == Some(extension) {
            continue;
        }
        let code = *extension.extension_type;
        let data = &extension.extension_data;
        let checked = match code {
            rcc16_ext::ICON_KEY | rcc16_ext::SUBJECT_KEY => {
                rcc16_ext::decode_key(code, data).map(drop)
            }
            rcc16_ext::ICON_COMMITMENT | rcc16_ext::SUBJECT_COMMITMENT => {
                rcc16_ext::decode_commitment(code, data).map(drop)
            }
            rcc16_ext::METADATA_KEYS_REQUESTED => rcc16_ext::decode_metadata_keys_requested(data),
            _ => Ok(()),
        };
        checked.map_err(|e| RuleError::Extension(e.to_string()))?;
    }
    Ok(())
}

/// MLS-PROP-1..3: no custom proposal is applied by a commit (SelfRemove is
/// not custom: mls-rs decodes it as its own proposal type).
fn check_custom_proposals(proposals: &ProposalBundle) -> Result<(), RuleError> {
    match proposals.custom_proposal_types().next() {
        None => Ok(()),
        Some(ProposalType::RCS_SERVER_REMOVE) => Err(RuleError::ServerRemoveRefused),
        Some(ProposalType::RCS_SIGNATURE) => Err(RuleError::RcsSignatureInCommit),
        Some(other) => Err(RuleError::UnsupportedProposal(*other)),
    }
}

/// MLS-ERA-1, MLS-END-1 and MLS-CTX-1 for a GroupContextExtensions
/// proposal replacing `current` with `new`.
fn check_context_change(current: &ExtensionList, new: &ExtensionList) -> Result<(), RuleError> {
    if era_of(new)? != era_of(current)? {
        return Err(RuleError::EraChanged);
    }
    if current.has_extension(EndMlsExtension::TYPE) && !new.has_extension(EndMlsExtension::TYPE) {
        return Err(RuleError::EndMlsWithdrawn);
    }
    check_rcc16_extensions(current, new)
}

/// MLS-PROP-4: a proposal that arrives on its own (not inside a commit) is
/// held to the rules a commit carrying it will be held to, before anyone
/// caches it. A cached proposal goes into the receiver's next commit (and
/// the delivery service refuses a commit that leaves one out, RFC 9420
/// §12.4): one the rules refuse would leave every member unable to
/// commit, and, with a proposal pending, to send.
pub fn check_standalone_proposal(
    proposal: &mls_rs::group::proposal::Proposal,
    context: &GroupContext,
) -> Result<(), RuleError> {
    use mls_rs::group::proposal::Proposal;
    match proposal {
        Proposal::Custom(custom) => match custom.proposal_type() {
            ProposalType::RCS_SERVER_REMOVE => Err(RuleError::ServerRemoveRefused),
            ProposalType::RCS_SIGNATURE => Err(RuleError::RcsSignatureInCommit),
            other => Err(RuleError::UnsupportedProposal(*other)),
        },
        Proposal::ReInit(_) => Err(RuleError::ReInitRefused),
        // No member holds a pre-shared key (Crosslock uses none): a
        // committer would leave it out.
        Proposal::Psk(_) => Err(RuleError::PskRefused),
        Proposal::GroupContextExtensions(new) => check_context_change(&context.extensions, new),
        _ => Ok(()),
    }
}

/// MLS-EXT-1: the external commit of `joiner` removes exactly one leaf,
/// and that leaf belongs to the same device.
fn check_rejoin(
    joiner: &mls_rs::identity::SigningIdentity,
    roster: &Roster,
    proposals: &ProposalBundle,
) -> Result<(), RuleError> {
    let [remove] = proposals.remove_proposals() else {
        return Err(RuleError::ExternalJoinRefused);
    };
    let old = roster
        .member_with_index(remove.proposal.to_remove())
        .map_err(|_| RuleError::ExternalJoinRefused)?;
    let same_device = matches!(
        (LeafIdentity::of(joiner), LeafIdentity::of(&old.signing_identity)),
        (Ok(new), Ok(old)) if new == old
    );
    if same_device {
        Ok(())
    } else {
        Err(RuleError::ExternalJoinRefused)
    }
}

impl MlsRules for CrosslockRules {
    type Error = RuleError;

    fn filter_proposals(
        &self,
        _direction: CommitDirection,
        source: CommitSource,
        current_roster: &Roster,
        current_context: &GroupContext,
        proposals: ProposalBundle,
    ) -> Result<ProposalBundle, Self::Error> {
        for proposal in proposals.group_context_ext_proposals() {
            check_context_change(&current_context.extensions, &proposal.proposal)?;
        }
        check_custom_proposals(&proposals)?;
        if !proposals.reinit_proposals().is_empty() {
            return Err(RuleError::ReInitRefused);
        }
        if let CommitSource::NewMember(joiner) = &source {
            check_rejoin(joiner, current_roster, &proposals)?;
        }
        Ok(proposals)
    }

    fn commit_options(
        &self,
        _new_roster: &Roster,
        _new_context: &GroupContext,
        _proposals: &ProposalBundle,
    ) -> Result<CommitOptions, Self::Error> {
        // MLS-PATH-1: our commits always carry an UpdatePath.
        // Every commit carries a path: post-compromise security on every
        // membership change, not only on updates. Every commit also brings
        // the new epoch's GroupInfo (with the external public key) for the
        // delivery service: it checks the commit's outcome against it and
        // hands it to a device that must rejoin by external commit (RCC.16
        // recovery). MLS-GI-1 (fact sheet §4): no GroupInfo carries the
        // ratchet_tree extension (0x0002), neither the one for the server
        // (Google's CreateMlsConversation refuses it) nor the one inside a
        // Welcome; the tree of the new epoch travels separately
        // (`PendingCommit::ratchet_tree`).
        Ok(CommitOptions::new()
            .with_path_required(true)
            .with_ratchet_tree_extension(false)
            .with_allow_external_commit(true)
            .with_single_welcome_message(true))
    }

    fn encryption_options(
        &self,
        _current_roster: &Roster,
        _current_context: &GroupContext,
    ) -> Result<EncryptionOptions, Self::Error> {
        // MLS-WIRE-1: handshakes as PublicMessage, application messages padded PrivateMessages.
        // Commits and proposals travel as PublicMessage: RCC.16 has the
        // conversation's server validate them (era, epoch, membership), and
        // a commit inside a PrivateMessage is a client failure reason (5).
        // Application messages are always PrivateMessage, Padmé-padded.
        Ok(EncryptionOptions::new(false, PaddingMode::Padme))
    }
}
