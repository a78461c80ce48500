//! The encrypted group subject and icon (RCC.16 §9.7.1; fact sheet §1,
//! §2, §4): keys, commitments, key delivery and key recovery.
//!
//! # The flow
//!
//! 1. **Set** ([`Device::set_group_metadata`]): a fresh 32-byte content key
//!    `K` and 12-byte IV from the device's random source; the value is
//!    encrypted with Annex C.2 under the HKDF info `group_subject` /
//!    `group_icon`; one commit (a GroupContextExtensions proposal that
//!    keeps every other extension byte for byte) sets 0xF006
//!    subject_commitment / 0xF004 icon_commitment, framed (`20 ‖ digest`),
//!    computed per the device's RCC.16 revision: v3.0 over `K` (labels
//!    `subject_commitment` / `icon_commitment`), v4.0 over the `hmac_tag`
//!    (labels `group_subject` / `group_icon`). The key material is staged
//!    with the pending commit: it becomes current on
//!    [`Device::commit_accepted`] (or when the server echoes the commit) and
//!    is dropped on [`Device::commit_rejected`] or when another commit wins
//!    the epoch (GROUP-META-1).
//! 2. **Deliver** ([`Device::send_group_metadata_keys`]): after uploading
//!    the ciphertext like a file, the app has the device send a FileInfo in
//!    slot 3 (subject) / 4 (icon) with `file_name` `group_subject` /
//!    `group_icon` (`message/mls-rcs-file-info`), then the FT-HTTP
//!    descriptor (`<file-name>encrypted_file`, `<content-type>message/mls-ft`).
//!    The device remembers the URL to re-send on request.
//! 3. **Receive**: a slot 3/4 FileInfo is checked (`file_name`, the key
//!    against the commitment of the current GroupContext) and held for its
//!    sender; the descriptor that follows from the same device pairs with
//!    it and comes out as [`crate::ReceivedContent::GroupMetadata`]. The app
//!    downloads and calls [`Device::open_group_metadata`], which checks the
//!    key against the current commitment again (a stale key is refused),
//!    decrypts with the Annex C.3 checks and stores the value;
//!    [`Device::group_metadata`] shows what is current.
//! 4. **Recover** (0xF007): a device that holds no key matching a
//!    committed 0xF004/0xF006 (typically a late joiner) commits
//!    `group_metadata_keys_requested` ([`Device::request_group_metadata_keys`]);
//!    a member that processes that commit and holds the keys is told in
//!    [`crate::CommitEvent::metadata_keys_requested`] and re-sends them with
//!    [`Device::send_group_metadata_keys`]. **The clearing rule**
//!    (GROUP-META-6): the flag is cleared only by an explicit commit,
//!    [`Device::clear_group_metadata_request`], which a device may make only
//!    when it holds and has opened a key matching every committed
//!    commitment; the requester calls it once [`GroupMetadata::missing`] is
//!    empty and [`GroupMetadata::keys_requested`] is set.
//!
//! # Welcome-only keys 0xF003 / 0xF005
//!
//! mls-rs 0.57 can put extensions in the Welcome's GroupInfo only
//! (`CommitBuilder::set_group_info_ext`; the GroupInfo the delivery service
//! gets carries only the external public key and the ratchet tree). We
//! still do **not** send them: a key alone opens nothing (the IV, the tag
//! and the download URL travel only in the FileInfo and the descriptor),
//! so a joiner needs the key delivery of step 2 anyway, and every extra
//! copy of `K` is one more place it can leak (LineageOS's copy of 0xF003
//! in the GroupContext reaches the server). Joining does not read the
//! Welcome's GroupInfo extensions, so a peer's Welcome that carries them
//! is joined like any other and they are not used (`welcome_tests.rs`
//! builds one with `set_group_info_ext` and checks that the server's
//! GroupInfo carries neither key). 0xF003/0xF005 found in a GroupContext (as LineageOS
//! commits them) are checked by MLS-CTX-1 and mirrored byte for byte.

mod deliver;
mod open;
mod record;
mod request;
mod seal;
mod set;

pub use deliver::MetadataDownload;
pub(crate) use deliver::send_group_metadata_keys;
pub(crate) use deliver::{metadata_download, pair_metadata_on_receive};
pub(crate) use open::{group_metadata, open_group_metadata};
pub(crate) use request::{clear_group_metadata_request, request_group_metadata_keys};
pub(crate) use set::set_group_metadata;

use crosslock_wire::file_info::Slot;
use crosslock_wire::rcc16::Revision;
use crosslock_wire::rcc16::commitment::{self, Subject};
use crosslock_wire::rcc16::extensions::{self as ext, ExtensionError};
use mls_rs::ExtensionList;
use mls_rs_core::extension::ExtensionType;
use serde::{Deserialize, Serialize};

use crate::outbound::PendingCommit;

/// The largest group subject, in bytes of UTF-8.
pub const MAX_SUBJECT_BYTES: usize = 1024;
/// The largest group icon, in bytes.
pub const MAX_ICON_BYTES: usize = 1 << 20;

/// Which piece of group metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MetadataKind {
    /// The group subject (0xF006; FileInfo slot 3; `group_subject`).
    Subject,
    /// The group icon (0xF004; FileInfo slot 4; `group_icon`).
    Icon,
}

impl MetadataKind {
    /// Both kinds.
    pub const ALL: [MetadataKind; 2] = [MetadataKind::Subject, MetadataKind::Icon];

    /// The FileMetadata `file_name`, which is also the Annex C.2 HKDF info
    /// (RCC.16 §9.7.1.4 / §9.7.1.5; fact sheet §1, §2).
    pub fn file_name(self) -> &'static str {
        match self {
            MetadataKind::Subject => "group_subject",
            MetadataKind::Icon => "group_icon",
        }
    }

    /// The FileInfo slot that carries its key (fact sheet §2).
    pub fn slot(self) -> Slot {
        match self {
            MetadataKind::Subject => Slot::Subject,
            MetadataKind::Icon => Slot::Icon,
        }
    }

    /// The kind a FileInfo slot carries, if any.
    pub fn of_slot(slot: Slot) -> Option<MetadataKind> {
        match slot {
            Slot::Subject => Some(MetadataKind::Subject),
            Slot::Icon => Some(MetadataKind::Icon),
            Slot::File | Slot::Thumbnail => None,
        }
    }

    /// The GroupContext extension holding its commitment (fact sheet §4).
    pub fn commitment_extension(self) -> u16 {
        match self {
            MetadataKind::Subject => ext::SUBJECT_COMMITMENT,
            MetadataKind::Icon => ext::ICON_COMMITMENT,
        }
    }

    fn what(self) -> Subject {
        match self {
            MetadataKind::Subject => Subject::Subject,
            MetadataKind::Icon => Subject::Icon,
        }
    }

    fn max_bytes(self) -> usize {
        match self {
            MetadataKind::Subject => MAX_SUBJECT_BYTES,
            MetadataKind::Icon => MAX_ICON_BYTES,
        }
    }
}

/// A subject or icon change: the commit to send, and the ciphertext to
/// upload to the content server once the commit is accepted (then
/// [`Device::send_group_metadata_keys`](crate::Device::send_group_metadata_keys)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataChange {
    /// The commit setting the new commitment.
    pub commit: PendingCommit,
    /// The Annex C.2 ciphertext (the whole upload).
    pub ciphertext: Vec<u8>,
}

/// What this device knows of a conversation's subject and icon: only
/// values whose key matches the commitment of the current GroupContext.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupMetadata {
    /// The subject.
    pub subject: Option<String>,
    /// The icon: its media type and bytes.
    pub icon: Option<(String, Vec<u8>)>,
    /// Committed kinds this device has not opened (no matching key yet, or
    /// not downloaded yet).
    pub missing: Vec<MetadataKind>,
    /// Whether 0xF007 `group_metadata_keys_requested` is set.
    pub keys_requested: bool,
}

/// Why a group subject or icon operation was refused. Nothing was stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GroupMetadataError {
    /// The current GroupContext commits to no value of this kind.
    #[error("the group has no {0:?} commitment")]
    NotCommitted(MetadataKind),
    /// GROUP-META-2/3: the key does not match the commitment in the current
    /// GroupContext (forged, or the key of an older value).
    #[error("the {0:?} key does not match the group's commitment")]
    CommitmentMismatch(MetadataKind),
    /// This device holds no key for the current value of this kind.
    #[error("no key for the group's current {0:?}")]
    NoKey(MetadataKind),
    /// GROUP-META-9: this device holds a key for the current value, and a
    /// delivery names another IV, tag or length (under a v3.0 commitment,
    /// which covers `K` only, a member who knows `K` could otherwise
    /// replace the value without a commit).
    #[error("a {0:?} key delivery differs from the current value's key material")]
    ConflictingDelivery(MetadataKind),
    /// GROUP-META-4: a FileInfo in slot 3/4 must name the slot's HKDF info.
    #[error("a {kind:?} key delivery must have file_name {expected:?}")]
    WrongFileName {
        /// The slot's kind.
        kind: MetadataKind,
        /// What the name must be.
        expected: &'static str,
    },
    /// GROUP-META-5: the descriptor after a key delivery does not describe
    /// its ciphertext (size, or a thumbnail).
    #[error("the {0:?} download does not match its key delivery")]
    DescriptorMismatch(MetadataKind),
    /// The value is larger than this kind allows.
    #[error("{kind:?} is {len} bytes; at most {max}")]
    TooLarge {
        /// The kind.
        kind: MetadataKind,
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A subject must be UTF-8 text.
    #[error("the group subject is not UTF-8 text")]
    SubjectNotText,
    /// A commitment or flag in the GroupContext does not decode.
    #[error("group context: {0}")]
    Extension(#[from] ExtensionError),
    /// Every committed key is held already: nothing to request.
    #[error("every committed group metadata key is held already")]
    NothingToRequest,
    /// 0xF007 is already set.
    #[error("group metadata keys are already requested")]
    AlreadyRequested,
    /// 0xF007 is not set.
    #[error("group metadata keys are not requested")]
    NotRequested,
    /// GROUP-META-6: 0xF007 is cleared only once every committed key is
    /// held and opened.
    #[error("keys still missing: {0:?}")]
    KeysMissing(Vec<MetadataKind>),
}

/// The commitment of `kind` in `context`, decoded (framed or bare).
pub(crate) fn committed(
    context: &ExtensionList,
    kind: MetadataKind,
) -> Result<Option<Vec<u8>>, GroupMetadataError> {
    let code = kind.commitment_extension();
    context
        .get(ExtensionType::new(code))
        .map(|e| ext::decode_commitment(code, &e.extension_data))
        .transpose()
        .map_err(Into::into)
}

/// GROUP-META-2: whether `claimed` commits to this key, under either
/// revision (fact sheet §4: v3.0 over `K`, v4.0 over the `hmac_tag`; the
/// labels differ, so one digest cannot satisfy both). Both are computed
/// and compared in constant time.
pub(crate) fn key_matches(
    claimed: &[u8],
    kind: MetadataKind,
    key: &[u8; 32],
    tag: &[u8; 32],
) -> bool {
    let v3 = commitment::verify(claimed, kind.what(), Revision::V3_0, key);
    let v4 = commitment::verify(claimed, kind.what(), Revision::V4_0, tag);
    v3 | v4
}

/// The commitment this device writes under `revision`.
pub(crate) fn commitment_for(
    kind: MetadataKind,
    revision: Revision,
    key: &[u8; 32],
    tag: &[u8; 32],
) -> [u8; 32] {
    let value: &[u8] = match revision {
        Revision::V3_0 => key,
        Revision::V4_0 => tag,
    };
    commitment::commitment(kind.what(), revision, value)
}

/// Whether 0xF007 is set in `context`.
pub(crate) fn keys_requested(context: &ExtensionList) -> bool {
    context.has_extension(ExtensionType::new(ext::METADATA_KEYS_REQUESTED))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod welcome_tests;
