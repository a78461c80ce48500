//! The crate's one error type, grouped by fault.

use crate::android::{Origin, RevocationStatus, SecurityLevel, VerifiedBootState};

/// Why an attestation was refused.
///
/// Every check has its own variant so a caller (or a test) can tell exactly
/// which rule failed; [`AttestError::reason`] gives a stable machine-readable
/// name and [`AttestError::fault`] the group it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestError {
    // ----- invalid input: the bytes cannot be parsed -----
    /// The input is not the structure it claims to be.
    #[error("malformed input: {0}")]
    Malformed(String),
    /// An input exceeds a size or count limit of this crate.
    #[error("{what} exceeds the limit of {limit}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The App Attest object is not valid CBOR of the expected shape.
    #[error("CBOR: {0}")]
    Cbor(String),
    /// The attestation statement format is not `apple-appattest`.
    #[error("unsupported attestation format {0:?}")]
    UnsupportedFormat(String),
    /// A certificate is signed with an algorithm this crate does not accept.
    #[error("certificate {index}: unsupported signature algorithm {algorithm}")]
    UnsupportedAlgorithm {
        /// Position of the signed certificate in the chain (0 = leaf).
        index: usize,
        /// The algorithm's OID.
        algorithm: String,
    },
    /// A public key this crate must use has an unsupported type or encoding.
    #[error("certificate {index}: unsupported or invalid public key")]
    UnsupportedKey {
        /// Position of the certificate holding the key (0 = leaf).
        index: usize,
    },
    /// The KeyDescription extension (1.3.6.1.4.1.11129.2.1.17) does not parse.
    #[error("KeyDescription: {0}")]
    KeyDescription(#[from] KeyDescriptionError),
    /// The attestation status list does not parse (a configuration input).
    #[error("attestation status list: {0}")]
    RevocationList(#[from] RevocationListError),

    // ----- untrusted chain -----
    /// The chain has too few or too many certificates.
    #[error("certificate chain of {len} certificates is not acceptable")]
    ChainLength {
        /// Number of certificates received.
        len: usize,
    },
    /// The signature on certificate `index` does not verify with its issuer's key
    /// (the next certificate, or for the last one its own key or the pinned root).
    #[error("certificate {index}: signature does not verify")]
    ChainSignature {
        /// Position of the certificate whose signature failed (0 = leaf).
        index: usize,
    },
    /// The chain does not end at a pinned root key.
    #[error("the chain does not end at a trusted root key")]
    UntrustedRoot,
    /// The chain ends at Android's software attestation root, whose private
    /// key is public: nothing it signs proves anything about hardware.
    #[error("the chain ends at the Android software attestation root")]
    SoftwareRoot,
    /// Certificate `index` is on Google's attestation status list (ATT-R-1):
    /// its key was withdrawn, so nothing it signed is evidence.
    #[error(
        "certificate {index} (serial {serial}) is {status} on the attestation status list; \
         the device's attestation keys were withdrawn and it cannot prove hardware"
    )]
    RevokedCertificate {
        /// Position of the listed certificate (0 = leaf).
        index: usize,
        /// Its serial number, lowercase hex.
        serial: String,
        /// REVOKED or SUSPENDED.
        status: RevocationStatus,
    },
    /// Certificate `index` expired before the verification time.
    #[error("certificate {index} expired before the verification time")]
    Expired {
        /// Position of the certificate (0 = leaf; the pinned Apple root is
        /// counted after the last `x5c` entry).
        index: usize,
    },
    /// Certificate `index` is not yet valid at the verification time.
    #[error("certificate {index} is not yet valid at the verification time")]
    NotYetValid {
        /// Position of the certificate, as for [`AttestError::Expired`].
        index: usize,
    },

    // ----- Android content -----
    /// The leaf carries no KeyDescription extension.
    #[error("the leaf certificate has no KeyDescription extension")]
    MissingKeyDescription,
    /// A certificate other than the leaf carries a KeyDescription: the chain
    /// was extended below a genuine attested key (chain extension attack).
    #[error("certificate {index} (not the leaf) carries a KeyDescription extension")]
    KeyDescriptionOutsideLeaf {
        /// Position of the offending certificate.
        index: usize,
    },
    /// The attestation challenge differs from the one the verifier expected.
    #[error("the attestation challenge does not match")]
    ChallengeMismatch,
    /// The attestation was produced by software, not by a TEE or StrongBox.
    #[error("attestation security level {level} is not hardware-backed")]
    NotHardwareBacked {
        /// The attested security level.
        level: SecurityLevel,
    },
    /// The hardware-enforced list carries no root of trust.
    #[error("the hardware-enforced authorizations carry no root of trust")]
    MissingRootOfTrust,
    /// The device's bootloader is unlocked.
    #[error("the bootloader is unlocked")]
    BootloaderUnlocked,
    /// The device did not boot a verified image.
    #[error("verified boot state is {state}, not VERIFIED")]
    UnverifiedBoot {
        /// The attested boot state.
        state: VerifiedBootState,
    },
    /// The attested key was not generated in the secure hardware (ATT-K-1):
    /// it was imported, derived, or the hardware-enforced list says nothing.
    #[error(
        "the attested key's hardware-enforced origin is {}, not GENERATED; \
         generate the participant key inside the key store",
        .origin.map_or("absent", Origin::name)
    )]
    KeyNotGenerated {
        /// The hardware-enforced origin (tag 702), if any.
        origin: Option<Origin>,
    },
    /// The attested key's hardware-enforced purposes (tag 1) are not
    /// signing only (ATT-K-2).
    #[error(
        "the attested key's hardware-enforced purposes {purposes:?} are not SIGN (and VERIFY) only; \
         generate the participant key with PURPOSE_SIGN alone"
    )]
    KeyPurposeNotSigning {
        /// The hardware-enforced purposes (empty when absent).
        purposes: Vec<i64>,
    },
    /// The hardware-enforced algorithm (tag 2) and curve (tag 10) are not
    /// those of the certified key (ATT-K-3).
    #[error(
        "the hardware-enforced algorithm {algorithm:?} and curve {ec_curve:?} do not describe the certified key"
    )]
    KeyAlgorithmMismatch {
        /// The hardware-enforced algorithm, if any.
        algorithm: Option<i64>,
        /// The hardware-enforced EC curve, if any.
        ec_curve: Option<i64>,
    },
    /// The app policy is set but the attestation names no app (ATT-P-1).
    #[error("the attestation names no application; it cannot be matched to an allowed app")]
    MissingApplicationId,
    /// The key was generated by an app the policy does not allow (ATT-P-1).
    #[error("package {package:?} is not an allowed app; enrol from the Crosslock app")]
    PackageNotAllowed {
        /// The package name the attestation reports.
        package: String,
    },
    /// The app is signed with a certificate the policy does not allow for
    /// it: a repackaged or re-signed copy (ATT-P-2).
    #[error("package {package:?} is not signed with an allowed signing certificate")]
    SigningCertificateNotAllowed {
        /// The package name the attestation reports.
        package: String,
    },

    // ----- Apple content -----
    /// The credential certificate has no nonce extension (1.2.840.113635.100.8.2).
    #[error("the credential certificate has no App Attest nonce extension")]
    MissingNonce,
    /// SHA-256(authData || clientDataHash) differs from the certified nonce.
    #[error("the certified nonce does not match authData and the client data hash")]
    NonceMismatch,
    /// authData's rpIdHash is not SHA-256 of the expected app id.
    #[error("rpIdHash does not match the app id")]
    RpIdMismatch,
    /// A fresh attestation must have counter 0.
    #[error("counter is {counter}, not 0")]
    CounterNotZero {
        /// The counter found in authData.
        counter: u32,
    },
    /// The key id (SHA-256 of the credential public key) differs from the one expected.
    #[error("the key id does not match")]
    KeyIdMismatch,
    /// authData's credential id differs from the key id of the certified key.
    #[error("the credential id in authData is not the key id of the certified key")]
    CredentialIdMismatch,
    /// The COSE key in authData is not the certified public key.
    #[error("the credential public key in authData is not the certified key")]
    CredentialKeyMismatch,
    /// The AAGUID is neither the development nor the production App Attest value.
    #[error("unknown App Attest AAGUID")]
    UnknownAaguid,
    /// The policy requires the production App Attest environment.
    #[error("the attestation comes from the development App Attest environment")]
    DevelopmentEnvironment,

    // ----- internal -----
    /// A root embedded in this crate did not load; a bug, never the input's fault.
    #[error("internal: {0}")]
    Internal(String),
}

/// The group an [`AttestError`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The input does not parse (or is too large): garbage or a truncated upload.
    InvalidInput,
    /// A cryptographic binding does not hold: a forgery or tampering.
    Forged,
    /// The chain is not anchored at a trusted root at the given time.
    Untrusted,
    /// The attestation is authentic but the policy refuses the facts it reports.
    Policy,
    /// A bug in this crate.
    Internal,
}

impl AttestError {
    /// Stable, machine-readable name of the failed check (kebab-case).
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::TooLarge { .. } => "too-large",
            Self::Cbor(_) => "cbor",
            Self::UnsupportedFormat(_) => "unsupported-format",
            Self::UnsupportedAlgorithm { .. } => "unsupported-algorithm",
            Self::UnsupportedKey { .. } => "unsupported-key",
            Self::KeyDescription(_) => "key-description",
            Self::RevocationList(_) => "revocation-list",
            Self::RevokedCertificate { .. } => "revoked-certificate",
            Self::KeyNotGenerated { .. } => "key-not-generated",
            Self::KeyPurposeNotSigning { .. } => "key-purpose-not-signing",
            Self::KeyAlgorithmMismatch { .. } => "key-algorithm-mismatch",
            Self::MissingApplicationId => "missing-application-id",
            Self::PackageNotAllowed { .. } => "package-not-allowed",
            Self::SigningCertificateNotAllowed { .. } => "signing-certificate-not-allowed",
            Self::ChainLength { .. } => "chain-length",
            Self::ChainSignature { .. } => "chain-signature",
            Self::UntrustedRoot => "untrusted-root",
            Self::SoftwareRoot => "software-root",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not-yet-valid",
            Self::MissingKeyDescription => "missing-key-description",
            Self::KeyDescriptionOutsideLeaf { .. } => "key-description-outside-leaf",
            Self::ChallengeMismatch => "challenge-mismatch",
            Self::NotHardwareBacked { .. } => "not-hardware-backed",
            Self::MissingRootOfTrust => "missing-root-of-trust",
            Self::BootloaderUnlocked => "bootloader-unlocked",
            Self::UnverifiedBoot { .. } => "unverified-boot",
            Self::MissingNonce => "missing-nonce",
            Self::NonceMismatch => "nonce-mismatch",
            Self::RpIdMismatch => "rp-id-mismatch",
            Self::CounterNotZero { .. } => "counter-not-zero",
            Self::KeyIdMismatch => "key-id-mismatch",
            Self::CredentialIdMismatch => "credential-id-mismatch",
            Self::CredentialKeyMismatch => "credential-key-mismatch",
            Self::UnknownAaguid => "unknown-aaguid",
            Self::DevelopmentEnvironment => "development-environment",
            Self::Internal(_) => "internal",
        }
    }

    /// The group this error belongs to.
    #[must_use]
    pub fn fault(&self) -> Fault {
        match self {
            Self::Malformed(_)
            | Self::TooLarge { .. }
            | Self::Cbor(_)
            | Self::UnsupportedFormat(_)
            | Self::UnsupportedAlgorithm { .. }
            | Self::UnsupportedKey { .. }
            | Self::KeyDescription(_)
            | Self::RevocationList(_)
            | Self::ChainLength { .. }
            | Self::MissingKeyDescription
            | Self::MissingNonce
            | Self::UnknownAaguid => Fault::InvalidInput,
            Self::ChainSignature { .. }
            | Self::KeyDescriptionOutsideLeaf { .. }
            | Self::ChallengeMismatch
            | Self::NonceMismatch
            | Self::RpIdMismatch
            | Self::KeyIdMismatch
            | Self::CredentialIdMismatch
            | Self::CredentialKeyMismatch
            | Self::KeyAlgorithmMismatch { .. } => Fault::Forged,
            Self::UntrustedRoot
            | Self::SoftwareRoot
            | Self::Expired { .. }
            | Self::NotYetValid { .. }
            | Self::RevokedCertificate { .. } => Fault::Untrusted,
            Self::NotHardwareBacked { .. }
            | Self::MissingRootOfTrust
            | Self::BootloaderUnlocked
            | Self::UnverifiedBoot { .. }
            | Self::CounterNotZero { .. }
            | Self::DevelopmentEnvironment
            | Self::KeyNotGenerated { .. }
            | Self::KeyPurposeNotSigning { .. }
            | Self::MissingApplicationId
            | Self::PackageNotAllowed { .. }
            | Self::SigningCertificateNotAllowed { .. } => Fault::Policy,
            Self::Internal(_) => Fault::Internal,
        }
    }
}

/// Why the KeyDescription extension does not parse.
///
/// `field` names use the JSON names of the parsed view (for example
/// `rootOfTrust.deviceLocked`), so a failure points at the exact element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyDescriptionError {
    /// An element is missing, has the wrong type, or is not valid DER.
    #[error("{field}: {detail}")]
    Field {
        /// The element that failed.
        field: &'static str,
        /// What was wrong with it.
        detail: String,
    },
    /// AuthorizationList tags must be strictly ascending (DER SEQUENCE order
    /// as KeyMint emits it); a repeated or out-of-order tag is refused.
    #[error("{list}: tag [{tag}] follows tag [{previous}]; tags must be strictly ascending")]
    TagsNotAscending {
        /// `softwareEnforced` or `hardwareEnforced`.
        list: &'static str,
        /// The tag seen before.
        previous: u32,
        /// The offending tag.
        tag: u32,
    },
    /// An enumerated value outside the defined set.
    #[error("{field}: unknown value {value}")]
    UnknownValue {
        /// The element that failed.
        field: &'static str,
        /// The value found.
        value: i64,
    },
    /// An element exceeds a size or count limit.
    #[error("{field} exceeds the limit of {limit}")]
    TooLarge {
        /// The element that failed.
        field: &'static str,
        /// The limit that was exceeded.
        limit: usize,
    },
}

impl KeyDescriptionError {
    pub(crate) fn field(field: &'static str, detail: impl ToString) -> Self {
        Self::Field {
            field,
            detail: detail.to_string(),
        }
    }

    /// The element the error points at (`softwareEnforced`/`hardwareEnforced`
    /// for tag-order errors).
    #[must_use]
    pub fn field_name(&self) -> &'static str {
        match self {
            Self::Field { field, .. }
            | Self::UnknownValue { field, .. }
            | Self::TooLarge { field, .. } => field,
            Self::TagsNotAscending { list, .. } => list,
        }
    }
}

/// Why an attestation status list does not load. The list is refused whole:
/// a partly read list would silently trust what it failed to read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationListError {
    /// Larger than this crate reads.
    #[error("the list exceeds {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// More entries than this crate keeps.
    #[error("the list has more than {limit} entries")]
    TooManyEntries {
        /// The limit.
        limit: usize,
    },
    /// Not JSON, or not the published shape (`{"entries": {serial: {"status":
    /// "REVOKED"|"SUSPENDED", ...}}}`, no other members).
    #[error("not the published status list format: {0}")]
    Json(String),
    /// An entry's key is not a serial number in lowercase hex.
    #[error("entry {serial:?}: the key must be a serial number in lowercase hex")]
    Serial {
        /// The offending key.
        serial: String,
    },
    /// An entry's `expires` is not a `YYYY-MM-DD` date.
    #[error("entry {serial:?}: `expires` must be a YYYY-MM-DD date")]
    Expires {
        /// The entry's serial.
        serial: String,
    },
    /// An entry's `comment` is longer than the schema allows.
    #[error("entry {serial:?}: `comment` exceeds {limit} characters")]
    Comment {
        /// The entry's serial.
        serial: String,
        /// The limit.
        limit: usize,
    },
}
