//! Crosslock's MLS crypto provider for mls-rs.
//!
//! The classical suites (0x0001, 0x0002) are AWS-LC's
//! (`mls-rs-crypto-awslc`). The post-quantum suite 0x004F
//! `MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519`
//! (draft-ietf-mls-pq-ciphersuites) is RFC 9180 HPKE
//! (`mls-rs-crypto-hpke`) over X-Wing (RustCrypto `x-wing`, HPKE KEM
//! 0x647A) with AWS-LC's HKDF-SHA256, AES-128-GCM, SHA-256 and Ed25519.
//! Why this X-Wing implementation: docs/pq.md.
//!
//! The client wraps [`CrosslockSuite`] to sign through its key store; the
//! KDS and the DS use [`CrosslockCrypto`] as it is (they only verify).

#![forbid(unsafe_code)]

mod error;
mod provider;
pub mod xwing;

pub use error::PqCryptoError;
pub use provider::{
    CrosslockCrypto, CrosslockSuite, MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519,
    RETIRED_XWING_PRIVATE_SUITE,
};
