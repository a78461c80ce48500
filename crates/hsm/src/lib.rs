//! The KDS certificate authority's signing key, inside a PKCS#11 token.
//!
//! The key distribution service is the certificate authority for
//! participant credentials (RCC.16): whoever holds its key can mint a
//! credential for any phone number. So the key is generated inside a
//! hardware security module and never leaves it; the KDS only asks the
//! token to sign. This crate is that boundary:
//!
//! - [`Pkcs11Token::open`] loads a PKCS#11 module, finds the token by label
//!   and logs in as the user;
//! - [`Pkcs11Token::generate_p256`] / [`Pkcs11Token::find_p256`] give a
//!   [`Pkcs11Signer`] for a P-256 key pair in the token (the private half
//!   sensitive, non-extractable, sign-only);
//! - [`Pkcs11Signer`] implements [`crosslock_credential::CertSigner`], so a
//!   [`crosslock_credential::CertificateAuthority`] issues with it exactly
//!   as with a software key.
//!
//! Locally and in tests the token is SoftHSM2 (Debian `softhsm2`, module
//! [`SOFTHSM2_MODULE`]; `scripts/softhsm-token` creates one). In
//! production the same code drives a hardware HSM through its vendor's
//! PKCS#11 module: only the module path, token label and PIN change.
//!
//! # Signatures
//!
//! [`CertSigner::sign`](crosslock_credential::CertSigner::sign) hashes the
//! message with SHA-256 in software, signs the 32-byte digest in the token
//! with `CKM_ECDSA`, and converts the token's raw `r || s` (PKCS#11 v2.40
//! §2.3.1: two 32-byte big-endian integers) to the DER
//! `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` that X.509
//! (RFC 5480 §2.2.3) and MLS (RFC 9420 §5.1.2, ECDSA signatures) both use:
//! each integer minimal, with a `0x00` byte in front when its top bit is
//! set. The public key is read from CKA_EC_POINT (a DER OCTET STRING around
//! the 65-byte uncompressed point, or on some tokens the bare point) and
//! given as an uncompressed SEC1 point.
//!
//! # Process-wide state
//!
//! A PKCS#11 module is initialised once per process, and login state is
//! per process too. This crate keeps one initialised context per module
//! and one logged-in session per token, shared by every handle; a second
//! open of a token already logged in checks the PIN against the first
//! (the token would not). SoftHSM2 reads `SOFTHSM2_CONF` when the module
//! is first initialised, so set it before the first open.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod ec;
mod error;
mod login;
mod module;
mod signer;
pub mod testing;
mod token;

pub use error::HsmError;
pub use signer::{KeyProtection, Pkcs11Signer};
pub use token::Pkcs11Token;

/// Where Debian's `softhsm2` package installs the SoftHSM2 PKCS#11 module
/// (package `libsofthsm2`, pulled in by `softhsm2`). The default module
/// for local development and tests.
pub const SOFTHSM2_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn handles_are_send_and_sync() {
        send_sync::<Pkcs11Token>();
        send_sync::<Pkcs11Signer>();
        send_sync::<HsmError>();
    }
}
