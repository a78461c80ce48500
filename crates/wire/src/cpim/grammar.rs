//! Character rules of RFC 3862 §3.1.
//!
//! ```text
//! Header-name = [ Name-prefix "." ] Name
//! Name-prefix = Name
//! Name        = 1*NAMECHAR
//! NAMECHAR    = %x21 / %x23-27 / %x2a-2b / %x2d / %x5e-60 / %x7c / %x7e / ALPHA / DIGIT
//! Header-value = *HEADERCHAR   ; HEADERCHAR = UCS-no-CTL / Escape
//! ```

use crate::text::is_control;

/// The longest header name accepted (prefix, dot and name).
pub(crate) const MAX_NAME_LEN: usize = 128;

/// `NAMECHAR` of RFC 3862 §3.1.
pub(crate) fn is_name_char(b: u8) -> bool {
    matches!(b,
        0x21 | 0x23..=0x27 | 0x2a | 0x2b | 0x2d | 0x5e..=0x60 | 0x7c | 0x7e)
        || b.is_ascii_alphanumeric()
}

/// `Name` of RFC 3862 §3.1.
pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_name_char)
}

/// Checks a `Header-name`: a `Name`, optionally prefixed by `Name "."`.
pub(crate) fn check_header_name(name: &str) -> Result<(), &'static str> {
    if name.len() > MAX_NAME_LEN {
        return Err("header name too long");
    }
    let ok = match name.split_once('.') {
        None => is_name(name),
        Some((prefix, local)) => is_name(prefix) && is_name(local),
    };
    if ok {
        Ok(())
    } else {
        Err("not an RFC 3862 header name")
    }
}

/// Checks a `Header-value`: any UTF-8 text without control characters.
pub(crate) fn check_header_value(value: &str) -> Result<(), &'static str> {
    if value.chars().any(is_control) {
        Err("control character in header value")
    } else {
        Ok(())
    }
}

/// Makes `name` a valid `Header-name` for the encoder: invalid characters and
/// any dot after the first become `_`; an empty name becomes `_`. A name
/// that is already valid (up to [`MAX_NAME_LEN`] bytes) is kept exactly.
pub(crate) fn sanitize_header_name(name: &str) -> String {
    if check_header_name(name).is_ok() {
        return name.to_owned();
    }
    let mut seen_dot = false;
    let mut out: String = name
        .bytes()
        .take(MAX_NAME_LEN - 2)
        .map(|b| {
            if is_name_char(b) {
                b as char
            } else if b == b'.' && !seen_dot {
                seen_dot = true;
                '.'
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with('.') {
        out.insert(0, '_');
    }
    if out.is_empty() || out.ends_with('.') {
        out.push('_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names() {
        for ok in [
            "From",
            "NS",
            "mls.Era-ID",
            "imdn.Message-ID",
            "a!#$%&'*+-^_`|~9",
        ] {
            assert_eq!(check_header_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "", ".x", "x.", "a.b.c", "a b", "a:b", "a\"b", "a(b", "é", "a/b", "a,b",
        ] {
            assert!(check_header_name(bad).is_err(), "{bad}");
        }
        assert!(check_header_name(&"a".repeat(MAX_NAME_LEN + 1)).is_err());
    }

    #[test]
    fn header_values() {
        assert_eq!(check_header_value("<tel:+15551234567>"), Ok(()));
        assert_eq!(check_header_value("é ☃ ok"), Ok(()));
        assert!(check_header_value("a\r\nInjected: x").is_err());
        assert!(check_header_value("tab\there").is_err());
        assert!(check_header_value("nul\0").is_err());
    }

    #[test]
    fn sanitized_names_are_valid() {
        let long = format!(".{}", "a".repeat(300));
        for raw in [
            "",
            ".",
            "..",
            "a.b.c",
            "x:y",
            "é",
            "mls.Era-ID",
            "a.",
            ".a",
            &long,
        ] {
            let s = sanitize_header_name(raw);
            assert_eq!(check_header_name(&s), Ok(()), "{raw:?} -> {s:?}");
        }
        assert_eq!(sanitize_header_name("mls.Era-ID"), "mls.Era-ID");
    }

    /// Found by fuzzing (fuzz/fuzz_targets/cpim.rs): a valid name of 127 or
    /// 128 bytes was cut to 126 by the encoder, so a decoded message did
    /// not re-encode to itself.
    #[test]
    fn valid_names_up_to_the_limit_are_kept() {
        for len in [MAX_NAME_LEN - 2, MAX_NAME_LEN - 1, MAX_NAME_LEN] {
            let name = format!("imdn.{}", "6".repeat(len - 5));
            assert_eq!(check_header_name(&name), Ok(()));
            assert_eq!(sanitize_header_name(&name), name);
        }
        let too_long = "a".repeat(MAX_NAME_LEN + 1);
        let s = sanitize_header_name(&too_long);
        assert_eq!(check_header_name(&s), Ok(()));
    }
}
