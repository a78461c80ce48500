//! Device attestation verifiers for Crosslock enrollment: Android Key
//! Attestation and Apple App Attest.
//!
//! A device proves that its participant key lives in secure hardware; the
//! KDS checks that proof before it issues a credential (GUIDE §1, §4).
//!
//! The crate is pure: no clock, no network, no files. The verification time
//! is an argument, and so are the roots (embedded defaults are provided).
//! Untrusted bytes are parsed into `Unverified*` types; only
//! [`verify_android_attestation`] and [`verify_app_attest`] produce the
//! `Verified*` types, whose fields are private.
//!
//! ```no_run
//! # use std::time::SystemTime;
//! use crosslock_attest::{
//!     AndroidRoots, AttestationPolicy, UnverifiedAndroidAttestation, android_enrollment_challenge,
//! };
//! # fn run(pem: &str, nonce: &[u8], participant_key_spki: &[u8], now: SystemTime)
//! #     -> Result<(), crosslock_attest::AttestError> {
//! let chain = UnverifiedAndroidAttestation::from_pem(pem)?;
//! let challenge = android_enrollment_challenge(nonce);
//! let verified = chain.verify(
//!     &AndroidRoots::google()?,
//!     now,
//!     AttestationPolicy::Strict,
//!     Some(&challenge),
//! )?;
//! // The chain binds the key: it must be the enrolment's participant key.
//! assert_eq!(verified.attested_public_key(), participant_key_spki);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod android;
pub mod apple;
mod cert;
mod error;
pub mod oid;
mod policy;
mod report;
#[cfg(feature = "testing")]
pub mod testing;

pub use android::{
    AndroidPolicy, AndroidRoots, AppPolicy, KeyDescription, RevocationList,
    UnverifiedAndroidAttestation, VerifiedAndroidAttestation, verify_android_attestation,
};
pub use apple::{AppAttestEnvironment, UnverifiedAppAttest, VerifiedAppAttest, verify_app_attest};
pub use error::{AttestError, Fault, KeyDescriptionError, RevocationListError};
pub use policy::{
    ANDROID_ENROLLMENT_CHALLENGE_LABEL, AttestationPolicy, ENROLLMENT_CHALLENGE_LABEL,
    android_enrollment_challenge, enrollment_challenge,
};
pub use report::{Refusal, refusal_json};
