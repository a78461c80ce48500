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
    Attachment, Download, MAX_CIPHERTEXT_SIZE, PreparedFile, ReceivedFile, Slot, UPLOAD_FILE_NAME,
    ciphertext_size, decrypt_file,
};
use crosslock_client::wire::file_info::FileInfo;
use crosslock_client::wire::ft_http::{Descriptor, FileEntry};
use crosslock_wire::api::files::UploadAnswer;
use futures_util::StreamExt;

use crate::conversations;
use crate::error::{ErrorKind, SdkError};
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
    /// Where it was written: in the folder asked for, under the sender's
    /// name made safe (FILE-SAVE-1), numbered (`name (1).ext`) when a file
    /// of that name was already there (FILE-SAVE-2).
    pub path: PathBuf,
    /// Its size in bytes, as decrypted (the sender's hint, when it sent
    /// one, was checked against it: FILE-C3-4).
    pub size: u64,
    /// Its media type.
    pub media_type: String,
}

/// A received file that could not be saved.
#[derive(Debug)]
pub struct FailedFile {
    /// Its descriptor's transport id (the [`crate::Event::File`] handle).
    pub message_id: String,
    /// Its name, made safe (as in the event), when its record was readable.
    pub name: Option<String>,
    /// Why: `network` (try again later), `refused` (it will never open: a
    /// blob larger than announced, one the key does not open, a host the
    /// provider does not describe, an expired link) or a local failure.
    pub error: SdkError,
    /// Whether it still waits for the next [`crate::Messenger::save_files`]:
    /// yes unless refused (a refusal would come again every time).
    pub kept: bool,
}

/// What [`crate::Messenger::save_files`] did: every file it saved, and
/// every one it could not, each with why. One failure never stops the
/// others.
#[derive(Debug, Default)]
pub struct Saved {
    /// The files saved.
    pub files: Vec<SavedFile>,
    /// The files that could not be saved.
    pub failed: Vec<FailedFile>,
}

impl Saved {
    /// Whether nothing was waiting.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.failed.is_empty()
    }
}

/// The files saved (the failures are in [`Saved::failed`]).
impl IntoIterator for Saved {
    type Item = SavedFile;
    type IntoIter = std::vec::IntoIter<SavedFile>;

    fn into_iter(self) -> Self::IntoIter {
        self.files.into_iter()
    }
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

/// Keeps a received file until the app saves it, mode 0600 (it holds the
/// key): `"CLR1" ‖ u16 BE length ‖ message id ‖ u32 BE length ‖ FileInfo
/// ‖ descriptor`, under a name made from the message id (`remember` of an
/// older version wrote the part from the FileInfo's length on alone).
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
    let id = message_id.as_bytes();
    let id_len = u16::try_from(id.len())
        .map_err(|_| SdkError::internal("a message id longer than 65535 bytes"))?;
    let mut record = RECORD_MAGIC.to_vec();
    record.extend(id_len.to_be_bytes());
    record.extend(id);
    record.extend((info.len() as u32).to_be_bytes());
    record.extend(info);
    record.extend(descriptor);
    let folder = m.dir.join(RECEIVED);
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;
    crate::storage::write_private(&folder.join(record_name(message_id)), &record)
}

/// How a record of this version starts (an older one starts with the
/// FileInfo's length, whose first byte is 0: a FileInfo is at most 2048
/// bytes).
const RECORD_MAGIC: &[u8; 4] = b"CLR1";

/// The extension of a received file's record.
const RECORD: &str = "fileinfo";

/// The record of a received file: named by the SHA-256 of the whole
/// message id, so two ids never share a record (a sender cannot replace
/// another's file) and any id fits in a file name.
fn record_name(message_id: &str) -> String {
    format!(
        "{}.{RECORD}",
        hex::encode(crosslock_tls::sha256(message_id.as_bytes()))
    )
}

/// Where an older version kept the record: anything but
/// `[A-Za-z0-9_-]` became `_` (still read).
fn legacy_record_name(message_id: &str) -> String {
    let id: String = message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{id}.{RECORD}")
}

/// Reads back what [`remember`] wrote: the message id (none in an older
/// version's record) and the file.
fn recall(bytes: &[u8]) -> Result<(Option<String>, Attachment), String> {
    let (id, rest) = match bytes.strip_prefix(RECORD_MAGIC) {
        Some(rest) => {
            let (len, rest) = rest.split_first_chunk::<2>().ok_or("truncated")?;
            let len = usize::from(u16::from_be_bytes(*len));
            if rest.len() < len {
                return Err("truncated".into());
            }
            let (id, rest) = rest.split_at(len);
            let id = String::from_utf8(id.to_vec()).map_err(|_| "message id not UTF-8")?;
            (Some(id), rest)
        }
        None => (None, bytes),
    };
    let (len, rest) = rest.split_first_chunk::<4>().ok_or("truncated")?;
    let len = u32::from_be_bytes(*len) as usize;
    if rest.len() < len {
        return Err("truncated".into());
    }
    let (info, descriptor) = rest.split_at(len);
    let metadata = FileInfo::decode(info)
        .map_err(|e| e.to_string())?
        .into_metadata();
    let descriptor = Descriptor::decode(descriptor).map_err(|e| e.to_string())?;
    Ok((
        id,
        Attachment {
            metadata,
            download: descriptor.file.download,
            ciphertext_size: descriptor.file.size,
        },
    ))
}

/// Downloads, authenticates and decrypts every received file (or only the
/// one whose descriptor had `message_id`) into `out`. A file is forgotten
/// once saved; one that fails is reported and does not stop the others.
/// It waits for the next try unless it was refused (it would be every
/// time). Asked for one file, its failure is the error.
pub(crate) async fn save(
    m: &mut Messenger,
    out: &Path,
    message_id: Option<&str>,
    progress: &dyn Progress,
) -> Result<Saved, SdkError> {
    let folder = m.dir.join(RECEIVED);
    let mut records = match std::fs::read_dir(&folder) {
        Ok(e) => e
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == RECORD))
            .collect::<Vec<_>>(),
        Err(_) => Vec::new(),
    };
    records.sort();
    if let Some(id) = message_id {
        let wanted = [
            folder.join(record_name(id)),
            folder.join(legacy_record_name(id)),
        ];
        records.retain(|p| wanted.contains(p));
        records.truncate(1);
        if records.is_empty() {
            return Err(SdkError::input(format!(
                "no received file waits under message {id}"
            )));
        }
    }
    std::fs::create_dir_all(out).map_err(io(out))?;
    clean_saving(m);
    let mut saved = Saved::default();
    for record in records {
        let (id, name, result) = save_one(m, &record, message_id, out, progress).await;
        let error = match result {
            Ok(file) => {
                saved.files.push(file);
                continue;
            }
            Err(error) => error,
        };
        let kept = error.kind() != ErrorKind::Refused;
        if !kept && let Err(e) = std::fs::remove_file(&record) {
            tracing::warn!(error = %e, "refused file not forgotten");
        }
        if message_id.is_some() {
            return Err(error);
        }
        tracing::info!(error = %error, kept, "received file not saved");
        saved.failed.push(FailedFile {
            // An older version's record has no id: its name stands in.
            message_id: id.unwrap_or_else(|| {
                record
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }),
            name,
            error,
            kept,
        });
    }
    Ok(saved)
}

/// Saves the file a record describes and forgets the record; returns its
/// message id and safe name too, when the record was readable.
async fn save_one(
    m: &Messenger,
    record: &Path,
    asked: Option<&str>,
    out: &Path,
    progress: &dyn Progress,
) -> (Option<String>, Option<String>, Result<SavedFile, SdkError>) {
    let read = std::fs::read(record).map_err(io(record)).and_then(|bytes| {
        recall(&bytes).map_err(|e| SdkError::internal(format!("{}: {e}", record.display())))
    });
    let (id, file) = match read {
        Ok(read) => read,
        Err(e) => return (None, None, Err(e)),
    };
    // FILE-SAVE-4: asked for one message, a record is that message's only
    // if the id stored in it is the id asked for. A record found under an
    // older version's name (`legacy_record_name`) may be another
    // message's: a sender can pick a message id that is the hex SHA-256
    // of a victim's, which is the victim's record name. Only an older
    // version's record keeps no id; it is found by its own name only.
    if let (Some(asked), Some(stored)) = (asked, id.as_deref())
        && asked != stored
    {
        return (
            None,
            None,
            Err(SdkError::input(format!(
                "no received file waits under message {asked}"
            ))),
        );
    }
    let name = file.metadata.safe_file_name();
    let result = async {
        let (path, size) = fetch(m, &file, out, &name, progress).await?;
        std::fs::remove_file(record).map_err(io(record))?;
        Ok(SavedFile {
            path,
            size,
            media_type: file.metadata.content_type().to_owned(),
        })
    }
    .await;
    (id, Some(name), result)
}

/// How many numbered names are tried for one file before giving up.
const MAX_NAME_TRIES: u32 = 1000;

/// FILE-SAVE-3: the most ciphertext a file may have: what its descriptor
/// announced, which with a length hint is exactly `Padmé(hint) + 8`
/// (FILE-PAIR-3, checked again here), and never more than any file.
fn download_limit(file: &Attachment) -> Result<u64, SdkError> {
    let name = file.metadata.safe_file_name();
    let announced = file.ciphertext_size;
    if announced > MAX_CIPHERTEXT_SIZE {
        return Err(SdkError::refused(format!(
            "{name}: announced as {announced} bytes, more than any file"
        )));
    }
    if let Some(hint) = file.metadata.encryption().length_hint
        && ciphertext_size(u64::from(hint)) != Some(announced)
    {
        return Err(SdkError::refused(format!(
            "{name}: announced as {announced} bytes, not what a {hint}-byte file encrypts to"
        )));
    }
    Ok(announced)
}

/// Downloads a blob (never more than announced, FILE-SAVE-3), decrypts it
/// into a temporary file and moves that into `out` under `name` or a
/// numbered variant (FILE-SAVE-1..2): a refused blob leaves nothing
/// behind, and no file already there is replaced. Returns where it went
/// and the plaintext's size.
async fn fetch(
    m: &Messenger,
    file: &Attachment,
    out: &Path,
    name: &str,
    progress: &dyn Progress,
) -> Result<(PathBuf, u64), SdkError> {
    let total = download_limit(file)?;
    let mut response = m.api.download(&file.download.url).await?;
    let mut blob = tempfile::tempfile_in(out).map_err(io(out))?;
    let mut received = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| SdkError::network(format!("download: {e}")))?
    {
        received += chunk.len() as u64;
        if received > total {
            return Err(SdkError::refused(format!(
                "{name}: the blob is larger than the {total} bytes announced"
            )));
        }
        std::io::Write::write_all(&mut blob, &chunk).map_err(io(out))?;
        progress.progress(Stage::Downloading, received, total);
    }
    std::io::Seek::rewind(&mut blob).map_err(io(out))?;
    // FILE-SAVE-5: the plaintext is written in the device's own directory
    // and reaches `out` only once authenticated, so a crash mid-file
    // leaves no unauthenticated plaintext in the app's folder (and what
    // it leaves in ours goes at the next save, `clean_saving`).
    let saving = m.dir.join(SAVING);
    std::fs::create_dir_all(&saving).map_err(io(&saving))?;
    let plain = tempfile::NamedTempFile::new_in(&saving).map_err(io(&saving))?;
    let size = {
        let mut writer = std::io::BufWriter::new(plain.as_file());
        let size = decrypt_file(&mut blob, &mut writer, &file.metadata)
            .map_err(|e| SdkError::refused(format!("{name}: {e}")))?;
        std::io::Write::flush(&mut writer).map_err(io(out))?;
        size
    };
    let path = persist_unique(plain, out, name)?;
    Ok((path, size))
}

/// Where plaintext is decrypted before it is authenticated (under the
/// device's directory, FILE-SAVE-5).
const SAVING: &str = "saving";

/// Removes what a save cut short (a crash, a kill) left in [`SAVING`].
/// Saves run one at a time (they hold the messenger mutably), so nothing
/// there is in use.
fn clean_saving(m: &Messenger) {
    let saving = m.dir.join(SAVING);
    let Ok(entries) = std::fs::read_dir(&saving) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        if let Err(e) = std::fs::remove_file(entry.path()) {
            tracing::warn!(error = %e, "a partly saved file not removed");
        }
    }
}

/// FILE-SAVE-1: `name` as one plain component of `out`. The name was
/// checked when it arrived (FILE-INFO-3: no separator, control character
/// or `..`) and made safe (reserved device names, `:`, a leading dot);
/// anything that is still not one normal component becomes `file`.
fn file_name_in(out: &Path, name: &str) -> PathBuf {
    let mut parts = Path::new(name).components();
    let single = matches!(
        (parts.next(), parts.next()),
        (Some(std::path::Component::Normal(_)), None)
    );
    if single && !name.contains(['\0', '/', '\\']) && name.len() <= MAX_NAME_BYTES {
        out.join(name)
    } else {
        out.join("file")
    }
}

/// The longest file name most file systems take, in bytes.
const MAX_NAME_BYTES: usize = 255;

/// `name`, or for `n > 0` `stem (n).ext`, shortened (at a character
/// boundary) to fit [`MAX_NAME_BYTES`].
fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    };
    let suffix = format!(" ({n}){ext}");
    let mut keep = MAX_NAME_BYTES.saturating_sub(suffix.len()).min(stem.len());
    while !stem.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}{suffix}", &stem[..keep])
}

/// FILE-SAVE-2: moves `plain` into `out` under `name`, or the first of
/// `name (1)`, `name (2)`, … that is free. The file system decides, in
/// one step (no-clobber rename), so a file of that name is never
/// replaced, not even one made a moment before. When `out` is on another
/// file system than `plain` (an SD card, a shared folder), the
/// authenticated plaintext is copied into a temporary file in `out`
/// first, then moved the same way.
fn persist_unique(
    plain: tempfile::NamedTempFile,
    out: &Path,
    name: &str,
) -> Result<PathBuf, SdkError> {
    persist_in(plain, out, name, true)
}

fn persist_in(
    mut plain: tempfile::NamedTempFile,
    out: &Path,
    name: &str,
    may_copy: bool,
) -> Result<PathBuf, SdkError> {
    for n in 0..MAX_NAME_TRIES {
        let target = file_name_in(out, &numbered(name, n));
        match plain.persist_noclobber(&target) {
            Ok(_) => return Ok(target),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => plain = e.file,
            Err(e) if may_copy && e.error.kind() == std::io::ErrorKind::CrossesDevices => {
                let mut from = e.file;
                let copy = tempfile::NamedTempFile::new_in(out).map_err(io(out))?;
                std::io::Seek::rewind(from.as_file_mut()).map_err(io(out))?;
                std::io::copy(from.as_file_mut(), &mut copy.as_file()).map_err(io(out))?;
                copy.as_file().sync_all().map_err(io(out))?;
                drop(from);
                return persist_in(copy, out, name, false);
            }
            Err(e) => {
                return Err(SdkError::input(format!(
                    "{}: {}",
                    target.display(),
                    e.error
                )));
            }
        }
    }
    Err(SdkError::input(format!(
        "{}: {MAX_NAME_TRIES} files named like {name} already; make room and save again",
        out.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name that got past the checks on arrival still cannot leave the
    /// folder: separators, `..`, absolute paths, NUL.
    #[test]
    fn a_name_never_leaves_the_folder() {
        let out = Path::new("/data/app/received");
        for hostile in [
            "../escape.txt",
            "..",
            ".",
            "/etc/passwd",
            "a/b.txt",
            "..\\up.txt",
            "C:\\Windows\\x.dll",
            "nul\0byte.txt",
            "",
            &"x".repeat(300),
        ] {
            let target = file_name_in(out, hostile);
            assert_eq!(target, out.join("file"), "{hostile:?}");
        }
        assert_eq!(file_name_in(out, "photo.jpg"), out.join("photo.jpg"));
    }

    #[test]
    fn numbered_names_keep_the_extension_and_fit() {
        assert_eq!(numbered("notes.txt", 0), "notes.txt");
        assert_eq!(numbered("notes.txt", 1), "notes (1).txt");
        assert_eq!(numbered("archive.tar.gz", 2), "archive.tar (2).gz");
        assert_eq!(numbered("README", 3), "README (3)");
        assert_eq!(numbered("_profile", 1), "_profile (1)");
        let long = format!("{}.jpg", "é".repeat(126));
        let n = numbered(&long, 12);
        assert!(n.len() <= MAX_NAME_BYTES, "{}", n.len());
        assert!(n.ends_with(" (12).jpg"), "{n}");
    }

    /// FILE-SAVE-2: a file already in the folder is never replaced, and
    /// every new one gets its own name.
    #[test]
    fn a_file_of_the_same_name_is_never_replaced() {
        let out = tempfile::tempdir().unwrap();
        std::fs::write(out.path().join("notes.txt"), b"mine").unwrap();
        let mut written = Vec::new();
        for content in [&b"first"[..], b"second"] {
            let mut plain = tempfile::NamedTempFile::new_in(out.path()).unwrap();
            std::io::Write::write_all(&mut plain, content).unwrap();
            written.push(persist_unique(plain, out.path(), "notes.txt").unwrap());
        }
        assert_eq!(
            std::fs::read(out.path().join("notes.txt")).unwrap(),
            b"mine"
        );
        assert_eq!(
            written,
            [
                out.path().join("notes (1).txt"),
                out.path().join("notes (2).txt")
            ]
        );
        assert_eq!(std::fs::read(&written[1]).unwrap(), b"second");
    }

    #[test]
    fn records_are_named_by_the_whole_message_id() {
        // Two ids an older version kept under one name.
        let (a, b) = ("MxAAECAwQF=geICQoLDA0ODw", "MxAAECAwQF_geICQoLDA0ODw");
        assert_eq!(legacy_record_name(a), legacy_record_name(b));
        assert_ne!(record_name(a), record_name(b));
        assert!(record_name(&"M".repeat(128)).len() < MAX_NAME_BYTES);
    }
}
