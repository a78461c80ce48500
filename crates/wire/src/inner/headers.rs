//! The MIME header lines inside a framed payload: RFC 5322 §2.2 syntax
//! and the RCC.16 charset rule.

use super::InnerError;

/// Splits `name: value`, checking RFC 5322 §2.2 and §3.6.8 characters.
pub(super) fn parse_line(line: &[u8]) -> Result<(&str, &str), InnerError> {
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
pub(super) fn check_media_type(value: &str) -> Result<(), InnerError> {
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

/// The Content-Type value written on the wire (fact sheet §3b, measured
/// between Google Messages and Apple): `;charset=UTF-8` is appended to
/// textual types and every `message/*` type (`message/mls-rcs-file-info`
/// included), never to `image/*`, `video/*` or `audio/*`, and never to a
/// type that already has parameters.
///
/// "Textual" is our reading: `text/*`, and the `application` types whose
/// syntax is text (`xml`, `json`, `*+xml`, `*+json`). Binary `application`
/// types (MIMI content, CBOR) get no charset.
pub(super) fn with_charset(content_type: &str) -> String {
    let essence = content_type.trim().to_ascii_lowercase();
    if content_type.contains(';') {
        return content_type.to_owned();
    }
    let (top, sub) = essence.split_once('/').unwrap_or((essence.as_str(), ""));
    let textual = match top {
        "text" | "message" => true,
        "application" => {
            matches!(sub, "xml" | "json") || sub.ends_with("+xml") || sub.ends_with("+json")
        }
        _ => false,
    };
    if textual {
        format!("{content_type};charset=UTF-8")
    } else {
        content_type.to_owned()
    }
}

/// A decimal Content-Length: ASCII digits, no sign, at most 10 digits.
pub(super) fn parse_content_length(value: &str) -> Result<usize, InnerError> {
    if value.is_empty() || value.len() > 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InnerError::InvalidContentLength);
    }
    value
        .parse::<usize>()
        .map_err(|_| InnerError::InvalidContentLength)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_rule() {
        for (given, sent) in [
            ("text/plain", "text/plain;charset=UTF-8"),
            (
                "message/mls-rcs-file-info",
                "message/mls-rcs-file-info;charset=UTF-8",
            ),
            ("Message/CPIM", "Message/CPIM;charset=UTF-8"),
            (
                "application/im-iscomposing+xml",
                "application/im-iscomposing+xml;charset=UTF-8",
            ),
            ("application/json", "application/json;charset=UTF-8"),
            ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
            ("message/x;a=b", "message/x;a=b"),
            ("image/jpeg", "image/jpeg"),
            ("video/mp4", "video/mp4"),
            ("audio/amr", "audio/amr"),
            ("application/mimi-content", "application/mimi-content"),
            ("application/octet-stream", "application/octet-stream"),
        ] {
            assert_eq!(with_charset(given), sent, "{given}");
        }
    }

    #[test]
    fn content_lengths() {
        assert_eq!(parse_content_length("0"), Ok(0));
        assert_eq!(parse_content_length("1048576"), Ok(1 << 20));
        for bad in ["", "-1", "+1", "1 ", "0x10", "12345678901", "١"] {
            assert_eq!(
                parse_content_length(bad),
                Err(InnerError::InvalidContentLength),
                "{bad:?}"
            );
        }
    }
}
