//! Encrypted files (RCC.16 Annex C.2): encrypted on the device, the
//! ciphertext uploaded as `encrypted_file`, the FileInfo and then the
//! FT-HTTP descriptor sent inside MLS; fetched, authenticated and
//! decrypted on the receiving device. Files stream through temporary
//! files, so memory does not grow with the file; [`Progress`] reports each
//! stage.

use std::io::Read;
use std::path::{Path, PathBuf};

use crosslock_client::ConversationId;
use crosslock_client::file::{
    Attachment, Download, PreparedFile, ReceivedFile, Slot, UPLOAD_FILE_NAME, decrypt_file,
};
use crosslock_client::wire::file_info::FileInfo;
use crosslock_client::wire::ft_http::{Descriptor, FileEntry};
use crosslock_wire::api::files::UploadAnswer;
use futures_util::StreamExt;

use crate::conversations;
use crate::error::SdkError;
use crate::messenger::Messenger;
use crate::storage::io;

/// Where received files wait (their FileInfo holds the key: mode 0600)
/// until the app saves them.
const RECEIVED: &str = "received-files";

/// A stage of moving a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Encrypting on this device (bytes of plaintext).
    Encrypting,
    /// Uploading the ciphertext.
    Uploading,
    /// Downloading the ciphertext.
    Downloading,
}

/// Told how far a file has got: `done` of `total` bytes, per stage; the
/// last call of a stage has `done == total`.
pub trait Progress: Send + Sync {
    /// Called as bytes move.
    fn progress(&self, stage: Stage, done: u64, total: u64);
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn progress(&self, _: Stage, _: u64, _: u64) {}
}

/// An encrypted file on the content server, not yet announced to anyone.
#[derive(Debug)]
pub struct Uploaded {
    /// Its name, type, key, IV, tag and length.
    pub file: PreparedFile,
    /// Where the content server keeps it.
    pub download: Download,
}

/// What sending a file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentFile {
    /// The plaintext's size.
    pub size: u64,
    /// What the content server stored (ciphertext and tag).
    pub uploaded_bytes: u64,
}

/// A received file, saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedFile {
    /// Where it was written.
    pub path: PathBuf,
    /// Its size, as announced.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
}

/// Reads through, reporting progress.
struct Counted<'a, R> {
    inner: R,
    done: u64,
    total: u64,
    stage: Stage,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if n > 0 {
            self.progress.progress(self.stage, self.done, self.total);
        }
        Ok(n)
    }
}

/// A media type from a file name's extension.
pub fn media_type_of(path: &Path) -> &'static str {
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

/// Encrypts, uploads and announces the file at `path` in `id`.
pub(crate) async fn send(
    m: &mut Messenger,
    id: &ConversationId,
    path: &Path,
    media_type: Option<&str>,
    progress: &dyn Progress,
) -> Result<SentFile, SdkError> {
    conversations::prove_members(m, id).await?;
    let uploaded = upload(m, path, media_type, progress).await?;
    let sent = SentFile {
        size: uploaded.file.size(),
        uploaded_bytes: uploaded.file.ciphertext_size(),
    };
    announce(m, id, &uploaded).await?;
    Ok(sent)
}

/// Sends an uploaded file's FileInfo and then its FT-HTTP descriptor
/// inside MLS, in that order (the receiver pairs them).
pub(crate) async fn announce(
    m: &mut Messenger,
    id: &ConversationId,
    uploaded: &Uploaded,
) -> Result<(), SdkError> {
    let sent = conversations::with_proven_members(m, id, |d| {
        d.send_file(id, &uploaded.file, uploaded.download.clone(), None)
    })
    .await?;
    post_in_order(m, sent).await
}

/// Posts messages to the DS in the order the client made them (a FileInfo
/// before its descriptor, RCC.16 §2).
pub(crate) async fn post_in_order(
    m: &mut Messenger,
    sent: Vec<crosslock_client::Sent>,
) -> Result<(), SdkError> {
    let ds = m.ds()?;
    for s in sent {
        ds.message(&s.outbound.envelope).await?;
    }
    Ok(())
}

/// Encrypts the file at `path` and uploads the ciphertext; returns what
/// announcing it needs (not yet sent to anyone).
pub(crate) async fn upload(
    m: &mut Messenger,
    path: &Path,
    media_type: Option<&str>,
    progress: &dyn Progress,
) -> Result<Uploaded, SdkError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| SdkError::input(format!("{}: not a file name", path.display())))?
        .to_owned();
    let media_type = media_type.unwrap_or_else(|| media_type_of(path)).to_owned();
    let plain = std::fs::File::open(path).map_err(io(path))?;
    let size = plain.metadata().map_err(io(path))?.len();
    let blob_file = tempfile::NamedTempFile::new_in(&m.dir).map_err(io(&m.dir))?;
    let reader = Counted {
        inner: std::io::BufReader::new(plain),
        done: 0,
        total: size,
        stage: Stage::Encrypting,
        progress,
    };
    let prepared = m.device.prepare_file(
        reader,
        std::io::BufWriter::new(blob_file.as_file()),
        &name,
        &media_type,
    )?;
    progress.progress(Stage::Encrypting, size, size);

    let encrypted_size = prepared.ciphertext_size();
    let blob = tokio::fs::File::open(blob_file.path())
        .await
        .map_err(io(blob_file.path()))?;
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = sent.clone();
    let stream = tokio_util::io::ReaderStream::new(blob).map(move |chunk| {
        if let Ok(c) = &chunk {
            counter.fetch_add(c.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
        chunk
    });
    // The body streams on the HTTP task; progress is reported from here
    // as it moves, so the callback is never called from another thread.
    let upload = post_upload(m, reqwest::Body::wrap_stream(stream), Some(encrypted_size));
    tokio::pin!(upload);
    let download = loop {
        tokio::select! {
            result = &mut upload => break result?,
            _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {
                let done = sent.load(std::sync::atomic::Ordering::Relaxed);
                progress.progress(Stage::Uploading, done.min(encrypted_size), encrypted_size);
            }
        }
    };
    progress.progress(Stage::Uploading, encrypted_size, encrypted_size);
    Ok(Uploaded {
        file: prepared,
        download,
    })
}

/// `POST /v1/files`: uploads a ciphertext as `encrypted_file` (RCC.16 §2;
/// the name tells the server nothing) and returns where it can be fetched.
pub(crate) async fn post_upload(
    m: &Messenger,
    body: reqwest::Body,
    length: Option<u64>,
) -> Result<Download, SdkError> {
    let mut request = m
        .api
        .http()
        .post(format!("{}/v1/files", m.api.base()))
        .bearer_auth(m.token()?)
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
        .map_err(|e| SdkError::network(format!("upload: {e}")))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| SdkError::network(format!("upload: {e}")))?;
    if !status.is_success() {
        return Err(crate::transport::http::server_error(
            "/v1/files",
            status.as_u16(),
            &text,
        ));
    }
    let uploaded: UploadAnswer = serde_json::from_str(&text)
        .map_err(|e| SdkError::network(format!("upload: unexpected answer: {e}")))?;
    Ok(Download {
        url: uploaded.url,
        until: uploaded.expires_at,
    })
}

/// Keeps a received file until the app saves it:
/// `u32 BE length ‖ FileInfo ‖ descriptor`, mode 0600 (it holds the key).
pub(crate) fn remember(
    m: &Messenger,
    message_id: &str,
    received: &ReceivedFile,
) -> Result<(), SdkError> {
    let a = &received.file;
    let info = FileInfo::new(Slot::File, a.metadata.clone()).encode();
    let entry = FileEntry::encrypted(a.ciphertext_size, a.download.clone());
    let descriptor = Descriptor::new(entry, None)
        .map_err(|e| SdkError::internal(format!("file descriptor: {e}")))?
        .encode();
    let mut record = (info.len() as u32).to_be_bytes().to_vec();
    record.extend(info);
    record.extend(descriptor);
    let folder = m.dir.join(RECEIVED);
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    let path = folder.join(format!("{}.fileinfo", safe_id(message_id)));
    crate::storage::write_private(&path, &record)
}

/// A message id as a file name: anything but `[A-Za-z0-9_-]` becomes `_`.
fn safe_id(message_id: &str) -> String {
    message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
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

/// Downloads, authenticates and decrypts every received file (or only the
/// one whose descriptor had `message_id`) into `out`. A file is forgotten
/// once saved; one that fails stays for the next try and stops the call.
pub(crate) async fn save(
    m: &mut Messenger,
    out: &Path,
    message_id: Option<&str>,
    progress: &dyn Progress,
) -> Result<Vec<SavedFile>, SdkError> {
    let folder = m.dir.join(RECEIVED);
    let mut entries = match std::fs::read_dir(&folder) {
        Ok(e) => e
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect::<Vec<_>>(),
        Err(_) => Vec::new(),
    };
    entries.sort();
    if let Some(id) = message_id {
        let wanted = folder.join(format!("{}.fileinfo", safe_id(id)));
        entries.retain(|p| *p == wanted);
        if entries.is_empty() {
            return Err(SdkError::input(format!(
                "no received file waits under message {id}"
            )));
        }
    }
    std::fs::create_dir_all(out).map_err(io(out))?;
    let mut saved = Vec::new();
    for path in entries {
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let file =
            recall(&bytes).map_err(|e| SdkError::internal(format!("{}: {e}", path.display())))?;
        let target = out.join(file.metadata.safe_file_name());
        fetch(m, &file, &target, progress).await?;
        std::fs::remove_file(&path).map_err(io(&path))?;
        saved.push(SavedFile {
            path: target,
            size: u64::from(file.metadata.encryption().length_hint.unwrap_or_default()),
            media_type: file.metadata.content_type().to_owned(),
        });
    }
    Ok(saved)
}

/// Downloads a blob (never more than announced), then decrypts it into a
/// temporary file renamed to `target`: a refused blob leaves nothing
/// behind under the target name.
async fn fetch(
    m: &Messenger,
    file: &Attachment,
    target: &Path,
    progress: &dyn Progress,
) -> Result<(), SdkError> {
    let mut response = m.api.download(&file.download.url).await?;
    let folder = target.parent().unwrap_or(Path::new("."));
    let mut blob = tempfile::tempfile_in(folder).map_err(io(folder))?;
    let total = file.ciphertext_size;
    let mut received = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| SdkError::network(format!("download: {e}")))?
    {
        received += chunk.len() as u64;
        if received > total {
            return Err(SdkError::refused(
                "download: the blob is larger than announced",
            ));
        }
        std::io::Write::write_all(&mut blob, &chunk).map_err(io(folder))?;
        progress.progress(Stage::Downloading, received, total);
    }
    std::io::Seek::rewind(&mut blob).map_err(io(folder))?;
    let plain = tempfile::NamedTempFile::new_in(folder).map_err(io(folder))?;
    decrypt_file(
        &mut blob,
        std::io::BufWriter::new(plain.as_file()),
        &file.metadata,
    )
    .map_err(|e| SdkError::refused(format!("{}: {e}", file.metadata.safe_file_name())))?;
    plain
        .persist(target)
        .map_err(|e| SdkError::input(format!("{}: {e}", target.display())))?;
    Ok(())
}
