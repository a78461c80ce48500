//! Opening a downloaded subject or icon, and what the device shows.

use super::{GroupMetadata, GroupMetadataError, MetadataKind, committed, keys_requested, seal};
use crate::device::Device;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::records::serde_bytes_vec::Bytes;

impl Device {
    /// Opens a downloaded subject or icon ciphertext and stores the value.
    ///
    /// GROUP-META-2: the key this device holds for `kind` must match the
    /// commitment in the **current** GroupContext (either revision's form,
    /// compared in constant time): a forged key, or the key of a value
    /// that has since changed, is refused
    /// ([`GroupMetadataError::CommitmentMismatch`]). Then the Annex C.3
    /// checks (a ciphertext the server swapped fails the tag check,
    /// [`crate::file::FileError::BadTag`]); a subject must be UTF-8. On any
    /// error nothing is stored.
    pub fn open_group_metadata(
        &mut self,
        id: &ConversationId,
        kind: MetadataKind,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        let context = self.group(id)?.context().extensions.clone();
        let claimed = committed(&context, kind)?.ok_or(GroupMetadataError::NotCommitted(kind))?;
        let mut record = self.metadata_record(id)?;
        let item = record
            .slot_mut(kind)
            .as_mut()
            .ok_or(GroupMetadataError::NoKey(kind))?;
        if !super::key_matches(&claimed, kind, &item.key, &item.tag) {
            return Err(GroupMetadataError::CommitmentMismatch(kind).into());
        }
        let value = seal::open(kind, item, ciphertext)?;
        item.value = Some(Bytes(value.clone()));
        self.atomically(|device| device.put_metadata_record(id, &record))?;
        Ok(value)
    }

    /// The conversation's subject and icon as far as this device has
    /// opened them: only values whose key matches the current commitment.
    pub fn group_metadata(&mut self, id: &ConversationId) -> Result<GroupMetadata, ClientError> {
        let context = self.group(id)?.context().extensions.clone();
        let record = self.metadata_record(id)?;
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
}
