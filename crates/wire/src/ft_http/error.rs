//! The error type of the FT-HTTP descriptor codec.

use thiserror::Error;

/// Why an FT-HTTP descriptor was refused or could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DescriptorError {
    /// Over [`super::MAX_DESCRIPTOR_BYTES`].
    #[error("file descriptor is too large")]
    TooLarge,
    /// Not UTF-8, or an encoding other than UTF-8 declared.
    #[error("file descriptor is not UTF-8")]
    Encoding,
    /// Not well-formed XML (as the reader reports it).
    #[error("malformed XML: {0}")]
    Xml(String),
    /// Well-formed but not acceptable: DOCTYPE, processing instruction, an
    /// undefined entity, text or content where none belongs.
    #[error("file descriptor refused: {0}")]
    Malformed(&'static str),
    /// Nested deeper than 8 elements.
    #[error("file descriptor is nested too deep")]
    TooDeep,
    /// The root is not `file` in the FT-HTTP namespace.
    #[error("root element is not file in urn:gsma:params:xml:ns:rcs:rcs:fthttp")]
    WrongRoot,
    /// A `file-info` whose `type` is neither `file` nor `thumbnail`.
    #[error("file-info of unknown type")]
    UnknownType,
    /// An element that must appear once appears twice (or two `file-info`
    /// of one type).
    #[error("duplicate {0}")]
    Duplicate(&'static str),
    /// A required element or attribute is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// `file-size` is not a decimal number that fits 64 bits.
    #[error("file-size is not a number")]
    Size,
    /// `content-type` is not a media type.
    #[error("content-type is not a media type")]
    ContentType,
    /// The download URL is not one we fetch.
    #[error("invalid download URL: {0}")]
    Url(&'static str),
    /// `until` is not an RFC 3339 date-time from 1970 to 9999.
    #[error("until is not an RFC 3339 date-time")]
    Until,
}

impl From<crate::xml::XmlRefusal> for DescriptorError {
    fn from(r: crate::xml::XmlRefusal) -> Self {
        use crate::xml::XmlRefusal;
        match r {
            XmlRefusal::BadCharacterReference => {
                DescriptorError::Malformed("invalid character reference")
            }
            XmlRefusal::UndefinedEntity(_) => DescriptorError::Malformed("undefined entity"),
            XmlRefusal::NotXml10 => DescriptorError::Malformed("XML version must be 1.0"),
            XmlRefusal::UnsupportedEncoding => DescriptorError::Encoding,
        }
    }
}
