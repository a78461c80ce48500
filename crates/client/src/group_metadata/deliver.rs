//! Key delivery: a FileInfo in slot 3/4, then the FT-HTTP descriptor of
//! the uploaded ciphertext (fact sheet §2), both as MLS application
//! messages; and their pairing on receipt (GROUP-META-3..5).
//!
//! Pairing: a slot 3/4 FileInfo is held per conversation and sending
//! device; the next FT-HTTP descriptor from that device pairs with it. A
//! chat attachment's FileInfo (slot 1/2) from the same device drops a held
//! one, so a descriptor always pairs with the latest FileInfo its sender
//! sent.

use crosslock_wire::content_type;
use crosslock_wire::file_info::FileInfo;
use crosslock_wire::ft_http::{self, Descriptor, Download, FileEntry};

use super::record::pending_key;
use super::{GroupMetadataError, MetadataKind, committed, key_matches, seal};
use crate::device::Device;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::receive::Sender;
use crate::send::{Content, Sent};
use crate::store::Table;

/// A received key delivery for the group subject or icon: where to
/// download its ciphertext. Download it, then call
/// [`Device::open_group_metadata`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataDownload {
    /// Subject or icon.
    pub kind: MetadataKind,
    /// The download URL and its expiry.
    pub download: Download,
    /// The ciphertext's size in bytes, as the descriptor declares it.
    pub ciphertext_size: u64,
}

fn content(e: impl std::fmt::Display) -> ClientError {
    ClientError::Content(e.to_string())
}

/// Implements [`Device::send_group_metadata_keys`].
pub(crate) fn send_group_metadata_keys(
    device: &mut Device,
    id: &ConversationId,
    kind: MetadataKind,
    url: &str,
    until: u64,
) -> Result<Vec<Sent>, ClientError> {
    device.active_record(id)?;
    let context = device.group(id)?.context().extensions.clone();
    let mut record = device.metadata_record(id)?;
    let item = match record.item(kind) {
        Some(item) if item.is_current(&context, kind)? => item.clone(),
        _ => return Err(GroupMetadataError::NoKey(kind).into()),
    };
    let info = seal::file_info(kind, &item)?;
    let download = Download {
        url: url.to_owned(),
        until,
    };
    let descriptor = descriptor(kind, &item, download)?;
    let first = device.send(id, Content::FileInfo(info))?;
    let mut updated = item;
    updated.download = Some((url.to_owned(), until));
    *record.slot_mut(kind) = Some(updated);
    let second = device.send_payload(
        id,
        Content::FileDescriptor(descriptor).payload(),
        None,
        None,
        |device| device.put_metadata_record(id, &record),
    )?;
    Ok(vec![first, second])
}

impl Device {
    /// What this device can re-send for a key request: the current keys it
    /// holds with a download URL that has not expired.
    pub(crate) fn resendable_metadata(
        &mut self,
        id: &ConversationId,
    ) -> Result<Vec<MetadataDownload>, ClientError> {
        let now = self.env.clock.now();
        let context = self.group(id)?.context().extensions.clone();
        let record = self.metadata_record(id)?;
        let mut found = Vec::new();
        for kind in MetadataKind::ALL {
            if let Some(item) = record.item(kind)
                && let Some((url, until)) = &item.download
                && *until > now
                && let Some(size) = seal::expected_size(item)
                && item.is_current(&context, kind)?
            {
                found.push(MetadataDownload {
                    kind,
                    download: Download {
                        url: url.clone(),
                        until: *until,
                    },
                    ciphertext_size: size,
                });
            }
        }
        Ok(found)
    }
}

/// The FT-HTTP descriptor of `item`'s uploaded ciphertext (fact sheet §2):
/// one `file` entry of `Padmé(length) + 8` bytes, `<file-name>` the
/// literal `encrypted_file`, `<content-type>` `message/mls-ft`, no
/// thumbnail.
pub(crate) fn descriptor(
    kind: MetadataKind,
    item: &super::record::Item,
    download: Download,
) -> Result<Descriptor, ClientError> {
    let size = seal::expected_size(item).ok_or(GroupMetadataError::NoKey(kind))?;
    Descriptor::new(FileEntry::encrypted(size, download), None)
        .map_err(|e| crate::file::FileError::from(e).into())
}

/// Called for every application message before it is stored. A slot 3/4
/// FileInfo is checked and held (returns `Some(vec![])`); a descriptor
/// that pairs with a held one returns `Some([its FileInfo])` and stages
/// the delivered key; anything else returns `None` (chat attachments, for
/// [`crate::file`]). Everything is staged with the message.
pub(crate) fn pair_metadata_on_receive(
    device: &mut Device,
    id: &ConversationId,
    sender: &Sender,
    media_type: &str,
    body: &[u8],
) -> Result<Option<Vec<Vec<u8>>>, ClientError> {
    let held = pending_key(id, sender.number.as_str(), &sender.device);
    if media_type == content_type::MLS_RCS_FILE_INFO {
        let info = FileInfo::decode(body).map_err(content)?;
        let Some(kind) = MetadataKind::of_slot(info.slot()) else {
            // A chat attachment: its descriptor is not ours.
            device.staged.delete(Table::GroupMetadata, held);
            return Ok(None);
        };
        // GROUP-META-4, then GROUP-META-3: the key must match the
        // commitment of the current GroupContext.
        let item = seal::item_of(kind, &info)?;
        let context = device.group(id)?.context().extensions.clone();
        let claimed = committed(&context, kind)?.ok_or(GroupMetadataError::NotCommitted(kind))?;
        if !key_matches(&claimed, kind, &item.key, &item.tag) {
            return Err(GroupMetadataError::CommitmentMismatch(kind).into());
        }
        check_same_value(&device.metadata_record(id)?, &context, kind, &item)?;
        device.staged.put(Table::GroupMetadata, held, body.to_vec());
        return Ok(Some(Vec::new()));
    }
    if media_type != ft_http::CONTENT_TYPE {
        return Ok(None);
    }
    let Some(info_bytes) = device.staged.get(Table::GroupMetadata, &held)? else {
        return Ok(None);
    };
    device.staged.delete(Table::GroupMetadata, held);
    let descriptor = Descriptor::decode(body).map_err(content)?;
    let found = metadata_download(&descriptor, std::slice::from_ref(&info_bytes))
        .ok_or_else(|| content("held key delivery is not for the group metadata"))??;
    let info = FileInfo::decode(&info_bytes).map_err(content)?;
    let mut item = seal::item_of(found.kind, &info)?;
    // GROUP-META-3 again: a commit may have changed the value between the
    // FileInfo and its descriptor; a stale key never replaces a current one.
    let context = device.group(id)?.context().extensions.clone();
    if !item.is_current(&context, found.kind)? {
        return Err(GroupMetadataError::CommitmentMismatch(found.kind).into());
    }
    item.download = Some((found.download.url.clone(), found.download.until));
    let mut record = device.metadata_record(id)?;
    check_same_value(&record, &context, found.kind, &item)?;
    let slot = record.slot_mut(found.kind);
    if let Some(old) = slot.as_ref()
        && old.key == item.key
        && old.tag == item.tag
    {
        // The same value delivered again: keep what was opened.
        item.value = old.value.clone();
    }
    *slot = Some(item);
    device.put_metadata_record(id, &record)?;
    Ok(Some(vec![info_bytes]))
}

/// GROUP-META-9: once this device holds a key for the current value, a
/// delivery must carry the same key material (key, IV, tag and length): a
/// v3.0 commitment binds `K` alone, so a member who knows `K` could seal
/// another value under it and replace the one shown, without a commit.
fn check_same_value(
    record: &super::record::MetadataRecord,
    context: &mls_rs::ExtensionList,
    kind: MetadataKind,
    item: &super::record::Item,
) -> Result<(), ClientError> {
    if let Some(old) = record.item(kind)
        && old.is_current(context, kind)?
    {
        let same = crate::receive::ct_eq(&old.key, &item.key)
            & crate::receive::ct_eq(&old.tag, &item.tag)
            & (old.iv == item.iv)
            & (old.length == item.length);
        if !same {
            return Err(GroupMetadataError::ConflictingDelivery(kind).into());
        }
    }
    Ok(())
}

/// The group-metadata download a descriptor paired with `paired` names,
/// or `None` when the pairing is a chat attachment's. GROUP-META-5: one
/// entry, no thumbnail, of the size `Padmé(length) + 8`.
pub(crate) fn metadata_download(
    descriptor: &Descriptor,
    paired: &[Vec<u8>],
) -> Option<Result<MetadataDownload, ClientError>> {
    let info = FileInfo::decode(paired.first()?).ok()?;
    let kind = MetadataKind::of_slot(info.slot())?;
    Some((|| {
        let item = seal::item_of(kind, &info)?;
        let size_ok = seal::expected_size(&item).is_none_or(|n| n == descriptor.file.size);
        if descriptor.thumbnail.is_some() || paired.len() != 1 || !size_ok {
            return Err(GroupMetadataError::DescriptorMismatch(kind).into());
        }
        Ok(MetadataDownload {
            kind,
            download: descriptor.file.download.clone(),
            ciphertext_size: descriptor.file.size,
        })
    })())
}
