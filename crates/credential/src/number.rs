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
///
/// `Display` and `Debug` print only the redacted tag ([`Self::redacted`]),
/// so a number formatted into a log line or an error message by accident
/// stays out of it (GUIDE §3.7). Wire formats, certificates, labels and
/// storage keys take the real text explicitly: [`Self::as_str`] or
/// [`Self::tel_uri`].
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

    /// The canonical text, `+15551234567`: what wire formats, certificate
    /// names, transparency labels and storage keys carry. Never for logs or
    /// error messages (use `Display`, which redacts).
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

/// Display is the redacted tag (`num:1a2b3c4d`), never the number: `{}`,
/// `to_string()` and tracing's `%` are safe in logs and errors.
impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.redacted())
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
    fn display_and_debug_do_not_leak_the_number() {
        let n = PhoneNumber::parse("+15551234567").unwrap();
        let tag = n.redacted();
        assert!(tag.starts_with("num:") && tag.len() == 12, "{tag}");
        for shown in [
            format!("{n}"),
            format!("{n:>20}"),
            n.to_string(),
            format!("{n:?}"),
            format!("{n:#?}"),
            format!("{:?}", Some(&n)),
            format!("{}", format_args!("to {n}")),
        ] {
            assert!(!shown.contains("5551234567"), "{shown}");
            assert!(shown.contains(&tag), "{shown}");
        }
        assert_eq!(n.to_string(), tag);
        assert_eq!(format!("{n:?}"), format!("PhoneNumber({tag})"));
        // Width and alignment apply to the tag, as to any string.
        assert_eq!(format!("[{n:<14}]"), format!("[{tag}  ]"));
    }

    #[test]
    fn wire_text_is_raw_and_round_trips() {
        let n = PhoneNumber::parse("+447700900002").unwrap();
        assert_eq!(n.as_str(), "+447700900002");
        assert_eq!(n.tel_uri(), "tel:+447700900002");
        assert_eq!(PhoneNumber::parse(n.as_str()).unwrap(), n);
        assert_eq!(PhoneNumber::parse(&n.tel_uri()).unwrap(), n);
        assert_eq!(n.as_str().parse::<PhoneNumber>().unwrap(), n);
        // Displaying is one way: the tag does not parse back to a number.
        assert!(PhoneNumber::parse(&n.to_string()).is_err());
    }

    /// `PhoneNumber` has no serde impl: the JSON bodies (`ClaimRequest`,
    /// `NumberRequest`, …) hold the number as text taken with `as_str()`,
    /// so what goes on the wire is the raw number and reads back equal.
    #[test]
    fn serialized_number_is_raw_while_formatting_is_redacted() {
        let n = PhoneNumber::parse("+15550100001").unwrap();
        let body = serde_json::json!({ "number": n.as_str() }).to_string();
        assert_eq!(body, r#"{"number":"+15550100001"}"#);
        let back: serde_json::Value = serde_json::from_str(&body).unwrap();
        let text = back["number"].as_str().unwrap();
        assert_eq!(PhoneNumber::parse(text).unwrap(), n);
        for shown in [format!("{n}"), format!("{n:?}")] {
            assert!(!shown.contains("15550100001"), "{shown}");
        }
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

        #[test]
        fn formatting_never_shows_the_number(digits in "[1-9][0-9]{8,14}") {
            let n = PhoneNumber::parse(&format!("+{digits}")).unwrap();
            for shown in [format!("{n}"), format!("{n:?}"), n.to_string()] {
                // The tag has 8 hex digits: a 9-digit run cannot hide in it.
                prop_assert!(!shown.contains(&digits), "{}", shown);
                prop_assert!(!shown.contains('+'), "{}", shown);
            }
        }
    }
}
