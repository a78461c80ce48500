//! The carrier's proof: a signed statement by the number's carrier (its
//! auto-configuration server, ACS) that binds a phone number to the
//! participant keys of a device, for one home KDS, until an expiry
//! (GUIDE §4: RCC.16 credential extension .5).
//!
//! Encoding (DER):
//!
//! ```text
//! CarrierProof ::= SEQUENCE {
//!     tbs        CarrierProofTbs,
//!     algorithm  OBJECT IDENTIFIER,   -- ecdsa-with-SHA256 or id-Ed25519
//!     signature  OCTET STRING }       -- over the DER of tbs
//! CarrierProofTbs ::= SEQUENCE {
//!     version          INTEGER (1),
//!     carrierId        UTF8String,
//!     number           IA5String,            -- "tel:+15551234567"
//!     participantKeys  SEQUENCE OF OCTET STRING,   -- MLS encodings (SEC1 / raw Ed25519)
//!     homeKds          UTF8String,
//!     notAfter         INTEGER }             -- Unix seconds
//! ```

use der::asn1::{Ia5String, OctetString};
use der::{Decode, Encode, Sequence};

use crate::error::CredentialError;
use crate::issue::CertSigner;
use crate::key::{KeyAlgorithm, PublicKey, SignatureVerifier};
use crate::number::PhoneNumber;
use crate::oid;

/// Largest proof accepted (a proof for two keys is ~300 bytes).
pub const MAX_PROOF_LEN: usize = 4096;
/// Most participant keys one proof may name.
pub const MAX_PROOF_KEYS: usize = 4;

#[derive(Debug, Clone, Sequence)]
struct ProofTbs {
    version: u8,
    carrier_id: String,
    number: Ia5String,
    participant_keys: Vec<OctetString>,
    home_kds: String,
    not_after: u64,
}

#[derive(Debug, Clone, Sequence)]
struct ProofDer {
    tbs: ProofTbs,
    algorithm: const_oid::ObjectIdentifier,
    signature: OctetString,
}

/// What a carrier proof states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierClaims {
    /// Which carrier signed.
    pub carrier_id: String,
    /// The number.
    pub number: PhoneNumber,
    /// The device's participant keys (MLS encodings).
    pub participant_keys: Vec<Vec<u8>>,
    /// The KDS the number is homed at.
    pub home_kds: String,
    /// Unix seconds after which the proof is refused.
    pub not_after: u64,
}

fn malformed(reason: impl std::fmt::Display) -> CredentialError {
    CredentialError::CarrierProof(format!("malformed: {reason}"))
}

impl CarrierClaims {
    /// Signs the claims with the carrier's key (the ACS side).
    pub fn sign(&self, signer: &dyn CertSigner) -> Result<Vec<u8>, CredentialError> {
        let tbs = self.tbs()?;
        let message = tbs
            .to_der()
            .map_err(|e| CredentialError::Build(e.to_string()))?;
        let signature = signer.sign(&message).map_err(CredentialError::Signer)?;
        let algorithm = algorithm_oid(signer.public_key().algorithm());
        ProofDer {
            tbs,
            algorithm,
            signature: OctetString::new(signature)
                .map_err(|e| CredentialError::Build(e.to_string()))?,
        }
        .to_der()
        .map_err(|e| CredentialError::Build(e.to_string()))
    }

    fn tbs(&self) -> Result<ProofTbs, CredentialError> {
        let build = |e: der::Error| CredentialError::Build(e.to_string());
        Ok(ProofTbs {
            version: 1,
            carrier_id: self.carrier_id.clone(),
            number: Ia5String::new(&self.number.tel_uri()).map_err(build)?,
            participant_keys: self
                .participant_keys
                .iter()
                .map(|k| OctetString::new(k.clone()).map_err(build))
                .collect::<Result<_, _>>()?,
            home_kds: self.home_kds.clone(),
            not_after: self.not_after,
        })
    }

    /// Whether the proof names `key` among the participant keys.
    pub fn covers(&self, key: &[u8]) -> bool {
        self.participant_keys.iter().any(|k| k == key)
    }
}

fn algorithm_oid(algorithm: KeyAlgorithm) -> const_oid::ObjectIdentifier {
    match algorithm {
        KeyAlgorithm::EcdsaP256 => oid::ECDSA_WITH_SHA256,
        KeyAlgorithm::EcdsaP384 => oid::ECDSA_WITH_SHA384,
        KeyAlgorithm::Ed25519 => oid::ED25519,
    }
}

/// The carriers whose proofs are believed, each by its signing key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedCarriers(Vec<(String, PublicKey)>);

impl TrustedCarriers {
    /// Carriers from (carrier id, key) pairs.
    pub fn new(carriers: Vec<(String, PublicKey)>) -> Self {
        TrustedCarriers(carriers)
    }

    /// The carriers of both.
    pub fn merged(&self, other: &TrustedCarriers) -> TrustedCarriers {
        let mut all = self.0.clone();
        for c in &other.0 {
            if !all.contains(c) {
                all.push(c.clone());
            }
        }
        TrustedCarriers(all)
    }

    /// Whether no carrier is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Decodes and verifies a proof at `now` (CARRIER-1..5 in
    /// docs/validation-rules.md): strict DER, a known carrier, a signature
    /// by that carrier's key, a valid number, unexpired, 1–4 keys.
    pub fn verify(
        &self,
        proof: &[u8],
        now: u64,
        verifier: &dyn SignatureVerifier,
    ) -> Result<CarrierClaims, CredentialError> {
        if proof.len() > MAX_PROOF_LEN {
            return Err(malformed("too large"));
        }
        let decoded = ProofDer::from_der(proof).map_err(malformed)?;
        let tbs = &decoded.tbs;
        if tbs.version != 1 {
            return Err(malformed(format!("unsupported version {}", tbs.version)));
        }
        if tbs.participant_keys.is_empty() || tbs.participant_keys.len() > MAX_PROOF_KEYS {
            return Err(malformed("must name 1 to 4 participant keys"));
        }
        let (_, key) = self
            .0
            .iter()
            .find(|(id, _)| *id == tbs.carrier_id)
            .ok_or_else(|| {
                CredentialError::CarrierProof(format!("unknown carrier {:?}", tbs.carrier_id))
            })?;
        if decoded.algorithm != algorithm_oid(key.algorithm()) {
            return Err(CredentialError::CarrierProof(
                "signature algorithm does not match the carrier key".into(),
            ));
        }
        let message = tbs.to_der().map_err(malformed)?;
        if !verifier.verify(key, &message, decoded.signature.as_bytes()) {
            return Err(CredentialError::CarrierProof(
                "signature does not verify".into(),
            ));
        }
        if now > tbs.not_after {
            return Err(CredentialError::CarrierProof("expired".into()));
        }
        let number = PhoneNumber::parse(tbs.number.as_str())?;
        Ok(CarrierClaims {
            carrier_id: tbs.carrier_id.clone(),
            number,
            participant_keys: tbs
                .participant_keys
                .iter()
                .map(|k| k.as_bytes().to_vec())
                .collect(),
            home_kds: tbs.home_kds.clone(),
            not_after: tbs.not_after,
        })
    }
}
