//! Checks of the text fields: download URL, file name, media type.
//!
//! The file name matters most: a client saves the file under it, so it must
//! be a bare name that no file system can read as a path. The rules here are
//! Crosslock's (RCC.16 does not constrain the name; see docs/client-core.md
//! "Files"): refused on decoding rather than repaired, so a peer that sends
//! `../../etc/passwd` gets its message refused instead of a silently renamed
//! file.

use super::error::FileInfoError;
use super::{MAX_MEDIA_TYPE_BYTES, MAX_NAME_BYTES, MAX_URL_BYTES};

/// FILE-INFO-2. Checks a download URL: 1 to [`MAX_URL_BYTES`] bytes, the `https` scheme
/// (the content server is only reached over TLS) — or `http` to a loopback
/// host (`127.0.0.1`, `localhost`, `[::1]`: a provider on this machine, as in
/// tests and the demo) —, something after the scheme, and only the
/// characters RFC 3986 §2 allows (unreserved, reserved and `%`): no spaces,
/// controls, quotes, backslashes or non-ASCII.
pub(crate) fn check_url(url: &str) -> Result<(), FileInfoError> {
    let scheme = if is_loopback_http(url) {
        "http://"
    } else {
        "https://"
    };
    check_url_with(url, scheme)
}

/// `http://` followed by a loopback host and then a port, a path or nothing.
fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("http://"))
        .map(|_| &url[7..])
    else {
        return false;
    };
    ["127.0.0.1", "localhost", "[::1]"].iter().any(|host| {
        rest.strip_prefix(host).is_some_and(|after| {
            after.is_empty() || after.starts_with(':') || after.starts_with('/')
        })
    })
}

fn check_url_with(url: &str, expected: &str) -> Result<(), FileInfoError> {
    if url.is_empty() {
        return Err(FileInfoError::Url("empty"));
    }
    if url.len() > MAX_URL_BYTES {
        return Err(FileInfoError::Url("longer than 2048 bytes"));
    }
    if !url.bytes().all(is_uri_char) {
        return Err(FileInfoError::Url("character not allowed in a URI"));
    }
    let scheme = url.get(..expected.len()).unwrap_or_default();
    if !scheme.eq_ignore_ascii_case(expected) {
        return Err(FileInfoError::Url("not an https URL"));
    }
    if url.len() == expected.len() {
        return Err(FileInfoError::Url("no host"));
    }
    Ok(())
}

/// RFC 3986 §2.2, §2.3 and the `%` of §2.1.
fn is_uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

/// FILE-INFO-3. Checks a file name: 1 to [`MAX_NAME_BYTES`] bytes of UTF-8,
/// no `/`, no `\`, no NUL or other control character (C0, DEL, C1), not
/// `.`, and no `..` anywhere: a bare
/// name that cannot climb out of the directory it is saved in on any file
/// system.
pub fn check_file_name(name: &str) -> Result<(), FileInfoError> {
    if name.is_empty() {
        return Err(FileInfoError::Name("empty"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(FileInfoError::Name("longer than 255 bytes"));
    }
    if name.contains(['/', '\\']) {
        return Err(FileInfoError::Name("contains a path separator"));
    }
    if name.chars().any(char::is_control) {
        return Err(FileInfoError::Name("contains a control character"));
    }
    if name == "." || name.contains("..") {
        return Err(FileInfoError::Name("contains a dot-dot or is a dot"));
    }
    Ok(())
}

/// FILE-INFO-4. Checks a media type: `type/subtype`, each an RFC 6838 §4.2
/// `restricted-name` (a letter or digit, then letters, digits and
/// `!#$&-^_.+`), at most [`MAX_MEDIA_TYPE_BYTES`] in all, no parameters.
pub fn check_media_type(media_type: &str) -> Result<(), FileInfoError> {
    if media_type.len() > MAX_MEDIA_TYPE_BYTES {
        return Err(FileInfoError::MediaType("longer than 127 bytes"));
    }
    let (kind, subtype) = media_type
        .split_once('/')
        .ok_or(FileInfoError::MediaType("not type/subtype"))?;
    if !is_restricted_name(kind) || !is_restricted_name(subtype) {
        return Err(FileInfoError::MediaType(
            "type and subtype must be RFC 6838 restricted names",
        ));
    }
    Ok(())
}

fn is_restricted_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
}

/// The name to save a file under: a checked name (see [`check_file_name`])
/// with what is legal but misleading on a file system or a screen replaced
/// by `_`: bidirectional controls (so `photo\u{202E}gpj.exe` cannot pose
/// as a picture), `:` (alternate data streams, classic Mac paths), the
/// other characters Windows refuses (`<>"|?*`), and a leading `.` (hidden
/// files); trailing dots and spaces are dropped (Windows strips them,
/// which would change the name); a Windows device name (`CON`, `nul.txt`,
/// `COM1`, …, which would open the device, not a file) gets a leading `_`.
pub(crate) fn safe_file_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if is_bidi_control(c) || matches!(c, ':' | '<' | '>' | '"' | '|' | '?' | '*') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let kept = out.trim_end_matches(['.', ' ']).len();
    out.truncate(kept);
    if out.starts_with('.') {
        out.replace_range(..1, "_");
    }
    if out.is_empty() {
        out.push_str("file");
    }
    if is_windows_device(&out) {
        out.insert(0, '_');
    }
    out
}

/// Whether Windows takes `name` for a device: its part before the first
/// dot (trailing spaces ignored), in any case, is `CON`, `PRN`, `AUX`,
/// `NUL`, `COM0`…`COM9`, `LPT0`…`LPT9` (or with a superscript ¹²³),
/// `CONIN$`, `CONOUT$` or `CLOCK$`.
fn is_windows_device(name: &str) -> bool {
    let stem = name
        .split('.')
        .next()
        .unwrap_or_default()
        .trim_end_matches(' ')
        .to_ascii_uppercase();
    if matches!(
        stem.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$" | "CLOCK$"
    ) {
        return true;
    }
    let port = stem
        .strip_prefix("COM")
        .or_else(|| stem.strip_prefix("LPT"));
    port.is_some_and(|n| {
        let mut chars = n.chars();
        matches!(
            (chars.next(), chars.next()),
            (Some('0'..='9' | '¹' | '²' | '³'), None)
        )
    })
}

/// The Unicode bidirectional formatting characters (UAX #9 §2).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for ok in [
            "https://content.example/f/AbC-_~123",
            "HTTPS://cs.example:8443/x?sig=a%2Fb&e=1#frag",
            "https://[::1]:443/blob",
            "http://127.0.0.1:8443/v1/files/x",
            "http://localhost/v1/files/x",
            "http://[::1]:1/x",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        let long = format!("https://x.example/{}", "a".repeat(MAX_URL_BYTES));
        for (bad, why) in [
            ("", "empty"),
            ("http://content.example/f", "not an https URL"),
            ("http://127.0.0.1.evil.example/f", "not an https URL"),
            ("http://localhostx/f", "not an https URL"),
            ("file:///etc/passwd", "not an https URL"),
            ("https://", "no host"),
            ("https://x.example/a b", "character not allowed in a URI"),
            (
                "https://x.example/\r\nHost: y",
                "character not allowed in a URI",
            ),
            ("https://x.example/é", "character not allowed in a URI"),
            ("https://x.example/a\\b", "character not allowed in a URI"),
            (long.as_str(), "longer than 2048 bytes"),
        ] {
            assert_eq!(check_url(bad), Err(FileInfoError::Url(why)), "{bad:?}");
        }
        let exact = format!("https://x.example/{}", "a".repeat(MAX_URL_BYTES - 18));
        assert_eq!(exact.len(), MAX_URL_BYTES);
        assert_eq!(check_url(&exact), Ok(()));
    }

    #[test]
    fn file_names() {
        for ok in [
            "photo.jpg",
            "a",
            "Résumé 2025 (final).pdf",
            "日本語.txt",
            ".profile",
            "x.",
            "a.b.c",
            "emoji 🎉.png",
            &"é".repeat(127),
        ] {
            assert_eq!(check_file_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "../../etc/passwd",
            "..",
            ".",
            "a..b",
            "dir/file",
            "/etc/passwd",
            "C:\\Windows\\x.dll",
            "..\\x",
            "nul\0byte",
            "line\nbreak",
            "tab\there",
            "del\u{7f}",
            "c1\u{85}",
            &"a".repeat(256),
            &"é".repeat(128),
        ] {
            assert!(
                matches!(check_file_name(bad), Err(FileInfoError::Name(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn media_types() {
        for ok in [
            "image/jpeg",
            "application/vnd.oasis.opendocument.text",
            "video/3gpp",
            "x/y+z",
        ] {
            assert_eq!(check_media_type(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "image",
            "image/",
            "/jpeg",
            "image/jpeg; charset=x",
            "image/jp eg",
            "image/jpeg/x",
            "-image/jpeg",
            "image/\u{e9}",
            &format!("a/{}", "b".repeat(126)),
        ] {
            assert!(
                matches!(check_media_type(bad), Err(FileInfoError::MediaType(_))),
                "{bad:?}"
            );
        }
        assert_eq!(check_media_type(&format!("a/{}", "b".repeat(125))), Ok(()));
    }

    #[test]
    fn safe_names() {
        assert_eq!(safe_file_name("photo.jpg"), "photo.jpg");
        assert_eq!(safe_file_name("photo\u{202E}gpj.exe"), "photo_gpj.exe");
        assert_eq!(safe_file_name(".bashrc"), "_bashrc");
        assert_eq!(safe_file_name("a:stream"), "a_stream");
        assert_eq!(safe_file_name("trail. . "), "trail");
        assert_eq!(safe_file_name(". "), "file");
        assert_eq!(safe_file_name("\u{2067}"), "_");
        assert_eq!(safe_file_name("what?<now>|\"*"), "what__now____");
    }

    /// A name that would open a Windows device instead of a file.
    #[test]
    fn windows_device_names_are_not_kept() {
        for device in [
            "CON",
            "con",
            "nul.txt",
            "NUL.tar.gz",
            "Aux.jpg",
            "prn",
            "COM1",
            "com9.log",
            "LPT1",
            "lpt0",
            "COM\u{b9}.txt",
            "LPT\u{b3}",
            "CONIN$",
            "conout$.x",
            "CLOCK$",
            "con .txt",
        ] {
            let safe = safe_file_name(device);
            assert_eq!(
                safe,
                format!("_{device}").trim_end_matches(['.', ' ']),
                "{device:?}"
            );
        }
        for fine in [
            "console.txt",
            "COM10",
            "LPT",
            "icon",
            "nul_report.pdf",
            "auxiliary.doc",
        ] {
            assert_eq!(safe_file_name(fine), fine, "{fine:?}");
        }
    }
}
