#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hostile-input catalogue, part 1: participant credentials.
//!
//! Each case builds one forged or unacceptable credential chain and checks
//! that validation refuses it with the named `CredentialError` variant.
//! Validation is pure (nothing is stored); each case also checks that the
//! genuine credential of the same fixture still validates, so the refusal
//! is caused by the forgery and not by the fixture.

use crosslock_credential::*;

const DAY: u64 = 86_400;
const NOW: u64 = 1_790_000_000;
const ALICE: &str = "+15551230001";

// ---------------------------------------------------------------- signers

// Test keys and serials from the OS (this crate sits below the environment).
#[allow(clippy::disallowed_methods)]
fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).unwrap();
    out
}

/// An ECDSA P-256 key held in memory.
struct EcKey {
    secret: p256::ecdsa::SigningKey,
    public: PublicKey,
}

impl EcKey {
    fn generate() -> EcKey {
        let secret = p256::ecdsa::SigningKey::from_slice(&random::<32>()).unwrap();
        let point = secret.verifying_key().to_sec1_point(false);
        let public = PublicKey::new(KeyAlgorithm::EcdsaP256, point.as_bytes().to_vec()).unwrap();
        EcKey { secret, public }
    }
}

impl CertSigner for EcKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        use p256::ecdsa::signature::Signer;
        let signature: p256::ecdsa::Signature = self.secret.sign(message);
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

// ---------------------------------------------------------------- fixture

/// A provider CA, the carrier vouching for its numbers, and one device.
struct World {
    ca_key: EcKey,
    ca: CertificateAuthority,
    carrier: EcKey,
    device: EcKey,
}

impl World {
    fn new() -> World {
        let ca_key = EcKey::generate();
        let ca = CertificateAuthority::new_root(
            "Provider root",
            NOW - DAY,
            NOW + 3650 * DAY,
            [1; 16],
            &ca_key,
        )
        .unwrap();
        World {
            ca_key,
            ca,
            carrier: EcKey::generate(),
            device: EcKey::generate(),
        }
    }

    fn production(&self) -> TrustPolicy {
        TrustPolicy::Production {
            anchors: TrustAnchors::new(vec![self.ca_key.public.clone()]),
            carriers: TrustedCarriers::new(vec![("carrier-a".into(), self.carrier.public.clone())]),
        }
    }

    fn proof_by(signer: &EcKey, number: &str, key: &PublicKey, not_after: u64) -> Vec<u8> {
        CarrierClaims {
            carrier_id: "carrier-a".into(),
            number: PhoneNumber::parse(number).unwrap(),
            participant_keys: vec![key.as_bytes().to_vec()],
            home_kds: "kds.a".into(),
            not_after,
        }
        .sign(signer)
        .unwrap()
    }

    fn profile(&self, number: &str, proof: Option<Vec<u8>>) -> ParticipantProfile {
        ParticipantProfile {
            number: PhoneNumber::parse(number).unwrap(),
            device: Some("6f1e1b0a-41f2-4bb6-9c3c-6a9a55f3a001".into()),
            not_before: NOW - DAY,
            not_after: NOW + 75 * DAY,
            serial: random(),
            carrier_proof: proof,
            participant_info: None,
        }
    }

    /// The genuine credential: provider-issued, with a carrier proof.
    fn genuine(&self) -> Vec<u8> {
        let proof = World::proof_by(&self.carrier, ALICE, &self.device.public, NOW + 30 * DAY);
        self.issue(&self.profile(ALICE, Some(proof)))
    }

    fn issue(&self, profile: &ParticipantProfile) -> Vec<u8> {
        self.ca
            .issue(profile, &self.device.public, &self.ca_key)
            .unwrap()
    }

    /// The genuine credential still validates (the fixture is sound).
    fn assert_genuine_accepted(&self) {
        let v = self.production().validate(&[self.genuine()], NOW).unwrap();
        assert_eq!(v.number().as_str(), ALICE);
    }
}

fn development() -> TrustPolicy {
    TrustPolicy::Development {
        anchors: TrustAnchors::none(),
    }
}

fn development_credential(key: &EcKey) -> Vec<u8> {
    let profile = ParticipantProfile {
        number: PhoneNumber::parse(ALICE).unwrap(),
        device: None,
        not_before: NOW - DAY,
        not_after: NOW + 75 * DAY,
        serial: random(),
        carrier_proof: None,
        participant_info: None,
    };
    issue_development_credential(&profile, key).unwrap()
}

fn position(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("pattern present")
}

/// Every occurrence of `from` replaced by `to` (same length).
fn replace_all(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut i = 0;
    let mut count = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            count += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(count > 0, "pattern not found");
    out
}

/// DER of the OID 1.2.840.10045.4.3.2 (ecdsa-with-SHA256).
const ECDSA_SHA256: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
/// DER of the OID 1.2.840.10045.4.3.1 (ecdsa-with-SHA224).
const ECDSA_SHA224: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x01];

/// One case: `validate` must fail with `pattern`; the genuine credential
/// of the same world must still pass.
macro_rules! case {
    ($(#[$doc:meta])* $name:ident, |$w:ident| $result:expr, $pattern:pat) => {
        $(#[$doc])*
        #[test]
        fn $name() {
            let $w = World::new();
            let result: Result<ValidatedCredential, CredentialError> = $result;
            assert!(
                matches!(result, Err($pattern)),
                "{}: expected {}, got {:?}",
                stringify!($name),
                stringify!($pattern),
                result.map(|v| v.number().clone())
            );
            $w.assert_genuine_accepted();
        }
    };
}

// ----------------------------------------------------------- carrier proof

case!(
    /// A carrier proof signed by a key that is not a trusted carrier.
    forged_carrier_proof,
    |w| {
        let forger = EcKey::generate();
        let proof = World::proof_by(&forger, ALICE, &w.device.public, NOW + 30 * DAY);
        w.production().validate(&[w.issue(&w.profile(ALICE, Some(proof)))], NOW)
    },
    CredentialError::CarrierProof(_)
);

case!(
    /// The carrier vouched for another number than the credential names.
    carrier_proof_for_another_number,
    |w| {
        let proof = World::proof_by(&w.carrier, "+15559999999", &w.device.public, NOW + 30 * DAY);
        w.production().validate(&[w.issue(&w.profile(ALICE, Some(proof)))], NOW)
    },
    CredentialError::CarrierProof(_)
);

case!(
    /// A genuine proof for another device's key, pasted into this credential.
    carrier_proof_for_another_key,
    |w| {
        let other = EcKey::generate();
        let proof = World::proof_by(&w.carrier, ALICE, &other.public, NOW + 30 * DAY);
        w.production().validate(&[w.issue(&w.profile(ALICE, Some(proof)))], NOW)
    },
    CredentialError::CarrierProof(_)
);

case!(
    /// A proof that had expired before the credential was issued.
    carrier_proof_expired,
    |w| {
        let proof = World::proof_by(&w.carrier, ALICE, &w.device.public, NOW - 2 * DAY);
        w.production().validate(&[w.issue(&w.profile(ALICE, Some(proof)))], NOW)
    },
    CredentialError::CarrierProof(_)
);

case!(
    /// Production credential without any carrier proof.
    carrier_proof_missing,
    |w| w.production().validate(&[w.issue(&w.profile(ALICE, None))], NOW),
    CredentialError::CarrierProofMissing
);

// ------------------------------------------------------------ issuer/chain

case!(
    /// Issued by a CA that is not a trust anchor (wrong issuer).
    wrong_issuer,
    |w| {
        let rogue_key = EcKey::generate();
        let rogue = CertificateAuthority::new_root("Provider root", NOW - DAY, NOW + 3650 * DAY, [1; 16], &rogue_key)
            .unwrap();
        let proof = World::proof_by(&w.carrier, ALICE, &w.device.public, NOW + 30 * DAY);
        let leaf = rogue
            .issue(&w.profile(ALICE, Some(proof)), &w.device.public, &rogue_key)
            .unwrap();
        w.production().validate(&[leaf, rogue.certificate().to_vec()], NOW)
    },
    CredentialError::UntrustedRoot
);

case!(
    /// A participant credential presented as the issuer of another: the
    /// device signs a second credential with its participant key.
    participant_credential_as_issuer,
    |w| {
        let mallory = EcKey::generate();
        let proof = World::proof_by(&w.carrier, "+15559999999", &mallory.public, NOW + 30 * DAY);
        let forged = w
            .ca
            .issue(&w.profile("+15559999999", Some(proof)), &mallory.public, &w.device)
            .unwrap();
        w.production().validate(&[forged, w.genuine()], NOW)
    },
    CredentialError::IssuerNotCa { index: 1 }
);

case!(
    /// The provider's CA certificate presented as a participant credential.
    ca_certificate_as_participant_credential,
    |w| w.production().validate(&[w.ca.certificate()], NOW),
    CredentialError::LeafIsCa
);

case!(
    /// The leaf's signature flipped, its issuer in the chain.
    tampered_signature,
    |w| {
        let mut leaf = w.genuine();
        let last = leaf.len() - 1;
        leaf[last] ^= 0x01;
        w.production().validate(&[leaf, w.ca.certificate().to_vec()], NOW)
    },
    CredentialError::BadSignature { index: 0 }
);

case!(
    /// No certificate at all.
    empty_chain,
    |w| w.production().validate(&[] as &[Vec<u8>], NOW),
    CredentialError::ChainLength
);

case!(
    /// More certificates than any real chain has.
    overlong_chain,
    |w| w.production().validate(&vec![w.genuine(); MAX_CHAIN_LEN + 1], NOW),
    CredentialError::ChainLength
);

// ---------------------------------------------------------------- validity

case!(
    /// Validated after its notAfter.
    expired_credential,
    |w| w.production().validate(&[w.genuine()], NOW + 80 * DAY),
    CredentialError::Expired { index: 0 }
);

case!(
    /// Validated before its notBefore.
    not_yet_valid_credential,
    |w| w.production().validate(&[w.genuine()], NOW - 2 * DAY),
    CredentialError::NotYetValid { index: 0 }
);

case!(
    /// A self-issued development credential offered to a production policy.
    development_credential_in_production,
    |w| w.production().validate(&[development_credential(&w.device)], NOW),
    CredentialError::DevelopmentCredentialRefused
);

// ---------------------------------------------------------------- profile

case!(
    /// KeyUsage rewritten from digitalSignature to keyEncipherment (the
    /// profile check runs before, and independently of, the signature).
    wrong_key_usage,
    |w| {
        let leaf = w.genuine();
        let ext = position(&leaf, &[0x06, 0x03, 0x55, 0x1d, 0x0f]);
        let bits = ext + position(&leaf[ext..], &[0x03, 0x02, 0x07, 0x80]);
        let mut forged = leaf.clone();
        forged[bits + 2..bits + 4].copy_from_slice(&[0x05, 0x20]);
        w.production().validate(&[forged], NOW)
    },
    CredentialError::KeyUsage { index: 0 }
);

case!(
    /// The RCS MLS client extended key usage replaced by another purpose.
    missing_rcs_extended_key_usage,
    |w| {
        let leaf = w.genuine();
        let eku = oid::RCS_MLS_CLIENT_EKU.as_bytes();
        let at = position(&leaf, eku) + eku.len() - 1;
        let mut forged = leaf.clone();
        forged[at] ^= 0x7f;
        w.production().validate(&[forged], NOW)
    },
    CredentialError::MissingExtendedKeyUsage
);

case!(
    /// ecdsa-with-SHA256 downgraded to ecdsa-with-SHA224 (in the TBS and
    /// the outer algorithm, so they agree) on a development credential.
    downgraded_signature_algorithm,
    |w| {
        let forged = replace_all(&development_credential(&w.device), &ECDSA_SHA256, &ECDSA_SHA224);
        development().validate(&[forged], NOW)
    },
    CredentialError::UnsupportedSignatureAlgorithm { index: 0 }
);

case!(
    /// Only the outer signature algorithm downgraded: it no longer matches
    /// the one the TBS commits to.
    signature_algorithm_mismatch,
    |w| {
        let leaf = w.genuine();
        let outer = leaf
            .windows(ECDSA_SHA256.len())
            .rposition(|x| x == ECDSA_SHA256)
            .unwrap();
        let mut forged = leaf.clone();
        forged[outer..outer + ECDSA_SHA224.len()].copy_from_slice(&ECDSA_SHA224);
        w.production().validate(&[forged, w.ca.certificate().to_vec()], NOW)
    },
    CredentialError::UnsupportedSignatureAlgorithm { index: 0 }
);

// -------------------------------------------------------------- encoding

case!(
    /// A certificate cut in half.
    truncated_certificate,
    |w| {
        let leaf = w.genuine();
        w.production().validate(&[&leaf[..leaf.len() / 2]], NOW)
    },
    CredentialError::Malformed { index: 0, .. }
);

case!(
    /// Bytes smuggled after the certificate's DER.
    trailing_bytes_after_certificate,
    |w| {
        let mut leaf = w.genuine();
        leaf.extend_from_slice(b"smuggled");
        w.production().validate(&[leaf], NOW)
    },
    CredentialError::Malformed { index: 0, .. }
);

case!(
    /// A SEQUENCE declaring 4 GiB of content.
    huge_declared_length,
    |w| w.production().validate(&[[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x00]], NOW),
    CredentialError::Malformed { index: 0, .. }
);

case!(
    /// One byte over the certificate size limit.
    oversize_certificate,
    |w| w.production().validate(&[vec![0x30; MAX_CERT_LEN + 1]], NOW),
    CredentialError::Malformed { index: 0, .. }
);
