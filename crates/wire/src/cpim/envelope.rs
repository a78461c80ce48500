//! The RCC.16 CPIM envelope of an MLS body.
//!
//! GSMA RCC.16 carries every MLS message in CPIM with, besides the usual
//! `From`, `To`, `DateTime` and `imdn.Message-ID` (RFC 5438 §6.3), two headers
//! in the namespace `http://www.gsma.com/rcs/mls`: `Era-ID` (decimal era) and
//! `Epoch-Authenticator` (base64 of the sender's epoch authenticator). A body
//! missing either is dropped before decryption. A resend also carries
//! `Original-Message-ID`, the id of the message it resends (fact sheet §3c);
//! Crosslock writes it after `Epoch-Authenticator`.
//!
//! Decoding resolves prefixes through the `NS` declarations (RFC 3862 §5), so
//! only the namespace URI matters. The names `Era-ID`, `Epoch-Authenticator`,
//! `Original-Message-ID`, `Message-ID`, `From`, `To` and `DateTime` are
//! matched ASCII case-insensitively, because deployed peers differ in case
//! (Apple writes `Era-Id`, fact sheet §3c). Each
//! may appear once. Other headers, in these namespaces or others, are ignored
//! (RCC.16 receipts, for example, carry further `mls` headers). The body's
//! Content-Type must be one of the `message/mls*` types, without parameters;
//! a Content-Transfer-Encoding other than `binary` is refused.

use super::error::CpimError;
use super::message::{Header, Limits, Message, content_header};
use super::mls_values::{
    format_epoch_authenticator, is_valid_message_id, parse_epoch_authenticator, parse_era,
};
use super::namespace::{Namespaces, Resolved, is_ns_header};
use crate::content_type::canonical_mls_type;

/// The RCC.16 namespace of the MLS CPIM headers.
pub const GSMA_MLS_NAMESPACE: &str = "http://www.gsma.com/rcs/mls";
/// The IMDN namespace (RFC 5438 §6.3).
pub const IMDN_NAMESPACE: &str = "urn:ietf:params:imdn";

const ERA_ID: &str = "mls.Era-ID";
const EPOCH_AUTHENTICATOR: &str = "mls.Epoch-Authenticator";
const MESSAGE_ID: &str = "imdn.Message-ID";
const ORIGINAL_MESSAGE_ID: &str = "mls.Original-Message-ID";

/// The typed RCC.16 envelope of an MLS body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MlsEnvelope {
    /// CPIM `From` value, e.g. `<tel:+15551234567>`.
    pub from: Option<String>,
    /// CPIM `To` value.
    pub to: Option<String>,
    /// CPIM `DateTime` (RFC 3339 text, passed through unchecked).
    pub date_time: Option<String>,
    /// `imdn.Message-ID`: 1 to 128 visible ASCII characters.
    pub message_id: String,
    /// `mls.Era-ID`.
    pub era: u32,
    /// `mls.Epoch-Authenticator`.
    pub epoch_authenticator: [u8; 32],
    /// `mls.Original-Message-ID`: set on a resend, the id of the original
    /// (same syntax as `message_id`).
    pub original_message_id: Option<String>,
    /// One of the `message/mls*` types in [`crate::content_type`]; decoding
    /// yields the canonical lower-case spelling.
    pub content_type: String,
    /// The MLS message bytes.
    pub body: Vec<u8>,
}

impl MlsEnvelope {
    /// Encodes the envelope, declaring `NS: imdn <urn:ietf:params:imdn>` and
    /// `NS: mls <http://www.gsma.com/rcs/mls>` and adding a Content-Length.
    pub fn encode(&self) -> Vec<u8> {
        let mut headers = Vec::with_capacity(8);
        let optional = [
            ("From", &self.from),
            ("To", &self.to),
            ("DateTime", &self.date_time),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                headers.push(Header::new(name, v.as_str()));
            }
        }
        headers.push(Header::new("NS", format!("imdn <{IMDN_NAMESPACE}>")));
        headers.push(Header::new("NS", format!("mls <{GSMA_MLS_NAMESPACE}>")));
        headers.push(Header::new(MESSAGE_ID, self.message_id.as_str()));
        headers.push(Header::new(ERA_ID, self.era.to_string()));
        headers.push(Header::new(
            EPOCH_AUTHENTICATOR,
            format_epoch_authenticator(&self.epoch_authenticator),
        ));
        if let Some(original) = &self.original_message_id {
            headers.push(Header::new(ORIGINAL_MESSAGE_ID, original.as_str()));
        }
        Message {
            headers,
            content_headers: vec![
                Header::new("Content-Type", self.content_type.as_str()),
                Header::new("Content-Length", self.body.len().to_string()),
            ],
            body: self.body.clone(),
        }
        .encode()
    }

    /// Decodes and checks an envelope with the default limits.
    pub fn decode(bytes: &[u8]) -> Result<MlsEnvelope, CpimError> {
        Self::decode_with(bytes, &Limits::default())
    }

    /// Decodes and checks an envelope with explicit limits.
    pub fn decode_with(bytes: &[u8], limits: &Limits) -> Result<MlsEnvelope, CpimError> {
        let message = Message::decode_with(bytes, limits)?;
        Self::from_message(message)
    }

    /// Checks a decoded CPIM message against the RCC.16 rules.
    pub fn from_message(message: Message) -> Result<MlsEnvelope, CpimError> {
        let fields = Fields::collect(&message.headers)?;
        let content_type = content_type(&message.content_headers)?;
        // RCV-ENV-1: the era, the epoch authenticator and the message id are required.
        let era_value = fields.era.ok_or(CpimError::MissingHeader(ERA_ID))?;
        let ea_value = fields
            .epoch_authenticator
            .ok_or(CpimError::MissingHeader(EPOCH_AUTHENTICATOR))?;
        let id_value = fields
            .message_id
            .ok_or(CpimError::MissingHeader(MESSAGE_ID))?;
        let era = parse_era(&era_value.value).map_err(|r| invalid(era_value, r))?;
        let epoch_authenticator =
            parse_epoch_authenticator(&ea_value.value).map_err(|r| invalid(ea_value, r))?;
        for value in [Some(id_value), fields.original_message_id]
            .into_iter()
            .flatten()
        {
            if !is_valid_message_id(&value.value) {
                return Err(invalid(
                    value,
                    "message id is not 1 to 128 visible ASCII characters",
                ));
            }
        }
        Ok(MlsEnvelope {
            from: fields.from.map(|h| h.value.clone()),
            to: fields.to.map(|h| h.value.clone()),
            date_time: fields.date_time.map(|h| h.value.clone()),
            message_id: id_value.value.clone(),
            era,
            epoch_authenticator,
            original_message_id: fields.original_message_id.map(|h| h.value.clone()),
            content_type: content_type.to_owned(),
            body: message.body,
        })
    }
}

fn invalid(header: &Header, reason: &'static str) -> CpimError {
    CpimError::InvalidHeader {
        name: header.name.clone(),
        reason,
    }
}

fn content_type(content_headers: &[Header]) -> Result<&'static str, CpimError> {
    if let Some(encoding) = content_header(content_headers, "Content-Transfer-Encoding")
        && !encoding.trim().eq_ignore_ascii_case("binary")
    {
        return Err(CpimError::InvalidHeader {
            name: "Content-Transfer-Encoding".to_owned(),
            reason: "only binary bodies are supported",
        });
    }
    // Message::decode guarantees exactly one Content-Type.
    let value = content_header(content_headers, "Content-Type").unwrap_or_default();
    canonical_mls_type(value).ok_or_else(|| CpimError::UnsupportedContentType(value.to_owned()))
}

/// The headers the envelope reads, each at most once.
#[derive(Default)]
struct Fields<'a> {
    from: Option<&'a Header>,
    to: Option<&'a Header>,
    date_time: Option<&'a Header>,
    message_id: Option<&'a Header>,
    era: Option<&'a Header>,
    epoch_authenticator: Option<&'a Header>,
    original_message_id: Option<&'a Header>,
}

/// A header the envelope reads.
#[derive(Clone, Copy)]
enum Field {
    From,
    To,
    DateTime,
    MessageId,
    Era,
    EpochAuthenticator,
    OriginalMessageId,
}

impl Field {
    /// Which field a resolved header name is, if any (names matched ASCII
    /// case-insensitively).
    fn of(resolved: Resolved<'_>) -> Option<Field> {
        let (table, name): (&[(&str, Field)], &str) = match resolved {
            Resolved::Core(name) => (
                &[
                    ("From", Field::From),
                    ("To", Field::To),
                    ("DateTime", Field::DateTime),
                ],
                name,
            ),
            Resolved::Namespaced { uri, local } if uri == GSMA_MLS_NAMESPACE => (
                &[
                    ("Era-ID", Field::Era),
                    ("Epoch-Authenticator", Field::EpochAuthenticator),
                    ("Original-Message-ID", Field::OriginalMessageId),
                ],
                local,
            ),
            Resolved::Namespaced { uri, local } if uri == IMDN_NAMESPACE => {
                (&[("Message-ID", Field::MessageId)], local)
            }
            Resolved::Namespaced { .. } => return None,
        };
        table
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, f)| *f)
    }
}

impl<'a> Fields<'a> {
    fn collect(headers: &'a [Header]) -> Result<Fields<'a>, CpimError> {
        let namespaces = Namespaces::collect(headers)?;
        let mut f = Fields::default();
        for h in headers.iter().filter(|h| !is_ns_header(&h.name)) {
            let Some(field) = Field::of(namespaces.resolve(&h.name)?) else {
                continue;
            };
            let slot = match field {
                Field::From => &mut f.from,
                Field::To => &mut f.to,
                Field::DateTime => &mut f.date_time,
                Field::MessageId => &mut f.message_id,
                Field::Era => &mut f.era,
                Field::EpochAuthenticator => &mut f.epoch_authenticator,
                Field::OriginalMessageId => &mut f.original_message_id,
            };
            if slot.is_some() {
                return Err(CpimError::DuplicateHeader(h.name.clone()));
            }
            *slot = Some(h);
        }
        Ok(f)
    }
}

#[cfg(test)]
#[path = "envelope_tests.rs"]
mod tests;
