//! E.164 phone numbers, the identity RCS participants are known by.
//!
//! Numbers arrive as `tel:` URIs (RFC 3966) or as typed text; both are
//! validated and normalised here, at the edge, so that everything behind it
//! compares one canonical form: `+` followed by 2 to 15 digits, the first
//! not zero (ITU-T E.164 §6).

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// A validated, normalised E.164 number, e.g. `+15551234567`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

/// Why a text is not an E.164 number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// No leading `+`: local numbers need a country code to be global.
    #[error("number must start with '+' and a country code (E.164), e.g. +15551234567")]
    MissingPlus,
    /// A character that is neither a digit nor an RFC 3966 visual separator.
    #[error("number contains an invalid character")]
    InvalidCharacter,
    /// Fewer than 2 or more than 15 digits.
    #[error("number must have between 2 and 15 digits (E.164)")]
    BadLength,
    /// Country codes never start with 0.
    #[error("country code cannot start with 0")]
    LeadingZero,
    /// A `tel:` URI with parameters we do not accept (e.g. `;phone-context`).
    #[error("tel: URI parameters are not accepted for global numbers")]
    UriParameters,
}

impl PhoneNumber {
    /// Parses `+1 (555) 123-4567`, `+15551234567` or `tel:+1-555-123-4567`.
    ///
    /// RFC 3966 §5.1.1 visual separators (`-`, `.`, `(`, `)`) and spaces are
    /// dropped; anything else is refused.
    pub fn parse(text: &str) -> Result<Self, NumberError> {
        let text = text.trim();
        let text = match text.get(..4) {
            Some(scheme) if scheme.eq_ignore_ascii_case("tel:") => &text[4..],
            _ => text,
        };
        if text.contains(';') {
            return Err(NumberError::UriParameters);
        }
        let rest = text.strip_prefix('+').ok_or(NumberError::MissingPlus)?;
        let mut digits = String::with_capacity(16);
        digits.push('+');
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '-' | '.' | '(' | ')' | ' ' => {}
                _ => return Err(NumberError::InvalidCharacter),
            }
        }
        let count = digits.len() - 1;
        if !(2..=15).contains(&count) {
            return Err(NumberError::BadLength);
        }
        if digits.as_bytes()[1] == b'0' {
            return Err(NumberError::LeadingZero);
        }
        Ok(PhoneNumber(digits))
    }

    /// The canonical text, `+15551234567`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `tel:` URI, `tel:+15551234567`.
    pub fn tel_uri(&self) -> String {
        format!("tel:{}", self.0)
    }

    /// A short, stable, non-reversible-at-a-glance tag for logs (GUIDE §3.7):
    /// the first 8 hex digits of SHA-256 over the canonical number. It is not
    /// a privacy guarantee (the number space is small), only a way to keep
    /// raw numbers out of log files.
    pub fn redacted(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        let mut out = String::from("num:");
        for b in &digest[..4] {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Debug never prints the number itself, so it cannot leak through `{:?}`
/// in a log line.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.redacted())
    }
}

impl FromStr for PhoneNumber {
    type Err = NumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PhoneNumber::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises_visual_separators_and_scheme() {
        for text in [
            "+15551234567",
            "tel:+1-555-123-4567",
            "TEL:+1 (555) 123.4567",
            " +15551234567 ",
        ] {
            assert_eq!(
                PhoneNumber::parse(text).unwrap().as_str(),
                "+15551234567",
                "{text}"
            );
        }
        assert_eq!(
            PhoneNumber::parse("+15551234567").unwrap().tel_uri(),
            "tel:+15551234567"
        );
    }

    #[test]
    fn refuses_non_e164() {
        assert_eq!(
            PhoneNumber::parse("5551234567"),
            Err(NumberError::MissingPlus)
        );
        assert_eq!(
            PhoneNumber::parse("+1555123456789012"),
            Err(NumberError::BadLength)
        );
        assert_eq!(PhoneNumber::parse("+1"), Err(NumberError::BadLength));
        assert_eq!(
            PhoneNumber::parse("+0123456"),
            Err(NumberError::LeadingZero)
        );
        assert_eq!(
            PhoneNumber::parse("+1555abc"),
            Err(NumberError::InvalidCharacter)
        );
        assert_eq!(
            PhoneNumber::parse("+1555١٢٣"),
            Err(NumberError::InvalidCharacter)
        );
        assert_eq!(
            PhoneNumber::parse("tel:+1555;ext=1"),
            Err(NumberError::UriParameters)
        );
        assert_eq!(PhoneNumber::parse(""), Err(NumberError::MissingPlus));
    }

    #[test]
    fn debug_does_not_leak_the_number() {
        let n = PhoneNumber::parse("+15551234567").unwrap();
        let shown = format!("{n:?}");
        assert!(!shown.contains("5551234567"), "{shown}");
        assert!(shown.contains("num:"));
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_output_is_canonical(s in "\\PC{0,40}") {
            if let Ok(n) = PhoneNumber::parse(&s) {
                prop_assert_eq!(PhoneNumber::parse(n.as_str()).unwrap(), n.clone());
                prop_assert!(n.as_str().starts_with('+'));
                prop_assert!(n.as_str()[1..].bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }
}
