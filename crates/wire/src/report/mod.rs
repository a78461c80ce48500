//! Signed RCC.16 receipts: delivery, display and negative delivery IMDNs
//! with an `rcs_signature` (`../shared/rcc16-deployed.md` §5 "Signature",
//! RCC.16 §7.6.2 / §7.6.3).
//!
//! A receipt is a plaintext RFC 5438 IMDN ([`crate::imdn`]) in CPIM
//! ([`ReceiptEnvelope`]), never encrypted. Its CPIM header
//! `mls.MLS-Derived-Content-Signature` carries, in base64, an MLS
//! PublicMessage with an `rcs_signature` (0xF002) custom proposal whose
//! body is empty and whose FramedContent `authenticated_data` is the
//! [`DerivedContent`] of the receipt: the member's MLS signature (and
//! membership tag) over what the IMDN says. Building and verifying the
//! PublicMessage needs the group state and is the client's job; this
//! module is the byte layout:
//!
//! ```text
//! DerivedContent = u16 1 ‖ opaque own_receipt_message_id<V> ‖ u32 era
//!                  ‖ u8 type (1 delivery, 2 display) ‖ inner ‖ 00
//! VerifiableDeliveryImdn = u16 1 ‖ u16 status (1 delivered, 2 failed, 3 forbidden, 4 error)
//!                  ‖ opaque reported_message_id<V> ‖ u16 failure_reason (0 unset, 1–6)
//!                  [‖ u16 0x0000, on the negative (failed) form only]
//! VerifiableDisplayImdn = u16 1 ‖ u16 status (1 displayed, 2 forbidden, 3 error)
//!                  ‖ opaque message_id<V>
//! VerifiableVideoChatMessage = u16 1 ‖ opaque proto<V>
//! ```
//!
//! `<V>` is the MLS variable-length vector (RFC 9420 §2.1.2), minimal
//! encoding only. The outer id is the receipt's own `imdn.Message-ID`; the
//! inner one the reported message's. The extra `u16 0x0000` after a failed
//! status is what Google's decoder needs (§5, device-tested); we write it
//! on the failed form only and accept it, or its absence, on any delivery
//! form when decoding.

mod derived;
mod envelope;
mod error;

pub use derived::{
    DerivedContent, RECEIPT_TYPE_DELIVERY, RECEIPT_TYPE_DISPLAY, VERSION, VerifiableDeliveryImdn,
    VerifiableDisplayImdn, VerifiableImdn, VerifiableVideoChatMessage,
};
pub use envelope::{MAX_SIGNATURE_BYTES, ReceiptEnvelope};
pub use error::ReportError;

#[cfg(test)]
mod tests;
