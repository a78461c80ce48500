//! Setting the subject or icon: encrypt, commit the commitment, stage the
//! key material with the commit (GROUP-META-1).

use crosslock_wire::rcc16::extensions as ext;
use mls_rs_core::extension::{Extension, ExtensionType};

use super::record::StagedItem;
use super::{MetadataChange, MetadataKind, commitment_for, seal};
use crate::device::Device;
use crate::error::ClientError;
use crate::ids::ConversationId;

impl Device {
    /// Sets the group subject or icon to `content` (`content_type` its
    /// media type, e.g. `text/plain` or `image/jpeg`).
    ///
    /// Draws a fresh 32-byte content key and 12-byte IV from the device's
    /// random source, encrypts `content` with Annex C.2 (HKDF info
    /// `group_subject` / `group_icon`), and commits a GroupContextExtensions
    /// proposal that sets 0xF006 / 0xF004 to the framed Annex C.1
    /// commitment of this device's revision (v3.0 over the key, v4.0 over
    /// the tag), every other extension kept byte for byte. The key becomes
    /// current when the commit is accepted and is dropped if it is not.
    /// Then upload [`MetadataChange::ciphertext`] and call
    /// [`Device::send_group_metadata_keys`].
    pub fn set_group_metadata(
        &mut self,
        id: &ConversationId,
        kind: MetadataKind,
        content: &[u8],
        content_type: &str,
    ) -> Result<MetadataChange, ClientError> {
        self.active_record(id)?;
        let sealed = seal::seal(
            kind,
            content,
            content_type,
            self.env.random(),
            self.env.random(),
        )?;
        let digest = commitment_for(
            kind,
            self.config.revision,
            &sealed.item.key,
            &sealed.item.tag,
        );
        self.atomically(|device| {
            let mut extensions = device.group(id)?.context().extensions.clone();
            extensions.set(Extension::new(
                ExtensionType::new(kind.commitment_extension()),
                ext::encode_commitment(&digest),
            ));
            let commit = device.stage_commit(id, |b| b.set_group_context_ext(extensions))?;
            let mut record = device.metadata_record(id)?;
            record.staged = Some(StagedItem {
                kind,
                commit_id: commit.commit.message_id.clone(),
                item: sealed.item,
            });
            device.put_metadata_record(id, &record)?;
            Ok(MetadataChange {
                commit,
                ciphertext: sealed.ciphertext,
            })
        })
    }
}
