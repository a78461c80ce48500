//! Wire types and codecs shared by Crosslock clients and servers.
//!
//! Everything here is pure: no I/O, no clock, no randomness. Salts, ids and
//! timestamps are arguments. Every decoder takes untrusted bytes, returns a
//! typed error instead of panicking, bounds its input size and nesting depth
//! before it allocates, and never trusts a length field beyond the bytes that
//! are actually there.
//!
//! | module | format | media type | reference |
//! |---|---|---|---|
//! | [`cpim`] | CPIM message, plus the RCC.16 `mls` header namespace ([`cpim::MlsEnvelope`]) | `message/cpim` | RFC 3862; GSMA RCC.16 |
//! | [`aad`] | PrivateMessage `authenticated_data` | — | GSMA RCC.16; RFC 9420 §2.1 |
//! | [`varint`] | MLS variable-length vector length prefix | — | RFC 9420 §2.1.2 |
//! | [`mimi`] | MIMI content container (CBOR) | `application/mimi-content` | draft-ietf-mimi-content |
//! | [`status`] | MIMI message status report (CBOR) | `application/mimi-message-status` | draft-mahy-mimi-message-status |
//! | [`typing`] | isComposing typing indicator (XML) | `application/im-iscomposing+xml` | RFC 3994 |
//! | [`file_info`] | FileInfo: one file's name, type, key, IV, tag, length (protobuf) | `message/mls-rcs-file-info` | GSMA RCC.16 §7.8.1, Annex C.2 |
//! | [`ft_http`] | FT-HTTP descriptor: the upload's URL, expiry, size (XML) | `application/vnd.gsma.rcs-ft-http+xml` | GSMA RCC.07 §3.2.5 |
//! | [`imdn`] | disposition notification (XML) with the RCC.16 failure-reason arms | `message/imdn+xml` | RFC 5438; GSMA RCC.16 §7.6 |
//! | [`report`] | signed receipts: the `rcs_signature` derived content and the receipt's CPIM envelope | `message/imdn+xml` | GSMA RCC.16 §7.6.2–§7.6.3 |
//! | [`inner`] | the framed MIME entity inside an MLS application message (version, format, sender generation) | — | RFC 2045, RFC 5322; RCC.16 as deployed |
//! | [`message_id`] | transport message ids (`Mx…`, UUID) | — | RCC.16 as deployed |
//! | [`rcc16`] | the RCC.16 revision setting, capability feature tags, GroupContext extensions 0xF001–0xF011, Annex C.1 commitments, custom proposals | — | GSMA RCC.16 |
//! | [`content_type`] | the media type names above and the RCC.16 `message/mls*` types | — | GSMA RCC.16 |
//!
//! How the layers nest for one text message:
//!
//! ```
//! use crosslock_wire::{content_type, cpim::MlsEnvelope, inner::ApplicationPayload, mimi::MimiContent};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // 1. The content, with a salt the caller drew from its RNG.
//! let content = MimiContent::text([7; 16], "hello");
//! let id = content.message_id("tel:+15551234567", "urn:uuid:room");
//! // 2. The MLS application message plaintext, framed with the MLS
//! //    generation it will be encrypted under (from mls-rs).
//! let plaintext = ApplicationPayload::new(content_type::MIMI_CONTENT, content.encode()).encode(0);
//! // 3. MLS encrypts `plaintext` (not shown); the ciphertext goes in the CPIM envelope.
//! let ciphertext = plaintext.clone();
//! let envelope = MlsEnvelope {
//!     from: Some("<tel:+15551234567>".into()),
//!     to: None,
//!     date_time: None,
//!     message_id: crosslock_wire::message_id::mint([9; 16]),
//!     era: 1,
//!     epoch_authenticator: [0; 32],
//!     original_message_id: None,
//!     content_type: content_type::MESSAGE_MLS.into(),
//!     body: ciphertext,
//! };
//! let wire = envelope.encode();
//!
//! // The receiver reverses each step, checking as it goes.
//! let received = MlsEnvelope::decode(&wire)?;
//! let framed = ApplicationPayload::decode(&received.body)?;
//! assert_eq!(framed.generation, 0);
//! let payload = framed.payload;
//! assert_eq!(payload.media_type(), content_type::MIMI_CONTENT);
//! let back = MimiContent::decode(&payload.body)?;
//! assert_eq!(back.text_body(), Some("hello"));
//! assert_eq!(back.message_id("tel:+15551234567", "urn:uuid:room"), id);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod aad;
pub mod api;
mod cbor;
pub mod content_type;
pub mod cpim;
pub mod file_info;
pub mod ft_http;
pub mod imdn;
pub mod inner;
pub mod message_id;
pub mod mimi;
pub mod rcc16;
pub mod report;
pub mod status;
mod text;
pub mod typing;
pub mod varint;
mod xml;

#[cfg(test)]
mod test_util;
