//! Running a transaction again when PostgreSQL aborted it.

use std::future::Future;
use std::time::Duration;

/// An error that may say "run the transaction again".
pub trait Retryable {
    /// Whether the transaction was aborted by the database so that running
    /// it again may succeed (see [`is_retryable`](crate::is_retryable)).
    fn is_retryable(&self) -> bool;
}

impl Retryable for sqlx::Error {
    fn is_retryable(&self) -> bool {
        crate::is_retryable(self)
    }
}

impl Retryable for crate::Error {
    fn is_retryable(&self) -> bool {
        matches!(self, crate::Error::Query(e) if crate::is_retryable(e))
    }
}

/// How often a transaction is tried in all.
const ATTEMPTS: u32 = 5;

/// Runs `attempt` (one whole transaction) until it succeeds, fails for a
/// reason other than a serialization failure or deadlock, or has been
/// tried five times. The stores take their locks in one order (so
/// deadlocks should not happen); this is the net for when PostgreSQL still
/// aborts one, so the caller sees an answer instead of a storage error.
pub async fn retry<T, E, F, Fut>(mut attempt: F) -> Result<T, E>
where
    E: Retryable,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut tried = 1;
    loop {
        match attempt().await {
            Err(e) if e.is_retryable() && tried < ATTEMPTS => {
                tracing::debug!(
                    attempt = tried,
                    "transaction aborted by the database; retrying"
                );
                // A short, growing pause lets the other transaction finish.
                tokio::time::sleep(Duration::from_millis(5 << tried)).await;
                tried += 1;
            }
            other => return other,
        }
    }
}
