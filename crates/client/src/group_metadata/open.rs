//! Opening a downloaded subject or icon, and what the device shows.

use super::{GroupMetadata, GroupMetadataError, MetadataKind, committed, keys_requested, seal};
use crate::device::Device;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::records::serde_bytes_vec::Bytes;

/// Implements [`Device::open_group_metadata`].
pub(crate) fn open_group_metadata(
    device: &mut Device,
    id: &ConversationId,
    kind: MetadataKind,
    ciphertext: &[u8],
) -> Result<Vec<u8>, ClientError> {
    let context = device.group(id)?.context().extensions.clone();
    let claimed = committed(&context, kind)?.ok_or(GroupMetadataError::NotCommitted(kind))?;
    let mut record = device.metadata_record(id)?;
    let item = record
        .slot_mut(kind)
        .as_mut()
        .ok_or(GroupMetadataError::NoKey(kind))?;
    if !super::key_matches(&claimed, kind, &item.key, &item.tag) {
        return Err(GroupMetadataError::CommitmentMismatch(kind).into());
    }
    let value = seal::open(kind, item, ciphertext)?;
    item.value = Some(Bytes(value.clone()));
    device.atomically(|device| device.put_metadata_record(id, &record))?;
    Ok(value)
}

/// Implements [`Device::group_metadata`].
pub(crate) fn group_metadata(
    device: &mut Device,
    id: &ConversationId,
) -> Result<GroupMetadata, ClientError> {
    let context = device.group(id)?.context().extensions.clone();
    let record = device.metadata_record(id)?;
    let mut shown = GroupMetadata {
        keys_requested: keys_requested(&context),
        ..GroupMetadata::default()
    };
    for kind in MetadataKind::ALL {
        if committed(&context, kind)?.is_none() {
            continue;
        }
        let value = match record.item(kind) {
            Some(item) if item.is_current(&context, kind)? => item
                .value
                .as_ref()
                .map(|v| (item.content_type.clone(), v.0.clone())),
            _ => None,
        };
        match (kind, value) {
            (MetadataKind::Subject, Some((_, v))) => {
                shown.subject =
                    Some(String::from_utf8(v).map_err(|_| GroupMetadataError::SubjectNotText)?);
            }
            (MetadataKind::Icon, Some(icon)) => shown.icon = Some(icon),
            (_, None) => shown.missing.push(kind),
        }
    }
    Ok(shown)
}
