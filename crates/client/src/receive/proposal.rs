//! A proposal, after MLS processed it (and cached it for the next
//! commit): what RCC.16 drops, what no commit may apply, who proposed.

use mls_rs::group::ProposalMessageDescription;
use mls_rs::group::ProposalSender;
use mls_rs::group::proposal::{Proposal, ProposalType};

use super::Received;
use super::group::member_identity;
use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;

impl Device {
    /// The stage of a processed proposal.
    pub(super) fn receive_proposal(
        &mut self,
        id: &ConversationId,
        proposal: ProposalMessageDescription,
    ) -> Result<Received, ClientError> {
        // MLS-PROP-1/2: dropped before anything is stored.
        if let Proposal::Custom(custom) = &proposal.proposal {
            match custom.proposal_type() {
                ProposalType::RCS_SERVER_REMOVE => {
                    return Err(ClientError::ServerRemoveDropped);
                }
                ProposalType::RCS_SIGNATURE => {
                    return Err(ClientError::RcsSignatureDropped);
                }
                _ => {}
            }
        }
        let group = self.group(id)?;
        // MLS-PROP-4: never cache what no commit may apply.
        crate::mls::rules::check_standalone_proposal(&proposal.proposal, group.context())
            .map_err(|e| ClientError::InvalidHandshake(format!("rule violated: {e}")))?;
        let sender = match proposal.sender {
            ProposalSender::Member(index) => member_identity(group, index)?,
            _ => {
                return Err(ClientError::InvalidHandshake(
                    "proposal from a non-member".into(),
                ));
            }
        };
        let commit_required = group.commit_required();
        group.write_to_storage().map_err(internal)?;
        Ok(Received::Proposal {
            conversation: id.clone(),
            sender,
            commit_required,
        })
    }
}
