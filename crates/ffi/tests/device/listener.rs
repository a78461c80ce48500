//! The listener thread's life (crates/ffi/src/listener.rs): owned by the
//! device, one at a time, ended by `stop()` and by dropping the device,
//! and unharmed by a listener that throws.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crosslock_ffi::{CallbackError, CrosslockDevice, CrosslockError, Event, EventListener};

use crate::common::*;

#[test]
fn a_listener_that_throws_on_every_event_keeps_the_device_listening() {
    let net = Net::start();
    let alice = net.phone("alice", ALICE);
    let bob = net.phone("bob", BOB);
    let chat = alice.open_chat(BOB.into()).unwrap().conversation;

    let broken = Recorder::failing();
    bob.start(broken.clone()).unwrap();
    alice.send_text(chat.clone(), "one".into()).unwrap();
    eventually("the first text", || broken.has_text("one"));
    // Every event so far was answered with an error; the thread goes on.
    assert!(broken.stops().is_empty(), "the listener stopped");
    alice.send_text(chat.clone(), "two".into()).unwrap();
    eventually("a later text", || broken.has_text("two"));
    assert!(broken.stops().is_empty(), "the listener stopped");

    // And the device itself still works beside it.
    bob.send_text(chat, "still here".into()).unwrap();
    sync_until(&alice, |e| is_text(e, "still here"));

    bob.stop();
    assert_eq!(broken.stops(), vec![None], "stopped once, cleanly");
    assert_eq!(Arc::strong_count(&broken), 1, "the thread let go of it");
}

#[test]
fn stop_then_start_never_leaves_two_threads() {
    let net = Net::start();
    let alice = net.phone("alice", ALICE);
    let bob = net.phone("bob", BOB);
    let chat = alice.open_chat(BOB.into()).unwrap().conversation;

    let first = Arc::new(Recorder::default());
    bob.start(first.clone()).unwrap();
    assert!(matches!(
        bob.start(Arc::new(Recorder::default())),
        Err(CrosslockError::Input { .. })
    ));
    // stop() returns once the thread has ended: onStopped was called and
    // the thread's hold on the listener is gone.
    bob.stop();
    assert_eq!(first.stops(), vec![None]);
    assert_eq!(Arc::strong_count(&first), 1);

    let mut previous = first;
    for round in 0..3 {
        let next = Arc::new(Recorder::default());
        bob.start(next.clone()).unwrap();
        assert_eq!(Arc::strong_count(&previous), 1, "round {round}");
        bob.stop();
        assert_eq!(next.stops(), vec![None], "round {round}");
        previous = next;
    }
    // stop() with nothing running is a no-op.
    bob.stop();

    // stop() from the listener's own callback: it only asks (a thread
    // cannot join itself); start() from there is refused; the thread ends
    // when the callback returns, and the next start() waits for it.
    let own = Arc::new(SelfStopping {
        device: Arc::downgrade(&bob),
        recorder: Recorder::default(),
        restart: Mutex::new(None),
    });
    bob.start(own.clone()).unwrap();
    alice
        .send_text(chat.clone(), "stop yourself".into())
        .unwrap();
    eventually("the self-stop", || !own.recorder.stops().is_empty());
    assert_eq!(own.recorder.stops(), vec![None]);
    assert!(
        matches!(
            &*own.restart.lock().unwrap(),
            Some(Err(CrosslockError::Input { .. }))
        ),
        "start() from the listener's callback: {:?}",
        own.restart.lock().unwrap()
    );
    let after = Arc::new(Recorder::default());
    bob.start(after.clone()).unwrap();
    assert_eq!(Arc::strong_count(&own), 1, "the stopped thread was joined");
    alice.send_text(chat, "to the new listener".into()).unwrap();
    eventually("the new listener's text", || {
        after.has_text("to the new listener")
    });
    bob.stop();
}

/// Stops its device from its own callback, and tries to restart it there.
struct SelfStopping {
    device: Weak<CrosslockDevice>,
    recorder: Recorder,
    restart: Mutex<Option<Result<(), CrosslockError>>>,
}

impl EventListener for SelfStopping {
    fn on_event(&self, event: Event) -> Result<(), CallbackError> {
        let stop = is_text(&event, "stop yourself");
        self.recorder.on_event(event)?;
        if stop && let Some(device) = self.device.upgrade() {
            device.stop();
            let again = device.start(Arc::new(Recorder::default()));
            *self.restart.lock().unwrap() = Some(again);
        }
        Ok(())
    }

    fn on_stopped(&self, error: Option<CrosslockError>) -> Result<(), CallbackError> {
        self.recorder.on_stopped(error)
    }
}

#[test]
fn a_dropped_device_stops_polling() {
    let net = Net::start();
    let alice = net.phone("alice", ALICE);
    let bob = net.phone("bob", BOB);
    let chat = alice.open_chat(BOB.into()).unwrap().conversation;

    let listener = Arc::new(Recorder::default());
    bob.start(listener.clone()).unwrap();
    alice.send_text(chat.clone(), "before".into()).unwrap();
    eventually("the first text", || listener.has_text("before"));

    // Dropped without stop() (a Kotlin close(), a Swift release): the
    // thread is told to end and joined before the drop returns.
    drop(bob);
    assert_eq!(listener.stops(), vec![None]);
    assert_eq!(Arc::strong_count(&listener), 1, "the thread is gone");

    // Nothing polls the inbox any more: a text waits there, untouched.
    alice.send_text(chat, "after".into()).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    assert!(!listener.has_text("after"));
    let bob = reopen(&net.path("bob"));
    sync_until(&bob, |e| is_text(e, "after"));
}

#[test]
fn a_device_dropped_from_its_own_callback_ends_its_thread() {
    let net = Net::start();
    let alice = net.phone("alice", ALICE);
    let bob = net.phone("bob", BOB);
    let chat = alice.open_chat(BOB.into()).unwrap().conversation;

    // The listener holds the last reference and drops it in a callback:
    // the device's Drop runs on the listener thread itself.
    let holder = Arc::new(Holder {
        device: Mutex::new(Some(bob.clone())),
        recorder: Recorder::default(),
    });
    bob.start(holder.clone()).unwrap();
    drop(bob);
    alice.send_text(chat, "let go".into()).unwrap();
    eventually("the thread's end", || !holder.recorder.stops().is_empty());
    assert_eq!(holder.recorder.stops(), vec![None]);
    assert!(holder.device.lock().unwrap().is_none());
    eventually("the thread letting go", || Arc::strong_count(&holder) == 1);
}

/// Holds its device until the first event, then drops it.
struct Holder {
    device: Mutex<Option<Arc<CrosslockDevice>>>,
    recorder: Recorder,
}

impl EventListener for Holder {
    fn on_event(&self, event: Event) -> Result<(), CallbackError> {
        let device = self.device.lock().unwrap().take();
        drop(device);
        self.recorder.on_event(event)
    }

    fn on_stopped(&self, error: Option<CrosslockError>) -> Result<(), CallbackError> {
        self.recorder.on_stopped(error)
    }
}

/// The lifecycle's events reach the app even when the sync after them
/// fails: credentials with 30 days left make `maintain` raise
/// `CredentialRenewalDue` (once, then muted for a day), and with the
/// provider gone every sync fails. The listener hands the event over
/// before it syncs.
#[test]
fn a_lifecycle_event_is_delivered_when_the_sync_after_it_fails() {
    let net = Net::start_with(|c, _| c.credential_ca.credential_lifetime_days = 30);
    let bob = net.phone("bob", BOB);
    let _dir = net.shut_down();
    let recorder = Arc::new(Recorder::default());
    bob.start(recorder.clone()).unwrap();
    eventually("the renewal event", || {
        recorder
            .events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, Event::CredentialRenewalDue { .. }))
    });
    bob.stop();
    assert_eq!(recorder.stops(), vec![None]);
}
