//! Attacks on home-bound trust (HOME-1..2, docs/threat-model.md): provider
//! A (home of +1) tries to vouch for Bob, whose number +44… is homed at
//! provider B, with its own CA, its own carrier, or B's keys pointing at
//! the wrong home. Each must fail; B's genuine credential passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crosslock_credential::*;

mod common;
use common::*;

const BOB: &str = "+447700900123";

/// One provider: its CA and its carrier.
struct Provider {
    name: &'static str,
    ca_key: P256Signer,
    ca: CertificateAuthority,
    carrier_id: &'static str,
    carrier: P256Signer,
}

impl Provider {
    fn new(name: &'static str, carrier_id: &'static str) -> Self {
        let ca_key = P256Signer::new();
        let ca =
            CertificateAuthority::new_root(name, NOW - DAY, NOW + 3650 * DAY, [1; 16], &ca_key)
                .unwrap();
        Provider {
            name,
            ca_key,
            ca,
            carrier_id,
            carrier: P256Signer::new(),
        }
    }

    fn home(&self) -> Home {
        Home {
            name: self.name.into(),
            anchors: TrustAnchors::new(vec![self.ca_key.public_key().clone()]),
            carriers: TrustedCarriers::new(vec![(
                self.carrier_id.into(),
                self.carrier.public_key().clone(),
            )]),
        }
    }

    /// A carrier proof by this provider's carrier naming `home_kds`.
    fn proof(&self, number: &str, key: &PublicKey, home_kds: &str) -> Vec<u8> {
        CarrierClaims {
            carrier_id: self.carrier_id.into(),
            number: PhoneNumber::parse(number).unwrap(),
            participant_keys: vec![key.as_bytes().to_vec()],
            home_kds: home_kds.into(),
            not_after: NOW + 30 * DAY,
        }
        .sign(&self.carrier)
        .unwrap()
    }

    /// A credential signed by this provider's CA carrying `proof`.
    fn issue(&self, number: &str, key: &PublicKey, proof: Vec<u8>) -> Vec<Vec<u8>> {
        let profile = ParticipantProfile {
            number: PhoneNumber::parse(number).unwrap(),
            device: Some("6f1e1b0a-41f2-4bb6-9c3c-6a9a55f3a001".into()),
            not_before: NOW - DAY,
            not_after: NOW + 75 * DAY,
            serial: [9; 16],
            carrier_proof: Some(proof),
            participant_info: None,
        };
        let leaf = self.ca.issue(&profile, key, &self.ca_key).unwrap();
        vec![leaf, self.ca.certificate().to_vec()]
    }
}

struct World {
    a: Provider,
    b: Provider,
    trust: TrustPolicy,
    device: P256Signer,
}

fn world() -> World {
    let a = Provider::new("kds.a", "carrier-a");
    let b = Provider::new("kds.b", "carrier-b");
    let mut plan = NumberingPlan::new();
    plan.add_all(["+1"], "kds.a").unwrap();
    plan.add_all(["+44"], "kds.b").unwrap();
    let trust = TrustPolicy::Homes(HomeTrust::new(plan, vec![a.home(), b.home()]).unwrap());
    World {
        a,
        b,
        trust,
        device: P256Signer::new(),
    }
}

fn assert_not_from_home(result: Result<ValidatedCredential, CredentialError>, why: &str) {
    match result {
        Err(CredentialError::NotFromHome { home, why: got }) => {
            assert_eq!(home, "kds.b");
            assert!(got.contains(why), "{got}");
        }
        other => panic!("expected NotFromHome ({why}), got {other:?}"),
    }
}

#[test]
fn the_homes_genuine_credential_passes() {
    let w = world();
    let key = w.device.public_key();
    let chain = w.b.issue(BOB, key, w.b.proof(BOB, key, "kds.b"));
    let v = w.trust.validate(&chain, NOW).unwrap();
    assert_eq!(v.number().as_str(), BOB);
}

#[test]
fn a_peer_cannot_certify_a_number_homed_elsewhere_with_its_own_ca_and_carrier() {
    let w = world();
    let key = w.device.public_key();
    // Provider A mints "Bob at B" with everything it has.
    for home_kds in ["kds.a", "kds.b"] {
        let chain = w.a.issue(BOB, key, w.a.proof(BOB, key, home_kds));
        assert_not_from_home(w.trust.validate(&chain, NOW), "home's CA");
    }
}

#[test]
fn a_peer_carrier_proof_does_not_count_for_a_number_homed_elsewhere() {
    let w = world();
    let key = w.device.public_key();
    // An insider at B's CA signs with a proof from A's carrier.
    let chain = w.b.issue(BOB, key, w.a.proof(BOB, key, "kds.b"));
    assert_not_from_home(w.trust.validate(&chain, NOW), "carrier of the home");
}

#[test]
fn a_carrier_proof_naming_another_home_kds_is_refused() {
    let w = world();
    let key = w.device.public_key();
    let chain = w.b.issue(BOB, key, w.b.proof(BOB, key, "kds.a"));
    assert_not_from_home(w.trust.validate(&chain, NOW), "another home KDS");
}

#[test]
fn a_number_without_a_home_is_never_trusted() {
    let w = world();
    let key = w.device.public_key();
    let orphan = "+33612345678";
    for p in [&w.a, &w.b] {
        let chain = p.issue(orphan, key, p.proof(orphan, key, p.name));
        assert_eq!(
            w.trust.validate(&chain, NOW).unwrap_err(),
            CredentialError::NoHome
        );
    }
}

#[test]
fn a_plan_naming_an_undescribed_provider_is_refused() {
    let w = world();
    let mut plan = NumberingPlan::new();
    plan.add_all(["+1"], "kds.a").unwrap();
    plan.add_all(["+33"], "kds.c").unwrap();
    let e = HomeTrust::new(plan.clone(), vec![w.a.home(), w.b.home()]).unwrap_err();
    assert!(matches!(e, PlanError::UndescribedHome { .. }), "{e}");
    let e = HomeTrust::new(plan, vec![w.a.home(), w.a.home()]).unwrap_err();
    assert!(matches!(e, PlanError::DuplicateHome(_)), "{e}");
}
