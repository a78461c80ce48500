//! Files: the progress callback and what sending and saving return.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crosslock_sdk::files::Uploaded;
use crosslock_sdk::{Progress, Stage};

use crate::callback::{CallbackError, log_failure};
use crate::device::CrosslockDevice;
use crate::error::CrosslockError;
use crate::ids::conversation_id;

/// A stage of moving a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FileStage {
    /// Encrypting on this device (bytes of plaintext).
    Encrypting,
    /// Uploading the ciphertext.
    Uploading,
    /// Downloading the ciphertext.
    Downloading,
}

impl From<Stage> for FileStage {
    fn from(stage: Stage) -> Self {
        match stage {
            Stage::Encrypting => FileStage::Encrypting,
            Stage::Uploading => FileStage::Uploading,
            Stage::Downloading => FileStage::Downloading,
        }
    }
}

/// Told how far a file has got: `done` of `total` bytes per stage; the
/// last call of a stage has `done == total`. Called while the file moves
/// (on the calling thread or one of the SDK's), with the device locked:
/// return quickly (post to the UI thread) and do not call the device from
/// it. A callback that
/// throws does no harm: the SDK logs it once and the file carries on.
#[uniffi::export(with_foreign)]
pub trait FileProgress: Send + Sync {
    /// Bytes moved so far in `stage`.
    fn progress(&self, stage: FileStage, done: u64, total: u64) -> Result<(), CallbackError>;
}

/// A [`FileProgress`] as the SDK's [`Progress`].
pub(crate) struct ForeignProgress {
    app: Option<Arc<dyn FileProgress>>,
    /// A failure was logged already (one line per file, not one per chunk).
    failed: AtomicBool,
}

impl ForeignProgress {
    pub(crate) fn new(app: Option<Arc<dyn FileProgress>>) -> Self {
        ForeignProgress {
            app,
            failed: AtomicBool::new(false),
        }
    }
}

impl Progress for ForeignProgress {
    fn progress(&self, stage: Stage, done: u64, total: u64) {
        if let Some(p) = &self.app
            && let Err(e) = p.progress(stage.into(), done, total)
            && !self.failed.swap(true, Ordering::Relaxed)
        {
            log_failure("FileProgress.progress", Err(e));
        }
    }
}

/// What sending a file did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SentFile {
    /// The plaintext's size.
    pub size: u64,
    /// What the content server stored (ciphertext and tag).
    pub uploaded_bytes: u64,
}

/// A received file, downloaded, authenticated and decrypted.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SavedFile {
    /// Where it was written (never over an existing file: a name taken
    /// in the folder gets ` (1)`, ` (2)`, … before its extension).
    pub path: String,
    /// Its size, decrypted (the event's `size` was the sender's hint).
    pub size: u64,
    /// Its media type.
    pub media_type: String,
}

/// A received file that could not be saved.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FailedFile {
    /// Its `Event.File` message id.
    pub message_id: String,
    /// Its name, made safe, when known.
    pub name: Option<String>,
    /// What kind of failure (`NETWORK`: try again later; `REFUSED`: it
    /// will never open).
    pub kind: FailureKind,
    /// Why, in words (no raw phone number).
    pub reason: String,
    /// Whether it still waits for the next `saveFiles` (yes unless refused).
    pub kept: bool,
}

/// What kind of failure, as `CrosslockError`'s cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FailureKind {
    /// The input or the set-up is wrong.
    Input,
    /// A rule said no: the same call gets the same answer.
    Refused,
    /// The provider could not be reached: retry later.
    Network,
    /// Local storage failed, or a bug.
    Internal,
}

impl From<crosslock_sdk::ErrorKind> for FailureKind {
    fn from(kind: crosslock_sdk::ErrorKind) -> Self {
        match kind {
            crosslock_sdk::ErrorKind::Input => FailureKind::Input,
            crosslock_sdk::ErrorKind::Refused => FailureKind::Refused,
            crosslock_sdk::ErrorKind::Network => FailureKind::Network,
            crosslock_sdk::ErrorKind::Internal => FailureKind::Internal,
        }
    }
}

/// What `saveFiles` did: one file that fails never stops the others.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SavedFiles {
    /// The files saved.
    pub files: Vec<SavedFile>,
    /// The files that could not be saved, each with why.
    pub failed: Vec<FailedFile>,
}

/// A file encrypted on this device and uploaded, not yet announced to
/// anyone: `announce_file` sends its key and link into a conversation (as
/// many as the app likes, until the link expires). Holds the file's key:
/// drop it (Kotlin `close()`) when done.
#[derive(uniffi::Object)]
pub struct UploadedFile(Uploaded);

impl std::fmt::Debug for UploadedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadedFile")
            .field("size", &self.0.file.size())
            .finish_non_exhaustive()
    }
}

#[uniffi::export]
impl UploadedFile {
    /// The file's name (sent only inside MLS).
    pub fn name(&self) -> String {
        self.0.file.name().to_owned()
    }

    /// Its media type.
    pub fn media_type(&self) -> String {
        self.0.file.media_type().to_owned()
    }

    /// The plaintext's size.
    pub fn size(&self) -> u64 {
        self.0.file.size()
    }

    /// What the content server stored (ciphertext and tag).
    pub fn uploaded_bytes(&self) -> u64 {
        self.0.file.ciphertext_size()
    }

    /// When the content server's link stops working, UNIX seconds:
    /// announce before then.
    pub fn link_expires_at(&self) -> u64 {
        self.0.download.until
    }
}

#[uniffi::export]
impl CrosslockDevice {
    /// Encrypts the file at `path` on this device and uploads it, without
    /// announcing it yet (`send_file` does both). `media_type`: from the
    /// extension when `None`.
    pub fn upload_file(
        &self,
        path: String,
        media_type: Option<String>,
        progress: Option<Arc<dyn FileProgress>>,
    ) -> Result<Arc<UploadedFile>, CrosslockError> {
        let uploaded = self.core().call(|m| {
            Box::pin(async move {
                let progress = ForeignProgress::new(progress);
                m.upload_file(Path::new(&path), media_type.as_deref(), &progress)
                    .await
            })
        })?;
        Ok(Arc::new(UploadedFile(uploaded)))
    }

    /// Sends an uploaded file's key and link into the conversation.
    pub fn announce_file(
        &self,
        conversation: String,
        file: Arc<UploadedFile>,
    ) -> Result<(), CrosslockError> {
        let id = conversation_id(&conversation)?;
        self.core()
            .call(|m| Box::pin(async move { m.announce_file(&id, &file.0).await }))
    }
}
