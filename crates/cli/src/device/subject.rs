//! `crosslock device group subject` and `group icon`: the encrypted group
//! subject and icon (RCC.16 §9.7.1, docs/client-core.md § Group subject
//! and icon), set and shown through the SDK.

use std::path::Path;

use crosslock_client::{ConversationId, MetadataKind};
use crosslock_sdk::Messenger;
use crosslock_sdk::files::media_type_of;
use crosslock_sdk::metadata::MAX_ICON_BYTES;
use serde_json::json;

use super::{Failure, Report};

/// Sets the subject: commit, upload, key delivery.
pub(crate) async fn set(
    dir: &mut Messenger,
    id: &ConversationId,
    subject: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    let done = dir
        .set_group_metadata(id, MetadataKind::Subject, subject.as_bytes(), "text/plain")
        .await?;
    report.set("conversation", json!(id.to_string()));
    report.set("epoch", json!(done.epoch));
    report.set("subject", json!(subject));
    report.line(format!(
        "subject of {id} set (epoch {}): the server holds {} encrypted bytes and a commitment; the key went inside MLS",
        done.epoch, done.stored_bytes
    ));
    Ok(())
}

/// Sets the icon from an image file: commit, upload, key delivery.
pub(crate) async fn set_icon(
    dir: &mut Messenger,
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
    let media_type = media_type_of(path);
    if !media_type.starts_with("image/") {
        return Err(Failure::input(format!(
            "{} is not an image this command knows (.jpg, .jpeg, .png, .gif, .heic)",
            path.display()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::input(format!("cannot read {}: {e}", path.display())))?;
    let done = dir
        .set_group_metadata(id, MetadataKind::Icon, &bytes, media_type)
        .await?;
    report.set("conversation", json!(id.to_string()));
    report.set("epoch", json!(done.epoch));
    report.set(
        "icon",
        json!({"media_type": media_type, "size": bytes.len()}),
    );
    report.line(format!(
        "icon of {id} set (epoch {}, {media_type}, {} bytes): the server holds {} encrypted bytes and a commitment; the key went inside MLS",
        done.epoch,
        bytes.len(),
        done.stored_bytes
    ));
    Ok(())
}

/// Shows the icon this device holds, saving it to `save` if given.
pub(crate) async fn show_icon(
    dir: &mut Messenger,
    id: &ConversationId,
    save: Option<&Path>,
    report: &mut Report,
) -> Result<(), Failure> {
    let (state, _) = dir.group_metadata(id, false).await?;
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

/// Shows what this device knows; with `request`, asks for missing keys.
pub(crate) async fn show(
    dir: &mut Messenger,
    id: &ConversationId,
    request: bool,
    report: &mut Report,
) -> Result<(), Failure> {
    let (state, asked) = dir.group_metadata(id, request).await?;
    if asked {
        report.line("asked the members for the group's keys; run `recv`, then this again");
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
