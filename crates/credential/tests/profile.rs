//! Issue credentials and check them against the trust policies, including
//! the forgeries an attacker would try.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crosslock_credential::*;

mod common;
use common::*;

struct EdSigner(ed25519_dalek::SigningKey, PublicKey);
impl EdSigner {
    fn new() -> Self {
        let sk = ed25519_dalek::SigningKey::from_bytes(&rand_bytes());
        let pk = PublicKey::new(
            KeyAlgorithm::Ed25519,
            sk.verifying_key().to_bytes().to_vec(),
        );
        EdSigner(sk, pk.unwrap())
    }
}
impl CertSigner for EdSigner {
    fn public_key(&self) -> &PublicKey {
        &self.1
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        use ed25519_dalek::Signer;
        Ok(self.0.sign(message).to_bytes().to_vec())
    }
}

struct FailingSigner(PublicKey);
impl CertSigner for FailingSigner {
    fn public_key(&self) -> &PublicKey {
        &self.0
    }
    fn sign(&self, _: &[u8]) -> Result<Vec<u8>, String> {
        Err("key store locked".into())
    }
}

fn profile(number: &str) -> ParticipantProfile {
    ParticipantProfile {
        number: PhoneNumber::parse(number).unwrap(),
        device: Some("6f1e1b0a-41f2-4bb6-9c3c-6a9a55f3a001".into()),
        not_before: NOW - DAY,
        not_after: NOW + 75 * DAY,
        serial: [7; 16],
        carrier_proof: None,
        participant_info: None,
    }
}

/// The carrier of every number in these tests.
struct Carrier(P256Signer);

impl Carrier {
    fn new() -> Self {
        Carrier(P256Signer::new())
    }
    fn trusted(&self) -> TrustedCarriers {
        TrustedCarriers::new(vec![("carrier-a".into(), self.0.public_key().clone())])
    }
    fn proof(&self, number: &str, keys: &[&PublicKey]) -> Vec<u8> {
        CarrierClaims {
            carrier_id: "carrier-a".into(),
            number: PhoneNumber::parse(number).unwrap(),
            participant_keys: keys.iter().map(|k| k.as_bytes().to_vec()).collect(),
            home_kds: "kds.a".into(),
            not_after: NOW + 30 * DAY,
        }
        .sign(&self.0)
        .unwrap()
    }
}

/// A profile whose credential carries a carrier proof for `key`.
fn proven(number: &str, key: &PublicKey, carrier: &Carrier) -> ParticipantProfile {
    ParticipantProfile {
        carrier_proof: Some(carrier.proof(number, &[key])),
        ..profile(number)
    }
}

fn production(ca_key: &PublicKey, carrier: &Carrier) -> TrustPolicy {
    TrustPolicy::Production {
        anchors: TrustAnchors::new(vec![ca_key.clone()]),
        carriers: carrier.trusted(),
    }
}

fn dev() -> TrustPolicy {
    TrustPolicy::Development {
        anchors: TrustAnchors::none(),
    }
}

fn root(signer: &dyn CertSigner) -> CertificateAuthority {
    CertificateAuthority::new_root(
        "Provider A root",
        NOW - DAY,
        NOW + 3650 * DAY,
        [1; 16],
        signer,
    )
    .unwrap()
}

#[test]
fn development_credential_round_trip_p256_and_ed25519() {
    for signer in [&P256Signer::new() as &dyn CertSigner, &EdSigner::new()] {
        let der = issue_development_credential(&profile("+15551230001"), signer).unwrap();
        let v = dev().validate(&[&der], NOW).unwrap();
        assert_eq!(v.number().as_str(), "+15551230001");
        assert_eq!(v.device(), Some("6f1e1b0a-41f2-4bb6-9c3c-6a9a55f3a001"));
        assert_eq!(v.key(), signer.public_key());
        assert!(v.is_development());
    }
}

#[test]
fn production_never_accepts_a_development_credential() {
    let signer = P256Signer::new();
    let der = issue_development_credential(&profile("+15551230001"), &signer).unwrap();
    // Even when the participant key itself is (wrongly) configured as an anchor.
    let policy = production(signer.public_key(), &Carrier::new());
    assert_eq!(
        policy.validate(&[&der], NOW),
        Err(CredentialError::DevelopmentCredentialRefused)
    );
}

#[test]
fn provider_issued_credential_validates_in_production() {
    let ca_key = P256Signer::new();
    let ca = root(&ca_key);
    let device = P256Signer::new();
    let carrier = Carrier::new();
    let leaf = ca
        .issue(
            &proven("+447700900123", device.public_key(), &carrier),
            device.public_key(),
            &ca_key,
        )
        .unwrap();
    let anchors = TrustAnchors::new(vec![ca_key.public_key().clone()]);
    let prod = production(ca_key.public_key(), &carrier);
    // With and without the root in the chain.
    for chain in [
        vec![leaf.clone()],
        vec![leaf.clone(), ca.certificate().to_vec()],
    ] {
        let v = prod.validate(&chain, NOW).unwrap();
        assert_eq!(v.number().as_str(), "+447700900123");
        assert_eq!(v.key(), device.public_key());
        assert!(!v.is_development());
    }
    // Development policy with the same anchors also accepts it.
    TrustPolicy::Development { anchors }
        .validate(&[&leaf], NOW)
        .unwrap();
}

#[test]
fn a_credential_from_another_ca_is_untrusted() {
    let ca_key = P256Signer::new();
    let rogue_key = P256Signer::new();
    let rogue = root(&rogue_key);
    let carrier = Carrier::new();
    let device = P256Signer::new();
    let leaf = rogue.issue(
        &proven("+15551230001", device.public_key(), &carrier),
        device.public_key(),
        &rogue_key,
    );
    let prod = production(ca_key.public_key(), &carrier);
    let leaf = leaf.unwrap();
    assert_eq!(
        prod.validate(&[&leaf], NOW),
        Err(CredentialError::UntrustedRoot)
    );
    // Appending the rogue root does not help.
    assert_eq!(
        prod.validate(&[leaf.clone(), rogue.certificate().to_vec()], NOW),
        Err(CredentialError::UntrustedRoot)
    );
    // Nor does a development policy: the leaf is not a development credential.
    assert_eq!(
        dev().validate(&[&leaf], NOW),
        Err(CredentialError::UntrustedRoot)
    );
}

#[test]
fn tampered_certificates_are_refused() {
    let ca_key = P256Signer::new();
    let ca = root(&ca_key);
    let carrier = Carrier::new();
    let device = P256Signer::new();
    let leaf = ca
        .issue(
            &proven("+15551230001", device.public_key(), &carrier),
            device.public_key(),
            &ca_key,
        )
        .unwrap();
    let prod = production(ca_key.public_key(), &carrier);
    let mut refused = 0;
    for i in 0..leaf.len() {
        let mut forged = leaf.clone();
        forged[i] ^= 0x01;
        match prod.validate(&[&forged], NOW) {
            Ok(v) => panic!("byte {i} flipped and still accepted as {:?}", v.number()),
            Err(_) => refused += 1,
        }
    }
    assert_eq!(refused, leaf.len());
}

#[test]
fn validity_window_is_enforced() {
    let signer = EdSigner::new();
    let der = issue_development_credential(&profile("+15551230001"), &signer).unwrap();
    assert_eq!(
        dev().validate(&[&der], NOW - 2 * DAY),
        Err(CredentialError::NotYetValid { index: 0 })
    );
    assert_eq!(
        dev().validate(&[&der], NOW + 76 * DAY),
        Err(CredentialError::Expired { index: 0 })
    );
}

#[test]
fn garbage_and_oversize_chains_are_refused() {
    assert_eq!(
        dev().validate(&[] as &[&[u8]], NOW),
        Err(CredentialError::ChainLength)
    );
    assert!(matches!(
        dev().validate(&[b"not a cert"], NOW),
        Err(CredentialError::Malformed { .. })
    ));
    let big = vec![0x30u8; MAX_CERT_LEN + 1];
    assert!(matches!(
        dev().validate(&[&big], NOW),
        Err(CredentialError::Malformed { .. })
    ));
    let signer = EdSigner::new();
    let der = issue_development_credential(&profile("+15551230001"), &signer).unwrap();
    let long = vec![der.clone(); MAX_CHAIN_LEN + 1];
    assert_eq!(
        dev().validate(&long, NOW),
        Err(CredentialError::ChainLength)
    );
}

#[test]
fn signer_failure_is_reported() {
    let key = P256Signer::new().public_key().clone();
    assert_eq!(
        issue_development_credential(&profile("+15551230001"), &FailingSigner(key)),
        Err(CredentialError::Signer("key store locked".into()))
    );
}

#[test]
fn public_key_verify_rejects_garbage() {
    let signer = P256Signer::new();
    let sig = signer.sign(b"hello").unwrap();
    assert!(signer.public_key().verify(b"hello", &sig));
    assert!(!signer.public_key().verify(b"hellO", &sig));
    assert!(!signer.public_key().verify(b"hello", &sig[..sig.len() - 1]));
    assert!(!signer.public_key().verify(b"hello", b""));
    assert!(PublicKey::new(KeyAlgorithm::EcdsaP256, vec![4; 64]).is_none());
    assert!(PublicKey::new(KeyAlgorithm::Ed25519, vec![0; 31]).is_none());
}

/// Right length and prefix is not enough: the bytes must be a point on the
/// curve (and, for Ed25519, not one of the small-order points any signature
/// could be forged for).
#[test]
fn public_keys_off_the_curve_are_refused() {
    let real = P256Signer::new().public_key().as_bytes().to_vec();
    assert!(PublicKey::new(KeyAlgorithm::EcdsaP256, real.clone()).is_some());
    let mut moved = real;
    moved[64] ^= 1;
    assert!(PublicKey::new(KeyAlgorithm::EcdsaP256, moved).is_none());
    assert!(PublicKey::new(KeyAlgorithm::EcdsaP256, vec![4; 65]).is_none());
    let mut zero = vec![0; 65];
    zero[0] = 4;
    assert!(PublicKey::new(KeyAlgorithm::EcdsaP256, zero).is_none());
    assert!(PublicKey::new(KeyAlgorithm::EcdsaP384, vec![4; 97]).is_none());
    // The Ed25519 identity point (order 1): any signature verifies for it.
    let mut identity = vec![0; 32];
    identity[0] = 1;
    assert!(PublicKey::new(KeyAlgorithm::Ed25519, identity).is_none());
    let ed = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
    assert!(PublicKey::new(KeyAlgorithm::Ed25519, ed.to_bytes().to_vec()).is_some());
}

#[test]
fn production_requires_a_genuine_carrier_proof_for_the_number_and_key() {
    let ca_key = P256Signer::new();
    let ca = root(&ca_key);
    let carrier = Carrier::new();
    let prod = production(ca_key.public_key(), &carrier);
    let device = P256Signer::new();
    let key = device.public_key();
    let issue = |p: &ParticipantProfile| ca.issue(p, key, &ca_key).unwrap();

    // No proof.
    let leaf = issue(&profile("+15551230001"));
    assert_eq!(
        prod.validate(&[&leaf], NOW),
        Err(CredentialError::CarrierProofMissing)
    );
    // A proof for another number.
    let other = ParticipantProfile {
        carrier_proof: Some(carrier.proof("+15559999999", &[key])),
        ..profile("+15551230001")
    };
    assert!(matches!(
        prod.validate(&[&issue(&other)], NOW),
        Err(CredentialError::CarrierProof(_))
    ));
    // A proof for another key.
    let stranger = P256Signer::new();
    let other = ParticipantProfile {
        carrier_proof: Some(carrier.proof("+15551230001", &[stranger.public_key()])),
        ..profile("+15551230001")
    };
    assert!(matches!(
        prod.validate(&[&issue(&other)], NOW),
        Err(CredentialError::CarrierProof(_))
    ));
    // A proof forged by someone who is not a trusted carrier.
    let forger = Carrier::new();
    let forged = proven("+15551230001", key, &forger);
    assert!(matches!(
        prod.validate(&[&issue(&forged)], NOW),
        Err(CredentialError::CarrierProof(_))
    ));
    // The genuine one.
    let good = issue(&proven("+15551230001", key, &carrier));
    assert_eq!(
        prod.validate(&[&good], NOW).unwrap().number().as_str(),
        "+15551230001"
    );
}

#[test]
fn carrier_proofs_refuse_tampering_expiry_and_garbage() {
    let carrier = Carrier::new();
    let key = P256Signer::new();
    let proof = carrier.proof("+15551230001", &[key.public_key()]);
    let trusted = carrier.trusted();
    let claims = trusted.verify(&proof, NOW, &RustCryptoVerifier).unwrap();
    assert_eq!(claims.number.as_str(), "+15551230001");
    assert!(claims.covers(key.public_key().as_bytes()));
    assert!(matches!(
        trusted.verify(&proof, NOW + 31 * DAY, &RustCryptoVerifier),
        Err(CredentialError::CarrierProof(_))
    ));
    for i in 0..proof.len() {
        let mut forged = proof.clone();
        forged[i] ^= 0x01;
        assert!(
            trusted.verify(&forged, NOW, &RustCryptoVerifier).is_err(),
            "byte {i} flipped and accepted"
        );
    }
    assert!(trusted.verify(b"", NOW, &RustCryptoVerifier).is_err());
    assert!(
        trusted
            .verify(&vec![0x30; MAX_PROOF_LEN + 1], NOW, &RustCryptoVerifier)
            .is_err()
    );
}

#[test]
fn certification_requests_prove_possession() {
    for signer in [&P256Signer::new() as &dyn CertSigner, &EdSigner::new()] {
        let csr = build_csr(signer).unwrap();
        assert_eq!(
            &verify_csr(&csr, &RustCryptoVerifier).unwrap(),
            signer.public_key()
        );
        for i in 0..csr.len() {
            let mut forged = csr.clone();
            forged[i] ^= 0x01;
            if let Ok(k) = verify_csr(&forged, &RustCryptoVerifier) {
                // A flip in a field that is not signed may still parse only if
                // it leaves the proven key intact and the signature valid.
                assert_eq!(&k, signer.public_key(), "byte {i}");
            }
        }
    }
}
