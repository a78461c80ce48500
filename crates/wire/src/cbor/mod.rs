//! CBOR plumbing shared by the MIMI codecs.
//!
//! Decoding untrusted CBOR happens in three steps:
//! 1. [`scan`] walks the bytes iteratively (no recursion) and refuses, before
//!    anything is allocated, input that is too large, nested too deep, holds
//!    too many items, uses indefinite lengths, claims more bytes than remain,
//!    or has invalid UTF-8 in a text string;
//! 2. `ciborium` builds a [`ciborium::Value`] tree from the scanned bytes;
//! 3. the caller maps the tree to its typed structure ([`read`]) and compares
//!    its own deterministic re-encoding ([`write`]) with the input, so only
//!    deterministically encoded input (RFC 8949 §4.2.1) is accepted.

pub(crate) mod read;
pub(crate) mod scan;
pub(crate) mod write;

use ciborium::Value;
pub(crate) use scan::{ScanError, ScanLimits};

/// Scans `bytes` against `limits`, then parses them into a value tree.
pub(crate) fn parse(bytes: &[u8], limits: &ScanLimits) -> Result<Value, ScanError> {
    scan::scan(bytes, limits)?;
    // The scan bounds the depth; the recursion limit is a second fence.
    ciborium::de::from_reader_with_recursion_limit(bytes, limits.max_depth + 1)
        .map_err(|e| ScanError::Parser(e.to_string()))
}
