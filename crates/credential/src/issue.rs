//! Issuing certificates in the RCC.16 shape: self-issued development
//! credentials (client side, tests and demos) and provider-CA-issued
//! participant credentials.
//!
//! Private keys never pass through here: signing goes through
//! [`CertSigner`], which a key store or an HSM implements.

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyUsagePurpose, PublicKeyData, SanType,
    SerialNumber, SignatureAlgorithm, SigningKey,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::CredentialError;
use crate::key::{KeyAlgorithm, PublicKey};
use crate::number::PhoneNumber;
use crate::oid;
use crate::participant::{DEVELOPMENT_MARKER_URI, DEVICE_URN_PREFIX};

/// Something that signs with a key it keeps to itself.
pub trait CertSigner {
    /// The public half of the signing key.
    fn public_key(&self) -> &PublicKey;
    /// Signs `message`: DER ECDSA (with the curve's hash) or raw Ed25519.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String>;
}

/// What a participant credential will say.
#[derive(Debug, Clone)]
pub struct ParticipantProfile {
    /// The participant's number.
    pub number: PhoneNumber,
    /// The device instance id (a UUID string), written as `urn:uuid:…`.
    pub device: Option<String>,
    /// Start of validity, Unix seconds.
    pub not_before: u64,
    /// End of validity, Unix seconds.
    pub not_after: u64,
    /// Certificate serial number (random, at most 20 bytes, RFC 5280 §4.1.2.2).
    pub serial: [u8; 16],
    /// The carrier's proof (DER), carried as extension 2.23.146.2.1.5.
    pub carrier_proof: Option<Vec<u8>>,
    /// What the KDS learned at enrollment, carried as the
    /// ParticipantInformation extension 2.23.146.2.1.4.
    pub participant_info: Option<ParticipantInfo>,
}

impl ParticipantProfile {
    /// A profile with no carrier proof and no participant information.
    pub fn new(
        number: PhoneNumber,
        device: Option<String>,
        not_before: u64,
        not_after: u64,
        serial: [u8; 16],
    ) -> Self {
        ParticipantProfile {
            number,
            device,
            not_before,
            not_after,
            serial,
            carrier_proof: None,
            participant_info: None,
        }
    }
}

/// The ParticipantInformation extension (Crosslock's encoding, non-critical):
///
/// ```text
/// ParticipantInformation ::= SEQUENCE {
///     deviceId    UTF8String,
///     assurance   INTEGER,     -- 0 none, 1 hardware, 2 hardware-verified
///     enrolledAt  INTEGER }    -- Unix seconds
/// ```
#[derive(Debug, Clone, PartialEq, Eq, der::Sequence)]
pub struct ParticipantInfo {
    /// The device instance id.
    pub device_id: String,
    /// Attestation assurance: 0 none, 1 hardware, 2 hardware with verified boot.
    pub assurance: u8,
    /// Enrollment time, Unix seconds.
    pub enrolled_at: u64,
}

/// Issues a self-signed *development* credential for `signer`'s key. It
/// carries the development marker, so production trust refuses it.
pub fn issue_development_credential(
    profile: &ParticipantProfile,
    signer: &dyn CertSigner,
) -> Result<Vec<u8>, CredentialError> {
    let mut params = participant_params(profile, true)?;
    params.distinguished_name = dn("Crosslock development credential");
    params.key_identifier_method = key_id(signer.public_key());
    let key = Adapter::new(signer)?;
    let cert = params.self_signed(&key).map_err(|e| key.error(e))?;
    Ok(cert.der().to_vec())
}

/// A provider certificate authority (the KDS side of RCC.16).
#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    params: CertificateParams,
    certificate: Vec<u8>,
}

impl CertificateAuthority {
    fn root_params(name: &str, key: &PublicKey) -> CertificateParams {
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.key_identifier_method = key_id(key);
        params
    }

    /// Re-opens an existing root (after a restart) from its name and
    /// certificate. The signer given to [`CertificateAuthority::issue`] must
    /// hold the certificate's key.
    pub fn load(name: &str, certificate: Vec<u8>) -> Result<Self, CredentialError> {
        let parsed = crate::cert::ParsedCertificate::parse(&certificate, 0)?;
        if !parsed.is_ca {
            return Err(CredentialError::IssuerNotCa { index: 0 });
        }
        Ok(CertificateAuthority {
            params: Self::root_params(name, &parsed.key),
            certificate,
        })
    }

    /// The root's public key.
    pub fn public_key(&self) -> Result<PublicKey, CredentialError> {
        Ok(crate::cert::ParsedCertificate::parse(&self.certificate, 0)?.key)
    }

    /// Creates a self-signed root for `signer`'s key.
    pub fn new_root(
        name: &str,
        not_before: u64,
        not_after: u64,
        serial: [u8; 16],
        signer: &dyn CertSigner,
    ) -> Result<Self, CredentialError> {
        let mut params = Self::root_params(name, signer.public_key());
        params.not_before = to_time(not_before)?;
        params.not_after = to_time(not_after)?;
        params.serial_number = Some(SerialNumber::from_slice(&positive(serial)));
        let key = Adapter::new(signer)?;
        let certificate = params
            .self_signed(&key)
            .map_err(|e| key.error(e))?
            .der()
            .to_vec();
        Ok(CertificateAuthority {
            params,
            certificate,
        })
    }

    /// The root certificate, DER.
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// Issues a participant credential for `subject_key`, signed by `signer`
    /// (which must hold this CA's key).
    pub fn issue(
        &self,
        profile: &ParticipantProfile,
        subject_key: &PublicKey,
        signer: &dyn CertSigner,
    ) -> Result<Vec<u8>, CredentialError> {
        let mut params = participant_params(profile, false)?;
        params.distinguished_name = dn("RCS participant");
        params.use_authority_key_identifier_extension = true;
        params.key_identifier_method = key_id(subject_key);
        let issuer_key = Adapter::new(signer)?;
        let issuer = Issuer::from_params(&self.params, &issuer_key);
        let subject = PublicOnly(Adapter::algorithm_of(subject_key)?, subject_key);
        let cert = params
            .signed_by(&subject, &issuer)
            .map_err(|e| issuer_key.error(e))?;
        Ok(cert.der().to_vec())
    }
}

fn participant_params(
    profile: &ParticipantProfile,
    development: bool,
) -> Result<CertificateParams, CredentialError> {
    use der::Encode;
    let mut params = CertificateParams::default();
    let mut sans = vec![SanType::URI(ia5(&profile.number.tel_uri())?)];
    if let Some(device) = &profile.device {
        sans.push(SanType::URI(ia5(&format!("{DEVICE_URN_PREFIX}{device}"))?));
    }
    if development {
        sans.push(SanType::URI(ia5(DEVELOPMENT_MARKER_URI)?));
    }
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(oid::arcs(
        &oid::RCS_MLS_CLIENT_EKU,
    ))];
    params.custom_extensions = vec![CustomExtension::from_oid_content(
        &oid::arcs(&const_oid::db::rfc5280::ID_CE_CERTIFICATE_POLICIES),
        certificate_policies_der(&[oid::RCS_MLS_POLICY]),
    )];
    if let Some(info) = &profile.participant_info {
        let content = info.to_der().map_err(build)?;
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                &oid::arcs(&oid::PARTICIPANT_INFORMATION),
                content,
            ));
    }
    if let Some(proof) = &profile.carrier_proof {
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                &oid::arcs(&oid::CARRIER_PROOF),
                proof.clone(),
            ));
    }
    params.not_before = to_time(profile.not_before)?;
    params.not_after = to_time(profile.not_after)?;
    params.serial_number = Some(SerialNumber::from_slice(&positive(profile.serial)));
    Ok(params)
}

/// `CertificatePolicies ::= SEQUENCE OF PolicyInformation` with bare
/// policy identifiers (RFC 5280 §4.2.1.4).
fn certificate_policies_der(policies: &[const_oid::ObjectIdentifier]) -> Vec<u8> {
    use der::Encode;
    let infos: Vec<x509_cert::ext::pkix::certpolicy::PolicyInformation> = policies
        .iter()
        .map(|p| x509_cert::ext::pkix::certpolicy::PolicyInformation {
            policy_identifier: *p,
            policy_qualifiers: None,
        })
        .collect();
    // Encoding a vector of OIDs cannot fail: lengths are tiny.
    x509_cert::ext::pkix::CertificatePolicies(infos)
        .to_der()
        .unwrap_or_default()
}

fn positive(mut serial: [u8; 16]) -> [u8; 16] {
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    serial
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

fn ia5(text: &str) -> Result<rcgen::string::Ia5String, CredentialError> {
    rcgen::string::Ia5String::try_from(text).map_err(build)
}

fn to_time(unix: u64) -> Result<OffsetDateTime, CredentialError> {
    i64::try_from(unix)
        .ok()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .ok_or_else(|| CredentialError::Build("time out of range".into()))
}

/// RFC 7093 method 1: the leftmost 160 bits of SHA-256 over the key bits.
fn key_id(key: &PublicKey) -> KeyIdMethod {
    KeyIdMethod::PreSpecified(Sha256::digest(key.as_bytes())[..20].to_vec())
}

fn build(e: impl std::fmt::Display) -> CredentialError {
    CredentialError::Build(e.to_string())
}

/// A [`CertSigner`] as rcgen wants it.
pub(crate) fn signing_adapter(signer: &dyn CertSigner) -> Result<Adapter<'_>, CredentialError> {
    Adapter::new(signer)
}

/// Presents a [`CertSigner`] to rcgen.
pub(crate) struct Adapter<'a> {
    signer: &'a dyn CertSigner,
    algorithm: &'static SignatureAlgorithm,
    failure: std::cell::RefCell<Option<String>>,
}

impl<'a> Adapter<'a> {
    fn new(signer: &'a dyn CertSigner) -> Result<Self, CredentialError> {
        Ok(Adapter {
            signer,
            algorithm: Self::algorithm_of(signer.public_key())?,
            failure: std::cell::RefCell::new(None),
        })
    }

    /// Maps an rcgen error, preferring the signer's own message.
    pub(crate) fn error(&self, e: rcgen::Error) -> CredentialError {
        match self.failure.borrow_mut().take() {
            Some(message) => CredentialError::Signer(message),
            None => build(e),
        }
    }

    fn algorithm_of(key: &PublicKey) -> Result<&'static SignatureAlgorithm, CredentialError> {
        Ok(match key.algorithm() {
            KeyAlgorithm::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyAlgorithm::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyAlgorithm::Ed25519 => &rcgen::PKCS_ED25519,
        })
    }
}

impl PublicKeyData for Adapter<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.signer.public_key().as_bytes()
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.algorithm
    }
}

impl SigningKey for Adapter<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.signer.sign(msg).map_err(|e| {
            self.failure.replace(Some(e));
            rcgen::Error::RemoteKeyError
        })
    }
}

/// A subject key with no private half (the CA certifies someone else's key).
struct PublicOnly<'a>(&'static SignatureAlgorithm, &'a PublicKey);

impl PublicKeyData for PublicOnly<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.1.as_bytes()
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.0
    }
}
