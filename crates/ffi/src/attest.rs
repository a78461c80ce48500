//! The platform's device attestation made at enrolment, implemented by the
//! app (Apple App Attest) and offered bound to the KDS's one-time nonce
//! (docs/embedding.md § Attestation). Android Key Attestation is not made
//! here: it fixes its challenge when the key is generated, so the SDK has
//! the `PlatformKeyStore` generate the participant key after the nonce
//! (`generate_attested`) and sends that key's chain.

use std::sync::Arc;

use crosslock_client::credential::{KeyAlgorithm as CoreAlgorithm, PublicKey};
use crosslock_client::wire::api::B64;
use crosslock_client::wire::api::kds::AttestationBody;

use crate::callback::CallbackError;
use crate::error::CrosslockError;

/// What an attestation must prove, for this enrolment.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AttestationRequest {
    /// The KDS's one-time enrolment nonce (32 bytes).
    pub nonce: Vec<u8>,
    /// The 32-byte challenge the attestation must carry: SHA-256 over a
    /// label, the nonce and the P-256 participant key (what the KDS
    /// recomputes, `enrollment_challenge`): App Attest's `clientDataHash`.
    pub challenge: Vec<u8>,
    /// The P-256 participant key the attestation is about: the
    /// uncompressed SEC1 point the platform key store reported.
    pub participant_key: Vec<u8>,
}

/// A device attestation, as the KDS takes it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Attestation {
    /// Android Key Attestation: the certificate chain of the P-256
    /// participant key, leaf first, each DER, its challenge
    /// `android_enrollment_challenge(nonce)`. Only a key generated after
    /// the nonce can carry it: the SDK gets one through
    /// `PlatformKeyStore.generateAttested`, and an `Attester` has no use
    /// for this variant unless it attests the existing key some other way.
    Android { chain: Vec<Vec<u8>> },
    /// Apple App Attest: the attestation object (CBOR) whose
    /// `clientDataHash` is the request's challenge.
    Apple { object: Vec<u8> },
}

/// The platform's device attestation, implemented in Kotlin or Swift and
/// passed to `enroll`. Called at most once per enrolment, during
/// `enroll`, while the device is locked (do not call the device from it);
/// not called when the key store attested the participant key itself.
#[uniffi::export(with_foreign)]
pub trait Attester: Send + Sync {
    /// An attestation for `request`, or `None` where the device has none
    /// to offer (the KDS may then refuse, if its policy requires one). A
    /// thrown error stops the enrolment (`CrosslockError.Input`).
    fn attest(&self, request: AttestationRequest) -> Result<Option<Attestation>, CallbackError>;
}

/// The app's [`Attester`] as the SDK's, with the challenge worked out for
/// the device's P-256 participant key.
pub(crate) struct ForeignAttester {
    app: Arc<dyn Attester>,
    p256: PublicKey,
}

impl ForeignAttester {
    /// For a device whose participant keys are `keys`.
    pub(crate) fn new(
        app: Arc<dyn Attester>,
        keys: &[PublicKey],
    ) -> Result<ForeignAttester, CrosslockError> {
        let p256 = keys
            .iter()
            .find(|k| k.algorithm() == CoreAlgorithm::EcdsaP256)
            .ok_or_else(|| {
                CrosslockError::input(
                    "this device has no P-256 participant key: there is nothing to attest",
                )
            })?
            .clone();
        Ok(ForeignAttester { app, p256 })
    }
}

impl crosslock_sdk::Attester for ForeignAttester {
    fn attest(&self, nonce: &[u8]) -> Result<Option<AttestationBody>, String> {
        // The binding the KDS checks (crates/kds/src/enroll.rs,
        // `check_attestation`): the nonce and the P-256 participant key.
        let challenge = crosslock_attest::enrollment_challenge(nonce, self.p256.as_bytes());
        let request = AttestationRequest {
            nonce: nonce.to_vec(),
            challenge: challenge.to_vec(),
            participant_key: self.p256.as_bytes().to_vec(),
        };
        match self.app.attest(request) {
            Ok(attestation) => Ok(attestation.map(|a| match a {
                Attestation::Android { chain } => AttestationBody::Android {
                    chain: chain.into_iter().map(B64).collect(),
                },
                Attestation::Apple { object } => AttestationBody::Apple {
                    object: B64(object),
                },
            })),
            Err(e) => {
                crate::callback::log_failure("Attester.attest", Err(e));
                Err("the app's Attester failed; nothing was sent to the KDS".to_owned())
            }
        }
    }
}
