//! What a device remembers of the messages it processed and sent, apart
//! from the MLS state: two ledgers in the encrypted store.
//!
//! - [`seen`]: the replay ledger (`Table::Seen`): every message, receipt
//!   and Welcome processed, and the marks that a resend was shown; pruned
//!   past the replay window by `maintenance`.
//! - [`sent`]: the sent ledger (`Table::Sent`): the application payloads
//!   this device sent, kept for resending after a negative delivery report
//!   (`crate::recovery`); pruned past epoch retention.

pub(crate) mod seen;
pub(crate) mod sent;
