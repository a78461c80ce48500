//! Instant message disposition notifications (RFC 5438,
//! `message/imdn+xml`), with the RCC.16 failure-reason arms
//! (`../shared/rcc16-deployed.md` §5).
//!
//! ```xml
//! <imdn xmlns="urn:ietf:params:xml:ns:imdn"><message-id>ORIG</message-id>
//! <datetime>2026-12-07T06:00:00.000Z</datetime><delivery-notification><status>
//! <failed><mls-client-failure-reason><failed-to-decrypt/></mls-client-failure-reason></failed>
//! </status></delivery-notification></imdn>
//! ```
//!
//! (one line on the wire, as deployed clients send it). A delivery
//! notification's status is `delivered`, `failed`, `forbidden` or `error`;
//! a display notification's is `displayed`, `forbidden` or `error`
//! (RFC 5438 §7.2.1). The arm rule (§5, RCC.16 §7.6): a failure-reason arm
//! (`<mls-client-failure-reason>` or `<mls-server-failure-reason>`, one
//! token inside) only inside `<failed>` of a delivery notification, at most
//! one, and only when the IMDN travels unencrypted ([`Imdn::check_arm_rule`]).
//!
//! The decoder takes at most [`MAX_DOCUMENT_BYTES`], refuses any DOCTYPE
//! (no entity can be declared), knows only the predefined entities and
//! character references, refuses processing instructions, encodings other
//! than UTF-8 and nesting beyond 8 levels. Elements of other namespaces are
//! skipped (RFC 5438 §7.1 `##other`); an unknown element of the IMDN
//! namespace, a repeated one or a second notification is refused.
//! `processing-notification` is refused as unsupported. The optional
//! `recipient-uri`, `original-recipient-uri` and `subject` are read and
//! kept.

mod error;
mod parse;
mod reason;

pub use error::ImdnError;
pub use reason::{ClientReason, FailureArm, ServerReason};

use crate::cpim::is_valid_message_id;

/// The IMDN XML namespace (RFC 5438 §7.1).
pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:imdn";
/// The largest document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 4096;

/// A delivery notification's status (RFC 5438 §7.2.1.1), with the code the
/// signed `VerifiableDeliveryImdn` carries (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// `delivered` (1).
    Delivered,
    /// `failed` (2), with at most one RCC.16 failure-reason arm.
    Failed(Option<FailureArm>),
    /// `forbidden` (3).
    Forbidden,
    /// `error` (4).
    Error,
}

impl DeliveryStatus {
    /// The status code of `VerifiableDeliveryImdn` (1 delivered, 2 failed,
    /// 3 forbidden, 4 error).
    pub fn code(self) -> u16 {
        match self {
            DeliveryStatus::Delivered => 1,
            DeliveryStatus::Failed(_) => 2,
            DeliveryStatus::Forbidden => 3,
            DeliveryStatus::Error => 4,
        }
    }

    fn token(self) -> &'static str {
        match self {
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed(_) => "failed",
            DeliveryStatus::Forbidden => "forbidden",
            DeliveryStatus::Error => "error",
        }
    }
}

/// A display notification's status (RFC 5438 §7.2.1.2), with the code of
/// the signed `VerifiableDisplayImdn` (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisplayStatus {
    /// `displayed` (1).
    Displayed,
    /// `forbidden` (2).
    Forbidden,
    /// `error` (3).
    Error,
}

impl DisplayStatus {
    /// The status code of `VerifiableDisplayImdn` (1 displayed, 2
    /// forbidden, 3 error).
    pub fn code(self) -> u16 {
        match self {
            DisplayStatus::Displayed => 1,
            DisplayStatus::Forbidden => 2,
            DisplayStatus::Error => 3,
        }
    }

    fn token(self) -> &'static str {
        match self {
            DisplayStatus::Displayed => "displayed",
            DisplayStatus::Forbidden => "forbidden",
            DisplayStatus::Error => "error",
        }
    }
}

/// What the notification says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notification {
    /// `<delivery-notification>`.
    Delivery(DeliveryStatus),
    /// `<display-notification>`.
    Display(DisplayStatus),
}

impl Notification {
    /// The failure-reason arm, if any.
    pub fn arm(self) -> Option<FailureArm> {
        match self {
            Notification::Delivery(DeliveryStatus::Failed(arm)) => arm,
            _ => None,
        }
    }
}

/// An IMDN document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Imdn {
    /// The id of the message the notification is about (`<message-id>`).
    pub message_id: String,
    /// When (`<datetime>`, RFC 3339 date-time with a `Z` or numeric
    /// offset, checked; see [`Imdn::timestamp_ms`]).
    pub datetime: String,
    /// `<recipient-uri>`, if present.
    pub recipient_uri: Option<String>,
    /// `<original-recipient-uri>`, if present.
    pub original_recipient_uri: Option<String>,
    /// `<subject>`, if present.
    pub subject: Option<String>,
    /// The notification.
    pub notification: Notification,
}

impl Imdn {
    /// An IMDN about `message_id` made at `timestamp_ms` (ms since the UNIX
    /// epoch), without the optional elements.
    pub fn new(message_id: &str, timestamp_ms: u64, notification: Notification) -> Imdn {
        Imdn {
            message_id: message_id.to_owned(),
            datetime: format_datetime(timestamp_ms),
            recipient_uri: None,
            original_recipient_uri: None,
            subject: None,
            notification,
        }
    }

    /// The document in the deployed shape: no XML declaration, no
    /// whitespace between elements, the elements in RFC 5438 schema order.
    /// Text is escaped. Never fails; [`Imdn::validate`] tells whether a
    /// peer will accept it.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = String::with_capacity(320);
        s.push_str("<imdn xmlns=\"");
        s.push_str(NAMESPACE);
        s.push_str("\">");
        text_element(&mut s, "message-id", &self.message_id);
        text_element(&mut s, "datetime", &self.datetime);
        if let Some(v) = &self.recipient_uri {
            text_element(&mut s, "recipient-uri", v);
        }
        if let Some(v) = &self.original_recipient_uri {
            text_element(&mut s, "original-recipient-uri", v);
        }
        if let Some(v) = &self.subject {
            text_element(&mut s, "subject", v);
        }
        let (outer, status, arm) = match self.notification {
            Notification::Delivery(st) => {
                ("delivery-notification", st.token(), self.notification.arm())
            }
            Notification::Display(st) => ("display-notification", st.token(), None),
        };
        s.push_str(&format!("<{outer}><status>"));
        match arm {
            None => s.push_str(&format!("<{status}/>")),
            Some(arm) => {
                let (wrapper, token) = match arm {
                    FailureArm::Client(r) => ("mls-client-failure-reason", r.token()),
                    FailureArm::Server(r) => ("mls-server-failure-reason", r.token()),
                };
                s.push_str(&format!(
                    "<{status}><{wrapper}><{token}/></{wrapper}></{status}>"
                ));
            }
        }
        s.push_str(&format!("</status></{outer}></imdn>"));
        s.into_bytes()
    }

    /// Decodes and checks a document (not the arm's carrier: see
    /// [`Imdn::check_arm_rule`]).
    pub fn decode(bytes: &[u8]) -> Result<Imdn, ImdnError> {
        let imdn = parse::parse(bytes)?;
        imdn.validate()?;
        Ok(imdn)
    }

    /// Checks every value against its rule (what decoding checks).
    pub fn validate(&self) -> Result<(), ImdnError> {
        if !is_valid_message_id(&self.message_id) {
            return Err(ImdnError::InvalidValue {
                element: "message-id",
                reason: "must be 1 to 128 visible ASCII characters",
            });
        }
        if parse_datetime_ms(&self.datetime).is_none() {
            return Err(ImdnError::InvalidValue {
                element: "datetime",
                reason: "not an RFC 3339 date-time after 1970",
            });
        }
        let optional = [
            ("recipient-uri", &self.recipient_uri),
            ("original-recipient-uri", &self.original_recipient_uri),
            ("subject", &self.subject),
        ];
        for (element, value) in optional {
            if value
                .as_deref()
                .is_some_and(|v| v.len() > 1024 || v.chars().any(char::is_control))
            {
                return Err(ImdnError::InvalidValue {
                    element,
                    reason: "must be at most 1024 characters without controls",
                });
            }
        }
        Ok(())
    }

    /// The arm rule (§5, RCC.16 §7.6): a failure-reason arm is legal only
    /// in a delivery notification whose status is `failed` and that travels
    /// unencrypted. The first two are in the types; this checks the third.
    pub fn check_arm_rule(&self, encrypted: bool) -> Result<(), ImdnError> {
        if encrypted && self.notification.arm().is_some() {
            return Err(ImdnError::ArmNotAllowed(
                "a failure reason in an encrypted IMDN",
            ));
        }
        Ok(())
    }

    /// `<datetime>` in ms since the UNIX epoch.
    pub fn timestamp_ms(&self) -> Option<u64> {
        parse_datetime_ms(&self.datetime)
    }
}

fn text_element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for ms since the UNIX epoch (RFC 3339, UTC).
pub fn format_datetime(timestamp_ms: u64) -> String {
    let secs = i64::try_from(timestamp_ms / 1000).unwrap_or(i64::MAX);
    let t =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        timestamp_ms % 1000
    )
}

/// An RFC 3339 date-time (any offset) as ms since the UNIX epoch; `None`
/// if it does not parse, is before 1970 or is over 64 characters.
pub fn parse_datetime_ms(text: &str) -> Option<u64> {
    if text.len() > 64 {
        return None;
    }
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests;
