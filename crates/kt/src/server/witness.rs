//! The witness: an independent party that follows a log, checks that every
//! new epoch only extends the epochs it already checked, and co-signs the
//! newest root. A log that shows one history to some clients and another
//! to others (a split view) needs a co-signed root for each; a witness
//! signs at most one root hash per epoch, refuses the second, and keeps
//! the two log-signed roots as proof ([`ForkEvidence`]).
//!
//! Protocol (the log's side is [`WitnessClient`](crate::server::WitnessClient)):
//!
//! - `POST /witness/v1/cosign` with a [`CosignRequest`]: roots and
//!   append-only proofs from the last epoch this witness co-signed (epoch 0,
//!   the empty directory, for a witness that has co-signed nothing) to the
//!   root to co-sign. Answers 200 with a [`Cosignature`]; 409 with a
//!   [`WitnessPosition`] when the audit starts at another epoch (the log
//!   retries from there); 403 `unknown-log` for a directory not followed;
//!   422 with the reason of the failed check otherwise (`kt-fork` for a
//!   root conflicting with one already verified, `kt-root-from-future` for
//!   a root signed more than [`MAX_CLOCK_SKEW_SECS`] ahead of the witness's
//!   clock).
//! - `GET /witness/v1/info`: the witness key and its position per log.
//! - `GET /witness/v1/evidence`: every fork recorded, as [`ForkEvidence`].
//!
//! State lives in one SQLite file (WAL, `synchronous=FULL`): per log, every
//! verified epoch's root hash with the log's signature on it, the last
//! epoch co-signed, and the forks seen. A co-signature is handed out only
//! after the epochs it covers are durably stored, in one transaction; a
//! refused request stores nothing but fork evidence.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use crosslock_wire::api::kt::{
    CosignRequest, Cosignature, RootStatement, SignedRoot, WitnessInfo, WitnessPosition,
};
use crosslock_wire::api::{B64, ErrorBody};
use rusqlite::{Connection, params};
use thiserror::Error;

use crate::error::KtError;
use crate::gossip::{ForkEvidence, detect_fork};
use crate::keys::{PublicKey, SigningKey};
use crate::root::cosign;
use crate::server::audit::{empty_directory_root, verify_audit};
use crate::server::error::KtServerError;
use crate::server::roots::{from_sql, to_sql};
use crate::trust::MAX_CLOCK_SKEW_SECS;

/// The version of the state file's schema (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS logs (
    directory TEXT PRIMARY KEY,
    log_key BLOB NOT NULL,
    last_epoch INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS epochs (
    directory TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    root_hash BLOB NOT NULL,
    signed_at INTEGER NOT NULL,
    log_signature BLOB NOT NULL,
    PRIMARY KEY (directory, epoch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS forks (
    id INTEGER PRIMARY KEY,
    directory TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    first_hash BLOB NOT NULL,
    first_signed_at INTEGER NOT NULL,
    first_signature BLOB NOT NULL,
    second_hash BLOB NOT NULL,
    second_signed_at INTEGER NOT NULL,
    second_signature BLOB NOT NULL,
    UNIQUE (directory, epoch, second_hash)
);
";

/// A log the witness follows: its directory name and the key that signs
/// its roots (both configured out of band).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedLog {
    /// The directory (the provider's KDS id).
    pub directory: String,
    /// The log's root-signing key.
    pub log_key: PublicKey,
}

/// Why a witness did not co-sign.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The roots are of a directory this witness does not follow.
    #[error("this witness does not follow directory {directory:?}")]
    UnknownLog {
        /// The directory the roots name.
        directory: String,
    },
    /// The audit does not start where this witness stands: the log must
    /// send one starting at `position.last_epoch`.
    #[error(
        "the audit must start at epoch {} of {:?}, the last this witness co-signed",
        .0.last_epoch,
        .0.directory
    )]
    AuditStart(WitnessPosition),
    /// The log signed a root that conflicts with one this witness already
    /// verified for the same epoch: a split view. The evidence is recorded.
    #[error("the log signed two different roots for epoch {}: a split view", .0.epoch)]
    Fork(Box<ForkEvidence>),
    /// A first audit must start at the empty directory, and this epoch 0
    /// root is not the empty directory's.
    #[error("epoch 0 of {directory:?} is not the empty directory")]
    NotGenesis {
        /// The directory.
        directory: String,
    },
    /// The audit did not verify (signature, epochs, append-only proof).
    #[error(transparent)]
    Refused(KtError),
    /// The witness's state could not be read or written.
    #[error(transparent)]
    Storage(#[from] KtServerError),
    /// A bug: a task failed or the state contradicts itself.
    #[error("internal witness error: {0}")]
    Internal(String),
}

impl WitnessError {
    /// A stable, kebab-case reason for logs and HTTP bodies.
    pub fn reason(&self) -> &'static str {
        match self {
            WitnessError::UnknownLog { .. } => "unknown-log",
            WitnessError::AuditStart(_) => "audit-start-mismatch",
            WitnessError::Fork(_) => "kt-fork",
            WitnessError::NotGenesis { .. } => "kt-not-genesis",
            WitnessError::Refused(e) => e.reason(),
            WitnessError::Storage(_) | WitnessError::Internal(_) => "internal",
        }
    }

    /// The HTTP status of this refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            WitnessError::UnknownLog { .. } => StatusCode::FORBIDDEN,
            WitnessError::AuditStart(_) => StatusCode::CONFLICT,
            WitnessError::Fork(_) | WitnessError::NotGenesis { .. } | WitnessError::Refused(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            WitnessError::Storage(_) | WitnessError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for WitnessError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            WitnessError::AuditStart(position) => {
                return (status, axum::Json(position.clone())).into_response();
            }
            WitnessError::Storage(_) | WitnessError::Internal(_) => {
                tracing::error!(error = %self, "witness failed");
                return error_body(
                    status,
                    self.reason(),
                    "internal error; see the witness log".into(),
                );
            }
            _ => {}
        }
        error_body(status, self.reason(), self.to_string())
    }
}

/// A witness: its key, the logs it follows and its state.
pub struct Witness {
    key: SigningKey,
    follows: BTreeMap<String, PublicKey>,
    store: WitnessStore,
    /// Last epoch co-signed, per directory with state (mirror of the file).
    positions: Mutex<BTreeMap<String, u64>>,
    /// Every fork recorded, oldest first (mirror of the file).
    evidence: Mutex<Vec<ForkEvidence>>,
    /// One co-signing at a time: two requests cannot both pass the checks
    /// against the same state.
    turn: tokio::sync::Mutex<()>,
    /// Seconds since the Unix epoch: the caller's clock (the crate docs
    /// say why it is a closure).
    clock: Clock,
}

type Clock = Box<dyn Fn() -> u64 + Send + Sync>;

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("key", &self.key.public_key())
            .field("follows", &self.follows)
            .field("state", &self.store.path)
            .finish_non_exhaustive()
    }
}

impl Witness {
    /// Opens (creating) the witness state at `state_db`, co-signing with
    /// `key` for the logs in `follows`; `clock` gives seconds since the
    /// Unix epoch (the service's environment clock; a fixed time in
    /// tests). Refuses a log listed twice, and a log whose key differs
    /// from the one its stored epochs were verified under (a new log key
    /// is a new log: give it a new directory name).
    pub fn open(
        state_db: &Path,
        key: SigningKey,
        follows: Vec<FollowedLog>,
        clock: impl Fn() -> u64 + Send + Sync + 'static,
    ) -> Result<Witness, KtServerError> {
        let mut followed = BTreeMap::new();
        for log in follows {
            if followed
                .insert(log.directory.clone(), log.log_key)
                .is_some()
            {
                return Err(KtError::Malformed {
                    what: "witness configuration",
                    why: format!("directory {:?} is followed twice", log.directory),
                }
                .into());
            }
        }
        let store = WitnessStore::open(state_db)?;
        let stored = store.logs()?;
        for (directory, log_key) in &followed {
            if let Some((stored_key, _)) = stored.get(directory)
                && stored_key != log_key
            {
                return Err(KtServerError::Mismatch {
                    path: state_db.display().to_string(),
                    what: format!(
                        "directory {directory:?} under log key {stored_key}, not {log_key}"
                    ),
                });
            }
        }
        let positions = stored
            .into_iter()
            .map(|(d, (_, epoch))| (d, epoch))
            .collect();
        let evidence = store.forks()?;
        Ok(Witness {
            key,
            follows: followed,
            store,
            positions: Mutex::new(positions),
            evidence: Mutex::new(evidence),
            turn: tokio::sync::Mutex::new(()),
            clock: Box::new(clock),
        })
    }

    /// The witness's public key (what logs and clients configure).
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// The witness key and, per followed log, the last epoch co-signed
    /// (0 before the first).
    pub fn info(&self) -> WitnessInfo {
        let positions = lock(&self.positions);
        WitnessInfo {
            witness_key: B64(self.public_key().0.to_vec()),
            directories: self
                .follows
                .keys()
                .map(|directory| WitnessPosition {
                    directory: directory.clone(),
                    last_epoch: positions.get(directory).copied().unwrap_or(0),
                })
                .collect(),
        }
    }

    /// Every fork this witness has recorded, oldest first.
    pub fn evidence(&self) -> Vec<ForkEvidence> {
        lock(&self.evidence).clone()
    }

    /// Checks `request` and co-signs its last root (see the module
    /// documentation for the rules). Requests are handled one at a time.
    ///
    /// The append-only proofs are verified on the calling task, which is
    /// CPU-bound for large audits: [`router`] runs this on tokio's blocking
    /// pool.
    pub async fn cosign(&self, request: &CosignRequest) -> Result<Cosignature, WitnessError> {
        let _turn = self.turn.lock().await;
        let roots = &request.audit.roots;
        let (Some(first), Some(last)) = (roots.first(), roots.last()) else {
            return Err(WitnessError::Refused(KtError::malformed(
                "audit", "no roots",
            )));
        };
        let directory = first.statement.directory.as_str();
        let Some(log_key) = self.follows.get(directory) else {
            return Err(WitnessError::UnknownLog {
                directory: directory.to_owned(),
            });
        };
        // Signatures, consecutive epochs, append-only proofs.
        let range = verify_audit(log_key, directory, &request.audit)
            .await
            .map_err(WitnessError::Refused)?;
        // Times are stored as SQLite integers (signed 64 bits).
        if let Some(root) = roots
            .iter()
            .find(|r| i64::try_from(r.statement.signed_at).is_err())
        {
            return Err(WitnessError::Refused(KtError::malformed(
                "root",
                format!(
                    "epoch {} claims a signing time beyond 2^63 s",
                    root.statement.epoch
                ),
            )));
        }

        // No second root for an epoch already verified, wherever the
        // request starts.
        let known = self
            .store
            .verified(directory, range.from.epoch, range.to.epoch)?;
        for presented in roots {
            let epoch = presented.statement.epoch;
            let Some(stored) = known.get(&epoch) else {
                continue;
            };
            if stored.statement.root_hash == presented.statement.root_hash {
                continue;
            }
            let presented = SignedRoot {
                cosignatures: Vec::new(),
                ..presented.clone()
            };
            let Some(evidence) = detect_fork(log_key, stored, &presented) else {
                return Err(WitnessError::Internal(format!(
                    "the stored root of epoch {epoch} of {directory:?} no longer verifies"
                )));
            };
            if self.store.record_fork(&evidence)? {
                lock(&self.evidence).push(evidence.clone());
            }
            tracing::warn!(
                directory,
                epoch,
                "split view: the log signed a second root for an epoch already co-signed"
            );
            return Err(WitnessError::Fork(Box::new(evidence)));
        }

        // A root dated ahead of our clock would stay "fresh" for clients
        // long after the log moved on: co-sign only what is signed now.
        let now = (self.clock)();
        if let Some(root) = roots
            .iter()
            .find(|r| r.statement.signed_at > now.saturating_add(MAX_CLOCK_SKEW_SECS))
        {
            return Err(WitnessError::Refused(KtError::RootFromFuture {
                epoch: root.statement.epoch,
                signed_at: root.statement.signed_at,
                now,
            }));
        }

        // The audit must start where this witness stands.
        let position = lock(&self.positions).get(directory).copied();
        let new_from = match position {
            None => {
                if range.from.epoch != 0 {
                    return Err(self.audit_start(directory, 0));
                }
                if range.from.hash
                    != empty_directory_root()
                        .await
                        .map_err(WitnessError::Internal)?
                {
                    return Err(WitnessError::NotGenesis {
                        directory: directory.to_owned(),
                    });
                }
                0
            }
            Some(last_epoch) => {
                if range.from.epoch != last_epoch {
                    return Err(self.audit_start(directory, last_epoch));
                }
                last_epoch + 1
            }
        };

        let fresh: Vec<&SignedRoot> = roots
            .iter()
            .filter(|r| r.statement.epoch >= new_from)
            .collect();
        self.store
            .advance(directory, log_key, &fresh, range.to.epoch)?;
        lock(&self.positions).insert(directory.to_owned(), range.to.epoch);
        tracing::info!(directory, epoch = range.to.epoch, "root co-signed");
        cosign(&self.key, &last.statement).map_err(WitnessError::Refused)
    }

    fn audit_start(&self, directory: &str, last_epoch: u64) -> WitnessError {
        WitnessError::AuditStart(WitnessPosition {
            directory: directory.to_owned(),
            last_epoch,
        })
    }
}

/// The witness's HTTP API: `POST /witness/v1/cosign` (request bodies up to
/// `max_body_bytes`), `GET /witness/v1/info`, `GET /witness/v1/evidence`.
pub fn router(witness: Arc<Witness>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/witness/v1/cosign", post(cosign_route))
        .route("/witness/v1/info", get(info_route))
        .route("/witness/v1/evidence", get(evidence_route))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(witness)
}

async fn cosign_route(
    State(witness): State<Arc<Witness>>,
    body: Result<axum::Json<CosignRequest>, JsonRejection>,
) -> Response {
    let request = match body {
        Ok(axum::Json(request)) => request,
        Err(rejection) => {
            let status = rejection.status();
            let reason = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "body-too-large"
            } else {
                "malformed-request"
            };
            return error_body(status, reason, rejection.body_text());
        }
    };
    // Verifying proofs is CPU-bound: keep it off the async workers.
    let runtime = tokio::runtime::Handle::current();
    let outcome =
        tokio::task::spawn_blocking(move || runtime.block_on(witness.cosign(&request))).await;
    match outcome {
        Ok(Ok(cosignature)) => axum::Json(cosignature).into_response(),
        Ok(Err(refusal)) => refusal.into_response(),
        Err(join) => WitnessError::Internal(join.to_string()).into_response(),
    }
}

async fn info_route(State(witness): State<Arc<Witness>>) -> Response {
    axum::Json(witness.info()).into_response()
}

async fn evidence_route(State(witness): State<Arc<Witness>>) -> Response {
    axum::Json(witness.evidence()).into_response()
}

fn error_body(status: StatusCode, reason: &str, message: String) -> Response {
    (
        status,
        axum::Json(ErrorBody {
            error: reason.to_owned(),
            message,
        }),
    )
        .into_response()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The state file.
struct WitnessStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl WitnessStore {
    fn open(path: &Path) -> Result<Self, KtServerError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| KtServerError::KeyFile {
                path: parent.display().to_string(),
                why: e.to_string(),
            })?;
        }
        let conn = Connection::open(path).map_err(KtServerError::sqlite("open witness state"))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;",
        )
        .map_err(KtServerError::sqlite("configure witness state"))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(KtServerError::sqlite("read witness schema version"))?;
        if version != 0 && version != SCHEMA_VERSION {
            return Err(KtServerError::Mismatch {
                path: path.display().to_string(),
                what: format!(
                    "witness schema version {version}, this build reads {SCHEMA_VERSION}"
                ),
            });
        }
        conn.execute_batch(SCHEMA)
            .map_err(KtServerError::sqlite("create witness schema"))?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(KtServerError::sqlite("write witness schema version"))?;
        Ok(WitnessStore {
            path: path.to_owned(),
            conn: Mutex::new(conn),
        })
    }

    /// Every log with state: its key and last epoch co-signed.
    fn logs(&self) -> Result<BTreeMap<String, (PublicKey, u64)>, KtServerError> {
        let conn = lock(&self.conn);
        let rows = conn
            .prepare("SELECT directory, log_key, last_epoch FROM logs")
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()
            })
            .map_err(KtServerError::sqlite("read followed logs"))?;
        rows.into_iter()
            .map(|(directory, key, epoch)| {
                Ok((directory, (PublicKey::from_slice(&key)?, from_sql(epoch))))
            })
            .collect()
    }

    /// The roots of `directory` verified for epochs `from..=to`.
    fn verified(
        &self,
        directory: &str,
        from: u64,
        to: u64,
    ) -> Result<BTreeMap<u64, SignedRoot>, KtServerError> {
        let conn = lock(&self.conn);
        let mut statement = conn
            .prepare_cached(
                "SELECT epoch, root_hash, signed_at, log_signature FROM epochs
                 WHERE directory = ?1 AND epoch BETWEEN ?2 AND ?3",
            )
            .map_err(KtServerError::sqlite("read verified epochs"))?;
        let rows = statement
            .query_map(params![directory, to_sql(from), to_sql(to)], |r| {
                Ok(signed_root(
                    directory,
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(KtServerError::sqlite("read verified epochs"))?;
        Ok(rows
            .into_iter()
            .map(|root| (root.statement.epoch, root))
            .collect())
    }

    /// Stores `fresh` (newly verified roots) and moves the position of
    /// `directory` to `last_epoch`, in one transaction.
    fn advance(
        &self,
        directory: &str,
        log_key: &PublicKey,
        fresh: &[&SignedRoot],
        last_epoch: u64,
    ) -> Result<(), KtServerError> {
        let mut conn = lock(&self.conn);
        let tx = conn.transaction().map_err(KtServerError::sqlite("begin"))?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO epochs (directory, epoch, root_hash, signed_at, log_signature)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(KtServerError::sqlite("store verified epochs"))?;
            for root in fresh {
                insert
                    .execute(params![
                        directory,
                        to_sql(root.statement.epoch),
                        root.statement.root_hash.0,
                        to_sql(root.statement.signed_at),
                        root.log_signature.0
                    ])
                    .map_err(KtServerError::sqlite("store verified epochs"))?;
            }
        }
        tx.execute(
            "INSERT INTO logs (directory, log_key, last_epoch) VALUES (?1, ?2, ?3)
             ON CONFLICT (directory) DO UPDATE SET last_epoch = excluded.last_epoch",
            params![directory, log_key.0.as_slice(), to_sql(last_epoch)],
        )
        .map_err(KtServerError::sqlite("store witness position"))?;
        tx.commit()
            .map_err(KtServerError::sqlite("commit witness state"))
    }

    /// Records a fork; `false` when this conflicting root was already recorded.
    fn record_fork(&self, evidence: &ForkEvidence) -> Result<bool, KtServerError> {
        let (first, second) = (&evidence.first, &evidence.second);
        let changed = lock(&self.conn)
            .execute(
                "INSERT OR IGNORE INTO forks (directory, epoch, first_hash, first_signed_at,
                     first_signature, second_hash, second_signed_at, second_signature)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    evidence.directory,
                    to_sql(evidence.epoch),
                    first.statement.root_hash.0,
                    to_sql(first.statement.signed_at),
                    first.log_signature.0,
                    second.statement.root_hash.0,
                    to_sql(second.statement.signed_at),
                    second.log_signature.0
                ],
            )
            .map_err(KtServerError::sqlite("record fork evidence"))?;
        Ok(changed > 0)
    }

    /// Every recorded fork, oldest first.
    fn forks(&self) -> Result<Vec<ForkEvidence>, KtServerError> {
        let conn = lock(&self.conn);
        let mut statement = conn
            .prepare(
                "SELECT directory, epoch, first_hash, first_signed_at, first_signature,
                        second_hash, second_signed_at, second_signature
                 FROM forks ORDER BY id",
            )
            .map_err(KtServerError::sqlite("read fork evidence"))?;
        statement
            .query_map([], |r| {
                let directory: String = r.get(0)?;
                let epoch: i64 = r.get(1)?;
                Ok(ForkEvidence {
                    first: signed_root(&directory, epoch, r.get(2)?, r.get(3)?, r.get(4)?),
                    second: signed_root(&directory, epoch, r.get(5)?, r.get(6)?, r.get(7)?),
                    epoch: from_sql(epoch),
                    directory,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(KtServerError::sqlite("read fork evidence"))
    }
}

/// A stored root (without co-signatures: only the log's signature matters
/// to the witness and to fork evidence).
fn signed_root(
    directory: &str,
    epoch: i64,
    hash: Vec<u8>,
    signed_at: i64,
    signature: Vec<u8>,
) -> SignedRoot {
    SignedRoot {
        statement: RootStatement {
            directory: directory.to_owned(),
            epoch: from_sql(epoch),
            root_hash: B64(hash),
            signed_at: from_sql(signed_at),
        },
        log_signature: B64(signature),
        cosignatures: Vec::new(),
    }
}
