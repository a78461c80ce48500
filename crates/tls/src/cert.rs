//! The few facts this crate reads back from a certificate it loads: the
//! public key, whether it is a CA, and (for a CA) its subject name.
//!
//! Only our own files are read here (a CA or identity saved by this crate);
//! certificates from peers are verified by rustls, never by this module.

use rcgen::{DistinguishedName, DnType, DnValue};
use x509_cert::Certificate;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, Tag, Tagged};

use crate::error::TlsError;

/// id-at-commonName (RFC 4519 §2.3 / X.520).
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// id-ce-basicConstraints (RFC 5280 §4.2.1.9).
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");

/// What [`inspect`] learned.
pub(crate) struct CertFacts {
    /// The subject public key's bits (an uncompressed point for EC keys).
    pub(crate) public_key: Vec<u8>,
    /// basicConstraints cA = TRUE.
    pub(crate) is_ca: bool,
    /// The subject rebuilt for rcgen, when it is a single common name (the
    /// form this crate issues); `Err` says why it is not.
    pub(crate) subject: Result<DistinguishedName, String>,
}

/// Decodes `der` (from `origin`, for error messages).
pub(crate) fn inspect(der: &[u8], origin: &str) -> Result<CertFacts, TlsError> {
    let cert = Certificate::from_der(der).map_err(|e| TlsError::certificate(origin, e))?;
    let tbs = cert.tbs_certificate();
    let public_key = tbs
        .subject_public_key_info()
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| TlsError::certificate(origin, "public key is not whole bytes"))?
        .to_vec();
    let mut is_ca = false;
    for ext in tbs.extensions().map(|e| e.as_slice()).unwrap_or_default() {
        if ext.extn_id == BASIC_CONSTRAINTS {
            let bc = x509_cert::ext::pkix::BasicConstraints::from_der(ext.extn_value.as_bytes())
                .map_err(|e| TlsError::certificate(origin, e))?;
            is_ca = bc.ca;
        }
    }
    Ok(CertFacts {
        public_key,
        is_ca,
        subject: single_common_name(tbs.subject()),
    })
}

/// The issuer name written into every certificate a CA signs must equal the
/// CA's subject byte for byte (RFC 5280 §4.1.2.4, compared as bytes by
/// webpki). rcgen writes each attribute as its own RDN in the string type it
/// is given, so a subject of exactly one CN as UTF8String or PrintableString
/// is rebuilt exactly.
fn single_common_name(name: &x509_cert::name::Name) -> Result<DistinguishedName, String> {
    let mut rdns = name.iter_rdn();
    let (Some(rdn), None) = (rdns.next(), rdns.next()) else {
        return Err("subject is not a single relative distinguished name".into());
    };
    let mut attributes = rdn.iter();
    let (Some(attribute), None) = (attributes.next(), attributes.next()) else {
        return Err("subject has more than one attribute".into());
    };
    if attribute.oid != COMMON_NAME {
        return Err(format!(
            "subject attribute {} is not a common name",
            attribute.oid
        ));
    }
    let text = std::str::from_utf8(attribute.value.value())
        .map_err(|_| "common name is not UTF-8".to_owned())?
        .to_owned();
    let value = match attribute.value.tag() {
        Tag::Utf8String => DnValue::Utf8String(text),
        Tag::PrintableString => DnValue::PrintableString(
            rcgen::string::PrintableString::try_from(text).map_err(|e| e.to_string())?,
        ),
        other => return Err(format!("common name has unsupported string type {other}")),
    };
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, value);
    Ok(dn)
}
