//! The error type of the isComposing codec.

use thiserror::Error;

/// Why an isComposing document was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TypingError {
    /// Over [`super::MAX_DOCUMENT_BYTES`].
    #[error("isComposing document is too large")]
    TooLarge,
    /// Not UTF-8.
    #[error("isComposing document is not UTF-8")]
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
    #[error("isComposing document is nested too deep")]
    TooDeep,
    /// The root is not `isComposing` in the RFC 3994 namespace.
    #[error("root element is not isComposing in urn:ietf:params:xml:ns:im-iscomposing")]
    WrongRoot,
    /// An element of the isComposing namespace this decoder does not know.
    #[error("unknown element {0:?}")]
    UnknownElement(String),
    /// An element that may appear once appears twice.
    #[error("duplicate element {0}")]
    DuplicateElement(&'static str),
    /// The required `state` element is absent.
    #[error("missing state element")]
    MissingState,
    /// A `state` other than `active` or `idle`.
    #[error("unknown state {0:?}")]
    UnknownState(String),
    /// An element's text breaks its type.
    #[error("invalid {element}: {reason}")]
    InvalidValue {
        /// The element name.
        element: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Structure the decoder refuses: stray text, processing instructions,
    /// markup inside a simple element, an incomplete document.
    #[error("invalid isComposing document: {0}")]
    Malformed(&'static str),
}

impl From<crate::xml::XmlRefusal> for TypingError {
    fn from(r: crate::xml::XmlRefusal) -> Self {
        use crate::xml::XmlRefusal;
        match r {
            XmlRefusal::BadCharacterReference => {
                TypingError::Xml("invalid character reference".into())
            }
            XmlRefusal::UndefinedEntity(name) => TypingError::UndefinedEntity(name),
            XmlRefusal::NotXml10 => TypingError::Malformed("XML version must be 1.0"),
            XmlRefusal::UnsupportedEncoding => TypingError::UnsupportedEncoding,
        }
    }
}
