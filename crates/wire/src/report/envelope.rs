//! The CPIM envelope of a signed receipt (§3c, §5).
//!
//! ```text
//! NS: imdn <urn:ietf:params:imdn>
//! NS: mls <http://www.gsma.com/rcs/mls>
//! imdn.Message-ID: <the receipt's own id>
//! DateTime: <optional>
//! mls.MLS-Derived-Content-Signature: <base64 of the rcs_signature PublicMessage>
//! mls.Era-ID: <era>
//!
//! Content-Type: message/imdn+xml
//! Content-Disposition: notification
//! Content-Length: <n>
//!
//! <the IMDN document>
//! ```
//!
//! The signature header comes before `mls.Era-ID`, as deployed clients
//! write it. A receipt never carries `mls.Epoch-Authenticator` nor
//! `mls.Original-Message-ID`: decoding refuses either. Names resolve
//! through the `NS` declarations and match ASCII case-insensitively
//! (`Era-Id` is accepted). The content type must be `message/imdn+xml`
//! (a `charset=UTF-8` parameter is tolerated), the disposition
//! `notification`, the body binary.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::ReportError;
use crate::content_type::IMDN;
use crate::cpim::{
    CpimError, GSMA_MLS_NAMESPACE, Header, IMDN_NAMESPACE, Message, is_valid_message_id,
};
use crate::imdn::{Imdn, MAX_DOCUMENT_BYTES};

/// Largest signature PublicMessage accepted, bytes (a P-384 member's
/// proposal with a 128-byte id is under 500).
pub const MAX_SIGNATURE_BYTES: usize = 2048;

const SIGNATURE: &str = "MLS-Derived-Content-Signature";

/// A receipt in its CPIM envelope (the signature not yet verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptEnvelope {
    /// `imdn.Message-ID` of the receipt itself (not of the reported
    /// message).
    pub message_id: String,
    /// CPIM `DateTime`, passed through.
    pub date_time: Option<String>,
    /// `mls.Era-ID`.
    pub era: u32,
    /// The MLS message (a PublicMessage) of
    /// `mls.MLS-Derived-Content-Signature`, base64-decoded.
    pub signature: Vec<u8>,
    /// The IMDN.
    pub imdn: Imdn,
}

fn invalid_header(name: &str, reason: &'static str) -> ReportError {
    CpimError::InvalidHeader {
        name: name.to_owned(),
        reason,
    }
    .into()
}

impl ReceiptEnvelope {
    /// Encodes the envelope with a Content-Length.
    pub fn encode(&self) -> Vec<u8> {
        let body = self.imdn.encode();
        let mut headers = vec![
            Header::new("NS", format!("imdn <{IMDN_NAMESPACE}>")),
            Header::new("NS", format!("mls <{GSMA_MLS_NAMESPACE}>")),
            Header::new("imdn.Message-ID", self.message_id.as_str()),
        ];
        if let Some(t) = &self.date_time {
            headers.push(Header::new("DateTime", t.as_str()));
        }
        headers.push(Header::new(
            format!("mls.{SIGNATURE}"),
            STANDARD.encode(&self.signature),
        ));
        headers.push(Header::new("mls.Era-ID", self.era.to_string()));
        Message {
            headers,
            content_headers: vec![
                Header::new("Content-Type", IMDN),
                Header::new("Content-Disposition", "notification"),
                Header::new("Content-Length", body.len().to_string()),
            ],
            body,
        }
        .encode()
    }

    /// Whether a decoded CPIM message claims to carry an IMDN.
    pub fn is_receipt(message: &Message) -> bool {
        message.content_type().is_some_and(|t| {
            let mut parts = t.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            media.eq_ignore_ascii_case(IMDN)
                && parts.all(|p| p.eq_ignore_ascii_case("charset=utf-8"))
        })
    }

    /// Decodes and checks an envelope (not the signature).
    pub fn decode(bytes: &[u8]) -> Result<ReceiptEnvelope, ReportError> {
        Self::from_message(Message::decode(bytes)?)
    }

    /// Checks a decoded CPIM message and decodes the receipt it carries.
    pub fn from_message(message: Message) -> Result<ReceiptEnvelope, ReportError> {
        if !Self::is_receipt(&message) {
            return Err(CpimError::UnsupportedContentType(
                message.content_type().unwrap_or_default().to_owned(),
            )
            .into());
        }
        let header = |name: &str| {
            message
                .content_headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value.trim())
        };
        if header("Content-Transfer-Encoding").is_some_and(|e| !e.eq_ignore_ascii_case("binary")) {
            return Err(invalid_header(
                "Content-Transfer-Encoding",
                "only binary bodies are supported",
            ));
        }
        if !header("Content-Disposition").is_some_and(|d| d.eq_ignore_ascii_case("notification")) {
            return Err(invalid_header(
                "Content-Disposition",
                "an IMDN's disposition is notification (RFC 5438 §7)",
            ));
        }
        for forbidden in ["Epoch-Authenticator", "Original-Message-ID"] {
            if message
                .namespaced_header(GSMA_MLS_NAMESPACE, forbidden)?
                .is_some()
            {
                return Err(invalid_header(
                    forbidden,
                    "a receipt never carries this header (RCC.16 §7.6)",
                ));
            }
        }
        let message_id = message
            .namespaced_header(IMDN_NAMESPACE, "Message-ID")?
            .ok_or(CpimError::MissingHeader("imdn.Message-ID"))?;
        if !is_valid_message_id(message_id) {
            return Err(invalid_header(
                "imdn.Message-ID",
                "message id is not 1 to 128 visible ASCII characters",
            ));
        }
        let era = message
            .namespaced_header(GSMA_MLS_NAMESPACE, "Era-ID")?
            .ok_or(CpimError::MissingHeader("mls.Era-ID"))?;
        let era =
            parse_era(era).ok_or_else(|| invalid_header("mls.Era-ID", "not a decimal u32"))?;
        let signature = message
            .namespaced_header(GSMA_MLS_NAMESPACE, SIGNATURE)?
            .ok_or(CpimError::MissingHeader(
                "mls.MLS-Derived-Content-Signature",
            ))?;
        if signature.len() > MAX_SIGNATURE_BYTES.div_ceil(3) * 4 {
            return Err(ReportError::TooLarge);
        }
        let signature = STANDARD
            .decode(signature)
            .map_err(|_| invalid_header(SIGNATURE, "not canonical base64"))?;
        if signature.is_empty() {
            return Err(invalid_header(SIGNATURE, "empty"));
        }
        if message.body.len() > MAX_DOCUMENT_BYTES {
            return Err(ReportError::TooLarge);
        }
        let date_time = message
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("DateTime"))
            .map(|h| h.value.clone());
        Ok(ReceiptEnvelope {
            message_id: message_id.to_owned(),
            date_time,
            era,
            signature,
            imdn: Imdn::decode(&message.body)?,
        })
    }
}

/// `mls.Era-ID`: decimal u32, no sign, no leading zero.
fn parse_era(value: &str) -> Option<u32> {
    let ok = !value.is_empty()
        && value.len() <= 10
        && value.bytes().all(|b| b.is_ascii_digit())
        && (value.len() == 1 || !value.starts_with('0'));
    ok.then(|| value.parse().ok()).flatten()
}
