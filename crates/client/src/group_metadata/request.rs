//! Key recovery (fact sheet §4, 0xF007 `group_metadata_keys_requested`):
//! request, and the clearing rule (GROUP-META-6).

use crosslock_wire::rcc16::extensions as ext;
use mls_rs_core::extension::{Extension, ExtensionType};

use super::{GroupMetadataError, keys_requested};
use crate::device::Device;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::outbound::PendingCommit;

const FLAG: ExtensionType = ExtensionType::new(ext::METADATA_KEYS_REQUESTED);

/// Implements [`Device::request_group_metadata_keys`].
pub(crate) fn request_group_metadata_keys(
    device: &mut Device,
    id: &ConversationId,
) -> Result<PendingCommit, ClientError> {
    device.active_record(id)?;
    let state = device.group_metadata(id)?;
    if state.keys_requested {
        return Err(GroupMetadataError::AlreadyRequested.into());
    }
    if state.missing.is_empty() {
        return Err(GroupMetadataError::NothingToRequest.into());
    }
    let revision = device.config.revision;
    device.atomically(|device| {
        let mut extensions = device.group(id)?.context().extensions.clone();
        extensions.set(Extension::new(
            FLAG,
            ext::encode_metadata_keys_requested(revision),
        ));
        device.stage_commit(id, |b| b.set_group_context_ext(extensions))
    })
}

/// Implements [`Device::clear_group_metadata_request`].
pub(crate) fn clear_group_metadata_request(
    device: &mut Device,
    id: &ConversationId,
) -> Result<PendingCommit, ClientError> {
    device.active_record(id)?;
    let state = device.group_metadata(id)?;
    if !state.keys_requested {
        return Err(GroupMetadataError::NotRequested.into());
    }
    if !state.missing.is_empty() {
        return Err(GroupMetadataError::KeysMissing(state.missing).into());
    }
    device.atomically(|device| {
        let mut extensions = device.group(id)?.context().extensions.clone();
        extensions.remove(FLAG);
        device.stage_commit(id, |b| b.set_group_context_ext(extensions))
    })
}

impl Device {
    /// After a commit from another member: the kinds to re-send when that
    /// commit set 0xF007 (it was not set before) and this device holds
    /// the current keys with a download URL.
    pub(crate) fn metadata_keys_requested(
        &mut self,
        id: &ConversationId,
        prior: &mls_rs::ExtensionList,
    ) -> Result<Vec<super::MetadataDownload>, ClientError> {
        let now = keys_requested(&self.group(id)?.context().extensions);
        if !now || keys_requested(prior) {
            return Ok(Vec::new());
        }
        self.resendable_metadata(id)
    }
}
