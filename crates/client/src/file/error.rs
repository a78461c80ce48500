//! The error type of file encryption and decryption.

use crosslock_wire::file_info::FileInfoError;
use crosslock_wire::ft_http::DescriptorError;

/// Why a file could not be encrypted or decrypted, or its FileInfo and
/// descriptor do not belong together. When decryption fails, nothing was
/// written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The ciphertext is shorter than its 8-byte length trailer (Annex C.3).
    #[error("encrypted file is {0} bytes, shorter than its length trailer")]
    TooShort(u64),
    /// The ciphertext could not be authenticated with the file key (Annex
    /// C.3: the tag is checked first). No detail is given on purpose.
    #[error("encrypted file could not be authenticated")]
    BadTag,
    /// Authentic, but its `messageLength` is 2^31 or more (Annex C.3).
    #[error("encrypted file declares {0} bytes, over 2^31 - 1")]
    LengthTooLarge(u32),
    /// Authentic, but its `messageLength` is not the FileInfo's
    /// `file_length_hint`.
    #[error("encrypted file holds {length} bytes, its FileInfo says {hint}")]
    HintMismatch {
        /// The `file_length_hint`.
        hint: u32,
        /// The `messageLength` in the trailer.
        length: u32,
    },
    /// Authentic, but `8 + messageLength + paddingLength` is not the
    /// ciphertext's length.
    #[error("encrypted file is {ciphertext} bytes, its trailer says 8 + {message} + {padding}")]
    LengthMismatch {
        /// The ciphertext length.
        ciphertext: u64,
        /// `messageLength`.
        message: u32,
        /// `paddingLength`.
        padding: u32,
    },
    /// Authentic, but `paddingLength` is not `Padmé(messageLength) -
    /// messageLength`.
    #[error("encrypted file pads {message} bytes with {padding}, not to its Padmé length")]
    BadPaddingLength {
        /// `messageLength`.
        message: u32,
        /// `paddingLength`.
        padding: u32,
    },
    /// Authentic, but the padding after the content is not zeros.
    #[error("encrypted file has non-zero padding")]
    BadPadding,
    /// The ciphertext changed (shrank) between the decryption passes.
    #[error("encrypted file changed while it was decrypted")]
    Changed,
    /// The file is 2^31 bytes or more (`messageLength` must stay under 2^31),
    /// or a ciphertext is longer than any such file's.
    #[error("file is larger than the limit")]
    TooLarge,
    /// A keystream position past the 32-bit block counter (never reached by
    /// a file under the size limit).
    #[error("AES-CTR block counter would wrap")]
    CounterOverflow,
    /// An FT-HTTP descriptor arrived with no unpaired FileInfo from its
    /// sender in the conversation before it.
    #[error("file descriptor without a preceding FileInfo")]
    UnpairedDescriptor,
    /// A descriptor's `file-size` is not `Padmé(file_length_hint) + 8`, or
    /// it describes a thumbnail the FileInfo has no key for (or the other
    /// way round).
    #[error("file descriptor does not match its FileInfo: {0}")]
    DescriptorMismatch(&'static str),
    /// The name, media type or key container is not acceptable in a
    /// FileInfo.
    #[error(transparent)]
    Info(#[from] FileInfoError),
    /// The FT-HTTP descriptor could not be built or was refused.
    #[error(transparent)]
    Descriptor(#[from] DescriptorError),
    /// Reading or writing failed.
    #[error("file I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The crypto library failed (a bug, not bad input).
    #[error("crypto library failure")]
    Crypto,
}
