//! One logged-in session per token per process, shared by every handle.
//!
//! PKCS#11 login state belongs to the application, not to a session: once
//! one session of the process is logged in as the user, every session of
//! that token is, and a second `C_Login` returns
//! `CKR_USER_ALREADY_LOGGED_IN` *without checking the PIN*. So a second
//! [`crate::Pkcs11Token::open`] of the same token must not trust the token
//! to check its PIN. Instead, handles to one token share one logged-in
//! session ([`LoginRef`]), the PIN of a later open is compared with the one
//! that logged in (through a digest, never stored in clear), and the session
//! is closed, which logs the process out, when the last handle goes. Both
//! happen under one lock, so a closing session and a new login never
//! interleave.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cryptoki::context::Pkcs11;
use cryptoki::error::RvError;
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use sha2::{Digest, Sha256};

use crate::error::{HsmError, ckr_name, rv_of};

/// A logged-in session and what identifies it.
pub(crate) struct Login {
    module: PathBuf,
    slot: Slot,
    label: String,
    pin_digest: [u8; 32],
    session: Mutex<Option<Session>>,
}

struct Entry {
    login: Arc<Login>,
    handles: usize,
}

/// Live logins, one per (module, slot).
static LOGINS: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

fn logins() -> MutexGuard<'static, Vec<Entry>> {
    LOGINS.lock().unwrap_or_else(PoisonError::into_inner)
}

fn pin_digest(pin: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"crosslock-hsm user PIN\0");
    hash.update(pin.as_bytes());
    hash.finalize().into()
}

/// Equality that takes the same time wherever the first difference is.
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A counted handle on a shared login.
pub(crate) struct LoginRef(Arc<Login>);

impl LoginRef {
    /// Logs in to `slot` as the user, or joins the process's existing login
    /// to it after checking `pin` against the one that logged in.
    pub(crate) fn acquire(
        context: &Pkcs11,
        module: PathBuf,
        slot: Slot,
        label: &str,
        pin: &str,
    ) -> Result<LoginRef, HsmError> {
        let digest = pin_digest(pin);
        let mut logins = logins();
        if let Some(entry) = logins
            .iter_mut()
            .find(|e| e.login.module == module && e.login.slot == slot)
        {
            if !same_digest(&entry.login.pin_digest, &digest) {
                // What the token itself would have said had it checked.
                return Err(HsmError::LoginFailed {
                    label: label.to_owned(),
                    code: ckr_name(RvError::PinIncorrect),
                });
            }
            entry.handles += 1;
            return Ok(LoginRef(entry.login.clone()));
        }

        let session = match context.open_rw_session(slot) {
            // A write-protected token can still sign with existing keys.
            Err(e) if rv_of(&e) == Some(RvError::TokenWriteProtected) => {
                context.open_ro_session(slot)?
            }
            other => other?,
        };
        let pin_secret = AuthPin::from(pin.to_owned());
        if let Err(e) = session.login(UserType::User, Some(&pin_secret)) {
            return Err(match rv_of(&e) {
                Some(
                    rv @ (RvError::PinIncorrect
                    | RvError::PinInvalid
                    | RvError::PinLenRange
                    | RvError::PinLocked
                    | RvError::PinExpired
                    | RvError::UserPinNotInitialized),
                ) => HsmError::LoginFailed {
                    label: label.to_owned(),
                    code: ckr_name(rv),
                },
                // CKR_USER_ALREADY_LOGGED_IN here means some other code in
                // the process logged in to this token on its own: the PIN
                // cannot be checked, so this is reported, not accepted.
                _ => e.into(),
            });
        }
        let login = Arc::new(Login {
            module,
            slot,
            label: label.to_owned(),
            pin_digest: digest,
            session: Mutex::new(Some(session)),
        });
        logins.push(Entry {
            login: login.clone(),
            handles: 1,
        });
        Ok(LoginRef(login))
    }

    /// The token's label.
    pub(crate) fn label(&self) -> &str {
        &self.0.label
    }

    /// Runs `f` on the logged-in session, holding it for the duration (a
    /// PKCS#11 session runs one operation at a time).
    pub(crate) fn with_session<T>(
        &self,
        f: impl FnOnce(&Session) -> Result<T, HsmError>,
    ) -> Result<T, HsmError> {
        let guard = self
            .0
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref() {
            Some(session) => f(session),
            // Closed only when the last LoginRef is dropped, so never seen.
            None => Err(HsmError::Token("the session is closed".into())),
        }
    }
}

impl Clone for LoginRef {
    fn clone(&self) -> Self {
        let mut logins = logins();
        if let Some(entry) = logins.iter_mut().find(|e| Arc::ptr_eq(&e.login, &self.0)) {
            entry.handles += 1;
        }
        LoginRef(self.0.clone())
    }
}

impl Drop for LoginRef {
    fn drop(&mut self) {
        let mut logins = logins();
        let Some(index) = logins.iter().position(|e| Arc::ptr_eq(&e.login, &self.0)) else {
            return;
        };
        logins[index].handles -= 1;
        if logins[index].handles == 0 {
            logins.swap_remove(index);
            let session = self
                .0
                .session
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            // Closing the last session of the token logs the process out
            // (PKCS#11 v2.40 §5.6, C_CloseSession). Nothing useful can be
            // done about a failure here; the session handle is gone anyway.
            if let Some(session) = session {
                let _ = session.close();
            }
        }
    }
}

impl fmt::Debug for LoginRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("module", &self.0.module)
            .field("slot", &self.0.slot.id())
            .field("label", &self.0.label)
            .finish_non_exhaustive()
    }
}
