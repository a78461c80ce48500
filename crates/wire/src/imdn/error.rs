//! The error type of the IMDN codec.

use thiserror::Error;

/// Why an IMDN document was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImdnError {
    /// Over [`super::MAX_DOCUMENT_BYTES`], or too many elements.
    #[error("IMDN document is too large")]
    TooLarge,
    /// Not UTF-8.
    #[error("IMDN document is not UTF-8")]
    InvalidUtf8,
    /// An encoding other than UTF-8 is declared.
    #[error("unsupported XML encoding")]
    UnsupportedEncoding,
    /// The XML is not well-formed.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// The document has a DOCTYPE (refused: no entity may be declared).
    #[error("DOCTYPE is not allowed")]
    Dtd,
    /// A reference to an entity other than the five predefined ones.
    #[error("undefined entity {0:?}")]
    UndefinedEntity(String),
    /// Elements nest deeper than the decoder allows.
    #[error("IMDN document is nested too deep")]
    TooDeep,
    /// The root is not `imdn` in the RFC 5438 namespace.
    #[error("root element is not imdn in urn:ietf:params:xml:ns:imdn")]
    WrongRoot,
    /// An element of the IMDN namespace not allowed where it is.
    #[error("unexpected element {0:?}")]
    UnexpectedElement(String),
    /// An element that may appear once appears twice.
    #[error("duplicate element {0}")]
    DuplicateElement(String),
    /// A required element is absent.
    #[error("missing element {0}")]
    MissingElement(&'static str),
    /// A notification kind this decoder does not support.
    #[error("unsupported notification {0}")]
    Unsupported(&'static str),
    /// A failure-reason token that is not in RCC.16 or Google's list.
    #[error("unknown failure reason {0:?}")]
    UnknownReason(String),
    /// A failure-reason arm where the arm rule forbids one (§5).
    #[error("failure reason not allowed: {0}")]
    ArmNotAllowed(&'static str),
    /// An element's text breaks its type.
    #[error("invalid {element}: {reason}")]
    InvalidValue {
        /// The element name.
        element: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Structure the decoder refuses: stray text, processing instructions,
    /// text inside a structural element, an incomplete document.
    #[error("invalid IMDN document: {0}")]
    Malformed(&'static str),
}

impl From<crate::xml::XmlRefusal> for ImdnError {
    fn from(r: crate::xml::XmlRefusal) -> Self {
        use crate::xml::XmlRefusal;
        match r {
            XmlRefusal::BadCharacterReference => {
                ImdnError::Xml("invalid character reference".into())
            }
            XmlRefusal::UndefinedEntity(name) => ImdnError::UndefinedEntity(name),
            XmlRefusal::NotXml10 => ImdnError::Malformed("XML version must be 1.0"),
            XmlRefusal::UnsupportedEncoding => ImdnError::UnsupportedEncoding,
        }
    }
}
