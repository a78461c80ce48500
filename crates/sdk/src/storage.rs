//! A device's directory: `device.json` (settings, the provider
//! descriptor, the bearer token and the lifecycle's bookkeeping; mode
//! 0600), `state.db` (the client core's encrypted SQLite database) and,
//! unless the app keeps the database key in the platform keystore,
//! `state.key` (its 32-byte key, mode 0600).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crosslock_wire::api::provider::ProviderInfo;
use serde::{Deserialize, Serialize};

use crate::error::SdkError;

pub(crate) const SETTINGS: &str = "device.json";
pub(crate) const DATABASE: &str = "state.db";
pub(crate) const DATABASE_KEY: &str = "state.key";

/// `device.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The device's number (E.164).
    pub number: String,
    /// `android` or `ios`.
    pub profile: String,
    /// The provider's base URL.
    pub server: String,
    /// The provider's TLS root(s), PEM.
    pub tls_ca_pem: String,
    /// The provider's descriptor, as fetched at set-up.
    pub provider: ProviderInfo,
    /// The KDS bearer token, once enrolled.
    pub token: Option<String>,
    /// The token this device chose for its next (re-)enrolment and sent
    /// with it, saved before the request left (SDK-TOKEN-1): while set,
    /// the KDS holds either it or [`Settings::token`], and
    /// [`crate::Messenger::maintain`] finds out which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_token: Option<String>,
    /// Per home: the `as_of` of its last revocation list and when it was
    /// fetched (Unix seconds).
    #[serde(default)]
    pub revocations: BTreeMap<String, (u64, u64)>,
    /// What the lifecycle did when.
    #[serde(default)]
    pub lifecycle: Lifecycle,
}

/// The lifecycle's bookkeeping (all times Unix seconds).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// Last `Device::maintenance` (ledgers, expired KeyPackages, epochs).
    #[serde(default)]
    pub maintained_at: u64,
    /// Last check of the KeyPackage stock at the KDS.
    #[serde(default)]
    pub key_packages_at: u64,
    /// When the last-resort KeyPackages were last replaced.
    #[serde(default)]
    pub last_resort_at: u64,
    /// Per conversation (hex id): when this device last presented its
    /// credential there (a commit with a path).
    #[serde(default)]
    pub credential_presented: BTreeMap<String, u64>,
    /// Per conversation (hex id): when the lifecycle last tried to present
    /// the credential there (SDK-RENEW-3: retried at most hourly).
    #[serde(default)]
    pub credential_tried: BTreeMap<String, u64>,
    /// When the lifecycle last tried to renew the credentials and did not
    /// (asked the app for a subscriber token, or the renewal failed).
    #[serde(default)]
    pub renewal_tried_at: u64,
    /// When the app was last told that renewal is due.
    #[serde(default)]
    pub renewal_notified_at: u64,
    /// Per conversation (hex id): when removing its members whose
    /// credential expired last failed (CRED-EXP-1; tried again an hour
    /// later).
    #[serde(default)]
    pub expired_removal_failed: BTreeMap<String, u64>,
    /// The KDS applied a renewal whose answer never arrived (SDK-TOKEN-1):
    /// the installed credentials are revoked, so renewal is due whatever
    /// their expiry.
    #[serde(default)]
    pub renewal_required: bool,
    /// KP-DEL-1: the provider time last used to delete expired KeyPackage
    /// secrets; deletion never goes back behind it.
    #[serde(default)]
    pub key_package_time: u64,
    /// The push token registered with the delivery service.
    #[serde(default)]
    pub push_token: Option<String>,
    /// (conversation hex, number) pairs whose key change was reported to
    /// the app and still stands.
    #[serde(default)]
    pub key_changes: BTreeSet<(String, String)>,
}

pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> SdkError + '_ {
    move |e| SdkError::input(format!("{}: {e}", path.display()))
}

/// Writes `bytes` to `path` atomically, readable by the owner alone.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SdkError> {
    let tmp = path.with_extension("tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(io(&tmp))?;
        std::io::Write::write_all(&mut file, bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Reads `device.json`.
pub(crate) fn read_settings(dir: &Path) -> Result<Settings, SdkError> {
    let path = dir.join(SETTINGS);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        SdkError::input(format!(
            "{}: {e}; create the device first (`crosslock device init`, or Messenger::create)",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| SdkError::input(format!("{}: {e}", path.display())))
}

/// Writes `device.json`.
pub(crate) fn write_settings(dir: &Path, settings: &Settings) -> Result<(), SdkError> {
    let text =
        serde_json::to_vec_pretty(settings).map_err(|e| SdkError::internal(e.to_string()))?;
    write_private(&dir.join(SETTINGS), &text)
}

/// Reads `state.key`.
pub(crate) fn read_database_key(dir: &Path) -> Result<zeroize::Zeroizing<[u8; 32]>, SdkError> {
    use base64::Engine as _;
    let path = dir.join(DATABASE_KEY);
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(&path).map_err(io(&path))?);
    let bytes = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| SdkError::input(format!("{}: not a database key", path.display())))?,
    );
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| SdkError::input(format!("{}: not a database key", path.display())))?;
    Ok(zeroize::Zeroizing::new(key))
}

/// Writes `state.key`.
pub(crate) fn write_database_key(dir: &Path, key: &[u8; 32]) -> Result<(), SdkError> {
    use base64::Engine as _;
    let text = zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(key));
    write_private(&dir.join(DATABASE_KEY), text.as_bytes())
}
