//! PEM text (RFC 7468) and the files that hold it.
//!
//! Parsing goes through `rustls-pki-types`; writing is the strict RFC 7468
//! form (base64 lines of 64 characters). Private key files are written with
//! mode 0600 and replaced atomically (write a sibling, then rename), so a
//! crash never leaves a half-written key behind.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use zeroize::Zeroizing;

use crate::error::TlsError;

/// The PEM label of a PKCS#8 private key (RFC 7468 §10).
pub(crate) const PRIVATE_KEY_LABEL: &str = "PRIVATE KEY";
/// The PEM label of an X.509 certificate (RFC 7468 §5).
pub(crate) const CERTIFICATE_LABEL: &str = "CERTIFICATE";

/// Encodes `der` as one PEM section. The result holds secrets when `der`
/// does, so it is zeroized when dropped.
pub(crate) fn encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let body = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(der));
    let mut out = Zeroizing::new(String::with_capacity(body.len() + body.len() / 64 + 64));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // Base64 output is ASCII, so every 64-byte chunk is valid UTF-8.
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Encodes a certificate chain, one section per certificate.
pub(crate) fn encode_chain(chain: &[Vec<u8>]) -> String {
    chain
        .iter()
        .map(|der| encode(CERTIFICATE_LABEL, der).to_string())
        .collect()
}

/// The first `PRIVATE KEY` section of `text` (zeroized on drop).
pub(crate) fn decode_private_key(
    text: &[u8],
    origin: &str,
) -> Result<PrivatePkcs8KeyDer<'static>, TlsError> {
    PrivatePkcs8KeyDer::from_pem_slice(text).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => TlsError::pem(
            origin,
            "no `PRIVATE KEY` section (a PKCS#8 key is expected)",
        ),
        other => TlsError::pem(origin, other),
    })
}

/// Every `CERTIFICATE` section of `text`, in order; at least one.
pub(crate) fn decode_certificates(text: &[u8], origin: &str) -> Result<Vec<Vec<u8>>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(text)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::pem(origin, e))?;
    if chain.is_empty() {
        return Err(TlsError::pem(origin, "no `CERTIFICATE` section"));
    }
    Ok(chain)
}

/// Reads a whole file (a PEM file is small).
pub(crate) fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, TlsError> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| TlsError::io(path, e))
}

/// Replaces `path` with `contents`: written to a sibling file first (mode
/// 0600 when `private`, else 0644), flushed to disk, then renamed over.
pub(crate) fn write(path: &Path, contents: &[u8], private: bool) -> Result<(), TlsError> {
    let file_name = path
        .file_name()
        .ok_or_else(|| TlsError::io(path, std::io::ErrorKind::InvalidInput.into()))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".tmp{}", std::process::id()));
    let temp = path.with_file_name(temp_name);

    let result = write_new(&temp, contents, private)
        .and_then(|()| std::fs::rename(&temp, path).map_err(|e| TlsError::io(path, e)));
    if result.is_err() {
        // Best effort: the temporary file may not exist.
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn write_new(path: &Path, contents: &[u8], private: bool) -> Result<(), TlsError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let io = |e| TlsError::io(path, e);
    let mut file = options.open(path).map_err(io)?;
    // The mode above applies only to a new file; a stale sibling left by a
    // crash keeps its old mode, so set it again.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if private { 0o600 } else { 0o644 };
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(io)?;
    }
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_wraps_at_64_and_round_trips() {
        let der: Vec<u8> = (0..=255u8).collect();
        let text = encode(CERTIFICATE_LABEL, &der);
        assert!(text.lines().all(|l| l.len() <= 64));
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(text.ends_with("-----END CERTIFICATE-----\n"));
        let back = decode_certificates(text.as_bytes(), "test").unwrap();
        assert_eq!(back, vec![der]);
    }

    #[test]
    fn missing_sections_are_reported() {
        let err = decode_certificates(b"hello", "certs.pem").unwrap_err();
        assert!(matches!(err, TlsError::Pem { ref origin, .. } if origin == "certs.pem"));
        let text = encode(CERTIFICATE_LABEL, b"x");
        let err = decode_private_key(text.as_bytes(), "key.pem").unwrap_err();
        assert!(matches!(err, TlsError::Pem { ref origin, .. } if origin == "key.pem"));
    }
}
