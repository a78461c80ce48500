//! One parsed certificate and the signature checks both verifiers share.
//!
//! We verify signatures over the TBS bytes exactly as received (never a
//! re-encoding) and accept only the algorithms real attestation chains use:
//! ECDSA P-256/P-384 with SHA-256/SHA-384 (DER signatures) and RSA PKCS#1 v1.5
//! with SHA-256.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use const_oid::ObjectIdentifier;
use der::{Decode, Encode, Reader, SliceReader};
use sha2::{Digest, Sha256, Sha384};
use x509_cert::Certificate;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::error::AttestError;
use crate::oid;

/// Largest certificate this crate parses (real ones are 0.5–1.5 KiB).
pub(crate) const MAX_CERT_LEN: usize = 16 * 1024;

/// A certificate parsed from untrusted DER; nothing about it is verified.
#[derive(Debug, Clone)]
pub(crate) struct ParsedCert {
    tbs: Vec<u8>,
    cert: Certificate,
}

impl ParsedCert {
    /// Parses one DER certificate; `index` is its position for error reports.
    pub(crate) fn from_der(der: &[u8], index: usize) -> Result<Self, AttestError> {
        if der.len() > MAX_CERT_LEN {
            return Err(AttestError::TooLarge {
                what: "certificate",
                limit: MAX_CERT_LEN,
            });
        }
        let malformed = |e: der::Error| AttestError::Malformed(format!("certificate {index}: {e}"));
        let cert = Certificate::from_der(der).map_err(malformed)?;
        // The signed bytes, exactly as received: the first element of the
        // outer SEQUENCE.
        let mut reader = SliceReader::new(der).map_err(malformed)?;
        let tbs = reader
            .sequence(|inner| {
                let tbs = inner.tlv_bytes()?;
                // The remaining two elements were already checked by the full
                // decode above; skip them so the nested reader is finished.
                inner.drain(inner.remaining_len())?;
                Ok::<_, der::Error>(tbs.to_vec())
            })
            .map_err(malformed)?;
        // RFC 5280 §4.1.1.2: the outer algorithm must equal the TBS one.
        if cert.signature_algorithm() != cert.tbs_certificate().signature() {
            return Err(AttestError::Malformed(format!(
                "certificate {index}: signatureAlgorithm differs from tbsCertificate.signature"
            )));
        }
        Ok(Self { tbs, cert })
    }

    /// The subject public key info.
    pub(crate) fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        self.cert.tbs_certificate().subject_public_key_info()
    }

    /// The serial number as Google's attestation status list writes it:
    /// lowercase hex without leading zeros ("0" for zero).
    pub(crate) fn serial_hex(&self) -> String {
        canonical_serial_hex(self.cert.tbs_certificate().serial_number().as_bytes())
    }

    /// The KeyMint `(algorithm, ecCurve)` of the certified key: `(EC=3,
    /// Some(P_256=1 | P_384=2 | P_521=3))` or `(RSA=1, None)`; `None` for any
    /// other key type.
    pub(crate) fn keymint_algorithm(&self) -> Option<(i64, Option<i64>)> {
        let spki = self.spki();
        match spki.algorithm.oid {
            oid::EC_PUBLIC_KEY => {
                let curve: ObjectIdentifier =
                    spki.algorithm.parameters.as_ref()?.decode_as().ok()?;
                let curve = match curve {
                    oid::SECP256R1 => 1,
                    oid::SECP384R1 => 2,
                    oid::SECP521R1 => 3,
                    _ => return None,
                };
                Some((3, Some(curve)))
            }
            oid::RSA_ENCRYPTION => Some((1, None)),
            _ => None,
        }
    }

    /// The subject public key info, DER-encoded (what roots are matched on).
    pub(crate) fn spki_der(&self) -> Result<Vec<u8>, AttestError> {
        self.spki()
            .to_der()
            .map_err(|e| AttestError::Malformed(format!("subject public key info: {e}")))
    }

    /// The raw `extnValue` of the extension `oid`, if present; a repeated
    /// extension is malformed (RFC 5280 §4.2).
    pub(crate) fn extension(
        &self,
        oid: &ObjectIdentifier,
        index: usize,
    ) -> Result<Option<&[u8]>, AttestError> {
        let mut found = None;
        for ext in self
            .cert
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
        {
            if &ext.extn_id == oid {
                if found.is_some() {
                    return Err(AttestError::Malformed(format!(
                        "certificate {index}: extension {oid} appears twice"
                    )));
                }
                found = Some(ext.extn_value.as_bytes());
            }
        }
        Ok(found)
    }

    /// Checks `notBefore <= at <= notAfter` (RFC 5280 §4.1.2.5).
    pub(crate) fn check_validity(&self, at: SystemTime, index: usize) -> Result<(), AttestError> {
        let at = unix(at);
        let validity = self.cert.tbs_certificate().validity();
        if at < validity.not_before.to_unix_duration() {
            return Err(AttestError::NotYetValid { index });
        }
        if at > validity.not_after.to_unix_duration() {
            return Err(AttestError::Expired { index });
        }
        Ok(())
    }

    /// Verifies this certificate's signature with `issuer`'s public key.
    /// `index` is this certificate's position, reported on failure.
    pub(crate) fn verify_signed_by(
        &self,
        issuer: &SubjectPublicKeyInfoOwned,
        issuer_index: usize,
        index: usize,
    ) -> Result<(), AttestError> {
        let algorithm = self.cert.signature_algorithm();
        if algorithm.parameters.as_ref().is_some_and(|p| {
            // ECDSA identifiers carry no parameters; RSA's carry NULL.
            algorithm.oid != oid::SHA256_WITH_RSA || !p.is_null()
        }) {
            return Err(AttestError::Malformed(format!(
                "certificate {index}: unexpected signature algorithm parameters"
            )));
        }
        let signature = self
            .cert
            .signature()
            .as_bytes()
            .ok_or_else(|| AttestError::Malformed(format!("certificate {index}: signature")))?;
        let key = PublicKey::from_spki(issuer, issuer_index)?;
        let ok = match (algorithm.oid, &key) {
            (oid::ECDSA_WITH_SHA256, PublicKey::P256(k)) => {
                verify_p256(k, &Sha256::digest(&self.tbs), signature)
            }
            (oid::ECDSA_WITH_SHA384, PublicKey::P256(k)) => {
                verify_p256(k, &Sha384::digest(&self.tbs), signature)
            }
            (oid::ECDSA_WITH_SHA256, PublicKey::P384(k)) => {
                verify_p384(k, &Sha256::digest(&self.tbs), signature)
            }
            (oid::ECDSA_WITH_SHA384, PublicKey::P384(k)) => {
                verify_p384(k, &Sha384::digest(&self.tbs), signature)
            }
            (oid::SHA256_WITH_RSA, PublicKey::Rsa(k)) => verify_rsa_sha256(k, &self.tbs, signature),
            (oid::ECDSA_WITH_SHA256 | oid::ECDSA_WITH_SHA384 | oid::SHA256_WITH_RSA, _) => {
                // Algorithm and key type disagree: it cannot verify.
                false
            }
            (other, _) => {
                return Err(AttestError::UnsupportedAlgorithm {
                    index,
                    algorithm: other.to_string(),
                });
            }
        };
        if ok {
            Ok(())
        } else {
            Err(AttestError::ChainSignature { index })
        }
    }
}

/// Big-endian serial bytes as lowercase hex without leading zeros.
pub(crate) fn canonical_serial_hex(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Seconds since the Unix epoch; times before 1970 clamp to 0.
pub(crate) fn unix(at: SystemTime) -> Duration {
    at.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO)
}

/// A verification key decoded from a subject public key info.
enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Rsa(Box<rsa::PublicKey>),
}

impl PublicKey {
    fn from_spki(spki: &SubjectPublicKeyInfoOwned, index: usize) -> Result<Self, AttestError> {
        let unsupported = || AttestError::UnsupportedKey { index };
        let bits = spki.subject_public_key.as_bytes().ok_or_else(unsupported)?;
        match spki.algorithm.oid {
            oid::EC_PUBLIC_KEY => {
                let curve: ObjectIdentifier = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .ok_or_else(unsupported)?
                    .decode_as()
                    .map_err(|_| unsupported())?;
                match curve {
                    oid::SECP256R1 => p256::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                        .map(Self::P256)
                        .map_err(|_| unsupported()),
                    oid::SECP384R1 => p384::ecdsa::VerifyingKey::from_sec1_bytes(bits)
                        .map(Self::P384)
                        .map_err(|_| unsupported()),
                    _ => Err(unsupported()),
                }
            }
            oid::RSA_ENCRYPTION => {
                use rsa::pkcs1::DecodeRsaPublicKey;
                rsa::PublicKey::from_pkcs1_der(bits)
                    .map(|k| Self::Rsa(Box::new(k)))
                    .map_err(|_| unsupported())
            }
            _ => Err(unsupported()),
        }
    }
}

fn verify_p256(key: &p256::ecdsa::VerifyingKey, prehash: &[u8], der_sig: &[u8]) -> bool {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    p256::ecdsa::Signature::from_der(der_sig)
        .is_ok_and(|sig| key.verify_prehash(prehash, &sig).is_ok())
}

fn verify_p384(key: &p384::ecdsa::VerifyingKey, prehash: &[u8], der_sig: &[u8]) -> bool {
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    p384::ecdsa::Signature::from_der(der_sig)
        .is_ok_and(|sig| key.verify_prehash(prehash, &sig).is_ok())
}

fn verify_rsa_sha256(key: &rsa::PublicKey, message: &[u8], sig: &[u8]) -> bool {
    use rsa::signature::Verifier;
    let verifier = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key.clone());
    rsa::pkcs1v15::Signature::try_from(sig).is_ok_and(|sig| verifier.verify(message, &sig).is_ok())
}

/// Parses every certificate of a PEM bundle, in order.
pub(crate) fn pem_certificates(pem: &str, max: usize) -> Result<Vec<Vec<u8>>, AttestError> {
    use base64::Engine as _;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let end = after
            .find(END)
            .ok_or_else(|| AttestError::Malformed("PEM: missing END line".into()))?;
        if out.len() == max {
            return Err(AttestError::ChainLength { len: max + 1 });
        }
        let body: String = after[..end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        if body.len() > MAX_CERT_LEN * 2 {
            return Err(AttestError::TooLarge {
                what: "certificate",
                limit: MAX_CERT_LEN,
            });
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| AttestError::Malformed(format!("PEM: {e}")))?;
        out.push(der);
        rest = &after[end + END.len()..];
    }
    Ok(out)
}
