//! The KDS store in PostgreSQL (cargo feature `postgres`): what
//! [`SqliteKdsStore`](super::SqliteKdsStore) keeps, for several provider
//! instances sharing one database (docs/scale-out.md). Its tables live in
//! the schema `kds`, created and migrated on open
//! (crates/kds/migrations/postgres/).
//!
//! Every method is one transaction at PostgreSQL's default isolation (read
//! committed). What SQLite gets from one writer at a time, this store gets
//! from locks taken in one order, so concurrent instances keep every
//! guarantee of the traits:
//!
//! 1. the number's advisory lock (`kds/number/<number>`): enrolments and
//!    revocations of one number run one at a time, so the device limit
//!    (KDS-ENR-9) counts what the others committed;
//! 2. the device's advisory lock (`kds/device/<id>`): enrolling a device id
//!    (KDS-ENR-8: two numbers taking one id at once, one wins), uploading
//!    its KeyPackages (the per-suite limit, KDS-KP-4) and revoking it;
//!    several devices are locked in id order;
//! 3. rows, in key order: a proof's use count is one atomic upsert
//!    (KDS-ENR-10); rate buckets are locked sorted by key (KDS-CLM-3);
//!    single-use KeyPackage hashes are inserted sorted.
//!
//! A claim deletes each single-use KeyPackage it hands out with one
//! `DELETE … RETURNING`, skipping rows another claim holds (`FOR UPDATE
//! SKIP LOCKED`): concurrent claimers never get the same KeyPackage, and
//! never wait for each other. A nonce is taken by one `DELETE`. Purges of
//! expired rows skip locked rows too, so they never wait. Should
//! PostgreSQL still abort a transaction (a deadlock or serialization
//! failure), [`crosslock_pg::retry`] runs it again.

use std::future::Future;

use crosslock_pg::sqlx::postgres::{PgConnection, PgPool};
use crosslock_pg::sqlx::{self, Acquire};
use crosslock_pg::{Database, Migration, Options, Schema, TxFail, refuse, retry};
use crosslock_wire::api::kds::Stock;
use sha2::Digest;

use super::*;

/// The KDS's PostgreSQL schema and its migrations.
const SCHEMA: Schema = Schema {
    name: "kds",
    migrations: &[Migration {
        version: 1,
        description: "the KDS tables",
        sql: include_str!("../../migrations/postgres/0001_kds.sql"),
    }],
};

/// PostgreSQL-backed [`KdsStore`].
#[derive(Debug)]
pub struct PgKdsStore {
    db: Database,
}

/// A transaction's failure: the database's (run again when it aborted the
/// transaction) or a refusal, which rolls the transaction back.
type Fail = TxFail<KdsError>;

impl From<Fail> for KdsError {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Db(e) => e.into(),
            Fail::Refused(e) => e,
        }
    }
}

/// Seconds as PostgreSQL's `bigint` (as SQLite stores them).
fn secs(t: u64) -> i64 {
    t as i64
}

fn unsecs(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

impl PgKdsStore {
    /// Connects to the database at `url` (`postgres://user:password@host/db`)
    /// and brings the schema `kds` up to date (several instances starting
    /// together apply each migration once).
    pub fn open(url: &str) -> Result<Self, KdsError> {
        Self::open_with(url, &Options::default())
    }

    /// [`PgKdsStore::open`] with the pool's size and timeouts.
    pub fn open_with(url: &str, options: &Options) -> Result<Self, KdsError> {
        Ok(PgKdsStore {
            db: Database::open(url, &SCHEMA, options)?,
        })
    }

    /// Counts for operations (`/metrics`), as
    /// [`SqliteKdsStore::metrics`](super::SqliteKdsStore::metrics).
    pub fn metrics(&self, now: u64) -> Result<KdsStoreMetrics, KdsError> {
        self.run(move |pool| async move {
            let (devices, key_packages, queued, skipped): (i64, i64, i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM devices WHERE revoked_at IS NULL),
                        (SELECT count(*) FROM key_packages WHERE NOT last_resort AND not_after > $1),
                        (SELECT count(*) FROM kt_queue),
                        (SELECT count(*) FROM kt_skipped)",
            )
            .bind(secs(now))
            .fetch_one(&pool)
            .await?;
            let n = |v: i64| v.max(0) as u64;
            Ok(KdsStoreMetrics {
                devices: n(devices),
                key_packages: n(key_packages),
                queued_numbers: n(queued),
                skipped_numbers: n(skipped),
            })
        })
    }

    /// Runs `query` on the store's runtime (see [`Database::run`]).
    fn run<T, F, Fut>(&self, query: F) -> Result<T, KdsError>
    where
        F: FnOnce(PgPool) -> Fut,
        Fut: Future<Output = Result<T, Fail>> + Send + 'static,
        T: Send + 'static,
    {
        self.db.run(|pool| {
            let fut = query(pool);
            async move { fut.await.map_err(KdsError::from) }
        })
    }
}

/// Takes the transaction-scoped advisory lock `kds/<kind>/<key>` (see the
/// module's lock order).
async fn lock(conn: &mut PgConnection, kind: &str, key: &str) -> Result<(), Fail> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("kds/{kind}/{key}"))
        .execute(conn)
        .await?;
    Ok(())
}

impl NonceStore for PgKdsStore {
    fn insert_nonce(&self, nonce: &[u8], expires_at: u64) -> Result<(), KdsError> {
        let nonce = nonce.to_vec();
        self.run(move |pool| async move {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "DELETE FROM nonces WHERE nonce IN
                 (SELECT nonce FROM nonces WHERE expires_at < $1 FOR UPDATE SKIP LOCKED)",
            )
            .bind(secs(expires_at) - 3600)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO nonces (nonce, expires_at) VALUES ($1, $2)")
                .bind(nonce)
                .bind(secs(expires_at))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn take_nonce(&self, nonce: &[u8], now: u64) -> Result<bool, KdsError> {
        let nonce = nonce.to_vec();
        self.run(move |pool| async move {
            // One statement: of concurrent takers, one deletes the row.
            let done = sqlx::query("DELETE FROM nonces WHERE nonce = $1 AND expires_at >= $2")
                .bind(nonce)
                .bind(secs(now))
                .execute(&pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}

/// An [`Enrolment`] the store's runtime can own.
#[derive(Debug)]
struct OwnedEnrolment {
    device: DeviceRecord,
    credentials: Vec<IssuedCredential>,
    replace_others: bool,
    presented_token_hash: Option<[u8; 32]>,
    proof_digest: [u8; 32],
    proof_not_after: u64,
    max_devices: usize,
    max_per_proof: u32,
}

async fn enroll_in(pool: &PgPool, e: &OwnedEnrolment) -> Result<(), Fail> {
    let device = &e.device;
    let at = secs(device.enrolled_at);
    let mut tx = pool.begin().await?;
    let conn = tx.acquire().await?;
    lock(conn, "number", &device.number).await?;
    lock(conn, "device", &device.device_id).await?;
    // KDS-ENR-8: a device id is owned by its number and its device.
    let existing: Option<(String, Vec<u8>)> =
        sqlx::query_as("SELECT number, token_hash FROM devices WHERE device_id = $1")
            .bind(&device.device_id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((number, token_hash)) = existing {
        if number != device.number {
            return refuse(KdsError::DeviceIdTaken);
        }
        if e.presented_token_hash.map(|h| h.to_vec()) != Some(token_hash) {
            return refuse(KdsError::DeviceProofRequired);
        }
    }
    // KDS-ENR-10: one carrier proof enrols at most `max_per_proof` devices;
    // uses are remembered until the proof expires. One upsert counts this
    // use: concurrent enrolments with the proof queue on its row.
    sqlx::query(
        "DELETE FROM proof_uses WHERE digest IN
         (SELECT digest FROM proof_uses WHERE not_after < $1 FOR UPDATE SKIP LOCKED)",
    )
    .bind(at)
    .execute(&mut *conn)
    .await?;
    let uses: i32 = sqlx::query_scalar(
        "INSERT INTO proof_uses AS p (digest, uses, not_after) VALUES ($1, 1, $2)
         ON CONFLICT (digest) DO UPDATE SET
             uses = CASE WHEN p.not_after < $3 THEN 1 ELSE p.uses + 1 END,
             not_after = CASE WHEN p.not_after < $3 THEN excluded.not_after ELSE p.not_after END
         RETURNING uses",
    )
    .bind(&e.proof_digest[..])
    .bind(secs(e.proof_not_after))
    .bind(at)
    .fetch_one(&mut *conn)
    .await?;
    if i64::from(uses) > i64::from(e.max_per_proof) {
        return refuse(KdsError::ProofUsedUp(e.max_per_proof));
    }
    queue_in(conn, &device.number).await?;
    if e.replace_others {
        revoke_in(conn, None, Some(&device.number), device.enrolled_at).await?;
    }
    // KDS-ENR-9: the number's active devices, this one included (the
    // number's lock keeps other enrolments of it out until we commit).
    let others: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM devices WHERE number = $1 AND revoked_at IS NULL AND device_id <> $2",
    )
    .bind(&device.number)
    .bind(&device.device_id)
    .fetch_one(&mut *conn)
    .await?;
    if others as usize >= e.max_devices {
        return refuse(KdsError::TooManyDevices(e.max_devices));
    }
    // Re-enrolling a device id replaces its old credentials.
    revoke_in(conn, Some(&device.device_id), None, device.enrolled_at).await?;
    sqlx::query(
        "INSERT INTO devices (device_id, number, token_hash, assurance, enrolled_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, NULL)
         ON CONFLICT (device_id) DO UPDATE SET number = excluded.number,
             token_hash = excluded.token_hash, assurance = excluded.assurance,
             enrolled_at = excluded.enrolled_at, revoked_at = NULL",
    )
    .bind(&device.device_id)
    .bind(&device.number)
    .bind(&device.token_hash[..])
    .bind(assurance_name(device.assurance))
    .bind(at)
    .execute(&mut *conn)
    .await?;
    for c in &e.credentials {
        sqlx::query(
            "INSERT INTO credentials (serial, device_id, public_key, chain, not_after, revoked_at)
             VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(&c.serial)
        .bind(&c.device_id)
        .bind(&c.public_key)
        .bind(encode_chain(&c.chain))
        .bind(secs(c.not_after))
        .execute(&mut *conn)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Queues `number` for the next key-transparency epoch, in the caller's
/// transaction (so a change is never acknowledged without being queued).
/// The new position is drawn after the row is held: it is above that of
/// any entry a publisher read before, which so never deletes this one.
async fn queue_in(conn: &mut PgConnection, number: &str) -> Result<(), Fail> {
    sqlx::query(
        "INSERT INTO kt_queue (number, seq) VALUES ($1, nextval('kt_queue_seq'))
         ON CONFLICT (number) DO UPDATE SET seq = nextval('kt_queue_seq')",
    )
    .bind(number)
    .execute(conn)
    .await?;
    Ok(())
}

/// Revokes devices (by id or number; neither: none) with their credentials
/// and KeyPackages. The caller holds the number's lock; the devices' are
/// taken here, in id order.
async fn revoke_in(
    conn: &mut PgConnection,
    device_id: Option<&str>,
    number: Option<&str>,
    now: u64,
) -> Result<usize, Fail> {
    if device_id.is_none() && number.is_none() {
        return Ok(0);
    }
    let devices: Vec<(String, String)> = sqlx::query_as(
        "SELECT device_id, number FROM devices WHERE revoked_at IS NULL
         AND ($1::text IS NULL OR device_id = $1) AND ($2::text IS NULL OR number = $2)
         ORDER BY device_id",
    )
    .bind(device_id)
    .bind(number)
    .fetch_all(&mut *conn)
    .await?;
    for (id, number) in &devices {
        lock(conn, "device", id).await?;
        queue_in(conn, number).await?;
        sqlx::query("UPDATE devices SET revoked_at = $2 WHERE device_id = $1")
            .bind(id)
            .bind(secs(now))
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "UPDATE credentials SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(secs(now))
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM key_packages WHERE device_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(devices.len())
}

async fn revoke_tx(
    pool: &PgPool,
    device_id: Option<&str>,
    number: Option<&str>,
    now: u64,
) -> Result<usize, Fail> {
    let mut tx = pool.begin().await?;
    let conn = tx.acquire().await?;
    // The number's lock first (the lock order), found from the device when
    // only the device is named: a device id never changes number.
    let number_of_device = match (device_id, number) {
        (Some(id), None) => {
            sqlx::query_scalar::<_, String>("SELECT number FROM devices WHERE device_id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?
        }
        _ => None,
    };
    if let Some(n) = number.or(number_of_device.as_deref()) {
        lock(conn, "number", n).await?;
    }
    let n = revoke_in(conn, device_id, number, now).await?;
    tx.commit().await?;
    Ok(n)
}

type CredentialRow = (String, String, Vec<u8>, Vec<u8>, i64);

fn credentials(rows: Vec<CredentialRow>) -> Result<Vec<IssuedCredential>, Fail> {
    rows.into_iter()
        .map(|(serial, device_id, public_key, chain, not_after)| {
            Ok(IssuedCredential {
                serial,
                device_id,
                public_key,
                chain: decode_chain(&chain).map_err(Fail::Refused)?,
                not_after: unsecs(not_after),
            })
        })
        .collect()
}

type DeviceRow = (String, String, Vec<u8>, String, i64, Option<i64>);

fn device(row: DeviceRow) -> DeviceRecord {
    let (device_id, number, token, assurance, enrolled_at, revoked_at) = row;
    let mut token_hash = [0u8; 32];
    if token.len() == 32 {
        token_hash.copy_from_slice(&token);
    }
    DeviceRecord {
        device_id,
        number,
        token_hash,
        assurance: assurance_from(&assurance),
        enrolled_at: unsecs(enrolled_at),
        revoked_at: revoked_at.map(unsecs),
    }
}

impl DeviceStore for PgKdsStore {
    fn enroll(&self, enrolment: &Enrolment<'_>) -> Result<(), KdsError> {
        let e = OwnedEnrolment {
            device: enrolment.device.clone(),
            credentials: enrolment.credentials.to_vec(),
            replace_others: enrolment.replace_others,
            presented_token_hash: enrolment.presented_token_hash,
            proof_digest: enrolment.proof_digest,
            proof_not_after: enrolment.proof_not_after,
            max_devices: enrolment.max_devices,
            max_per_proof: enrolment.max_per_proof,
        };
        self.run(move |pool| async move { retry(|| enroll_in(&pool, &e)).await })
    }

    fn device_by_token(&self, token_hash: &[u8; 32]) -> Result<Option<DeviceRecord>, KdsError> {
        let token_hash = token_hash.to_vec();
        self.run(move |pool| async move {
            let row: Option<DeviceRow> = sqlx::query_as(
                "SELECT device_id, number, token_hash, assurance, enrolled_at, revoked_at
                 FROM devices WHERE token_hash = $1",
            )
            .bind(token_hash)
            .fetch_optional(&pool)
            .await?;
            Ok(row.map(device))
        })
    }

    fn credentials_of(&self, device_id: &str) -> Result<Vec<IssuedCredential>, KdsError> {
        let device_id = device_id.to_owned();
        self.run(move |pool| async move {
            let rows = sqlx::query_as(
                "SELECT serial, device_id, public_key, chain, not_after FROM credentials
                 WHERE device_id = $1 AND revoked_at IS NULL ORDER BY seq",
            )
            .bind(device_id)
            .fetch_all(&pool)
            .await?;
            credentials(rows)
        })
    }

    fn revoke(
        &self,
        device_id: Option<&str>,
        number: Option<&str>,
        now: u64,
    ) -> Result<usize, KdsError> {
        let device_id = device_id.map(str::to_owned);
        let number = number.map(str::to_owned);
        self.run(move |pool| async move {
            retry(|| revoke_tx(&pool, device_id.as_deref(), number.as_deref(), now)).await
        })
    }

    fn revoked_since(&self, since: u64) -> Result<Vec<String>, KdsError> {
        self.run(move |pool| async move {
            Ok(sqlx::query_scalar(
                "SELECT serial FROM credentials WHERE revoked_at >= $1 ORDER BY revoked_at, serial",
            )
            .bind(secs(since))
            .fetch_all(&pool)
            .await?)
        })
    }

    fn active_devices(&self, number: &str) -> Result<Vec<DeviceRecord>, KdsError> {
        let number = number.to_owned();
        self.run(move |pool| async move {
            let rows: Vec<DeviceRow> = sqlx::query_as(
                "SELECT device_id, number, token_hash, assurance, enrolled_at, revoked_at
                 FROM devices WHERE number = $1 AND revoked_at IS NULL
                 ORDER BY enrolled_at, device_id",
            )
            .bind(number)
            .fetch_all(&pool)
            .await?;
            Ok(rows.into_iter().map(device).collect())
        })
    }
}

async fn stock_in(conn: &mut PgConnection, device_id: &str, now: u64) -> Result<Stock, Fail> {
    let rows: Vec<(i32, bool, i64)> = sqlx::query_as(
        "SELECT suite, last_resort, count(*) FROM key_packages
         WHERE device_id = $1 AND not_after > $2
         GROUP BY suite, last_resort ORDER BY suite, last_resort",
    )
    .bind(device_id)
    .bind(secs(now))
    .fetch_all(conn)
    .await?;
    let mut stock = Stock::default();
    for (suite, last_resort, count) in rows {
        if last_resort {
            stock.last_resort.push(suite as u16);
        } else {
            stock.available.insert(suite as u16, count as u32);
        }
    }
    Ok(stock)
}

async fn add_in(
    pool: &PgPool,
    device_id: &str,
    key_packages: &[StoredKeyPackage],
    max_per_suite: usize,
    now: u64,
) -> Result<Stock, Fail> {
    let mut tx = pool.begin().await?;
    let conn = tx.acquire().await?;
    lock(conn, "device", device_id).await?;
    sqlx::query("DELETE FROM key_packages WHERE device_id = $1 AND not_after <= $2")
        .bind(device_id)
        .bind(secs(now))
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "DELETE FROM key_packages_seen WHERE hash IN
         (SELECT hash FROM key_packages_seen WHERE not_after <= $1 FOR UPDATE SKIP LOCKED)",
    )
    .bind(secs(now))
    .execute(&mut *conn)
    .await?;
    // Single use: every single-use KeyPackage's hash is new, or the whole
    // upload is refused (the transaction rolls back). Sorted, so two
    // uploads sharing hashes wait for each other in one order; of
    // concurrent uploads of one KeyPackage, one inserts its hash.
    let mut hashes: Vec<([u8; 32], u64)> = key_packages
        .iter()
        .filter(|kp| !kp.last_resort)
        .map(|kp| (sha2::Sha256::digest(&kp.bytes).into(), kp.not_after))
        .collect();
    hashes.sort_unstable();
    let replayed = KdsError::KeyPackage(
        "a KeyPackage in this upload was uploaded before; KeyPackages are single use".into(),
    );
    if hashes.windows(2).any(|w| w[0].0 == w[1].0) {
        return refuse(replayed);
    }
    for (hash, not_after) in &hashes {
        let fresh = sqlx::query(
            "INSERT INTO key_packages_seen (hash, not_after) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(&hash[..])
        .bind(secs(*not_after))
        .execute(&mut *conn)
        .await?;
        if fresh.rows_affected() == 0 {
            return refuse(replayed);
        }
    }
    for kp in key_packages {
        if kp.last_resort {
            sqlx::query(
                "DELETE FROM key_packages WHERE device_id = $1 AND suite = $2 AND last_resort",
            )
            .bind(device_id)
            .bind(i32::from(kp.suite))
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query(
            "INSERT INTO key_packages (device_id, suite, last_resort, not_after, bytes)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(device_id)
        .bind(i32::from(kp.suite))
        .bind(kp.last_resort)
        .bind(secs(kp.not_after))
        .bind(&kp.bytes)
        .execute(&mut *conn)
        .await?;
    }
    let stock = stock_in(conn, device_id, now).await?;
    if stock
        .available
        .values()
        .any(|&n| n as usize > max_per_suite)
    {
        // KDS-KP-4: at most max_per_suite single-use KeyPackages per device
        // and suite; the transaction rolls the whole upload back.
        return refuse(KdsError::TooManyKeyPackages(max_per_suite));
    }
    tx.commit().await?;
    Ok(stock)
}

async fn claim_in(
    pool: &PgPool,
    number: &str,
    only: Option<&[String]>,
    now: u64,
) -> Result<ClaimedKeyPackages, Fail> {
    let now = secs(now);
    let mut tx = pool.begin().await?;
    let conn = tx.acquire().await?;
    // KDS-CLM-2: no revoked device, no expired KeyPackage; a single-use one
    // is deleted as it is served.
    let devices: Vec<String> = sqlx::query_scalar(
        "SELECT device_id FROM devices WHERE number = $1 AND revoked_at IS NULL
         ORDER BY enrolled_at, device_id",
    )
    .bind(number)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for device in devices {
        if only.is_some_and(|only| !only.contains(&device)) {
            continue;
        }
        let suites: Vec<i32> = sqlx::query_scalar(
            "SELECT DISTINCT suite FROM key_packages WHERE device_id = $1 AND not_after > $2
             ORDER BY suite",
        )
        .bind(&device)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
        let mut kps = Vec::new();
        for suite in suites {
            // Taken and deleted in one statement; a row another claim holds
            // is skipped, so no two claims hand out the same KeyPackage.
            let single: Option<Vec<u8>> = sqlx::query_scalar(
                "DELETE FROM key_packages WHERE id = (
                     SELECT id FROM key_packages
                     WHERE device_id = $1 AND suite = $2 AND NOT last_resort AND not_after > $3
                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                 RETURNING bytes",
            )
            .bind(&device)
            .bind(suite)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            match single {
                Some(bytes) => kps.push(bytes),
                None => {
                    let last: Option<Vec<u8>> = sqlx::query_scalar(
                        "SELECT bytes FROM key_packages
                         WHERE device_id = $1 AND suite = $2 AND last_resort AND not_after > $3
                         ORDER BY id DESC LIMIT 1",
                    )
                    .bind(&device)
                    .bind(suite)
                    .bind(now)
                    .fetch_optional(&mut *conn)
                    .await?;
                    kps.extend(last);
                }
            }
        }
        out.push((device, kps));
    }
    tx.commit().await?;
    Ok(out)
}

impl KeyPackageStore for PgKdsStore {
    fn add_key_packages(
        &self,
        device_id: &str,
        key_packages: &[StoredKeyPackage],
        max_per_suite: usize,
        now: u64,
    ) -> Result<Stock, KdsError> {
        let device_id = device_id.to_owned();
        let key_packages = key_packages.to_vec();
        self.run(move |pool| async move {
            retry(|| add_in(&pool, &device_id, &key_packages, max_per_suite, now)).await
        })
    }

    fn stock(&self, device_id: &str, now: u64) -> Result<Stock, KdsError> {
        let device_id = device_id.to_owned();
        self.run(move |pool| async move {
            let mut conn = pool.acquire().await?;
            stock_in(&mut conn, &device_id, now).await
        })
    }

    fn claim(
        &self,
        number: &str,
        only: Option<&[String]>,
        now: u64,
    ) -> Result<ClaimedKeyPackages, KdsError> {
        let number = number.to_owned();
        let only = only.map(<[String]>::to_vec);
        self.run(move |pool| async move {
            retry(|| claim_in(&pool, &number, only.as_deref(), now)).await
        })
    }
}

async fn take_in(pool: &PgPool, buckets: &[Bucket], now: u64) -> Result<Result<(), u64>, Fail> {
    let mut tx = pool.begin().await?;
    let conn = tx.acquire().await?;
    // Every bucket's row exists (a new one full) and is locked, in key
    // order: concurrent takers of a bucket queue on its row.
    let mut keys: Vec<(&[u8], u32)> = buckets
        .iter()
        .map(|b| (b.key.as_slice(), b.limit.burst))
        .collect();
    keys.sort_by(|a, b| a.0.cmp(b.0));
    keys.dedup_by(|a, b| a.0 == b.0);
    for (key, burst) in &keys {
        sqlx::query(
            "INSERT INTO rate (key, tokens, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(*key)
        .bind(f64::from(*burst))
        .bind(secs(now))
        .execute(&mut *conn)
        .await?;
    }
    let key_list: Vec<Vec<u8>> = keys.iter().map(|(k, _)| k.to_vec()).collect();
    let rows: Vec<(Vec<u8>, f64, i64)> = sqlx::query_as(
        "SELECT key, tokens, updated_at FROM rate WHERE key = ANY($1) ORDER BY key FOR UPDATE",
    )
    .bind(&key_list)
    .fetch_all(&mut *conn)
    .await?;
    let mut left = Vec::with_capacity(buckets.len());
    let mut wait = 0u64;
    for bucket in buckets {
        let current = rows
            .iter()
            .find(|(k, _, _)| *k == bucket.key)
            .map(|(_, tokens, updated)| (*tokens, *updated));
        let burst = f64::from(bucket.limit.burst);
        let refill = bucket.limit.refill_secs.max(1) as f64;
        let tokens = match current {
            None => burst,
            Some((tokens, updated)) => {
                let elapsed = now.saturating_sub(unsecs(updated)) as f64;
                (tokens + elapsed / refill).min(burst)
            }
        };
        if tokens < 1.0 {
            wait = wait.max((((1.0 - tokens) * refill).ceil() as u64).max(1));
        }
        left.push(tokens - 1.0);
    }
    if wait > 0 {
        // KDS-CLM-3: a token from every bucket, or from none. Dropping the
        // transaction takes nothing from any bucket.
        return Ok(Err(wait));
    }
    for (bucket, tokens) in buckets.iter().zip(left) {
        sqlx::query("UPDATE rate SET tokens = $2, updated_at = $3 WHERE key = $1")
            .bind(&bucket.key)
            .bind(tokens)
            .bind(secs(now))
            .execute(&mut *conn)
            .await?;
    }
    tx.commit().await?;
    Ok(Ok(()))
}

impl RateStore for PgKdsStore {
    fn take_tokens(&self, buckets: &[Bucket], now: u64) -> Result<Result<(), u64>, KdsError> {
        if buckets.is_empty() {
            return Ok(Ok(()));
        }
        let buckets = buckets.to_vec();
        self.run(move |pool| async move { retry(|| take_in(&pool, &buckets, now)).await })
    }
}

impl SecretStore for PgKdsStore {
    fn secret(&self, name: &str, fresh: [u8; 32]) -> Result<[u8; 32], KdsError> {
        let owned = name.to_owned();
        let value = self.run(move |pool| async move {
            let name = owned;
            let mut tx = pool.begin().await?;
            // Of concurrent first uses, one inserts; the others wait for it
            // and read what it stored.
            sqlx::query("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(&name)
                .bind(&fresh[..])
                .execute(&mut *tx)
                .await?;
            let value: Vec<u8> = sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
                .bind(&name)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(value)
        })?;
        value
            .try_into()
            .map_err(|_| KdsError::Storage(format!("secret {name} is not 32 bytes")))
    }
}

/// The entries sorted by number: concurrent publishers take row locks in
/// one order.
fn by_number<T: Clone>(entries: &[T], number: impl Fn(&T) -> &str) -> Vec<T> {
    let mut v = entries.to_vec();
    v.sort_by(|a, b| number(a).cmp(number(b)));
    v
}

impl TransparencyQueue for PgKdsStore {
    fn queued(&self, limit: usize) -> Result<Vec<QueuedNumber>, KdsError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |pool| async move {
            let rows: Vec<(String, i64)> =
                sqlx::query_as("SELECT number, seq FROM kt_queue ORDER BY seq LIMIT $1")
                    .bind(limit)
                    .fetch_all(&pool)
                    .await?;
            Ok(rows
                .into_iter()
                .map(|(number, seq)| QueuedNumber { number, seq })
                .collect())
        })
    }

    fn queue_len(&self) -> Result<usize, KdsError> {
        self.run(move |pool| async move {
            let n: i64 = sqlx::query_scalar("SELECT count(*) FROM kt_queue")
                .fetch_one(&pool)
                .await?;
            Ok(n.max(0) as usize)
        })
    }

    fn dequeue(&self, published: &[QueuedNumber]) -> Result<(), KdsError> {
        let published = by_number(published, |q| &q.number);
        self.run(move |pool| async move {
            retry(|| async {
                let mut tx = pool.begin().await?;
                for q in &published {
                    sqlx::query("DELETE FROM kt_queue WHERE number = $1 AND seq <= $2")
                        .bind(&q.number)
                        .bind(q.seq)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM kt_skipped WHERE number = $1")
                        .bind(&q.number)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            })
            .await
        })
    }

    fn skip(&self, skipped: &[SkippedNumber]) -> Result<(), KdsError> {
        let skipped = by_number(skipped, |q| &q.number);
        self.run(move |pool| async move {
            retry(|| async {
                let mut tx = pool.begin().await?;
                for q in &skipped {
                    sqlx::query("DELETE FROM kt_queue WHERE number = $1 AND seq <= $2")
                        .bind(&q.number)
                        .bind(q.seq)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "INSERT INTO kt_skipped (number, seq, reason, skipped_at) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (number) DO UPDATE SET seq = excluded.seq,
                             reason = excluded.reason, skipped_at = excluded.skipped_at",
                    )
                    .bind(&q.number)
                    .bind(q.seq)
                    .bind(&q.reason)
                    .bind(secs(q.skipped_at))
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            })
            .await
        })
    }

    fn skipped(&self) -> Result<Vec<SkippedNumber>, KdsError> {
        self.run(move |pool| async move {
            let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(
                "SELECT number, seq, reason, skipped_at FROM kt_skipped ORDER BY skipped_at, number",
            )
            .fetch_all(&pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(number, seq, reason, at)| SkippedNumber {
                    number,
                    seq,
                    reason,
                    skipped_at: unsecs(at),
                })
                .collect())
        })
    }

    fn queue_all_numbers(&self) -> Result<usize, KdsError> {
        self.run(move |pool| async move {
            retry(|| async {
                // One statement, numbers in order (so its row locks are
                // taken in the order other writers of the queue use).
                let done = sqlx::query(
                    "INSERT INTO kt_queue (number, seq)
                     SELECT number, nextval('kt_queue_seq')
                     FROM (SELECT DISTINCT number FROM devices ORDER BY number) AS n
                     ON CONFLICT (number) DO UPDATE SET seq = nextval('kt_queue_seq')",
                )
                .execute(&pool)
                .await?;
                Ok::<_, Fail>(done.rows_affected() as usize)
            })
            .await
        })
    }

    fn keys_of_number(&self, number: &str) -> Result<Vec<IssuedCredential>, KdsError> {
        let number = number.to_owned();
        self.run(move |pool| async move {
            let rows = sqlx::query_as(
                "SELECT c.serial, c.device_id, c.public_key, c.chain, c.not_after
                 FROM credentials c JOIN devices d ON d.device_id = c.device_id
                 WHERE d.number = $1 AND d.revoked_at IS NULL AND c.revoked_at IS NULL
                 ORDER BY c.device_id, c.seq",
            )
            .bind(number)
            .fetch_all(&pool)
            .await?;
            credentials(rows)
        })
    }
}
