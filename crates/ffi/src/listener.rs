//! The listener thread of `CrosslockDevice.start`: its life is owned by
//! the device.
//!
//! - At most one thread per device, ever: `start` refuses while one runs,
//!   and a thread that was told to stop (or ended on an error) is joined
//!   before a new one starts, so `stop()` then `start()` never leaves two.
//! - `stop()` signals and joins: when it returns, the thread has ended
//!   and `onStopped` has been called. Dropping the device does the same
//!   (Kotlin `close()`, a Swift release): a dropped device never polls on.
//! - Called from the listener's own callback (`onEvent`, `onStopped`),
//!   `stop()` and dropping the device only signal (a thread cannot join
//!   itself): the thread ends when the callback returns, and the next
//!   `start()` from another thread joins it first.
//! - A callback that throws is logged and ignored (crate::callback); the
//!   thread carries on with the next event.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::callback::log_failure;
use crate::core::Core;
use crate::error::CrosslockError;
use crate::events::{Event, EventListener};

/// How long one long-poll of the listener thread waits: other calls on the
/// device wait at most this long for it (and `stop()` about as long).
const LISTEN_POLL_SECS: u64 = 2;

/// The longest wait between attempts to reach an unreachable provider.
const MAX_BACKOFF_SECS: u64 = 60;

/// Tells devices apart on a listener thread.
static NEXT_DEVICE: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// On a listener thread: its device and its stop signal.
    static LISTENER_OF: RefCell<Option<(u64, Arc<StopSignal>)>> = const { RefCell::new(None) };
}

/// Tells a listener thread to end, waking it from a backoff wait.
#[derive(Debug, Default)]
struct StopSignal {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl StopSignal {
    fn flag(&self) -> MutexGuard<'_, bool> {
        self.stopped.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stop(&self) {
        *self.flag() = true;
        self.wake.notify_all();
    }

    fn is_stopped(&self) -> bool {
        *self.flag()
    }

    /// Waits up to `duration`; true when told to stop.
    fn wait(&self, duration: Duration) -> bool {
        let flag = self.flag();
        let (flag, _) = self
            .wake
            .wait_timeout_while(flag, duration, |stopped| !*stopped)
            .unwrap_or_else(|p| p.into_inner());
        *flag
    }
}

/// A listener thread.
struct Running {
    signal: Arc<StopSignal>,
    thread: JoinHandle<()>,
}

impl Running {
    /// Signals and waits for the thread to end.
    fn end(self) {
        self.signal.stop();
        if self.thread.join().is_err() {
            tracing::warn!("the listener thread panicked");
        }
    }
}

/// A device's listener: none, or one thread.
#[derive(Debug)]
pub(crate) struct Listening {
    device: u64,
    running: Mutex<Option<Running>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("stopped", &self.signal.is_stopped())
            .finish_non_exhaustive()
    }
}

impl Listening {
    pub(crate) fn new() -> Listening {
        Listening {
            device: NEXT_DEVICE.fetch_add(1, Ordering::Relaxed),
            running: Mutex::new(None),
        }
    }

    fn running(&self) -> MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The stop signal, when called on this device's listener thread.
    fn own_thread(&self) -> Option<Arc<StopSignal>> {
        LISTENER_OF.with(|current| match &*current.borrow() {
            Some((device, signal)) if *device == self.device => Some(signal.clone()),
            _ => None,
        })
    }

    /// Starts the listener thread (see the module docs).
    pub(crate) fn start(
        &self,
        core: Arc<Core>,
        listener: Arc<dyn EventListener>,
    ) -> Result<(), CrosslockError> {
        if self.own_thread().is_some() {
            return Err(CrosslockError::input(
                "start() was called from the listener's own callback; call it from another \
                 thread (after stop(), the listener ends when its callback returns)",
            ));
        }
        // Held until the new thread is in place: two concurrent start()s
        // cannot both start one, and stop() waits for this.
        let mut running = self.running();
        if let Some(previous) = running.take() {
            if !previous.signal.is_stopped() && !previous.thread.is_finished() {
                *running = Some(previous);
                return Err(CrosslockError::input(
                    "the device is already listening; stop() it first",
                ));
            }
            // Told to stop from its own callback, or ended on an error:
            // it ends (or has ended); wait for it.
            previous.end();
        }
        let signal = Arc::new(StopSignal::default());
        let thread_signal = signal.clone();
        let device = self.device;
        let thread = std::thread::Builder::new()
            .name("crosslock-listener".into())
            .spawn(move || {
                LISTENER_OF.with(|current| {
                    *current.borrow_mut() = Some((device, thread_signal.clone()));
                });
                listen(&core, &thread_signal, listener.as_ref());
            })
            .map_err(|e| CrosslockError::internal(format!("cannot start the listener: {e}")))?;
        *running = Some(Running { signal, thread });
        Ok(())
    }

    /// Stops the listener thread and waits for it (see the module docs).
    pub(crate) fn stop(&self) {
        if let Some(signal) = self.own_thread() {
            signal.stop();
            return;
        }
        // Held while joining: a start() from another thread waits, so it
        // never runs beside the thread that is ending.
        let mut running = self.running();
        if let Some(thread) = running.take() {
            thread.end();
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let running = self
            .running
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(thread) = running {
            if thread.thread.thread().id() == std::thread::current().id() {
                // Dropped from the listener's own callback: it ends when
                // the callback returns.
                thread.signal.stop();
            } else {
                thread.end();
            }
        }
    }
}

/// The listener thread's loop (what `Messenger::run` does, with the
/// messenger released between polls so the app's calls get through).
fn listen(core: &Core, stop: &StopSignal, listener: &dyn EventListener) {
    let mut backoff = 1u64;
    let mut stopped_by = None;
    while !stop.is_stopped() {
        // The lifecycle's events (a new device on the number, renewal due)
        // are handed over before the sync, as `Messenger::run` does: a sync
        // that fails must not take them along (they are raised once, or
        // muted for a day after).
        let step = catch_unwind(AssertUnwindSafe(|| {
            let maintained = core.call(|m| Box::pin(async move { m.maintain().await }))?;
            for event in &maintained.events {
                log_failure(
                    "EventListener.onEvent",
                    listener.on_event(Event::from(event)),
                );
            }
            core.call(|m| Box::pin(async move { m.sync(LISTEN_POLL_SECS).await }))
        }));
        match step {
            Ok(Ok(events)) => {
                backoff = 1;
                // The whole page, even after a stop: it is acknowledged
                // at the provider and would be lost.
                for event in &events {
                    log_failure(
                        "EventListener.onEvent",
                        listener.on_event(Event::from(event)),
                    );
                }
            }
            Ok(Err(CrosslockError::Network { .. })) => {
                if stop.wait(Duration::from_secs(backoff)) {
                    break;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF_SECS);
            }
            Ok(Err(e)) => {
                stopped_by = Some(e);
                break;
            }
            Err(_) => {
                stopped_by = Some(CrosslockError::internal(
                    "the listener stopped on a bug in the SDK; start it again",
                ));
                break;
            }
        }
    }
    log_failure("EventListener.onStopped", listener.on_stopped(stopped_by));
}
