//! `crosslock device file`: the SDK encrypts on the device (RCC.16 Annex
//! C.2), uploads the ciphertext as `encrypted_file` and sends the FileInfo
//! and then the FT-HTTP descriptor inside MLS; `recv` fetches,
//! authenticates and decrypts. A progress bar shows on a terminal.

use std::path::Path;
use std::sync::Mutex;

use crosslock_client::ConversationId;
use crosslock_client::file::UPLOAD_FILE_NAME;
use crosslock_sdk::files::Uploaded;
use crosslock_sdk::{Messenger, Progress, Stage};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::{Failure, Report};

/// Progress bars on stderr, one per stage; hidden when stderr is not a
/// terminal (scripts, --json, tests).
#[derive(Default)]
pub(crate) struct Bars(Mutex<Option<(Stage, ProgressBar)>>);

impl Progress for Bars {
    fn progress(&self, stage: Stage, done: u64, total: u64) {
        let mut current = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if current.as_ref().map(|(s, _)| *s) != Some(stage) {
            if let Some((_, bar)) = current.take() {
                bar.finish_and_clear();
            }
            *current = Some((stage, bar(total, stage)));
        }
        if let Some((_, bar)) = current.as_ref() {
            bar.set_position(done);
            if done >= total {
                bar.finish_and_clear();
            }
        }
    }
}

fn bar(total: u64, stage: Stage) -> ProgressBar {
    use std::io::IsTerminal;
    let bar = ProgressBar::new(total);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(match stage {
        Stage::Encrypting => "encrypting",
        Stage::Uploading => "uploading",
        Stage::Downloading => "downloading",
    });
    bar
}

pub(crate) async fn send(
    dir: &mut Messenger,
    id: &ConversationId,
    path: &Path,
    media_type: Option<&str>,
    report: &mut Report,
) -> Result<(), Failure> {
    let sent = dir
        .send_file(id, path, media_type, &Bars::default())
        .await?;
    report.set("conversation", json!(id.to_string()));
    report.set("size", json!(sent.size));
    report.set("uploaded_bytes", json!(sent.uploaded_bytes));
    report.set("upload_name", json!(UPLOAD_FILE_NAME));
    report.line(format!(
        "sent {} ({} bytes) to {id}: the server stored {} bytes named {UPLOAD_FILE_NAME}; the key and the link went inside MLS",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sent.size,
        sent.uploaded_bytes,
    ));
    Ok(())
}

/// Encrypts and uploads without announcing (`crosslock chaos`).
pub(crate) async fn upload(
    dir: &mut Messenger,
    path: &Path,
    media_type: Option<&str>,
) -> Result<Uploaded, Failure> {
    Ok(dir
        .upload_file(path, media_type, &crosslock_sdk::NoProgress)
        .await?)
}

/// Announces an uploaded file (`crosslock chaos`).
pub(crate) async fn announce(
    dir: &mut Messenger,
    id: &ConversationId,
    uploaded: &Uploaded,
) -> Result<(), Failure> {
    Ok(dir.announce_file(id, uploaded).await?)
}

/// Downloads, authenticates and decrypts every received file into `out`.
pub(crate) async fn receive_all(
    dir: &mut Messenger,
    out: &Path,
    report: &mut Report,
) -> Result<(), Failure> {
    let saved = dir.save_files(out, None, &Bars::default()).await?;
    for f in &saved.files {
        report.line(format!(
            "saved {} ({} bytes, {}), decrypted on this device",
            f.path.display(),
            f.size,
            f.media_type
        ));
    }
    for f in &saved.failed {
        report.line(format!(
            "not saved: {} ({}): {}; {}",
            f.name.as_deref().unwrap_or("unreadable record"),
            f.message_id,
            f.error,
            if f.kept {
                "tried again next time"
            } else {
                "dropped"
            }
        ));
    }
    if saved.is_empty() {
        report.line("no files waiting");
    }
    report.set(
        "files",
        Value::Array(
            saved
                .files
                .iter()
                .map(|f| json!({"path": f.path.display().to_string(), "size": f.size, "media_type": f.media_type}))
                .collect(),
        ),
    );
    report.set(
        "failed",
        Value::Array(
            saved
                .failed
                .iter()
                .map(|f| json!({"message_id": f.message_id, "name": f.name, "kind": f.error.kind().name(), "error": f.error.to_string(), "kept": f.kept}))
                .collect(),
        ),
    );
    Ok(())
}
