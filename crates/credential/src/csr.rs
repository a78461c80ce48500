//! PKCS#10 certification requests: the device proves it holds the key it
//! asks the KDS to certify.

use der::{Decode, Reader, SliceReader};
use rcgen::{CertificateParams, DistinguishedName, DnType};
use x509_cert::request::CertReq;

use crate::error::CredentialError;
use crate::issue::{CertSigner, signing_adapter};
use crate::key::{PublicKey, SignatureVerifier};

/// Largest request accepted.
pub const MAX_CSR_LEN: usize = 8 * 1024;

/// Builds a request for `signer`'s key, signed by it (the device side).
pub fn build_csr(signer: &dyn CertSigner) -> Result<Vec<u8>, CredentialError> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "RCS participant key");
    params.distinguished_name = dn;
    let adapter = signing_adapter(signer)?;
    let csr = params
        .serialize_request(&adapter)
        .map_err(|e| adapter.error(e))?;
    Ok(csr.der().to_vec())
}

/// Checks a request's self-signature and returns the key it proves (the
/// KDS side, rule CSR-1). Only the key matters: the KDS decides what the
/// credential says.
pub fn verify_csr(
    der_bytes: &[u8],
    verifier: &dyn SignatureVerifier,
) -> Result<PublicKey, CredentialError> {
    let malformed = |reason: String| CredentialError::Csr(reason);
    if der_bytes.len() > MAX_CSR_LEN {
        return Err(malformed("too large".into()));
    }
    let request = CertReq::from_der(der_bytes).map_err(|e| malformed(e.to_string()))?;
    let key = PublicKey::from_spki(&request.info.public_key, 0)
        .map_err(|_| malformed("unsupported key type".into()))?;
    let info = raw_info(der_bytes).map_err(|e| malformed(e.to_string()))?;
    key.verify_x509(
        &request.algorithm.oid,
        info,
        &request.signature,
        0,
        verifier,
    )
    .map_err(|_| malformed("self-signature does not verify".into()))?;
    Ok(key)
}

/// The exact bytes of `certificationRequestInfo`, as signed.
fn raw_info(csr: &[u8]) -> der::Result<&[u8]> {
    let mut reader = SliceReader::new(csr)?;
    reader.sequence(|inner| {
        let info = inner.tlv_bytes()?;
        inner.read_slice(inner.remaining_len())?;
        Ok::<_, der::Error>(info)
    })
}
