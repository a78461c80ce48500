//! The generic CPIM message of RFC 3862 §2.
//!
//! ```text
//! From: <tel:+15551234567>        message headers (RFC 3862 §3)
//! NS: mls <http://www.gsma.com/rcs/mls>
//! mls.Era-ID: 1
//!                                  blank line
//! Content-Type: message/mls       MIME content headers (RFC 3862 §2.4)
//! Content-Length: 5
//!                                  blank line
//! <body bytes>                     binary allowed
//! ```
//!
//! A header line is `Header-name ":" SP Header-value CRLF`, or with header
//! parameters `Header-name ":" ";" ...` (RFC 3862 §3.1); the value kept is
//! everything after the colon and its one space, so parameters stay in the
//! value, and character escapes (RFC 3862 §3.2) are not undone. Message
//! headers may repeat; among content headers Content-Type is required and,
//! like Content-Length, may appear once. When Content-Length is present it
//! must equal the body length exactly.

use super::error::CpimError;
use super::grammar::{check_header_name, check_header_value, sanitize_header_name};
use super::namespace::{Namespaces, Resolved, is_ns_header};
use crate::text::{LineEnd, find_crlf, sanitize_line};

/// Default largest body accepted, in bytes.
pub const MAX_BODY: usize = 1 << 20;
/// Default largest header section (both sections with their blank lines).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Default largest number of headers (both sections together).
pub const MAX_HEADERS: usize = 64;

/// Decoder limits; [`Limits::default`] uses the constants above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest header section in bytes, counting both sections and both blank lines.
    pub max_header_bytes: usize,
    /// Largest number of header lines, both sections together.
    pub max_headers: usize,
    /// Largest body in bytes.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: MAX_HEADER_BYTES,
            max_headers: MAX_HEADERS,
            max_body: MAX_BODY,
        }
    }
}

/// One header line: a possibly namespace-prefixed name (`mls.Era-ID`) and its
/// raw value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// The header name, e.g. `From` or `mls.Era-ID`.
    pub name: String,
    /// The header value as written after `": "`.
    pub value: String,
}

impl Header {
    /// A header from a name and a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A CPIM message (RFC 3862 §2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// The message headers, in order.
    pub headers: Vec<Header>,
    /// The MIME content headers, in order; Content-Type is required.
    pub content_headers: Vec<Header>,
    /// The body, possibly binary.
    pub body: Vec<u8>,
}

impl Message {
    /// Encodes the message with CRLF line endings.
    ///
    /// Never fails and never lets a field break the structure: a control
    /// character in a value becomes a space and an invalid character in a
    /// name becomes `_`, so valid messages encode exactly and invalid input
    /// cannot inject a header. Content headers are written as given; a
    /// Content-Length that does not match the body makes the output
    /// undecodable.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 256);
        for section in [&self.headers, &self.content_headers] {
            for h in section {
                out.extend_from_slice(sanitize_header_name(&h.name).as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(sanitize_line(&h.value).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(&self.body);
        out
    }

    /// Decodes a message with the default [`Limits`].
    pub fn decode(bytes: &[u8]) -> Result<Message, CpimError> {
        Self::decode_with(bytes, &Limits::default())
    }

    /// Decodes a message with explicit limits.
    pub fn decode_with(bytes: &[u8], limits: &Limits) -> Result<Message, CpimError> {
        let mut cursor = Cursor {
            bytes,
            pos: 0,
            limits,
            count: 0,
        };
        let headers = cursor.section()?;
        let content_headers = cursor.section()?;
        let body = &bytes[cursor.pos..];
        check_content_headers(&content_headers, body.len(), limits)?;
        Ok(Message {
            headers,
            content_headers,
            body: body.to_vec(),
        })
    }

    /// The value of the first message header named exactly `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.value.as_str())
    }

    /// The Content-Type value, if present.
    pub fn content_type(&self) -> Option<&str> {
        content_header(&self.content_headers, "Content-Type")
    }

    /// The value of the message header `local` in the namespace
    /// `namespace_uri`, whatever prefix the message bound it to (RFC 3862
    /// §5); the local name is matched ASCII case-insensitively. Refuses an
    /// undeclared prefix and a header that appears more than once.
    pub fn namespaced_header(
        &self,
        namespace_uri: &str,
        local: &str,
    ) -> Result<Option<&str>, CpimError> {
        let namespaces = Namespaces::collect(&self.headers)?;
        let mut found = None;
        for h in self.headers.iter().filter(|h| !is_ns_header(&h.name)) {
            let Resolved::Namespaced { uri, local: name } = namespaces.resolve(&h.name)? else {
                continue;
            };
            if uri == namespace_uri && name.eq_ignore_ascii_case(local) {
                if found.is_some() {
                    return Err(CpimError::DuplicateHeader(h.name.clone()));
                }
                found = Some(h.value.as_str());
            }
        }
        Ok(found)
    }
}

/// The first content header named `name` (MIME header names are
/// case-insensitive, RFC 2045 §3).
pub(crate) fn content_header<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn check_content_headers(
    headers: &[Header],
    body_len: usize,
    limits: &Limits,
) -> Result<(), CpimError> {
    let mut content_type = 0;
    let mut content_length = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("Content-Type") {
            content_type += 1;
            if content_type > 1 {
                return Err(CpimError::DuplicateHeader(h.name.clone()));
            }
        } else if h.name.eq_ignore_ascii_case("Content-Length") {
            if content_length.is_some() {
                return Err(CpimError::DuplicateHeader(h.name.clone()));
            }
            content_length = Some(parse_length(&h.name, &h.value)?);
        }
    }
    if content_type == 0 {
        return Err(CpimError::MissingHeader("Content-Type"));
    }
    if body_len > limits.max_body {
        return Err(CpimError::TooLarge);
    }
    match content_length {
        Some(n) if n != body_len => Err(CpimError::ContentLengthMismatch),
        _ => Ok(()),
    }
}

fn parse_length(name: &str, value: &str) -> Result<usize, CpimError> {
    let invalid = || CpimError::InvalidHeader {
        name: name.to_owned(),
        reason: "not a decimal length",
    };
    if value.is_empty() || value.len() > 19 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    value.parse().map_err(|_| invalid())
}

/// Reads header sections while counting bytes and lines against the limits.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    limits: &'a Limits,
    count: usize,
}

impl Cursor<'_> {
    /// Reads header lines up to and including the next blank line.
    fn section(&mut self) -> Result<Vec<Header>, CpimError> {
        let mut headers = Vec::new();
        loop {
            let cr = match find_crlf(self.bytes, self.pos, self.limits.max_header_bytes) {
                LineEnd::Found(cr) => cr,
                LineEnd::BareLf => return Err(CpimError::Malformed("bare LF in header section")),
                LineEnd::BareCr => return Err(CpimError::Malformed("bare CR in header section")),
                LineEnd::NotFound => return Err(CpimError::Truncated),
                LineEnd::OverLimit => return Err(CpimError::TooLarge),
            };
            if cr + 2 > self.limits.max_header_bytes {
                return Err(CpimError::TooLarge);
            }
            let line = &self.bytes[self.pos..cr];
            self.pos = cr + 2;
            if line.is_empty() {
                return Ok(headers);
            }
            self.count += 1;
            if self.count > self.limits.max_headers {
                return Err(CpimError::TooLarge);
            }
            headers.push(parse_line(line)?);
        }
    }
}

fn parse_line(line: &[u8]) -> Result<Header, CpimError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(CpimError::Malformed("header line without ':'"))?;
    let name = std::str::from_utf8(&line[..colon])
        .map_err(|_| CpimError::Malformed("header name is not UTF-8"))?;
    check_header_name(name).map_err(|reason| CpimError::InvalidHeader {
        name: name.to_owned(),
        reason,
    })?;
    let rest = &line[colon + 1..];
    let value = match rest.first() {
        None => rest,
        Some(b' ') => &rest[1..],
        Some(b';') => rest,
        Some(_) => return Err(CpimError::Malformed("expected SP after ':'")),
    };
    let value = std::str::from_utf8(value).map_err(|_| CpimError::InvalidHeader {
        name: name.to_owned(),
        reason: "header value is not UTF-8",
    })?;
    check_header_value(value).map_err(|reason| CpimError::InvalidHeader {
        name: name.to_owned(),
        reason,
    })?;
    Ok(Header::new(name, value))
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
