//! Message bodies: NestedPart and its four cardinalities
//! (draft-ietf-mimi-content §4.4, §4.5).
//!
//! ```text
//! NestedPart = [ disposition: uint (0..255), language: tstr,
//!                ( 0                                    ; NullPart
//!                // 1, contentType: tstr, content: bstr  ; SinglePart
//!                // 2, contentType: tstr, url: tstr, expires: uint32, size: uint64,
//!                //    encAlg: uint16, key: bstr, nonce: bstr, aad: bstr, hashAlg: uint8,
//!                //    contentHash: bstr, description: tstr, filename: tstr ; ExternalPart
//!                // 3, partSemantics: 0..2, parts: [2* NestedPart] ) ]  ; MultiPart
//! ```
//!
//! A MultiPart holds at least two parts, and parts nest at most
//! [`MAX_PART_DEPTH`] levels (§6.3). The language is empty or a
//! comma-separated list of language tags (RFC 5646); this crate checks the
//! characters (letters, digits, `-`, `,`), not the tag registry.

use super::MAX_PART_DEPTH;
use super::error::MimiError;
use crate::cbor::{read, write};
use ciborium::Value;

/// The intended handling of a part (draft-ietf-mimi-content §8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// 0: no hint.
    Unspecified,
    /// 1: render according to local policy.
    Render,
    /// 2: a single reaction to another message (RFC 9078).
    Reaction,
    /// 3: a profile of a participant or room.
    Profile,
    /// 4: render inline in the conversation.
    Inline,
    /// 5: an icon such as an avatar.
    Icon,
    /// 6: download rather than render.
    Attachment,
    /// 7: a multimedia session description or join URI.
    Session,
    /// 8: a sender-generated preview.
    Preview,
    /// 9..=255: a value this crate does not know.
    Unknown(u8),
}

impl Disposition {
    /// The disposition for a wire value.
    pub fn from_u8(v: u8) -> Disposition {
        use Disposition::*;
        match v {
            0 => Unspecified,
            1 => Render,
            2 => Reaction,
            3 => Profile,
            4 => Inline,
            5 => Icon,
            6 => Attachment,
            7 => Session,
            8 => Preview,
            n => Unknown(n),
        }
    }

    /// The wire value.
    pub fn to_u8(self) -> u8 {
        use Disposition::*;
        match self {
            Unspecified => 0,
            Render => 1,
            Reaction => 2,
            Profile => 3,
            Inline => 4,
            Icon => 5,
            Attachment => 6,
            Session => 7,
            Preview => 8,
            Unknown(n) => n,
        }
    }
}

/// How the parts of a MultiPart relate (draft-ietf-mimi-content §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartSemantics {
    /// 0: the receiver picks exactly one part (like multipart/alternative).
    ChooseOne,
    /// 1: all parts form one unit (like multipart/related).
    SingleUnit,
    /// 2: each part is processed on its own (like multipart/mixed).
    ProcessAll,
}

/// Content stored outside the message (draft-ietf-mimi-content §4.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ExternalPart {
    /// IANA media type of the content.
    pub content_type: String,
    /// Where the content can be fetched.
    pub url: String,
    /// UNIX time in seconds after which the URL is invalid; 0 = never.
    pub expires: u32,
    /// Size of the content in bytes; 0 = not given.
    pub size: u64,
    /// IANA AEAD algorithm number, or 0 if not encrypted.
    pub enc_alg: u16,
    /// AEAD key.
    pub key: Vec<u8>,
    /// AEAD nonce.
    pub nonce: Vec<u8>,
    /// AEAD additional authenticated data (empty by default).
    pub aad: Vec<u8>,
    /// IANA Named Information hash algorithm of `content_hash`, or 0.
    pub hash_alg: u8,
    /// Hash of the content at `url`.
    pub content_hash: Vec<u8>,
    /// Optional text description (may be empty).
    pub description: String,
    /// Optional suggested file name (may be empty).
    pub filename: String,
}

/// The body of a part.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PartBody {
    /// No content: used to delete or unlike (draft §5.6, §5.7).
    Null,
    /// Inline content.
    Single {
        /// IANA media type with parameters, e.g. `text/plain;charset=utf-8`.
        content_type: String,
        /// The content bytes.
        content: Vec<u8>,
    },
    /// Content referenced by URL.
    External(ExternalPart),
    /// Two or more nested parts.
    Multi {
        /// How the parts relate.
        semantics: PartSemantics,
        /// The parts, at least two.
        parts: Vec<NestedPart>,
    },
}

/// One body part with its disposition and language.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NestedPart {
    /// The intended handling.
    pub disposition: Disposition,
    /// Empty, or a comma-separated list of language tags.
    pub language: String,
    /// The content.
    pub body: PartBody,
}

impl NestedPart {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let len = match &self.body {
            PartBody::Null => 3,
            PartBody::Single { .. } | PartBody::Multi { .. } => 5,
            PartBody::External(_) => 15,
        };
        write::array(out, len);
        write::uint(out, self.disposition.to_u8().into());
        write::text(out, &self.language);
        match &self.body {
            PartBody::Null => write::uint(out, 0),
            PartBody::Single {
                content_type,
                content,
            } => {
                write::uint(out, 1);
                write::text(out, content_type);
                write::bytes(out, content);
            }
            PartBody::External(e) => {
                write::uint(out, 2);
                write::text(out, &e.content_type);
                write::text(out, &e.url);
                write::uint(out, e.expires.into());
                write::uint(out, e.size);
                write::uint(out, e.enc_alg.into());
                write::bytes(out, &e.key);
                write::bytes(out, &e.nonce);
                write::bytes(out, &e.aad);
                write::uint(out, e.hash_alg.into());
                write::bytes(out, &e.content_hash);
                write::text(out, &e.description);
                write::text(out, &e.filename);
            }
            PartBody::Multi { semantics, parts } => {
                write::uint(out, 3);
                write::uint(out, *semantics as u64);
                write::array(out, parts.len());
                for p in parts {
                    p.write(out);
                }
            }
        }
    }

    /// Reads a part at nesting `level` (the top-level part is 1).
    pub(crate) fn read(v: &Value, level: usize) -> Result<NestedPart, MimiError> {
        if level > MAX_PART_DEPTH {
            return Err(MimiError::TooDeep);
        }
        let items = read::array(v, "a part must be an array").map_err(MimiError::Invalid)?;
        let field = |i: usize| items.get(i).ok_or(MimiError::Invalid(WRONG_LEN));
        let disposition = Disposition::from_u8(
            read::uint(field(0)?, "disposition must be 0..=255").map_err(MimiError::Invalid)?,
        );
        let language =
            read::text(field(1)?, "language must be text").map_err(MimiError::Invalid)?;
        let cardinality: u8 =
            read::uint(field(2)?, "unknown part cardinality").map_err(MimiError::Invalid)?;
        let expected_len = match cardinality {
            0 => 3,
            1 | 3 => 5,
            2 => 15,
            _ => return Err(MimiError::Invalid("unknown part cardinality")),
        };
        if items.len() != expected_len {
            return Err(MimiError::Invalid(WRONG_LEN));
        }
        let body = match cardinality {
            0 => PartBody::Null,
            1 => PartBody::Single {
                content_type: text(&items[3], "contentType must be text")?,
                content: bytes(&items[4], "content must be bytes")?,
            },
            2 => PartBody::External(read_external(&items[3..])?),
            _ => {
                let semantics =
                    match read::uint::<u8>(&items[3], BAD_SEMANTICS).map_err(MimiError::Invalid)? {
                        0 => PartSemantics::ChooseOne,
                        1 => PartSemantics::SingleUnit,
                        2 => PartSemantics::ProcessAll,
                        _ => return Err(MimiError::Invalid(BAD_SEMANTICS)),
                    };
                let parts = read::array(&items[4], "parts must be an array")
                    .map_err(MimiError::Invalid)?
                    .iter()
                    .map(|p| NestedPart::read(p, level + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                PartBody::Multi { semantics, parts }
            }
        };
        Ok(NestedPart {
            disposition,
            language: language.to_owned(),
            body,
        })
    }

    /// Checks the rules a decoder applies, at nesting `level`.
    pub(crate) fn validate(&self, level: usize) -> Result<(), MimiError> {
        if level > MAX_PART_DEPTH {
            return Err(MimiError::TooDeep);
        }
        if let Disposition::Unknown(n) = self.disposition
            && n < 9
        {
            return Err(MimiError::Invalid(
                "Disposition::Unknown holds a known value",
            ));
        }
        if !is_language_list(&self.language) {
            return Err(MimiError::Invalid(
                "language must be empty or a list of language tags",
            ));
        }
        if let PartBody::Multi { parts, .. } = &self.body {
            if parts.len() < 2 {
                return Err(MimiError::Invalid("a MultiPart needs at least two parts"));
            }
            for p in parts {
                p.validate(level + 1)?;
            }
        }
        Ok(())
    }
}

const WRONG_LEN: &str = "part has the wrong number of fields for its cardinality";
const BAD_SEMANTICS: &str = "partSemantics must be 0, 1 or 2";

fn text(v: &Value, what: read::Expected) -> Result<String, MimiError> {
    read::text(v, what)
        .map(str::to_owned)
        .map_err(MimiError::Invalid)
}

fn bytes(v: &Value, what: read::Expected) -> Result<Vec<u8>, MimiError> {
    read::bytes(v, what)
        .map(<[u8]>::to_vec)
        .map_err(MimiError::Invalid)
}

fn uint<T: TryFrom<u64>>(v: &Value, what: read::Expected) -> Result<T, MimiError> {
    read::uint(v, what).map_err(MimiError::Invalid)
}

fn read_external(f: &[Value]) -> Result<ExternalPart, MimiError> {
    Ok(ExternalPart {
        content_type: text(&f[0], "contentType must be text")?,
        url: text(&f[1], "url must be text")?,
        expires: uint(&f[2], "expires must be a uint32")?,
        size: uint(&f[3], "size must be a uint64")?,
        enc_alg: uint(&f[4], "encAlg must be a uint16")?,
        key: bytes(&f[5], "key must be bytes")?,
        nonce: bytes(&f[6], "nonce must be bytes")?,
        aad: bytes(&f[7], "aad must be bytes")?,
        hash_alg: uint(&f[8], "hashAlg must be a uint8")?,
        content_hash: bytes(&f[9], "contentHash must be bytes")?,
        description: text(&f[10], "description must be text")?,
        filename: text(&f[11], "filename must be text")?,
    })
}

/// Empty, or comma-separated tags of letters, digits and `-`, each 1 to 35
/// characters (RFC 5646 §4.4.1 bounds a useful tag well below that).
fn is_language_list(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= 255
            && s.split(',').all(|tag| {
                (1..=35).contains(&tag.len())
                    && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }))
}
