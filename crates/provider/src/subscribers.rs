//! The carrier's subscriber file: one `+E164 token` per line; blank lines
//! and `#` comments are skipped. The token stands in for SIM
//! authentication: a device proves its number by presenting it.

use std::path::Path;

use crosslock_acs::Acs;
use crosslock_credential::PhoneNumber;

use crate::error::ProviderError;

/// Registers every subscriber in `path` with `acs`; returns how many.
pub(crate) fn load(acs: &Acs, path: &Path) -> Result<usize, ProviderError> {
    let text = std::fs::read_to_string(path).map_err(|e| ProviderError::Config {
        path: path.display().to_string(),
        why: e.to_string(),
    })?;
    let entries = parse(&text).map_err(|why| ProviderError::Config {
        path: path.display().to_string(),
        why,
    })?;
    for (number, token) in &entries {
        acs.add_subscriber(number, token);
    }
    Ok(entries.len())
}

fn parse(text: &str) -> Result<Vec<(PhoneNumber, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(number), Some(token), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("line {}: expected `+E164 token`", i + 1));
        };
        let number = PhoneNumber::parse(number).map_err(|e| format!("line {}: {e}", i + 1))?;
        if token.len() < 16 {
            return Err(format!(
                "line {}: the token must have at least 16 characters",
                i + 1
            ));
        }
        out.push((number, token.to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_refuses_bad_ones() {
        let entries = parse(
            "# subscribers\n\n+447700900123  0123456789abcdef\n+14155550100 tokentokentokentoken\n",
        )
        .unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].0.as_str(), "+447700900123");
        assert!(parse("+447700900123").unwrap_err().contains("line 1"));
        assert!(
            parse("447700900123 0123456789abcdef")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(parse("+447700900123 short").unwrap_err().contains("16"));
        assert!(parse("+447700900123 a b").is_err());
    }
}
