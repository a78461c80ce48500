//! What went wrong, typed by what the caller can do about it.

use crosslock_client::ClientError;

/// What kind of failure an [`SdkError`] is: what the app does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller's input or the device's set-up is wrong: fix and retry.
    Input,
    /// The provider or the client core refused: a rule said no. Retrying
    /// the same thing gets the same answer.
    Refused,
    /// The provider could not be reached or answered nonsense: retry later.
    Network,
    /// Local storage failed, or a bug.
    Internal,
}

impl ErrorKind {
    /// `input`, `refused`, `network` or `internal`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Input => "input",
            ErrorKind::Refused => "refused",
            ErrorKind::Network => "network",
            ErrorKind::Internal => "internal",
        }
    }
}

/// Why an SDK call failed. Messages say what to do, and never carry a raw
/// phone number.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The caller's input or set-up is wrong.
    #[error("{0}")]
    Input(String),
    /// The client core refused or failed (a security rule, a bad message).
    #[error("client core: {0}")]
    Client(#[from] ClientError),
    /// The provider answered with an error (`code` is its stable,
    /// machine-readable reason, e.g. `not-a-member`).
    #[error("{what}: HTTP {status}: {message} ({code})")]
    Server {
        /// The request (path) that was refused.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The provider's stable reason token.
        code: String,
        /// The provider's explanation.
        message: String,
    },
    /// The SDK refused (e.g. a download from a host the provider does not
    /// describe).
    #[error("{0}")]
    Refused(String),
    /// The provider is unreachable or answered something unexpected.
    #[error("{0}")]
    Network(String),
    /// Local storage failed, or a bug.
    #[error("{0}")]
    Internal(String),
}

impl SdkError {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SdkError::Input(_) => ErrorKind::Input,
            SdkError::Client(_) | SdkError::Server { .. } | SdkError::Refused(_) => {
                ErrorKind::Refused
            }
            SdkError::Network(_) => ErrorKind::Network,
            SdkError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The provider's reason token, when the provider refused.
    pub fn server_code(&self) -> Option<&str> {
        match self {
            SdkError::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn input(message: impl Into<String>) -> SdkError {
        SdkError::Input(message.into())
    }
    pub(crate) fn refused(message: impl Into<String>) -> SdkError {
        SdkError::Refused(message.into())
    }
    pub(crate) fn network(message: impl Into<String>) -> SdkError {
        SdkError::Network(message.into())
    }
    pub(crate) fn internal(message: impl Into<String>) -> SdkError {
        SdkError::Internal(message.into())
    }
}
