//! Files: the progress callback and what sending and saving return.

use std::sync::Arc;

use crosslock_sdk::{Progress, Stage};

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
/// last call of a stage has `done == total`. Called on the SDK's worker
/// thread while the file moves: return quickly (post to the UI thread) and
/// never throw.
#[uniffi::export(with_foreign)]
pub trait FileProgress: Send + Sync {
    /// Bytes moved so far in `stage`.
    fn progress(&self, stage: FileStage, done: u64, total: u64);
}

/// A [`FileProgress`] as the SDK's [`Progress`].
pub(crate) struct ForeignProgress(pub(crate) Option<Arc<dyn FileProgress>>);

impl Progress for ForeignProgress {
    fn progress(&self, stage: Stage, done: u64, total: u64) {
        if let Some(p) = &self.0 {
            p.progress(stage.into(), done, total);
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
    /// Where it was written.
    pub path: String,
    /// Its size, as announced.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
}
