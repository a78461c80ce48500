//! Android Key Attestation at enrolment, through the SDK against a real
//! provider in-process that requires attestation and trusts a test
//! attestation root (`crosslock_attest::testing`) instead of Google's.
//! The phone's platform key store generates the P-256 participant key
//! after the KDS's nonce, with its challenge, and hands back the chain
//! (KDS-ENR-5, ENR-KEY-1..3).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use crosslock_attest::testing::TestAttestationRoot;
use crosslock_client::credential::{KeyAlgorithm, PublicKey};
use crosslock_client::env::Environment;
use crosslock_client::keystore::{AttestedKey, KeyStore, KeyStoreError, SoftwareKeyStore};
use crosslock_client::store::MemoryStore;
use crosslock_client::wire::api::kds::{Assurance, AttestationBody};
use crosslock_client::{ClientError, DeviceProfile};
use crosslock_provider::{Provider, ProviderConfig};
use crosslock_sdk::{Attester, Event, Messenger, Options, SdkError, Setup};

const ALICE: &str = "+15550100001";
const BOB: &str = "+15550100002";

/// What the phone's key store answers when asked for an attested key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A chain for the key it made, with the challenge it was asked for.
    Honest,
    /// A chain with the challenge of another enrolment's nonce.
    OtherNonce,
    /// A chain for another key than the one it made and reports.
    OtherKey,
    /// A chain under a root the provider does not trust.
    UntrustedRoot,
    /// It cannot attest (a store without Key Attestation).
    CannotAttest,
}

/// An Android phone's platform key store, in Rust: P-256 keys only (what
/// Android Keystore holds; Ed25519 goes to the SDK's database), attested
/// under `root` with the challenge they are generated with.
#[derive(Debug)]
struct AndroidKeys {
    keys: SoftwareKeyStore,
    root: Arc<Root>,
    untrusted: Root,
    answer: Mutex<Answer>,
    /// Every attested key it made, by alias.
    attested: Mutex<Vec<(String, PublicKey)>>,
}

struct Root(TestAttestationRoot);

impl std::fmt::Debug for Root {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Root")
    }
}

fn root() -> Root {
    let env = Environment::system();
    Root(TestAttestationRoot::new(env.random(), env.now()).unwrap())
}

impl AndroidKeys {
    fn new(root: &Arc<Root>, answer: Answer) -> Arc<AndroidKeys> {
        Arc::new(AndroidKeys {
            keys: SoftwareKeyStore::new(Arc::new(MemoryStore::new())),
            root: root.clone(),
            untrusted: self::root(),
            answer: Mutex::new(answer),
            attested: Mutex::default(),
        })
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn attested(&self) -> Vec<(String, PublicKey)> {
        self.attested.lock().unwrap().clone()
    }
}

impl KeyStore for AndroidKeys {
    fn generate(&self, alias: &str, algorithm: KeyAlgorithm) -> Result<PublicKey, KeyStoreError> {
        if algorithm != KeyAlgorithm::EcdsaP256 {
            return Err(KeyStoreError::Unsupported(algorithm));
        }
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
        self.attested
            .lock()
            .unwrap()
            .push((alias.to_owned(), public.clone()));
        let chain = match answer {
            Answer::Honest => self.root.0.attest(public.as_bytes(), challenge),
            Answer::OtherNonce => self.root.0.attest(
                public.as_bytes(),
                &crosslock_attest::android_enrollment_challenge(&[0x42; 32]),
            ),
            Answer::OtherKey => {
                let other = SoftwareKeyStore::new(Arc::new(MemoryStore::new()))
                    .generate("other", KeyAlgorithm::EcdsaP256)?;
                self.root.0.attest(other.as_bytes(), challenge)
            }
            Answer::UntrustedRoot => self.untrusted.0.attest(public.as_bytes(), challenge),
            Answer::CannotAttest => unreachable!(),
        };
        Ok(Some(AttestedKey {
            public,
            chain: chain.unwrap(),
        }))
    }
}

/// An attester that counts how often it is asked (App Attest's slot).
#[derive(Default)]
struct CountingAttester(Mutex<usize>);

impl Attester for CountingAttester {
    fn attest(&self, _nonce: &[u8]) -> Result<Option<AttestationBody>, String> {
        *self.0.lock().unwrap() += 1;
        Ok(None)
    }
}

/// A provider that requires attestation and trusts `root` for Android.
async fn provider(dir: &Path, root: &Root) -> Provider {
    let roots = dir.join("roots.json");
    std::fs::write(&roots, root.0.roots_json()).unwrap();
    let mut config = ProviderConfig::default();
    config.provider.name = "a.example".into();
    config.provider.prefixes = vec!["+1".into()];
    config.provider.listen = ([127, 0, 0, 1], 0).into();
    config.provider.admin_listen = ([127, 0, 0, 1], 0).into();
    config.provider.federation_listen = ([127, 0, 0, 1], 0).into();
    config.transparency.epoch_interval_secs = 1;
    config.attestation.required = true;
    config.attestation.android_roots = Some(roots);
    Provider::start(config, &dir.join("provider"), Environment::system())
        .await
        .unwrap()
}

/// An Android phone, not enrolled, its P-256 key in `keys`.
async fn android(
    dir: &Path,
    name: &str,
    number: &str,
    provider: &Provider,
    keys: &Arc<AndroidKeys>,
) -> Messenger {
    let setup = Setup {
        number: number.into(),
        profile: DeviceProfile::Android,
        server: provider.public_url(),
        tls_ca_pem: std::fs::read_to_string(provider.tls_ca_path()).unwrap(),
    };
    let options = Options {
        platform_keys: Some(keys.clone() as Arc<dyn KeyStore>),
        ..Options::default()
    };
    Messenger::create(&dir.join(name), setup, options)
        .await
        .unwrap()
}

fn p256(m: &Messenger) -> PublicKey {
    m.device().participant_keys().unwrap()[0].clone()
}

/// What must hold of a phone whose enrolment was refused: no token, and
/// its participant keys as `keys`.
fn not_enrolled(m: &Messenger, keys: &[PublicKey]) {
    assert!(!m.is_enrolled());
    assert!(m.settings().token.is_none());
    assert_eq!(m.device().participant_keys().unwrap(), keys);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_android_phone_enrols_with_its_key_attested_after_the_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let root = Arc::new(root());
    let provider = provider(dir.path(), &root).await;
    let keys = AndroidKeys::new(&root, Answer::Honest);
    let mut alice = android(dir.path(), "alice", ALICE, &provider, &keys).await;
    let created = p256(&alice);
    let attester = CountingAttester::default();

    let enrolled = alice
        .enroll("any-subscriber", 5, Some(&attester), false)
        .await
        .unwrap();
    assert_eq!(enrolled.assurance, Assurance::HardwareVerified);
    assert!(enrolled.reachable());
    // The participant key is the one made with the nonce's challenge; the
    // key made at `create` is gone from the platform store.
    let attested = keys.attested();
    assert_eq!(attested.len(), 1);
    assert_eq!(p256(&alice), attested[0].1);
    assert_ne!(p256(&alice), created);
    assert_eq!(
        keys.keys
            .public_key(&format!("crosslock/{}/p256", alice.device_id()))
            .map_err(|e| matches!(e, KeyStoreError::NotFound(_))),
        Err(true)
    );
    // The key store's attestation was enough: App Attest's slot was not asked.
    assert_eq!(*attester.0.lock().unwrap(), 0);

    // The credential for the attested key works: a chat with another phone.
    let bob_keys = AndroidKeys::new(&root, Answer::Honest);
    let mut bob = android(dir.path(), "bob", BOB, &provider, &bob_keys).await;
    bob.enroll("any-subscriber", 5, None, false).await.unwrap();
    let chat = alice.open_chat(BOB).await.unwrap().conversation;
    alice.send_text(&chat, "attested hello").await.unwrap();
    let mut seen = false;
    for _ in 0..20 {
        if bob
            .sync(1)
            .await
            .unwrap()
            .iter()
            .any(|e| matches!(e, Event::Text { text, .. } if text == "attested hello"))
        {
            seen = true;
            break;
        }
    }
    assert!(seen, "Bob reads Alice's message");
}

/// A chain the key store made for another nonce, or for another key than
/// the one it reports, is refused on the phone (ENR-KEY-2) before the KDS
/// sees it: the device keeps its key, is not enrolled, and enrols once the
/// store answers right. A chain under a root the KDS does not trust is
/// refused by the KDS (KDS-ENR-5); the device is not enrolled and enrols
/// on the next try. A store that cannot attest offers nothing, and this
/// provider requires an attestation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_attestation_enrols_nothing_and_the_phone_can_try_again() {
    let dir = tempfile::tempdir().unwrap();
    let root = Arc::new(root());
    let provider = provider(dir.path(), &root).await;
    let keys = AndroidKeys::new(&root, Answer::OtherNonce);
    let mut alice = android(dir.path(), "alice", ALICE, &provider, &keys).await;
    let created = alice.device().participant_keys().unwrap();

    for (answer, expect) in [
        (Answer::OtherNonce, "another challenge"),
        (Answer::OtherKey, "another key"),
    ] {
        keys.answer(answer);
        match alice.enroll("any-subscriber", 5, None, false).await {
            Err(SdkError::Client(ClientError::KeyStore(KeyStoreError::Attestation(why)))) => {
                assert!(why.contains(expect), "{answer:?}: {why}");
            }
            other => panic!("{answer:?}: expected a refused attestation, got {other:?}"),
        }
        not_enrolled(&alice, &created);
        // The attested key was deleted, not left in the platform store.
        let (alias, _) = keys.attested().last().unwrap().clone();
        assert!(matches!(
            keys.keys.public_key(&alias),
            Err(KeyStoreError::NotFound(_))
        ));
    }

    // The KDS does not trust the root: refused there.
    keys.answer(Answer::UntrustedRoot);
    match alice.enroll("any-subscriber", 5, None, false).await {
        Err(e @ SdkError::Server { .. }) => {
            assert_eq!(e.server_code(), Some("attestation-refused"), "{e}");
        }
        other => panic!("expected the KDS to refuse, got {other:?}"),
    }
    // Not enrolled; the P-256 key is the one made for that attempt (the
    // key from `create` was replaced, as any enrolment attempt does).
    let refused_key = keys.attested().last().unwrap().1.clone();
    not_enrolled(&alice, &[refused_key.clone(), created[1].clone()]);

    // A store that cannot attest: nothing to offer, and attestation is required.
    keys.answer(Answer::CannotAttest);
    match alice.enroll("any-subscriber", 5, None, false).await {
        Err(e @ SdkError::Server { .. }) => {
            assert_eq!(e.server_code(), Some("attestation-required"), "{e}");
        }
        other => panic!("expected the KDS to require an attestation, got {other:?}"),
    }
    not_enrolled(&alice, &[refused_key, created[1].clone()]);

    // Fixed: the same device enrols, with a key attested for this nonce.
    keys.answer(Answer::Honest);
    let enrolled = alice
        .enroll("any-subscriber", 5, None, false)
        .await
        .unwrap();
    assert_eq!(enrolled.assurance, Assurance::HardwareVerified);
    assert_eq!(p256(&alice), keys.attested().last().unwrap().1);
    assert!(alice.is_enrolled());
    // Enrolled, the key is never replaced again.
    assert!(matches!(
        alice
            .device_mut()
            .replace_participant_key_attested(&[0; 32]),
        Err(ClientError::EnrolmentStarted { .. })
    ));
}
