//! `crosslock device group subject` and `group icon`: the encrypted group
//! subject and icon (RCC.16 §9.7.1, docs/client-core.md § Group subject
//! and icon). Setting commits the commitment, uploads the ciphertext as
//! `encrypted_file` and sends the key inside MLS; receiving (in every inbox
//! sync) downloads and opens keys as they arrive, and re-sends ours when a
//! late member asks (0xF007).

use std::path::Path;

use crosslock_client::file::Download;
use crosslock_client::{ConversationId, MetadataDownload, MetadataKind};
use serde_json::json;

use super::state::DeviceDir;
use super::{Failure, Report};

/// The largest icon (GROUP-META-7); checked here too so a too-large file
/// is refused before anything is committed.
const MAX_ICON_BYTES: u64 = 1 << 20;

/// Sets the subject: commit, upload, key delivery.
pub(crate) async fn set(
    dir: &mut DeviceDir,
    id: &ConversationId,
    subject: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    let (epoch, stored) = set_value(
        dir,
        id,
        MetadataKind::Subject,
        subject.as_bytes(),
        "text/plain",
        report,
    )
    .await?;
    report.set("subject", json!(subject));
    report.line(format!(
        "subject of {id} set (epoch {epoch}): the server holds {stored} encrypted bytes and a commitment; the key went inside MLS"
    ));
    Ok(())
}

/// Sets the icon from an image file: commit, upload, key delivery.
pub(crate) async fn set_icon(
    dir: &mut DeviceDir,
    id: &ConversationId,
    path: &Path,
    report: &mut Report,
) -> Result<(), Failure> {
    let size = std::fs::metadata(path)
        .map_err(|e| Failure::input(format!("cannot read {}: {e}", path.display())))?
        .len();
    if size > MAX_ICON_BYTES {
        return Err(Failure::input(format!(
            "{} is {size} bytes; a group icon is at most {MAX_ICON_BYTES} bytes (1 MiB)",
            path.display()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::input(format!("cannot read {}: {e}", path.display())))?;
    let media_type = super::files::media_type_of(path);
    if !media_type.starts_with("image/") {
        return Err(Failure::input(format!(
            "{} is not an image this command knows (.jpg, .jpeg, .png, .gif, .heic)",
            path.display()
        )));
    }
    let (epoch, stored) =
        set_value(dir, id, MetadataKind::Icon, &bytes, media_type, report).await?;
    report.set(
        "icon",
        json!({"media_type": media_type, "size": bytes.len()}),
    );
    report.line(format!(
        "icon of {id} set (epoch {epoch}, {media_type}, {} bytes): the server holds {stored} encrypted bytes and a commitment; the key went inside MLS",
        bytes.len()
    ));
    Ok(())
}

/// Commits the value's commitment, uploads its ciphertext and sends its
/// key; returns the new epoch and the stored ciphertext's size.
async fn set_value(
    dir: &mut DeviceDir,
    id: &ConversationId,
    kind: MetadataKind,
    content: &[u8],
    content_type: &str,
    report: &mut Report,
) -> Result<(u64, usize), Failure> {
    super::convo::prove_members(dir, id, report).await?;
    let change = dir
        .device
        .set_group_metadata(id, kind, content, content_type)?;
    let epoch = super::convo::submit(dir, &change.commit).await?;
    let download = upload(dir, &change.ciphertext).await?;
    send_keys(dir, id, kind, &download).await?;
    report.set("conversation", json!(id.to_string()));
    report.set("epoch", json!(epoch));
    Ok((epoch, change.ciphertext.len()))
}

/// Shows the icon this device holds, saving it to `save` if given.
pub(crate) async fn show_icon(
    dir: &mut DeviceDir,
    id: &ConversationId,
    save: Option<&Path>,
    report: &mut Report,
) -> Result<(), Failure> {
    let state = dir.device.group_metadata(id)?;
    report.set("conversation", json!(id.to_string()));
    match &state.icon {
        Some((media_type, bytes)) => {
            report.set(
                "icon",
                json!({"media_type": media_type, "size": bytes.len()}),
            );
            if let Some(path) = save {
                std::fs::write(path, bytes)
                    .map_err(|e| Failure::input(format!("cannot write {}: {e}", path.display())))?;
                report.set("saved", json!(path.display().to_string()));
            }
            report.line(format!(
                "icon of {id}: {media_type}, {} bytes{}",
                bytes.len(),
                save.map(|p| format!(", saved to {}", p.display()))
                    .unwrap_or_default()
            ));
        }
        None => {
            let missing = state.missing.contains(&MetadataKind::Icon);
            report.set("icon", json!(null));
            report.line(if missing {
                format!("{id}: icon not readable yet; `group subject --request` asks the members for the keys")
            } else {
                format!("{id} has no icon")
            });
        }
    }
    Ok(())
}

/// Shows what this device knows; clears a key request once every value
/// is open (GROUP-META-6), or asks for the keys with `request`.
pub(crate) async fn show(
    dir: &mut DeviceDir,
    id: &ConversationId,
    request: bool,
    report: &mut Report,
) -> Result<(), Failure> {
    let mut state = dir.device.group_metadata(id)?;
    if request && !state.missing.is_empty() && !state.keys_requested {
        let pending = dir.device.request_group_metadata_keys(id)?;
        super::convo::submit(dir, &pending).await?;
        report.line("asked the members for the group's keys; run `recv`, then this again");
        state = dir.device.group_metadata(id)?;
    } else if state.keys_requested && state.missing.is_empty() {
        let pending = dir.device.clear_group_metadata_request(id)?;
        super::convo::submit(dir, &pending).await?;
        state = dir.device.group_metadata(id)?;
    }
    let missing: Vec<String> = state
        .missing
        .iter()
        .map(|k| format!("{k:?}").to_lowercase())
        .collect();
    match &state.subject {
        Some(subject) => report.line(format!("subject of {id}: {subject}")),
        None if missing.is_empty() => report.line(format!("{id} has no subject")),
        None => report.line(format!(
            "{id}: not readable yet ({}); `--request` asks the members for the keys",
            missing.join(", ")
        )),
    }
    report.set("conversation", json!(id.to_string()));
    report.set("subject", json!(state.subject));
    report.set("has_icon", json!(state.icon.is_some()));
    report.set("missing", json!(missing));
    report.set("keys_requested", json!(state.keys_requested));
    Ok(())
}

/// Sends the key of the current value of `kind` (FileInfo, then descriptor).
pub(crate) async fn send_keys(
    dir: &mut DeviceDir,
    id: &ConversationId,
    kind: MetadataKind,
    download: &Download,
) -> Result<(), Failure> {
    let sent = dir
        .device
        .send_group_metadata_keys(id, kind, &download.url, download.until)?;
    super::files::post_in_order(dir, sent).await
}

/// Downloads a delivered ciphertext (never more than announced) and opens it.
pub(crate) async fn open(
    dir: &mut DeviceDir,
    id: &ConversationId,
    delivered: &MetadataDownload,
) -> Result<(), Failure> {
    let url = delivered.download.url.as_str();
    let response = dir
        .api
        .http_for(url)?
        .get(url)
        .send()
        .await
        .map_err(|e| Failure::network(format!("download: {e}")))?;
    if !response.status().is_success() {
        return Err(Failure::refused(format!(
            "download: HTTP {} (expired or removed?)",
            response.status()
        )));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Failure::network(format!("download: {e}")))?;
    if bytes.len() as u64 != delivered.ciphertext_size {
        return Err(Failure::refused(
            "download: the ciphertext is not the announced size",
        ));
    }
    dir.device.open_group_metadata(id, delivered.kind, &bytes)?;
    Ok(())
}

/// Uploads a ciphertext held in memory as `encrypted_file`.
async fn upload(dir: &DeviceDir, ciphertext: &[u8]) -> Result<Download, Failure> {
    super::files::post_upload(dir, ciphertext.to_vec().into(), None).await
}
