//! Small text helpers shared by the text-based codecs.
//!
//! The encoders in this crate are infallible, so a caller-supplied string that
//! contains a line break or another control character must not be able to
//! inject a header or a line: [`sanitize_line`] replaces such characters before
//! they are written. Values that are already valid pass through unchanged, so
//! encode-then-decode is the identity on every valid value.

use std::borrow::Cow;

/// Whether `c` is a control character (C0, DEL or C1).
pub(crate) fn is_control(c: char) -> bool {
    c.is_control()
}

/// `s` with every control character (CR, LF, TAB, NUL, DEL, C1) replaced by a
/// space, so that it fits on one header line.
pub(crate) fn sanitize_line(s: &str) -> Cow<'_, str> {
    replace_with_space(s, is_control)
}

/// As [`sanitize_line`], but a horizontal tab is kept: for header formats
/// whose decoder accepts tabs inside a value (RFC 5322 `WSP`), so that
/// encode-then-decode stays the identity there too.
pub(crate) fn sanitize_line_keep_tab(s: &str) -> Cow<'_, str> {
    replace_with_space(s, |c| c != '\t' && is_control(c))
}

/// `s` with every character `bad` picks replaced by a space; borrowed when
/// there is none.
fn replace_with_space(s: &str, bad: impl Fn(char) -> bool) -> Cow<'_, str> {
    if s.chars().any(&bad) {
        Cow::Owned(s.chars().map(|c| if bad(c) { ' ' } else { c }).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// Finds the first CRLF in `bytes` at or after `from`, looking no further than
/// `limit` bytes from the start. Returns the index of the CR.
///
/// A bare LF, or a CR not followed by LF, is an error: the text formats here
/// require CRLF line endings (RFC 3862 §2, RFC 5322 §2.1) and accepting either
/// ending would let two parsers disagree on where a header ends.
pub(crate) fn find_crlf(bytes: &[u8], from: usize, limit: usize) -> LineEnd {
    let end = bytes.len().min(limit);
    let mut i = from;
    while i < end {
        match bytes[i] {
            b'\n' => return LineEnd::BareLf,
            b'\r' => {
                return match bytes.get(i + 1) {
                    Some(b'\n') => LineEnd::Found(i),
                    Some(_) => LineEnd::BareCr,
                    None => LineEnd::NotFound,
                };
            }
            _ => i += 1,
        }
    }
    if end < bytes.len() {
        LineEnd::OverLimit
    } else {
        LineEnd::NotFound
    }
}

/// The outcome of [`find_crlf`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineEnd {
    /// CRLF found; the index of the CR.
    Found(usize),
    /// A LF without a preceding CR.
    BareLf,
    /// A CR not followed by LF.
    BareCr,
    /// The input ended before a line ending.
    NotFound,
    /// No line ending within the limit, and more input follows.
    OverLimit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_replaces_controls_only() {
        assert_eq!(sanitize_line("abc"), "abc");
        assert!(matches!(sanitize_line("abc"), Cow::Borrowed(_)));
        assert_eq!(sanitize_line("a\r\nb\tc\u{7f}"), "a  b c ");
        assert_eq!(sanitize_line("é€"), "é€");
    }

    #[test]
    fn find_crlf_cases() {
        assert_eq!(find_crlf(b"ab\r\ncd", 0, 100), LineEnd::Found(2));
        assert_eq!(find_crlf(b"ab\ncd", 0, 100), LineEnd::BareLf);
        assert_eq!(find_crlf(b"ab\rcd", 0, 100), LineEnd::BareCr);
        assert_eq!(find_crlf(b"ab\r", 0, 100), LineEnd::NotFound);
        assert_eq!(find_crlf(b"abcd", 0, 100), LineEnd::NotFound);
        assert_eq!(find_crlf(b"abcd\r\n", 0, 3), LineEnd::OverLimit);
        assert_eq!(find_crlf(b"ab\r\ncd\r\n", 4, 100), LineEnd::Found(6));
    }
}
