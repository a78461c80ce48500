//! The CPIM envelope of a negative delivery report.
//!
//! ```text
//! NS: imdn <urn:ietf:params:imdn>
//! imdn.Message-ID: <id>
//!
//! Content-Type: application/vnd.crosslock.negative-report+cbor
//! Content-Length: <n>
//!
//! <SignedNegativeReport, CBOR>
//! ```
//!
//! No `mls.*` headers: the report is not an MLS message and is readable by
//! a member whose group state is broken. Decoding requires the
//! `imdn.Message-ID` (resolved through the `NS` declarations, RFC 3862 §5),
//! the exact content type (ASCII case-insensitive, no parameters) and a
//! binary body.

use super::{ReportError, SignedNegativeReport};
use crate::content_type::NEGATIVE_REPORT;
use crate::cpim::{CpimError, Header, IMDN_NAMESPACE, Message, is_valid_message_id};

/// A signed report in its CPIM envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportEnvelope {
    /// `imdn.Message-ID` of the report itself (not of the failed message).
    pub message_id: String,
    /// The report.
    pub report: SignedNegativeReport,
}

impl ReportEnvelope {
    /// Encodes the envelope with a Content-Length.
    pub fn encode(&self) -> Vec<u8> {
        let body = self.report.encode();
        Message {
            headers: vec![
                Header::new("NS", format!("imdn <{IMDN_NAMESPACE}>")),
                Header::new("imdn.Message-ID", self.message_id.as_str()),
            ],
            content_headers: vec![
                Header::new("Content-Type", NEGATIVE_REPORT),
                Header::new("Content-Length", body.len().to_string()),
            ],
            body,
        }
        .encode()
    }

    /// Whether a decoded CPIM message claims to carry a report.
    pub fn is_report(message: &Message) -> bool {
        message
            .content_type()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(NEGATIVE_REPORT))
    }

    /// Decodes and checks an envelope (not the report's signature).
    pub fn decode(bytes: &[u8]) -> Result<ReportEnvelope, ReportError> {
        Self::from_message(Message::decode(bytes)?)
    }

    /// Checks a decoded CPIM message and decodes the report it carries.
    pub fn from_message(message: Message) -> Result<ReportEnvelope, ReportError> {
        if !Self::is_report(&message) {
            return Err(CpimError::UnsupportedContentType(
                message.content_type().unwrap_or_default().to_owned(),
            )
            .into());
        }
        if let Some(encoding) = message
            .content_headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("Content-Transfer-Encoding"))
            && !encoding.value.trim().eq_ignore_ascii_case("binary")
        {
            return Err(CpimError::InvalidHeader {
                name: encoding.name.clone(),
                reason: "only binary bodies are supported",
            }
            .into());
        }
        let message_id = message
            .namespaced_header(IMDN_NAMESPACE, "Message-ID")?
            .ok_or(CpimError::MissingHeader("imdn.Message-ID"))?;
        if !is_valid_message_id(message_id) {
            return Err(CpimError::InvalidHeader {
                name: "imdn.Message-ID".to_owned(),
                reason: "message id is not 1 to 128 visible ASCII characters",
            }
            .into());
        }
        Ok(ReportEnvelope {
            message_id: message_id.to_owned(),
            report: SignedNegativeReport::decode(&message.body)?,
        })
    }
}
