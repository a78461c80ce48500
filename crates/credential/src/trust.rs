//! Trust policies: which chains a client accepts for a participant.

use crate::carrier::TrustedCarriers;
use crate::cert::ParsedCertificate;
use crate::error::CredentialError;
use crate::key::{PublicKey, RustCryptoVerifier, SignatureVerifier};
use crate::participant::{ValidatedCredential, check_leaf_profile};

/// Longest chain accepted (leaf, up to two intermediates, root).
pub const MAX_CHAIN_LEN: usize = 4;

/// Provider root keys a client trusts, matched by public key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustAnchors(Vec<PublicKey>);

impl TrustAnchors {
    /// Anchors from root public keys.
    pub fn new(keys: Vec<PublicKey>) -> Self {
        TrustAnchors(keys)
    }
    /// No anchors: only development credentials can pass, and only under
    /// [`TrustPolicy::Development`].
    pub fn none() -> Self {
        TrustAnchors(Vec::new())
    }
    /// The anchors of both.
    pub fn merged(&self, other: &TrustAnchors) -> TrustAnchors {
        let mut all = self.0.clone();
        for k in &other.0 {
            if !all.contains(k) {
                all.push(k.clone());
            }
        }
        TrustAnchors(all)
    }
    fn contains(&self, key: &PublicKey) -> bool {
        self.0.contains(key)
    }
    fn iter(&self) -> impl Iterator<Item = &PublicKey> {
        self.0.iter()
    }
}

/// How a client decides whether a participant credential is genuine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustPolicy {
    /// Chains must end at one of the anchors; development credentials are
    /// refused (CRED-DEV-1). What every shipped configuration uses.
    Production {
        /// Trusted provider roots.
        anchors: TrustAnchors,
        /// Carriers whose proofs are believed: every production credential
        /// must carry a proof (extension 2.23.146.2.1.5) by one of them, for
        /// the credential's number and key, valid when it was issued.
        carriers: TrustedCarriers,
    },
    /// As production, and additionally self-issued development credentials
    /// are accepted. For tests and local demos only.
    Development {
        /// Trusted provider roots, if any.
        anchors: TrustAnchors,
    },
}

impl TrustPolicy {
    /// A policy accepting what either accepts (e.g. the credentials of
    /// every provider whose users share conversations). Development stays
    /// development only if both are.
    pub fn merged(&self, other: &TrustPolicy) -> TrustPolicy {
        use TrustPolicy::*;
        match (self, other) {
            (
                Production { anchors, carriers },
                Production {
                    anchors: a2,
                    carriers: c2,
                },
            ) => Production {
                anchors: anchors.merged(a2),
                carriers: carriers.merged(c2),
            },
            (Development { anchors }, Development { anchors: a2 }) => Development {
                anchors: anchors.merged(a2),
            },
            (Production { anchors, carriers }, Development { anchors: a2 })
            | (Development { anchors: a2 }, Production { anchors, carriers }) => Production {
                anchors: anchors.merged(a2),
                carriers: carriers.clone(),
            },
        }
    }

    /// Validates a participant credential chain (leaf first, DER) at `now`
    /// (Unix seconds). Checks the RCC.16 profile on the leaf, every
    /// signature issuer → subject, every validity period, and that the chain
    /// ends at a trust anchor (or, in development, that the leaf is a
    /// self-signed development credential).
    pub fn validate(
        &self,
        chain: &[impl AsRef<[u8]>],
        now: u64,
    ) -> Result<ValidatedCredential, CredentialError> {
        self.validate_with(chain, now, &RustCryptoVerifier)
    }

    /// [`TrustPolicy::validate`] with a chosen signature implementation.
    pub fn validate_with(
        &self,
        chain: &[impl AsRef<[u8]>],
        now: u64,
        verifier: &dyn SignatureVerifier,
    ) -> Result<ValidatedCredential, CredentialError> {
        if chain.is_empty() || chain.len() > MAX_CHAIN_LEN {
            return Err(CredentialError::ChainLength);
        }
        let certs = chain
            .iter()
            .enumerate()
            .map(|(i, der)| ParsedCertificate::parse(der.as_ref(), i))
            .collect::<Result<Vec<_>, _>>()?;
        let leaf = &certs[0];
        let credential = check_leaf_profile(leaf)?;
        for cert in &certs {
            cert.check_time(now)?;
        }
        let anchors = match self {
            TrustPolicy::Production { anchors, carriers } => {
                if credential.is_development() {
                    return Err(CredentialError::DevelopmentCredentialRefused);
                }
                verify_chain_to_anchor(&certs, anchors, verifier)?;
                check_carrier_proof(leaf, &credential, carriers, verifier)?;
                return Ok(credential);
            }
            TrustPolicy::Development { anchors } => {
                if credential.is_development() {
                    // CRED-DEV-2: a development credential stands alone and
                    // is signed by its own participant key.
                    if certs.len() != 1 || !leaf.self_issued {
                        return Err(CredentialError::UntrustedRoot);
                    }
                    leaf.verify_signed_by(&leaf.key, verifier)?;
                    return Ok(credential);
                }
                anchors
            }
        };
        verify_chain_to_anchor(&certs, anchors, verifier)?;
        Ok(credential)
    }
}

/// CARRIER-6: the leaf's carrier proof verifies (as of the leaf's
/// notBefore, when the KDS checked it), names the credential's number and
/// covers the credential's key.
fn check_carrier_proof(
    leaf: &ParsedCertificate,
    credential: &ValidatedCredential,
    carriers: &TrustedCarriers,
    verifier: &dyn SignatureVerifier,
) -> Result<(), CredentialError> {
    let proof = leaf
        .carrier_proof
        .as_ref()
        .ok_or(CredentialError::CarrierProofMissing)?;
    let claims = carriers.verify(proof, leaf.not_before, verifier)?;
    if &claims.number != credential.number() {
        return Err(CredentialError::CarrierProof(
            "names another number than the credential".into(),
        ));
    }
    if !claims.covers(credential.key().as_bytes()) {
        return Err(CredentialError::CarrierProof(
            "does not name the credential's key".into(),
        ));
    }
    Ok(())
}

/// Walks the chain upwards, checking each signature, until an anchor key
/// has signed (or is) the current certificate.
fn verify_chain_to_anchor(
    certs: &[ParsedCertificate],
    anchors: &TrustAnchors,
    verifier: &dyn SignatureVerifier,
) -> Result<(), CredentialError> {
    for (i, cert) in certs.iter().enumerate() {
        if i > 0 && !cert.is_ca {
            return Err(CredentialError::IssuerNotCa { index: i });
        }
        if i > 0 && !cert.allows(x509_cert::ext::pkix::KeyUsages::KeyCertSign) {
            return Err(CredentialError::KeyUsage { index: i });
        }
        if i > 0 && anchors.contains(&cert.key) {
            // The anchor itself was included; it signed certs[i - 1] already.
            return Ok(());
        }
        match certs.get(i + 1) {
            Some(issuer) => cert.verify_signed_by(&issuer.key, verifier)?,
            None => {
                // Last certificate: an anchor must have signed it.
                let mut last_error = CredentialError::UntrustedRoot;
                for anchor in anchors.iter() {
                    match cert.verify_signed_by(anchor, verifier) {
                        Ok(()) => return Ok(()),
                        Err(CredentialError::UnsupportedSignatureAlgorithm { .. }) => {}
                        Err(e) => last_error = e,
                    }
                }
                return Err(match last_error {
                    CredentialError::BadSignature { .. } => CredentialError::UntrustedRoot,
                    other => other,
                });
            }
        }
    }
    Err(CredentialError::UntrustedRoot)
}
