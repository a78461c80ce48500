//! What the delivery service keeps, behind one narrow trait.
//!
//! Every method is one atomic transaction: a conversation's new state, the
//! commit log entry and every inbox/outbox row of its fan-out land
//! together or not at all, so an acknowledged submission survives a crash
//! and a refused one leaves no trace. [`SqliteDsStore`] is the embedded
//! default; the trait is shaped so a PostgreSQL backend maps each method to
//! one transaction too.

mod sqlite;

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

/// The delivery service's storage.
pub trait DsStore: Send + Sync + std::fmt::Debug {
    /// The conversation, if known here.
    fn conversation(&self, group_id: &[u8]) -> Result<Option<Hosting>, DsError>;

    /// Creates a conversation hosted here from its first commit; fans the
    /// commit's Welcome out. [`DsError::ConversationExists`] if the group
    /// id is taken (here, hosted or followed).
    fn create(
        &self,
        conversation: &HostedConversation,
        accepted: &Accepted,
    ) -> Result<Outcome, DsError>;

    /// Records a message the hub accepted, atomically with its fan-out and
    /// (for a commit) the new state.
    fn accept(&self, accepted: &Accepted) -> Result<Outcome, DsError>;

    /// The pinned epoch authenticator of an epoch, if the device that
    /// opened the epoch claimed one in an accepted message (DS-AUTH-1).
    fn epoch_authenticator(
        &self,
        group_id: &[u8],
        era: u32,
        epoch: u64,
    ) -> Result<Option<[u8; 32]>, DsError>;

    /// The accepted commits ending epochs `from_epoch..`, oldest first.
    fn commits(
        &self,
        group_id: &[u8],
        from_epoch: u64,
        limit: usize,
    ) -> Result<Vec<Queued>, DsError>;

    /// External commits accepted in the conversation since `since`.
    fn external_commits_since(&self, group_id: &[u8], since: u64) -> Result<u64, DsError>;

    /// Stores deliveries a hub forwarded for devices homed here, and
    /// remembers the conversation's hub. Deliveries already stored are
    /// ignored. Returns the recipients that got something new.
    /// [`DsError::NotTheHub`] if the conversation is hosted here or
    /// followed at another hub; [`DsError::HubUnproven`] if it is unknown
    /// here and `creation_proven` is false (DS-FED-5). Nothing is stored on
    /// either.
    fn deliver_from_hub(
        &self,
        hub: &str,
        group_id: &[u8],
        deliveries: &[Fanout],
        creation_proven: bool,
        at: u64,
    ) -> Result<Vec<DeviceRef>, DsError>;

    /// The GroupInfo a conversation hosted here was created with (epoch 1
    /// of its current era, signed by its creator): the proof a follower
    /// asks for before it accepts this provider as the hub (DS-FED-5).
    /// Answers the GroupInfo, the tree beside it and the creation time.
    fn creation(&self, group_id: &[u8]) -> Result<Option<Creation>, DsError>;

    /// A device's inbox after position `after`, oldest first.
    fn inbox(&self, device: &DeviceRef, after: u64, limit: usize) -> Result<Vec<Queued>, DsError>;

    /// Removes acknowledged messages (only the device's own).
    fn ack(&self, device: &DeviceRef, seqs: &[u64]) -> Result<(), DsError>;

    /// Removes every message of the device up to and including `seq`
    /// (a cursor acknowledgement: the device processed all of them).
    fn ack_through(&self, device: &DeviceRef, seq: u64) -> Result<(), DsError>;

    /// The oldest outbox entries for `peer`.
    fn outbox(&self, peer: &str, limit: usize) -> Result<Vec<OutboxEntry>, DsError>;

    /// Removes outbox entries the peer acknowledged.
    fn outbox_done(&self, seqs: &[u64]) -> Result<(), DsError>;

    /// Registers a device's push token.
    fn set_push_token(&self, device: &DeviceRef, token: &str) -> Result<(), DsError>;

    /// A device's push token.
    fn push_token(&self, device: &DeviceRef) -> Result<Option<String>, DsError>;

    /// Deletes inbox messages, commits and idempotency records older than
    /// `before`. Returns how many inbox messages expired.
    fn purge(&self, before: u64) -> Result<u64, DsError>;

    /// Writes what the store deferred (batched acknowledgements), so that a
    /// crash redelivers as little as possible. Called about once a second.
    fn flush(&self) -> Result<(), DsError> {
        Ok(())
    }
}
