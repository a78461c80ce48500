//! Claims: a requester asks for every device's KeyPackages of a number.
//! Local numbers are answered from the store (single use, atomically);
//! numbers homed at a peer provider are fetched from it over mutually
//! authenticated TLS, and its answer is validated before it is passed on.

use std::sync::Arc;

use crosslock_credential::{PhoneNumber, TrustAnchors, TrustPolicy};
use crosslock_wire::api::B64;
use crosslock_wire::api::kds::{ClaimResponse, ClaimedDevice};
use hmac::{KeyInit, Mac};
use mls_rs::MlsMessage;
use mls_rs::identity::Credential;
use sha2::{Digest, Sha256};

use crate::config::{PeerKds, RateLimit};
use crate::error::KdsError;
use crate::service::Kds;
use crate::store::Bucket;

/// The name of the stored key of the requester ids forwarded to peers.
const REQUESTER_KEY: &str = "federation-requester-hmac";

/// Who is asking (for the rate limits: per requester and target, per
/// requester, and for a peer per peer and target and per peer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requester {
    /// One of our enrolled devices.
    Device(String),
    /// A peer provider, on behalf of one of its devices (an opaque hash).
    Peer {
        /// The peer's KDS id.
        kds_id: String,
        /// What the peer says about its requester (64 hex digits, opaque;
        /// chosen by the peer, so never the only key of a budget).
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

    /// The opaque id forwarded to a peer (KDS-CLM-7): an HMAC-SHA256
    /// under this provider's secret `key`, so the peer can neither invert
    /// it (device ids are public) nor link it to another provider's ids.
    fn forwarded(&self, key: &[u8; 32]) -> Result<String, KdsError> {
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key)
            .map_err(|e| KdsError::Internal(format!("requester key: {e}")))?;
        mac.update(&self.key());
        Ok(hex::encode(mac.finalize().into_bytes()))
    }
}

/// The token buckets one claim (`kind` b"") or lookup (`kind` b"lookup")
/// takes from, all or none (KDS-CLM-1, KDS-CLM-4, KDS-CLM-5):
/// - the requester's for this target (`per_target`);
/// - the requester's across every target, unknown numbers included, so
///   the first claim for each new target is not free and enumerating
///   numbers costs the same budget as claiming them;
/// - for a peer, the peer's for this target and the peer's across every
///   target: a peer naming a new requester per request gets no more.
pub(crate) fn buckets(
    kds: &Kds,
    kind: &[u8],
    per_target: RateLimit,
    requester: &Requester,
    number: &PhoneNumber,
) -> Vec<Bucket> {
    let config = &kds.config;
    let mut out = vec![
        Bucket {
            key: rate_key(kind, requester, number),
            limit: per_target,
        },
        Bucket {
            key: scoped_key(b"requester", &requester.key(), None),
            limit: config.requester_rate,
        },
    ];
    if let Requester::Peer { kds_id, .. } = requester {
        out.push(Bucket {
            key: scoped_key(b"peer-target", kds_id.as_bytes(), Some(number)),
            limit: config.peer_target_rate,
        });
        out.push(Bucket {
            key: scoped_key(b"peer", kds_id.as_bytes(), None),
            limit: config.peer_rate,
        });
    }
    out
}

fn scoped_key(scope: &[u8], who: &[u8], number: Option<&PhoneNumber>) -> Vec<u8> {
    let mut key = scope.to_vec();
    key.push(0);
    key.extend_from_slice(who);
    if let Some(n) = number {
        key.push(0);
        key.extend_from_slice(n.as_str().as_bytes());
    }
    Sha256::digest(&key).to_vec()
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
        // Every claim pays before anything is looked up, whether the number
        // is known or not (KDS-CLM-6).
        let buckets = buckets(self, b"", self.config.claim_rate, &requester, &number);
        self.take_tokens(&buckets, &number, "claim", now)?;
        if !self.store.active_devices(number.as_str())?.is_empty() {
            return self.claim_local(&number, now).await;
        }
        // A peer asking us must not make us ask another peer; every
        // unknown number gets the same answer (KDS-CLM-6).
        if matches!(requester, Requester::Peer { .. }) {
            return Err(KdsError::UnknownNumber);
        }
        let home = self.config.home_of(&number);
        let peer = self
            .config
            .peers
            .iter()
            .find(|p| Some(p.kds_id.as_str()) == home)
            .ok_or(KdsError::UnknownNumber)?;
        let forwarded = requester.forwarded(&self.requester_key()?)?;
        let answer = self
            .federation
            .claim(peer, number.as_str(), &forwarded)
            .await?;
        validate_peer_answer(peer, &number, &answer, now)?;
        tracing::info!(number = %number.redacted(), peer = %peer.kds_id, devices = answer.devices.len(), "claim answered by peer");
        Ok(answer)
    }

    /// Takes one token from every bucket, or answers `RateLimited`.
    pub(crate) fn take_tokens(
        &self,
        buckets: &[Bucket],
        number: &PhoneNumber,
        what: &str,
        now: u64,
    ) -> Result<(), KdsError> {
        match self.store.take_tokens(buckets, now)? {
            Ok(()) => Ok(()),
            Err(retry_after_secs) => {
                tracing::warn!(target_number = %number.redacted(), what, "rate limit hit");
                Err(KdsError::RateLimited { retry_after_secs })
            }
        }
    }

    /// The key of forwarded requester ids: made once from fresh
    /// randomness, kept in the store so ids stay stable across restarts.
    fn requester_key(&self) -> Result<[u8; 32], KdsError> {
        if let Some(key) = self.requester_key.get() {
            return Ok(*key);
        }
        let key = self.store.secret(REQUESTER_KEY, self.random())?;
        Ok(*self.requester_key.get_or_init(|| key))
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
    // HOME-2: only the peer's CA and the peer's own carriers vouch for
    // the numbers it homes, with proofs naming it.
    let mut plan = crosslock_credential::NumberingPlan::new();
    plan.add_all(peer.prefixes.iter().map(String::as_str), &peer.kds_id)
        .map_err(|e| bad(&e.to_string()))?;
    let home = crosslock_credential::Home {
        name: peer.kds_id.clone(),
        anchors: TrustAnchors::new(vec![root]),
        carriers: peer.carriers.clone(),
    };
    let policy = TrustPolicy::Homes(
        crosslock_credential::HomeTrust::new(plan, vec![home]).map_err(|e| bad(&e.to_string()))?,
    );
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
