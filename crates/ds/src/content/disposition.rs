//! The upload's `Content-Disposition`: RCC.16 has the client name every
//! uploaded file `encrypted_file`, so the server never learns a real file
//! name. A request naming any other file is refused rather than stored
//! with a name it should never have sent.

use axum::http::HeaderMap;
use axum::http::header::CONTENT_DISPOSITION;
use crosslock_wire::api::files::FILE_NAME;

use crate::error::DsError;

/// Refuses a request whose `Content-Disposition` names a file other than
/// `encrypted_file` (in `filename` or `filename*`, RFC 6266 §4.1), or that
/// cannot be read. No header, or one without a file name, is fine.
pub(super) fn check(headers: &HeaderMap) -> Result<(), DsError> {
    for value in headers.get_all(CONTENT_DISPOSITION) {
        let text = value
            .to_str()
            .map_err(|_| malformed("Content-Disposition is not visible ASCII"))?;
        let params = parameters(text).ok_or_else(|| malformed("unparsable Content-Disposition"))?;
        for (name, value) in params {
            let named = match name.as_str() {
                "filename" => value.as_str(),
                // ext-value = charset "'" [ language ] "'" value-chars (RFC 8187 §3.2.1).
                "filename*" => value.splitn(3, '\'').nth(2).unwrap_or(""),
                _ => continue,
            };
            if named != FILE_NAME {
                return Err(malformed(
                    "the uploaded file must be named encrypted_file (RCC.16)",
                ));
            }
        }
    }
    Ok(())
}

fn malformed(why: &str) -> DsError {
    DsError::Malformed(why.to_owned())
}

/// RFC 9110 §5.6.2 token characters.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The parameters of `type; name=value; name="quoted"`, names lowercased;
/// `None` if the syntax is not that.
fn parameters(text: &str) -> Option<Vec<(String, String)>> {
    let (kind, mut rest) = text.split_once(';').unwrap_or((text, ""));
    if !is_token(kind.trim()) {
        return None;
    }
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Some(out);
        }
        let (name, after) = rest.split_once('=')?;
        let name = name.trim();
        if !is_token(name) {
            return None;
        }
        let after = after.trim_start();
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => quoted_string(quoted)?,
            None => {
                let end = after.find(';').unwrap_or(after.len());
                let value = after[..end].trim_end();
                if !is_token(value) {
                    return None;
                }
                (value.to_owned(), &after[end..])
            }
        };
        out.push((name.to_ascii_lowercase(), value));
        let after = after.trim_start();
        rest = match after.strip_prefix(';') {
            Some(next) => next,
            None if after.is_empty() => after,
            None => return None,
        };
    }
}

/// The content of a quoted string whose opening quote is already consumed,
/// and what follows its closing quote.
fn quoted_string(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => value.push(chars.next()?.1),
            '"' => return Some((value, &text[i + 1..])),
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_DISPOSITION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_encrypted_file_is_accepted() {
        check(&HeaderMap::new()).unwrap();
        for ok in [
            "attachment",
            "attachment; filename=encrypted_file",
            "attachment; filename=\"encrypted_file\"",
            "form-data; name=\"file\"; FileName=\"encrypted_file\"",
            "attachment; filename*=UTF-8''encrypted_file",
            "attachment; filename=\"encrypted\\_file\";",
        ] {
            check(&with(ok)).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "attachment; filename=\"holiday.jpg\"",
            "attachment; filename=encrypted_file; filename*=UTF-8''secret.pdf",
            "attachment; filename*=UTF-8'en'Encrypted_file",
            "attachment; filename=\"encrypted_file",
            "attachment; filename=\"encrypted_file\" x",
            "attachment; filename=a b",
            "; filename=encrypted_file",
            "attachment; =encrypted_file",
        ] {
            assert!(
                matches!(check(&with(bad)), Err(DsError::Malformed(_))),
                "{bad} accepted"
            );
        }
    }
}
