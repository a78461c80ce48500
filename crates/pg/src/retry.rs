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

/// A store transaction's failure: the database's (run again when it
/// aborted the transaction) or the store's own refusal `E`, which rolls the
/// transaction back and is never retried.
#[derive(Debug)]
pub enum TxFail<E> {
    /// The database failed (or aborted the transaction).
    Db(sqlx::Error),
    /// The store refused (a rule of its own).
    Refused(E),
}

impl<E> From<sqlx::Error> for TxFail<E> {
    fn from(e: sqlx::Error) -> Self {
        TxFail::Db(e)
    }
}

impl<E> Retryable for TxFail<E> {
    fn is_retryable(&self) -> bool {
        matches!(self, TxFail::Db(e) if e.is_retryable())
    }
}

/// Ends a transaction with the store's refusal `e`.
pub fn refuse<T, E>(e: E) -> Result<T, TxFail<E>> {
    Err(TxFail::Refused(e))
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
