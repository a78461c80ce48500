//! Where the lifecycle gets a subscriber token to renew the device's
//! credentials by itself (SDK-RENEW-2): the app's carrier entitlement
//! client, behind a foreign trait.

use std::sync::Arc;

use crosslock_client::credential::PhoneNumber;

use crate::callback::CallbackError;

/// The app's source of subscriber tokens (on Android and iOS, the carrier's
/// entitlement server gives one silently where it can). Asked at most once
/// an hour while renewal is due, from the lifecycle (`maintain`, or the
/// listener started with `start`), while the device is locked: do not call
/// the device from it. Return `null`/`nil` when only the user can get one:
/// the app then hears `Event.CredentialRenewalDue` and calls
/// `renewCredentials` itself. A thrown exception is reported as a failed
/// lifecycle job and asked again an hour later.
#[uniffi::export(with_foreign)]
pub trait SubscriberTokenSource: Send + Sync {
    /// A subscriber token for `number` (E.164), or none.
    fn subscriber_token(&self, number: String) -> Result<Option<String>, CallbackError>;
}

/// The SDK's view of the app's source.
pub(crate) struct ForeignTokens(pub(crate) Arc<dyn SubscriberTokenSource>);

impl crosslock_sdk::SubscriberTokens for ForeignTokens {
    fn subscriber_token(&self, number: &PhoneNumber) -> Result<Option<String>, String> {
        self.0
            .subscriber_token(number.as_str().to_owned())
            // The app's message may hold a number: only its type is kept.
            .map_err(|e| format!("the app's token source failed ({})", e.kind_for_log()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crosslock_sdk::SubscriberTokens;

    use super::*;

    struct Source(Result<Option<String>, CallbackError>);

    impl SubscriberTokenSource for Source {
        fn subscriber_token(&self, _number: String) -> Result<Option<String>, CallbackError> {
            match &self.0 {
                Ok(t) => Ok(t.clone()),
                Err(CallbackError::Failed { reason }) => Err(CallbackError::Failed {
                    reason: reason.clone(),
                }),
            }
        }
    }

    fn number() -> PhoneNumber {
        PhoneNumber::parse("+447700900123").unwrap()
    }

    #[test]
    fn a_token_or_none_passes_through() {
        let some = ForeignTokens(Arc::new(Source(Ok(Some("t".into())))));
        assert_eq!(some.subscriber_token(&number()), Ok(Some("t".into())));
        let none = ForeignTokens(Arc::new(Source(Ok(None))));
        assert_eq!(none.subscriber_token(&number()), Ok(None));
    }

    #[test]
    fn a_failure_keeps_the_type_never_the_apps_message() {
        let failing = ForeignTokens(Arc::new(Source(Err(CallbackError::Failed {
            reason: "java.io.IOException: no token for +447700900123".into(),
        }))));
        let Err(why) = failing.subscriber_token(&number()) else {
            panic!("a failing source gave a token")
        };
        assert!(why.contains("java.io.IOException"), "{why}");
        assert!(!why.contains("447700900123"), "{why}");
    }
}
