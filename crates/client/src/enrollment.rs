//! The device side of enrollment at its provider's KDS: what the device
//! sends (participant keys, certification requests, the attestation
//! challenge) and what it installs from the answer.

use crosslock_credential::{KeyAlgorithm, PublicKey, UnverifiedCredential, build_csr};

use crate::device::{Device, KeyStoreSigner, development_credential};
use crate::error::ClientError;
use crate::keystore::check_attested_key;
use crate::mls::revocation::Revocations;
use crate::store::Table;

/// The revocation lists by issuer (CRED-REV-2). The unscoped list of
/// earlier versions (`revoked-serials`) is not read: fetch every
/// provider's list again with `since=0`.
const REVOKED_KEY: &[u8] = b"revoked-by-issuer";

/// The participant keys of a device, in enrollment order.
pub const ENROLLED_ALGORITHMS: [KeyAlgorithm; 2] = [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Ed25519];

/// Implements [`Device::participant_keys`].
pub(crate) fn participant_keys(device: &Device) -> Result<Vec<PublicKey>, ClientError> {
    ENROLLED_ALGORITHMS
        .iter()
        .map(|a| {
            Ok(device
                .keystore
                .public_key(&device.credential_record(*a).alias)?)
        })
        .collect()
}

/// Implements [`Device::certificate_requests`].
pub(crate) fn certificate_requests(device: &Device) -> Result<Vec<Vec<u8>>, ClientError> {
    ENROLLED_ALGORITHMS
        .iter()
        .map(|a| {
            let alias = &device.credential_record(*a).alias;
            let signer = KeyStoreSigner {
                keystore: device.keystore.as_ref(),
                alias,
                public: device.keystore.public_key(alias)?,
            };
            Ok(build_csr(&signer)?)
        })
        .collect()
}

/// Implements [`Device::attestation_challenge`].
pub(crate) fn attestation_challenge(
    device: &Device,
    nonce: &[u8],
) -> Result<[u8; 32], ClientError> {
    let keys = device.participant_keys()?;
    Ok(crosslock_attest::enrollment_challenge(
        nonce,
        keys[0].as_bytes(),
    ))
}

/// ENR-KEY-1: the device has not started enrolment: both participant
/// credentials are still its own development credentials (none issued by
/// a provider installed), it is in no conversation and holds no
/// KeyPackage (each would carry the old key).
fn before_enrolment(device: &Device) -> Result<(), ClientError> {
    for algorithm in ENROLLED_ALGORITHMS {
        let chain = &device.credential_record(algorithm).chain;
        let own = match chain.as_slice() {
            [leaf] => UnverifiedCredential::parse(&leaf.0)?.is_development(),
            _ => false,
        };
        if !own {
            return Err(ClientError::EnrolmentStarted {
                why: "holds a credential its provider issued",
            });
        }
    }
    if !device.staged.scan(Table::Conversation, &[])?.is_empty() {
        return Err(ClientError::EnrolmentStarted {
            why: "is in a conversation",
        });
    }
    if !device.kp_store.all()?.is_empty() {
        return Err(ClientError::EnrolmentStarted {
            why: "holds KeyPackages",
        });
    }
    Ok(())
}

/// Implements [`Device::replace_participant_key_attested`].
pub(crate) fn replace_participant_key_attested(
    device: &mut Device,
    challenge: &[u8],
) -> Result<Option<Vec<Vec<u8>>>, ClientError> {
    before_enrolment(device)?;
    // A new alias: the key store never overwrites a key, and the old key
    // must stay usable until the device record names the new one.
    let suffix: [u8; 8] = device.env.random();
    let alias = format!(
        "crosslock/{}/p256-{}",
        device.record.device_id,
        hex::encode(suffix)
    );
    let attested = match device.keystore.generate_attested(&alias, challenge) {
        Ok(Some(attested)) => attested,
        Ok(None) => return Ok(None),
        Err(e) => {
            // ENR-KEY-3: a store that failed half-way may have made the key:
            // the alias is this call's own, nothing else uses it.
            let _ = device.keystore.delete(&alias);
            return Err(e.into());
        }
    };
    let old_alias = device.record.p256.alias.clone();
    let switched = (|| {
        // ENR-KEY-2: what the store answered is what was asked for.
        check_attested_key(&attested, challenge)?;
        let credential = development_credential(
            device.keystore.as_ref(),
            alias.clone(),
            attested.public.clone(),
            (&device.number, &device.record.device_id),
            &device.config,
            &device.env,
        )?;
        let mut record = device.record.clone();
        record.p256 = credential;
        device.replace_record(record)
    })();
    if device.record.p256.alias != alias {
        // ENR-KEY-3: not switched: the old key stays, the new one goes.
        if let Err(e) = device.keystore.delete(&alias) {
            tracing::warn!(error = %e, "an attested key the device does not use could not be deleted");
        }
        return Err(switched.err().unwrap_or_else(|| {
            crate::error::internal("the device record did not take the attested key")
        }));
    }
    // The record names the new key: the old one is of no use any more.
    if let Err(e) = device.keystore.delete(&old_alias) {
        tracing::warn!(error = %e, "the replaced participant key could not be deleted");
    }
    switched?;
    tracing::info!(device = %device.record.device_id, "P-256 participant key replaced by an attested one");
    Ok(Some(attested.chain))
}

/// Implements [`Device::note_revoked`].
pub(crate) fn note_revoked(
    device: &mut Device,
    issuer: &PublicKey,
    serials: &[String],
) -> Result<(), ClientError> {
    let mut all = device.revocations()?;
    all.add(issuer, serials);
    device.atomically(|device| {
        device.staged.put(
            Table::Device,
            REVOKED_KEY.to_vec(),
            crate::records::encode(&all)?,
        );
        Ok(())
    })?;
    device.identity.set_revocations(all);
    Ok(())
}

impl Device {
    /// The revocation lists recorded so far.
    pub(crate) fn revocations(&self) -> Result<Revocations, ClientError> {
        match self.staged.get(Table::Device, REVOKED_KEY)? {
            Some(bytes) => crate::records::decode(&bytes),
            None => Ok(Revocations::default()),
        }
    }
}

/// Implements [`Device::install_credentials`].
///
/// ENR-INST-1: every chain is checked before any is installed (trust,
/// number, key; one chain per participant key), so a bad second chain
/// never leaves the first one installed. (The device id a renewal's
/// credentials name is the SDK's check, SDK-RENEW-1: the client core is
/// also given credentials of a device id it takes over, a key roll.)
pub(crate) fn install_credentials(
    device: &mut Device,
    chains: Vec<Vec<Vec<u8>>>,
) -> Result<(), ClientError> {
    let keys = device.participant_keys()?;
    let now = device.env.clock.now();
    if chains.len() != keys.len() {
        return Err(ClientError::CredentialsDoNotFit(
            "not one chain per participant key",
        ));
    }
    let mut matched: Vec<Option<Vec<Vec<u8>>>> = vec![None; keys.len()];
    for chain in chains {
        let validated = device.config.trust.validate(&chain, now)?;
        if validated.number() != &device.number {
            return Err(ClientError::KeyPackageIdentityMismatch {
                expected: device.number.clone(),
            });
        }
        let position = keys
            .iter()
            .position(|k| k == validated.key())
            .ok_or(crosslock_credential::CredentialError::KeyMismatch)?;
        if matched[position].replace(chain).is_some() {
            return Err(ClientError::CredentialsDoNotFit(
                "two credentials for one key",
            ));
        }
    }
    for (position, chain) in matched.into_iter().enumerate() {
        if let Some(chain) = chain {
            device.install_credential(ENROLLED_ALGORITHMS[position], chain)?;
        }
    }
    Ok(())
}
