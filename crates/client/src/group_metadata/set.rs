//! Setting the subject or icon: encrypt, commit the commitment, stage the
//! key material with the commit (GROUP-META-1).

use crosslock_wire::rcc16::extensions as ext;
use mls_rs_core::extension::{Extension, ExtensionType};

use super::record::StagedItem;
use super::{MetadataChange, MetadataKind, commitment_for, seal};
use crate::device::Device;
use crate::error::ClientError;
use crate::ids::ConversationId;

/// Implements [`Device::set_group_metadata`].
pub(crate) fn set_group_metadata(
    device: &mut Device,
    id: &ConversationId,
    kind: MetadataKind,
    content: &[u8],
    content_type: &str,
) -> Result<MetadataChange, ClientError> {
    device.active_record(id)?;
    let sealed = seal::seal(
        kind,
        content,
        content_type,
        device.env.random(),
        device.env.random(),
    )?;
    let digest = commitment_for(
        kind,
        device.config.revision,
        &sealed.item.key,
        &sealed.item.tag,
    );
    device.atomically(|device| {
        let mut extensions = device.group(id)?.context().extensions.clone();
        extensions.set(Extension::new(
            ExtensionType::new(kind.commitment_extension()),
            ext::encode_commitment(&digest),
        ));
        let commit = device.stage_commit(id, |b| b.set_group_context_ext(extensions))?;
        let mut record = device.metadata_record(id)?;
        record.staged = Some(StagedItem {
            kind,
            commit_id: commit.commit.message_id.clone(),
            item: sealed.item,
        });
        device.put_metadata_record(id, &record)?;
        Ok(MetadataChange {
            commit,
            ciphertext: sealed.ciphertext,
        })
    })
}
