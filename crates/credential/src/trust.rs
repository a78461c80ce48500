//! Trust policies: which chains a client accepts for a participant.

use crate::carrier::TrustedCarriers;
use crate::cert::ParsedCertificate;
use crate::error::CredentialError;
use crate::key::{PublicKey, RustCryptoVerifier, SignatureVerifier};
use crate::participant::{ValidatedCredential, check_leaf_profile};
use crate::plan::{NumberingPlan, PlanError};

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
    /// Whether there is no anchor.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn contains(&self, key: &PublicKey) -> bool {
        self.0.contains(key)
    }
    fn iter(&self) -> impl Iterator<Item = &PublicKey> {
        self.0.iter()
    }
}

/// What one home provider may vouch for: its credential roots and the
/// carriers authoritative for its numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// The provider's name: what carrier proofs name as `home_kds`, and its
    /// transparency directory.
    pub name: String,
    /// Its credential CA roots.
    pub anchors: TrustAnchors,
    /// The carriers whose proofs count for its numbers.
    pub carriers: TrustedCarriers,
}

/// Trust bound to each number's home (HOME-1..3 in
/// docs/validation-rules.md): a credential for a number is genuine only if
/// it chains to the home's roots and carries a proof by one of the home's
/// carriers naming the home. One provider's CA or carrier can never vouch
/// for another provider's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeTrust {
    plan: NumberingPlan,
    homes: Vec<Home>,
}

impl HomeTrust {
    /// The plan and what each of its providers may vouch for. Every
    /// provider the plan names must be described, once.
    pub fn new(plan: NumberingPlan, homes: Vec<Home>) -> Result<Self, PlanError> {
        for (i, home) in homes.iter().enumerate() {
            if homes[..i].iter().any(|h| h.name == home.name) {
                return Err(PlanError::DuplicateHome(home.name.clone()));
            }
        }
        for (prefix, name) in plan.routes() {
            if !homes.iter().any(|h| h.name == name) {
                return Err(PlanError::UndescribedHome {
                    prefix: prefix.as_str().to_owned(),
                    home: name.to_owned(),
                });
            }
        }
        Ok(HomeTrust { plan, homes })
    }

    /// Trust in the homes of both. A prefix both name keeps this one's
    /// home (configurations refuse such conflicts before they get here);
    /// a provider both describe keeps this one's description.
    pub fn merged(&self, other: &HomeTrust) -> HomeTrust {
        let mut plan = self.plan.clone();
        for (prefix, home) in other.plan.routes() {
            // A conflicting prefix is dropped: the first home stands.
            let _ = plan.add(prefix.clone(), home);
        }
        let mut homes = self.homes.clone();
        for home in &other.homes {
            if !homes.iter().any(|h| h.name == home.name) {
                homes.push(home.clone());
            }
        }
        HomeTrust { plan, homes }
    }

    /// The numbering plan.
    pub fn plan(&self) -> &NumberingPlan {
        &self.plan
    }

    /// The providers.
    pub fn homes(&self) -> &[Home] {
        &self.homes
    }

    /// HOME-1: the number's home, or [`CredentialError::NoHome`].
    pub fn home_of(&self, number: &crate::PhoneNumber) -> Result<&Home, CredentialError> {
        let name = self.plan.home_of(number).ok_or(CredentialError::NoHome)?;
        self.homes
            .iter()
            .find(|h| h.name == name)
            .ok_or(CredentialError::NoHome)
    }
}

/// How a client decides whether a participant credential is genuine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustPolicy {
    /// Trust bound to each number's home provider: what devices and
    /// providers use once more than one provider is involved.
    Homes(HomeTrust),
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
    /// A policy accepting what either accepts, without binding numbers to
    /// homes: any merged root may certify any number. Development stays
    /// development only if both are. Two [`TrustPolicy::Homes`] merge into
    /// the homes of both; merged with another kind, a `Homes` policy stays
    /// as it is (a root without a home must not widen it).
    pub fn merged(&self, other: &TrustPolicy) -> TrustPolicy {
        use TrustPolicy::*;
        match (self, other) {
            (Homes(a), Homes(b)) => Homes(a.merged(b)),
            (Homes(h), _) | (_, Homes(h)) => Homes(h.clone()),
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
        // CRED-LEN-1: 1-4 certificates.
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
            TrustPolicy::Homes(trust) => {
                if credential.is_development() {
                    return Err(CredentialError::DevelopmentCredentialRefused);
                }
                // HOME-2: the home's roots, the home's carriers, the home's
                // name in the proof.
                let home = trust.home_of(credential.number())?;
                let not_home = |why: &str| CredentialError::NotFromHome {
                    home: home.name.clone(),
                    why: why.to_owned(),
                };
                match verify_chain_to_anchor(&certs, &home.anchors, verifier) {
                    Ok(()) => {}
                    Err(CredentialError::UntrustedRoot) => {
                        return Err(not_home("it does not chain to the home's CA"));
                    }
                    Err(e) => return Err(e),
                }
                let claims = match check_carrier_proof(leaf, &credential, &home.carriers, verifier)
                {
                    Ok(claims) => claims,
                    Err(CredentialError::CarrierProof(why))
                        if why.starts_with("unknown carrier") =>
                    {
                        return Err(not_home(
                            "its carrier proof is not by a carrier of the home",
                        ));
                    }
                    Err(e) => return Err(e),
                };
                if claims.home_kds != home.name {
                    return Err(not_home("its carrier proof names another home KDS"));
                }
                return Ok(credential);
            }
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
) -> Result<crate::CarrierClaims, CredentialError> {
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
    Ok(claims)
}

/// Walks the chain upwards, checking each signature, until an anchor key
/// has signed (or is) the current certificate.
fn verify_chain_to_anchor(
    certs: &[ParsedCertificate],
    anchors: &TrustAnchors,
    verifier: &dyn SignatureVerifier,
) -> Result<(), CredentialError> {
    for (i, cert) in certs.iter().enumerate() {
        // CRED-CA-1: every issuer is a CA; CRED-KU-1: one that may sign certificates.
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
            // CRED-SIG-1: every signature verifies, issuer -> subject.
            Some(issuer) => cert.verify_signed_by(&issuer.key, verifier)?,
            None => {
                // CRED-TRUST-1: the chain ends at a configured root (matched by key).
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
