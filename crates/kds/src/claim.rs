//! Claims: a requester asks for every device's KeyPackages of a number.
//! Local numbers are answered from the store (single use, atomically);
//! numbers homed at a peer provider are fetched from it over mutually
//! authenticated TLS, and its answer is validated before it is passed on.

use std::sync::Arc;

use crosslock_credential::{PhoneNumber, TrustAnchors, TrustPolicy};
use crosslock_wire::api::B64;
use crosslock_wire::api::kds::{ClaimResponse, ClaimedDevice};
use mls_rs::MlsMessage;
use mls_rs::identity::Credential;
use sha2::{Digest, Sha256};

use crate::config::PeerKds;
use crate::error::KdsError;
use crate::service::Kds;

/// Who is asking (for the rate limit, which is per requester and target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requester {
    /// One of our enrolled devices.
    Device(String),
    /// A peer provider, on behalf of one of its devices (an opaque hash).
    Peer {
        /// The peer's KDS id.
        kds_id: String,
        /// What the peer says about its requester (hex SHA-256, opaque).
        on_behalf_of: String,
    },
}

impl Requester {
    fn key(&self) -> Vec<u8> {
        match self {
            Requester::Device(id) => format!("device:{id}").into_bytes(),
            Requester::Peer {
                kds_id,
                on_behalf_of,
            } => format!("peer:{kds_id}:{on_behalf_of}").into_bytes(),
        }
    }

    /// The opaque id forwarded to a peer: never the device id itself.
    fn forwarded(&self) -> String {
        hex::encode(Sha256::digest(self.key()))
    }
}

impl Kds {
    /// Answers a claim for `number` (local, or fetched from its home peer).
    /// With a key-transparency directory, a local answer holds only the
    /// devices in the number's published binding, with the lookup proof.
    pub async fn claim(
        self: &Arc<Self>,
        requester: Requester,
        number: &str,
        now: u64,
    ) -> Result<ClaimResponse, KdsError> {
        let number =
            PhoneNumber::parse(number).map_err(|e| KdsError::InvalidNumber(e.to_string()))?;
        self.rate_limit(&requester, &number, now)?;
        if !self.store.active_devices(number.as_str())?.is_empty() {
            return self.claim_local(&number, now).await;
        }
        // A peer asking us must not make us ask another peer.
        if matches!(requester, Requester::Peer { .. }) {
            return Err(KdsError::UnknownNumber);
        }
        let peer = self
            .config
            .peer_for(number.as_str())
            .ok_or(KdsError::UnknownNumber)?;
        let answer = self
            .federation
            .claim(peer, number.as_str(), &requester.forwarded())
            .await?;
        validate_peer_answer(peer, &number, &answer, &self.config.carriers, now)?;
        tracing::info!(number = %number.redacted(), peer = %peer.kds_id, devices = answer.devices.len(), "claim answered by peer");
        Ok(answer)
    }

    fn rate_limit(
        &self,
        requester: &Requester,
        number: &PhoneNumber,
        now: u64,
    ) -> Result<(), KdsError> {
        let key = rate_key(b"", requester, number);
        let limit = self.config.claim_rate;
        match self
            .store
            .take_token(&key, now, limit.burst, limit.refill_secs)?
        {
            Ok(()) => Ok(()),
            Err(retry_after_secs) => {
                tracing::warn!(target_number = %number.redacted(), "claim rate limit hit");
                Err(KdsError::RateLimited { retry_after_secs })
            }
        }
    }

    async fn claim_local(
        self: &Arc<Self>,
        number: &PhoneNumber,
        now: u64,
    ) -> Result<ClaimResponse, KdsError> {
        let (transparency, only) = if self.kt.is_some() {
            let (answer, binding) = self.transparency_lookup(number).await?;
            let mut devices: Vec<String> =
                binding.keys().iter().map(|k| k.device_id.clone()).collect();
            devices.dedup();
            (Some(answer), Some(devices))
        } else {
            (None, None)
        };
        let claimed = self.store.claim(number.as_str(), only.as_deref(), now)?;
        tracing::info!(number = %number.redacted(), devices = claimed.len(), "claim answered");
        Ok(ClaimResponse {
            number: number.as_str().to_owned(),
            home_kds: self.config.kds_id.clone(),
            devices: claimed
                .into_iter()
                .map(|(device_id, kps)| ClaimedDevice {
                    device_id,
                    key_packages: kps.into_iter().map(B64).collect(),
                })
                .collect(),
            transparency,
        })
    }
}

/// The token bucket of `requester` for `number` (`kind` separates claims
/// from lookups).
pub(crate) fn rate_key(kind: &[u8], requester: &Requester, number: &PhoneNumber) -> Vec<u8> {
    let mut key = kind.to_vec();
    key.extend_from_slice(&requester.key());
    key.push(0);
    key.extend_from_slice(number.as_str().as_bytes());
    Sha256::digest(&key).to_vec()
}

/// A peer's answer must be about the number asked, from the peer, and hold
/// only KeyPackages whose credentials chain to the peer's root, carry a
/// valid carrier proof and name that number (KDS-FED-2).
fn validate_peer_answer(
    peer: &PeerKds,
    number: &PhoneNumber,
    answer: &ClaimResponse,
    carriers: &crosslock_credential::TrustedCarriers,
    now: u64,
) -> Result<(), KdsError> {
    let bad = |why: &str| KdsError::Peer(format!("{}: {why}", peer.kds_id));
    if answer.number != number.as_str() || answer.home_kds != peer.kds_id {
        return Err(bad("answer is about another number or home"));
    }
    let root =
        crosslock_credential::CertificateAuthority::load("peer", peer.credential_root.clone())
            .and_then(|ca| ca.public_key())
            .map_err(|e| bad(&e.to_string()))?;
    let policy = TrustPolicy::Production {
        anchors: TrustAnchors::new(vec![root]),
        carriers: carriers.clone(),
    };
    for device in &answer.devices {
        for kp in &device.key_packages {
            let message = MlsMessage::from_bytes(&kp.0).map_err(|_| bad("not an MLS message"))?;
            let kp = message
                .as_key_package()
                .ok_or_else(|| bad("not a KeyPackage"))?;
            let Credential::X509(chain) = &kp.signing_identity().credential else {
                return Err(bad("not an X.509 credential"));
            };
            let validated = policy
                .validate(chain.as_slice(), now)
                .map_err(|e| bad(&e.to_string()))?;
            if validated.number() != number
                || validated.key().as_bytes() != kp.signing_identity().signature_key.as_bytes()
            {
                return Err(bad("credential for another number or key"));
            }
        }
    }
    Ok(())
}
