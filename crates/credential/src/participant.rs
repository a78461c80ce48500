//! The RCC.16 participant credential profile, checked on a decoded leaf.

use crate::cert::ParsedCertificate;
use crate::error::CredentialError;
use crate::key::PublicKey;
use crate::number::PhoneNumber;
use crate::oid;

/// Subject alternative name URI that marks a development credential
/// (rule CRED-DEV-1). Production trust refuses any certificate carrying it.
pub const DEVELOPMENT_MARKER_URI: &str = "urn:crosslock:credential:development";

/// Prefix of the device instance URN (the RCS `+sip.instance` form).
pub const DEVICE_URN_PREFIX: &str = "urn:uuid:";

/// What a participant credential asserts, once its chain has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedCredential {
    number: PhoneNumber,
    device: Option<String>,
    key: PublicKey,
    not_before: u64,
    not_after: u64,
    development: bool,
    serial: String,
}

impl ValidatedCredential {
    /// The certificate serial number (lowercase hex), as revocation lists name it.
    pub fn serial(&self) -> &str {
        &self.serial
    }
    /// The participant's number (the `tel:` SAN).
    pub fn number(&self) -> &PhoneNumber {
        &self.number
    }
    /// The device instance id (`urn:uuid:…` SAN), if the credential names one.
    pub fn device(&self) -> Option<&str> {
        self.device.as_deref()
    }
    /// The participant key the credential certifies.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }
    /// Start of validity, Unix seconds.
    pub fn not_before(&self) -> u64 {
        self.not_before
    }
    /// End of validity, Unix seconds.
    pub fn not_after(&self) -> u64 {
        self.not_after
    }
    /// Whether this is a self-issued development credential.
    pub fn is_development(&self) -> bool {
        self.development
    }
}

/// What a participant credential claims, decoded and profile-checked but
/// **not** verified: no signature, trust or time check. Use it only to
/// label a member that MLS has already validated (e.g. to compute its
/// identity); trust decisions need [`crate::TrustPolicy::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedCredential(ValidatedCredential);

impl UnverifiedCredential {
    /// Decodes a leaf certificate and checks the RCC.16 profile.
    pub fn parse(leaf_der: &[u8]) -> Result<Self, CredentialError> {
        let leaf = crate::cert::ParsedCertificate::parse(leaf_der, 0)?;
        check_leaf_profile(&leaf).map(UnverifiedCredential)
    }
    /// The claimed number.
    pub fn number(&self) -> &PhoneNumber {
        self.0.number()
    }
    /// The claimed device instance id.
    pub fn device(&self) -> Option<&str> {
        self.0.device()
    }
    /// The certified key.
    pub fn key(&self) -> &PublicKey {
        self.0.key()
    }
    /// End of validity, Unix seconds.
    pub fn not_after(&self) -> u64 {
        self.0.not_after()
    }
    /// Whether it carries the development marker.
    pub fn is_development(&self) -> bool {
        self.0.is_development()
    }
    /// The certificate serial number (lowercase hex).
    pub fn serial(&self) -> &str {
        self.0.serial()
    }
}

/// The profile checks on a leaf that do not depend on trust: SAN, EKU,
/// policy, key type, not a CA (RCC.16 credential profile, GUIDE §4).
pub(crate) fn check_leaf_profile(
    leaf: &ParsedCertificate,
) -> Result<ValidatedCredential, CredentialError> {
    // CRED-CA-1: the leaf is not a CA.
    if leaf.is_ca {
        return Err(CredentialError::LeafIsCa);
    }
    // CRED-KU-1: the leaf may sign (digitalSignature).
    if !leaf.allows(x509_cert::ext::pkix::KeyUsages::DigitalSignature) {
        return Err(CredentialError::KeyUsage { index: 0 });
    }
    let tel: Vec<&String> = leaf
        .uris
        .iter()
        .filter(|u| u.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("tel:")))
        .collect();
    let [tel] = tel.as_slice() else {
        return Err(CredentialError::TelUriCount { found: tel.len() });
    };
    let number = PhoneNumber::parse(tel)?;
    let devices: Vec<&String> = leaf
        .uris
        .iter()
        .filter(|u| u.starts_with(DEVICE_URN_PREFIX))
        .collect();
    if devices.len() > 1 {
        return Err(CredentialError::MultipleDeviceIds);
    }
    if !leaf.eku.contains(&oid::RCS_MLS_CLIENT_EKU) {
        return Err(CredentialError::MissingExtendedKeyUsage);
    }
    if !leaf.policies.contains(&oid::RCS_MLS_POLICY) {
        return Err(CredentialError::MissingPolicy);
    }
    Ok(ValidatedCredential {
        number,
        device: devices
            .first()
            .map(|d| d[DEVICE_URN_PREFIX.len()..].to_owned()),
        key: leaf.key.clone(),
        not_before: leaf.not_before,
        not_after: leaf.not_after,
        development: leaf.uris.iter().any(|u| u == DEVELOPMENT_MARKER_URI),
        serial: leaf.serial.clone(),
    })
}
