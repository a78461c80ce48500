//! The encrypted group subject and icon (RCC.16 §9.7.1, docs/client-core.md
//! § Group subject and icon). Setting commits the commitment, uploads the
//! ciphertext as `encrypted_file` and sends the key inside MLS; receiving
//! downloads and opens keys as they arrive, and re-sends ours when a late
//! member asks (0xF007).

use crosslock_client::file::Download;
use crosslock_client::{ConversationId, GroupMetadata, MetadataDownload, MetadataKind};

use crate::error::SdkError;
use crate::messenger::Messenger;
use crate::{conversations, files};

/// The largest icon (GROUP-META-7); checked here too so a too-large file
/// is refused before anything is committed.
pub const MAX_ICON_BYTES: u64 = 1 << 20;

/// What setting a subject or icon did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetadataSet {
    /// The epoch whose context carries the new commitment.
    pub epoch: u64,
    /// The ciphertext's size on the content server.
    pub stored_bytes: usize,
}

/// Commits the value's commitment, uploads its ciphertext and sends its key.
pub(crate) async fn set(
    m: &mut Messenger,
    id: &ConversationId,
    kind: MetadataKind,
    content: &[u8],
    content_type: &str,
) -> Result<MetadataSet, SdkError> {
    if kind == MetadataKind::Icon {
        if content.len() as u64 > MAX_ICON_BYTES {
            return Err(SdkError::input(format!(
                "the icon is {} bytes; a group icon is at most {MAX_ICON_BYTES} bytes (1 MiB)",
                content.len()
            )));
        }
        if !content_type.starts_with("image/") {
            return Err(SdkError::input(format!(
                "a group icon is an image, not {content_type}"
            )));
        }
    }
    conversations::prove_members(m, id).await?;
    let change = m
        .device
        .set_group_metadata(id, kind, content, content_type)?;
    let epoch = conversations::submit(m, &change.commit).await?;
    let download = files::post_upload(m, change.ciphertext.clone().into(), None).await?;
    send_keys(m, id, kind, &download).await?;
    Ok(MetadataSet {
        epoch,
        stored_bytes: change.ciphertext.len(),
    })
}

/// What this device knows of the group's subject and icon; with
/// `request`, asks the members for keys it lacks; clears its request once
/// every value is open (GROUP-META-6).
pub(crate) async fn show(
    m: &mut Messenger,
    id: &ConversationId,
    request: bool,
) -> Result<(GroupMetadata, bool), SdkError> {
    let state = m.device.group_metadata(id)?;
    if request && !state.missing.is_empty() && !state.keys_requested {
        let pending = m.device.request_group_metadata_keys(id)?;
        conversations::submit(m, &pending).await?;
        return Ok((m.device.group_metadata(id)?, true));
    }
    if state.keys_requested && state.missing.is_empty() {
        let pending = m.device.clear_group_metadata_request(id)?;
        conversations::submit(m, &pending).await?;
        return Ok((m.device.group_metadata(id)?, false));
    }
    Ok((state, false))
}

/// Sends the key of the current value of `kind` (FileInfo, then descriptor).
pub(crate) async fn send_keys(
    m: &mut Messenger,
    id: &ConversationId,
    kind: MetadataKind,
    download: &Download,
) -> Result<(), SdkError> {
    let sent = m
        .device
        .send_group_metadata_keys(id, kind, &download.url, download.until)?;
    files::post_in_order(m, sent).await
}

/// Downloads a delivered ciphertext (never more than announced) and opens it.
pub(crate) async fn open(
    m: &mut Messenger,
    id: &ConversationId,
    delivered: &MetadataDownload,
) -> Result<(), SdkError> {
    let mut response = m.api.download(&delivered.download.url).await?;
    // Never more than announced, whatever the server says (or does not
    // say) of the length.
    let limit = delivered.ciphertext_size;
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| SdkError::network(format!("download: {e}")))?
    {
        if bytes.len() as u64 + chunk.len() as u64 > limit {
            return Err(SdkError::refused(
                "download: the ciphertext is larger than announced",
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.len() as u64 != limit {
        return Err(SdkError::refused(
            "download: the ciphertext is not the announced size",
        ));
    }
    m.device.open_group_metadata(id, delivered.kind, &bytes)?;
    Ok(())
}
