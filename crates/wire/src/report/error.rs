//! The error type of the signed-receipt codecs.

use crate::cpim::CpimError;
use crate::imdn::ImdnError;
use crate::varint::VarintError;
use thiserror::Error;

/// Why a receipt's envelope or derived content was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReportError {
    /// The derived content ends too early.
    #[error("derived content is truncated")]
    Truncated,
    /// A length prefix is not minimal, or too large.
    #[error("bad length prefix: {0}")]
    Varint(#[from] VarintError),
    /// Over a size limit.
    #[error("receipt is too large")]
    TooLarge,
    /// A structure version other than 1.
    #[error("unsupported derived content version {0}")]
    UnsupportedVersion(u16),
    /// A receipt type other than 1 (delivery) or 2 (display).
    #[error("unknown receipt type {0}")]
    UnknownType(u8),
    /// A status code outside the type's range.
    #[error("unknown receipt status {0}")]
    UnknownStatus(u16),
    /// A failure reason code over 6.
    #[error("unknown failure reason {0}")]
    UnknownReason(u16),
    /// A field that breaks its rule.
    #[error("invalid receipt: {0}")]
    Invalid(&'static str),
    /// The IMDN document is refused.
    #[error("bad IMDN: {0}")]
    Imdn(#[from] ImdnError),
    /// The CPIM envelope around the receipt is malformed.
    #[error("bad receipt envelope: {0}")]
    Envelope(#[from] CpimError),
}
