//! [`KtLog`]: a provider's key-transparency directory: akd on SQLite, the
//! signed root of every epoch, and the witnesses that co-sign them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use akd::storage::Database;
use akd::storage::StorageManager;
use akd::storage::types::ValueStateRetrievalFlag;
use akd::{AkdValue, AzksParallelismConfig, Directory};
use akd_core::proto::specs::types as proto;
use crosslock_credential::PhoneNumber;
use crosslock_kt_store::SqliteDatabase;
use crosslock_wire::api::B64;
use crosslock_wire::api::kt::{
    AuditAnswer, Cosignature, HistoryAnswer, LogInfo, LookupAnswer, RootStatement, SignedRoot,
};
use protobuf::Message;
use tokio::sync::RwLock;

use crate::binding::Binding;
use crate::keys::PublicKey;
use crate::label::{KtConfig, label_of};
use crate::root::{cosignature_valid, sign_root};
use crate::server::cosigning::WitnessClient;
use crate::server::error::KtServerError;
use crate::server::keys::{LogKeys, VrfSecret};
use crate::server::roots::RootStore;

/// How a directory runs.
#[derive(Debug)]
pub struct KtLogOptions {
    /// Upper bound of akd's record cache (default 256 MiB). The SQLite
    /// store's own page caches come on top (about 50 MiB).
    pub cache_limit_bytes: usize,
    /// How long a cached record lives (default 10 minutes).
    pub cache_item_lifetime: Duration,
    /// How often akd may trim the cache to its limit (default 2 s). akd
    /// trims only on access and at most this often, and never inside an
    /// epoch's transaction, so the cache can exceed its limit by what is
    /// read in this interval.
    pub cache_clean_interval: Duration,
    /// akd's parallelism for inserts and preloads (default: all cores).
    pub parallelism: AzksParallelismConfig,
    /// Witnesses asked to co-sign every new (or re-signed) root.
    pub witnesses: Vec<WitnessClient>,
    /// How long lookups may wait for the witnesses of a new root (default
    /// 30 s: a witness verifies the epoch's append-only proof first).
    pub witness_timeout: Duration,
}

impl Default for KtLogOptions {
    fn default() -> Self {
        KtLogOptions {
            cache_limit_bytes: 256 * 1024 * 1024,
            cache_item_lifetime: Duration::from_secs(600),
            cache_clean_interval: Duration::from_secs(2),
            parallelism: AzksParallelismConfig::default(),
            witnesses: Vec::new(),
            witness_timeout: Duration::from_secs(30),
        }
    }
}

/// A provider's key-transparency directory.
///
/// Publishing and the proofs (lookups, histories, audits) are serialised
/// by one lock, so a proof is always against the latest signed root, and a
/// new root is co-signed before any proof against it is handed out: a
/// claim answered with a root that lacks co-signatures would burn the
/// claimed KeyPackages on a client that refuses it. Witnesses are asked
/// concurrently, and those that have not answered within
/// [`KtLogOptions::witness_timeout`] are skipped for this root (asked
/// again by [`KtLog::retry_cosignatures`]).
pub struct KtLog {
    directory: String,
    path: PathBuf,
    akd: Directory<KtConfig, SqliteDatabase, VrfSecret>,
    storage: StorageManager<SqliteDatabase>,
    db: SqliteDatabase,
    roots: RootStore,
    log_key: crate::keys::SigningKey,
    vrf_key: [u8; 32],
    witnesses: Vec<WitnessClient>,
    witness_timeout: Duration,
    gate: RwLock<()>,
}

impl std::fmt::Debug for KtLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KtLog")
            .field("directory", &self.directory)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl KtLog {
    /// Opens (creating) the directory named `directory` in the folder
    /// `dir` (`kt-directory.sqlite3`, `kt-roots.sqlite3`). Files made with
    /// another directory name, log key or VRF key are refused. A root that
    /// akd committed but that was not yet signed (a crash in between) is
    /// signed now.
    pub async fn open(
        dir: &Path,
        directory: &str,
        keys: LogKeys,
        options: KtLogOptions,
        now: u64,
    ) -> Result<Self, KtServerError> {
        std::fs::create_dir_all(dir).map_err(|e| KtServerError::KeyFile {
            path: dir.display().to_string(),
            why: e.to_string(),
        })?;
        let db_path = dir.join("kt-directory.sqlite3");
        let roots_path = dir.join("kt-roots.sqlite3");
        let db = SqliteDatabase::open(&db_path).map_err(KtServerError::akd)?;
        let roots = RootStore::open(&roots_path, directory)?;
        let vrf_key = keys.vrf.public_key();
        let storage = StorageManager::new(
            db.clone(),
            Some(options.cache_item_lifetime),
            Some(options.cache_limit_bytes),
            Some(options.cache_clean_interval),
        );
        let akd = Directory::new(storage.clone(), keys.vrf, options.parallelism)
            .await
            .map_err(KtServerError::akd)?;
        // The roots file binds the directory to its name and keys. Without
        // it (lost, or deleted) a populated directory cannot be checked
        // against the keys offered: refuse rather than adopt them.
        if !roots.has_meta()? {
            let epoch = akd.get_epoch_hash().await.map_err(KtServerError::akd)?.0;
            if epoch > 0 {
                return Err(KtServerError::Mismatch {
                    path: roots_path.display().to_string(),
                    what: format!(
                        "no recorded name or keys for a directory at epoch {epoch}; restore \
                         kt-roots.sqlite3 from a backup"
                    ),
                });
            }
        }
        roots.bind_meta("directory", directory.as_bytes(), &roots_path)?;
        roots.bind_meta("log key", &keys.log_key.public_key().0, &roots_path)?;
        roots.bind_meta("VRF key", &vrf_key, &roots_path)?;
        let log = KtLog {
            directory: directory.to_owned(),
            path: dir.to_owned(),
            akd,
            storage,
            db,
            roots,
            log_key: keys.log_key,
            vrf_key,
            witnesses: options.witnesses,
            witness_timeout: options.witness_timeout,
            gate: RwLock::new(()),
        };
        if let Some(root) = log.sign_missing_root(now).await? {
            log.witnessed(root).await?;
        }
        Ok(log)
    }

    /// Signs the directory's current root if the root store lacks it (a
    /// crash between akd's commit and the signature); returns it then.
    async fn sign_missing_root(&self, now: u64) -> Result<Option<SignedRoot>, KtServerError> {
        let current = self
            .akd
            .get_epoch_hash()
            .await
            .map_err(KtServerError::akd)?;
        match self.roots.latest()? {
            Some(root) if root.statement.epoch == current.0 => {
                if root.statement.root_hash.0 != current.1 {
                    return Err(KtServerError::Mismatch {
                        path: self.path.display().to_string(),
                        what: format!("a different root for epoch {}", current.0),
                    });
                }
                Ok(None)
            }
            Some(root) if root.statement.epoch > current.0 => Err(KtServerError::Mismatch {
                path: self.path.display().to_string(),
                what: format!(
                    "a root store ahead of the directory (epoch {} > {})",
                    root.statement.epoch, current.0
                ),
            }),
            _ => Ok(Some(self.sign_and_store(current.0, current.1, now).await?)),
        }
    }

    async fn sign_and_store(
        &self,
        epoch: u64,
        hash: [u8; 32],
        now: u64,
    ) -> Result<SignedRoot, KtServerError> {
        let root = sign_root(
            &self.log_key,
            RootStatement {
                directory: self.directory.clone(),
                epoch,
                root_hash: B64(hash.to_vec()),
                signed_at: now,
            },
        )?;
        self.roots.put(&root)?;
        Ok(root)
    }

    /// Has the witnesses co-sign `root` (with the publication lock held),
    /// then returns the root as stored, with the co-signatures it gathered.
    async fn witnessed(&self, root: SignedRoot) -> Result<SignedRoot, KtServerError> {
        self.collect_cosignatures(&root).await;
        Ok(self.roots.get(root.statement.epoch)?.unwrap_or(root))
    }

    /// Asks every witness to co-sign `root`; failures are logged (the root
    /// then has fewer co-signatures, which clients with a threshold refuse
    /// until the next attempt succeeds).
    async fn collect_cosignatures(&self, root: &SignedRoot) {
        let epoch = root.statement.epoch;
        let asks = self.witnesses.iter().map(|witness| async move {
            let answer =
                tokio::time::timeout(self.witness_timeout, witness.cosign(self, root)).await;
            (witness, answer)
        });
        for (witness, answer) in futures_util::future::join_all(asks).await {
            match answer {
                Ok(Ok(c)) => {
                    if let Err(e) = self.add_cosignature(epoch, &c) {
                        tracing::warn!(witness = %witness.url(), error = %e, "witness co-signature refused");
                    }
                }
                Ok(Err(e)) => {
                    tracing::warn!(witness = %witness.url(), epoch, error = %e, "witness did not co-sign");
                }
                Err(_) => {
                    tracing::warn!(witness = %witness.url(), epoch, "witness did not answer in time");
                }
            }
        }
    }

    /// The directory's name (the KDS id).
    pub fn directory(&self) -> &str {
        &self.directory
    }

    /// The log's public key.
    pub fn log_key(&self) -> PublicKey {
        self.log_key.public_key()
    }

    /// The VRF public key.
    pub fn vrf_key(&self) -> [u8; 32] {
        self.vrf_key
    }

    /// What `/v1/kt/info` says.
    pub fn info(&self) -> Result<LogInfo, KtServerError> {
        Ok(LogInfo {
            directory: self.directory.clone(),
            log_key: B64(self.log_key().0.to_vec()),
            vrf_key: B64(self.vrf_key.to_vec()),
            latest_epoch: self.roots.latest()?.map_or(0, |r| r.statement.epoch),
        })
    }

    /// Publishes new bindings in one epoch (bindings equal to a number's
    /// current one are skipped; with nothing new, no epoch is made). Signs
    /// the new root and has it co-signed. Returns the latest root.
    pub async fn publish(
        &self,
        updates: Vec<(PhoneNumber, Binding)>,
        now: u64,
    ) -> Result<SignedRoot, KtServerError> {
        let gate = self.gate.write().await;
        let mut by_label = std::collections::BTreeMap::new();
        for (number, binding) in updates {
            by_label.insert(label_of(&number), AkdValue(binding.encode()));
        }
        let before = self.roots.latest()?.map_or(0, |r| r.statement.epoch);
        let published = match self.akd.publish(by_label.into_iter().collect()).await {
            Ok(p) => p,
            Err(e) => {
                // The cache may hold records of the epoch that was not
                // committed: drop it so reads come from the file again.
                self.storage.flush_cache().await;
                return Err(KtServerError::akd(e));
            }
        };
        if published.0 > before {
            tracing::info!(epoch = published.0, "key-transparency epoch published");
            let root = self.sign_and_store(published.0, published.1, now).await?;
            let witnessed = self.witnessed(root).await;
            drop(gate);
            witnessed
        } else {
            self.latest_root()?
                .ok_or_else(|| KtServerError::akd("no root after publish"))
        }
    }

    /// Re-signs the latest root with a fresh time (while no update comes,
    /// so clients can tell a live view from a stale one) and has it
    /// co-signed again.
    pub async fn refresh(&self, now: u64) -> Result<SignedRoot, KtServerError> {
        let gate = self.gate.write().await;
        let current = self
            .akd
            .get_epoch_hash()
            .await
            .map_err(KtServerError::akd)?;
        let root = self.sign_and_store(current.0, current.1, now).await?;
        let witnessed = self.witnessed(root).await;
        drop(gate);
        witnessed
    }

    /// Asks the witnesses again for co-signatures the latest root lacks.
    pub async fn retry_cosignatures(&self) -> Result<SignedRoot, KtServerError> {
        let _gate = self.gate.write().await;
        let root = self
            .latest_root()?
            .ok_or_else(|| KtServerError::akd("no root"))?;
        self.witnessed(root).await
    }

    /// How many witnesses this log asks to co-sign.
    pub fn witness_count(&self) -> usize {
        self.witnesses.len()
    }

    /// The latest signed root with its co-signatures.
    pub fn latest_root(&self) -> Result<Option<SignedRoot>, KtServerError> {
        self.roots.latest()
    }

    /// The signed root of `epoch`.
    pub fn root(&self, epoch: u64) -> Result<Option<SignedRoot>, KtServerError> {
        self.roots.get(epoch)
    }

    /// Adds a witness co-signature on the stored statement of `epoch`.
    pub fn add_cosignature(
        &self,
        epoch: u64,
        cosignature: &Cosignature,
    ) -> Result<(), KtServerError> {
        let root = self.roots.get(epoch)?.ok_or(KtServerError::InvalidRange {
            from: epoch,
            to: epoch,
            latest: self.roots.latest()?.map_or(0, |r| r.statement.epoch),
        })?;
        if !cosignature_valid(&root.statement, cosignature) {
            return Err(crate::error::KtError::malformed(
                "co-signature",
                "does not verify on the stored root",
            )
            .into());
        }
        self.roots.add_cosignature(epoch, cosignature)
    }

    /// The binding currently published for `number`, if any.
    pub async fn current_binding(
        &self,
        number: &PhoneNumber,
    ) -> Result<Option<Binding>, KtServerError> {
        match self
            .db
            .get_user_state(&label_of(number), ValueStateRetrievalFlag::MaxEpoch)
            .await
        {
            Ok(state) => Ok(Some(Binding::decode(&state.value.0)?)),
            Err(akd::errors::StorageError::NotFound(_)) => Ok(None),
            Err(e) => Err(KtServerError::akd(e)),
        }
    }

    /// A lookup proof of `number`'s current binding at the latest root.
    pub async fn lookup(&self, number: &PhoneNumber) -> Result<LookupAnswer, KtServerError> {
        Ok(self.lookup_with_binding(number).await?.0)
    }

    /// [`lookup`](Self::lookup), with the binding the proof proves.
    pub async fn lookup_with_binding(
        &self,
        number: &PhoneNumber,
    ) -> Result<(LookupAnswer, Binding), KtServerError> {
        let _gate = self.gate.read().await;
        let (proof, epoch_hash) = self
            .akd
            .lookup(label_of(number))
            .await
            .map_err(not_found_or_akd)?;
        let binding = Binding::decode(&proof.value.0)?;
        let root = self.root_for(epoch_hash.0, epoch_hash.1)?;
        let proof = proto::LookupProof::from(&proof)
            .write_to_bytes()
            .map_err(KtServerError::akd)?;
        Ok((
            LookupAnswer {
                root,
                proof: B64(proof),
            },
            binding,
        ))
    }

    /// A complete-history proof of `number` at the latest root.
    pub async fn history(&self, number: &PhoneNumber) -> Result<HistoryAnswer, KtServerError> {
        let _gate = self.gate.read().await;
        let (proof, epoch_hash) = self
            .akd
            .key_history(&label_of(number), akd::HistoryParams::Complete)
            .await
            .map_err(not_found_or_akd)?;
        if proof.update_proofs.is_empty() {
            return Err(KtServerError::UnknownNumber);
        }
        let root = self.root_for(epoch_hash.0, epoch_hash.1)?;
        let proof = proto::HistoryProof::from(&proof)
            .write_to_bytes()
            .map_err(KtServerError::akd)?;
        Ok(HistoryAnswer {
            root,
            proof: B64(proof),
        })
    }

    /// The roots of epochs `from..=to` and the append-only proofs between them.
    pub async fn audit(&self, from: u64, to: u64) -> Result<AuditAnswer, KtServerError> {
        let _gate = self.gate.read().await;
        self.audit_locked(from, to).await
    }

    /// [`audit`](Self::audit) for callers holding the lock (co-signing).
    pub(crate) async fn audit_locked(
        &self,
        from: u64,
        to: u64,
    ) -> Result<AuditAnswer, KtServerError> {
        let latest = self.roots.latest()?.map_or(0, |r| r.statement.epoch);
        if from > to || to > latest {
            return Err(KtServerError::InvalidRange { from, to, latest });
        }
        let roots = self.roots.range(from, to)?;
        if roots.len() as u64 != to - from + 1 {
            return Err(KtServerError::InvalidRange { from, to, latest });
        }
        let proofs = if from == to {
            Vec::new()
        } else {
            let proof = self.akd.audit(from, to).await.map_err(KtServerError::akd)?;
            proof
                .proofs
                .iter()
                .map(|p| {
                    proto::SingleAppendOnlyProof::from(p)
                        .write_to_bytes()
                        .map(B64)
                        .map_err(KtServerError::akd)
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(AuditAnswer { roots, proofs })
    }

    fn root_for(&self, epoch: u64, hash: [u8; 32]) -> Result<SignedRoot, KtServerError> {
        match self.roots.get(epoch)? {
            Some(root) if root.statement.root_hash.0 == hash => Ok(root),
            _ => Err(KtServerError::akd(format!(
                "no signed root for epoch {epoch}"
            ))),
        }
    }
}

fn not_found_or_akd(e: akd::errors::AkdError) -> KtServerError {
    match e {
        akd::errors::AkdError::Storage(akd::errors::StorageError::NotFound(_)) => {
            KtServerError::UnknownNumber
        }
        other => {
            let text = other.to_string();
            if text.contains("not found") || text.contains("NotFound") {
                KtServerError::UnknownNumber
            } else {
                KtServerError::akd(text)
            }
        }
    }
}
