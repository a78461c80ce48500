//! Test support, not used by the service: the conformance checks every
//! [`DsStore`] implementation passes (GUIDE §3.5), one per narrow trait.
//!
//! Each check takes `fresh`, which makes a new, empty store each time it
//! is called, and answers the first violation as the error. A check may use
//! the other traits to observe what the one under test did (an accepted
//! message is seen in an inbox), so each asks for a whole [`DsStore`].
//! They include what a hostile device or peer would want a store to get
//! wrong: acknowledging another device's message, a peer delivering into a
//! conversation hosted here or followed at another hub, replaying a
//! delivery, pinning an epoch it did not open. [`check_concurrency`] runs
//! concurrent callers over several instances of one store, as provider
//! instances sharing one database are (DS-STORE-1).

mod concurrency;
mod conversations;
mod epoch_log;
mod fixtures;
mod inbox;
mod maintenance;
mod outbox;
mod push_tokens;

pub use concurrency::check_concurrency;
pub use conversations::check_conversation_store;
pub use epoch_log::check_epoch_log;
pub use inbox::check_inbox_store;
pub use maintenance::check_maintenance;
pub use outbox::check_outbox_store;
pub use push_tokens::check_push_tokens;

use super::DsStore;

/// Every check on stores from `fresh`.
pub fn check_ds_store<S: DsStore>(fresh: impl Fn() -> S) -> Result<(), String> {
    check_conversation_store(&fresh)?;
    check_epoch_log(&fresh)?;
    check_inbox_store(&fresh)?;
    check_outbox_store(&fresh)?;
    check_push_tokens(&fresh)?;
    check_maintenance(&fresh)?;
    Ok(())
}
