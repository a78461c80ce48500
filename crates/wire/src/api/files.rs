//! The content server API (`/v1/files`): encrypted file blobs behind
//! capability URLs (RCC.16 file transfer).
//!
//! A device uploads the already encrypted file as the raw request body
//! (`application/octet-stream`) with `POST /v1/files` and its bearer token;
//! the answer is an [`UploadAnswer`]. Anyone holding the URL downloads the
//! blob with `GET` (no device token: recipients may be homed at another
//! provider); the file's keys travel only inside MLS (the FileInfo), and
//! so does this URL (in the FT-HTTP descriptor, `crate::ft_http`).

use serde::{Deserialize, Serialize};

use super::B64;

/// The only file name an upload may carry, and the one downloads carry
/// (RCC.16: the server never learns the real name).
pub const FILE_NAME: &str = "encrypted_file";

/// The path files are uploaded to; a download URL is this path, a slash
/// and the capability token.
pub const FILES_PATH: &str = "/v1/files";

/// The answer to a successful upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadAnswer {
    /// Where the blob can be downloaded; the URL is the capability (an
    /// unguessable token), so share it only inside MLS.
    pub url: String,
    /// When the server deletes the blob (seconds since the Unix epoch).
    pub expires_at: u64,
    /// The stored size in bytes.
    pub size: u64,
    /// SHA-256 of the stored bytes, so the uploader can check nothing was
    /// lost on the way.
    pub sha256: B64,
}
