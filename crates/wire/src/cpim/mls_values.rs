//! Value syntax of the RCC.16 CPIM headers.
//!
//! - `mls.Era-ID`: the era as a decimal `uint32` (RCC.16 GroupContext
//!   extension 0xF001): ASCII digits, no sign, no leading zero.
//! - `mls.Epoch-Authenticator`: the MLS epoch authenticator (RFC 9420 §8.7),
//!   32 bytes for the RCC.16 cipher suites, in standard base64 with padding
//!   (RFC 4648 §4), canonical (no stray bits).
//! - `imdn.Message-ID` (RFC 5438 §6.3): Crosslock accepts 1 to 128 visible
//!   ASCII characters, enough for every id a deployed peer sends.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The longest message id accepted.
pub(crate) const MAX_MESSAGE_ID_LEN: usize = 128;
/// Base64 of 32 bytes with padding is 44 characters.
const EPOCH_AUTHENTICATOR_B64_LEN: usize = 44;

/// Whether `id` is an acceptable `imdn.Message-ID` value: 1 to 128 visible
/// ASCII characters (`!` to `~`).
pub fn is_valid_message_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_MESSAGE_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic())
}

pub(crate) fn parse_era(value: &str) -> Result<u32, &'static str> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err("era is not a decimal number");
    }
    if value.len() > 1 && value.starts_with('0') {
        return Err("era has a leading zero");
    }
    if value.len() > 10 {
        return Err("era is out of range");
    }
    value.parse::<u32>().map_err(|_| "era is out of range")
}

pub(crate) fn parse_epoch_authenticator(value: &str) -> Result<[u8; 32], &'static str> {
    if value.len() != EPOCH_AUTHENTICATOR_B64_LEN {
        return Err("epoch authenticator is not base64 of 32 bytes");
    }
    // One spare byte: the decoder may want room for its length estimate.
    let mut buf = [0u8; 33];
    match STANDARD.decode_slice(value, &mut buf) {
        Ok(32) => {
            let mut out = [0u8; 32];
            out.copy_from_slice(&buf[..32]);
            Ok(out)
        }
        Ok(_) => Err("epoch authenticator is not base64 of 32 bytes"),
        Err(_) => Err("epoch authenticator is not canonical base64"),
    }
}

pub(crate) fn format_epoch_authenticator(bytes: &[u8; 32]) -> String {
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eras() {
        assert_eq!(parse_era("0"), Ok(0));
        assert_eq!(parse_era("1"), Ok(1));
        assert_eq!(parse_era("4294967295"), Ok(u32::MAX));
        for bad in [
            "",
            "4294967296",
            "99999999999",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1a",
            "١",
        ] {
            assert!(parse_era(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn epoch_authenticators() {
        // 32 bytes 0x00..0x1f, base64 written out by hand (RFC 4648 §4).
        let bytes: [u8; 32] = core::array::from_fn(|i| i as u8);
        let b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        assert_eq!(format_epoch_authenticator(&bytes), b64);
        assert_eq!(parse_epoch_authenticator(b64), Ok(bytes));
        for bad in [
            "",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", // unpadded
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", // stray bits
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=A", // too long
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", // 31 bytes
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH-8=", // URL-safe alphabet
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8AAA==",
        ] {
            assert!(parse_epoch_authenticator(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn message_ids() {
        assert!(is_valid_message_id("Msg-0001"));
        assert!(is_valid_message_id(&"x".repeat(128)));
        assert!(!is_valid_message_id(""));
        assert!(!is_valid_message_id(&"x".repeat(129)));
        assert!(!is_valid_message_id("a b"));
        assert!(!is_valid_message_id("é"));
    }
}
