//! The Android attestation roots, matched by public key.
//!
//! Google rotates root *certificates* but keeps the root *key*: a chain may
//! end in an older self-signed certificate of a pinned key (the 2016 and 2019
//! certificates of the RSA root `f92009e853b6b045`, for instance), so roots
//! are compared by SubjectPublicKeyInfo, never by certificate bytes or name.

use crate::cert::{ParsedCert, pem_certificates};
use crate::error::AttestError;

/// Google's hardware attestation roots as published (`roots.json`: a JSON
/// array of PEM certificates). Copied from the sample set; Apache-2.0, see
/// `roots/LICENSE-android-keyattestation`.
const GOOGLE_ROOTS_JSON: &str = include_str!("../../roots/google_attestation_roots.json");

/// The AOSP software attestation roots (EC P-256 and RSA-1024). Their private
/// keys ship in AOSP's software Keymaster, so anyone can make a chain to them:
/// they are recognised only to be refused.
const SOFTWARE_ROOTS_PEM: &str = include_str!("../../roots/android_software_roots.pem");

/// Most roots accepted from one `roots.json`.
const MAX_ROOTS: usize = 32;

/// What the last certificate of a chain is anchored to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// A Google hardware attestation root key.
    Hardware,
    /// An AOSP software attestation root key.
    Software,
}

/// The pinned Android root keys (DER SubjectPublicKeyInfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AndroidRoots {
    hardware: Vec<Vec<u8>>,
    software: Vec<Vec<u8>>,
}

impl AndroidRoots {
    /// Google's hardware attestation roots embedded in this crate (the RSA-4096
    /// root `f92009e853b6b045` and the P-384 "Key Attestation CA1"), plus the
    /// AOSP software roots to recognise.
    ///
    /// # Errors
    /// Only if the embedded data is corrupt ([`AttestError::Internal`]).
    pub fn google() -> Result<Self, AttestError> {
        Self::from_roots_json(GOOGLE_ROOTS_JSON)
            .map_err(|e| AttestError::Internal(format!("embedded Google roots: {e}")))
    }

    /// Hardware roots from a `roots.json` as Google publishes it (a JSON array
    /// of PEM certificates), plus the embedded AOSP software roots.
    ///
    /// # Errors
    /// [`AttestError::Malformed`] if the JSON or a certificate does not parse.
    pub fn from_roots_json(json: &str) -> Result<Self, AttestError> {
        let pems: Vec<String> = serde_json::from_str(json)
            .map_err(|e| AttestError::Malformed(format!("roots.json: {e}")))?;
        if pems.len() > MAX_ROOTS {
            return Err(AttestError::TooLarge {
                what: "roots.json",
                limit: MAX_ROOTS,
            });
        }
        let mut hardware = Vec::with_capacity(pems.len());
        for pem in &pems {
            let keys = spkis_of_pem(pem)?;
            if keys.len() != 1 {
                return Err(AttestError::Malformed(
                    "roots.json: each entry must hold exactly one certificate".into(),
                ));
            }
            hardware.extend(keys);
        }
        let software = spkis_of_pem(SOFTWARE_ROOTS_PEM)
            .map_err(|e| AttestError::Internal(format!("embedded software roots: {e}")))?;
        Ok(Self { hardware, software })
    }

    /// Number of pinned hardware root keys.
    #[must_use]
    pub fn hardware_root_count(&self) -> usize {
        self.hardware.len()
    }

    pub(crate) fn anchor(&self, spki_der: &[u8]) -> Option<Anchor> {
        if self.hardware.iter().any(|k| k == spki_der) {
            Some(Anchor::Hardware)
        } else if self.software.iter().any(|k| k == spki_der) {
            Some(Anchor::Software)
        } else {
            None
        }
    }
}

fn spkis_of_pem(pem: &str) -> Result<Vec<Vec<u8>>, AttestError> {
    pem_certificates(pem, MAX_ROOTS)?
        .iter()
        .enumerate()
        .map(|(i, der)| ParsedCert::from_der(der, i)?.spki_der())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_roots_load() {
        let roots = AndroidRoots::google().unwrap();
        assert_eq!(roots.hardware_root_count(), 2);
        assert_eq!(roots.software.len(), 2);
    }

    #[test]
    fn anchors_classify_by_key() {
        let roots = AndroidRoots::google().unwrap();
        for key in spkis_of_pem(SOFTWARE_ROOTS_PEM).unwrap() {
            assert_eq!(roots.anchor(&key), Some(Anchor::Software));
        }
        let published: Vec<String> = serde_json::from_str(GOOGLE_ROOTS_JSON).unwrap();
        for pem in published {
            for key in spkis_of_pem(&pem).unwrap() {
                assert_eq!(roots.anchor(&key), Some(Anchor::Hardware));
            }
        }
        assert_eq!(roots.anchor(b"not a key"), None);
    }

    #[test]
    fn refuses_bad_roots_json() {
        assert!(AndroidRoots::from_roots_json("{").is_err());
        assert!(AndroidRoots::from_roots_json(r#"["not a pem"]"#).is_err());
        assert!(AndroidRoots::from_roots_json("[]").is_ok_and(|r| r.hardware.is_empty()));
        assert!(
            AndroidRoots::from_roots_json(
                "[\"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\"]"
            )
            .is_err()
        );
    }
}
