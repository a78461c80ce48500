//! What happens when a callback the app implements (`EventListener`,
//! `FileProgress`, `Attester`) fails.
//!
//! Each such callback returns `Result<_, CallbackError>`, so UniFFI turns
//! anything the Kotlin or Swift code throws into a [`CallbackError`] value
//! (through `From<UnexpectedUniFFICallbackError>` for exceptions of other
//! types) instead of panicking inside the scaffolding, which is what it
//! does for a callback declared infallible. The SDK then logs the failure
//! (the exception's type only: its message is the app's text and may hold
//! a phone number) and carries on.

/// Why a callback the app implements failed. Kotlin: throw
/// `CallbackException.Failed(reason)` or any other exception; Swift: throw
/// `CallbackError.Failed(reason:)` or any other error. Either way the SDK
/// keeps running (and, for an `Attester`, stops the enrolment).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum CallbackError {
    /// The callback failed; `reason` is the app's own explanation.
    #[error("{reason}")]
    Failed { reason: String },
}

/// The longest reason kept from an exception the app did not declare.
const MAX_REASON: usize = 200;

impl From<uniffi::UnexpectedUniFFICallbackError> for CallbackError {
    /// Any other exception: UniFFI hands over its stack trace (Kotlin) or
    /// description (Swift). Only its first line is kept, shortened.
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        let first = e.reason.lines().next().unwrap_or_default().trim();
        let reason: String = first.chars().take(MAX_REASON).collect();
        CallbackError::Failed {
            reason: if reason.is_empty() {
                "the app's callback failed without saying why".to_owned()
            } else {
                reason
            },
        }
    }
}

impl CallbackError {
    /// What may go in a log: the exception's type name when the reason
    /// starts with one (`java.lang.IllegalStateException: …`), never the
    /// message after it.
    pub(crate) fn kind_for_log(&self) -> &str {
        let CallbackError::Failed { reason } = self;
        let head = reason.split([':', ' ', '(']).next().unwrap_or_default();
        let is_type_name = !head.is_empty()
            && head.chars().any(|c| c.is_ascii_alphabetic())
            && head
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '$'))
            && head.chars().filter(char::is_ascii_digit).count() <= 3;
        if is_type_name { head } else { "(not shown)" }
    }
}

/// Logs a failed callback and drops the failure: the SDK keeps going.
pub(crate) fn log_failure(callback: &str, result: Result<(), CallbackError>) {
    if let Err(e) = result {
        tracing::warn!(
            callback,
            error_type = e.kind_for_log(),
            "the app's callback threw; the SDK carries on"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unexpected(reason: &str) -> CallbackError {
        uniffi::UnexpectedUniFFICallbackError::new(reason).into()
    }

    #[test]
    fn an_undeclared_exception_keeps_its_first_line_only() {
        let e = unexpected(
            "java.lang.IllegalStateException: boom\n\tat crosslock.test.Thrower.onEvent(Scenario.kt:10)",
        );
        let CallbackError::Failed { reason } = &e;
        assert_eq!(reason, "java.lang.IllegalStateException: boom");
        assert_eq!(e.kind_for_log(), "java.lang.IllegalStateException");
        let long = unexpected(&"x".repeat(1000));
        let CallbackError::Failed { reason } = &long;
        assert_eq!(reason.chars().count(), MAX_REASON);
        let CallbackError::Failed { reason } = unexpected("");
        assert!(reason.contains("without saying why"));
    }

    #[test]
    fn a_log_never_shows_the_message_or_a_number() {
        // The message may name a contact: only the type name is logged.
        let e = CallbackError::Failed {
            reason: "IllegalStateException: no contact for +447700900123".into(),
        };
        assert_eq!(e.kind_for_log(), "IllegalStateException");
        for reason in [
            "+447700900123 is unknown",
            "447700900123",
            "no such contact",
        ] {
            let e = CallbackError::Failed {
                reason: reason.into(),
            };
            assert!(!e.kind_for_log().contains("4477"), "{reason}");
        }
    }
}
