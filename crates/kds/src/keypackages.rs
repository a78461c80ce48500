//! KeyPackage upload (validated) and stock (KDS-KP-* rules).

use std::sync::Arc;

use crosslock_credential::UnverifiedCredential;
use crosslock_mls_crypto::{CrosslockCrypto, RETIRED_XWING_PRIVATE_SUITE};
use crosslock_wire::api::kds::{Stock, UploadKeyPackages};
use mls_rs::extension::MlsCodecExtension;
use mls_rs::extension::recommended::LastResortKeyPackageExt;
use mls_rs::external_client::ExternalClient;
use mls_rs::identity::{Credential, CredentialType, SigningIdentity};
use mls_rs::time::MlsTime;
use mls_rs::{ExtensionList, MlsMessage};
use mls_rs_core::identity::{IdentityProvider, MemberValidationContext};

use crate::error::KdsError;
use crate::service::Kds;
use crate::store::{DeviceRecord, StoredKeyPackage};

/// Most KeyPackages in one upload.
pub const MAX_UPLOAD: usize = 320;
/// Suites a KeyPackage may use (0x0001, 0x0002, and the post-quantum
/// 0x004F; the retired private 0xFE4C is refused, SUITE-PQ-1).
pub const SUITES: [u16; 3] = [0x0001, 0x0002, 0x004F];

/// (notBefore, notAfter) of a KeyPackage's leaf, Unix seconds: mls-rs
/// exposes only notAfter, so the leaf node is decoded from the encoding
/// (`version ‖ cipher_suite ‖ init_key<V> ‖ leaf_node ‖ …`, RFC 9420 §10).
fn lifetime(kp: &mls_rs::KeyPackage) -> Result<(u64, u64), String> {
    use mls_rs::group::{LeafNode, LeafNodeSource};
    use mls_rs::mls_rs_codec::{MlsDecode, MlsEncode, MlsSize};
    let bytes = kp.mls_encode_to_vec().map_err(|e| e.to_string())?;
    let skip = 4 + kp.hpke_init_key.mls_encoded_len();
    let mut rest = bytes.get(skip..).ok_or("truncated KeyPackage")?;
    let leaf = LeafNode::mls_decode(&mut rest).map_err(|e| e.to_string())?;
    match leaf.leaf_node_source {
        LeafNodeSource::KeyPackage(l) => Ok((
            l.not_before.seconds_since_epoch(),
            l.not_after.seconds_since_epoch(),
        )),
        _ => Err("not a KeyPackage leaf".into()),
    }
}

/// Accepts exactly the device's current credentials, with enough validity
/// left, certifying the key that signed the KeyPackage.
#[derive(Clone, Debug)]
struct DeviceCredentials {
    leaves: Arc<Vec<(Vec<u8>, Vec<u8>)>>,
    now: u64,
    min_remaining: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);
impl mls_rs_core::error::IntoAnyError for Refused {}

impl IdentityProvider for DeviceCredentials {
    type Error = Refused;

    fn validate_member(
        &self,
        identity: &SigningIdentity,
        _timestamp: Option<MlsTime>,
        _context: MemberValidationContext<'_>,
    ) -> Result<(), Refused> {
        let Credential::X509(chain) = &identity.credential else {
            return Err(Refused("not an X.509 credential".into()));
        };
        let leaf = chain.first().ok_or_else(|| Refused("empty chain".into()))?;
        let Some((_, key)) = self
            .leaves
            .iter()
            .find(|(der, _)| der.as_slice() == leaf.as_ref())
        else {
            return Err(Refused(
                "the credential is not this device's current credential".into(),
            ));
        };
        if key.as_slice() != identity.signature_key.as_bytes() {
            return Err(Refused(
                "signed by another key than the credential's".into(),
            ));
        }
        let cred =
            UnverifiedCredential::parse(leaf.as_ref()).map_err(|e| Refused(e.to_string()))?;
        // KDS-KP-2 (CRED-LIFE-1): at least min_remaining of validity left.
        if cred.not_after().saturating_sub(self.now) < self.min_remaining {
            return Err(Refused(
                "the credential expires too soon; refresh it first".into(),
            ));
        }
        Ok(())
    }

    fn validate_external_sender(
        &self,
        _: &SigningIdentity,
        _: Option<MlsTime>,
        _: Option<&ExtensionList>,
    ) -> Result<(), Refused> {
        Err(Refused("no external senders".into()))
    }

    fn identity(&self, identity: &SigningIdentity, _: &ExtensionList) -> Result<Vec<u8>, Refused> {
        Ok(identity.signature_key.as_bytes().to_vec())
    }

    fn valid_successor(
        &self,
        _: &SigningIdentity,
        _: &SigningIdentity,
        _: &ExtensionList,
    ) -> Result<bool, Refused> {
        Ok(false)
    }

    fn supported_types(&self) -> Vec<CredentialType> {
        vec![CredentialType::X509]
    }
}

impl Kds {
    /// Validates and stores a device's KeyPackages. The whole upload is
    /// refused if any one is bad.
    pub fn upload_key_packages(
        &self,
        device: &DeviceRecord,
        upload: UploadKeyPackages,
        now: u64,
    ) -> Result<Stock, KdsError> {
        if device.revoked_at.is_some() {
            return Err(KdsError::Revoked);
        }
        // KDS-KP-1: at most 320 KeyPackages; any refusal below refuses the whole upload.
        if upload.key_packages.len() + upload.last_resort.len() > MAX_UPLOAD {
            return Err(KdsError::KeyPackage(format!(
                "at most {MAX_UPLOAD} per upload"
            )));
        }
        let credentials = self.store.credentials_of(&device.device_id)?;
        let identity = DeviceCredentials {
            leaves: Arc::new(
                credentials
                    .iter()
                    .filter_map(|c| {
                        c.chain
                            .first()
                            .map(|leaf| (leaf.clone(), c.public_key.clone()))
                    })
                    .collect(),
            ),
            now,
            min_remaining: self.config.min_credential_remaining_secs,
        };
        let validator = ExternalClient::builder()
            .crypto_provider(CrosslockCrypto::with_enabled_cipher_suites(
                SUITES.iter().map(|s| (*s).into()).collect(),
            ))
            .identity_provider(identity)
            .build();
        let time = MlsTime::from_duration_since_epoch(std::time::Duration::from_secs(now));
        let mut stored = Vec::new();
        let batches = [(&upload.key_packages, false), (&upload.last_resort, true)];
        for (list, last_resort) in batches {
            for (i, bytes) in list.iter().enumerate() {
                let refuse = |why: String| {
                    KdsError::KeyPackage(format!(
                        "#{i}{}: {why}",
                        if last_resort { " (last resort)" } else { "" }
                    ))
                };
                let message = MlsMessage::from_bytes(&bytes.0)
                    .map_err(|e| refuse(format!("not an MLS message: {e}")))?;
                // SUITE-PQ-3: 0xFE4C is refused as retired; only SUITES are accepted.
                // SUITE-PQ-1: before validation, which cannot run a suite
                // without a provider, so the device hears why.
                if let Some(suite) = message.cipher_suite()
                    && !SUITES.contains(&*suite)
                {
                    return Err(refuse(if *suite == RETIRED_XWING_PRIVATE_SUITE {
                        format!(
                            "suite {:#06x} is retired: update the app to use 0x004F",
                            *suite
                        )
                    } else {
                        format!("suite {:#06x} is not accepted", *suite)
                    }));
                }
                // KDS-KP-2: the signature verifies; the credential is a current
                // one of this device with enough validity left, and certifies
                // the leaf key.
                let kp = validator
                    .validate_key_package(message, Some(time))
                    .map_err(|e| refuse(e.to_string()))?;
                let suite = *kp.cipher_suite();
                if !SUITES.contains(&suite) {
                    return Err(refuse(format!("suite {suite:#06x} is not accepted")));
                }
                let (not_before, not_after) = lifetime(&kp).map_err(refuse)?;
                // KDS-KP-3 (fact sheet §6: deployed KeyPackages live
                // 365 days from their certificate's notBefore).
                if not_after.saturating_sub(not_before) > self.config.max_key_package_lifetime_secs
                    || not_after.saturating_sub(now) > self.config.max_key_package_remaining_secs
                {
                    return Err(refuse("lifetime longer than the maximum".into()));
                }
                if kp
                    .extensions
                    .has_extension(LastResortKeyPackageExt::extension_type())
                    != last_resort
                {
                    return Err(refuse(
                        "last_resort extension does not match the list it was sent in".into(),
                    ));
                }
                stored.push(StoredKeyPackage {
                    suite,
                    last_resort,
                    not_after,
                    bytes: bytes.0.clone(),
                });
            }
        }
        self.store.add_key_packages(
            &device.device_id,
            &stored,
            self.config.max_key_packages_per_suite,
            now,
        )
    }

    /// A device's KeyPackage stock.
    pub fn stock(&self, device: &DeviceRecord, now: u64) -> Result<Stock, KdsError> {
        self.store.stock(&device.device_id, now)
    }
}
