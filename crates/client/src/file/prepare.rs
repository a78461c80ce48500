//! The sending flow: encrypt → upload (the caller's HTTP) → FileInfo →
//! send it inside MLS.

use std::io::{Read, Write};

use crosslock_wire::file_info::{
    FileInfo, FileInfoError, FileInfoFields, FileKey, check_file_name, check_media_type,
};

use super::encrypt::encrypt_file;
use super::error::FileError;
use super::{UPLOAD_FILE_NAME, check_info};
use crate::device::Device;
use crate::env::Environment;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::send::{Content, Sent};

/// A file encrypted and ready to upload: everything its FileInfo needs but
/// the download URL and its expiry, which the content server gives back.
///
/// `Debug` never shows the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedFile {
    key: FileKey,
    size: u64,
    encrypted_size: u64,
    media_type: String,
    name: String,
}

impl PreparedFile {
    /// The plaintext size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The size of the blob to upload.
    pub fn encrypted_size(&self) -> u64 {
        self.encrypted_size
    }

    /// The original file name (goes only inside MLS).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The media type of the plaintext (goes only inside MLS).
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// The name to give the upload: always [`UPLOAD_FILE_NAME`], so the
    /// content server never learns the real one (RCC.16 file transfer).
    pub fn upload_name(&self) -> &'static str {
        UPLOAD_FILE_NAME
    }

    /// The FileInfo for this file, once uploaded to `url`, valid until
    /// `expires` (UNIX seconds).
    pub fn into_file_info(
        self,
        url: impl Into<String>,
        expires: u64,
    ) -> Result<FileInfo, FileInfoError> {
        FileInfo::new(FileInfoFields {
            url: url.into(),
            key: self.key,
            size: self.size,
            encrypted_size: self.encrypted_size,
            media_type: self.media_type,
            name: self.name,
            expires,
        })
    }
}

/// Encrypts `reader` into `writer` (the blob to upload) under a fresh key
/// and IV from `env`'s random source, after checking that `name` and
/// `media_type` are acceptable in a FileInfo.
pub fn prepare_file<R: Read, W: Write>(
    env: &Environment,
    reader: R,
    writer: W,
    name: &str,
    media_type: &str,
) -> Result<PreparedFile, FileError> {
    check_file_name(name)?;
    check_media_type(media_type)?;
    let key = FileKey::from_bytes(env.random());
    let encrypted = encrypt_file(reader, writer, &key, env.random())?;
    Ok(PreparedFile {
        key,
        size: encrypted.size,
        encrypted_size: encrypted.encrypted_size,
        media_type: media_type.to_owned(),
        name: name.to_owned(),
    })
}

impl Device {
    /// [`prepare_file`] with this device's random source.
    pub fn prepare_file<R: Read, W: Write>(
        &self,
        reader: R,
        writer: W,
        name: &str,
        media_type: &str,
    ) -> Result<PreparedFile, ClientError> {
        Ok(prepare_file(&self.env, reader, writer, name, media_type)?)
    }

    /// Sends a FileInfo inside MLS (`message/mls-rcs-file-info`): the
    /// recipients learn where the file is and its key; the servers learn
    /// nothing. Refused if its sizes do not fit the format.
    pub fn send_file_info(
        &mut self,
        id: &ConversationId,
        info: FileInfo,
    ) -> Result<Sent, ClientError> {
        check_info(&info)?;
        self.send(id, Content::FileInfo(info))
    }
}
