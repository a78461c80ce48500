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

/// Logs a failed callback and drops the failure: the SDK keeps going.
pub(crate) fn log_failure(callback: &str, result: Result<(), CallbackError>) {
    // The reason is the app's own text (a declared `Failed(reason)` or an
    // exception's first line) and may name a contact or a number: only
    // which callback failed is logged, never the reason (GUIDE: no raw
    // phone number in any log).
    if result.is_err() {
        tracing::warn!(callback, "the app's callback threw; the SDK carries on");
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
        let long = unexpected(&"x".repeat(1000));
        let CallbackError::Failed { reason } = &long;
        assert_eq!(reason.chars().count(), MAX_REASON);
        let CallbackError::Failed { reason } = unexpected("");
        assert!(reason.contains("without saying why"));
    }

    /// A failed callback's reason (declared, or an exception's text) never
    /// reaches the log, whatever shape it has; the failure itself does.
    #[test]
    fn a_log_never_shows_the_reason_or_a_number() {
        for reason in [
            "IllegalStateException: no contact for +447700900123",
            "Contact447700900123 unknown",
            "+447700900123 is unknown",
            "447700900123",
        ] {
            let logs = crate::testlog::captured(|| {
                log_failure(
                    "EventListener.onEvent",
                    Err(CallbackError::Failed {
                        reason: reason.into(),
                    }),
                );
                log_failure("EventListener.onEvent", Err(unexpected(reason)));
            });
            assert!(logs.contains("EventListener.onEvent"), "{logs}");
            assert!(!logs.contains("7700900123"), "{reason}: {logs}");
        }
    }
}
