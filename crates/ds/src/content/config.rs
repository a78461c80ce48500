//! Content-server settings, with defaults a small provider can run with.

use crate::config::RateLimit;

/// The content server's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentConfig {
    /// Largest accepted file (bytes; default 100 MiB).
    pub max_file_bytes: u64,
    /// How long a file is kept after its upload (seconds; default 30 days).
    /// An expired file is deleted and answers like one that never existed.
    pub expiry_secs: u64,
    /// Uploads per device (default a burst of 20, then one every 6 s).
    pub upload_rate: RateLimit,
    /// The public base URL download URLs start with, e.g.
    /// `https://files.example.net` (default empty: URLs are relative,
    /// `/v1/files/<token>`).
    pub public_base_url: String,
}

impl Default for ContentConfig {
    fn default() -> Self {
        ContentConfig {
            max_file_bytes: 100 * 1024 * 1024,
            expiry_secs: 30 * 86_400,
            upload_rate: RateLimit {
                burst: 20.0,
                per_second: 1.0 / 6.0,
            },
            public_base_url: String::new(),
        }
    }
}
