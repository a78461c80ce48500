//! The crate's error type.

use std::path::PathBuf;

use cryptoki::error::{Error as CryptokiError, RvError};

/// What went wrong talking to the token.
///
/// Grouped by fault: configuration (module, token, PIN), key management
/// (key missing, present, unusable), and the token or its module failing an
/// operation. No variant carries a PIN or key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HsmError {
    /// The PKCS#11 module could not be loaded or initialised.
    #[error("cannot load the PKCS#11 module {}: {reason}", module.display())]
    ModuleLoad {
        /// The module path given.
        module: PathBuf,
        /// Why (the loader's message or the CKR code).
        reason: String,
    },
    /// No initialised token has this label.
    #[error("no initialised PKCS#11 token labelled {label:?} (with SoftHSM2, check SOFTHSM2_CONF)")]
    TokenNotFound {
        /// The label looked for.
        label: String,
    },
    /// Logging in as the user failed: wrong PIN, PIN locked or expired, or
    /// the user PIN was never set.
    #[error("login to the PKCS#11 token {label:?} failed: {code}")]
    LoginFailed {
        /// The token's label.
        label: String,
        /// The CKR code name, e.g. `CKR_PIN_INCORRECT`.
        code: String,
    },
    /// No key pair has this label.
    #[error("no P-256 key pair labelled {label:?} in the token")]
    KeyNotFound {
        /// The key label looked for.
        label: String,
    },
    /// A key (or other object) with this label already exists.
    #[error("an object labelled {label:?} already exists in the token")]
    KeyExists {
        /// The key label.
        label: String,
    },
    /// More than one token or key carries this label, so which one to use
    /// is a guess this crate refuses to make.
    #[error("more than one {what} is labelled {label:?}")]
    DuplicateLabel {
        /// "token", "private key" or "public key".
        what: &'static str,
        /// The label.
        label: String,
    },
    /// The key exists but is not a usable P-256 signing key pair.
    #[error("the key labelled {label:?} cannot be used: {reason}")]
    UnsupportedKey {
        /// The key label.
        label: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A PKCS#11 call failed.
    #[error("PKCS#11 {function} failed: {code}")]
    Pkcs11 {
        /// The PKCS#11 function, e.g. `C_Sign`.
        function: String,
        /// The CKR code name, e.g. `CKR_DEVICE_ERROR`.
        code: String,
    },
    /// The token returned something PKCS#11 does not allow (a malformed
    /// point or signature), or the wrapper library failed outside any CKR
    /// code.
    #[error("the PKCS#11 token misbehaved: {0}")]
    Token(String),
}

impl HsmError {
    /// The CKR code name of a PKCS#11 failure, if this is one.
    pub fn ckr_code(&self) -> Option<&str> {
        match self {
            HsmError::LoginFailed { code, .. } | HsmError::Pkcs11 { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// The CKR code (as a `CKR_…` name) of a failed PKCS#11 call.
pub(crate) fn rv_of(error: &CryptokiError) -> Option<RvError> {
    match error {
        CryptokiError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

impl From<CryptokiError> for HsmError {
    fn from(error: CryptokiError) -> Self {
        match error {
            CryptokiError::Pkcs11(rv, function) => HsmError::Pkcs11 {
                function: format!("C_{function:?}"),
                code: ckr_name(rv),
            },
            other => HsmError::Token(other.to_string()),
        }
    }
}

/// The PKCS#11 name of a return value: `RvError::PinIncorrect` becomes
/// `CKR_PIN_INCORRECT`. `cryptoki` names its variants after the CKR
/// constants in camel case, so the conversion is mechanical.
pub(crate) fn ckr_name(rv: RvError) -> String {
    match rv {
        RvError::VendorDefined(code) => format!("CKR_VENDOR_DEFINED (0x{code:08x})"),
        RvError::UnknownErrorCode(code) => format!("unknown CKR code 0x{code:08x}"),
        other => {
            let camel = format!("{other:?}");
            let mut name = String::from("CKR");
            for c in camel.chars() {
                if c.is_ascii_uppercase() {
                    name.push('_');
                }
                name.push(c.to_ascii_uppercase());
            }
            name
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ckr_names_match_the_standard() {
        // (value from PKCS#11 v3.1 §5.1, name) pairs, converted through
        // cryptoki's own table so a renamed variant shows up here.
        let table: [(u64, &str); 12] = [
            (0x0000_0001, "CKR_CANCEL"),
            (0x0000_0030, "CKR_DEVICE_ERROR"),
            (0x0000_00a0, "CKR_PIN_INCORRECT"),
            (0x0000_00a4, "CKR_PIN_LOCKED"),
            (0x0000_0060, "CKR_KEY_HANDLE_INVALID"),
            (0x0000_0068, "CKR_KEY_FUNCTION_NOT_PERMITTED"),
            (0x0000_006a, "CKR_KEY_UNEXTRACTABLE"),
            (0x0000_0011, "CKR_ATTRIBUTE_SENSITIVE"),
            (0x0000_00b5, "CKR_SESSION_READ_ONLY"),
            (0x0000_0100, "CKR_USER_ALREADY_LOGGED_IN"),
            (0x0000_0191, "CKR_CRYPTOKI_ALREADY_INITIALIZED"),
            (0x0000_0150, "CKR_BUFFER_TOO_SMALL"),
        ];
        for (code, name) in table {
            let rv = match cryptoki::error::Rv::from(code) {
                cryptoki::error::Rv::Error(rv) => rv,
                cryptoki::error::Rv::Ok => panic!("{name} is not an error"),
            };
            assert_eq!(ckr_name(rv), name);
        }
    }

    #[test]
    fn vendor_codes_keep_their_value() {
        assert_eq!(
            ckr_name(RvError::VendorDefined(0x8000_0123)),
            "CKR_VENDOR_DEFINED (0x80000123)"
        );
    }
}
