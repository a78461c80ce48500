//! Device state in memory: for tests and benchmarks.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Entries, StateStore, StoreError, Table, Write, WriteBatch};

type Map = BTreeMap<(Table, Vec<u8>), Vec<u8>>;

/// A [`StateStore`] held in memory; lost when dropped.
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<Map>);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, Map> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl StateStore for MemoryStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.map().get(&(table, key.to_vec())).cloned())
    }

    fn scan(&self, table: Table, prefix: &[u8]) -> Result<Entries, StoreError> {
        Ok(self
            .map()
            .range((table, prefix.to_vec())..)
            .take_while(|((t, k), _)| *t == table && k.starts_with(prefix))
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut map = self.map();
        for write in batch.0 {
            match write {
                Write::Put(t, k, v) => {
                    map.insert((t, k), v);
                }
                Write::Delete(t, k) => {
                    map.remove(&(t, k));
                }
            }
        }
        Ok(())
    }
}
