//! MIMI content (`application/mimi-content`, draft-ietf-mimi-content).
//!
//! The container is a CBOR array (draft-ietf-mimi-content §4.1, Appendix A.1):
//!
//! ```text
//! mimiContent = [
//!   salt: bstr .size 16,
//!   replaces: null / MessageId,
//!   topicId: bstr,
//!   expires: null / Expiration,
//!   inReplyTo: null / MessageId,
//!   mimiExtensions: { ? 1 => tstr (senderUri), ? 2 => tstr (roomUri), * name => any },
//!   nestedPart: NestedPart
//! ]
//! ```
//!
//! Encoding is deterministic (§6.1, RFC 8949 §4.2.1) and decoding accepts
//! only deterministic encodings: the decoder re-encodes what it read and
//! refuses the input if the bytes differ. Since the message id hashes the
//! encoded bytes (§3.3), every accepted message has exactly one encoding.
//!
//! Limits: at most [`MAX_CONTENT_BYTES`] of input; NestedParts nested at most
//! [`MAX_PART_DEPTH`] levels (§6.3); extension values at most 4 levels of
//! arrays, maps and tags counting the extensions map (§6.3), at most
//! [`MAX_EXTENSION_VALUE_BYTES`] encoded, with map keys that are integers
//! representable as doubles, text or bytes (§6.2). Any CBOR nesting deeper
//! than 16 is refused by an iterative scan before a value tree is built, so a
//! nesting bomb costs a few bytes of reading, not the stack.

mod build;
mod content;
mod error;
mod expiration;
mod extensions;
mod kind;
mod message_id;
mod part;

pub use content::MimiContent;
pub use error::MimiError;
pub use expiration::Expiration;
pub use extensions::{ExtensionName, Extensions};
pub use kind::ContentKind;
pub use message_id::MessageId;
pub use part::{Disposition, ExternalPart, NestedPart, PartBody, PartSemantics};

/// The largest encoded MIMI content accepted, in bytes.
pub const MAX_CONTENT_BYTES: usize = 1 << 20;
/// How deep NestedParts may nest (draft-ietf-mimi-content §6.3); the
/// top-level part is level 1.
pub const MAX_PART_DEPTH: usize = 4;
/// The largest encoded extension value, in bytes (draft-ietf-mimi-content
/// §4.3: `value = any .size (0..4095)`).
pub const MAX_EXTENSION_VALUE_BYTES: usize = 4095;

#[cfg(test)]
mod tests;
