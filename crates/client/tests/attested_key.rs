//! Replacing the P-256 participant key with one the key store generates
//! with an attestation challenge (Android Key Attestation fixes the
//! challenge at generation, so the key is made after the KDS's nonce):
//! ENR-KEY-1..3 in docs/validation-rules.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use crosslock_attest::testing::TestAttestationRoot;
use crosslock_client::credential::{
    AwsLcVerifier, KeyAlgorithm, PublicKey, UnverifiedCredential, verify_csr,
};
use crosslock_client::keystore::{AttestedKey, KeyStore, KeyStoreError, SoftwareKeyStore};
use crosslock_client::store::{MemoryStore, StateStore};
use crosslock_client::*;

/// How the test key store answers `generate_attested`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A chain for the key it made, with the challenge asked for.
    Honest,
    /// It cannot attest (a software store, the Secure Enclave).
    CannotAttest,
    /// The chain carries another challenge.
    OtherChallenge,
    /// The chain certifies another key than the one it reports.
    OtherKey,
    /// The "chain" is no attestation.
    Garbage,
    /// The platform fails after making the key (StrongBox busy, …).
    Fails,
}

/// A platform key store in Rust: P-256 keys in the device's store (so a
/// snapshot of the store sees them), attested under a test root.
#[derive(Debug)]
struct AttestingKeyStore {
    keys: SoftwareKeyStore,
    root: Arc<TestAttestationRootDebug>,
    answer: Mutex<Answer>,
    /// Aliases `generate_attested` made a key under.
    attested: Mutex<Vec<String>>,
}

#[derive(Debug)]
struct TestAttestationRootDebug(TestAttestationRoot);

impl AttestingKeyStore {
    fn new(store: Arc<dyn StateStore>, answer: Answer) -> Arc<Self> {
        Arc::new(AttestingKeyStore {
            keys: SoftwareKeyStore::new(store),
            root: Arc::new(TestAttestationRootDebug(
                TestAttestationRoot::new([5; 32], T0).unwrap(),
            )),
            answer: Mutex::new(answer),
            attested: Mutex::default(),
        })
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn last_attested(&self) -> String {
        self.attested.lock().unwrap().last().unwrap().clone()
    }
}

impl KeyStore for AttestingKeyStore {
    fn generate(&self, alias: &str, algorithm: KeyAlgorithm) -> Result<PublicKey, KeyStoreError> {
        self.keys.generate(alias, algorithm)
    }
    fn public_key(&self, alias: &str) -> Result<PublicKey, KeyStoreError> {
        self.keys.public_key(alias)
    }
    fn sign(&self, alias: &str, message: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        self.keys.sign(alias, message)
    }
    fn delete(&self, alias: &str) -> Result<(), KeyStoreError> {
        self.keys.delete(alias)
    }
    fn generate_attested(
        &self,
        alias: &str,
        challenge: &[u8],
    ) -> Result<Option<AttestedKey>, KeyStoreError> {
        let answer = *self.answer.lock().unwrap();
        if answer == Answer::CannotAttest {
            return Ok(None);
        }
        let public = self.keys.generate(alias, KeyAlgorithm::EcdsaP256)?;
        self.attested.lock().unwrap().push(alias.to_owned());
        let root = &self.root.0;
        let chain = match answer {
            Answer::Honest => root.attest(public.as_bytes(), challenge).unwrap(),
            Answer::OtherChallenge => root.attest(public.as_bytes(), &[0; 32]).unwrap(),
            Answer::OtherKey => {
                let other = self
                    .keys
                    .generate(&format!("other:{alias}"), KeyAlgorithm::EcdsaP256)?;
                root.attest(other.as_bytes(), challenge).unwrap()
            }
            Answer::Garbage => vec![b"not a certificate".to_vec(); 2],
            Answer::Fails => {
                return Err(KeyStoreError::Backend("StrongBox is busy".into()));
            }
            Answer::CannotAttest => unreachable!(),
        };
        Ok(Some(AttestedKey { public, chain }))
    }
}

/// An Android device whose key store attests, in its own memory store.
fn attesting_phone(
    net: &Net,
    answer: Answer,
) -> (Device, Arc<AttestingKeyStore>, Arc<dyn StateStore>) {
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let keys = AttestingKeyStore::new(store.clone(), answer);
    let device = Device::create(
        store.clone(),
        keys.clone(),
        NewDevice {
            number: number("+15550100001"),
            profile: DeviceProfile::Android,
        },
        dev_config(),
        net.env(),
    )
    .unwrap();
    (device, keys, store)
}

/// The P-256 key a CSR of the device carries (its self-signature checked).
fn csr_key(device: &Device) -> PublicKey {
    let csr = &device.certificate_requests().unwrap()[0];
    verify_csr(csr, &AwsLcVerifier).unwrap()
}

#[test]
fn an_attested_key_replaces_the_participant_key_before_enrolment() {
    let net = Net::new();
    let (mut device, keys, store) = attesting_phone(&net, Answer::Honest);
    let before = device.participant_keys().unwrap();
    let nonce = [9u8; 32];
    let challenge = Device::android_attestation_challenge(&nonce);
    let chain = device
        .replace_participant_key_attested(&challenge)
        .unwrap()
        .expect("the store attests");

    // The new P-256 key is the attested one, the Ed25519 key is unchanged.
    let after = device.participant_keys().unwrap();
    assert_ne!(after[0], before[0]);
    assert_eq!(after[1], before[1]);
    let parsed = crosslock_attest::UnverifiedAndroidAttestation::from_der_chain(&chain).unwrap();
    assert_eq!(
        PublicKey::from_spki_der(&parsed.claimed_public_key().unwrap()).unwrap(),
        after[0]
    );
    assert_eq!(parsed.key_description().attestation_challenge, challenge);
    // The CSR, the development credential and the key store agree on it.
    assert_eq!(csr_key(&device), after[0]);
    let credential = device.credential_chain(crosslock_client::suite::Suite::P256Aes128);
    let leaf = UnverifiedCredential::parse(&credential[0]).unwrap();
    assert_eq!(leaf.key(), &after[0]);
    assert!(leaf.is_development());
    assert_eq!(keys.public_key(&keys.last_attested()).unwrap(), after[0]);
    // The device still works with it (a KeyPackage signs with the new key),
    // and reopens with it.
    drop(device);
    let mut reopened = Device::open(store, keys.clone(), dev_config(), net.env()).unwrap();
    assert_eq!(reopened.participant_keys().unwrap(), after);
    reopened.generate_key_packages(1).unwrap();
    // Once it holds KeyPackages, it cannot replace the key again.
    assert!(matches!(
        reopened.replace_participant_key_attested(&challenge),
        Err(ClientError::EnrolmentStarted { .. })
    ));
}

#[test]
fn the_old_key_is_deleted_once_replaced() {
    let net = Net::new();
    let (mut device, keys, _) = attesting_phone(&net, Answer::Honest);
    let old = device.participant_keys().unwrap()[0].clone();
    device
        .replace_participant_key_attested(&[1; 32])
        .unwrap()
        .unwrap();
    let first = keys.last_attested();
    // Again (a second enrolment attempt): the first attested key goes too.
    device
        .replace_participant_key_attested(&[2; 32])
        .unwrap()
        .unwrap();
    assert!(matches!(
        keys.public_key(&first),
        Err(KeyStoreError::NotFound(_))
    ));
    assert_ne!(device.participant_keys().unwrap()[0], old);
}

/// ENR-KEY-2, ENR-KEY-3: an answer that does not check, or a failure,
/// leaves the device exactly as it was (the store byte for byte: record,
/// old key, and no new key left behind), and the device can try again.
#[test]
fn a_bad_or_failed_attested_generation_changes_nothing() {
    let net = Net::new();
    for (answer, expect) in [
        (Answer::OtherChallenge, "another challenge"),
        (Answer::OtherKey, "another key"),
        (Answer::Garbage, "not an Android Key Attestation chain"),
        (Answer::Fails, "StrongBox is busy"),
    ] {
        let (mut device, keys, store) = attesting_phone(&net, answer);
        let keys_before = device.participant_keys().unwrap();
        let before = snapshot(store.as_ref());
        let err = device
            .replace_participant_key_attested(&[7; 32])
            .unwrap_err();
        let message = err.to_string();
        match (answer, &err) {
            (Answer::Fails, ClientError::KeyStore(KeyStoreError::Backend(_))) => {}
            (_, ClientError::KeyStore(KeyStoreError::Attestation(_))) => {}
            other => panic!("{answer:?}: unexpected {other:?}"),
        }
        assert!(message.contains(expect), "{answer:?}: {message}");
        assert_eq!(
            device.participant_keys().unwrap(),
            keys_before,
            "{answer:?}"
        );
        if answer != Answer::Fails {
            assert!(matches!(
                keys.public_key(&keys.last_attested()),
                Err(KeyStoreError::NotFound(_))
            ));
        }
        // The other key of `OtherKey` is the test store's own business.
        let after: Vec<_> = snapshot(store.as_ref())
            .into_iter()
            .filter(|(_, k, _)| !k.starts_with(b"other:"))
            .collect();
        assert_eq!(after, before, "{answer:?}: the store is unchanged");
        assert_eq!(csr_key(&device), keys_before[0]);
        // Fixed, the same device gets its attested key.
        keys.answer(Answer::Honest);
        device
            .replace_participant_key_attested(&[7; 32])
            .unwrap()
            .unwrap();
        assert_ne!(device.participant_keys().unwrap()[0], keys_before[0]);
    }
}

#[test]
fn a_store_that_cannot_attest_changes_nothing() {
    let net = Net::new();
    let (mut device, _, store) = attesting_phone(&net, Answer::CannotAttest);
    let before = snapshot(store.as_ref());
    assert_eq!(
        device.replace_participant_key_attested(&[3; 32]).unwrap(),
        None
    );
    assert_eq!(snapshot(store.as_ref()), before);
    // Nor does the software key store attest.
    let mut plain = net.phone("+15550100002", DeviceProfile::Android);
    let keys = plain.participant_keys().unwrap();
    assert_eq!(
        plain.replace_participant_key_attested(&[3; 32]).unwrap(),
        None
    );
    assert_eq!(plain.participant_keys().unwrap(), keys);
}

/// ENR-KEY-1: a device in a conversation keeps its key: the members know it.
#[test]
fn a_device_in_a_conversation_cannot_replace_its_key() {
    let net = Net::new();
    let (mut alice, _, store) = attesting_phone(&net, Answer::Honest);
    let mut bob = net.phone("+15550100002", DeviceProfile::Android);
    let claimed = claim("+15550100002", &mut [&mut bob]);
    let created = alice
        .create_conversation(NewConversation::OneToOne, &[claimed])
        .unwrap();
    alice.commit_accepted(&created).unwrap();
    let before = snapshot(store.as_ref());
    match alice.replace_participant_key_attested(&[4; 32]) {
        Err(ClientError::EnrolmentStarted { why }) => assert!(why.contains("conversation")),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(snapshot(store.as_ref()), before);
}
