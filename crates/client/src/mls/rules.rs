//! Crosslock's MLS rules: what every member enforces on every commit.

use mls_rs::client_builder::PaddingMode;
use mls_rs::group::Roster;
use mls_rs::mls_rules::{
    CommitDirection, CommitOptions, CommitSource, EncryptionOptions, ProposalBundle,
};
use mls_rs::{ExtensionList, MlsRules};
use mls_rs_core::group::GroupContext;

use super::extensions::{EndMlsExtension, EraExtension};
use super::identity::LeafIdentity;

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
    /// A GroupContext extension does not decode.
    #[error("malformed group context extension: {0}")]
    Extension(String),
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
        let current_era = era_of(&current_context.extensions)?;
        let ended = current_context
            .extensions
            .has_extension(EndMlsExtension::TYPE);
        for proposal in proposals.group_context_ext_proposals() {
            let new = &proposal.proposal;
            if era_of(new)? != current_era {
                return Err(RuleError::EraChanged);
            }
            if ended && !new.has_extension(EndMlsExtension::TYPE) {
                return Err(RuleError::EndMlsWithdrawn);
            }
        }
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
        // Every commit carries a path: post-compromise security on every
        // membership change, not only on updates. Every commit also brings
        // the new epoch's GroupInfo (with the tree and the external public
        // key) for the delivery service: it checks the commit's outcome
        // against it and hands it to a device that must rejoin by external
        // commit (RCC.16 recovery).
        Ok(CommitOptions::new()
            .with_path_required(true)
            .with_ratchet_tree_extension(true)
            .with_allow_external_commit(true)
            .with_single_welcome_message(true))
    }

    fn encryption_options(
        &self,
        _current_roster: &Roster,
        _current_context: &GroupContext,
    ) -> Result<EncryptionOptions, Self::Error> {
        // Commits and proposals travel as PublicMessage: RCC.16 has the
        // conversation's server validate them (era, epoch, membership), and
        // a commit inside a PrivateMessage is a client failure reason (5).
        // Application messages are always PrivateMessage, Padmé-padded.
        Ok(EncryptionOptions::new(false, PaddingMode::Padme))
    }
}
