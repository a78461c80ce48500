//! Loading and initialising PKCS#11 modules, once per process.
//!
//! `C_Initialize` is process-wide state of a module: a second call returns
//! `CKR_CRYPTOKI_ALREADY_INITIALIZED`, and `C_Finalize` would pull the
//! module out from under every other user in the process. So each module is
//! loaded and initialised once, on first use, and kept for the life of the
//! process (what long-running PKCS#11 applications do anyway). A module
//! that something else in the process already initialised is used as is.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` during `C_Initialize`, so that variable
//! must be set before the first [`crate::Pkcs11Token::open`] of the process.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;

use crate::error::{HsmError, ckr_name, rv_of};

/// Modules loaded so far, by canonical path.
static MODULES: Mutex<Vec<(PathBuf, Pkcs11)>> = Mutex::new(Vec::new());

/// The initialised context for `module`, loading it on first use. Returns
/// the canonical path too: the key under which logins are shared.
pub(crate) fn context(module: &Path) -> Result<(PathBuf, Pkcs11), HsmError> {
    let load_error = |reason: String| HsmError::ModuleLoad {
        module: module.to_path_buf(),
        reason,
    };
    let canonical = module
        .canonicalize()
        .map_err(|e| load_error(e.to_string()))?;
    let mut modules = MODULES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, context)) = modules.iter().find(|(path, _)| *path == canonical) {
        return Ok((canonical, context.clone()));
    }
    let context = Pkcs11::new(&canonical).map_err(|e| load_error(e.to_string()))?;
    // Sessions are used from several threads (each behind a mutex): let
    // the module use the operating system's locking.
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => {}
        Err(e) if rv_of(&e) == Some(RvError::CryptokiAlreadyInitialized) => {}
        Err(e) => {
            let mut reason = match rv_of(&e) {
                Some(rv) => format!("C_Initialize: {}", ckr_name(rv)),
                None => e.to_string(),
            };
            if canonical.to_string_lossy().contains("softhsm") {
                reason.push_str(
                    " (SoftHSM2 fails so when SOFTHSM2_CONF names no readable \
                     configuration or token directory; see scripts/softhsm-token)",
                );
            }
            return Err(load_error(reason));
        }
    }
    modules.push((canonical.clone(), context.clone()));
    Ok((canonical, context))
}
