//! The KDS store in SQLite (WAL, `synchronous=FULL`): an answer the KDS
//! gave (a credential, a claimed KeyPackage removed) survives a crash.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use sha2::Digest;

use super::*;

/// What [`SqliteKdsStore::metrics`] counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KdsStoreMetrics {
    /// Enrolled devices not revoked.
    pub devices: u64,
    /// Unexpired single-use KeyPackages, all devices and suites.
    pub key_packages: u64,
    /// Numbers waiting for the next transparency epoch.
    pub queued_numbers: u64,
    /// Numbers the publisher had to leave out (KDS-KT-1): an operator
    /// looks at [`TransparencyQueue::skipped`].
    pub skipped_numbers: u64,
}

/// SQLite-backed [`KdsStore`].
#[derive(Debug)]
pub struct SqliteKdsStore {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS nonces (
    nonce BLOB PRIMARY KEY,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    assurance TEXT NOT NULL,
    enrolled_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS devices_by_number ON devices (number);
CREATE TABLE IF NOT EXISTS credentials (
    serial TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (device_id),
    public_key BLOB NOT NULL,
    chain BLOB NOT NULL,
    not_after INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS credentials_by_device ON credentials (device_id);
CREATE TABLE IF NOT EXISTS key_packages (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices (device_id),
    suite INTEGER NOT NULL,
    last_resort INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    bytes BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS key_packages_by_device ON key_packages (device_id, suite, last_resort, id);
-- SHA-256 of every single-use KeyPackage ever accepted, until it expires:
-- a KeyPackage uploaded again (a retry, a replay) is refused, so it can
-- never be handed out twice, even after it was claimed.
CREATE TABLE IF NOT EXISTS key_packages_seen (
    hash BLOB PRIMARY KEY,
    not_after INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kt_queue (
    number TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
) WITHOUT ROWID;
-- How many devices each carrier proof enrolled (KDS-ENR-10), until the
-- proof expires.
CREATE TABLE IF NOT EXISTS proof_uses (
    digest BLOB PRIMARY KEY,
    uses INTEGER NOT NULL,
    not_after INTEGER NOT NULL
) WITHOUT ROWID;
-- Numbers the transparency publisher left out (KDS-KT-1).
CREATE TABLE IF NOT EXISTS kt_skipped (
    number TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    reason TEXT NOT NULL,
    skipped_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rate (
    key BLOB PRIMARY KEY,
    tokens REAL NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
";

impl SqliteKdsStore {
    /// Opens (creating) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, KdsError> {
        Self::init(Connection::open(path)?)
    }

    /// A store in memory (tests).
    pub fn open_in_memory() -> Result<Self, KdsError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, KdsError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteKdsStore {
            conn: Mutex::new(conn),
        })
    }

    /// Counts for operations (`/metrics`): active devices, unexpired
    /// single-use KeyPackages in stock, numbers waiting for the next
    /// transparency epoch.
    pub fn metrics(&self, now: u64) -> Result<KdsStoreMetrics, KdsError> {
        let conn = self.conn();
        let count = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<u64, KdsError> {
            let n: i64 = conn.query_row(sql, p, |r| r.get(0))?;
            Ok(n.max(0) as u64)
        };
        Ok(KdsStoreMetrics {
            devices: count("SELECT count(*) FROM devices WHERE revoked_at IS NULL", &[])?,
            key_packages: count(
                "SELECT count(*) FROM key_packages WHERE last_resort = 0 AND not_after > ?1",
                &[&(now as i64)],
            )?,
            queued_numbers: count("SELECT count(*) FROM kt_queue", &[])?,
            skipped_numbers: count("SELECT count(*) FROM kt_skipped", &[])?,
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn device_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRecord> {
    let token: Vec<u8> = row.get(2)?;
    let mut token_hash = [0u8; 32];
    if token.len() == 32 {
        token_hash.copy_from_slice(&token);
    }
    let assurance: String = row.get(3)?;
    Ok(DeviceRecord {
        device_id: row.get(0)?,
        number: row.get(1)?,
        token_hash,
        assurance: assurance_from(&assurance),
        enrolled_at: row.get::<_, i64>(4)? as u64,
        revoked_at: row.get::<_, Option<i64>>(5)?.map(|t| t as u64),
    })
}

const DEVICE_COLUMNS: &str = "device_id, number, token_hash, assurance, enrolled_at, revoked_at";

impl NonceStore for SqliteKdsStore {
    fn insert_nonce(&self, nonce: &[u8], expires_at: u64) -> Result<(), KdsError> {
        let conn = self.conn();
        conn.execute(
            "DELETE FROM nonces WHERE expires_at < ?1",
            params![expires_at as i64 - 3600],
        )?;
        conn.execute(
            "INSERT INTO nonces (nonce, expires_at) VALUES (?1, ?2)",
            params![nonce, expires_at as i64],
        )?;
        Ok(())
    }

    fn take_nonce(&self, nonce: &[u8], now: u64) -> Result<bool, KdsError> {
        let conn = self.conn();
        let deleted = conn.execute(
            "DELETE FROM nonces WHERE nonce = ?1 AND expires_at >= ?2",
            params![nonce, now as i64],
        )?;
        Ok(deleted == 1)
    }
}

impl DeviceStore for SqliteKdsStore {
    fn enroll(&self, enrolment: &Enrolment<'_>) -> Result<(), KdsError> {
        let device = enrolment.device;
        let mut conn = self.conn();
        // Every check and write below is one transaction: an error drops
        // it, which rolls everything back.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // KDS-ENR-8: a device id is owned by its number and its device.
        let existing: Option<(String, Vec<u8>)> = tx
            .query_row(
                "SELECT number, token_hash FROM devices WHERE device_id = ?1",
                params![device.device_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((number, token_hash)) = existing {
            if number != device.number {
                return Err(KdsError::DeviceIdTaken);
            }
            if enrolment.presented_token_hash.map(|h| h.to_vec()) != Some(token_hash) {
                return Err(KdsError::DeviceProofRequired);
            }
        }
        // KDS-ENR-10: one carrier proof enrols at most `max_per_proof`
        // devices; uses are remembered until the proof expires.
        tx.execute(
            "DELETE FROM proof_uses WHERE not_after < ?1",
            params![device.enrolled_at as i64],
        )?;
        let uses: i64 = tx
            .query_row(
                "SELECT uses FROM proof_uses WHERE digest = ?1",
                params![&enrolment.proof_digest[..]],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        if uses >= i64::from(enrolment.max_per_proof) {
            return Err(KdsError::ProofUsedUp(enrolment.max_per_proof));
        }
        tx.execute(
            "INSERT INTO proof_uses (digest, uses, not_after) VALUES (?1, 1, ?2)
             ON CONFLICT (digest) DO UPDATE SET uses = uses + 1",
            params![
                &enrolment.proof_digest[..],
                enrolment.proof_not_after as i64
            ],
        )?;
        queue_in(&tx, &device.number)?;
        if enrolment.replace_others {
            revoke_in(&tx, None, Some(&device.number), device.enrolled_at)?;
        }
        // KDS-ENR-9: the number's active devices, this one included.
        let others: i64 = tx.query_row(
            "SELECT count(*) FROM devices WHERE number = ?1 AND revoked_at IS NULL AND device_id != ?2",
            params![device.number, device.device_id],
            |r| r.get(0),
        )?;
        if others as usize >= enrolment.max_devices {
            return Err(KdsError::TooManyDevices(enrolment.max_devices));
        }
        // Re-enrolling a device id replaces its old credentials.
        revoke_in(&tx, Some(&device.device_id), None, device.enrolled_at)?;
        tx.execute(
            "INSERT OR REPLACE INTO devices (device_id, number, token_hash, assurance, enrolled_at, revoked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
            params![
                device.device_id,
                device.number,
                &device.token_hash[..],
                assurance_name(device.assurance),
                device.enrolled_at as i64
            ],
        )?;
        for c in enrolment.credentials {
            tx.execute(
                "INSERT INTO credentials (serial, device_id, public_key, chain, not_after, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
                params![c.serial, c.device_id, c.public_key, encode_chain(&c.chain), c.not_after as i64],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn device_by_token(&self, token_hash: &[u8; 32]) -> Result<Option<DeviceRecord>, KdsError> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = ?1"),
                params![&token_hash[..]],
                device_from_row,
            )
            .optional()?)
    }

    fn credentials_of(&self, device_id: &str) -> Result<Vec<IssuedCredential>, KdsError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT serial, device_id, public_key, chain, not_after FROM credentials
             WHERE device_id = ?1 AND revoked_at IS NULL ORDER BY rowid",
        )?;
        let rows = stmt.query_map(params![device_id], credential_row)?;
        credentials(rows)
    }

    fn revoke(
        &self,
        device_id: Option<&str>,
        number: Option<&str>,
        now: u64,
    ) -> Result<usize, KdsError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = revoke_in(&tx, device_id, number, now)?;
        tx.commit()?;
        Ok(n)
    }

    fn revoked_since(&self, since: u64) -> Result<Vec<String>, KdsError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT serial FROM credentials WHERE revoked_at >= ?1 ORDER BY revoked_at, serial",
        )?;
        let rows = stmt.query_map(params![since as i64], |row| row.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn active_devices(&self, number: &str) -> Result<Vec<DeviceRecord>, KdsError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE number = ?1 AND revoked_at IS NULL ORDER BY enrolled_at, device_id"
        ))?;
        let rows = stmt.query_map(params![number], device_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Queues `number` for the next key-transparency epoch, in the caller's
/// transaction (so a change is never acknowledged without being queued).
/// Its sequence number is above every queued one: a publisher that read an
/// older entry will not delete this one.
fn queue_in(tx: &rusqlite::Transaction<'_>, number: &str) -> Result<(), KdsError> {
    tx.execute(
        "INSERT INTO kt_queue (number, seq) VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM kt_queue))
         ON CONFLICT (number) DO UPDATE SET seq = excluded.seq",
        params![number],
    )?;
    Ok(())
}

impl TransparencyQueue for SqliteKdsStore {
    fn queued(&self, limit: usize) -> Result<Vec<QueuedNumber>, KdsError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT number, seq FROM kt_queue ORDER BY seq LIMIT ?1")?;
        let rows = stmt.query_map(params![limit as i64], |row| {
            Ok(QueuedNumber {
                number: row.get(0)?,
                seq: row.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn queue_len(&self) -> Result<usize, KdsError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT count(*) FROM kt_queue", [], |r| r.get(0))?;
        Ok(n as usize)
    }

    fn dequeue(&self, published: &[QueuedNumber]) -> Result<(), KdsError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for q in published {
            tx.execute(
                "DELETE FROM kt_queue WHERE number = ?1 AND seq <= ?2",
                params![q.number, q.seq],
            )?;
            tx.execute(
                "DELETE FROM kt_skipped WHERE number = ?1",
                params![q.number],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn skip(&self, skipped: &[SkippedNumber]) -> Result<(), KdsError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for q in skipped {
            tx.execute(
                "DELETE FROM kt_queue WHERE number = ?1 AND seq <= ?2",
                params![q.number, q.seq],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO kt_skipped (number, seq, reason, skipped_at) VALUES (?1, ?2, ?3, ?4)",
                params![q.number, q.seq, q.reason, q.skipped_at as i64],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn skipped(&self) -> Result<Vec<SkippedNumber>, KdsError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT number, seq, reason, skipped_at FROM kt_skipped ORDER BY skipped_at, number",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(SkippedNumber {
                number: row.get(0)?,
                seq: row.get(1)?,
                reason: row.get(2)?,
                skipped_at: row.get::<_, i64>(3)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn queue_all_numbers(&self) -> Result<usize, KdsError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let numbers: Vec<String> = {
            let mut stmt = tx.prepare("SELECT DISTINCT number FROM devices ORDER BY number")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for n in &numbers {
            queue_in(&tx, n)?;
        }
        tx.commit()?;
        Ok(numbers.len())
    }

    fn keys_of_number(&self, number: &str) -> Result<Vec<IssuedCredential>, KdsError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT c.serial, c.device_id, c.public_key, c.chain, c.not_after
             FROM credentials c JOIN devices d ON d.device_id = c.device_id
             WHERE d.number = ?1 AND d.revoked_at IS NULL AND c.revoked_at IS NULL
             ORDER BY c.device_id, c.rowid",
        )?;
        let rows = stmt.query_map(params![number], credential_row)?;
        credentials(rows)
    }
}

/// Revokes devices (by id or number) with their credentials and KeyPackages.
fn revoke_in(
    tx: &rusqlite::Transaction<'_>,
    device_id: Option<&str>,
    number: Option<&str>,
    now: u64,
) -> Result<usize, KdsError> {
    let ids: Vec<String> = {
        let mut stmt = tx.prepare(
            "SELECT device_id FROM devices WHERE revoked_at IS NULL
             AND (?1 IS NULL OR device_id = ?1) AND (?2 IS NULL OR number = ?2)
             AND (?1 IS NOT NULL OR ?2 IS NOT NULL)",
        )?;
        let rows = stmt.query_map(params![device_id, number], |row| row.get::<_, String>(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for id in &ids {
        let number: String = tx.query_row(
            "SELECT number FROM devices WHERE device_id = ?1",
            params![id],
            |r| r.get(0),
        )?;
        queue_in(tx, &number)?;
        tx.execute(
            "UPDATE devices SET revoked_at = ?2 WHERE device_id = ?1",
            params![id, now as i64],
        )?;
        tx.execute(
            "UPDATE credentials SET revoked_at = ?2 WHERE device_id = ?1 AND revoked_at IS NULL",
            params![id, now as i64],
        )?;
        tx.execute("DELETE FROM key_packages WHERE device_id = ?1", params![id])?;
    }
    Ok(ids.len())
}

fn stock_in(conn: &Connection, device_id: &str, now: u64) -> Result<Stock, KdsError> {
    let mut stock = Stock::default();
    let mut stmt = conn.prepare(
        "SELECT suite, last_resort, count(*) FROM key_packages
         WHERE device_id = ?1 AND not_after > ?2 GROUP BY suite, last_resort",
    )?;
    let rows = stmt.query_map(params![device_id, now as i64], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, bool>(1)?,
            row.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (suite, last_resort, count) = row?;
        if last_resort {
            stock.last_resort.push(suite as u16);
        } else {
            stock.available.insert(suite as u16, count as u32);
        }
    }
    Ok(stock)
}

impl KeyPackageStore for SqliteKdsStore {
    fn add_key_packages(
        &self,
        device_id: &str,
        key_packages: &[StoredKeyPackage],
        max_per_suite: usize,
        now: u64,
    ) -> Result<Stock, KdsError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM key_packages WHERE device_id = ?1 AND not_after <= ?2",
            params![device_id, now as i64],
        )?;
        tx.execute(
            "DELETE FROM key_packages_seen WHERE not_after <= ?1",
            params![now as i64],
        )?;
        for kp in key_packages {
            if !kp.last_resort {
                let hash: [u8; 32] = sha2::Sha256::digest(&kp.bytes).into();
                let fresh = tx.execute(
                    "INSERT OR IGNORE INTO key_packages_seen (hash, not_after) VALUES (?1, ?2)",
                    params![hash.as_slice(), kp.not_after as i64],
                )?;
                if fresh == 0 {
                    // Dropping the transaction rolls the whole batch back.
                    return Err(KdsError::KeyPackage(
                        "a KeyPackage in this upload was uploaded before; KeyPackages are single use"
                            .into(),
                    ));
                }
            }
            if kp.last_resort {
                tx.execute(
                    "DELETE FROM key_packages WHERE device_id = ?1 AND suite = ?2 AND last_resort = 1",
                    params![device_id, kp.suite],
                )?;
            }
            tx.execute(
                "INSERT INTO key_packages (device_id, suite, last_resort, not_after, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![device_id, kp.suite, kp.last_resort, kp.not_after as i64, kp.bytes],
            )?;
        }
        let stock = stock_in(&tx, device_id, now)?;
        if stock
            .available
            .values()
            .any(|&n| n as usize > max_per_suite)
        {
            // KDS-KP-4: at most max_per_suite single-use KeyPackages per device and suite.
            // Dropping the transaction rolls the whole batch back.
            return Err(KdsError::TooManyKeyPackages(max_per_suite));
        }
        tx.commit()?;
        Ok(stock)
    }

    fn stock(&self, device_id: &str, now: u64) -> Result<Stock, KdsError> {
        stock_in(&self.conn(), device_id, now)
    }

    fn claim(
        &self,
        number: &str,
        only: Option<&[String]>,
        now: u64,
    ) -> Result<ClaimedKeyPackages, KdsError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // KDS-CLM-2: no revoked device, no expired KeyPackage; a single-use one is
        // deleted as it is served.
        let devices: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT device_id FROM devices WHERE number = ?1 AND revoked_at IS NULL ORDER BY enrolled_at, device_id",
            )?;
            let rows = stmt.query_map(params![number], |row| row.get::<_, String>(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::new();
        for device in devices {
            if only.is_some_and(|only| !only.contains(&device)) {
                continue;
            }
            let suites: Vec<i64> = {
                let mut stmt = tx.prepare(
                    "SELECT DISTINCT suite FROM key_packages WHERE device_id = ?1 AND not_after > ?2 ORDER BY suite",
                )?;
                let rows =
                    stmt.query_map(params![device, now as i64], |row| row.get::<_, i64>(0))?;
                rows.collect::<Result<_, _>>()?
            };
            let mut kps = Vec::new();
            for suite in suites {
                let single: Option<(i64, Vec<u8>)> = tx
                    .query_row(
                        "SELECT id, bytes FROM key_packages
                         WHERE device_id = ?1 AND suite = ?2 AND last_resort = 0 AND not_after > ?3
                         ORDER BY id LIMIT 1",
                        params![device, suite, now as i64],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()?;
                match single {
                    Some((id, bytes)) => {
                        tx.execute("DELETE FROM key_packages WHERE id = ?1", params![id])?;
                        kps.push(bytes);
                    }
                    None => {
                        let last: Option<Vec<u8>> = tx
                            .query_row(
                                "SELECT bytes FROM key_packages
                                 WHERE device_id = ?1 AND suite = ?2 AND last_resort = 1 AND not_after > ?3
                                 ORDER BY id DESC LIMIT 1",
                                params![device, suite, now as i64],
                                |row| row.get(0),
                            )
                            .optional()?;
                        kps.extend(last);
                    }
                }
            }
            out.push((device, kps));
        }
        tx.commit()?;
        Ok(out)
    }
}

impl RateStore for SqliteKdsStore {
    fn take_tokens(&self, buckets: &[Bucket], now: u64) -> Result<Result<(), u64>, KdsError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut left = Vec::with_capacity(buckets.len());
        let mut wait = 0u64;
        for bucket in buckets {
            let current: Option<(f64, i64)> = tx
                .query_row(
                    "SELECT tokens, updated_at FROM rate WHERE key = ?1",
                    params![bucket.key],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let burst = f64::from(bucket.limit.burst);
            let refill = bucket.limit.refill_secs.max(1) as f64;
            let tokens = match current {
                None => burst,
                Some((tokens, updated)) => {
                    let elapsed = now.saturating_sub(updated.max(0) as u64) as f64;
                    (tokens + elapsed / refill).min(burst)
                }
            };
            if tokens < 1.0 {
                wait = wait.max((((1.0 - tokens) * refill).ceil() as u64).max(1));
            }
            left.push(tokens - 1.0);
        }
        if wait > 0 {
            // KDS-CLM-3: a token from every bucket, or from none.
            // Dropping the transaction takes nothing from any bucket.
            return Ok(Err(wait));
        }
        for (bucket, tokens) in buckets.iter().zip(left) {
            tx.execute(
                "INSERT OR REPLACE INTO rate (key, tokens, updated_at) VALUES (?1, ?2, ?3)",
                params![bucket.key, tokens, now as i64],
            )?;
        }
        tx.commit()?;
        Ok(Ok(()))
    }
}

impl SecretStore for SqliteKdsStore {
    fn secret(&self, name: &str, fresh: [u8; 32]) -> Result<[u8; 32], KdsError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT OR IGNORE INTO secrets (name, value) VALUES (?1, ?2)",
            params![name, &fresh[..]],
        )?;
        let value: Vec<u8> = tx.query_row(
            "SELECT value FROM secrets WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )?;
        tx.commit()?;
        value
            .try_into()
            .map_err(|_| KdsError::Storage(format!("secret {name} is not 32 bytes")))
    }
}

/// The columns `serial, device_id, public_key, chain, not_after` of a
/// credential row.
type CredentialRow = (String, String, Vec<u8>, Vec<u8>, i64);

fn credential_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CredentialRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn credentials(
    rows: impl Iterator<Item = rusqlite::Result<CredentialRow>>,
) -> Result<Vec<IssuedCredential>, KdsError> {
    let mut out = Vec::new();
    for row in rows {
        let (serial, device_id, public_key, chain, not_after) = row?;
        out.push(IssuedCredential {
            serial,
            device_id,
            public_key,
            chain: decode_chain(&chain)?,
            not_after: u64::try_from(not_after).unwrap_or(0),
        });
    }
    Ok(out)
}
