//! The error type of file encryption and decryption.

use crosslock_wire::file_info::FileInfoError;

/// Why a file could not be encrypted or decrypted. When decryption fails,
/// nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The blob is shorter than its FileInfo says (a cut-off download).
    #[error("encrypted file is truncated: {actual} of {expected} bytes")]
    Truncated {
        /// The encrypted size in the FileInfo.
        expected: u64,
        /// The bytes there are.
        actual: u64,
    },
    /// The blob is longer than its FileInfo says.
    #[error("encrypted file is {actual} bytes, its FileInfo says {expected}")]
    WrongSize {
        /// The encrypted size in the FileInfo.
        expected: u64,
        /// The bytes there are.
        actual: u64,
    },
    /// The blob could not be authenticated with the file key. No detail is
    /// given on purpose.
    #[error("encrypted file could not be authenticated")]
    BadTag,
    /// Authentic, but the padding after the content is not zeros: the
    /// sender did not follow the format.
    #[error("encrypted file has non-zero padding")]
    BadPadding,
    /// The plaintext size and the encrypted size do not fit the format
    /// (`encrypted = 16 + padme(size) + 32`), or the size is over
    /// [`super::MAX_FILE_SIZE`].
    #[error("file sizes do not fit the format: {size} bytes in {encrypted_size}")]
    InconsistentSizes {
        /// The plaintext size.
        size: u64,
        /// The encrypted size.
        encrypted_size: u64,
    },
    /// The file is over [`super::MAX_FILE_SIZE`].
    #[error("file is larger than the limit")]
    TooLarge,
    /// The name, media type or URL is not acceptable in a FileInfo.
    #[error(transparent)]
    Info(#[from] FileInfoError),
    /// Reading or writing failed.
    #[error("file I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The crypto library failed (a bug, not bad input).
    #[error("crypto library failure")]
    Crypto,
}
