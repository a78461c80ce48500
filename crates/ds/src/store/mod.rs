//! What the delivery service keeps, behind narrow traits by job:
//! [`ConversationStore`] (hosting, ordering, fan-out), [`EpochLog`]
//! (what accepted handshakes recorded per epoch), [`InboxStore`],
//! [`OutboxStore`], [`PushTokens`] and [`Maintenance`]; [`DsStore`] is
//! all of them, for wiring.
//!
//! Every method is one atomic transaction: a conversation's new state, the
//! commit log entry and every inbox/outbox row of its fan-out land
//! together or not at all, so an acknowledged submission survives a crash
//! and a refused one leaves no trace. [`SqliteDsStore`] is the embedded
//! default; the traits are shaped so a PostgreSQL backend maps each method
//! to one transaction too; `PgDsStore` (cargo feature `postgres`) keeps the
//! same in PostgreSQL, for several provider instances on one database
//! (docs/scale-out.md). [`MemoryDsStore`] keeps the same in memory, for
//! tests. Every implementation passes the checks in [`testing`].

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;
pub mod testing;

pub use memory::MemoryDsStore;
#[cfg(feature = "postgres")]
pub use postgres::PgDsStore;
pub use sqlite::{DsStoreMetrics, SqliteDsStore};

use crosslock_wire::api::ds::DeviceRef;

use crate::error::DsError;

/// A conversation hosted here (this provider is its hub).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedConversation {
    /// The MLS group id.
    pub group_id: Vec<u8>,
    /// The era (RCC.16 GroupContext extension 0xF001).
    pub era: u32,
    /// The current epoch.
    pub epoch: u64,
    /// The MLS external observer's snapshot of the public group state.
    pub state: Vec<u8>,
    /// The GroupInfo of the current epoch (MLS message bytes).
    pub group_info: Vec<u8>,
    /// The ratchet tree of the current epoch (MLS `ExportedTree`), served
    /// beside `group_info` (DS-TREE-1); empty for a conversation stored
    /// before the tree was kept.
    pub ratchet_tree: Vec<u8>,
    /// Every member device and the provider it is homed at (`None`: here).
    pub members: Vec<Member>,
    /// Whether the conversation left end-to-end encryption (`end_mls`).
    pub ended: bool,
}

/// A member device and its home provider.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Member {
    /// The device.
    pub device: DeviceRef,
    /// The peer provider it is homed at; `None` when homed here.
    pub home: Option<String>,
}

/// Where a conversation lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hosting {
    /// Here: this provider orders it.
    Hub(HostedConversation),
    /// At a peer provider, which this provider follows.
    Follower {
        /// The hub's provider name.
        hub: String,
    },
}

/// A message to put in an inbox: a local device's, or a peer provider's
/// (queued in the outbox for forwarding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fanout {
    /// The recipient.
    pub recipient: Member,
    /// The transport message id.
    pub message_id: String,
    /// The CPIM envelope.
    pub envelope: Vec<u8>,
    /// The ratchet tree that travels beside it: for a Welcome, the tree of
    /// the epoch it joins (MLS-GI-1, DS-TREE-1); `None` otherwise.
    pub ratchet_tree: Option<Vec<u8>>,
}

/// A handshake or application message the hub accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The conversation.
    pub group_id: Vec<u8>,
    /// The transport message id (idempotency key within the conversation).
    pub message_id: String,
    /// The conversation's epoch the message was checked against; for a
    /// commit, the store refuses (returns [`Outcome::Conflict`]) when the
    /// conversation is no longer at it.
    pub epoch: u64,
    /// For a commit (or a proposal changing the observer state): the new
    /// state. `None` for application messages.
    pub new_state: Option<NewState>,
    /// The device whose commit opened an epoch (for a creation: the
    /// creator, epoch 1): the only device whose claim pins that epoch's
    /// authenticator (DS-AUTH-1). Recorded with the commit.
    pub opens: Option<EpochOwner>,
    /// A claim of an epoch's authenticator (`mls.Epoch-Authenticator`): it
    /// pins that epoch's authenticator when nothing is pinned yet AND its
    /// sender owns the epoch (DS-AUTH-1); any other claim pins nothing.
    /// `None` for what is not an MLS message (a signed receipt).
    pub pin: Option<Pin>,
    /// Who gets it.
    pub fanout: Vec<Fanout>,
    /// When (Unix seconds).
    pub at: u64,
}

/// The device whose commit opened `epoch` of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochOwner {
    /// The epoch the commit created.
    pub epoch: u64,
    /// Its committer (for epoch 1: the conversation's creator).
    pub device: DeviceRef,
}

/// A device's claim of an epoch's authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The epoch the claim is about.
    pub epoch: u64,
    /// The claimed `mls.Epoch-Authenticator`.
    pub authenticator: [u8; 32],
    /// Who claims it (the submitting device).
    pub sender: DeviceRef,
}

/// A conversation's state after a commit or proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewState {
    /// The epoch after it.
    pub epoch: u64,
    /// The observer snapshot.
    pub state: Vec<u8>,
    /// The GroupInfo of `epoch` (unchanged for a proposal).
    pub group_info: Vec<u8>,
    /// The ratchet tree of `epoch` (DS-TREE-1).
    pub ratchet_tree: Vec<u8>,
    /// Members after it.
    pub members: Vec<Member>,
    /// Whether `end_mls` is set.
    pub ended: bool,
    /// For a commit: its CPIM envelope, kept for catch-up.
    pub commit: Option<Vec<u8>>,
    /// For an external commit: counted against the daily limit.
    pub external: bool,
}

/// What the store did with an [`Accepted`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored and fanned out.
    Stored,
    /// The same message id was already stored for this conversation:
    /// nothing changed.
    Duplicate,
    /// A commit for `epoch` already won (the conversation moved on):
    /// nothing changed.
    Conflict,
}

/// A message waiting in a device's inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// Inbox position.
    pub seq: u64,
    /// The transport message id.
    pub message_id: String,
    /// The CPIM envelope.
    pub envelope: Vec<u8>,
    /// The ratchet tree that travels beside it: for a Welcome, the tree of
    /// the epoch it joins (MLS-GI-1, DS-TREE-1); `None` otherwise.
    pub ratchet_tree: Option<Vec<u8>>,
}

/// A batch waiting to be forwarded to a peer provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Outbox position.
    pub seq: u64,
    /// The peer provider.
    pub peer: String,
    /// The conversation.
    pub group_id: Vec<u8>,
    /// The recipient there.
    pub recipient: DeviceRef,
    /// The transport message id.
    pub message_id: String,
    /// The CPIM envelope.
    pub envelope: Vec<u8>,
    /// The ratchet tree that travels beside it: for a Welcome, the tree of
    /// the epoch it joins (MLS-GI-1, DS-TREE-1); `None` otherwise.
    pub ratchet_tree: Option<Vec<u8>>,
}

/// How a conversation hosted here was created (DS-FED-5): the proof a
/// follower asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creation {
    /// The GroupInfo of epoch 1 of the current era, signed by its creator.
    pub group_info: Vec<u8>,
    /// The ratchet tree of that epoch, as the creator submitted it beside
    /// the GroupInfo (MLS-GI-1); `None` for a store from before.
    pub ratchet_tree: Option<Vec<u8>>,
    /// When it was created (Unix seconds).
    pub created_at: u64,
}

/// Where conversations live and what their hub accepted: the hub's
/// ordering (DS-AUTH-1, one commit per epoch) and a follower's record of
/// its hub (DS-FED-4, DS-FED-5). Each write lands with its whole fan-out
/// (inbox rows here, outbox rows for peers) in one transaction.
///
/// Callers: the submission path (`submit.rs`, `report.rs`), the
/// conversation lookup (`service.rs`) and the federation deliveries
/// (`deliver.rs`).
pub trait ConversationStore: Send + Sync {
    /// The conversation, if known here.
    fn conversation(&self, group_id: &[u8]) -> Result<Option<Hosting>, DsError>;

    /// Creates a conversation hosted here from its first commit, in one
    /// transaction with its creation proof (DS-FED-5), the owner of epoch 1
    /// (DS-AUTH-1) and the fan-out of its Welcome. A message id already
    /// accepted in the conversation answers [`Outcome::Duplicate`] and
    /// changes nothing. A higher era replaces a conversation hosted here
    /// (the caller checked the submitter was a member); otherwise
    /// [`DsError::ConversationExists`] if the group id is taken (hosted or
    /// followed), and nothing is stored.
    fn create(
        &self,
        conversation: &HostedConversation,
        accepted: &Accepted,
    ) -> Result<Outcome, DsError>;

    /// Records a message the hub accepted, atomically with its fan-out,
    /// (for a commit) the new state and its commit log entry, the epoch
    /// owner it names and the authenticator it pins (DS-AUTH-1).
    /// [`DsError::UnknownConversation`] unless the conversation is hosted
    /// here; [`Outcome::Duplicate`] for a message id already accepted;
    /// [`Outcome::Conflict`] for a state change from an epoch the
    /// conversation left. Nothing is stored on any of these.
    fn accept(&self, accepted: &Accepted) -> Result<Outcome, DsError>;

    /// Stores deliveries a hub forwarded for devices homed here, and
    /// remembers the conversation's hub. Deliveries already waiting in the
    /// recipient's inbox (same message id) are ignored. Returns the
    /// recipients that got something new, sorted, each once.
    /// [`DsError::NotTheHub`] if the conversation is hosted here or
    /// followed at another hub (DS-FED-4); [`DsError::HubUnproven`] if it
    /// is unknown here and `creation_proven` is false (DS-FED-5). Nothing
    /// is stored on either.
    fn deliver_from_hub(
        &self,
        hub: &str,
        group_id: &[u8],
        deliveries: &[Fanout],
        creation_proven: bool,
        at: u64,
    ) -> Result<Vec<DeviceRef>, DsError>;
}

/// What accepted handshakes left behind per epoch, read back (written only
/// by [`ConversationStore::accept`] and [`ConversationStore::create`]).
///
/// Callers: the epoch authenticator check (`service.rs`), commit retries,
/// the external-commit limit and catch-up (`submit.rs`).
pub trait EpochLog: Send + Sync {
    /// The pinned epoch authenticator of an epoch, if the device that
    /// opened the epoch claimed one in an accepted message (DS-AUTH-1).
    fn epoch_authenticator(
        &self,
        group_id: &[u8],
        era: u32,
        epoch: u64,
    ) -> Result<Option<[u8; 32]>, DsError>;

    /// The accepted commits of the current era ending epochs
    /// `from_epoch..`, oldest first; each [`Queued::seq`] is the epoch the
    /// commit ended.
    fn commits(
        &self,
        group_id: &[u8],
        from_epoch: u64,
        limit: usize,
    ) -> Result<Vec<Queued>, DsError>;

    /// External commits accepted in the conversation (any era) at or after
    /// `since`.
    fn external_commits_since(&self, group_id: &[u8], since: u64) -> Result<u64, DsError>;
}

/// Devices' inboxes.
///
/// Caller: the inbox routes (`routes.rs`).
pub trait InboxStore: Send + Sync {
    /// A device's inbox after position `after`, oldest first. Positions
    /// grow in the order messages were stored and are never reused.
    fn inbox(&self, device: &DeviceRef, after: u64, limit: usize) -> Result<Vec<Queued>, DsError>;

    /// Removes acknowledged messages (only the device's own: another
    /// device's position removes nothing).
    fn ack(&self, device: &DeviceRef, seqs: &[u64]) -> Result<(), DsError>;

    /// Removes every message of the device up to and including `seq`
    /// (a cursor acknowledgement: the device processed all of them). A
    /// device acknowledges positions it was given; a `seq` beyond them may
    /// also hide, and remove, the device's own messages stored before the
    /// acknowledgement is written (the SQLite store writes them in batches).
    fn ack_through(&self, device: &DeviceRef, seq: u64) -> Result<(), DsError>;
}

/// What the outbox pumps send to peer providers: the queued fan-out and
/// the proof of creation a follower asks for (DS-FED-5).
///
/// Caller: the outbox pumps (`federation.rs`).
pub trait OutboxStore: Send + Sync {
    /// The oldest outbox entries for `peer`, in the order they were queued.
    fn outbox(&self, peer: &str, limit: usize) -> Result<Vec<OutboxEntry>, DsError>;

    /// Removes outbox entries the peer acknowledged.
    fn outbox_done(&self, seqs: &[u64]) -> Result<(), DsError>;

    /// The GroupInfo a conversation hosted here was created with (epoch 1
    /// of its current era, signed by its creator): the proof a follower
    /// asks for before it accepts this provider as the hub (DS-FED-5).
    /// Answers the GroupInfo, the tree beside it and the creation time;
    /// `None` for a conversation not hosted here.
    fn creation(&self, group_id: &[u8]) -> Result<Option<Creation>, DsError>;
}

/// Devices' push tokens.
///
/// Callers: the push registration route (`routes.rs`) and the pusher
/// (`push.rs`).
pub trait PushTokens: Send + Sync {
    /// Registers a device's push token (replacing the one it had).
    fn set_push_token(&self, device: &DeviceRef, token: &str) -> Result<(), DsError>;

    /// A device's push token.
    fn push_token(&self, device: &DeviceRef) -> Result<Option<String>, DsError>;
}

/// Retention and deferred writes.
///
/// Callers: the background tasks (`routes.rs`, `Ds::purge`).
pub trait Maintenance: Send + Sync {
    /// Deletes inbox messages, commits, idempotency records and epoch
    /// authenticators and owners stored before `before`. Conversations,
    /// creation proofs, outbox entries and push tokens stay. Returns how
    /// many inbox messages expired.
    fn purge(&self, before: u64) -> Result<u64, DsError>;

    /// Writes what the store deferred (batched acknowledgements), so that a
    /// crash redelivers as little as possible. Called about once a second.
    fn flush(&self) -> Result<(), DsError> {
        Ok(())
    }
}

/// The delivery service's storage: every narrow trait, so the provider
/// wires one value. Implemented for every type that implements them all.
pub trait DsStore:
    ConversationStore + EpochLog + InboxStore + OutboxStore + PushTokens + Maintenance + std::fmt::Debug
{
}

impl<T> DsStore for T where
    T: ConversationStore
        + EpochLog
        + InboxStore
        + OutboxStore
        + PushTokens
        + Maintenance
        + std::fmt::Debug
{
}
