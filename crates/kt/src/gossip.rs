//! Split-view detection: the roots a device has seen, compared with each
//! other and with the roots its contacts saw (gossiped inside encrypted
//! conversations). Two roots for one epoch with different hashes, both
//! signed by the log, prove the log showed different views.

use std::collections::BTreeMap;

use crosslock_wire::api::kt::SignedRoot;
use serde::{Deserialize, Serialize};

use crate::error::KtError;
use crate::keys::PublicKey;
use crate::root::{check_log_signature, root_hash};
use crate::trust::TrustedLog;

/// How many of a directory's most recent roots a device remembers.
pub const REMEMBERED_ROOTS: usize = 32;

/// Two roots the log signed for the same epoch with different hashes.
/// Anyone holding the log key can check it: it is proof of misbehaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkEvidence {
    /// The directory.
    pub directory: String,
    /// The epoch with two roots.
    pub epoch: u64,
    /// The root seen first.
    pub first: SignedRoot,
    /// The conflicting root.
    pub second: SignedRoot,
}

impl ForkEvidence {
    /// Checks the evidence against the log key: both roots signed by it,
    /// same directory and epoch, different hashes.
    pub fn verify(&self, log_key: &PublicKey) -> bool {
        detect_fork(log_key, &self.first, &self.second).is_some()
    }
}

/// Compares two roots; `Some` when they prove a fork.
pub fn detect_fork(log_key: &PublicKey, a: &SignedRoot, b: &SignedRoot) -> Option<ForkEvidence> {
    if a.statement.directory != b.statement.directory || a.statement.epoch != b.statement.epoch {
        return None;
    }
    let (ra, rb) = (
        check_log_signature(log_key, a).ok()?,
        check_log_signature(log_key, b).ok()?,
    );
    (ra.hash != rb.hash).then(|| ForkEvidence {
        directory: a.statement.directory.clone(),
        epoch: ra.epoch,
        first: a.clone(),
        second: b.clone(),
    })
}

/// The roots a device has accepted, per directory (the newest
/// [`REMEMBERED_ROOTS`], and the newest epoch ever seen). Serialisable so the
/// device keeps it in its store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenRoots {
    directories: BTreeMap<String, Seen>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Seen {
    newest_epoch: u64,
    roots: BTreeMap<u64, SignedRoot>,
}

impl SeenRoots {
    /// The newest epoch seen of `directory` (0: none).
    pub fn newest_epoch(&self, directory: &str) -> u64 {
        self.directories
            .get(directory)
            .map_or(0, |s| s.newest_epoch)
    }

    /// The newest root seen of every directory (what a device gossips).
    pub fn newest_roots(&self) -> Vec<SignedRoot> {
        self.directories
            .values()
            .filter_map(|s| s.roots.values().next_back().cloned())
            .collect()
    }

    /// Records a root of our own lookup, already verified against the log
    /// (signature, witnesses, age). Refuses a root older than one already
    /// seen ([`KtError::StaleEpoch`]) and one conflicting with a root
    /// remembered for the same epoch ([`KtError::Fork`]). A root the log did
    /// not sign is refused ([`KtError::BadLogSignature`]) and not
    /// remembered: it would mask a real fork, or raise the epoch below
    /// which genuine roots are refused as stale.
    pub fn observe_own(&mut self, log_key: &PublicKey, root: &SignedRoot) -> Result<(), KtError> {
        check_log_signature(log_key, root)?;
        let seen = self
            .directories
            .entry(root.statement.directory.clone())
            .or_default();
        let epoch = root.statement.epoch;
        // KT-FORK-1: no other root seen with this epoch and another hash.
        if let Some(known) = seen.roots.get(&epoch) {
            if let Some(fork) = detect_fork(log_key, known, root) {
                return Err(KtError::Fork(Box::new(fork)));
            }
            return Ok(());
        }
        // KT-EPOCH-1: not older than the newest root seen from this log.
        if epoch < seen.newest_epoch {
            return Err(KtError::StaleEpoch {
                epoch,
                seen: seen.newest_epoch,
            });
        }
        Self::remember(seen, root);
        Ok(())
    }

    /// Compares a root gossiped by a contact with what we remember.
    ///
    /// KT-GOSSIP-1: anyone in a conversation can gossip anything, so a
    /// gossiped root counts (is remembered, and raises the epoch below
    /// which our own lookups are refused as stale) only once `log` has
    /// checked it like a root of our own lookup: its directory, the log's
    /// signature, the log's witness threshold, and a signing time not in
    /// the future. A root failing any check is refused and changes
    /// nothing: one forged root at epoch 2^63 cannot make every later
    /// genuine lookup stale.
    ///
    /// A root that the log signed and that conflicts with one remembered
    /// for the same epoch is a fork ([`KtError::Fork`]) even without
    /// co-signatures: the log's two signatures are the evidence.
    pub fn observe_gossip(
        &mut self,
        log: &TrustedLog,
        root: &SignedRoot,
        now: u64,
    ) -> Result<(), KtError> {
        if root.statement.directory != log.directory {
            return Err(KtError::WrongDirectory {
                expected: log.directory.clone(),
                got: root.statement.directory.clone(),
            });
        }
        check_log_signature(&log.log_key, root)?;
        root_hash(&root.statement)?;
        if let Some(known) = self
            .directories
            .get(&root.statement.directory)
            .and_then(|seen| seen.roots.get(&root.statement.epoch))
        {
            if let Some(fork) = detect_fork(&log.log_key, known, root) {
                return Err(KtError::Fork(Box::new(fork)));
            }
            return Ok(());
        }
        log.verify_cosigned(root, now)?;
        let seen = self
            .directories
            .entry(root.statement.directory.clone())
            .or_default();
        if root.statement.epoch > seen.newest_epoch {
            Self::remember(seen, root);
        }
        Ok(())
    }

    fn remember(seen: &mut Seen, root: &SignedRoot) {
        seen.newest_epoch = seen.newest_epoch.max(root.statement.epoch);
        seen.roots.insert(root.statement.epoch, root.clone());
        while seen.roots.len() > REMEMBERED_ROOTS {
            seen.roots.pop_first();
        }
    }
}
