//! Annex C.2 for the subject and icon (HKDF info `group_subject` /
//! `group_icon`, fact sheet §1) and their FileInfo slot 3/4 (§2).

use crosslock_wire::file_info::{FileEncryptionInfo, FileInfo, FileKey, FileMetadata};

use super::record::Item;
use super::{GroupMetadataError, MetadataKind};
use crate::error::ClientError;
use crate::file::{DecryptParams, FileError, ciphertext_size, decrypt_bytes, encrypt_bytes};
use crate::records::serde_bytes_vec::Bytes;

/// A value encrypted for upload, and its key material.
pub(crate) struct Sealed {
    pub(crate) ciphertext: Vec<u8>,
    pub(crate) item: Item,
}

fn check_value(kind: MetadataKind, value: &[u8]) -> Result<(), GroupMetadataError> {
    if value.len() > kind.max_bytes() {
        return Err(GroupMetadataError::TooLarge {
            kind,
            len: value.len(),
            max: kind.max_bytes(),
        });
    }
    if kind == MetadataKind::Subject && std::str::from_utf8(value).is_err() {
        return Err(GroupMetadataError::SubjectNotText);
    }
    Ok(())
}

/// Encrypts `value` under a fresh `key` and `iv` (Annex C.2 with the
/// kind's HKDF info).
pub(crate) fn seal(
    kind: MetadataKind,
    value: &[u8],
    content_type: &str,
    key: [u8; 32],
    iv: [u8; 12],
) -> Result<Sealed, ClientError> {
    check_value(kind, value)?;
    let (ciphertext, encrypted) = encrypt_bytes(
        value,
        &FileKey::from_bytes(key),
        kind.file_name().as_bytes(),
        iv,
    )?;
    let item = Item {
        key,
        iv,
        tag: encrypted.tag,
        length: Some(encrypted.size),
        content_type: content_type.to_owned(),
        download: None,
        value: Some(Bytes(value.to_vec())),
    };
    // The media type must be one a FileInfo can carry.
    file_info(kind, &item)?;
    Ok(Sealed { ciphertext, item })
}

/// The FileInfo that delivers `item`'s key: slot 3 or 4, `file_name`
/// `group_subject` / `group_icon` (fact sheet §2).
pub(crate) fn file_info(kind: MetadataKind, item: &Item) -> Result<FileInfo, ClientError> {
    let encryption = FileEncryptionInfo {
        key: FileKey::from_bytes(item.key),
        iv: item.iv,
        tag: item.tag,
        length_hint: item.length,
    };
    let metadata = FileMetadata::new(kind.file_name(), item.content_type.clone(), encryption)
        .map_err(FileError::from)?;
    Ok(FileInfo::new(kind.slot(), metadata))
}

/// The key material of a received slot 3/4 FileInfo (GROUP-META-4: its
/// `file_name` must be the slot's HKDF info).
pub(crate) fn item_of(kind: MetadataKind, info: &FileInfo) -> Result<Item, GroupMetadataError> {
    let metadata = info.metadata();
    if metadata.file_name() != kind.file_name() {
        return Err(GroupMetadataError::WrongFileName {
            kind,
            expected: kind.file_name(),
        });
    }
    let encryption = metadata.encryption();
    Ok(Item {
        key: *encryption.key.as_bytes(),
        iv: encryption.iv,
        tag: encryption.tag,
        length: encryption.length_hint,
        content_type: metadata.content_type().to_owned(),
        download: None,
        value: None,
    })
}

/// The ciphertext size of `item`'s value, when its length is known.
pub(crate) fn expected_size(item: &Item) -> Option<u64> {
    item.length.and_then(|n| ciphertext_size(u64::from(n)))
}

/// Decrypts a downloaded ciphertext with `item`'s key (Annex C.3 checks,
/// in [`crate::file::decrypt_file`]), bounded by the kind's maximum.
pub(crate) fn open(
    kind: MetadataKind,
    item: &Item,
    ciphertext: &[u8],
) -> Result<Vec<u8>, ClientError> {
    let max = ciphertext_size(kind.max_bytes() as u64).unwrap_or(0);
    if ciphertext.len() as u64 > max {
        return Err(GroupMetadataError::TooLarge {
            kind,
            len: ciphertext.len(),
            max: kind.max_bytes(),
        }
        .into());
    }
    let key = FileKey::from_bytes(item.key);
    let value = decrypt_bytes(
        ciphertext,
        DecryptParams {
            key: &key,
            info: kind.file_name().as_bytes(),
            iv: &item.iv,
            tag: &item.tag,
            length_hint: item.length,
        },
    )?;
    check_value(kind, &value)?;
    Ok(value)
}
