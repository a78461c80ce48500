//! The one error every `CrosslockDevice` call throws, by what the app can
//! do about it (the SDK's `ErrorKind`).

use crosslock_sdk::{ErrorKind, SdkError};

/// Why a call failed. `reason` says what to do and never carries a raw
/// phone number.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum CrosslockError {
    /// The caller's input or the device's set-up is wrong: fix and retry.
    #[error("{reason}")]
    Input { reason: String },
    /// The provider or the client core refused: a rule said no, and the
    /// same call gets the same answer. `server_code` is the provider's
    /// stable reason token (e.g. `not-a-member`) when it refused.
    #[error("{reason}")]
    Refused {
        reason: String,
        server_code: Option<String>,
    },
    /// The provider could not be reached or answered nonsense: retry later.
    #[error("{reason}")]
    Network { reason: String },
    /// Local storage failed, or a bug.
    #[error("{reason}")]
    Internal { reason: String },
    /// The app's `PlatformKeyStore` failed, or answered what does not
    /// check: a signature that does not verify under the key it reported
    /// (by another key, or garbage), a key in the wrong encoding, another
    /// key for the same alias. Nothing it signed left the device. Fix the
    /// key store (`checkPlatformKeyStore` finds most faults), or retry
    /// when it was only locked.
    #[error("{reason}")]
    KeyStore { reason: String },
}

impl From<SdkError> for CrosslockError {
    fn from(e: SdkError) -> Self {
        let reason = e.to_string();
        match e.kind() {
            ErrorKind::Input => CrosslockError::Input { reason },
            ErrorKind::Refused => CrosslockError::Refused {
                server_code: e.server_code().map(str::to_owned),
                reason,
            },
            ErrorKind::Network => CrosslockError::Network { reason },
            ErrorKind::Internal => CrosslockError::Internal { reason },
        }
    }
}

impl CrosslockError {
    pub(crate) fn input(reason: impl Into<String>) -> Self {
        CrosslockError::Input {
            reason: reason.into(),
        }
    }
    pub(crate) fn internal(reason: impl Into<String>) -> Self {
        CrosslockError::Internal {
            reason: reason.into(),
        }
    }
}
