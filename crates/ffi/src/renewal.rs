//! Where the lifecycle gets a subscriber token to renew the device's
//! credentials by itself (SDK-RENEW-2): the app's carrier entitlement
//! client, behind a foreign trait.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use crosslock_client::credential::PhoneNumber;

use crate::callback::CallbackError;

/// The app's source of subscriber tokens (on Android and iOS, the carrier's
/// entitlement server gives one silently where it can). Asked at most once
/// an hour while renewal is due, from the lifecycle (`maintain`, or the
/// listener started with `start`), on the lifecycle's thread while the
/// device is locked: do not call the device from it. The SDK waits at most
/// 15 seconds for an answer (every other device
/// call waits meanwhile); a source that has not answered by then counts as
/// failed, and it is not asked again until that call returns. Return
/// `null`/`nil` when only the user can get one: the app then hears
/// `Event.CredentialRenewalDue` and calls `renewCredentials` itself. A
/// thrown exception is reported as a failed lifecycle job (the exception's
/// text is not kept: it is the app's and may hold a number) and asked
/// again an hour later.
#[uniffi::export(with_foreign)]
pub trait SubscriberTokenSource: Send + Sync {
    /// A subscriber token for `number` (E.164), or none.
    fn subscriber_token(&self, number: String) -> Result<Option<String>, CallbackError>;
}

/// How long the SDK waits for the app's token source, with the device
/// locked (a slow entitlement server must not freeze every device call).
pub(crate) const TOKEN_SOURCE_TIMEOUT_SECS: u64 = 15;

/// The SDK's view of the app's source: each call runs on its own thread
/// and is waited for at most `timeout`; one still running past it is left
/// to finish on its own (nothing can cancel a foreign call) and no second
/// one starts meanwhile.
pub(crate) struct ForeignTokens {
    source: Arc<dyn SubscriberTokenSource>,
    timeout: Duration,
    /// A call is running (possibly one abandoned after the timeout).
    busy: Arc<AtomicBool>,
}

impl ForeignTokens {
    pub(crate) fn new(source: Arc<dyn SubscriberTokenSource>) -> Self {
        Self::with_timeout(source, Duration::from_secs(TOKEN_SOURCE_TIMEOUT_SECS))
    }

    fn with_timeout(source: Arc<dyn SubscriberTokenSource>, timeout: Duration) -> Self {
        ForeignTokens {
            source,
            timeout,
            busy: Arc::default(),
        }
    }
}

impl crosslock_sdk::SubscriberTokens for ForeignTokens {
    fn subscriber_token(&self, number: &PhoneNumber) -> Result<Option<String>, String> {
        if self.busy.swap(true, Ordering::AcqRel) {
            return Err("the app's token source has not answered its previous call yet".into());
        }
        let (answer, answered) = mpsc::sync_channel(1);
        let source = self.source.clone();
        let busy = self.busy.clone();
        let number = number.as_str().to_owned();
        let spawned = std::thread::Builder::new()
            .name("crosslock-token-source".into())
            .spawn(move || {
                let result = source.subscriber_token(number);
                busy.store(false, Ordering::Release);
                // The waiter may have given up: nothing to tell then.
                let _ = answer.send(result);
            });
        if spawned.is_err() {
            self.busy.store(false, Ordering::Release);
            return Err("the SDK could not start a thread for the app's token source".into());
        }
        match answered.recv_timeout(self.timeout) {
            Ok(result) => result
                // The app's message may hold a number: none of it is kept.
                .map_err(|_| "the app's token source failed".to_owned()),
            Err(_) => Err(format!(
                "the app's token source did not answer within {} s",
                self.timeout.as_secs()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crosslock_sdk::SubscriberTokens;

    use super::*;

    struct Source {
        answer: Result<Option<String>, CallbackError>,
        delay: Duration,
        calls: std::sync::atomic::AtomicUsize,
    }

    fn source(answer: Result<Option<String>, CallbackError>) -> Source {
        Source {
            answer,
            delay: Duration::ZERO,
            calls: Default::default(),
        }
    }

    impl SubscriberTokenSource for Source {
        fn subscriber_token(&self, _number: String) -> Result<Option<String>, CallbackError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(self.delay);
            match &self.answer {
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
        let some = ForeignTokens::new(Arc::new(source(Ok(Some("t".into())))));
        assert_eq!(some.subscriber_token(&number()), Ok(Some("t".into())));
        assert_eq!(some.subscriber_token(&number()), Ok(Some("t".into())));
        let none = ForeignTokens::new(Arc::new(source(Ok(None))));
        assert_eq!(none.subscriber_token(&number()), Ok(None));
    }

    #[test]
    fn a_failure_never_keeps_the_apps_message() {
        let failing = ForeignTokens::new(Arc::new(source(Err(CallbackError::Failed {
            reason: "java.io.IOException: no token for +447700900123".into(),
        }))));
        let Err(why) = failing.subscriber_token(&number()) else {
            panic!("a failing source gave a token")
        };
        assert!(why.contains("token source failed"), "{why}");
        assert!(!why.contains("447700900123"), "{why}");
    }

    /// A source that hangs (a slow entitlement server) is waited for at
    /// most the timeout, and not asked again while its call still runs.
    #[test]
    fn a_slow_source_is_bounded_and_not_piled_up() {
        let slow = Arc::new(Source {
            delay: Duration::from_millis(1500),
            ..source(Ok(Some("late".into())))
        });
        let tokens = ForeignTokens::with_timeout(slow.clone(), Duration::from_millis(200));
        // Waiting for it would have given the token: the error is the
        // proof it was not waited for.
        let Err(why) = tokens.subscriber_token(&number()) else {
            panic!("a timed-out source gave a token")
        };
        assert!(why.contains("did not answer"), "{why}");
        // Still running: refused at once, the source not asked again.
        let Err(why) = tokens.subscriber_token(&number()) else {
            panic!("a busy source gave a token")
        };
        assert!(why.contains("previous call"), "{why}");
        assert_eq!(slow.calls.load(Ordering::SeqCst), 1);
        // Once it has returned, it is asked again.
        std::thread::sleep(Duration::from_millis(1600));
        let Err(why) = tokens.subscriber_token(&number()) else {
            panic!("a timed-out source gave a token")
        };
        assert!(why.contains("did not answer"), "{why}");
        assert_eq!(slow.calls.load(Ordering::SeqCst), 2);
    }
}
