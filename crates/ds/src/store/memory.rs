//! The delivery-service store in memory: the same semantics as
//! [`SqliteDsStore`](super::SqliteDsStore) (it passes the same
//! [`testing`](super::testing) checks), nothing durable. For tests and
//! tools that need a DS without a data directory.
//!
//! One lock over every table: each method checks everything it may refuse
//! before it writes anything, so each is atomic like a transaction.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::*;

/// In-memory [`DsStore`].
#[derive(Debug, Default)]
pub struct MemoryDsStore {
    tables: Mutex<Tables>,
}

/// (group id, era, epoch).
type EpochKey = (Vec<u8>, u32, u64);

#[derive(Debug, Default)]
struct Tables {
    conversations: HashMap<Vec<u8>, Stored>,
    /// Accepted message ids per (group id, message id), with their time.
    accepted: HashMap<(Vec<u8>, String), u64>,
    /// DS-AUTH-1: the device that opened each epoch, and when.
    owners: HashMap<EpochKey, (DeviceRef, u64)>,
    /// DS-AUTH-1: pinned authenticators, and when.
    pins: HashMap<EpochKey, ([u8; 32], u64)>,
    /// DS-FED-5: each hosted conversation's creation, by group id.
    creations: HashMap<Vec<u8>, StoredCreation>,
    /// Commits by (group id, era, epoch ended).
    commits: BTreeMap<EpochKey, StoredCommit>,
    inboxes: HashMap<DeviceRef, Inbox>,
    /// The last inbox position handed out (shared by every device, never
    /// reused).
    inbox_seq: u64,
    outbox: BTreeMap<u64, (OutboxEntry, u64)>,
    outbox_seq: u64,
    push_tokens: HashMap<DeviceRef, String>,
}

/// A known conversation.
#[derive(Debug)]
enum Stored {
    /// Hosted here, created at `created_at`.
    Hub {
        conversation: HostedConversation,
        created_at: u64,
    },
    /// Followed; hosted at `hub`.
    Follower { hub: String },
}

#[derive(Debug)]
struct StoredCreation {
    era: u32,
    group_info: Vec<u8>,
    ratchet_tree: Vec<u8>,
}

#[derive(Debug)]
struct StoredCommit {
    message_id: String,
    envelope: Vec<u8>,
    external: bool,
    at: u64,
}

/// One device's inbox: items by position, and the position of each
/// message id (one item per message id and device).
#[derive(Debug, Default)]
struct Inbox {
    items: BTreeMap<u64, (Queued, u64)>,
    ids: HashMap<String, u64>,
}

impl Inbox {
    fn remove(&mut self, seq: u64) -> bool {
        match self.items.remove(&seq) {
            Some((q, _)) => {
                self.ids.remove(&q.message_id);
                true
            }
            None => false,
        }
    }
}

impl MemoryDsStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Tables {
    /// Puts a message in `device`'s inbox unless one with its id is
    /// already waiting there; whether it was put.
    fn put_in_inbox(
        &mut self,
        device: &DeviceRef,
        message_id: &str,
        envelope: &[u8],
        ratchet_tree: Option<&Vec<u8>>,
        at: u64,
    ) -> bool {
        let inbox = self.inboxes.entry(device.clone()).or_default();
        if inbox.ids.contains_key(message_id) {
            return false;
        }
        self.inbox_seq += 1;
        let seq = self.inbox_seq;
        inbox.ids.insert(message_id.to_owned(), seq);
        inbox.items.insert(
            seq,
            (
                Queued {
                    seq,
                    message_id: message_id.to_owned(),
                    envelope: envelope.to_vec(),
                    ratchet_tree: ratchet_tree.cloned(),
                },
                at,
            ),
        );
        true
    }

    /// Inbox items for local recipients, outbox entries for remote ones.
    fn fan_out(&mut self, group_id: &[u8], fanout: &[Fanout], at: u64) {
        for f in fanout {
            match &f.recipient.home {
                None => {
                    self.put_in_inbox(
                        &f.recipient.device,
                        &f.message_id,
                        &f.envelope,
                        f.ratchet_tree.as_ref(),
                        at,
                    );
                }
                Some(peer) => {
                    self.outbox_seq += 1;
                    let entry = OutboxEntry {
                        seq: self.outbox_seq,
                        peer: peer.clone(),
                        group_id: group_id.to_vec(),
                        recipient: f.recipient.device.clone(),
                        message_id: f.message_id.clone(),
                        envelope: f.envelope.clone(),
                        ratchet_tree: f.ratchet_tree.clone(),
                    };
                    self.outbox.insert(entry.seq, (entry, at));
                }
            }
        }
    }

    /// Records which device opened an epoch (DS-AUTH-1); the first record
    /// stays.
    fn record_owner(&mut self, group_id: &[u8], era: u32, owner: Option<&EpochOwner>, at: u64) {
        if let Some(owner) = owner {
            self.owners
                .entry((group_id.to_vec(), era, owner.epoch))
                .or_insert_with(|| (owner.device.clone(), at));
        }
    }

    fn seen(&self, group_id: &[u8], message_id: &str) -> bool {
        self.accepted
            .contains_key(&(group_id.to_vec(), message_id.to_owned()))
    }

    fn remember(&mut self, group_id: &[u8], message_id: &str, at: u64) {
        self.accepted
            .insert((group_id.to_vec(), message_id.to_owned()), at);
    }
}

impl ConversationStore for MemoryDsStore {
    fn conversation(&self, group_id: &[u8]) -> Result<Option<Hosting>, DsError> {
        Ok(self
            .tables()
            .conversations
            .get(group_id)
            .map(|stored| match stored {
                Stored::Hub { conversation, .. } => Hosting::Hub(conversation.clone()),
                Stored::Follower { hub } => Hosting::Follower { hub: hub.clone() },
            }))
    }

    fn create(
        &self,
        conversation: &HostedConversation,
        accepted: &Accepted,
    ) -> Result<Outcome, DsError> {
        let mut t = self.tables();
        let group_id = &conversation.group_id;
        if t.seen(group_id, &accepted.message_id) {
            return Ok(Outcome::Duplicate);
        }
        match t.conversations.get(group_id) {
            None => {}
            // A new era replaces the conversation under the same group id
            // (RCC.16 recovery, last step); the caller checked the
            // submitter was a member.
            Some(Stored::Hub {
                conversation: c, ..
            }) if conversation.era > c.era => {}
            Some(_) => return Err(DsError::ConversationExists),
        }
        t.conversations.insert(
            group_id.clone(),
            Stored::Hub {
                conversation: conversation.clone(),
                created_at: accepted.at,
            },
        );
        t.remember(group_id, &accepted.message_id, accepted.at);
        // DS-FED-5: what proves to followers that this conversation was
        // created here.
        t.creations.insert(
            group_id.clone(),
            StoredCreation {
                era: conversation.era,
                group_info: conversation.group_info.clone(),
                ratchet_tree: conversation.ratchet_tree.clone(),
            },
        );
        t.record_owner(
            group_id,
            conversation.era,
            accepted.opens.as_ref(),
            accepted.at,
        );
        t.fan_out(group_id, &accepted.fanout, accepted.at);
        Ok(Outcome::Stored)
    }

    fn accept(&self, a: &Accepted) -> Result<Outcome, DsError> {
        let mut t = self.tables();
        let (era, epoch) = match t.conversations.get(&a.group_id) {
            Some(Stored::Hub { conversation, .. }) => (conversation.era, conversation.epoch),
            _ => return Err(DsError::UnknownConversation),
        };
        if t.seen(&a.group_id, &a.message_id) {
            return Ok(Outcome::Duplicate);
        }
        // Exactly one commit per epoch: the state moves only from the epoch
        // the commit was checked against.
        if a.new_state.is_some() && epoch != a.epoch {
            return Ok(Outcome::Conflict);
        }
        let commit_key = (a.group_id.clone(), era, a.epoch);
        if a.new_state.as_ref().is_some_and(|n| n.commit.is_some())
            && t.commits.contains_key(&commit_key)
        {
            // What the SQLite store's primary key refuses.
            return Err(DsError::Storage(
                "a commit ending this epoch is already recorded".into(),
            ));
        }
        t.remember(&a.group_id, &a.message_id, a.at);
        if let Some(new) = &a.new_state {
            if let Some(Stored::Hub { conversation, .. }) = t.conversations.get_mut(&a.group_id) {
                conversation.epoch = new.epoch;
                conversation.state = new.state.clone();
                conversation.group_info = new.group_info.clone();
                conversation.ratchet_tree = new.ratchet_tree.clone();
                conversation.members = new.members.clone();
                conversation.ended = new.ended;
            }
            if let Some(commit) = &new.commit {
                t.commits.insert(
                    commit_key,
                    StoredCommit {
                        message_id: a.message_id.clone(),
                        envelope: commit.clone(),
                        external: new.external,
                        at: a.at,
                    },
                );
            }
        }
        t.record_owner(&a.group_id, era, a.opens.as_ref(), a.at);
        if let Some(pin) = &a.pin {
            // DS-AUTH-1: only the device that opened the epoch pins it; the
            // first such claim wins and never changes.
            let key = (a.group_id.clone(), era, pin.epoch);
            if t.owners.get(&key).is_some_and(|(d, _)| *d == pin.sender) {
                t.pins.entry(key).or_insert((pin.authenticator, a.at));
            }
        }
        t.fan_out(&a.group_id, &a.fanout, a.at);
        Ok(Outcome::Stored)
    }

    fn deliver_from_hub(
        &self,
        hub: &str,
        group_id: &[u8],
        deliveries: &[Fanout],
        creation_proven: bool,
        at: u64,
    ) -> Result<Vec<DeviceRef>, DsError> {
        let mut t = self.tables();
        match t.conversations.get(group_id) {
            // DS-FED-5: a peer becomes a group's hub here only with the
            // proof that the group was created there.
            None if !creation_proven => return Err(DsError::HubUnproven),
            None => {
                t.conversations.insert(
                    group_id.to_vec(),
                    Stored::Follower {
                        hub: hub.to_owned(),
                    },
                );
            }
            Some(Stored::Follower { hub: known }) if known == hub => {}
            // DS-FED-4: a conversation hosted here, or followed at another
            // hub: a peer cannot take it over.
            Some(_) => return Err(DsError::NotTheHub),
        }
        let mut woken = Vec::new();
        for d in deliveries {
            if t.put_in_inbox(
                &d.recipient.device,
                &d.message_id,
                &d.envelope,
                d.ratchet_tree.as_ref(),
                at,
            ) {
                woken.push(d.recipient.device.clone());
            }
        }
        woken.sort();
        woken.dedup();
        Ok(woken)
    }
}

impl EpochLog for MemoryDsStore {
    fn epoch_authenticator(
        &self,
        group_id: &[u8],
        era: u32,
        epoch: u64,
    ) -> Result<Option<[u8; 32]>, DsError> {
        Ok(self
            .tables()
            .pins
            .get(&(group_id.to_vec(), era, epoch))
            .map(|(a, _)| *a))
    }

    fn commits(
        &self,
        group_id: &[u8],
        from_epoch: u64,
        limit: usize,
    ) -> Result<Vec<Queued>, DsError> {
        let t = self.tables();
        let Some(Stored::Hub { conversation, .. }) = t.conversations.get(group_id) else {
            return Ok(Vec::new());
        };
        let era = conversation.era;
        let range = (group_id.to_vec(), era, from_epoch)..=(group_id.to_vec(), era, u64::MAX);
        Ok(t.commits
            .range(range)
            .take(limit)
            .map(|((_, _, epoch), c)| Queued {
                seq: *epoch,
                message_id: c.message_id.clone(),
                envelope: c.envelope.clone(),
                ratchet_tree: None,
            })
            .collect())
    }

    fn external_commits_since(&self, group_id: &[u8], since: u64) -> Result<u64, DsError> {
        let t = self.tables();
        let range = (group_id.to_vec(), 0, 0)..=(group_id.to_vec(), u32::MAX, u64::MAX);
        Ok(t.commits
            .range(range)
            .filter(|(_, c)| c.external && c.at >= since)
            .count() as u64)
    }
}

impl InboxStore for MemoryDsStore {
    fn inbox(&self, device: &DeviceRef, after: u64, limit: usize) -> Result<Vec<Queued>, DsError> {
        let t = self.tables();
        let Some(inbox) = t.inboxes.get(device) else {
            return Ok(Vec::new());
        };
        Ok(inbox
            .items
            .range(after.saturating_add(1)..)
            .take(limit)
            .map(|(_, (q, _))| q.clone())
            .collect())
    }

    fn ack(&self, device: &DeviceRef, seqs: &[u64]) -> Result<(), DsError> {
        let mut t = self.tables();
        if let Some(inbox) = t.inboxes.get_mut(device) {
            for seq in seqs {
                inbox.remove(*seq);
            }
        }
        Ok(())
    }

    fn ack_through(&self, device: &DeviceRef, seq: u64) -> Result<(), DsError> {
        let mut t = self.tables();
        if let Some(inbox) = t.inboxes.get_mut(device) {
            let done: Vec<u64> = inbox.items.range(..=seq).map(|(s, _)| *s).collect();
            for s in done {
                inbox.remove(s);
            }
        }
        Ok(())
    }
}

impl OutboxStore for MemoryDsStore {
    fn outbox(&self, peer: &str, limit: usize) -> Result<Vec<OutboxEntry>, DsError> {
        Ok(self
            .tables()
            .outbox
            .values()
            .filter(|(e, _)| e.peer == peer)
            .take(limit)
            .map(|(e, _)| e.clone())
            .collect())
    }

    fn outbox_done(&self, seqs: &[u64]) -> Result<(), DsError> {
        let mut t = self.tables();
        for seq in seqs {
            t.outbox.remove(seq);
        }
        Ok(())
    }

    fn creation(&self, group_id: &[u8]) -> Result<Option<Creation>, DsError> {
        let t = self.tables();
        let Some(Stored::Hub {
            conversation,
            created_at,
        }) = t.conversations.get(group_id)
        else {
            return Ok(None);
        };
        Ok(t.creations
            .get(group_id)
            .filter(|c| c.era == conversation.era)
            .map(|c| Creation {
                group_info: c.group_info.clone(),
                ratchet_tree: Some(c.ratchet_tree.clone()),
                created_at: *created_at,
            }))
    }
}

impl PushTokens for MemoryDsStore {
    fn set_push_token(&self, device: &DeviceRef, token: &str) -> Result<(), DsError> {
        self.tables()
            .push_tokens
            .insert(device.clone(), token.to_owned());
        Ok(())
    }

    fn push_token(&self, device: &DeviceRef) -> Result<Option<String>, DsError> {
        Ok(self.tables().push_tokens.get(device).cloned())
    }
}

impl Maintenance for MemoryDsStore {
    fn purge(&self, before: u64) -> Result<u64, DsError> {
        let mut t = self.tables();
        let mut expired = 0;
        for inbox in t.inboxes.values_mut() {
            let old: Vec<u64> = inbox
                .items
                .iter()
                .filter(|(_, (_, at))| *at < before)
                .map(|(s, _)| *s)
                .collect();
            for seq in old {
                inbox.remove(seq);
                expired += 1;
            }
        }
        t.inboxes.retain(|_, inbox| !inbox.items.is_empty());
        t.accepted.retain(|_, at| *at >= before);
        t.commits.retain(|_, c| c.at >= before);
        t.pins.retain(|_, (_, at)| *at >= before);
        t.owners.retain(|_, (_, at)| *at >= before);
        Ok(expired)
    }
}
