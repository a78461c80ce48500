//! [`Core`]: what a device's calls and its listener thread share: the
//! SDK's `Messenger` behind a mutex, the tokio runtime its async code runs
//! on, and the key store adapter's refusals.

use std::sync::{Arc, Mutex, MutexGuard};

use crosslock_sdk::{Messenger, SdkError};

use crate::error::CrosslockError;
use crate::keystore::KeyStoreFaults;

/// A boxed SDK future borrowing the messenger.
pub(crate) type SdkFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, SdkError>> + 'a>>;

/// One device's SDK state.
pub(crate) struct Core {
    messenger: Mutex<Messenger>,
    runtime: tokio::runtime::Runtime,
    /// The platform key store adapter's refusals, when the app passed a
    /// key store.
    key_faults: Option<Arc<KeyStoreFaults>>,
}

/// The device's runtime: two workers.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CrosslockError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("crosslock-sdk")
        .enable_all()
        .build()
        .map_err(|e| CrosslockError::internal(format!("cannot start the async runtime: {e}")))
}

/// The app's error for an SDK error: `KeyStore` when the key store
/// adapter refused the app's store during the call (the client core sees
/// that only as a generic key store failure, often wrapped by MLS).
pub(crate) fn app_error(e: SdkError, key_faults: Option<&KeyStoreFaults>) -> CrosslockError {
    match key_faults.and_then(KeyStoreFaults::take) {
        Some(reason) => CrosslockError::KeyStore { reason },
        None => e.into(),
    }
}

impl Core {
    pub(crate) fn new(
        messenger: Messenger,
        runtime: tokio::runtime::Runtime,
        key_faults: Option<Arc<KeyStoreFaults>>,
    ) -> Core {
        Core {
            messenger: Mutex::new(messenger),
            runtime,
            key_faults,
        }
    }

    /// The messenger, for calls that do not wait on the provider.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Messenger> {
        // A panic inside the SDK while locked leaves the messenger as the
        // database has it: every state change is one atomic write.
        self.messenger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one SDK call to completion on the device's runtime, holding
    /// the messenger; its error as the app sees it.
    pub(crate) fn call<T>(
        &self,
        call: impl for<'a> FnOnce(&'a mut Messenger) -> SdkFuture<'a, T>,
    ) -> Result<T, CrosslockError> {
        let mut m = self.lock();
        self.forget_faults();
        let result = self.runtime.block_on(call(&mut m));
        result.map_err(|e| app_error(e, self.key_faults.as_deref()))
    }

    /// Runs a call that does not wait on the provider.
    pub(crate) fn local<T>(
        &self,
        call: impl FnOnce(&mut Messenger) -> Result<T, SdkError>,
    ) -> Result<T, CrosslockError> {
        let mut m = self.lock();
        self.forget_faults();
        call(&mut m).map_err(|e| app_error(e, self.key_faults.as_deref()))
    }

    /// Drops refusals of earlier calls (one a best-effort step swallowed),
    /// so a call's error names only what happened in it.
    fn forget_faults(&self) {
        if let Some(faults) = &self.key_faults {
            faults.take();
        }
    }
}
