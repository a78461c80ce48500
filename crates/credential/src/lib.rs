//! The RCC.16 participant credential profile.
//!
//! A participant credential is an X.509 certificate whose subject
//! alternative name is the participant's `tel:` URI, with the GSMA RCS MLS
//! extended key usage and certificate policy (GUIDE §4). This crate:
//! - normalises E.164 numbers ([`PhoneNumber`]);
//! - decodes and checks credentials against a [`TrustPolicy`]: production
//!   (chains to provider roots) or development (also accepts self-issued
//!   development credentials, which production always refuses);
//! - issues credentials: development ones signed by the participant key,
//!   and provider-CA ones ([`CertificateAuthority`]), through a
//!   [`CertSigner`] so private keys stay in their key store.
//!
//! Rule ids (CRED-…) are listed in docs/validation-rules.md.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod carrier;
mod cert;
mod csr;
mod error;
mod issue;
mod key;
mod number;
pub mod oid;
mod participant;
mod plan;
mod trust;

pub use carrier::{CarrierClaims, MAX_PROOF_KEYS, MAX_PROOF_LEN, TrustedCarriers};
pub use cert::MAX_CERT_LEN;
pub use csr::{MAX_CSR_LEN, build_csr, verify_csr};
pub use error::CredentialError;
pub use issue::{
    CertSigner, CertificateAuthority, ParticipantInfo, ParticipantProfile,
    issue_development_credential,
};
pub use key::{AwsLcVerifier, KeyAlgorithm, PublicKey, RustCryptoVerifier, SignatureVerifier};
pub use number::{NumberError, PhoneNumber};
pub use participant::{
    DEVELOPMENT_MARKER_URI, DEVICE_URN_PREFIX, UnverifiedCredential, ValidatedCredential,
};
pub use plan::{NumberPrefix, NumberingPlan, PlanError};
pub use trust::{Home, HomeTrust, MAX_CHAIN_LEN, TrustAnchors, TrustPolicy};
