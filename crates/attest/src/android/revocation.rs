//! Google's attestation certificate status list (ATT-R-1).
//!
//! Google publishes the status of attestation keys and intermediates it has
//! withdrawn at `https://android.googleapis.com/attestation/status` (see
//! "Certificate status" in Android's key attestation guide,
//! <https://developer.android.com/privacy-and-security/security-key-attestation>).
//! The body is JSON with a published JSON schema:
//!
//! ```text
//! { "entries": {
//!     "<serial number, lowercase hex>": {
//!         "status":  "REVOKED" | "SUSPENDED",                    -- required
//!         "reason":  "UNSPECIFIED" | "KEY_COMPROMISE" | "CA_COMPROMISE"
//!                    | "SUPERSEDED" | "SOFTWARE_FLAW",            -- optional
//!         "expires": "YYYY-MM-DD",                                -- optional
//!         "comment": "<at most 140 characters>" } } }             -- optional
//! ```
//!
//! Only withdrawn certificates are listed; REVOKED is permanent, SUSPENDED
//! temporary. Both are refused here: a suspended key is not trustworthy
//! while it is suspended, and the next list clears it. `expires` only says
//! when an entry may be dropped from the list; a listed serial is refused
//! whatever its date. No other member is allowed (the schema's
//! `additionalProperties: false`), so a list in another format is refused
//! instead of being read as "nothing revoked".
//!
//! Fetching the list is I/O and stays outside this crate: the caller loads
//! it from a file (or its own fetch) with [`RevocationList::from_json`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::cert::canonical_serial_hex;
use crate::error::RevocationListError;

/// Largest status list accepted (Google's is a few hundred KiB).
pub const MAX_REVOCATION_LIST_LEN: usize = 32 * 1024 * 1024;
/// Most entries accepted in one list.
const MAX_ENTRIES: usize = 1_000_000;
/// Longest serial accepted, in hex digits (RFC 5280 §4.1.2.2: 20 octets; a
/// few extra for encoders that add a sign byte).
const MAX_SERIAL_HEX: usize = 64;
/// Longest `comment` (the schema's `maxLength`).
const MAX_COMMENT_CHARS: usize = 140;

/// The status of a listed certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RevocationStatus {
    /// Permanently withdrawn.
    Revoked,
    /// Temporarily withdrawn.
    Suspended,
}

impl RevocationStatus {
    /// `REVOKED` or `SUSPENDED`, as in the list.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Revoked => "REVOKED",
            Self::Suspended => "SUSPENDED",
        }
    }
}

impl std::fmt::Display for RevocationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a certificate is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RevocationReason {
    /// No reason given.
    Unspecified,
    /// The private key leaked.
    KeyCompromise,
    /// The issuing CA's key leaked.
    CaCompromise,
    /// Replaced by another key.
    Superseded,
    /// A software flaw makes the key's attestations unreliable.
    SoftwareFlaw,
}

/// One entry of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevocationEntry {
    /// REVOKED or SUSPENDED.
    pub status: RevocationStatus,
    /// The reason, when given.
    pub reason: Option<RevocationReason>,
    /// `YYYY-MM-DD`, when given.
    pub expires: Option<String>,
    /// Free text, when given.
    pub comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListJson {
    entries: BTreeMap<String, EntryJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryJson {
    status: RevocationStatus,
    #[serde(default)]
    reason: Option<RevocationReason>,
    #[serde(default)]
    expires: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

/// Attestation certificates that must not be trusted, by serial number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationList {
    entries: BTreeMap<String, RevocationEntry>,
}

/// The empty list (what [`crate::AndroidPolicy::new`] starts from).
pub(crate) static NO_REVOCATIONS: RevocationList = RevocationList {
    entries: BTreeMap::new(),
};

impl RevocationList {
    /// Parses the status list in the format Google publishes (module docs).
    ///
    /// # Errors
    /// [`RevocationListError`]: too large, not that JSON shape, a key that is
    /// not lowercase hex, a malformed `expires` or an over-long `comment`.
    /// Nothing is half-loaded: any bad entry refuses the whole list.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RevocationListError> {
        // ATT-R-2: only Google's format, at most 32 MiB; a bad entry refuses the whole list.
        if bytes.len() > MAX_REVOCATION_LIST_LEN {
            return Err(RevocationListError::TooLarge {
                limit: MAX_REVOCATION_LIST_LEN,
            });
        }
        let list: ListJson =
            serde_json::from_slice(bytes).map_err(|e| RevocationListError::Json(e.to_string()))?;
        if list.entries.len() > MAX_ENTRIES {
            return Err(RevocationListError::TooManyEntries { limit: MAX_ENTRIES });
        }
        let mut entries = BTreeMap::new();
        for (serial, entry) in list.entries {
            // The schema's `propertyNames` pattern: `^[a-f0-9]*$`.
            if serial.len() > MAX_SERIAL_HEX
                || !serial
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            {
                return Err(RevocationListError::Serial { serial });
            }
            if let Some(expires) = &entry.expires
                && !is_iso_date(expires)
            {
                return Err(RevocationListError::Expires { serial });
            }
            if entry
                .comment
                .as_ref()
                .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
            {
                return Err(RevocationListError::Comment {
                    serial,
                    limit: MAX_COMMENT_CHARS,
                });
            }
            // "00ab" and "ab" name the same certificate.
            let serial = canonical_serial_hex(&hex_pairs(&serial));
            entries.insert(
                serial,
                RevocationEntry {
                    status: entry.status,
                    reason: entry.reason,
                    expires: entry.expires,
                    comment: entry.comment,
                },
            );
        }
        Ok(Self { entries })
    }

    /// The entry for a serial number given as hex (any case, leading zeros
    /// allowed), if listed.
    #[must_use]
    pub fn status(&self, serial_hex: &str) -> Option<&RevocationEntry> {
        let lower = serial_hex.to_ascii_lowercase();
        let trimmed = lower.trim_start_matches('0');
        self.entries
            .get(if trimmed.is_empty() { "0" } else { trimmed })
    }

    /// Number of listed certificates.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is listed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `YYYY-MM-DD` with a month 01–12 and a day 01–31 (JSON schema `date`).
fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    if !(digits(0..4) && digits(5..7) && digits(8..10)) {
        return false;
    }
    let two = |i: usize| (b[i] - b'0') * 10 + (b[i + 1] - b'0');
    (1..=12).contains(&two(5)) && (1..=31).contains(&two(8))
}

/// Hex digits (already checked) to bytes, right-aligned.
fn hex_pairs(hex: &str) -> Vec<u8> {
    let nibble = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    };
    let digits: Vec<u8> = hex.bytes().map(nibble).collect();
    let mut out = Vec::with_capacity(digits.len() / 2 + 1);
    let odd = digits.len() % 2;
    if odd == 1 {
        out.push(digits[0]);
    }
    for pair in digits[odd..].chunks(2) {
        out.push((pair[0] << 4) | pair[1]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_field_and_canonicalises_serials() {
        let list = RevocationList::from_json(
            br#"{"entries": {
                "00c8966fcb2fbb0d7a": {"status": "SUSPENDED", "reason": "SOFTWARE_FLAW",
                                       "comment": "bug"},
                "2c8cdddfd5e03bfc": {"status": "REVOKED", "expires": "2020-11-13",
                                     "reason": "KEY_COMPROMISE"},
                "6681152659205225093": {"status": "REVOKED"},
                "": {"status": "REVOKED"}
            }}"#,
        )
        .unwrap();
        assert_eq!(list.len(), 4);
        let suspended = list.status("C8966FCB2FBB0D7A").unwrap();
        assert_eq!(suspended.status, RevocationStatus::Suspended);
        assert_eq!(suspended.reason, Some(RevocationReason::SoftwareFlaw));
        assert_eq!(suspended.comment.as_deref(), Some("bug"));
        let revoked = list.status("002c8cdddfd5e03bfc").unwrap();
        assert_eq!(revoked.expires.as_deref(), Some("2020-11-13"));
        assert!(list.status("6681152659205225093").is_some());
        assert!(list.status("0").is_some());
        assert!(list.status("2c8cdddfd5e03bfd").is_none());
        assert!(
            RevocationList::from_json(br#"{"entries": {}}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn refuses_anything_outside_the_schema() {
        let refused = |json: &str| RevocationList::from_json(json.as_bytes()).unwrap_err();
        assert!(matches!(refused("{"), RevocationListError::Json(_)));
        assert!(matches!(refused("[]"), RevocationListError::Json(_)));
        assert!(matches!(refused("{}"), RevocationListError::Json(_)));
        assert!(matches!(
            refused(r#"{"entries": {}, "extra": 1}"#),
            RevocationListError::Json(_)
        ));
        assert!(matches!(
            refused(r#"{"entries": {"ab": {"status": "VALID"}}}"#),
            RevocationListError::Json(_)
        ));
        assert!(matches!(
            refused(r#"{"entries": {"ab": {"reason": "KEY_COMPROMISE"}}}"#),
            RevocationListError::Json(_)
        ));
        assert!(matches!(
            refused(r#"{"entries": {"ab": {"status": "REVOKED", "reason": "BORED"}}}"#),
            RevocationListError::Json(_)
        ));
        assert!(matches!(
            refused(r#"{"entries": {"ab": {"status": "REVOKED", "note": "x"}}}"#),
            RevocationListError::Json(_)
        ));
        assert_eq!(
            refused(r#"{"entries": {"AB": {"status": "REVOKED"}}}"#),
            RevocationListError::Serial {
                serial: "AB".into()
            }
        );
        assert_eq!(
            refused(r#"{"entries": {"0x1": {"status": "REVOKED"}}}"#),
            RevocationListError::Serial {
                serial: "0x1".into()
            }
        );
        assert_eq!(
            refused(r#"{"entries": {"ab": {"status": "REVOKED", "expires": "2020-13-01"}}}"#),
            RevocationListError::Expires {
                serial: "ab".into()
            }
        );
        let long = "x".repeat(141);
        assert_eq!(
            refused(&format!(
                r#"{{"entries": {{"ab": {{"status": "REVOKED", "comment": "{long}"}}}}}}"#
            )),
            RevocationListError::Comment {
                serial: "ab".into(),
                limit: 140
            }
        );
    }

    #[test]
    fn dates_follow_the_schema() {
        assert!(is_iso_date("2020-11-13"));
        for bad in [
            "2020-1-13",
            "2020-00-10",
            "2020-01-32",
            "20201113",
            "2020/11/13",
        ] {
            assert!(!is_iso_date(bad), "{bad}");
        }
    }
}
