//! One X.509 certificate, decoded once into the fields the profile checks.

use const_oid::ObjectIdentifier;
use der::asn1::BitString;
use der::{Decode, Reader, SliceReader};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, CertificatePolicies, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};

use crate::error::CredentialError;
use crate::key::{PublicKey, SignatureVerifier};

/// Largest certificate we decode (a participant credential is ~1 KiB).
pub const MAX_CERT_LEN: usize = 16 * 1024;

/// The decoded, *unverified* fields of a certificate.
#[derive(Debug, Clone)]
pub(crate) struct ParsedCertificate {
    pub(crate) index: usize,
    pub(crate) tbs: Vec<u8>,
    pub(crate) signature_algorithm: ObjectIdentifier,
    pub(crate) signature: BitString,
    pub(crate) key: PublicKey,
    pub(crate) not_before: u64,
    pub(crate) not_after: u64,
    pub(crate) self_issued: bool,
    pub(crate) is_ca: bool,
    /// `None` when the certificate has no KeyUsage extension (any use).
    pub(crate) key_usage: Option<KeyUsage>,
    pub(crate) uris: Vec<String>,
    pub(crate) eku: Vec<ObjectIdentifier>,
    pub(crate) policies: Vec<ObjectIdentifier>,
    /// The carrier proof extension's content (DER), if present.
    pub(crate) carrier_proof: Option<Vec<u8>>,
    /// The serial number, lowercase hex of its DER content bytes.
    pub(crate) serial: String,
}

impl ParsedCertificate {
    pub(crate) fn parse(der_bytes: &[u8], index: usize) -> Result<Self, CredentialError> {
        let malformed = |reason: String| CredentialError::Malformed { index, reason };
        // CRED-LEN-1: at most 16 KiB of DER per certificate.
        if der_bytes.len() > MAX_CERT_LEN {
            return Err(malformed("certificate too large".into()));
        }
        let cert = Certificate::from_der(der_bytes).map_err(|e| malformed(e.to_string()))?;
        let tbs = raw_tbs(der_bytes).map_err(|e| malformed(e.to_string()))?;
        let tbs_cert = cert.tbs_certificate();
        // CRED-EXT-1: X.509 v3 only.
        if tbs_cert.version() != x509_cert::Version::V3 {
            return Err(CredentialError::NotVersion3 { index });
        }
        if cert.signature_algorithm() != tbs_cert.signature() {
            return Err(CredentialError::UnsupportedSignatureAlgorithm { index });
        }
        let key = PublicKey::from_spki(tbs_cert.subject_public_key_info(), index)?;
        let validity = tbs_cert.validity();
        let mut parsed = ParsedCertificate {
            index,
            tbs: tbs.to_vec(),
            signature_algorithm: cert.signature_algorithm().oid,
            signature: cert.signature().clone(),
            key,
            not_before: validity.not_before.to_unix_duration().as_secs(),
            not_after: validity.not_after.to_unix_duration().as_secs(),
            self_issued: tbs_cert.issuer() == tbs_cert.subject(),
            is_ca: false,
            key_usage: None,
            uris: Vec::new(),
            eku: Vec::new(),
            policies: Vec::new(),
            carrier_proof: None,
            serial: hex_lower(tbs_cert.serial_number().as_bytes()),
        };
        for ext in tbs_cert
            .extensions()
            .map(|e| e.as_slice())
            .unwrap_or_default()
        {
            let value = ext.extn_value.as_bytes();
            let bad = |e: der::Error| malformed(format!("extension {}: {e}", ext.extn_id));
            match ext.extn_id {
                id if id == const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME => {
                    let san = SubjectAltName::from_der(value).map_err(bad)?;
                    for name in san.0 {
                        if let GeneralName::UniformResourceIdentifier(uri) = name {
                            parsed.uris.push(uri.as_str().to_owned());
                        }
                    }
                }
                id if id == const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS => {
                    parsed.is_ca = BasicConstraints::from_der(value).map_err(bad)?.ca;
                }
                id if id == const_oid::db::rfc5280::ID_CE_KEY_USAGE => {
                    parsed.key_usage = Some(KeyUsage::from_der(value).map_err(bad)?);
                }
                id if id == const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE => {
                    parsed.eku = ExtendedKeyUsage::from_der(value).map_err(bad)?.0;
                }
                id if id == const_oid::db::rfc5280::ID_CE_CERTIFICATE_POLICIES => {
                    let policies = CertificatePolicies::from_der(value).map_err(bad)?;
                    parsed.policies = policies
                        .0
                        .into_iter()
                        .map(|p| p.policy_identifier)
                        .collect();
                }
                id if id == crate::oid::CARRIER_PROOF => {
                    parsed.carrier_proof = Some(value.to_vec());
                }
                // CRED-EXT-1: an unknown critical extension is refused.
                _ if ext.critical => {
                    return Err(malformed(format!(
                        "unknown critical extension {}",
                        ext.extn_id
                    )));
                }
                _ => {}
            }
        }
        Ok(parsed)
    }

    /// Whether the key may be used for `usage` (RFC 5280 §4.2.1.3).
    pub(crate) fn allows(&self, usage: KeyUsages) -> bool {
        self.key_usage.is_none_or(|ku| ku.0.contains(usage))
    }

    /// Checks that `issuer` signed this certificate.
    pub(crate) fn verify_signed_by(
        &self,
        issuer: &PublicKey,
        verifier: &dyn SignatureVerifier,
    ) -> Result<(), CredentialError> {
        issuer.verify_x509(
            &self.signature_algorithm,
            &self.tbs,
            &self.signature,
            self.index,
            verifier,
        )
    }

    // CRED-TIME-1: valid at the time of use.
    pub(crate) fn check_time(&self, now: u64) -> Result<(), CredentialError> {
        if now < self.not_before {
            return Err(CredentialError::NotYetValid { index: self.index });
        }
        if now > self.not_after {
            return Err(CredentialError::Expired { index: self.index });
        }
        Ok(())
    }
}

/// The exact bytes of `tbsCertificate`, as signed (not a re-encoding).
fn raw_tbs(cert: &[u8]) -> der::Result<&[u8]> {
    let mut reader = SliceReader::new(cert)?;
    let tbs = reader.sequence(|inner| {
        let tbs = inner.tlv_bytes()?;
        // Skip the rest of the outer SEQUENCE; `Certificate::from_der` has
        // already checked its structure.
        inner.read_slice(inner.remaining_len())?;
        Ok::<_, der::Error>(tbs)
    })?;
    Ok(tbs)
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
