//! What a device keeps per conversation about its subject and icon, and
//! the staging of a change until its commit's verdict (GROUP-META-1).

use serde::{Deserialize, Serialize};

use super::{MetadataKind, committed, key_matches};
use crate::device::Device;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::records::{self, serde_bytes_vec::Bytes};
use crate::store::{Table, key};

const STATE: &[u8] = b"state";
const PENDING: &[u8] = b"pending";

/// One value's key material, where its ciphertext is, and the value once
/// opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Item {
    /// The content key `K`.
    pub(crate) key: [u8; 32],
    /// The Annex C.2 IV.
    pub(crate) iv: [u8; 12],
    /// The `hmac_tag`.
    pub(crate) tag: [u8; 32],
    /// The plaintext length (`file_length_hint`), when known.
    pub(crate) length: Option<u32>,
    /// The plaintext's media type.
    pub(crate) content_type: String,
    /// Where the ciphertext can be downloaded, and until when.
    pub(crate) download: Option<(String, u64)>,
    /// The value, once decrypted (or, for our own change, as set).
    pub(crate) value: Option<Bytes>,
}

impl Item {
    /// Whether this key matches `kind`'s commitment in `context`.
    pub(crate) fn is_current(
        &self,
        context: &mls_rs::ExtensionList,
        kind: MetadataKind,
    ) -> Result<bool, ClientError> {
        Ok(committed(context, kind)?
            .is_some_and(|claimed| key_matches(&claimed, kind, &self.key, &self.tag)))
    }
}

/// A change of ours waiting for its commit's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StagedItem {
    pub(crate) kind: MetadataKind,
    /// The transport id of the commit that carries its commitment.
    pub(crate) commit_id: String,
    pub(crate) item: Item,
}

/// Per conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MetadataRecord {
    #[serde(default)]
    pub(crate) subject: Option<Item>,
    #[serde(default)]
    pub(crate) icon: Option<Item>,
    #[serde(default)]
    pub(crate) staged: Option<StagedItem>,
}

impl MetadataRecord {
    pub(crate) fn item(&self, kind: MetadataKind) -> Option<&Item> {
        match kind {
            MetadataKind::Subject => self.subject.as_ref(),
            MetadataKind::Icon => self.icon.as_ref(),
        }
    }

    pub(crate) fn slot_mut(&mut self, kind: MetadataKind) -> &mut Option<Item> {
        match kind {
            MetadataKind::Subject => &mut self.subject,
            MetadataKind::Icon => &mut self.icon,
        }
    }
}

/// The key of a slot 3/4 FileInfo waiting for its descriptor, per
/// conversation and sending device.
pub(crate) fn pending_key(id: &ConversationId, number: &str, device: &str) -> Vec<u8> {
    key(&[PENDING, id.as_bytes(), number.as_bytes(), device.as_bytes()])
}

impl Device {
    pub(crate) fn metadata_record(
        &self,
        id: &ConversationId,
    ) -> Result<MetadataRecord, ClientError> {
        match self
            .staged
            .get(Table::GroupMetadata, &key(&[STATE, id.as_bytes()]))?
        {
            Some(bytes) => records::decode(&bytes),
            None => Ok(MetadataRecord::default()),
        }
    }

    pub(crate) fn put_metadata_record(
        &self,
        id: &ConversationId,
        record: &MetadataRecord,
    ) -> Result<(), ClientError> {
        self.staged.put(
            Table::GroupMetadata,
            key(&[STATE, id.as_bytes()]),
            records::encode(record)?,
        );
        Ok(())
    }

    /// GROUP-META-8: the subject and icon commitments of the current
    /// group, byte for byte, to carry into a new era (same values, same
    /// keys: members who held them keep showing them). Empty when the old
    /// group cannot be loaded.
    pub(crate) fn carried_metadata_commitments(
        &mut self,
        id: &ConversationId,
    ) -> Vec<mls_rs_core::extension::Extension> {
        let Ok(group) = self.group(id) else {
            return Vec::new();
        };
        MetadataKind::ALL
            .iter()
            .filter_map(|kind| {
                group
                    .context()
                    .extensions
                    .get(mls_rs_core::extension::ExtensionType::new(
                        kind.commitment_extension(),
                    ))
            })
            .collect()
    }

    /// GROUP-META-1: a commit of ours got its verdict (inside the
    /// operation that applies or discards it). `accepted` names the
    /// commit that was applied; a staged change of that commit becomes
    /// current, any other staged change is dropped (its commit was
    /// refused or lost the epoch).
    pub(crate) fn settle_staged_metadata(
        &mut self,
        id: &ConversationId,
        accepted: Option<&str>,
    ) -> Result<(), ClientError> {
        let mut record = self.metadata_record(id)?;
        let Some(staged) = record.staged.take() else {
            return Ok(());
        };
        if accepted == Some(staged.commit_id.as_str()) {
            let context = self.group(id)?.context().extensions.clone();
            if staged.item.is_current(&context, staged.kind)? {
                *record.slot_mut(staged.kind) = Some(staged.item);
            }
        }
        self.put_metadata_record(id, &record)
    }
}
