//! The error type of the negative delivery report codec.

use crate::cbor::ScanError;
use crate::cpim::CpimError;
use thiserror::Error;

/// Why a negative delivery report was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReportError {
    /// The bytes are not acceptable CBOR.
    #[error("invalid CBOR: {0}")]
    Cbor(String),
    /// The input is over [`super::MAX_REPORT_BYTES`] or holds too many items.
    #[error("negative report is too large")]
    TooLarge,
    /// Well-formed CBOR that is not a report, or a field that breaks its rule.
    #[error("invalid negative report: {0}")]
    Invalid(&'static str),
    /// A report version this implementation does not know.
    #[error("unsupported negative report version {0}")]
    UnsupportedVersion(u64),
    /// A failure reason outside the RCC.16 codes 0 to 5.
    #[error("unknown failure reason {0}")]
    UnknownReason(u64),
    /// The CPIM envelope around the report is malformed.
    #[error("bad report envelope: {0}")]
    Envelope(#[from] CpimError),
}

impl From<ScanError> for ReportError {
    fn from(e: ScanError) -> Self {
        match e {
            ScanError::TooLarge | ScanError::TooManyItems => ReportError::TooLarge,
            other => ReportError::Cbor(other.describe()),
        }
    }
}
