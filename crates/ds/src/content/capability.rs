//! Capability tokens: 32 random bytes, base64url without padding. Holding
//! one is the only permission a download needs, so the server stores only
//! its SHA-256 (a leaked database does not leak working URLs).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crosslock_profile::Environment;
use sha2::{Digest, Sha256};

/// Length of a token's text: 32 bytes in unpadded base64.
const TEXT_LEN: usize = 43;

/// A capability token.
pub(super) struct Capability([u8; 32]);

impl std::fmt::Debug for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Capability(..)")
    }
}

impl Capability {
    /// A fresh token from `env`'s random source.
    pub(super) fn random(env: &Environment) -> Self {
        Capability(env.random())
    }

    /// The token in `text`, if `text` is exactly the canonical encoding of
    /// 32 bytes (anything else, e.g. `..` or a truncated token, is none).
    pub(super) fn parse(text: &str) -> Option<Self> {
        if text.len() != TEXT_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        Some(Capability(bytes.try_into().ok()?))
    }

    /// The token as it appears in URLs.
    pub(super) fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// What the server stores and looks files up by.
    pub(super) fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_canonical_only() {
        let env = Environment {
            clock: std::sync::Arc::new(crosslock_profile::env::ManualClock::new(0)),
            entropy: std::sync::Arc::new(crosslock_profile::env::SeededEntropy::new(7)),
        };
        let token = Capability::random(&env);
        let text = token.encode();
        assert_eq!(text.len(), TEXT_LEN);
        assert_eq!(Capability::parse(&text).unwrap().0, token.0);
        assert!(Capability::parse(&text[..42]).is_none());
        assert!(Capability::parse(&format!("{text}=")).is_none());
        assert!(Capability::parse(&format!("{}+", &text[..42])).is_none());
        assert!(Capability::parse("../../../../../../../../../../../etc/passwd").is_none());
        // The last character carries 4 spare bits; only the zero form is
        // accepted, so a token has exactly one spelling.
        let zero = URL_SAFE_NO_PAD.encode([0u8; 32]);
        let mut other = zero.clone();
        other.replace_range(42.., "B");
        assert!(Capability::parse(&zero).is_some());
        assert!(Capability::parse(&other).is_none());
    }
}
