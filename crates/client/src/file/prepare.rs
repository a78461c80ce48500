//! The sending flow: encrypt → upload (the caller's HTTP) → the FileInfo
//! message(s), then the FT-HTTP descriptor, both inside MLS.

use std::io::{Read, Write};

use crosslock_wire::file_info::{FileEncryptionInfo, FileInfo, FileKey, FileMetadata, Slot};
use crosslock_wire::ft_http::{Descriptor, Download, FileEntry};

use super::UPLOAD_FILE_NAME;
use super::encrypt::encrypt_file;
use super::error::FileError;
use crate::device::Device;
use crate::env::Environment;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::send::{Content, Sent};

/// A file encrypted and ready to upload: its FileMetadata (name, type,
/// key, IV, tag, length) and the size of the ciphertext to upload.
///
/// `Debug` never shows the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedFile {
    metadata: FileMetadata,
    ciphertext_size: u64,
}

impl PreparedFile {
    /// The plaintext size.
    pub fn size(&self) -> u64 {
        self.metadata.encryption().length_hint.map_or(0, u64::from)
    }

    /// The size of the ciphertext to upload: `Padmé(size) + 8`.
    pub fn ciphertext_size(&self) -> u64 {
        self.ciphertext_size
    }

    /// The original file name (goes only inside MLS; also the HKDF info).
    pub fn name(&self) -> &str {
        self.metadata.file_name()
    }

    /// The media type of the plaintext (goes only inside MLS).
    pub fn media_type(&self) -> &str {
        self.metadata.content_type()
    }

    /// The name to give the upload: always [`UPLOAD_FILE_NAME`], so the
    /// content server never learns the real one (rcc16-deployed.md §2).
    pub fn upload_name(&self) -> &'static str {
        UPLOAD_FILE_NAME
    }

    /// What fills the FileInfo slot.
    pub fn metadata(&self) -> &FileMetadata {
        &self.metadata
    }

    /// The FileInfo for this file in `slot`.
    pub fn file_info(&self, slot: Slot) -> FileInfo {
        FileInfo::new(slot, self.metadata.clone())
    }
}

/// Encrypts `reader` into `writer` (the ciphertext to upload) under a fresh
/// key and IV from `env`'s random source, with `name` as the HKDF info
/// (Annex C.2), after checking that `name` and `media_type` are acceptable
/// in a FileMetadata.
pub fn prepare_file<R: Read, W: Write>(
    env: &Environment,
    reader: R,
    writer: W,
    name: &str,
    media_type: &str,
) -> Result<PreparedFile, FileError> {
    crosslock_wire::file_info::check_file_name(name)?;
    crosslock_wire::file_info::check_media_type(media_type)?;
    let key = FileKey::from_bytes(env.random());
    let encrypted = encrypt_file(reader, writer, &key, name.as_bytes(), env.random())?;
    let metadata = FileMetadata::new(
        name,
        media_type,
        FileEncryptionInfo {
            key,
            iv: encrypted.iv,
            tag: encrypted.tag,
            length_hint: Some(encrypted.size),
        },
    )?;
    Ok(PreparedFile {
        metadata,
        ciphertext_size: encrypted.ciphertext_size,
    })
}

/// Implements [`Device::send_file`].
pub(crate) fn send_file(
    device: &mut Device,
    id: &ConversationId,
    file: &PreparedFile,
    download: Download,
    thumbnail: Option<(&PreparedFile, Download)>,
) -> Result<Vec<Sent>, ClientError> {
    let descriptor = Descriptor::new(
        FileEntry::encrypted(file.ciphertext_size, download),
        thumbnail
            .as_ref()
            .map(|(t, d)| FileEntry::encrypted(t.ciphertext_size, d.clone())),
    )
    .map_err(FileError::from)?;
    let mut sent = vec![device.send(id, Content::FileInfo(file.file_info(Slot::File)))?];
    if let Some((t, _)) = thumbnail {
        sent.push(device.send(id, Content::FileInfo(t.file_info(Slot::Thumbnail)))?);
    }
    sent.push(device.send(id, Content::FileDescriptor(descriptor))?);
    Ok(sent)
}
