//! The plaintext of an MLS application message, framed as deployed RCC.16
//! clients frame it (fact sheet §3b, measured between Google Messages and
//! Apple):
//!
//! ```text
//! 00 01                      uint16 version = 1
//! 00 01                      uint16 format (payload type) = 1, text/MIME
//! gg gg gg gg                uint32 big-endian: the MLS sender_data.generation
//!                            the message is encrypted under
//! <varint>                   MLS variable-length length of the rest (RFC 9420 §2.1.2)
//! \r\n
//! Content-Type: <type>[;charset=UTF-8]\r\n
//! Content-Disposition: inline|attachment\r\n
//! Content-Length: <n>\r\n
//! \r\n
//! <body: n bytes>
//! ```
//!
//! The receiver checks the generation against the one MLS decrypted the
//! message with and refuses a mismatch (the client does, RCV-GEN-1); this
//! module only carries it. The charset rule is [`headers::with_charset`].
//!
//! Decoding is strict on the frame (version 1, format 1, a minimal length
//! prefix equal to the rest of the input) and RFC 5322 strict on the header
//! lines (CRLF endings, no folding, printable names, no control characters
//! in values); header names are matched case-insensitively, unknown headers
//! are ignored, the leading blank line is optional. Exactly one Content-Type
//! is required; Content-Disposition (default `inline`) and Content-Length
//! may each appear once, and a Content-Length must equal the body's length.
//! The header section is at most [`MAX_HEADER_BYTES`], the body at most
//! [`MAX_BODY`]. Crosslock's earlier unframed form (`Content-Type: …` CRLF
//! CRLF body) is no longer read.

mod error;
mod headers;

pub use error::InnerError;

use crate::text::{LineEnd, find_crlf, sanitize_line_keep_tab};
use crate::varint::{self, VarintError};
use headers::{check_media_type, parse_content_length, parse_line, with_charset};

/// The largest header section, including the blank lines.
pub const MAX_HEADER_BYTES: usize = 4096;
/// The most header lines.
pub const MAX_HEADERS: usize = 32;
/// The largest body.
pub const MAX_BODY: usize = 1 << 20;
/// The frame version (fact sheet §3b).
pub const VERSION: u16 = 1;
/// The frame format for a MIME payload (fact sheet §3b).
pub const FORMAT_MIME: u16 = 1;

/// How the body is meant to be shown (RFC 2183).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Disposition {
    /// Shown in the conversation (texts, receipts, FileInfo).
    #[default]
    Inline,
    /// A file the user opens.
    Attachment,
}

impl Disposition {
    /// The header value, `inline` or `attachment`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Disposition::Inline => "inline",
            Disposition::Attachment => "attachment",
        }
    }

    /// The disposition type of a header value, matched case-insensitively;
    /// parameters after `;` are allowed and ignored (RFC 2183 §2).
    fn parse(value: &str) -> Result<Disposition, InnerError> {
        let kind = value.split(';').next().unwrap_or_default().trim();
        if kind.eq_ignore_ascii_case("inline") {
            Ok(Disposition::Inline)
        } else if kind.eq_ignore_ascii_case("attachment") {
            Ok(Disposition::Attachment)
        } else {
            Err(InnerError::InvalidDisposition)
        }
    }
}

/// A typed MLS application message plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApplicationPayload {
    /// The body's media type, e.g. `text/plain`. Decoding gives the value as
    /// sent, with its parameters (`text/plain;charset=UTF-8`); compare
    /// [`Self::media_type`].
    pub content_type: String,
    /// Inline or attachment.
    pub disposition: Disposition,
    /// The body.
    pub body: Vec<u8>,
}

/// A decoded frame: the generation it claims and its payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Framed {
    /// The MLS `sender_data.generation` the sender says it encrypted under.
    pub generation: u32,
    /// The MIME payload.
    pub payload: ApplicationPayload,
}

impl ApplicationPayload {
    /// An inline payload from a media type and a body.
    pub fn new(content_type: impl Into<String>, body: Vec<u8>) -> ApplicationPayload {
        ApplicationPayload {
            content_type: content_type.into(),
            disposition: Disposition::Inline,
            body,
        }
    }

    /// The frame for MLS generation `generation`.
    ///
    /// Control characters in the type become spaces, so it cannot inject a
    /// header; a tab stays (it is whitespace the decoder accepts inside a
    /// value, and cannot end a line). A body of 2^30 bytes or more (far
    /// beyond [`MAX_BODY`]) gets the invalid `0b11` length prefix, which
    /// every decoder refuses.
    pub fn encode(&self, generation: u32) -> Vec<u8> {
        let content_type = with_charset(&sanitize_line_keep_tab(&self.content_type));
        let mut rest = Vec::with_capacity(content_type.len() + 80 + self.body.len());
        rest.extend_from_slice(b"\r\nContent-Type: ");
        rest.extend_from_slice(content_type.as_bytes());
        rest.extend_from_slice(b"\r\nContent-Disposition: ");
        rest.extend_from_slice(self.disposition.as_str().as_bytes());
        rest.extend_from_slice(b"\r\nContent-Length: ");
        rest.extend_from_slice(self.body.len().to_string().as_bytes());
        rest.extend_from_slice(b"\r\n\r\n");
        rest.extend_from_slice(&self.body);
        let mut out = Vec::with_capacity(12 + rest.len());
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&FORMAT_MIME.to_be_bytes());
        out.extend_from_slice(&generation.to_be_bytes());
        if varint::encode_len(rest.len(), &mut out).is_err() {
            out.extend_from_slice(&[0xff; 4]);
        }
        out.extend_from_slice(&rest);
        out
    }

    /// Decodes and checks a frame.
    pub fn decode(bytes: &[u8]) -> Result<Framed, InnerError> {
        // WIRE-FRAME-1: version 1, format 1, generation, minimal varint length, then MIME headers.
        let fixed = bytes.get(..8).ok_or(InnerError::Truncated)?;
        let version = u16::from_be_bytes([fixed[0], fixed[1]]);
        if version != VERSION {
            return Err(InnerError::UnsupportedVersion(version));
        }
        let format = u16::from_be_bytes([fixed[2], fixed[3]]);
        if format != FORMAT_MIME {
            return Err(InnerError::UnsupportedFormat(format));
        }
        let generation = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let (declared, used) = varint::decode_len(&bytes[8..]).map_err(|e| match e {
            VarintError::Truncated => InnerError::Truncated,
            VarintError::NonMinimal => InnerError::NonMinimalLength,
            VarintError::TooLarge => InnerError::TooLarge,
        })?;
        let rest = &bytes[8 + used..];
        if declared != rest.len() {
            return Err(InnerError::LengthMismatch {
                declared,
                actual: rest.len(),
            });
        }
        Ok(Framed {
            generation,
            payload: decode_mime(rest)?,
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

/// The headers the payload reads, each at most once.
#[derive(Default)]
struct Seen<'a> {
    content_type: Option<&'a str>,
    disposition: Option<Disposition>,
    length: Option<usize>,
}

/// The MIME part after the length prefix.
fn decode_mime(bytes: &[u8]) -> Result<ApplicationPayload, InnerError> {
    // The deployed form starts with an empty line; tolerate its absence.
    let mut pos = if bytes.starts_with(b"\r\n") { 2 } else { 0 };
    let mut count = 0;
    let mut seen = Seen::default();
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
            if seen.content_type.is_some() {
                return Err(InnerError::DuplicateContentType);
            }
            check_media_type(value)?;
            seen.content_type = Some(value);
        } else if name.eq_ignore_ascii_case("Content-Disposition") {
            if seen.disposition.is_some() {
                return Err(InnerError::DuplicateHeader("Content-Disposition"));
            }
            seen.disposition = Some(Disposition::parse(value)?);
        } else if name.eq_ignore_ascii_case("Content-Length") {
            if seen.length.is_some() {
                return Err(InnerError::DuplicateHeader("Content-Length"));
            }
            seen.length = Some(parse_content_length(value)?);
        }
    }
    let content_type = seen.content_type.ok_or(InnerError::MissingContentType)?;
    let body = &bytes[pos..];
    if body.len() > MAX_BODY {
        return Err(InnerError::TooLarge);
    }
    if seen.length.is_some_and(|n| n != body.len()) {
        return Err(InnerError::ContentLengthMismatch);
    }
    Ok(ApplicationPayload {
        content_type: content_type.to_owned(),
        disposition: seen.disposition.unwrap_or_default(),
        body: body.to_vec(),
    })
}

#[cfg(test)]
mod tests;
