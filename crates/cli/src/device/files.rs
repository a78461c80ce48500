//! `crosslock device file`: encrypt on the device (RCC.16 Annex C.2),
//! upload the ciphertext as `encrypted_file`, send the FileInfo and then
//! the FT-HTTP descriptor inside MLS; fetch, authenticate, decrypt.
//! Files stream through temporary files, so memory does not grow with the
//! file; a progress bar shows on a terminal.

use std::path::Path;

use crosslock_client::ConversationId;
use crosslock_client::file::{
    Attachment, Download, PreparedFile, ReceivedFile, Slot, UPLOAD_FILE_NAME, decrypt_file,
};
use crosslock_client::wire::file_info::FileInfo;
use crosslock_client::wire::ft_http::{Descriptor, FileEntry};
use crosslock_wire::api::files::UploadAnswer;
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::state::DeviceDir;
use super::{Failure, Report};

const RECEIVED: &str = "received-files";

fn io(what: &Path) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |e| Failure::input(format!("{}: {e}", what.display()))
}

fn progress(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    // Hidden when stderr is not a terminal (scripts, --json, tests).
    if !console_is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

fn console_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// An encrypted file on the content server, not yet announced to anyone.
pub(crate) struct Uploaded {
    /// Its name, type, key, IV, tag and length.
    pub(crate) file: PreparedFile,
    /// Where the content server keeps it.
    pub(crate) download: Download,
}

/// Keeps a received file (its FileInfo holds the key: mode 0600) until
/// `file recv` fetches it: `u32 BE length ‖ FileInfo ‖ descriptor`.
pub(crate) fn remember(
    dir: &DeviceDir,
    message_id: &str,
    received: &ReceivedFile,
) -> Result<(), Failure> {
    let a = &received.file;
    let info = FileInfo::new(Slot::File, a.metadata.clone()).encode();
    let entry = FileEntry::encrypted(a.ciphertext_size, a.download.clone());
    let descriptor = Descriptor::new(entry, None)
        .map_err(|e| Failure::internal(format!("file descriptor: {e}")))?
        .encode();
    let mut record = (info.len() as u32).to_be_bytes().to_vec();
    record.extend(info);
    record.extend(descriptor);
    let folder = dir.path.join(RECEIVED);
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    let safe_id: String = message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = folder.join(format!("{safe_id}.fileinfo"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(io(&path))?;
    std::io::Write::write_all(&mut file, &record).map_err(io(&path))?;
    Ok(())
}

/// Reads back what [`remember`] wrote.
fn recall(bytes: &[u8]) -> Result<Attachment, String> {
    let (len, rest) = bytes.split_first_chunk::<4>().ok_or("truncated")?;
    let len = u32::from_be_bytes(*len) as usize;
    if rest.len() < len {
        return Err("truncated".into());
    }
    let (info, descriptor) = rest.split_at(len);
    let metadata = FileInfo::decode(info)
        .map_err(|e| e.to_string())?
        .into_metadata();
    let descriptor = Descriptor::decode(descriptor).map_err(|e| e.to_string())?;
    Ok(Attachment {
        metadata,
        download: descriptor.file.download,
        ciphertext_size: descriptor.file.size,
    })
}

pub(crate) fn media_type_of(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("heic") => "image/heic",
        Some("mp4") => "video/mp4",
        Some("txt") => "text/plain",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

pub(crate) async fn send(
    dir: &mut DeviceDir,
    id: &ConversationId,
    path: &Path,
    media_type: Option<&str>,
    report: &mut Report,
) -> Result<(), Failure> {
    super::convo::prove_members(dir, id, report).await?;
    let uploaded = upload(dir, path, media_type).await?;
    let (size, encrypted_size) = (uploaded.file.size(), uploaded.file.ciphertext_size());
    announce(dir, id, &uploaded).await?;
    report.set("conversation", json!(id.to_string()));
    report.set("size", json!(size));
    report.set("uploaded_bytes", json!(encrypted_size));
    report.set("upload_name", json!(UPLOAD_FILE_NAME));
    report.line(format!(
        "sent {} ({size} bytes) to {id}: the server stored {encrypted_size} bytes named {UPLOAD_FILE_NAME}; the key and the link went inside MLS",
        info_name(path)
    ));
    Ok(())
}

fn info_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Sends an uploaded file's FileInfo and then its FT-HTTP descriptor
/// inside MLS, in that order (the receiver pairs them).
pub(crate) async fn announce(
    dir: &mut DeviceDir,
    id: &ConversationId,
    uploaded: &Uploaded,
) -> Result<(), Failure> {
    let sent = dir
        .device
        .send_file(id, &uploaded.file, uploaded.download.clone(), None)?;
    post_in_order(dir, sent).await
}

/// Posts messages to the DS in the order the client made them (a FileInfo
/// before its descriptor, RCC.16 §2).
pub(crate) async fn post_in_order(
    dir: &mut DeviceDir,
    sent: Vec<crosslock_client::Sent>,
) -> Result<(), Failure> {
    for s in sent {
        dir.api
            .ds(dir.token()?)
            .message(&s.outbound.envelope)
            .await?;
    }
    Ok(())
}

/// Encrypts the file at `path` and uploads the ciphertext; returns what
/// announcing it needs (not yet sent to anyone).
pub(crate) async fn upload(
    dir: &mut DeviceDir,
    path: &Path,
    media_type: Option<&str>,
) -> Result<Uploaded, Failure> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Failure::input(format!("{}: not a file name", path.display())))?
        .to_owned();
    let media_type = media_type.unwrap_or_else(|| media_type_of(path)).to_owned();
    let plain = std::fs::File::open(path).map_err(io(path))?;
    let size = plain.metadata().map_err(io(path))?.len();
    let blob_file = tempfile::NamedTempFile::new_in(&dir.path).map_err(io(&dir.path))?;
    let bar = progress(size, "encrypting");
    let prepared = dir.device.prepare_file(
        bar.wrap_read(std::io::BufReader::new(plain)),
        std::io::BufWriter::new(blob_file.as_file()),
        &name,
        &media_type,
    )?;
    bar.finish_and_clear();

    let encrypted_size = prepared.ciphertext_size();
    let blob = tokio::fs::File::open(blob_file.path())
        .await
        .map_err(io(blob_file.path()))?;
    let bar = progress(encrypted_size, "uploading");
    let counted = bar.clone();
    let stream = tokio_util::io::ReaderStream::new(blob).map(move |chunk| {
        if let Ok(c) = &chunk {
            counted.inc(c.len() as u64);
        }
        chunk
    });
    let download = post_upload(
        dir,
        reqwest::Body::wrap_stream(stream),
        Some(encrypted_size),
    )
    .await;
    bar.finish_and_clear();
    Ok(Uploaded {
        file: prepared,
        download: download?,
    })
}

/// `POST /v1/files`: uploads a ciphertext as `encrypted_file` (RCC.16 §2;
/// the name tells the server nothing) and returns where it can be fetched.
pub(crate) async fn post_upload(
    dir: &DeviceDir,
    body: reqwest::Body,
    length: Option<u64>,
) -> Result<Download, Failure> {
    let mut request = dir
        .api
        .http()
        .post(format!("{}/v1/files", dir.api.base()))
        .bearer_auth(dir.token()?)
        .header(
            "content-disposition",
            format!("attachment; filename=\"{UPLOAD_FILE_NAME}\""),
        );
    if let Some(length) = length {
        request = request.header("content-length", length);
    }
    let response = request
        .body(body)
        .send()
        .await
        .map_err(|e| Failure::network(format!("upload: {e}")))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| Failure::network(format!("upload: {e}")))?;
    if !status.is_success() {
        return Err(Failure::refused(format!("upload: HTTP {status}: {text}")));
    }
    let uploaded: UploadAnswer = serde_json::from_str(&text)
        .map_err(|e| Failure::network(format!("upload: unexpected answer: {e}")))?;
    Ok(Download {
        url: uploaded.url,
        until: uploaded.expires_at,
    })
}

/// Downloads, authenticates and decrypts every remembered file into `out`.
pub(crate) async fn receive_all(
    dir: &mut DeviceDir,
    out: &Path,
    report: &mut Report,
) -> Result<(), Failure> {
    let folder = dir.path.join(RECEIVED);
    let mut saved = Vec::new();
    let entries = match std::fs::read_dir(&folder) {
        Ok(e) => e
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect::<Vec<_>>(),
        Err(_) => Vec::new(),
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    for path in entries {
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let file =
            recall(&bytes).map_err(|e| Failure::internal(format!("{}: {e}", path.display())))?;
        let target = out.join(file.metadata.safe_file_name());
        fetch(dir, &file, &target).await?;
        std::fs::remove_file(&path).map_err(io(&path))?;
        let size = file.metadata.encryption().length_hint.unwrap_or_default();
        let media_type = file.metadata.content_type();
        report.line(format!(
            "saved {} ({size} bytes, {media_type}), decrypted on this device",
            target.display(),
        ));
        saved.push(
            json!({"path": target.display().to_string(), "size": size, "media_type": media_type}),
        );
    }
    if saved.is_empty() {
        report.line("no files waiting");
    }
    report.set("files", Value::Array(saved));
    Ok(())
}

async fn fetch(dir: &DeviceDir, file: &Attachment, target: &Path) -> Result<(), Failure> {
    let url = file.download.url.as_str();
    let mut response = dir
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
    let folder = target.parent().unwrap_or(Path::new("."));
    let mut blob = tempfile::tempfile_in(folder).map_err(io(folder))?;
    let bar = progress(file.ciphertext_size, "downloading");
    let mut received = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Failure::network(format!("download: {e}")))?
    {
        received += chunk.len() as u64;
        if received > file.ciphertext_size {
            return Err(Failure::refused(
                "download: the blob is larger than announced",
            ));
        }
        std::io::Write::write_all(&mut blob, &chunk).map_err(io(folder))?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    std::io::Seek::rewind(&mut blob).map_err(io(folder))?;
    // Decrypt into a temporary file and rename: a refused blob leaves
    // nothing behind under the target name.
    let plain = tempfile::NamedTempFile::new_in(folder).map_err(io(folder))?;
    decrypt_file(
        &mut blob,
        std::io::BufWriter::new(plain.as_file()),
        &file.metadata,
    )
    .map_err(|e| Failure::refused(format!("{}: {e}", file.metadata.safe_file_name())))?;
    plain
        .persist(target)
        .map_err(|e| Failure::input(format!("{}: {e}", target.display())))?;
    Ok(())
}
