//! The one error type of this crate.

use crate::number::NumberError;

/// Why a credential was refused or could not be made.
///
/// Variants name the check that failed so callers (and tests) can tell a
/// forged chain from an expired one. Rule ids refer to
/// docs/validation-rules.md.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The bytes are not a DER X.509 certificate.
    #[error("certificate {index} is not valid DER X.509: {reason}")]
    Malformed {
        /// Position in the chain, leaf = 0.
        index: usize,
        /// Decoder message.
        reason: String,
    },
    /// Only X.509 v3 certificates carry the extensions the profile needs.
    #[error("certificate {index} is not X.509 version 3")]
    NotVersion3 {
        /// Position in the chain, leaf = 0.
        index: usize,
    },
    /// CRED-SAN-1: exactly one `tel:` URI in the subject alternative names.
    #[error("participant credential must name exactly one tel: URI, found {found}")]
    TelUriCount {
        /// How many were present.
        found: usize,
    },
    /// CRED-SAN-2: the `tel:` URI is not a global E.164 number.
    #[error("participant credential has an invalid number: {0}")]
    InvalidNumber(#[from] NumberError),
    /// CRED-SAN-3: at most one device instance URN.
    #[error("participant credential names more than one device instance")]
    MultipleDeviceIds,
    /// CRED-EKU-1: the leaf lacks `id-kp-rcsMlsClient`.
    #[error("participant credential lacks the RCS MLS client extended key usage")]
    MissingExtendedKeyUsage,
    /// CRED-POL-1: the leaf lacks the RCS MLS certificate policy.
    #[error("participant credential lacks the RCS MLS certificate policy")]
    MissingPolicy,
    /// The leaf claims to be a CA.
    #[error("participant credential must not be a CA certificate")]
    LeafIsCa,
    /// An issuer in the chain is not marked as a CA.
    #[error("certificate {index} signs others but is not a CA")]
    IssuerNotCa {
        /// Position in the chain.
        index: usize,
    },
    /// The KeyUsage extension forbids what the certificate is used for.
    #[error("certificate {index} is not allowed this key usage")]
    KeyUsage {
        /// Position in the chain.
        index: usize,
    },
    /// A key type outside the profile.
    #[error("certificate {index} has an unsupported public key type")]
    UnsupportedKey {
        /// Position in the chain.
        index: usize,
    },
    /// A signature algorithm outside the profile, or not matching the key.
    #[error("certificate {index} uses an unsupported signature algorithm")]
    UnsupportedSignatureAlgorithm {
        /// Position in the chain.
        index: usize,
    },
    /// A signature did not verify.
    #[error("signature on certificate {index} does not verify")]
    BadSignature {
        /// Position in the chain.
        index: usize,
    },
    /// Used before its notBefore.
    #[error("certificate {index} is not valid yet")]
    NotYetValid {
        /// Position in the chain.
        index: usize,
    },
    /// Used after its notAfter.
    #[error("certificate {index} has expired")]
    Expired {
        /// Position in the chain.
        index: usize,
    },
    /// CRED-LIFE-1: less validity left than the policy demands.
    #[error(
        "participant credential expires too soon ({remaining_secs} s left, {required_secs} s required)"
    )]
    ExpiresTooSoon {
        /// Seconds until notAfter.
        remaining_secs: u64,
        /// Seconds the policy requires.
        required_secs: u64,
    },
    /// The credential was revoked by its provider.
    #[error("credential {serial} is revoked")]
    Revoked {
        /// Its serial number (hex).
        serial: String,
    },
    /// The chain does not end at a configured trust anchor.
    #[error("credential does not chain to a trusted provider root")]
    UntrustedRoot,
    /// HOME-1: no provider of the numbering plan is home for the number, so
    /// nobody may certify it.
    #[error("no trusted provider is home for this number: its credentials cannot be trusted")]
    NoHome,
    /// HOME-2: the credential or its carrier proof comes from a provider
    /// that is not the number's home (a peer or an insider minting keys
    /// for a number homed elsewhere).
    #[error("credential is not from the number's home provider {home:?}: {why}")]
    NotFromHome {
        /// The number's home.
        home: String,
        /// What pointed elsewhere.
        why: String,
    },
    /// CRED-DEV-1: development credentials are refused by production policy.
    #[error("development credential refused by a production trust policy")]
    DevelopmentCredentialRefused,
    /// Chains longer than [`crate::MAX_CHAIN_LEN`] are refused before any work.
    #[error("certificate chain is empty or longer than allowed")]
    ChainLength,
    /// The certificate's key is not the key the MLS leaf signs with.
    #[error("credential public key does not match the signing key")]
    KeyMismatch,
    /// The carrier proof is malformed, unknown, forged or expired, or does
    /// not match the credential (CARRIER-*).
    #[error("carrier proof refused: {0}")]
    CarrierProof(String),
    /// A production credential lacks the carrier proof extension.
    #[error("credential carries no carrier proof")]
    CarrierProofMissing,
    /// A certification request is malformed or its self-signature fails.
    #[error("certification request refused: {0}")]
    Csr(String),
    /// The signer behind a certificate being issued failed.
    #[error("signing failed: {0}")]
    Signer(String),
    /// Certificate construction failed (bad parameters).
    #[error("cannot build certificate: {0}")]
    Build(String),
}
