//! The delivery-service store in PostgreSQL (cargo feature `postgres`):
//! what [`SqliteDsStore`](super::SqliteDsStore) keeps, for several provider
//! instances sharing one database (docs/scale-out.md). Its tables live in
//! the schema `ds`, created and migrated on open
//! (crates/ds/migrations/postgres/).
//!
//! Every method is one transaction at PostgreSQL's default isolation (read
//! committed). What SQLite gets from one writer at a time, this store gets
//! from locks taken in one order (DS-STORE-1 in docs/validation-rules.md):
//!
//! 1. the conversation's advisory lock (`ds/conversation/<group id>`),
//!    taken by every write to a conversation (`create`, `accept`,
//!    `deliver_from_hub`), whether or not its row exists yet: of two
//!    commits for one epoch, submitted through any instances, the second
//!    finds the epoch moved on and answers [`Outcome::Conflict`]; of two
//!    submissions of one message id, the second answers
//!    [`Outcome::Duplicate`]; of two creations of one group, one wins. The
//!    state's `UPDATE … WHERE epoch = $old` and the commit log's key
//!    `(group_id, era, epoch)` hold the same rule again in the database;
//! 2. the inbox's advisory lock of every local recipient
//!    (`ds/inbox/<device>`), taken in key order before any row is written.
//!    An inbox position is drawn (from one sequence shared by every
//!    device, so never reused) only while the device's lock is held, so
//!    one device's positions commit in increasing order: a reader never
//!    sees position n+1 before n is committed, and a cursor (or a cursor
//!    acknowledgement) never passes a message that commits later.
//!
//! Outbox positions come from their own sequence; within a conversation
//! they commit in order (1. serialises its writes). Acknowledgements,
//! outbox removals and purges delete rows and take no lock. Should
//! PostgreSQL still abort a transaction (a deadlock or serialization
//! failure), [`crosslock_pg::retry`] runs it again.

use std::future::Future;

use crosslock_pg::sqlx::postgres::{PgConnection, PgPool};
use crosslock_pg::sqlx::{self, Acquire};
use crosslock_pg::{Database, Migration, Options, Schema, TxFail, refuse, retry};

use super::*;

/// The DS's PostgreSQL schema and its migrations.
const SCHEMA: Schema = Schema {
    name: "ds",
    migrations: &[Migration {
        version: 1,
        description: "the DS tables",
        sql: include_str!("../../migrations/postgres/0001_ds.sql"),
    }],
};

/// PostgreSQL-backed [`DsStore`].
#[derive(Debug)]
pub struct PgDsStore {
    db: Database,
}

/// A transaction's failure: the database's (run again when it aborted the
/// transaction) or a refusal, which rolls the transaction back.
type Fail = TxFail<DsError>;

impl From<Fail> for DsError {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Db(e) => e.into(),
            Fail::Refused(e) => e,
        }
    }
}

/// A position, epoch or time from a caller, as PostgreSQL's `bigint`:
/// beyond `i64::MAX` nothing exists, so saturating keeps a query's meaning
/// (as the SQLite store does).
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A stored `bigint` back (never negative: the store writes none).
fn uint(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The inbox key of a device (as in the SQLite store).
fn device_key(device: &DeviceRef) -> String {
    format!("{}#{}", device.number, device.device)
}

fn members_json(members: &[Member]) -> Result<String, Fail> {
    serde_json::to_string(members).map_err(|e| Fail::Refused(DsError::Internal(e.to_string())))
}

impl PgDsStore {
    /// Connects to the database at `url` (`postgres://user:password@host/db`)
    /// and brings the schema `ds` up to date (several instances starting
    /// together apply each migration once).
    pub fn open(url: &str) -> Result<Self, DsError> {
        Self::open_with(url, &Options::default())
    }

    /// [`PgDsStore::open`] with the pool's size and timeouts.
    pub fn open_with(url: &str, options: &Options) -> Result<Self, DsError> {
        Ok(PgDsStore {
            db: Database::open(url, &SCHEMA, options)?,
        })
    }

    /// Counts for operations (`/metrics`), as
    /// [`SqliteDsStore::metrics`](super::SqliteDsStore::metrics).
    pub fn metrics(&self) -> Result<DsStoreMetrics, DsError> {
        self.run(|pool| async move {
            let (inbox_items, inbox_devices, outbox_items): (i64, i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM inbox), (SELECT count(DISTINCT device) FROM inbox),
                        (SELECT count(*) FROM outbox)",
            )
            .fetch_one(&pool)
            .await?;
            Ok(DsStoreMetrics {
                inbox_items: uint(inbox_items),
                inbox_devices: uint(inbox_devices),
                outbox_items: uint(outbox_items),
            })
        })
    }

    /// Runs `query` on the store's runtime (see [`Database::run`]).
    fn run<T, F, Fut>(&self, query: F) -> Result<T, DsError>
    where
        F: FnOnce(PgPool) -> Fut,
        Fut: Future<Output = Result<T, Fail>> + Send + 'static,
        T: Send + 'static,
    {
        self.db.run(|pool| {
            let fut = query(pool);
            async move { fut.await.map_err(DsError::from) }
        })
    }
}

/// Takes the conversation's transaction-scoped advisory lock (the first in
/// the module's lock order).
async fn lock_conversation(conn: &mut PgConnection, group_id: &[u8]) -> Result<(), Fail> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("ds/conversation/{}", hex::encode(group_id)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes the inbox advisory locks of the local recipients of `fanout`, in
/// key order (the second in the module's lock order), before any of their
/// positions is drawn.
async fn lock_inboxes(conn: &mut PgConnection, fanout: &[Fanout]) -> Result<(), Fail> {
    let mut keys: Vec<String> = fanout
        .iter()
        .filter(|f| f.recipient.home.is_none())
        .map(|f| format!("ds/inbox/{}", device_key(&f.recipient.device)))
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    keys.sort();
    keys.dedup();
    // `unnest` yields the array in order: the locks are taken sorted.
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k",
    )
    .bind(keys)
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts one message in a device's inbox unless the same message id waits
/// there already; whether it was stored. The caller holds the device's
/// inbox lock, so the position drawn here is above every position of the
/// device committed before, and below every one committed after.
async fn to_inbox(conn: &mut PgConnection, f: &Fanout, at: u64) -> Result<bool, Fail> {
    let done = sqlx::query(
        "INSERT INTO inbox (device, message_id, envelope, ratchet_tree, at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (device, message_id) DO NOTHING",
    )
    .bind(device_key(&f.recipient.device))
    .bind(&f.message_id)
    .bind(&f.envelope)
    .bind(&f.ratchet_tree)
    .bind(int(at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Inbox rows for local recipients, outbox rows for remote ones (in the
/// caller's transaction, which holds the conversation's lock).
async fn fan_out(
    conn: &mut PgConnection,
    group_id: &[u8],
    fanout: &[Fanout],
    at: u64,
) -> Result<(), Fail> {
    lock_inboxes(conn, fanout).await?;
    for f in fanout {
        match &f.recipient.home {
            None => {
                to_inbox(conn, f, at).await?;
            }
            Some(peer) => {
                sqlx::query(
                    "INSERT INTO outbox (peer, group_id, number, device, message_id, envelope, ratchet_tree, at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(peer)
                .bind(group_id)
                .bind(&f.recipient.device.number)
                .bind(&f.recipient.device.device)
                .bind(&f.message_id)
                .bind(&f.envelope)
                .bind(&f.ratchet_tree)
                .bind(int(at))
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(())
}

/// Records which device opened an epoch (DS-AUTH-1); the first record of
/// an epoch stays.
async fn record_owner(
    conn: &mut PgConnection,
    group_id: &[u8],
    era: i64,
    owner: Option<&EpochOwner>,
    at: u64,
) -> Result<(), Fail> {
    if let Some(owner) = owner {
        sqlx::query(
            "INSERT INTO epoch_owners (group_id, era, epoch, device, at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (group_id, era, epoch) DO NOTHING",
        )
        .bind(group_id)
        .bind(era)
        .bind(int(owner.epoch))
        .bind(device_key(&owner.device))
        .bind(int(at))
        .execute(conn)
        .await?;
    }
    Ok(())
}

async fn seen(conn: &mut PgConnection, group_id: &[u8], message_id: &str) -> Result<bool, Fail> {
    Ok(sqlx::query_scalar::<_, i32>(
        "SELECT 1 FROM accepted WHERE group_id = $1 AND message_id = $2",
    )
    .bind(group_id)
    .bind(message_id)
    .fetch_optional(conn)
    .await?
    .is_some())
}

async fn create_tx(
    pool: &PgPool,
    conversation: &HostedConversation,
    accepted: &Accepted,
) -> Result<Outcome, Fail> {
    let mut tx = pool.begin().await?;
    let conn = tx.acquire().await?;
    let group_id = &conversation.group_id;
    lock_conversation(conn, group_id).await?;
    if seen(conn, group_id, &accepted.message_id).await? {
        return Ok(Outcome::Duplicate);
    }
    let existing: Option<(Option<String>, i64)> =
        sqlx::query_as("SELECT hub, era FROM conversations WHERE group_id = $1")
            .bind(group_id)
            .fetch_optional(&mut *conn)
            .await?;
    let era = i64::from(conversation.era);
    match existing {
        None => {}
        // A new era replaces the conversation under the same group id
        // (RCC.16 recovery, last step); the caller checked the submitter
        // was a member.
        Some((None, old)) if era > old => {
            sqlx::query("DELETE FROM conversations WHERE group_id = $1")
                .bind(group_id)
                .execute(&mut *conn)
                .await?;
        }
        Some(_) => return refuse(DsError::ConversationExists),
    }
    sqlx::query(
        "INSERT INTO conversations (group_id, hub, era, epoch, state, group_info, members, ended, created_at, ratchet_tree)
         VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(group_id)
    .bind(era)
    .bind(int(conversation.epoch))
    .bind(&conversation.state)
    .bind(&conversation.group_info)
    .bind(members_json(&conversation.members)?)
    .bind(conversation.ended)
    .bind(int(accepted.at))
    .bind(&conversation.ratchet_tree)
    .execute(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO accepted (group_id, message_id, at) VALUES ($1, $2, $3)")
        .bind(group_id)
        .bind(&accepted.message_id)
        .bind(int(accepted.at))
        .execute(&mut *conn)
        .await?;
    // DS-FED-5: what proves to followers that this conversation was
    // created here.
    sqlx::query(
        "INSERT INTO creations (group_id, era, group_info, ratchet_tree) VALUES ($1, $2, $3, $4)
         ON CONFLICT (group_id) DO UPDATE SET era = excluded.era,
             group_info = excluded.group_info, ratchet_tree = excluded.ratchet_tree",
    )
    .bind(group_id)
    .bind(era)
    .bind(&conversation.group_info)
    .bind(&conversation.ratchet_tree)
    .execute(&mut *conn)
    .await?;
    record_owner(conn, group_id, era, accepted.opens.as_ref(), accepted.at).await?;
    fan_out(conn, group_id, &accepted.fanout, accepted.at).await?;
    tx.commit().await?;
    Ok(Outcome::Stored)
}

async fn accept_tx(pool: &PgPool, a: &Accepted) -> Result<Outcome, Fail> {
    let mut tx = pool.begin().await?;
    let conn = tx.acquire().await?;
    lock_conversation(conn, &a.group_id).await?;
    let row: Option<(Option<String>, i64, i64)> =
        sqlx::query_as("SELECT hub, era, epoch FROM conversations WHERE group_id = $1")
            .bind(&a.group_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((None, era, epoch)) = row else {
        return refuse(DsError::UnknownConversation);
    };
    if seen(conn, &a.group_id, &a.message_id).await? {
        return Ok(Outcome::Duplicate);
    }
    if let Some(new) = &a.new_state {
        // DS-STORE-1: exactly one commit per epoch. The state moves only
        // from the epoch the commit was checked against; the condition is
        // the database's too, so a commit that lost the race changes
        // nothing even if the lock above were missing.
        if epoch != int(a.epoch) {
            return Ok(Outcome::Conflict);
        }
        let moved = sqlx::query(
            "UPDATE conversations SET epoch = $3, state = $4, group_info = $5, members = $6,
                 ended = $7, ratchet_tree = $8
             WHERE group_id = $1 AND hub IS NULL AND epoch = $2",
        )
        .bind(&a.group_id)
        .bind(int(a.epoch))
        .bind(int(new.epoch))
        .bind(&new.state)
        .bind(&new.group_info)
        .bind(members_json(&new.members)?)
        .bind(new.ended)
        .bind(&new.ratchet_tree)
        .execute(&mut *conn)
        .await?;
        if moved.rows_affected() != 1 {
            return Ok(Outcome::Conflict);
        }
        if let Some(commit) = &new.commit {
            sqlx::query(
                "INSERT INTO commits (group_id, era, epoch, message_id, envelope, external, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&a.group_id)
            .bind(era)
            .bind(int(a.epoch))
            .bind(&a.message_id)
            .bind(commit)
            .bind(new.external)
            .bind(int(a.at))
            .execute(&mut *conn)
            .await?;
        }
    }
    sqlx::query("INSERT INTO accepted (group_id, message_id, at) VALUES ($1, $2, $3)")
        .bind(&a.group_id)
        .bind(&a.message_id)
        .bind(int(a.at))
        .execute(&mut *conn)
        .await?;
    record_owner(conn, &a.group_id, era, a.opens.as_ref(), a.at).await?;
    if let Some(pin) = &a.pin {
        // DS-AUTH-1: only the device that opened the epoch pins it; the
        // first such claim wins and never changes.
        sqlx::query(
            "INSERT INTO epoch_authenticators (group_id, era, epoch, authenticator, at)
             SELECT $1, $2, $3, $4, $5 WHERE EXISTS (
                 SELECT 1 FROM epoch_owners
                 WHERE group_id = $1 AND era = $2 AND epoch = $3 AND device = $6)
             ON CONFLICT (group_id, era, epoch) DO NOTHING",
        )
        .bind(&a.group_id)
        .bind(era)
        .bind(int(pin.epoch))
        .bind(&pin.authenticator[..])
        .bind(int(a.at))
        .bind(device_key(&pin.sender))
        .execute(&mut *conn)
        .await?;
    }
    fan_out(conn, &a.group_id, &a.fanout, a.at).await?;
    tx.commit().await?;
    Ok(Outcome::Stored)
}

async fn deliver_tx(
    pool: &PgPool,
    hub: &str,
    group_id: &[u8],
    deliveries: &[Fanout],
    creation_proven: bool,
    at: u64,
) -> Result<Vec<DeviceRef>, Fail> {
    let mut tx = pool.begin().await?;
    let conn = tx.acquire().await?;
    lock_conversation(conn, group_id).await?;
    let existing: Option<Option<String>> =
        sqlx::query_scalar("SELECT hub FROM conversations WHERE group_id = $1")
            .bind(group_id)
            .fetch_optional(&mut *conn)
            .await?;
    match existing {
        // DS-FED-5: a peer becomes a group's hub here only with the proof
        // that the group was created there.
        None if !creation_proven => return refuse(DsError::HubUnproven),
        None => {
            sqlx::query(
                "INSERT INTO conversations (group_id, hub, era, epoch, state, group_info, members, ended, created_at)
                 VALUES ($1, $2, 0, 0, '', '', '[]', false, $3)",
            )
            .bind(group_id)
            .bind(hub)
            .bind(int(at))
            .execute(&mut *conn)
            .await?;
        }
        Some(Some(known)) if known == hub => {}
        // A conversation hosted here, or followed at another hub: a peer
        // cannot take it over (DS-FED-4).
        Some(_) => return refuse(DsError::NotTheHub),
    }
    // Deliveries are for devices homed here, whatever `home` says.
    let local: Vec<Fanout> = deliveries
        .iter()
        .map(|d| Fanout {
            recipient: Member {
                device: d.recipient.device.clone(),
                home: None,
            },
            ..d.clone()
        })
        .collect();
    lock_inboxes(conn, &local).await?;
    let mut woken = Vec::new();
    for d in &local {
        if to_inbox(conn, d, at).await? {
            woken.push(d.recipient.device.clone());
        }
    }
    tx.commit().await?;
    woken.sort();
    woken.dedup();
    Ok(woken)
}

type ConversationRow = (
    Vec<u8>,
    Option<String>,
    i64,
    i64,
    Vec<u8>,
    Vec<u8>,
    String,
    bool,
    Option<Vec<u8>>,
);

fn hosting(row: ConversationRow) -> Result<Hosting, Fail> {
    let (group_id, hub, era, epoch, state, group_info, members, ended, ratchet_tree) = row;
    if let Some(hub) = hub {
        return Ok(Hosting::Follower { hub });
    }
    let members = serde_json::from_str(&members)
        .map_err(|e| Fail::Refused(DsError::Storage(format!("a stored member list: {e}"))))?;
    Ok(Hosting::Hub(HostedConversation {
        group_id,
        era: u32::try_from(era)
            .map_err(|_| Fail::Refused(DsError::Storage("a stored era out of range".into())))?,
        epoch: uint(epoch),
        state,
        group_info,
        ratchet_tree: ratchet_tree.unwrap_or_default(),
        members,
        ended,
    }))
}

impl ConversationStore for PgDsStore {
    fn conversation(&self, group_id: &[u8]) -> Result<Option<Hosting>, DsError> {
        let group_id = group_id.to_vec();
        self.run(move |pool| async move {
            let row: Option<ConversationRow> = sqlx::query_as(
                "SELECT group_id, hub, era, epoch, state, group_info, members, ended, ratchet_tree
                 FROM conversations WHERE group_id = $1",
            )
            .bind(group_id)
            .fetch_optional(&pool)
            .await?;
            row.map(hosting).transpose()
        })
    }

    fn create(
        &self,
        conversation: &HostedConversation,
        accepted: &Accepted,
    ) -> Result<Outcome, DsError> {
        let (conversation, accepted) = (conversation.clone(), accepted.clone());
        self.run(
            move |pool| async move { retry(|| create_tx(&pool, &conversation, &accepted)).await },
        )
    }

    fn accept(&self, accepted: &Accepted) -> Result<Outcome, DsError> {
        let accepted = accepted.clone();
        self.run(move |pool| async move { retry(|| accept_tx(&pool, &accepted)).await })
    }

    fn deliver_from_hub(
        &self,
        hub: &str,
        group_id: &[u8],
        deliveries: &[Fanout],
        creation_proven: bool,
        at: u64,
    ) -> Result<Vec<DeviceRef>, DsError> {
        let (hub, group_id, deliveries) = (hub.to_owned(), group_id.to_vec(), deliveries.to_vec());
        self.run(move |pool| async move {
            retry(|| deliver_tx(&pool, &hub, &group_id, &deliveries, creation_proven, at)).await
        })
    }
}

impl EpochLog for PgDsStore {
    fn epoch_authenticator(
        &self,
        group_id: &[u8],
        era: u32,
        epoch: u64,
    ) -> Result<Option<[u8; 32]>, DsError> {
        let group_id = group_id.to_vec();
        self.run(move |pool| async move {
            let auth: Option<Vec<u8>> = sqlx::query_scalar(
                "SELECT authenticator FROM epoch_authenticators
                 WHERE group_id = $1 AND era = $2 AND epoch = $3",
            )
            .bind(group_id)
            .bind(i64::from(era))
            .bind(int(epoch))
            .fetch_optional(&pool)
            .await?;
            Ok(auth.and_then(|a| a.try_into().ok()))
        })
    }

    fn commits(
        &self,
        group_id: &[u8],
        from_epoch: u64,
        limit: usize,
    ) -> Result<Vec<Queued>, DsError> {
        let group_id = group_id.to_vec();
        self.run(move |pool| async move {
            let rows: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(
                "SELECT c.epoch, c.message_id, c.envelope FROM commits c
                 JOIN conversations v ON v.group_id = c.group_id AND v.era = c.era
                 WHERE c.group_id = $1 AND c.epoch >= $2 ORDER BY c.epoch LIMIT $3",
            )
            .bind(group_id)
            .bind(int(from_epoch))
            .bind(int(limit as u64))
            .fetch_all(&pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(epoch, message_id, envelope)| Queued {
                    seq: uint(epoch),
                    message_id,
                    envelope,
                    ratchet_tree: None,
                })
                .collect())
        })
    }

    fn external_commits_since(&self, group_id: &[u8], since: u64) -> Result<u64, DsError> {
        let group_id = group_id.to_vec();
        self.run(move |pool| async move {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM commits WHERE group_id = $1 AND external AND at >= $2",
            )
            .bind(group_id)
            .bind(int(since))
            .fetch_one(&pool)
            .await?;
            Ok(uint(n))
        })
    }
}

/// An inbox row: position, message id, envelope, ratchet tree.
type InboxRow = (i64, String, Vec<u8>, Option<Vec<u8>>);

impl InboxStore for PgDsStore {
    fn inbox(&self, device: &DeviceRef, after: u64, limit: usize) -> Result<Vec<Queued>, DsError> {
        let key = device_key(device);
        self.run(move |pool| async move {
            let rows: Vec<InboxRow> = sqlx::query_as(
                "SELECT seq, message_id, envelope, ratchet_tree FROM inbox
                 WHERE device = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(key)
            .bind(int(after))
            .bind(int(limit as u64))
            .fetch_all(&pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(seq, message_id, envelope, ratchet_tree)| Queued {
                    seq: uint(seq),
                    message_id,
                    envelope,
                    ratchet_tree,
                })
                .collect())
        })
    }

    fn ack(&self, device: &DeviceRef, seqs: &[u64]) -> Result<(), DsError> {
        let key = device_key(device);
        // A position beyond `i64::MAX` names nothing.
        let seqs: Vec<i64> = seqs.iter().filter_map(|s| i64::try_from(*s).ok()).collect();
        if seqs.is_empty() {
            return Ok(());
        }
        self.run(move |pool| async move {
            // Only the device's own rows: another device's position
            // removes nothing.
            sqlx::query("DELETE FROM inbox WHERE device = $1 AND seq = ANY($2)")
                .bind(key)
                .bind(seqs)
                .execute(&pool)
                .await?;
            Ok(())
        })
    }

    fn ack_through(&self, device: &DeviceRef, seq: u64) -> Result<(), DsError> {
        let key = device_key(device);
        self.run(move |pool| async move {
            sqlx::query("DELETE FROM inbox WHERE device = $1 AND seq <= $2")
                .bind(key)
                .bind(int(seq))
                .execute(&pool)
                .await?;
            Ok(())
        })
    }
}

type OutboxRow = (
    i64,
    String,
    Vec<u8>,
    String,
    String,
    String,
    Vec<u8>,
    Option<Vec<u8>>,
);

impl OutboxStore for PgDsStore {
    fn outbox(&self, peer: &str, limit: usize) -> Result<Vec<OutboxEntry>, DsError> {
        let peer = peer.to_owned();
        self.run(move |pool| async move {
            let rows: Vec<OutboxRow> = sqlx::query_as(
                "SELECT seq, peer, group_id, number, device, message_id, envelope, ratchet_tree
                 FROM outbox WHERE peer = $1 ORDER BY seq LIMIT $2",
            )
            .bind(peer)
            .bind(int(limit as u64))
            .fetch_all(&pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(
                    |(seq, peer, group_id, number, device, message_id, envelope, ratchet_tree)| {
                        OutboxEntry {
                            seq: uint(seq),
                            peer,
                            group_id,
                            recipient: DeviceRef { number, device },
                            message_id,
                            envelope,
                            ratchet_tree,
                        }
                    },
                )
                .collect())
        })
    }

    fn outbox_done(&self, seqs: &[u64]) -> Result<(), DsError> {
        let seqs: Vec<i64> = seqs.iter().filter_map(|s| i64::try_from(*s).ok()).collect();
        if seqs.is_empty() {
            return Ok(());
        }
        self.run(move |pool| async move {
            sqlx::query("DELETE FROM outbox WHERE seq = ANY($1)")
                .bind(seqs)
                .execute(&pool)
                .await?;
            Ok(())
        })
    }

    fn creation(&self, group_id: &[u8]) -> Result<Option<Creation>, DsError> {
        let group_id = group_id.to_vec();
        self.run(move |pool| async move {
            let row: Option<(Vec<u8>, Option<Vec<u8>>, i64)> = sqlx::query_as(
                "SELECT c.group_info, c.ratchet_tree, v.created_at FROM creations c
                 JOIN conversations v ON v.group_id = c.group_id AND v.era = c.era
                 WHERE c.group_id = $1 AND v.hub IS NULL",
            )
            .bind(group_id)
            .fetch_optional(&pool)
            .await?;
            Ok(row.map(|(group_info, ratchet_tree, created_at)| Creation {
                group_info,
                ratchet_tree,
                created_at: uint(created_at),
            }))
        })
    }
}

impl PushTokens for PgDsStore {
    fn set_push_token(&self, device: &DeviceRef, token: &str) -> Result<(), DsError> {
        let (key, token) = (device_key(device), token.to_owned());
        self.run(move |pool| async move {
            sqlx::query(
                "INSERT INTO push_tokens (device, token) VALUES ($1, $2)
                 ON CONFLICT (device) DO UPDATE SET token = excluded.token",
            )
            .bind(key)
            .bind(token)
            .execute(&pool)
            .await?;
            Ok(())
        })
    }

    fn push_token(&self, device: &DeviceRef) -> Result<Option<String>, DsError> {
        let key = device_key(device);
        self.run(move |pool| async move {
            Ok(
                sqlx::query_scalar("SELECT token FROM push_tokens WHERE device = $1")
                    .bind(key)
                    .fetch_optional(&pool)
                    .await?,
            )
        })
    }
}

impl Maintenance for PgDsStore {
    fn purge(&self, before: u64) -> Result<u64, DsError> {
        self.run(move |pool| async move {
            let before = int(before);
            let mut tx = pool.begin().await?;
            let expired = sqlx::query("DELETE FROM inbox WHERE at < $1")
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            for query in [
                "DELETE FROM accepted WHERE at < $1",
                "DELETE FROM commits WHERE at < $1",
                "DELETE FROM epoch_authenticators WHERE at < $1",
                "DELETE FROM epoch_owners WHERE at < $1",
            ] {
                sqlx::query(query).bind(before).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(expired)
        })
    }
}
