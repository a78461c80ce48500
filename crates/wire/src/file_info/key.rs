//! The per-file key.

use zeroize::Zeroize;

/// The 32-byte key of one file. RCC.16 file transfer (GUIDE §4): a fresh
/// random key for every file, sent to the recipients only inside MLS.
///
/// `Debug` never shows the bytes, equality is constant-time, and the bytes
/// are wiped when the key is dropped.
#[derive(Clone)]
pub struct FileKey([u8; FileKey::LEN]);

impl FileKey {
    /// Key length in bytes.
    pub const LEN: usize = 32;

    /// A key from its bytes (drawn by the caller from its random source).
    pub fn from_bytes(bytes: [u8; FileKey::LEN]) -> FileKey {
        FileKey(bytes)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; FileKey::LEN] {
        &self.0
    }
}

impl PartialEq for FileKey {
    fn eq(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl Eq for FileKey {}

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKey(<redacted>)")
    }
}

impl Drop for FileKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}
