//! The FileInfo message (`message/mls-rcs-file-info`): the key container
//! a sender puts inside MLS so recipients can decrypt a file (RCC.16
//! §7.8.1, as deployed: rcc16-deployed.md §2).
//!
//! A protobuf, with exactly these messages and numbers:
//!
//! ```text
//! FileInfo           { FileMetadata file = 1; FileMetadata thumbnail = 2;
//!                      FileMetadata subject = 3; FileMetadata icon = 4; }
//! FileMetadata       { string file_name = 1; string content_type = 2;
//!                      FileEncryptionInfo encryption_info = 3; }
//! FileEncryptionInfo { bytes key_material = 1; bytes initialization_vector = 2;
//!                      bytes hmac_tag = 3; Algorithm algorithm = 4;
//!                      fixed32 file_length_hint = 5; }
//! Algorithm          { UNSPECIFIED = 0; AES256_CTR_HMAC_SHA256_256TAG = 1; }
//! ```
//!
//! **Sending** (what deployed clients write): fields in ascending order;
//! both strings always written (an empty one too); `algorithm` = 1 as
//! varint tag `0x20` (it would be omitted when 0, which we never send);
//! `file_length_hint` always written as fixed32, tag `0x2d`, 4 bytes
//! little-endian. One FileInfo fills **one** slot: a file with a preview
//! goes as two FileInfo messages (slot 1 and slot 2, each with its own
//! key).
//!
//! **Receiving** (FILE-PB-1 … FILE-PB-7, docs/validation-rules.md): fields
//! in any order; unknown fields skipped as protobuf says, at most 16 per
//! message; wrong wire types, group wire types, duplicate known fields,
//! non-minimal varints and input over [`MAX_FILE_INFO_BYTES`] refused; the
//! nesting is fixed at three levels and unknown nested messages are
//! skipped unparsed, so there is no recursion to exploit; `algorithm` other
//! than 1 refused (absent = 0 = refused); key 32, IV 12, tag 32 bytes; an
//! absent `file_length_hint` is accepted (the C.3 check is then skipped);
//! exactly one slot set; the file name passes [`check_file_name`] and a
//! non-empty content type [`check_media_type`].
//!
//! The download URL is **not** here: it travels in the RCS FT-HTTP
//! descriptor ([`crate::ft_http`]).

mod error;
mod fields;
mod key;
mod metadata;
mod proto;

pub use error::FileInfoError;
pub(crate) use fields::check_url;
pub use fields::{check_file_name, check_media_type};
pub use key::FileKey;
pub use metadata::{FileEncryptionInfo, FileMetadata, IV_LEN, TAG_LEN};

use proto::{Reader, WireType};

/// The largest encoded FileInfo accepted, in bytes. One at every bound
/// (255-byte name, 127-byte type) is under 520 bytes; the rest is room for
/// unknown fields.
pub const MAX_FILE_INFO_BYTES: usize = 2048;
/// The longest download URL, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// The longest file name, in bytes of UTF-8 (the common file-system limit).
pub const MAX_NAME_BYTES: usize = 255;
/// The longest media type, in bytes (RFC 6838 §4.2 bounds each half at 127).
pub const MAX_MEDIA_TYPE_BYTES: usize = 127;

/// Which FileInfo field a FileMetadata fills (rcc16-deployed.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// 1: a chat attachment.
    File,
    /// 2: the preview of a chat attachment.
    Thumbnail,
    /// 3: the encrypted group subject (`file_name` `group_subject`).
    Subject,
    /// 4: the encrypted group icon (`file_name` `group_icon`).
    Icon,
}

impl Slot {
    /// The protobuf field number.
    pub fn field(self) -> u64 {
        match self {
            Slot::File => 1,
            Slot::Thumbnail => 2,
            Slot::Subject => 3,
            Slot::Icon => 4,
        }
    }

    fn from_field(n: u64) -> Option<Slot> {
        Some(match n {
            1 => Slot::File,
            2 => Slot::Thumbnail,
            3 => Slot::Subject,
            4 => Slot::Icon,
            _ => return None,
        })
    }
}

/// A checked FileInfo: one slot, filled with one FileMetadata.
///
/// `Debug` shows everything but the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    slot: Slot,
    metadata: FileMetadata,
}

impl FileInfo {
    /// A FileInfo filling `slot`.
    pub fn new(slot: Slot, metadata: FileMetadata) -> FileInfo {
        FileInfo { slot, metadata }
    }

    /// The slot it fills.
    pub fn slot(&self) -> Slot {
        self.slot
    }

    /// What it holds.
    pub fn metadata(&self) -> &FileMetadata {
        &self.metadata
    }

    /// Its FileMetadata, owned.
    pub fn into_metadata(self) -> FileMetadata {
        self.metadata
    }

    /// The protobuf encoding, exactly as deployed clients write it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        proto::put_bytes(&mut out, self.slot.field(), &self.metadata.encode());
        out
    }

    /// Decodes and checks a FileInfo from untrusted bytes (FILE-PB-1 to
    /// FILE-PB-7, docs/validation-rules.md).
    pub fn decode(bytes: &[u8]) -> Result<FileInfo, FileInfoError> {
        if bytes.len() > MAX_FILE_INFO_BYTES {
            return Err(FileInfoError::TooLarge);
        }
        let mut r = Reader::new(bytes);
        let mut seen = Fields::default();
        let mut found: Option<(Slot, &[u8])> = None;
        let mut slots = 0;
        while let Some((n, wire)) = r.field()? {
            match Slot::from_field(n) {
                Some(slot) => {
                    seen.known(n, wire, WireType::Len)?;
                    slots += 1;
                    found = Some((slot, r.len_delimited()?));
                }
                None => seen.unknown(&mut r, wire)?,
            }
        }
        match (slots, found) {
            (1, Some((slot, body))) => Ok(FileInfo {
                slot,
                metadata: FileMetadata::decode(body)?,
            }),
            (n, _) => Err(FileInfoError::Slots(n)),
        }
    }
}

/// Bookkeeping of one message's fields while decoding: duplicates, wire
/// types and the unknown-field budget.
#[derive(Default)]
pub(crate) struct Fields {
    seen: u32,
    unknown: usize,
}

impl Fields {
    /// FILE-PB-3: a known field `n` (1..=31) must have its declared wire
    /// type and appear once.
    pub(crate) fn known(
        &mut self,
        n: u64,
        wire: WireType,
        expected: WireType,
    ) -> Result<(), FileInfoError> {
        if wire != expected {
            return Err(FileInfoError::WrongWireType(n));
        }
        let bit = 1u32 << n;
        if self.seen & bit != 0 {
            return Err(FileInfoError::DuplicateField(n));
        }
        self.seen |= bit;
        Ok(())
    }

    /// FILE-PB-4: skips an unknown field, at most
    /// [`proto::MAX_UNKNOWN_FIELDS`] per message.
    pub(crate) fn unknown(
        &mut self,
        r: &mut Reader<'_>,
        wire: WireType,
    ) -> Result<(), FileInfoError> {
        self.unknown += 1;
        if self.unknown > proto::MAX_UNKNOWN_FIELDS {
            return Err(FileInfoError::TooLarge);
        }
        r.skip(wire)
    }
}

#[cfg(test)]
mod tests;
