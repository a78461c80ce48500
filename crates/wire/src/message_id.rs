//! Transport message ids (`imdn.Message-ID`) as deployed RCC.16 clients
//! write and check them (fact sheet §3a "Message ids").
//!
//! - Google and LineageOS send `Mx` followed by the 16 bytes of a UUIDv4 in
//!   unpadded base64url with `_` mapped to `=` (24 characters), and peers
//!   validate ids against `^Mx(.){22,26}`. [`mint`] makes these; Crosslock
//!   sends them.
//! - Apple sends 36-character UUID strings in upper case.
//!
//! [`classify`] accepts exactly these two forms (a UUID in either case) and
//! refuses anything else with a [`MessageIdError`] (RCV-MSGID-1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use thiserror::Error;

/// The prefix of a Google-style id.
pub const MX_PREFIX: &str = "Mx";
/// The length of a UUID string, `8-4-4-4-12` hex digits and hyphens.
pub const UUID_LEN: usize = 36;

/// Which deployed form an id has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdForm {
    /// `Mx` and 22 to 26 more visible ASCII characters (Google, LineageOS,
    /// Crosslock).
    Mx,
    /// A 36-character UUID string, upper or lower case (Apple: upper).
    Uuid,
}

/// Why a message id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MessageIdError {
    /// It starts with `Mx` but is not followed by 22 to 26 characters.
    #[error("an Mx message id must have 22 to 26 characters after Mx")]
    MxLength,
    /// It contains a character outside visible ASCII (`!` to `~`).
    #[error("message id has a character outside visible ASCII")]
    NotVisibleAscii,
    /// Neither an `Mx` id nor a UUID string.
    #[error("message id is neither an Mx id nor a UUID")]
    UnknownForm,
}

/// A Google-style id from 16 random bytes: the UUIDv4 version and variant
/// bits are set (RFC 9562 §5.4), the 16 bytes are written in unpadded
/// base64url (RFC 4648 §5), `_` becomes `=`, and `Mx` goes in front.
pub fn mint(uuid_bytes: [u8; 16]) -> String {
    let mut b = uuid_bytes;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let body = URL_SAFE_NO_PAD.encode(b).replace('_', "=");
    format!("{MX_PREFIX}{body}")
}

/// Which deployed form `id` has, or why it has none.
pub fn classify(id: &str) -> Result<IdForm, MessageIdError> {
    if !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(MessageIdError::NotVisibleAscii);
    }
    if let Some(rest) = id.strip_prefix(MX_PREFIX) {
        return if (22..=26).contains(&rest.len()) {
            Ok(IdForm::Mx)
        } else {
            Err(MessageIdError::MxLength)
        };
    }
    if is_uuid(id) {
        Ok(IdForm::Uuid)
    } else {
        Err(MessageIdError::UnknownForm)
    }
}

/// `8-4-4-4-12` hex digits (either case) separated by hyphens.
fn is_uuid(id: &str) -> bool {
    id.len() == UUID_LEN
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn minted_vectors() {
        // Python: b = bytes(range(16)); b[6] = b[6] & 0x0f | 0x40;
        // b[8] = b[8] & 0x3f | 0x80 -> 000102030405460788090a0b0c0d0e0f;
        // "Mx" + urlsafe_b64encode(b).rstrip("=").replace("_", "=").
        let id = mint(core::array::from_fn(|i| i as u8));
        assert_eq!(id, "MxAAECAwQFRgeICQoLDA0ODw");
        assert_eq!(classify(&id), Ok(IdForm::Mx));
        // All ones: ffffffffffff4fffbfffffffffffffff, every `_` mapped to `=`.
        let id = mint([0xff; 16]);
        assert_eq!(id, "Mx========T=-==========w");
        assert_eq!(id.len(), 24);
        assert_eq!(classify(&id), Ok(IdForm::Mx));
    }

    #[test]
    fn classifies_deployed_forms() {
        for (id, form) in [
            ("MxAAECAwQFRgeICQoLDA0ODw", IdForm::Mx),
            ("Mx0123456789012345678901", IdForm::Mx),
            ("Mx01234567890123456789012345", IdForm::Mx),
            ("C7F0E3A2-5B6D-4E1F-8A9B-0C1D2E3F4A5B", IdForm::Uuid),
            ("c7f0e3a2-5b6d-4e1f-8a9b-0c1d2e3f4a5b", IdForm::Uuid),
        ] {
            assert_eq!(classify(id), Ok(form), "{id}");
        }
    }

    #[test]
    fn refuses_other_ids() {
        for (id, err) in [
            ("", MessageIdError::UnknownForm),
            ("Mx", MessageIdError::MxLength),
            ("Mx012345678901234567890", MessageIdError::MxLength),
            ("Mx012345678901234567890123456", MessageIdError::MxLength),
            ("Mx0123456789 12345678901", MessageIdError::NotVisibleAscii),
            ("Mx01234567890123456789é", MessageIdError::NotVisibleAscii),
            ("Mx0123456789\r\n345678901", MessageIdError::NotVisibleAscii),
            ("mx0123456789012345678901", MessageIdError::UnknownForm),
            // The 22-character ids older Crosslock versions sent.
            ("AAECAwQFRgeICQoLDA0ODw", MessageIdError::UnknownForm),
            (
                "C7F0E3A2-5B6D-4E1F-8A9B-0C1D2E3F4A5",
                MessageIdError::UnknownForm,
            ),
            (
                "C7F0E3A2-5B6D-4E1F-8A9B-0C1D2E3F4A5BB",
                MessageIdError::UnknownForm,
            ),
            (
                "C7F0E3A2_5B6D-4E1F-8A9B-0C1D2E3F4A5B",
                MessageIdError::UnknownForm,
            ),
            (
                "G7F0E3A2-5B6D-4E1F-8A9B-0C1D2E3F4A5B",
                MessageIdError::UnknownForm,
            ),
            (
                "{7F0E3A2-5B6D-4E1F-8A9B-0C1D2E3F4A5}",
                MessageIdError::UnknownForm,
            ),
        ] {
            assert_eq!(classify(id), Err(err), "{id:?}");
        }
    }

    proptest! {
        #[test]
        fn minted_ids_classify_as_mx(bytes: [u8; 16]) {
            let id = mint(bytes);
            prop_assert_eq!(id.len(), 24);
            prop_assert!(!id.contains('_'));
            prop_assert_eq!(classify(&id), Ok(IdForm::Mx));
            prop_assert!(crate::cpim::is_valid_message_id(&id));
        }

        #[test]
        fn classify_never_panics(id in "\\PC{0,40}") {
            let _ = classify(&id);
        }
    }
}
