//! Receiving a file: pairing the FT-HTTP descriptor with the FileInfo that
//! came before it (FILE-PAIR-1 … FILE-PAIR-3, docs/validation-rules.md).
//!
//! The pairing rule. The download URL is not in the FileInfo
//! (rcc16-deployed.md §2), so a sender sends the FileInfo (slot 1), the
//! thumbnail's FileInfo (slot 2) if any, then the descriptor, as separate
//! MLS application messages in the same conversation. A receiver keeps,
//! per conversation and per sending **device**, the latest unpaired
//! FileInfo of slot 1 and of slot 2 (a new slot-1 FileInfo drops an older
//! unpaired slot-2 one). A descriptor is paired with them:
//! - no unpaired slot-1 FileInfo from that device: refused,
//!   [`FileError::UnpairedDescriptor`] (FILE-PAIR-1);
//! - a descriptor thumbnail with no unpaired slot-2 FileInfo: refused
//!   (FILE-PAIR-2); an unpaired slot-2 FileInfo the descriptor does not
//!   use is dropped;
//! - each `file-size` must be `Padmé(file_length_hint) + 8` (FILE-PAIR-3;
//!   without a hint, at least 8 and at most the largest ciphertext).
//!
//! Pairing consumes them: the same FileInfo never pairs twice. All of it
//! is staged with the message, so a refused descriptor changes nothing.
//! Slots 3 and 4 (group subject and icon keys) are never paired.

use crosslock_wire::content_type;
use crosslock_wire::file_info::{FileInfo, FileMetadata, Slot};
use crosslock_wire::ft_http::{self, Descriptor, Download, FileEntry};

use super::error::FileError;
use super::{MAX_CIPHERTEXT_SIZE, TRAILER_LEN, ciphertext_size};
use crate::device::Device;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::receive::Sender;
use crate::store::{Table, key};

/// One received upload: what decrypts it and where to fetch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Name, media type, key, IV, tag and length
    /// (`DecryptParams::from(&attachment.metadata)`).
    pub metadata: FileMetadata,
    /// The download URL and its expiry.
    pub download: Download,
    /// The ciphertext's size in bytes, as the descriptor declares it.
    pub ciphertext_size: u64,
}

impl Attachment {
    /// Whether the download URL has expired at `now` (UNIX seconds).
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.download.until
    }
}

/// A received file (a descriptor paired with its FileInfo messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFile {
    /// The file.
    pub file: Attachment,
    /// Its preview, if the sender sent one.
    pub thumbnail: Option<Attachment>,
}

const PENDING: &[u8] = b"file-pending";

fn pending_key(id: &ConversationId, sender: &Sender, slot: Slot) -> Vec<u8> {
    key(&[
        PENDING,
        id.as_bytes(),
        sender.number.as_str().as_bytes(),
        sender.device.as_bytes(),
        &[slot.field() as u8],
    ])
}

fn content(e: impl std::fmt::Display) -> ClientError {
    ClientError::Content(e.to_string())
}

/// Called for every application message before it is stored: remembers a
/// slot-1/2 FileInfo, pairs a descriptor. Returns the FileInfo encodings a
/// descriptor was paired with (file, then thumbnail), to store with it.
pub(crate) fn pair_on_receive(
    device: &Device,
    id: &ConversationId,
    sender: &Sender,
    media_type: &str,
    body: &[u8],
) -> Result<Vec<Vec<u8>>, ClientError> {
    let staged = &device.staged;
    if media_type == content_type::MLS_RCS_FILE_INFO {
        // RCV-CONTENT-3: decoded strictly before anything is stored.
        let info = FileInfo::decode(body).map_err(content)?;
        match info.slot() {
            Slot::File => {
                staged.put(
                    Table::Device,
                    pending_key(id, sender, Slot::File),
                    body.to_vec(),
                );
                staged.delete(Table::Device, pending_key(id, sender, Slot::Thumbnail));
            }
            Slot::Thumbnail => {
                staged.put(
                    Table::Device,
                    pending_key(id, sender, Slot::Thumbnail),
                    body.to_vec(),
                );
            }
            Slot::Subject | Slot::Icon => {}
        }
        return Ok(Vec::new());
    }
    if media_type != ft_http::CONTENT_TYPE {
        return Ok(Vec::new());
    }
    let descriptor = Descriptor::decode(body).map_err(content)?;
    let take = |slot| -> Result<Option<Vec<u8>>, ClientError> {
        let k = pending_key(id, sender, slot);
        let v = staged.get(Table::Device, &k)?;
        staged.delete(Table::Device, k);
        Ok(v)
    };
    // FILE-PAIR-1.
    let file = take(Slot::File)?.ok_or(FileError::UnpairedDescriptor)?;
    let thumbnail = take(Slot::Thumbnail)?;
    let mut paired = vec![file];
    if descriptor.thumbnail.is_some() {
        // FILE-PAIR-2.
        paired.push(thumbnail.ok_or(FileError::DescriptorMismatch(
            "a thumbnail without its FileInfo",
        ))?);
    }
    received_file(&descriptor, &paired)?;
    Ok(paired)
}

/// Rebuilds a received file from its descriptor and paired FileInfos,
/// checking FILE-PAIR-3.
pub(crate) fn received_file(
    descriptor: &Descriptor,
    paired: &[Vec<u8>],
) -> Result<ReceivedFile, ClientError> {
    let attachment = |entry: &FileEntry, info: &[u8]| -> Result<Attachment, ClientError> {
        let metadata = FileInfo::decode(info).map_err(content)?.into_metadata();
        let size_ok = match metadata.encryption().length_hint {
            Some(hint) => ciphertext_size(u64::from(hint)) == Some(entry.size),
            None => (TRAILER_LEN as u64..=MAX_CIPHERTEXT_SIZE).contains(&entry.size),
        };
        if !size_ok {
            return Err(FileError::DescriptorMismatch("file-size is not Padmé(hint) + 8").into());
        }
        Ok(Attachment {
            metadata,
            download: entry.download.clone(),
            ciphertext_size: entry.size,
        })
    };
    let file = attachment(
        &descriptor.file,
        paired.first().ok_or(FileError::UnpairedDescriptor)?,
    )?;
    let thumbnail = match (&descriptor.thumbnail, paired.get(1)) {
        (Some(entry), Some(info)) => Some(attachment(entry, info)?),
        (None, None) => None,
        _ => {
            return Err(FileError::DescriptorMismatch("a thumbnail without its FileInfo").into());
        }
    };
    Ok(ReceivedFile { file, thumbnail })
}
