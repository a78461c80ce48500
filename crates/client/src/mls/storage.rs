//! mls-rs storage traits on the staged device store.
//!
//! Group snapshots, prior-epoch secrets and KeyPackage secrets go to the
//! overlay of [`Staged`]; the device commits them together with its own
//! records. Prior epochs are kept for the retention window (RCC.16: at
//! least 3 days, so late messages still decrypt) and then deleted.

use std::sync::Arc;

use mls_rs::mls_rs_codec::{MlsDecode, MlsEncode};
use mls_rs_core::group::{EpochRecord, GroupState, GroupStateStorage};
use mls_rs_core::key_package::{KeyPackageData, KeyPackageStorage};
use zeroize::Zeroizing;

use crate::env::Clock;
use crate::store::{Staged, StoreError, Table, key};

impl mls_rs_core::error::IntoAnyError for StoreError {
    fn into_dyn_error(self) -> Result<Box<dyn std::error::Error + Send + Sync>, Self> {
        Ok(Box::new(self))
    }
}

/// How long prior-epoch secrets are kept, and at most how many.
#[derive(Debug, Clone, Copy)]
pub struct EpochRetention {
    /// Seconds an epoch's secrets are kept after the epoch ended.
    pub seconds: u64,
    /// Hard cap on stored prior epochs per group (bounds storage under
    /// a flood of commits).
    pub max_epochs: u64,
}

impl Default for EpochRetention {
    fn default() -> Self {
        EpochRetention {
            seconds: 3 * 86_400,
            max_epochs: 512,
        }
    }
}

/// mls-rs group state on the device store.
///
/// The live store holds each conversation's current group. The staging
/// store (other tables, same keys) holds a conversation's *next* group
/// while the commit that creates it waits for the delivery service's
/// verdict: a rejoin by external commit or a new era, which replace the
/// whole group rather than moving it one epoch on. Accepting the commit
/// moves the staged rows over the live ones (`Device::promote_staged_group`).
#[derive(Debug, Clone)]
pub(crate) struct GroupStore {
    staged: Staged,
    clock: Arc<dyn Clock>,
    retention: EpochRetention,
    state_table: Table,
    epoch_table: Table,
}

impl GroupStore {
    pub(crate) fn new(staged: Staged, clock: Arc<dyn Clock>, retention: EpochRetention) -> Self {
        GroupStore {
            staged,
            clock,
            retention,
            state_table: Table::GroupState,
            epoch_table: Table::Epoch,
        }
    }

    /// The same store writing to the staging tables.
    pub(crate) fn staging(&self) -> Self {
        GroupStore {
            state_table: Table::StagedGroupState,
            epoch_table: Table::StagedEpoch,
            ..self.clone()
        }
    }
}

fn epoch_key(group_id: &[u8], epoch: u64) -> Vec<u8> {
    key(&[group_id, &epoch.to_be_bytes()])
}

/// Stored epoch value: u64 end time (seconds) followed by the mls-rs record.
fn epoch_value(ended_at: u64, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + data.len());
    v.extend_from_slice(&ended_at.to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn split_epoch_value(v: &[u8]) -> Result<(u64, &[u8]), StoreError> {
    let (time, data) = v
        .split_at_checked(8)
        .ok_or(StoreError::Corrupt("epoch record".into()))?;
    let mut t = [0u8; 8];
    t.copy_from_slice(time);
    Ok((u64::from_be_bytes(t), data))
}

fn epoch_of(k: &[u8]) -> Option<u64> {
    k.len().checked_sub(8).map(|start| {
        let mut e = [0u8; 8];
        e.copy_from_slice(&k[start..]);
        u64::from_be_bytes(e)
    })
}

impl GroupStateStorage for GroupStore {
    type Error = StoreError;

    fn state(&self, group_id: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, Self::Error> {
        Ok(self
            .staged
            .get(self.state_table, group_id)?
            .map(Zeroizing::new))
    }

    fn epoch(
        &self,
        group_id: &[u8],
        epoch_id: u64,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, Self::Error> {
        match self
            .staged
            .get(self.epoch_table, &epoch_key(group_id, epoch_id))?
        {
            None => Ok(None),
            Some(v) => Ok(Some(Zeroizing::new(split_epoch_value(&v)?.1.to_vec()))),
        }
    }

    fn write(
        &mut self,
        state: GroupState,
        epoch_inserts: Vec<EpochRecord>,
        epoch_updates: Vec<EpochRecord>,
    ) -> Result<(), Self::Error> {
        let now = self.clock.now();
        let group_id = state.id.clone();
        let epoch_changed = !epoch_inserts.is_empty();
        self.staged
            .put(self.state_table, group_id.clone(), state.data.to_vec());
        for record in epoch_inserts {
            self.staged.put(
                self.epoch_table,
                epoch_key(&group_id, record.id),
                epoch_value(now, &record.data),
            );
        }
        for record in epoch_updates {
            let k = epoch_key(&group_id, record.id);
            // Keep the original end time; an update only ratchets secrets.
            let ended_at = match self.staged.get(self.epoch_table, &k)? {
                Some(old) => split_epoch_value(&old)?.0,
                None => now,
            };
            self.staged
                .put(self.epoch_table, k, epoch_value(ended_at, &record.data));
        }
        if epoch_changed {
            self.prune(&group_id, now)?;
        }
        Ok(())
    }

    fn max_epoch_id(&self, group_id: &[u8]) -> Result<Option<u64>, Self::Error> {
        Ok(self
            .staged
            .scan(self.epoch_table, &key(&[group_id]))?
            .last()
            .and_then(|(k, _)| epoch_of(k)))
    }
}

impl GroupStore {
    /// Retention: drops epochs that ended too long ago, and the oldest
    /// beyond the cap. Runs when an epoch ends and from device maintenance.
    pub(crate) fn prune(&self, group_id: &[u8], now: u64) -> Result<(), StoreError> {
        let stored = self.staged.scan(self.epoch_table, &key(&[group_id]))?;
        let excess = (stored.len() as u64).saturating_sub(self.retention.max_epochs);
        for (i, (k, v)) in stored.iter().enumerate() {
            let (ended_at, _) = split_epoch_value(v)?;
            if (i as u64) < excess || now.saturating_sub(ended_at) > self.retention.seconds {
                self.staged.delete(self.epoch_table, k.clone());
            }
        }
        Ok(())
    }
}

/// mls-rs KeyPackage secrets on the device store.
#[derive(Debug, Clone)]
pub(crate) struct KeyPackageStore {
    staged: Staged,
}

impl KeyPackageStore {
    pub(crate) fn new(staged: Staged) -> Self {
        KeyPackageStore { staged }
    }

    /// Every stored KeyPackage (reference, data).
    pub(crate) fn all(&self) -> Result<Vec<(Vec<u8>, KeyPackageData)>, StoreError> {
        self.staged
            .scan(Table::KeyPackage, &[])?
            .into_iter()
            .map(|(k, v)| {
                KeyPackageData::mls_decode(&mut v.as_slice())
                    .map(|d| (k, d))
                    .map_err(|e| StoreError::Corrupt(format!("key package: {e}")))
            })
            .collect()
    }

    pub(crate) fn remove(&self, id: &[u8]) {
        self.staged.delete(Table::KeyPackage, id.to_vec());
    }
}

impl KeyPackageStorage for KeyPackageStore {
    type Error = StoreError;

    fn delete(&mut self, id: &[u8]) -> Result<(), Self::Error> {
        self.remove(id);
        Ok(())
    }

    fn insert(&mut self, id: Vec<u8>, pkg: KeyPackageData) -> Result<(), Self::Error> {
        let bytes = pkg
            .mls_encode_to_vec()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.staged.put(Table::KeyPackage, id, bytes);
        Ok(())
    }

    fn get(&self, id: &[u8]) -> Result<Option<KeyPackageData>, Self::Error> {
        self.staged
            .get(Table::KeyPackage, id)?
            .map(|v| {
                KeyPackageData::mls_decode(&mut v.as_slice())
                    .map_err(|e| StoreError::Corrupt(format!("key package: {e}")))
            })
            .transpose()
    }
}
