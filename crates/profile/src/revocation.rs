//! Revoked credentials, scoped by issuer (CRED-REV-1, CRED-REV-2).
//!
//! A certificate serial is unique only under the CA that issued it, and
//! every provider runs its own CA. So a provider's revocation list
//! (`GET /v1/revoked`) is recorded under that provider's CA key, and a
//! listed serial revokes a credential only when that key signed the
//! credential's leaf: one provider's list cannot revoke another
//! provider's credentials that happen to carry the same serials.

use std::collections::BTreeSet;

use crosslock_credential::{AwsLcVerifier, KeyAlgorithm, PublicKey, SignatureVerifier};
use serde::{Deserialize, Serialize};

/// The revocation lists a device has recorded, one per issuer key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocations {
    lists: Vec<IssuerList>,
}

/// The serials one CA revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct IssuerList {
    /// The CA key's algorithm ([`algorithm_tag`]).
    algorithm: u8,
    /// The CA key.
    key: Vec<u8>,
    /// Revoked serials, lowercase hex.
    serials: BTreeSet<String>,
}

fn algorithm_tag(a: KeyAlgorithm) -> u8 {
    match a {
        KeyAlgorithm::EcdsaP256 => 1,
        KeyAlgorithm::EcdsaP384 => 2,
        KeyAlgorithm::Ed25519 => 3,
    }
}

fn algorithm_of(tag: u8) -> Option<KeyAlgorithm> {
    match tag {
        1 => Some(KeyAlgorithm::EcdsaP256),
        2 => Some(KeyAlgorithm::EcdsaP384),
        3 => Some(KeyAlgorithm::Ed25519),
        _ => None,
    }
}

/// Normalises a serial as revocation lists and credentials spell it.
pub fn normalise_serial(serial: &str) -> String {
    serial.trim().to_ascii_lowercase()
}

impl Revocations {
    /// Adds `serials` revoked by the CA holding `issuer`.
    pub fn add(&mut self, issuer: &PublicKey, serials: &[String]) {
        let algorithm = algorithm_tag(issuer.algorithm());
        let position = self
            .lists
            .iter()
            .position(|l| l.algorithm == algorithm && l.key == issuer.as_bytes());
        let list = match position {
            Some(i) => &mut self.lists[i],
            None => {
                self.lists.push(IssuerList {
                    algorithm,
                    key: issuer.as_bytes().to_vec(),
                    serials: BTreeSet::new(),
                });
                let last = self.lists.len() - 1;
                &mut self.lists[last]
            }
        };
        list.serials
            .extend(serials.iter().map(|s| normalise_serial(s)));
    }

    /// CRED-REV-2: whether the leaf `leaf_der` with serial `serial` was
    /// revoked by its issuer: some recorded list names the serial, and
    /// that list's CA key signed the leaf.
    pub fn revokes(&self, leaf_der: &[u8], serial: &str) -> bool {
        let issuers: Vec<PublicKey> = self
            .lists
            .iter()
            .filter(|l| l.serials.contains(serial))
            .filter_map(|l| PublicKey::new(algorithm_of(l.algorithm)?, l.key.clone()))
            .collect();
        if issuers.is_empty() {
            return false;
        }
        let Some((tbs, signature)) = signed_parts(leaf_der) else {
            return false;
        };
        issuers
            .iter()
            .any(|k| AwsLcVerifier.verify(k, &tbs, &signature))
    }
}

/// The to-be-signed bytes and the signature of a certificate.
fn signed_parts(der_bytes: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    use der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(der_bytes).ok()?;
    let tbs = cert.tbs_certificate().to_der().ok()?;
    let signature = cert.signature().as_bytes()?.to_vec();
    Some((tbs, signature))
}
