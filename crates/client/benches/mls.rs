//! Crosslock's client core against raw mls-rs, per suite, in memory and on
//! SQLite: encrypt+decrypt of a 100-byte message, adding 100 and 1000
//! members in one commit, removing one member from a 1000-member group.
//!
//! The raw baseline does what any careful app must: it persists the group
//! after every operation (otherwise a crash reuses ratchet keys). Both sides
//! use the same crypto provider, the same commit options (path on every
//! commit) and the same padding, so the difference is Crosslock's own work:
//! RCC.16 framing (CPIM, authenticated data), MIMI content, credential
//! validation, the replay ledger, the inbox and atomic batches.
//!
//! Run: `cargo bench -p crosslock-client` (`-- --quick` for a short run).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::{Arc, Mutex};

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use crosslock_client::credential::{PhoneNumber, TrustAnchors, TrustPolicy};
use crosslock_client::env::Environment;
use crosslock_client::keystore::SoftwareKeyStore;
use crosslock_client::store::{DatabaseKey, MemoryStore, SqliteStore, StateStore};
use crosslock_client::suite::Suite;
use crosslock_client::*;
use crosslock_mls_crypto::CrosslockCrypto;
use mls_rs::client_builder::{MlsConfig, PaddingMode};
use mls_rs::crypto::SignatureSecretKey;
use mls_rs::group::Group;
use mls_rs::identity::SigningIdentity;
use mls_rs::mls_rules::{CommitOptions, DefaultMlsRules, EncryptionOptions};
use mls_rs::storage_provider::in_memory::InMemoryGroupStateStorage;
use mls_rs::{CipherSuiteProvider, Client, CryptoProvider, ExtensionList, MlsMessage};
use mls_rs_core::group::{EpochRecord, GroupState, GroupStateStorage};

// ---- Crosslock side --------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Backend {
    Memory,
    Sqlite,
}

struct Dirs(Vec<tempfile::TempDir>);

fn config() -> DeviceConfig {
    DeviceConfig::new(TrustPolicy::Development {
        anchors: TrustAnchors::none(),
    })
}

fn store(backend: Backend, dirs: &Mutex<Dirs>) -> Arc<dyn StateStore> {
    match backend {
        Backend::Memory => Arc::new(MemoryStore::new()),
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let store =
                SqliteStore::open(&dir.path().join("device.db"), &DatabaseKey::new([5; 32]))
                    .unwrap();
            dirs.lock().unwrap().0.push(dir);
            Arc::new(store)
        }
    }
}

fn device(n: usize, backend: Backend, dirs: &Mutex<Dirs>) -> Device {
    let store = store(backend, dirs);
    let keystore = Arc::new(SoftwareKeyStore::new(store.clone()));
    let number = PhoneNumber::parse(&format!("+1555{n:07}")).unwrap();
    Device::create(
        store,
        keystore,
        NewDevice {
            number,
            profile: DeviceProfile::Android,
        },
        config(),
        Environment::system(),
    )
    .unwrap()
}

/// `count` member devices (in memory), with one KeyPackage per suite each.
/// A member's number and KeyPackages by suite.
type Member = (PhoneNumber, Vec<(Suite, Vec<u8>)>);

fn members(count: usize, dirs: &Mutex<Dirs>) -> Vec<Member> {
    (0..count)
        .map(|i| {
            let mut d = device(1_000 + i, Backend::Memory, dirs);
            let batch = d.generate_key_packages(1).unwrap();
            (d.number().clone(), batch.key_packages)
        })
        .collect()
}

fn claims(members: &[Member], suite: Suite) -> Vec<ParticipantKeyPackages> {
    members
        .iter()
        .map(|(number, kps)| ParticipantKeyPackages {
            number: number.clone(),
            devices: vec![DeviceKeyPackages(
                kps.iter()
                    .filter(|(s, _)| *s == suite)
                    .map(|(_, k)| k.clone())
                    .collect(),
            )],
            transparency: None,
        })
        .collect()
}

/// A device whose suites are restricted to `suite`, so negotiation picks it.
fn creator(backend: Backend, dirs: &Mutex<Dirs>) -> Device {
    device(1, backend, dirs)
}

static GROUP_SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn fresh_group_id() -> Vec<u8> {
    format!(
        "bench-{}",
        GROUP_SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
    .into_bytes()
}

/// Alice with a conversation with `others` already in it (accepted).
fn crosslock_group(
    backend: Backend,
    dirs: &Mutex<Dirs>,
    others: &[ParticipantKeyPackages],
) -> (Device, ConversationId) {
    let mut alice = creator(backend, dirs);
    let pending = alice
        .create_conversation(
            NewConversation::Group {
                group_id: fresh_group_id(),
            },
            others,
        )
        .unwrap();
    alice.commit_accepted(&pending).unwrap();
    (alice, pending.conversation)
}

// ---- raw mls-rs side --------------------------------------------------------

/// The simplest durable storage an app would write: one SQLite table of
/// snapshots and one of epochs (plain SQLite, no encryption).
#[derive(Clone)]
struct RawSqlite(
    Arc<Mutex<rusqlite::Connection>>,
    #[allow(dead_code)] Arc<tempfile::TempDir>,
);

impl RawSqlite {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("raw.db")).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        conn.execute_batch(
            "CREATE TABLE g (id BLOB PRIMARY KEY, s BLOB NOT NULL);
             CREATE TABLE e (id BLOB, n INTEGER, s BLOB NOT NULL, PRIMARY KEY (id, n));",
        )
        .unwrap();
        RawSqlite(Arc::new(Mutex::new(conn)), Arc::new(dir))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RawError(String);
impl mls_rs_core::error::IntoAnyError for RawError {}

impl GroupStateStorage for RawSqlite {
    type Error = RawError;
    fn state(&self, id: &[u8]) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, RawError> {
        let c = self.0.lock().unwrap();
        let r: Option<Vec<u8>> = c
            .query_row("SELECT s FROM g WHERE id = ?1", [id], |r| r.get(0))
            .map(Some)
            .or_else(|e| {
                if matches!(e, rusqlite::Error::QueryReturnedNoRows) {
                    Ok(None)
                } else {
                    Err(e)
                }
            })
            .map_err(|e| RawError(e.to_string()))?;
        Ok(r.map(zeroize::Zeroizing::new))
    }
    fn epoch(&self, id: &[u8], n: u64) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, RawError> {
        let c = self.0.lock().unwrap();
        let r: Option<Vec<u8>> = c
            .query_row(
                "SELECT s FROM e WHERE id = ?1 AND n = ?2",
                rusqlite::params![id, n as i64],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| {
                if matches!(e, rusqlite::Error::QueryReturnedNoRows) {
                    Ok(None)
                } else {
                    Err(e)
                }
            })
            .map_err(|e| RawError(e.to_string()))?;
        Ok(r.map(zeroize::Zeroizing::new))
    }
    fn write(
        &mut self,
        state: GroupState,
        inserts: Vec<EpochRecord>,
        updates: Vec<EpochRecord>,
    ) -> Result<(), RawError> {
        let mut c = self.0.lock().unwrap();
        let tx = c.transaction().map_err(|e| RawError(e.to_string()))?;
        tx.execute(
            "INSERT OR REPLACE INTO g (id, s) VALUES (?1, ?2)",
            rusqlite::params![state.id, &*state.data],
        )
        .map_err(|e| RawError(e.to_string()))?;
        for r in inserts.iter().chain(updates.iter()) {
            tx.execute(
                "INSERT OR REPLACE INTO e (id, n, s) VALUES (?1, ?2, ?3)",
                rusqlite::params![state.id, r.id as i64, &*r.data],
            )
            .map_err(|e| RawError(e.to_string()))?;
        }
        tx.commit().map_err(|e| RawError(e.to_string()))
    }
    fn max_epoch_id(&self, id: &[u8]) -> Result<Option<u64>, RawError> {
        let c = self.0.lock().unwrap();
        c.query_row("SELECT max(n) FROM e WHERE id = ?1", [id], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .map(|v| v.map(|v| v as u64))
        .map_err(|e| RawError(e.to_string()))
    }
}

/// What an app on raw mls-rs with X.509 leaves minimally needs: accepts
/// any X.509 leaf (no validation at all), identity = hash of the leaf.
#[derive(Clone, Debug)]
struct NaiveX509Identity;

#[derive(Debug, thiserror::Error)]
#[error("not an X.509 credential")]
struct NotX509;
impl mls_rs_core::error::IntoAnyError for NotX509 {}

impl mls_rs_core::identity::IdentityProvider for NaiveX509Identity {
    type Error = NotX509;
    fn validate_member(
        &self,
        _: &SigningIdentity,
        _: Option<mls_rs::time::MlsTime>,
        _: mls_rs_core::identity::MemberValidationContext<'_>,
    ) -> Result<(), NotX509> {
        Ok(())
    }
    fn validate_external_sender(
        &self,
        _: &SigningIdentity,
        _: Option<mls_rs::time::MlsTime>,
        _: Option<&ExtensionList>,
    ) -> Result<(), NotX509> {
        Ok(())
    }
    fn identity(&self, id: &SigningIdentity, _: &ExtensionList) -> Result<Vec<u8>, NotX509> {
        match &id.credential {
            mls_rs::identity::Credential::X509(chain) => {
                use sha2::Digest;
                Ok(sha2::Sha256::digest(chain[0].as_ref()).to_vec())
            }
            _ => Err(NotX509),
        }
    }
    fn valid_successor(
        &self,
        _: &SigningIdentity,
        _: &SigningIdentity,
        _: &ExtensionList,
    ) -> Result<bool, NotX509> {
        Ok(true)
    }
    fn supported_types(&self) -> Vec<mls_rs::identity::CredentialType> {
        vec![mls_rs::identity::CredentialType::X509]
    }
}

/// The provider Crosslock's devices use (AWS-LC, X-Wing HPKE for 0x004F),
/// without key-store signing.
fn crypto() -> CrosslockCrypto {
    CrosslockCrypto::with_enabled_cipher_suites(Suite::ALL.map(|s| s.cipher_suite()).to_vec())
}

/// Signs a development certificate with a raw secret key.
struct RawSigner(
    <CrosslockCrypto as CryptoProvider>::CipherSuiteProvider,
    SignatureSecretKey,
    crosslock_client::credential::PublicKey,
);
impl crosslock_client::credential::CertSigner for RawSigner {
    fn public_key(&self) -> &crosslock_client::credential::PublicKey {
        &self.2
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        self.0.sign(&self.1, message).map_err(|e| format!("{e:?}"))
    }
}

/// An X.509 signing identity like Crosslock's, for the raw creator.
fn x509_signer(suite: Suite) -> (SigningIdentity, SignatureSecretKey) {
    let provider = crypto()
        .cipher_suite_provider(suite.cipher_suite())
        .unwrap();
    let (secret, public) = provider.signature_key_generate().unwrap();
    let key = crosslock_client::credential::PublicKey::new(
        suite.signature_algorithm(),
        public.as_bytes().to_vec(),
    )
    .unwrap();
    let now = Environment::system().now();
    let profile = crosslock_client::credential::ParticipantProfile {
        number: PhoneNumber::parse("+15550000001").unwrap(),
        device: Some("00000000-0000-4000-8000-000000000001".into()),
        not_before: now - 3600,
        not_after: now + 75 * 86_400,
        serial: [3; 16],
        carrier_proof: None,
        participant_info: None,
    };
    let signer = RawSigner(provider, secret.clone(), key);
    let der =
        crosslock_client::credential::issue_development_credential(&profile, &signer).unwrap();
    let credential =
        mls_rs::identity::Credential::X509(mls_rs_core::identity::CertificateChain::from(vec![
            der,
        ]));
    (SigningIdentity::new(credential, public), secret)
}

fn rules() -> DefaultMlsRules {
    DefaultMlsRules::new()
        .with_commit_options(
            CommitOptions::new()
                .with_path_required(true)
                .with_ratchet_tree_extension(true),
        )
        .with_encryption_options(EncryptionOptions::new(false, PaddingMode::Padme))
}

/// A raw mls-rs client with an X.509 identity like Crosslock's, accepting
/// X.509 members without validating them.
fn raw_x509_client<S>(suite: Suite, storage: S) -> Client<impl MlsConfig>
where
    S: GroupStateStorage + Clone + 'static,
{
    let (identity, secret) = x509_signer(suite);
    Client::builder()
        .crypto_provider(crypto())
        .identity_provider(NaiveX509Identity)
        .mls_rules(rules())
        .group_state_storage(storage)
        .extension_types([
            mls_rs::extension::ExtensionType::new(0xF001),
            mls_rs::extension::ExtensionType::new(0xF002),
        ])
        .signing_identity(identity, secret, suite.cipher_suite())
        .build()
}

type Bench<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Raw mls-rs: encrypt + persist, decrypt + persist, 100 bytes.
fn raw_encrypt_decrypt<S: GroupStateStorage + Clone + 'static>(
    group: &mut Bench<'_>,
    label: &str,
    suite: Suite,
    storage: impl Fn() -> S,
) {
    let payload = vec![b'x'; 100];
    let a = raw_x509_client(suite, storage());
    let b = raw_x509_client(suite, storage());
    let kp = b
        .generate_key_package_message(ExtensionList::new(), ExtensionList::new(), None)
        .unwrap();
    let mut ga = a
        .create_group(ExtensionList::new(), ExtensionList::new(), None)
        .unwrap();
    let out = ga.commit_builder().add_member(kp).unwrap().build().unwrap();
    ga.apply_pending_commit().unwrap();
    let (mut gb, _) = b
        .join_group(None, &out.welcome_messages()[0], None)
        .unwrap();
    group.bench_function(BenchmarkId::new("mls-rs", label), |bch| {
        bch.iter(|| {
            let m = ga.encrypt_application_message(&payload, vec![]).unwrap();
            ga.write_to_storage().unwrap();
            black_box(gb.process_incoming_message(m).unwrap());
            gb.write_to_storage().unwrap();
        })
    });
}

/// Raw mls-rs: one commit adding `kps[1..]` to a group holding `kps[0]`,
/// applied and persisted.
fn raw_add<S: GroupStateStorage + Clone + 'static>(
    group: &mut Bench<'_>,
    label: &str,
    suite: Suite,
    kps: &[MlsMessage],
    storage: impl Fn() -> S,
) {
    group.bench_function(BenchmarkId::new("mls-rs", label), |b| {
        b.iter_batched(
            || {
                let client = raw_x509_client(suite, storage());
                let g = raw_group(&client, &kps[..1]);
                (client, g)
            },
            |(client, mut g)| {
                let mut builder = g.commit_builder();
                for kp in &kps[1..] {
                    builder = builder.add_member(kp.clone()).unwrap();
                }
                builder.build().unwrap();
                g.apply_pending_commit().unwrap();
                g.write_to_storage().unwrap();
                (client, g)
            },
            BatchSize::PerIteration,
        )
    });
}

/// Raw mls-rs: a commit removing one member of a group of `kps.len() + 1`,
/// discarded, state persisted.
fn raw_remove<S: GroupStateStorage + Clone + 'static>(
    group: &mut Bench<'_>,
    label: &str,
    suite: Suite,
    kps: &[MlsMessage],
    storage: impl Fn() -> S,
) {
    let client = raw_x509_client(suite, storage());
    let mut g = raw_group(&client, kps);
    group.bench_function(BenchmarkId::new("mls-rs", label), |b| {
        b.iter(|| {
            black_box(
                g.commit_builder()
                    .remove_member(500)
                    .unwrap()
                    .build()
                    .unwrap(),
            );
            g.clear_pending_commit();
            g.write_to_storage().unwrap();
        })
    });
}

fn raw_group<C: MlsConfig + Clone>(client: &Client<C>, members: &[MlsMessage]) -> Group<C> {
    let mut g = client
        .create_group_with_id(
            fresh_group_id(),
            ExtensionList::new(),
            ExtensionList::new(),
            None,
        )
        .unwrap();
    let mut b = g.commit_builder();
    for kp in members {
        b = b.add_member(kp.clone()).unwrap();
    }
    b.build().unwrap();
    g.apply_pending_commit().unwrap();
    g.write_to_storage().unwrap();
    g
}

// ---- the benchmarks --------------------------------------------------------

fn bench(c: &mut Criterion) {
    let dirs = Mutex::new(Dirs(Vec::new()));
    eprintln!("preparing 1001 member devices (three suites each)...");
    let member_devices = members(1001, &dirs);

    for suite in Suite::ALL {
        let name = format!("{:#06x}", suite.code());
        let all_claims = claims(&member_devices, suite);
        // The raw side adds the very same KeyPackages.
        let raw_kps: Vec<MlsMessage> = all_claims
            .iter()
            .map(|c| MlsMessage::from_bytes(&c.devices[0].0[0]).unwrap())
            .collect();

        // encrypt + decrypt of a 100-byte message, one sender, one receiver.
        let mut group = c.benchmark_group(format!("encrypt_decrypt_100B/{name}"));
        let text = "x".repeat(100);
        for backend in [Backend::Memory, Backend::Sqlite] {
            let mut alice = creator(backend, &dirs);
            let mut bob = device(2, backend, &dirs);
            let batch = bob.generate_key_packages(1).unwrap();
            let kps = ParticipantKeyPackages {
                number: bob.number().clone(),
                devices: vec![DeviceKeyPackages(
                    batch
                        .key_packages
                        .into_iter()
                        .filter(|(s, _)| *s == suite)
                        .map(|(_, k)| k)
                        .collect(),
                )],
                transparency: None,
            };
            let pending = alice
                .create_conversation(
                    NewConversation::Group {
                        group_id: fresh_group_id(),
                    },
                    &[kps],
                )
                .unwrap();
            alice.commit_accepted(&pending).unwrap();
            let w = pending.welcome.unwrap();
            bob.receive_with_tree(&w.message_id, &w.envelope, Some(&pending.ratchet_tree))
                .unwrap();
            let id = pending.conversation;
            group.bench_function(BenchmarkId::new("crosslock", format!("{backend:?}")), |b| {
                b.iter(|| {
                    let sent = alice.send_text(&id, &text).unwrap();
                    let Received::Message(m) = bob
                        .receive(&sent.outbound.message_id, &sent.outbound.envelope)
                        .unwrap()
                    else {
                        unreachable!()
                    };
                    bob.ack(m.delivery).unwrap();
                    black_box(m);
                })
            });
        }
        raw_encrypt_decrypt(
            &mut group,
            "Memory",
            suite,
            InMemoryGroupStateStorage::default,
        );
        raw_encrypt_decrypt(&mut group, "Sqlite", suite, RawSqlite::new);
        group.finish();

        // add N members in one commit (staged, accepted), from a fresh
        // creator each time: credential checks run cold.
        for n in [100usize, 1000] {
            let mut group = c.benchmark_group(format!("add_{n}/{name}"));
            group.sample_size(10);
            for backend in [Backend::Memory, Backend::Sqlite] {
                group.bench_function(BenchmarkId::new("crosslock", format!("{backend:?}")), |b| {
                    b.iter_batched(
                        || crosslock_group(backend, &dirs, &all_claims[..1]),
                        |(mut alice, id)| {
                            let add = alice.add_participants(&id, &all_claims[1..=n]).unwrap();
                            alice.commit_accepted(&add).unwrap();
                            alice
                        },
                        BatchSize::PerIteration,
                    )
                });
            }
            let kps = &raw_kps[..=n];
            raw_add(
                &mut group,
                "Memory",
                suite,
                kps,
                InMemoryGroupStateStorage::default,
            );
            raw_add(&mut group, "Sqlite", suite, kps, RawSqlite::new);
            group.finish();
        }

        // remove one member from a 1000-member group (staged, then the
        // server's refusal restores the group for the next iteration).
        let mut group = c.benchmark_group(format!("remove_1_of_1000/{name}"));
        group.sample_size(10);
        for backend in [Backend::Memory, Backend::Sqlite] {
            let (mut alice, id) = crosslock_group(backend, &dirs, &all_claims[..999]);
            let victim = all_claims[500].number.clone();
            group.bench_function(BenchmarkId::new("crosslock", format!("{backend:?}")), |b| {
                b.iter(|| {
                    let removal = black_box(alice.remove_participant(&id, &victim).unwrap());
                    alice.commit_rejected(&removal).unwrap();
                })
            });
        }
        raw_remove(
            &mut group,
            "Memory",
            suite,
            &raw_kps[..999],
            InMemoryGroupStateStorage::default,
        );
        raw_remove(&mut group, "Sqlite", suite, &raw_kps[..999], RawSqlite::new);
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
