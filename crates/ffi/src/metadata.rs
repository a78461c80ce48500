//! The group's encrypted subject and icon (RCC.16 §9.7.1; the SDK's
//! `set_group_metadata` and `group_metadata`).

use crosslock_client::MetadataKind;

use crate::device::CrosslockDevice;
use crate::error::CrosslockError;
use crate::ids::conversation_id;

/// Which piece of a group's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum GroupMetadataKind {
    /// The group's subject (its name).
    Subject,
    /// The group's icon (an image of at most 1 MiB).
    Icon,
}

impl From<MetadataKind> for GroupMetadataKind {
    fn from(kind: MetadataKind) -> Self {
        match kind {
            MetadataKind::Subject => GroupMetadataKind::Subject,
            MetadataKind::Icon => GroupMetadataKind::Icon,
        }
    }
}

/// A group icon.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GroupIcon {
    /// Its media type (`image/png`, `image/jpeg`, …).
    pub media_type: String,
    /// The image.
    pub image: Vec<u8>,
}

/// What this device knows of a group's subject and icon.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GroupMetadata {
    /// The subject, when the group has one and this device could open it.
    pub subject: Option<String>,
    /// The icon, likewise.
    pub icon: Option<GroupIcon>,
    /// What the group has and this device cannot open yet (a member who
    /// joined after it was set): `group_metadata(…, request_keys = true)`
    /// asks the members for the keys.
    pub missing: Vec<GroupMetadataKind>,
    /// This device's request for the keys stands in the group.
    pub keys_requested: bool,
    /// This call asked the members for the keys (sync, then read again).
    pub asked_now: bool,
}

/// What setting a subject or icon did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct GroupMetadataSet {
    /// The epoch whose group context commits to the new value.
    pub epoch: u64,
    /// The ciphertext's size on the content server.
    pub stored_bytes: u64,
}

impl From<crosslock_sdk::metadata::MetadataSet> for GroupMetadataSet {
    fn from(set: crosslock_sdk::metadata::MetadataSet) -> Self {
        GroupMetadataSet {
            epoch: set.epoch,
            stored_bytes: set.stored_bytes as u64,
        }
    }
}

#[uniffi::export]
impl CrosslockDevice {
    /// Sets the group's subject: commits to it, uploads it encrypted and
    /// sends its key to the members inside MLS (the server sees neither).
    pub fn set_group_subject(
        &self,
        conversation: String,
        subject: String,
    ) -> Result<GroupMetadataSet, CrosslockError> {
        let id = conversation_id(&conversation)?;
        let set = self.core().call(|m| {
            Box::pin(async move {
                m.set_group_metadata(&id, MetadataKind::Subject, subject.as_bytes(), "text/plain")
                    .await
            })
        })?;
        Ok(set.into())
    }

    /// Sets the group's icon (`media_type` `image/…`, at most 1 MiB), as
    /// for the subject.
    pub fn set_group_icon(
        &self,
        conversation: String,
        image: Vec<u8>,
        media_type: String,
    ) -> Result<GroupMetadataSet, CrosslockError> {
        let id = conversation_id(&conversation)?;
        let set = self.core().call(|m| {
            Box::pin(async move {
                m.set_group_metadata(&id, MetadataKind::Icon, &image, &media_type)
                    .await
            })
        })?;
        Ok(set.into())
    }

    /// The group's subject and icon as this device knows them (an
    /// `Event.GroupMetadata` says when they change). `request_keys`: ask
    /// the members for the keys of what this device cannot open yet.
    pub fn group_metadata(
        &self,
        conversation: String,
        request_keys: bool,
    ) -> Result<GroupMetadata, CrosslockError> {
        let id = conversation_id(&conversation)?;
        let (state, asked_now) = self
            .core()
            .call(|m| Box::pin(async move { m.group_metadata(&id, request_keys).await }))?;
        Ok(GroupMetadata {
            subject: state.subject,
            icon: state
                .icon
                .map(|(media_type, image)| GroupIcon { media_type, image }),
            missing: state.missing.into_iter().map(Into::into).collect(),
            keys_requested: state.keys_requested,
            asked_now,
        })
    }
}
