//! The plaintext of an MLS application message: a minimal MIME entity.
//!
//! ```text
//! Content-Type: application/mimi-content\r\n
//! \r\n
//! <body bytes>
//! ```
//!
//! Header lines follow RFC 5322 §2.2 with CRLF endings and no folding: a
//! field name of printable ASCII except `:` (§3.6.8 `ftext`), a colon,
//! optional white space, then a value of visible ASCII, UTF-8 and white
//! space. Exactly one Content-Type is required and must be a media type
//! (`type/subtype` of RFC 2045 §5.1 tokens, optionally with parameters);
//! other headers are read and ignored. The header section is at most
//! [`MAX_HEADER_BYTES`], the body at most [`MAX_BODY`].

mod error;

pub use error::InnerError;

use crate::text::{LineEnd, find_crlf, sanitize_line_keep_tab};

/// The largest header section, including the blank line.
pub const MAX_HEADER_BYTES: usize = 4096;
/// The most header lines.
pub const MAX_HEADERS: usize = 32;
/// The largest body.
pub const MAX_BODY: usize = 1 << 20;

/// A typed MLS application message plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApplicationPayload {
    /// The body's media type, e.g. `application/mimi-content`.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

impl ApplicationPayload {
    /// A payload from a media type and a body.
    pub fn new(content_type: impl Into<String>, body: Vec<u8>) -> ApplicationPayload {
        ApplicationPayload {
            content_type: content_type.into(),
            body,
        }
    }

    /// `Content-Type: <type>` CRLF CRLF `<body>`. Control characters in the
    /// type become spaces, so it cannot inject a header; a tab stays (it is
    /// whitespace the decoder accepts inside a value, and cannot end a line).
    pub fn encode(&self) -> Vec<u8> {
        let ct = sanitize_line_keep_tab(&self.content_type);
        let mut out = Vec::with_capacity(ct.len() + 18 + self.body.len());
        out.extend_from_slice(b"Content-Type: ");
        out.extend_from_slice(ct.as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(&self.body);
        out
    }

    /// Decodes and checks a payload.
    pub fn decode(bytes: &[u8]) -> Result<ApplicationPayload, InnerError> {
        let mut pos = 0;
        let mut count = 0;
        let mut content_type = None;
        loop {
            let cr = match find_crlf(bytes, pos, MAX_HEADER_BYTES) {
                LineEnd::Found(cr) if cr + 2 <= MAX_HEADER_BYTES => cr,
                LineEnd::Found(_) | LineEnd::OverLimit => return Err(InnerError::TooLarge),
                LineEnd::NotFound => return Err(InnerError::Truncated),
                LineEnd::BareLf | LineEnd::BareCr => {
                    return Err(InnerError::Malformed("line endings must be CRLF"));
                }
            };
            let line = &bytes[pos..cr];
            pos = cr + 2;
            if line.is_empty() {
                break;
            }
            count += 1;
            if count > MAX_HEADERS {
                return Err(InnerError::TooLarge);
            }
            let (name, value) = parse_line(line)?;
            if name.eq_ignore_ascii_case("Content-Type") {
                if content_type.is_some() {
                    return Err(InnerError::DuplicateContentType);
                }
                check_media_type(value)?;
                content_type = Some(value);
            }
        }
        let content_type = content_type.ok_or(InnerError::MissingContentType)?;
        let body = &bytes[pos..];
        if body.len() > MAX_BODY {
            return Err(InnerError::TooLarge);
        }
        Ok(ApplicationPayload {
            content_type: content_type.to_owned(),
            body: body.to_vec(),
        })
    }

    /// The media type without parameters, lower-cased, for dispatch.
    pub fn media_type(&self) -> String {
        self.content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }
}

/// Splits `name: value`, checking RFC 5322 §2.2 and §3.6.8 characters.
fn parse_line(line: &[u8]) -> Result<(&str, &str), InnerError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(InnerError::Malformed("header line without ':'"))?;
    let (name, rest) = (&line[..colon], &line[colon + 1..]);
    // ftext = %d33-57 / %d59-126; a leading space would be folding.
    if name.is_empty() || !name.iter().all(|&b| matches!(b, 33..=57 | 59..=126)) {
        return Err(InnerError::Malformed("invalid header name"));
    }
    let value = std::str::from_utf8(rest)
        .map_err(|_| InnerError::Malformed("header value is not UTF-8"))?;
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(InnerError::Malformed("control character in header value"));
    }
    // The name is ASCII, so this cannot fail.
    let name =
        std::str::from_utf8(name).map_err(|_| InnerError::Malformed("invalid header name"))?;
    Ok((name, value.trim_matches([' ', '\t'])))
}

/// `type "/" subtype *(";" parameter)` with RFC 2045 §5.1 tokens.
fn check_media_type(value: &str) -> Result<(), InnerError> {
    let is_token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    let ok = match essence.split_once('/') {
        Some((t, s)) => is_token(t) && is_token(s),
        None => false,
    };
    let params_ok = parts.all(|p| match p.split_once('=') {
        Some((name, v)) => is_token(name.trim()) && !v.trim().is_empty(),
        None => false,
    });
    if ok && params_ok && value.len() <= 255 {
        Ok(())
    } else {
        Err(InnerError::InvalidContentType)
    }
}

#[cfg(test)]
mod tests;
