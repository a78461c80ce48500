//! RCC.16 credentials inside mls-rs's identity hooks.
//!
//! mls-rs asks this provider about every leaf it meets (KeyPackages,
//! Welcome trees, commits). A leaf is valid when its X.509 credential
//! passes the device's [`TrustPolicy`] at the message time *and* certifies
//! exactly the key the leaf signs with (rule CRED-KEY-1): otherwise anyone
//! could present someone else's certificate next to their own key.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use crosslock_credential::{
    AwsLcVerifier, CredentialError, PhoneNumber, TrustPolicy, UnverifiedCredential,
    ValidatedCredential,
};
use mls_rs::ExtensionList;
use mls_rs::identity::{Credential, CredentialType, SigningIdentity};
use mls_rs::time::MlsTime;
use mls_rs_core::identity::{IdentityProvider, MemberValidationContext};
use sha2::{Digest, Sha256};

use crate::env::Clock;
use crate::revocation::Revocations;

/// Why a leaf's identity was refused.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// CRED-X509-1: the credential is not X.509 (a basic credential is
    /// advertised for parity only, never accepted in a leaf).
    #[error("only X.509 credentials are accepted")]
    NotX509,
    /// The chain is empty.
    #[error("empty certificate chain")]
    EmptyChain,
    /// The credential failed validation.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// External senders are not used.
    #[error("external senders are not accepted")]
    ExternalSenderRefused,
}

impl mls_rs_core::error::IntoAnyError for IdentityError {
    fn into_dyn_error(self) -> Result<Box<dyn std::error::Error + Send + Sync>, Self> {
        Ok(Box::new(self))
    }
}

/// Most credentials cached; validating a 1000-member tree repeatedly
/// should cost one chain check per certificate, not one per call.
const CACHE_LIMIT: usize = 8192;

/// The RCC.16 identity provider: what every member (and the delivery
/// service observing a conversation) checks about a leaf.
#[derive(Debug, Clone)]
pub struct Rcc16Identity {
    trust: Arc<TrustPolicy>,
    clock: Arc<dyn Clock>,
    /// Chains that passed the policy, by SHA-256 of the chain; the time
    /// window is re-checked on every use.
    validated: Arc<Mutex<HashMap<[u8; 32], ValidatedCredential>>>,
    /// Serials the providers reported revoked, by issuing CA key
    /// (CRED-REV-1, CRED-REV-2).
    revoked: Arc<std::sync::RwLock<Revocations>>,
}

impl Rcc16Identity {
    /// Validates leaves under `trust`; `clock` is used when mls-rs gives
    /// no message time.
    pub fn new(trust: TrustPolicy, clock: Arc<dyn Clock>) -> Self {
        Rcc16Identity {
            trust: Arc::new(trust),
            clock,
            validated: Arc::new(Mutex::new(HashMap::new())),
            revoked: Arc::default(),
        }
    }

    /// Replaces the revocation lists with `revocations`.
    pub fn set_revocations(&self, revocations: Revocations) {
        *self.revoked.write().unwrap_or_else(|p| p.into_inner()) = revocations;
    }

    /// Validates a leaf's credential at `now` and binds it to the leaf key.
    pub fn validate(
        &self,
        identity: &SigningIdentity,
        now: u64,
    ) -> Result<ValidatedCredential, IdentityError> {
        let chain = x509_chain(&identity.credential)?;
        let digest = chain_digest(chain);
        let cached = self.cache().get(&digest).cloned();
        let credential = match cached {
            Some(c) if c.not_before() <= now && now <= c.not_after() => c,
            _ => {
                let c = self.trust.validate_with(chain, now, &AwsLcVerifier)?;
                let mut cache = self.cache();
                if cache.len() >= CACHE_LIMIT {
                    cache.clear();
                }
                cache.insert(digest, c.clone());
                c
            }
        };
        // CRED-REV-1: a credential its provider revoked is refused;
        // CRED-REV-2: only by the list of the CA that issued it.
        if self
            .revoked
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .revokes(chain[0].as_ref(), credential.serial())
        {
            return Err(CredentialError::Revoked {
                serial: credential.serial().to_owned(),
            }
            .into());
        }
        // CRED-KEY-1: the certificate certifies the key the leaf signs with.
        if credential.key().as_bytes() != identity.signature_key.as_bytes() {
            return Err(CredentialError::KeyMismatch.into());
        }
        Ok(credential)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], ValidatedCredential>> {
        self.validated.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn x509_chain(
    credential: &Credential,
) -> Result<&[mls_rs_core::identity::DerCertificate], IdentityError> {
    match credential {
        Credential::X509(chain) if chain.is_empty() => Err(IdentityError::EmptyChain),
        Credential::X509(chain) => Ok(chain.as_slice()),
        _ => Err(IdentityError::NotX509),
    }
}

fn chain_digest(chain: &[mls_rs_core::identity::DerCertificate]) -> [u8; 32] {
    let mut h = Sha256::new();
    for cert in chain {
        h.update((cert.len() as u32).to_be_bytes());
        h.update(cert.as_ref());
    }
    h.finalize().into()
}

/// Who a leaf belongs to, as the client core names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LeafIdentity {
    /// The participant's number.
    pub number: PhoneNumber,
    /// The device: its instance id from the credential, or (for
    /// credentials without one) a fingerprint of the leaf key.
    pub device: String,
}

impl LeafIdentity {
    /// Reads the (already validated) credential of a leaf. Does not verify.
    ///
    /// Results are memoised process-wide (bounded): mls-rs asks for the
    /// identity of the same leaves many times while processing one commit,
    /// and this is pure decoding, not a trust decision.
    pub fn of(identity: &SigningIdentity) -> Result<Self, IdentityError> {
        static CACHE: LazyLock<Mutex<HashMap<[u8; 32], LeafIdentity>>> =
            LazyLock::new(|| Mutex::new(HashMap::new()));
        let chain = x509_chain(&identity.credential)?;
        let mut h = Sha256::new();
        h.update(chain_digest(chain));
        h.update(identity.signature_key.as_bytes());
        let digest: [u8; 32] = h.finalize().into();
        if let Some(hit) = CACHE.lock().unwrap_or_else(|p| p.into_inner()).get(&digest) {
            return Ok(hit.clone());
        }
        let leaf = UnverifiedCredential::parse(chain[0].as_ref())?;
        let device = match leaf.device() {
            Some(d) => d.to_owned(),
            None => format!(
                "key:{}",
                hex::encode(&Sha256::digest(identity.signature_key.as_bytes())[..8])
            ),
        };
        let result = LeafIdentity {
            number: leaf.number().clone(),
            device,
        };
        let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(digest, result.clone());
        Ok(result)
    }

    /// The MLS identity bytes: unique per device, stable across key rolls.
    fn to_bytes(&self) -> Vec<u8> {
        format!("{}#{}", self.number.tel_uri(), self.device).into_bytes()
    }
}

impl IdentityProvider for Rcc16Identity {
    type Error = IdentityError;

    fn validate_member(
        &self,
        signing_identity: &SigningIdentity,
        timestamp: Option<MlsTime>,
        _context: MemberValidationContext<'_>,
    ) -> Result<(), Self::Error> {
        let now = timestamp.map_or_else(|| self.clock.now(), |t| t.seconds_since_epoch());
        self.validate(signing_identity, now).map(|_| ())
    }

    fn validate_external_sender(
        &self,
        _signing_identity: &SigningIdentity,
        _timestamp: Option<MlsTime>,
        _extensions: Option<&ExtensionList>,
    ) -> Result<(), Self::Error> {
        Err(IdentityError::ExternalSenderRefused)
    }

    fn identity(
        &self,
        signing_identity: &SigningIdentity,
        _extensions: &ExtensionList,
    ) -> Result<Vec<u8>, Self::Error> {
        Ok(LeafIdentity::of(signing_identity)?.to_bytes())
    }

    fn valid_successor(
        &self,
        predecessor: &SigningIdentity,
        successor: &SigningIdentity,
        _extensions: &ExtensionList,
    ) -> Result<bool, Self::Error> {
        // The same device of the same participant may replace its own leaf
        // (external rejoin after state loss).
        Ok(LeafIdentity::of(predecessor)? == LeafIdentity::of(successor)?)
    }

    fn supported_types(&self) -> Vec<CredentialType> {
        // Basic is advertised for parity with deployed clients (fact sheet
        // §6); `validate` still refuses it (CRED-X509-1).
        crate::capabilities::advertised_credentials()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crosslock_credential::{TrustAnchors, TrustPolicy};
    use mls_rs::crypto::SignaturePublicKey;
    use mls_rs::identity::basic::BasicCredential;
    use mls_rs::identity::{Credential, CredentialType, SigningIdentity};
    use mls_rs_core::identity::IdentityProvider;

    use super::*;
    use crate::env::ManualClock;

    /// CRED-X509-1: basic credentials are advertised (fact sheet §6) but a
    /// leaf presenting one is refused with a typed error.
    #[test]
    fn basic_credentials_are_advertised_but_refused() {
        let clock = Arc::new(ManualClock::new(1_790_000_000));
        let identity = Rcc16Identity::new(
            TrustPolicy::Development {
                anchors: TrustAnchors::none(),
            },
            clock,
        );
        assert_eq!(
            identity.supported_types(),
            vec![CredentialType::BASIC, CredentialType::X509]
        );
        let leaf = SigningIdentity::new(
            Credential::Basic(BasicCredential::new(b"tel:+15551230001".to_vec())),
            SignaturePublicKey::new(vec![4; 65]),
        );
        assert!(matches!(
            identity.validate(&leaf, 1_790_000_000),
            Err(IdentityError::NotX509)
        ));
    }
}
