//! CPIM messages (RFC 3862) and the RCC.16 envelope for MLS bodies.
//!
//! [`Message`] is the generic format: message headers, a blank line, MIME
//! content headers, a blank line, then the body. [`MlsEnvelope`] is the typed
//! view RCC.16 requires for every MLS body: the `imdn.Message-ID`, and in the
//! namespace `mls <http://www.gsma.com/rcs/mls>` the headers `mls.Era-ID` and
//! `mls.Epoch-Authenticator`; a body missing either is dropped.
//!
//! Parsing is strict: CRLF line endings only (a bare CR or LF is refused, so
//! two parsers cannot disagree on where a header ends), no header folding,
//! header names per the RFC 3862 §3.1 `Header-name` rule, header values
//! without control characters, bounded header section and body sizes.

pub mod addressing;
mod envelope;
mod error;
mod grammar;
mod message;
mod mls_values;
mod namespace;

pub use envelope::{GSMA_MLS_NAMESPACE, IMDN_NAMESPACE, MlsEnvelope};
pub use error::CpimError;
pub use message::{Header, Limits, MAX_BODY, MAX_HEADER_BYTES, MAX_HEADERS, Message};
pub use mls_values::is_valid_message_id;
