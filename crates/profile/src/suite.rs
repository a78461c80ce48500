//! MLS cipher suites Crosslock speaks, their ranking, and the policy that
//! decides which a conversation may use.

use crosslock_credential::KeyAlgorithm;
use crosslock_mls_crypto::{
    MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519, RETIRED_XWING_PRIVATE_SUITE,
};
use mls_rs::CipherSuite;
use serde::{Deserialize, Serialize};

/// A cipher suite Crosslock supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Suite {
    /// 0x0001 `MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519` (RFC 9420 mandatory).
    X25519Aes128,
    /// 0x0002 `MLS_128_DHKEMP256_AES128GCM_SHA256_P256`, what deployed RCS peers use.
    P256Aes128,
    /// 0x004F `MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519`
    /// (draft-ietf-mls-pq-ciphersuites): the X-Wing hybrid KEM (ML-KEM-768 +
    /// X25519, HPKE KEM 0x647A), AES-128-GCM, SHA-256, Ed25519 signatures:
    /// post-quantum confidentiality against harvest-now-decrypt-later, with
    /// a classical fallback inside the KEM. The standard code point OpenMLS
    /// speaks; it replaces the private 0xFE4C (see [`check_incoming`]).
    MlKem768X25519Aes128,
}

impl Suite {
    /// Every supported suite.
    pub const ALL: [Suite; 3] = [
        Suite::P256Aes128,
        Suite::X25519Aes128,
        Suite::MlKem768X25519Aes128,
    ];

    /// The MLS code point.
    pub fn cipher_suite(self) -> CipherSuite {
        match self {
            Suite::X25519Aes128 => CipherSuite::CURVE25519_AES128,
            Suite::P256Aes128 => CipherSuite::P256_AES128,
            Suite::MlKem768X25519Aes128 => MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519,
        }
    }

    /// The suite for an MLS code point, if we support it.
    pub fn from_cipher_suite(cs: CipherSuite) -> Option<Suite> {
        Suite::ALL.into_iter().find(|s| s.cipher_suite() == cs)
    }

    /// The 16-bit code point.
    pub fn code(self) -> u16 {
        *self.cipher_suite()
    }

    /// The signature algorithm of the suite's leaf (participant) key.
    pub fn signature_algorithm(self) -> KeyAlgorithm {
        match self {
            Suite::P256Aes128 => KeyAlgorithm::EcdsaP256,
            Suite::X25519Aes128 | Suite::MlKem768X25519Aes128 => KeyAlgorithm::Ed25519,
        }
    }

    /// Whether the suite's key exchange resists a quantum adversary.
    pub fn is_post_quantum(self) -> bool {
        matches!(self, Suite::MlKem768X25519Aes128)
    }

    /// Strength class used to pick a conversation's suite: post-quantum
    /// hybrids above classical suites. Suites in one class are equivalent
    /// (all 128-bit classical security) and ordered by the creator's
    /// preference.
    pub fn strength(self) -> u8 {
        if self.is_post_quantum() { 2 } else { 1 }
    }

    /// Short display name.
    pub fn name(self) -> &'static str {
        match self {
            Suite::X25519Aes128 => "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519 (0x0001)",
            Suite::P256Aes128 => "MLS_128_DHKEMP256_AES128GCM_SHA256_P256 (0x0002)",
            Suite::MlKem768X25519Aes128 => {
                "MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519 (0x004F, post-quantum hybrid)"
            }
        }
    }
}

/// Why a suite someone sent us is refused (SUITE-PQ-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SuiteError {
    /// The retired private post-quantum code point 0xFE4C (an early
    /// X-Wing draft): its sender runs an outdated app.
    #[error(
        "cipher suite {code:#06x} is retired (an early post-quantum draft): the other device must update its app to use 0x004F"
    )]
    Retired {
        /// The retired code point.
        code: u16,
    },
    /// A suite Crosslock does not support.
    #[error("unsupported cipher suite {code:#06x}")]
    Unsupported {
        /// The code point.
        code: u16,
    },
}

/// The suite of a KeyPackage, Welcome or GroupInfo someone sent us
/// (SUITE-PQ-1): one we support, or a typed error. The retired private
/// code point 0xFE4C (an early X-Wing draft Crosslock used before 0x004F)
/// gets [`SuiteError::Retired`], which tells the user that the sender's
/// app must be updated; any other unknown suite
/// [`SuiteError::Unsupported`]. (The client reports them as
/// `ClientError::SuiteRetired` / `ClientError::UnsupportedSuite`.)
pub fn check_incoming(cipher_suite: CipherSuite) -> Result<Suite, SuiteError> {
    if *cipher_suite == RETIRED_XWING_PRIVATE_SUITE {
        return Err(SuiteError::Retired {
            code: RETIRED_XWING_PRIVATE_SUITE,
        });
    }
    Suite::from_cipher_suite(cipher_suite).ok_or(SuiteError::Unsupported {
        code: *cipher_suite,
    })
}

impl std::fmt::Display for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which suites a device accepts for its conversations.
///
/// Nothing ever downgrades silently: a conversation's suite is fixed when it
/// is created and only an explicit new era or `end_mls` changes how it is
/// protected. The policy is checked when a conversation is created (by us)
/// and when we are invited (Welcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuitePolicy {
    /// Conversations we create must use a post-quantum suite; creation fails
    /// if any invited device lacks one.
    pub require_post_quantum: bool,
    /// Whether we join (accept a Welcome into) a conversation someone else
    /// created with a classical suite.
    pub allow_classical: bool,
}

impl Default for SuitePolicy {
    fn default() -> Self {
        SuitePolicy {
            require_post_quantum: false,
            allow_classical: true,
        }
    }
}

impl SuitePolicy {
    /// Strict: post-quantum only, for conversations we create and join.
    pub fn post_quantum_only() -> Self {
        SuitePolicy {
            require_post_quantum: true,
            allow_classical: false,
        }
    }

    /// Whether a suite may be used when we create a conversation.
    pub fn allows_creating(&self, suite: Suite) -> bool {
        suite.is_post_quantum() || !self.require_post_quantum
    }

    /// Whether a suite may be used for a conversation we are invited to.
    pub fn allows_joining(&self, suite: Suite) -> bool {
        suite.is_post_quantum() || self.allow_classical
    }
}

/// Picks a conversation's suite: among suites every device supports and the
/// policy allows, the strongest class, then the creator's preference order.
pub fn negotiate(
    preference: &[Suite],
    every_device_supports: impl Fn(Suite) -> bool,
    policy: &SuitePolicy,
) -> Option<Suite> {
    let mut candidates: Vec<(usize, Suite)> = preference
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, s)| every_device_supports(*s) && policy.allows_creating(*s))
        .collect();
    candidates.sort_by_key(|(rank, s)| (std::cmp::Reverse(s.strength()), *rank));
    candidates.first().map(|(_, s)| *s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn post_quantum_wins_when_everyone_has_it() {
        let pref = [
            Suite::P256Aes128,
            Suite::X25519Aes128,
            Suite::MlKem768X25519Aes128,
        ];
        assert_eq!(
            negotiate(&pref, |_| true, &SuitePolicy::default()),
            Some(Suite::MlKem768X25519Aes128)
        );
    }

    #[test]
    fn creator_preference_breaks_ties_between_classical_suites() {
        let no_pq = |s: Suite| !s.is_post_quantum();
        let android = [
            Suite::P256Aes128,
            Suite::X25519Aes128,
            Suite::MlKem768X25519Aes128,
        ];
        let ios = [
            Suite::X25519Aes128,
            Suite::P256Aes128,
            Suite::MlKem768X25519Aes128,
        ];
        let policy = SuitePolicy::default();
        assert_eq!(negotiate(&android, no_pq, &policy), Some(Suite::P256Aes128));
        assert_eq!(negotiate(&ios, no_pq, &policy), Some(Suite::X25519Aes128));
    }

    #[test]
    fn require_post_quantum_refuses_classical() {
        let pref = [Suite::P256Aes128, Suite::MlKem768X25519Aes128];
        let policy = SuitePolicy::post_quantum_only();
        assert_eq!(negotiate(&pref, |s| !s.is_post_quantum(), &policy), None);
        assert!(!policy.allows_joining(Suite::P256Aes128));
        assert!(policy.allows_joining(Suite::MlKem768X25519Aes128));
    }

    /// KT-SUITE-1: the suites the KDS lists for a key of an algorithm are
    /// exactly the suites this client serves with it.
    #[test]
    fn transparency_suite_mapping_matches_the_client() {
        for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256] {
            let mut ours: Vec<u16> = Suite::ALL
                .into_iter()
                .filter(|s| s.signature_algorithm() == algorithm)
                .map(|s| s.code())
                .collect();
            ours.sort_unstable();
            assert_eq!(crosslock_kt::suites_served_by(algorithm), ours.as_slice());
        }
        for s in Suite::ALL {
            assert_eq!(
                crosslock_kt::is_post_quantum_suite(s.code()),
                s.is_post_quantum()
            );
        }
    }

    #[test]
    fn code_points() {
        assert_eq!(Suite::P256Aes128.code(), 0x0002);
        assert_eq!(Suite::X25519Aes128.code(), 0x0001);
        assert_eq!(Suite::MlKem768X25519Aes128.code(), 0x004F);
        for s in Suite::ALL {
            assert_eq!(Suite::from_cipher_suite(s.cipher_suite()), Some(s));
            assert_eq!(check_incoming(s.cipher_suite()).ok(), Some(s));
        }
    }

    /// SUITE-PQ-1: the retired 0xFE4C is refused with its own error (the
    /// user is told to update), other unknown suites with another.
    #[test]
    fn retired_and_unknown_suites_are_typed_errors() {
        assert_eq!(Suite::from_cipher_suite(CipherSuite::new(0xFE4C)), None);
        let retired = check_incoming(CipherSuite::new(0xFE4C)).unwrap_err();
        assert_eq!(retired, SuiteError::Retired { code: 0xFE4C });
        assert!(retired.to_string().contains("update"));
        assert_eq!(
            check_incoming(CipherSuite::P384_AES256),
            Err(SuiteError::Unsupported { code: 0x0007 })
        );
    }
}
