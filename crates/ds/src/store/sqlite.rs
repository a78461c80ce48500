//! The delivery-service store in SQLite (WAL, `synchronous=FULL`).
//!
//! Accepting a message is one transaction, made durable before the DS
//! answers. To relay thousands of messages a second on one disk, concurrent
//! `accept` calls share transactions (group commit): whoever holds the
//! connection writes every waiting submission, each in its own savepoint,
//! and commits once; each caller gets its own outcome only after that
//! commit.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::*;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS conversations (
    group_id BLOB PRIMARY KEY,
    hub TEXT,
    era INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    state BLOB NOT NULL,
    group_info BLOB NOT NULL,
    ratchet_tree BLOB,
    members TEXT NOT NULL,
    ended INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS accepted (
    group_id BLOB NOT NULL,
    message_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (group_id, message_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS accepted_by_time ON accepted (at);
CREATE TABLE IF NOT EXISTS epoch_authenticators (
    group_id BLOB NOT NULL,
    era INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    authenticator BLOB NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (group_id, era, epoch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS epoch_owners (
    group_id BLOB NOT NULL,
    era INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    device TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (group_id, era, epoch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS creations (
    group_id BLOB PRIMARY KEY,
    era INTEGER NOT NULL,
    group_info BLOB NOT NULL,
    ratchet_tree BLOB
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS commits (
    group_id BLOB NOT NULL,
    era INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    envelope BLOB NOT NULL,
    external INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (group_id, era, epoch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    message_id TEXT NOT NULL,
    envelope BLOB NOT NULL,
    ratchet_tree BLOB,
    at INTEGER NOT NULL,
    UNIQUE (device, message_id)
);
CREATE INDEX IF NOT EXISTS inbox_by_device ON inbox (device, seq);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    peer TEXT NOT NULL,
    group_id BLOB NOT NULL,
    number TEXT NOT NULL,
    device TEXT NOT NULL,
    message_id TEXT NOT NULL,
    envelope BLOB NOT NULL,
    ratchet_tree BLOB,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_by_peer ON outbox (peer, seq);
CREATE TABLE IF NOT EXISTS push_tokens (
    device TEXT PRIMARY KEY,
    token TEXT NOT NULL
) WITHOUT ROWID;
";

/// Columns added after the first schema, for stores created before them
/// (`CREATE TABLE IF NOT EXISTS` leaves an existing table as it is).
/// DS-TREE-1: the ratchet tree that travels beside a GroupInfo or a
/// Welcome (issue 15).
const ADDED_COLUMNS: &[(&str, &str)] = &[
    ("conversations", "ratchet_tree"),
    ("creations", "ratchet_tree"),
    ("inbox", "ratchet_tree"),
    ("outbox", "ratchet_tree"),
];

/// Adds the [`ADDED_COLUMNS`] a store opened from an older schema lacks.
fn migrate(conn: &Connection) -> Result<(), DsError> {
    for (table, column) in ADDED_COLUMNS {
        let present: bool = conn.query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
            params![table, column],
            |r| r.get(0),
        )?;
        if !present {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} BLOB"))?;
        }
    }
    Ok(())
}

/// How many waiting submissions one transaction takes at most.
const MAX_BATCH: usize = 512;

type Slot = Arc<(Mutex<Option<Result<Outcome, DsError>>>, Condvar)>;

/// Reader connections (WAL lets them read while the writer writes).
const READERS: usize = 4;

/// What [`SqliteDsStore::metrics`] counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DsStoreMetrics {
    /// Messages waiting in device inboxes.
    pub inbox_items: u64,
    /// Devices with at least one message waiting.
    pub inbox_devices: u64,
    /// Deliveries queued for peer providers.
    pub outbox_items: u64,
}

/// SQLite-backed [`DsStore`].
///
/// One writer connection (`synchronous=FULL`) for everything that must
/// survive a crash once answered; a few reader connections; and one
/// connection with `synchronous=NORMAL` for acknowledgements and outbox
/// cleanup, whose loss in a power cut only means a redelivery that the
/// receiver recognises (at-least-once).
#[derive(Debug)]
pub struct SqliteDsStore {
    conn: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    lazy: Mutex<Connection>,
    next_reader: std::sync::atomic::AtomicUsize,
    waiting: Mutex<Vec<(Arc<Accepted>, Slot)>>,
    acks: Mutex<PendingAcks>,
}

/// Acknowledgements not yet deleted from the database: deleting them one
/// transaction each would cost as much as accepting the messages. They are
/// applied in batches (every 100 ms or 2000 acknowledgements, whichever
/// first, on the next acknowledgement, and by the DS's once-a-second
/// [`Maintenance::flush`]) and hidden from inbox reads until then. Losing them
/// in a crash only causes redeliveries the client recognises.
#[derive(Debug, Default)]
struct PendingAcks {
    through: HashMap<String, u64>,
    seqs: Vec<(String, u64)>,
    since: Option<Instant>,
}

/// When pending acknowledgements are written.
const ACK_FLUSH_AFTER: Duration = Duration::from_millis(100);
const ACK_FLUSH_COUNT: usize = 2000;

/// A position or epoch from a request, as SQLite's signed integer:
/// beyond `i64::MAX` nothing exists, so saturating keeps the query's meaning.
fn position(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Drop for SqliteDsStore {
    fn drop(&mut self) {
        let _ = self.flush_acks();
    }
}

/// The inbox key of a device.
fn device_key(device: &DeviceRef) -> String {
    format!("{}#{}", device.number, device.device)
}

impl SqliteDsStore {
    /// Opens (creating) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, DsError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Checkpoints run mostly on the lazy connection after
        // acknowledgements are flushed (see `flush_acks`), not inside a
        // commit devices wait on; the automatic one is a backstop.
        conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        let open = |synchronous: &str| -> Result<Connection, DsError> {
            let c = Connection::open(path)?;
            c.pragma_update(None, "synchronous", synchronous)?;
            c.busy_timeout(std::time::Duration::from_secs(5))?;
            Ok(c)
        };
        let readers = (0..READERS)
            .map(|_| open("FULL").map(Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(SqliteDsStore {
            conn: Mutex::new(conn),
            readers,
            lazy: Mutex::new(open("NORMAL")?),
            next_reader: Default::default(),
            waiting: Mutex::new(Vec::new()),
            acks: Mutex::default(),
        })
    }

    /// Counts for operations (`/metrics`): messages waiting in inboxes
    /// (acknowledgements not yet written still count), devices with
    /// something waiting, deliveries queued for peers. Reads a snapshot; a
    /// full scan of the inbox index, so scrape it every few seconds, not
    /// per request.
    pub fn metrics(&self) -> Result<DsStoreMetrics, DsError> {
        let conn = self.reader();
        let (inbox_items, inbox_devices): (i64, i64) = conn.query_row(
            "SELECT count(*), count(DISTINCT device) FROM inbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let outbox_items: i64 = conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?;
        Ok(DsStoreMetrics {
            inbox_items: inbox_items.max(0) as u64,
            inbox_devices: inbox_devices.max(0) as u64,
            outbox_items: outbox_items.max(0) as u64,
        })
    }

    /// The writer.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A reader: a free one if there is, else the next in turn.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        for r in &self.readers {
            if let Ok(guard) = r.try_lock() {
                return guard;
            }
        }
        let i = self
            .next_reader
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            % self.readers.len();
        self.readers[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    fn acks(&self) -> MutexGuard<'_, PendingAcks> {
        self.acks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records acknowledgements; writes the pending ones when due.
    fn note_acks(&self, record: impl FnOnce(&mut PendingAcks)) -> Result<(), DsError> {
        let due = {
            let mut acks = self.acks();
            record(&mut acks);
            let since = *acks.since.get_or_insert_with(Instant::now);
            since.elapsed() >= ACK_FLUSH_AFTER
                || acks.seqs.len() + acks.through.len() >= ACK_FLUSH_COUNT
        };
        if due { self.flush_acks() } else { Ok(()) }
    }

    /// Deletes every acknowledged item still pending, in one transaction.
    pub fn flush_acks(&self) -> Result<(), DsError> {
        let mut conn = self.lazy();
        let pending = std::mem::take(&mut *self.acks());
        if pending.through.is_empty() && pending.seqs.is_empty() {
            return Ok(());
        }
        let result = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut one =
                    tx.prepare_cached("DELETE FROM inbox WHERE seq = ?1 AND device = ?2")?;
                for (device, seq) in &pending.seqs {
                    one.execute(params![position(*seq), device])?;
                }
                let mut upto =
                    tx.prepare_cached("DELETE FROM inbox WHERE device = ?1 AND seq <= ?2")?;
                for (device, seq) in &pending.through {
                    upto.execute(params![device, position(*seq)])?;
                }
            }
            tx.commit()?;
            // Copy the WAL into the database now and then, off the
            // acceptance path (PASSIVE: never waits for readers or the
            // writer; whatever it cannot copy now is copied next time).
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
            Ok::<_, DsError>(())
        })();
        if result.is_err() {
            // Keep them pending: they are retried with the next flush.
            let mut acks = self.acks();
            for (device, seq) in pending.through {
                let t = acks.through.entry(device).or_default();
                *t = (*t).max(seq);
            }
            acks.seqs.extend(pending.seqs);
        }
        result
    }

    /// The connection for writes whose loss only causes a redelivery.
    fn lazy(&self) -> MutexGuard<'_, Connection> {
        self.lazy.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn waiting(&self) -> MutexGuard<'_, Vec<(Arc<Accepted>, Slot)>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes every waiting submission in one transaction (group commit).
    fn write_batch(&self, conn: &mut Connection) {
        loop {
            let batch: Vec<(Arc<Accepted>, Slot)> = {
                let mut waiting = self.waiting();
                let n = waiting.len().min(MAX_BATCH);
                waiting.drain(..n).collect()
            };
            if batch.is_empty() {
                return;
            }
            let results = run_batch(conn, &batch);
            for ((_, slot), result) in batch.iter().zip(results) {
                let (lock, cvar) = &**slot;
                *lock.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
                cvar.notify_all();
            }
        }
    }
}

fn run_batch(
    conn: &mut Connection,
    batch: &[(Arc<Accepted>, Slot)],
) -> Vec<Result<Outcome, DsError>> {
    // Fast path: every submission in one transaction. `accept_in` decides
    // duplicates, conflicts and unknown conversations before writing, so
    // only a storage error can leave a submission half-written: then the
    // whole transaction is rolled back and the batch redone with one
    // savepoint per submission.
    let fast = (|| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut results = Vec::with_capacity(batch.len());
        for (accepted, _) in batch {
            match accept_in(&tx, accepted) {
                Err(e @ (DsError::Storage(_) | DsError::StorageFull)) => return Err(e),
                other => results.push(other),
            }
        }
        tx.commit()?;
        Ok::<_, DsError>(results)
    })();
    if let Ok(results) = fast {
        return results;
    }
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return batch.iter().map(|_| Err(e.clone_error())).collect(),
    };
    let mut results = Vec::with_capacity(batch.len());
    for (accepted, _) in batch {
        let result = (|| {
            let sp = tx.savepoint()?;
            let outcome = accept_in(&sp, accepted)?;
            sp.commit()?;
            Ok::<_, DsError>(outcome)
        })();
        results.push(result);
    }
    match tx.commit() {
        Ok(()) => results,
        Err(e) => batch.iter().map(|_| Err(e.clone_error())).collect(),
    }
}

/// `rusqlite::Error` is not `Clone`; a batch failure is reported to every
/// submission in it.
trait CloneError {
    fn clone_error(&self) -> DsError;
}

impl CloneError for rusqlite::Error {
    fn clone_error(&self) -> DsError {
        DsError::from(self)
    }
}

fn members_json(members: &[Member]) -> Result<String, DsError> {
    serde_json::to_string(members).map_err(|e| DsError::Internal(e.to_string()))
}

/// Puts one accepted message in the database (inside a transaction).
fn accept_in(conn: &Connection, a: &Accepted) -> Result<Outcome, DsError> {
    let row: Option<(Option<String>, u32, u64)> = conn
        .query_row(
            "SELECT hub, era, epoch FROM conversations WHERE group_id = ?1",
            params![a.group_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((None, era, epoch)) = row else {
        return Err(DsError::UnknownConversation);
    };
    let seen = conn
        .prepare_cached("SELECT 1 FROM accepted WHERE group_id = ?1 AND message_id = ?2")?
        .exists(params![a.group_id, a.message_id])?;
    if seen {
        return Ok(Outcome::Duplicate);
    }
    // Exactly one commit per epoch: the state moves only from the epoch
    // the commit was checked against.
    if a.new_state.is_some() && epoch != a.epoch {
        return Ok(Outcome::Conflict);
    }
    conn.prepare_cached("INSERT INTO accepted (group_id, message_id, at) VALUES (?1, ?2, ?3)")?
        .execute(params![a.group_id, a.message_id, a.at])?;
    if let Some(new) = &a.new_state {
        conn.execute(
            "UPDATE conversations SET epoch = ?2, state = ?3, group_info = ?4, members = ?5, ended = ?6,
             ratchet_tree = ?7 WHERE group_id = ?1",
            params![
                a.group_id,
                new.epoch,
                new.state,
                new.group_info,
                members_json(&new.members)?,
                new.ended,
                new.ratchet_tree
            ],
        )?;
        if let Some(commit) = &new.commit {
            conn.execute(
                "INSERT INTO commits (group_id, era, epoch, message_id, envelope, external, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    a.group_id,
                    era,
                    a.epoch,
                    a.message_id,
                    commit,
                    new.external,
                    a.at
                ],
            )?;
        }
    }
    record_owner(conn, &a.group_id, era, a.opens.as_ref(), a.at)?;
    if let Some(pin) = &a.pin {
        // DS-AUTH-1: only the device that opened the epoch pins it; the
        // first such claim wins and never changes.
        conn.prepare_cached(
            "INSERT OR IGNORE INTO epoch_authenticators (group_id, era, epoch, authenticator, at)
             SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (
                 SELECT 1 FROM epoch_owners
                 WHERE group_id = ?1 AND era = ?2 AND epoch = ?3 AND device = ?6)",
        )?
        .execute(params![
            a.group_id,
            era,
            position(pin.epoch),
            pin.authenticator.as_slice(),
            a.at,
            device_key(&pin.sender)
        ])?;
    }
    fan_out(conn, &a.group_id, &a.fanout, a.at)?;
    Ok(Outcome::Stored)
}

/// Records which device opened an epoch (DS-AUTH-1).
fn record_owner(
    conn: &Connection,
    group_id: &[u8],
    era: u32,
    owner: Option<&EpochOwner>,
    at: u64,
) -> Result<(), DsError> {
    if let Some(owner) = owner {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO epoch_owners (group_id, era, epoch, device, at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            group_id,
            era,
            position(owner.epoch),
            device_key(&owner.device),
            at
        ])?;
    }
    Ok(())
}

/// Inbox rows for local recipients, outbox rows for remote ones.
fn fan_out(conn: &Connection, group_id: &[u8], fanout: &[Fanout], at: u64) -> Result<(), DsError> {
    let mut inbox = conn.prepare_cached(
        "INSERT OR IGNORE INTO inbox (device, message_id, envelope, ratchet_tree, at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut outbox = conn.prepare_cached(
        "INSERT INTO outbox (peer, group_id, number, device, message_id, envelope, ratchet_tree, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for f in fanout {
        match &f.recipient.home {
            None => {
                inbox.execute(params![
                    device_key(&f.recipient.device),
                    f.message_id,
                    f.envelope,
                    f.ratchet_tree,
                    at
                ])?;
            }
            Some(peer) => {
                outbox.execute(params![
                    peer,
                    group_id,
                    f.recipient.device.number,
                    f.recipient.device.device,
                    f.message_id,
                    f.envelope,
                    f.ratchet_tree,
                    at
                ])?;
            }
        }
    }
    Ok(())
}

fn hosted_from_row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(Option<String>, HostedConversation)> {
    let members: String = r.get(6)?;
    let members = serde_json::from_str(&members).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok((
        r.get(1)?,
        HostedConversation {
            group_id: r.get(0)?,
            era: r.get(2)?,
            epoch: r.get(3)?,
            state: r.get(4)?,
            group_info: r.get(5)?,
            ratchet_tree: r.get::<_, Option<Vec<u8>>>(8)?.unwrap_or_default(),
            members,
            ended: r.get(7)?,
        },
    ))
}

impl ConversationStore for SqliteDsStore {
    fn conversation(&self, group_id: &[u8]) -> Result<Option<Hosting>, DsError> {
        let conn = self.reader();
        let row = conn
            .query_row(
                "SELECT group_id, hub, era, epoch, state, group_info, members, ended, ratchet_tree
                 FROM conversations WHERE group_id = ?1",
                params![group_id],
                hosted_from_row,
            )
            .optional()?;
        Ok(row.map(|(hub, hosted)| match hub {
            Some(hub) => Hosting::Follower { hub },
            None => Hosting::Hub(hosted),
        }))
    }

    fn create(
        &self,
        conversation: &HostedConversation,
        accepted: &Accepted,
    ) -> Result<Outcome, DsError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<(Option<String>, u32)> = tx
            .query_row(
                "SELECT hub, era FROM conversations WHERE group_id = ?1",
                params![conversation.group_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let seen: bool = tx
            .query_row(
                "SELECT 1 FROM accepted WHERE group_id = ?1 AND message_id = ?2",
                params![conversation.group_id, accepted.message_id],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        if seen {
            return Ok(Outcome::Duplicate);
        }
        match existing {
            None => {}
            // A new era replaces the conversation under the same group id
            // (RCC.16 recovery, last step); the caller checked the
            // submitter was a member.
            Some((None, era)) if conversation.era > era => {
                tx.execute(
                    "DELETE FROM conversations WHERE group_id = ?1",
                    params![conversation.group_id],
                )?;
            }
            Some(_) => return Err(DsError::ConversationExists),
        }
        tx.execute(
            "INSERT INTO conversations (group_id, hub, era, epoch, state, group_info, members, ended, created_at, ratchet_tree)
             VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                conversation.group_id,
                conversation.era,
                conversation.epoch,
                conversation.state,
                conversation.group_info,
                members_json(&conversation.members)?,
                conversation.ended,
                accepted.at,
                conversation.ratchet_tree
            ],
        )?;
        tx.execute(
            "INSERT INTO accepted (group_id, message_id, at) VALUES (?1, ?2, ?3)",
            params![conversation.group_id, accepted.message_id, accepted.at],
        )?;
        // DS-FED-5: what proves to followers that this conversation was
        // created here.
        tx.execute(
            "INSERT OR REPLACE INTO creations (group_id, era, group_info, ratchet_tree)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                conversation.group_id,
                conversation.era,
                conversation.group_info,
                conversation.ratchet_tree
            ],
        )?;
        record_owner(
            &tx,
            &conversation.group_id,
            conversation.era,
            accepted.opens.as_ref(),
            accepted.at,
        )?;
        fan_out(&tx, &conversation.group_id, &accepted.fanout, accepted.at)?;
        tx.commit()?;
        Ok(Outcome::Stored)
    }

    fn accept(&self, accepted: &Accepted) -> Result<Outcome, DsError> {
        let slot: Slot = Arc::default();
        self.waiting()
            .push((Arc::new(accepted.clone()), slot.clone()));
        {
            let mut conn = self.conn();
            let done = slot.0.lock().unwrap_or_else(|p| p.into_inner()).is_some();
            if !done {
                self.write_batch(&mut conn);
            }
        }
        let (lock, cvar) = &*slot;
        let mut result = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(r) = result.take() {
                return r;
            }
            result = cvar.wait(result).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn deliver_from_hub(
        &self,
        hub: &str,
        group_id: &[u8],
        deliveries: &[Fanout],
        creation_proven: bool,
        at: u64,
    ) -> Result<Vec<DeviceRef>, DsError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<Option<String>> = tx
            .query_row(
                "SELECT hub FROM conversations WHERE group_id = ?1",
                params![group_id],
                |r| r.get(0),
            )
            .optional()?;
        match existing {
            // DS-FED-5: a peer becomes a group's hub here only with the
            // proof that the group was created there.
            None if !creation_proven => return Err(DsError::HubUnproven),
            None => {
                tx.execute(
                    "INSERT INTO conversations (group_id, hub, era, epoch, state, group_info, members, ended, created_at)
                     VALUES (?1, ?2, 0, 0, x'', x'', '[]', 0, ?3)",
                    params![group_id, hub, at],
                )?;
            }
            Some(Some(known)) if known == hub => {}
            // A conversation hosted here, or followed at another hub: a
            // peer cannot take it over.
            Some(_) => return Err(DsError::NotTheHub),
        }
        let mut woken = Vec::new();
        {
            let mut inbox = tx.prepare_cached(
                "INSERT OR IGNORE INTO inbox (device, message_id, envelope, ratchet_tree, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for d in deliveries {
                if inbox.execute(params![
                    device_key(&d.recipient.device),
                    d.message_id,
                    d.envelope,
                    d.ratchet_tree,
                    at
                ])? > 0
                {
                    woken.push(d.recipient.device.clone());
                }
            }
        }
        tx.commit()?;
        woken.sort();
        woken.dedup();
        Ok(woken)
    }
}

impl EpochLog for SqliteDsStore {
    fn epoch_authenticator(
        &self,
        group_id: &[u8],
        era: u32,
        epoch: u64,
    ) -> Result<Option<[u8; 32]>, DsError> {
        let conn = self.reader();
        let auth: Option<Vec<u8>> = conn
            .query_row(
                "SELECT authenticator FROM epoch_authenticators WHERE group_id = ?1 AND era = ?2 AND epoch = ?3",
                params![group_id, era, epoch],
                |r| r.get(0),
            )
            .optional()?;
        Ok(auth.and_then(|a| a.try_into().ok()))
    }

    fn commits(
        &self,
        group_id: &[u8],
        from_epoch: u64,
        limit: usize,
    ) -> Result<Vec<Queued>, DsError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT c.epoch, c.message_id, c.envelope FROM commits c
             JOIN conversations v ON v.group_id = c.group_id AND v.era = c.era
             WHERE c.group_id = ?1 AND c.epoch >= ?2 ORDER BY c.epoch LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![group_id, position(from_epoch), limit as i64], |r| {
            Ok(Queued {
                seq: r.get(0)?,
                message_id: r.get(1)?,
                envelope: r.get(2)?,
                ratchet_tree: None,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn external_commits_since(&self, group_id: &[u8], since: u64) -> Result<u64, DsError> {
        let conn = self.reader();
        Ok(conn.query_row(
            "SELECT COUNT(*) FROM commits WHERE group_id = ?1 AND external = 1 AND at >= ?2",
            params![group_id, since],
            |r| r.get(0),
        )?)
    }
}

impl InboxStore for SqliteDsStore {
    fn inbox(&self, device: &DeviceRef, after: u64, limit: usize) -> Result<Vec<Queued>, DsError> {
        let key = device_key(device);
        let (after, hidden): (u64, Vec<u64>) = {
            let acks = self.acks();
            let through = acks.through.get(&key).copied().unwrap_or(0);
            let hidden = acks
                .seqs
                .iter()
                .filter(|(d, _)| d == &key)
                .map(|(_, s)| *s)
                .collect();
            (after.max(through), hidden)
        };
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, message_id, envelope, ratchet_tree FROM inbox
             WHERE device = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![key, position(after), (limit + hidden.len()) as i64],
            |r| {
                Ok(Queued {
                    seq: r.get(0)?,
                    message_id: r.get(1)?,
                    envelope: r.get(2)?,
                    ratchet_tree: r.get(3)?,
                })
            },
        )?;
        let mut items: Vec<Queued> = rows.collect::<Result<_, _>>()?;
        items.retain(|q| !hidden.contains(&q.seq));
        items.truncate(limit);
        Ok(items)
    }

    fn ack(&self, device: &DeviceRef, seqs: &[u64]) -> Result<(), DsError> {
        let key = device_key(device);
        self.note_acks(|acks| acks.seqs.extend(seqs.iter().map(|s| (key.clone(), *s))))
    }

    fn ack_through(&self, device: &DeviceRef, seq: u64) -> Result<(), DsError> {
        let key = device_key(device);
        self.note_acks(|acks| {
            let t = acks.through.entry(key).or_default();
            *t = (*t).max(seq);
        })
    }
}

impl OutboxStore for SqliteDsStore {
    fn outbox(&self, peer: &str, limit: usize) -> Result<Vec<OutboxEntry>, DsError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT seq, peer, group_id, number, device, message_id, envelope, ratchet_tree FROM outbox
             WHERE peer = ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![peer, limit as i64], |r| {
            Ok(OutboxEntry {
                seq: r.get(0)?,
                peer: r.get(1)?,
                group_id: r.get(2)?,
                recipient: DeviceRef {
                    number: r.get(3)?,
                    device: r.get(4)?,
                },
                message_id: r.get(5)?,
                envelope: r.get(6)?,
                ratchet_tree: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn outbox_done(&self, seqs: &[u64]) -> Result<(), DsError> {
        let mut conn = self.lazy();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?;
            for seq in seqs {
                stmt.execute(params![position(*seq)])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn creation(&self, group_id: &[u8]) -> Result<Option<Creation>, DsError> {
        Ok(self
            .reader()
            .query_row(
                "SELECT c.group_info, c.ratchet_tree, v.created_at FROM creations c
                 JOIN conversations v ON v.group_id = c.group_id AND v.era = c.era
                 WHERE c.group_id = ?1 AND v.hub IS NULL",
                params![group_id],
                |r| {
                    Ok(Creation {
                        group_info: r.get(0)?,
                        ratchet_tree: r.get(1)?,
                        created_at: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }
}

impl PushTokens for SqliteDsStore {
    fn set_push_token(&self, device: &DeviceRef, token: &str) -> Result<(), DsError> {
        self.conn().execute(
            "INSERT INTO push_tokens (device, token) VALUES (?1, ?2)
             ON CONFLICT (device) DO UPDATE SET token = excluded.token",
            params![device_key(device), token],
        )?;
        Ok(())
    }

    fn push_token(&self, device: &DeviceRef) -> Result<Option<String>, DsError> {
        Ok(self
            .reader()
            .query_row(
                "SELECT token FROM push_tokens WHERE device = ?1",
                params![device_key(device)],
                |r| r.get(0),
            )
            .optional()?)
    }
}

impl Maintenance for SqliteDsStore {
    fn purge(&self, before: u64) -> Result<u64, DsError> {
        self.flush_acks()?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // A scan (no index on `at`: one fewer b-tree per delivered item);
        // this runs hourly.
        let expired = tx.execute("DELETE FROM inbox WHERE at < ?1", params![before])?;
        tx.execute("DELETE FROM accepted WHERE at < ?1", params![before])?;
        tx.execute("DELETE FROM commits WHERE at < ?1", params![before])?;
        tx.execute(
            "DELETE FROM epoch_authenticators WHERE at < ?1",
            params![before],
        )?;
        tx.execute("DELETE FROM epoch_owners WHERE at < ?1", params![before])?;
        tx.commit()?;
        Ok(expired as u64)
    }

    fn flush(&self) -> Result<(), DsError> {
        self.flush_acks()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DS-TREE-1: a store created before the ratchet tree was kept gets
    /// the columns when opened, keeps its rows, and stores and serves trees.
    #[test]
    fn a_store_from_before_the_tree_columns_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ds.sqlite3");
        let old_schema = SCHEMA
            .replace("\n    ratchet_tree BLOB,", "")
            .replace(",\n    ratchet_tree BLOB\n", "\n");
        assert!(!old_schema.contains("ratchet_tree"));
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&old_schema).unwrap();
            conn.execute(
                "INSERT INTO inbox (device, message_id, envelope, at) VALUES ('+1#d', 'old', x'01', 1)",
                [],
            )
            .unwrap();
        }
        let store = SqliteDsStore::open(&path).unwrap();
        let device = DeviceRef {
            number: "+1".into(),
            device: "d".into(),
        };
        store
            .deliver_from_hub(
                "hub.example",
                b"group",
                &[Fanout {
                    recipient: Member {
                        device: device.clone(),
                        home: None,
                    },
                    message_id: "welcome".into(),
                    envelope: vec![2],
                    ratchet_tree: Some(vec![3, 4]),
                }],
                true,
                2,
            )
            .unwrap();
        let items = store.inbox(&device, 0, 10).unwrap();
        let trees: Vec<_> = items
            .iter()
            .map(|q| (q.message_id.as_str(), q.ratchet_tree.clone()))
            .collect();
        assert_eq!(trees, [("old", None), ("welcome", Some(vec![3, 4]))]);
        // Opening again finds the columns and changes nothing.
        drop(store);
        let store = SqliteDsStore::open(&path).unwrap();
        assert_eq!(store.inbox(&device, 0, 10).unwrap(), items);
    }
}
