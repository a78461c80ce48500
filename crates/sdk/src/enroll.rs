//! Enrolment: carrier proof → KDS credentials → the first KeyPackages.

use crosslock_client::{ClientError, Device, DeviceProfile, KeyPackageBatch};
use crosslock_wire::api::B64;
use crosslock_wire::api::acs::ProofRequest;
use crosslock_wire::api::kds::{
    Assurance, AttestationBody, EnrollRequest, EnrollResponse, UploadKeyPackages,
};

use crate::error::SdkError;
use crate::keypackages;
use crate::messenger::Messenger;
use crate::token;

/// What enrolment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    /// Credential chains installed (one per signature algorithm).
    pub credentials: usize,
    /// The assurance the KDS recorded for the device, from its attestation
    /// (and put in its credentials for contacts to see).
    pub assurance: Assurance,
    /// KeyPackages published (per suite).
    pub key_packages: usize,
    /// Why no KeyPackages were published, when their upload failed. The
    /// device is enrolled all the same (its token and credentials are
    /// saved) but nobody can add it to a conversation yet: the next
    /// [`crate::Messenger::maintain`] (or [`crate::Messenger::run`])
    /// uploads them, and is due at once. Calling `enroll` again is
    /// refused.
    pub key_packages_failed: Option<String>,
}

impl Enrolled {
    /// Whether others can add this device to conversations now (its
    /// KeyPackages are at the KDS).
    pub fn reachable(&self) -> bool {
        self.key_packages_failed.is_none()
    }
}

/// The upload body for a batch of KeyPackages.
pub fn upload_body(batch: KeyPackageBatch) -> UploadKeyPackages {
    UploadKeyPackages {
        key_packages: batch
            .key_packages
            .into_iter()
            .map(|(_, k)| B64(k))
            .collect(),
        last_resort: batch.last_resort.into_iter().map(|(_, k)| B64(k)).collect(),
    }
}

/// Installs the credential chains an enrolment answer carries.
pub fn install_credentials(
    device: &mut Device,
    credentials: Vec<Vec<B64>>,
) -> Result<usize, ClientError> {
    let n = credentials.len();
    device.install_credentials(
        credentials
            .into_iter()
            .map(|c| c.into_iter().map(|b| b.0).collect())
            .collect(),
    )?;
    Ok(n)
}

/// The platform's device attestation made at enrolment (Apple App Attest,
/// or any platform that attests a key of its own), bound to the KDS's
/// enrolment nonce. Android Key Attestation is not made here: it fixes its
/// challenge when the key is generated, so the SDK generates the P-256
/// participant key after the nonce through the platform key store
/// ([`crosslock_client::keystore::KeyStore::generate_attested`]); the
/// attester is asked only when the key store has no attestation.
pub trait Attester: Send + Sync {
    /// An attestation whose challenge is `nonce`, or `None` where the
    /// device has none to offer. An error stops the enrolment.
    fn attest(&self, nonce: &[u8]) -> Result<Option<AttestationBody>, String>;
}

/// Carrier proof, enrolment, credentials, KeyPackages.
pub(crate) async fn enroll(
    m: &mut Messenger,
    subscriber_token: &str,
    key_packages: usize,
    attester: Option<&dyn Attester>,
    replace: bool,
) -> Result<Enrolled, SdkError> {
    if m.settings.token.is_some() {
        return Err(SdkError::input(
            "this device is already enrolled (a new device needs a new directory)",
        ));
    }
    let nonce = m.api.nonce().await?;
    // Android Key Attestation: the P-256 participant key is generated now,
    // with the nonce's challenge (KDS-ENR-5), when the platform key store
    // can attest; before the carrier proof and the CSRs, which name it.
    // A failure leaves the old key and the device unenrolled (ENR-KEY-3).
    let mut attestation = android_attestation(&mut m.device, &nonce.nonce.0)?;
    let proof = carrier_proof(m, subscriber_token).await?;
    if attestation.is_none()
        && let Some(a) = attester
    {
        attestation = a
            .attest(&nonce.nonce.0)
            .map_err(|e| SdkError::input(format!("device attestation: {e}")))?;
    }
    // SDK-TOKEN-1: the token is chosen here and saved first; a try whose
    // answer was lost is repeated with the same token, as bearer too, so
    // the KDS takes it again for a device id it enrolled without telling
    // (KDS-ENR-8) and ignores it for one it never saw.
    let next = token::next(m)?;
    let request = EnrollRequest {
        nonce: nonce.nonce,
        device_id: m.device.device_id().to_owned(),
        csrs: m
            .device
            .certificate_requests()?
            .into_iter()
            .map(B64)
            .collect(),
        carrier_proof: proof.proof,
        attestation,
        replace_existing: replace,
        next_token: Some(next.clone()),
    };
    let enrolled: EnrollResponse = m.api.post("/v1/enrollment", Some(&next), &request).await?;
    let assurance = enrolled.assurance;
    let credentials = install_credentials(&mut m.device, enrolled.credentials)?;
    token::answered(m, enrolled.device_token)?;
    // Enrolled from here on, whatever happens to the upload: a failure is
    // reported in the answer, and the lifecycle's KeyPackage check is due
    // at once (`maintain` or `run` uploads them).
    match publish_key_packages(m, key_packages).await {
        Ok(published) => Ok(Enrolled {
            credentials,
            assurance,
            key_packages: published,
            key_packages_failed: None,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "enrolled, but no KeyPackages published yet");
            m.settings.lifecycle.key_packages_at = 0;
            m.save()?;
            Ok(Enrolled {
                credentials,
                assurance,
                key_packages: 0,
                key_packages_failed: Some(e.to_string()),
            })
        }
    }
}

/// An Android device whose platform key store attests: its P-256
/// participant key replaced by one generated with the challenge of
/// `nonce`, and that key's attestation chain. `None` for an iPhone, or a
/// key store that cannot attest (nothing changed).
fn android_attestation(
    device: &mut Device,
    nonce: &[u8],
) -> Result<Option<AttestationBody>, SdkError> {
    if device.profile() != DeviceProfile::Android {
        return Ok(None);
    }
    let challenge = Device::android_attestation_challenge(nonce);
    match device.replace_participant_key_attested(&challenge) {
        Ok(chain) => Ok(chain.map(|chain| AttestationBody::Android {
            chain: chain.into_iter().map(B64).collect(),
        })),
        // A device already in use (a conversation under development
        // trust) keeps its key and enrols without an Android attestation:
        // the KDS's policy decides whether that is enough.
        Err(ClientError::EnrolmentStarted { why }) => {
            tracing::warn!(why, "the participant key stays: no Android attestation");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Generates and uploads `count` KeyPackages per suite (and a last-resort
/// one per suite where none is held).
pub(crate) async fn publish_key_packages(
    m: &mut Messenger,
    count: usize,
) -> Result<usize, SdkError> {
    let batch = m.device.generate_key_packages(count)?;
    let n = batch.key_packages.len();
    let token = m.token()?.to_owned();
    keypackages::upload(m, &token, &batch).await?;
    Ok(n)
}

/// The carrier's proof that `subscriber_token`'s subscriber holds this
/// device's number, over its participant keys as they are now, for its
/// home KDS (what enrolment and renewal present).
pub(crate) async fn carrier_proof(
    m: &Messenger,
    subscriber_token: &str,
) -> Result<crosslock_wire::api::acs::ProofResponse, SdkError> {
    let keys: Vec<B64> = m
        .device
        .participant_keys()?
        .iter()
        .map(|k| B64(k.as_bytes().to_vec()))
        .collect();
    m.api
        .carrier_proof(&ProofRequest {
            number: m.settings.number.clone(),
            subscriber_token: subscriber_token.to_owned(),
            participant_keys: keys,
            home_kds: m.settings.provider.name.clone(),
        })
        .await
}
