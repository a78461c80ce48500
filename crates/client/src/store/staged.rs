//! Writes staged in memory until the operation that made them succeeds.
//!
//! mls-rs writes group state through its storage traits in the middle of
//! an operation; the client adds its own records afterwards. Both land in
//! this overlay and reach the [`StateStore`] in one [`WriteBatch`] on
//! [`Staged::flush`], or vanish on [`Staged::discard`] when the operation
//! fails — so a refused message or a crash leaves the stored state exactly
//! as it was.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Entries, StateStore, StoreError, Table, Write, WriteBatch};

type Overlay = BTreeMap<(Table, Vec<u8>), Option<Vec<u8>>>;

/// A [`StateStore`] with an overlay of not-yet-committed writes.
#[derive(Debug, Clone)]
pub(crate) struct Staged {
    inner: Arc<dyn StateStore>,
    overlay: Arc<Mutex<Overlay>>,
}

impl Staged {
    pub(crate) fn new(inner: Arc<dyn StateStore>) -> Self {
        Staged {
            inner,
            overlay: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    fn overlay(&self) -> MutexGuard<'_, Overlay> {
        self.overlay
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(staged) = self.overlay().get(&(table, key.to_vec())) {
            return Ok(staged.clone());
        }
        self.inner.get(table, key)
    }

    pub(crate) fn scan(&self, table: Table, prefix: &[u8]) -> Result<Entries, StoreError> {
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = self
            .inner
            .scan(table, prefix)?
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        for ((_, k), v) in self
            .overlay()
            .range((table, prefix.to_vec())..)
            .take_while(|((t, k), _)| *t == table && k.starts_with(prefix))
        {
            merged.insert(k.clone(), v.clone());
        }
        Ok(merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect())
    }

    pub(crate) fn put(&self, table: Table, key: Vec<u8>, value: Vec<u8>) {
        self.overlay().insert((table, key), Some(value));
    }

    pub(crate) fn delete(&self, table: Table, key: Vec<u8>) {
        self.overlay().insert((table, key), None);
    }

    /// Commits every staged write in one batch. On failure nothing was
    /// written and the overlay is dropped: the caller must reload.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        let overlay = std::mem::take(&mut *self.overlay());
        let batch = WriteBatch(
            overlay
                .into_iter()
                .map(|((t, k), v)| match v {
                    Some(v) => Write::Put(t, k, v),
                    None => Write::Delete(t, k),
                })
                .collect(),
        );
        self.inner.commit(batch)
    }

    /// Drops every staged write.
    pub(crate) fn discard(&self) {
        self.overlay().clear();
    }
}
