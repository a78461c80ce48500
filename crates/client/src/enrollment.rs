//! The device side of enrollment at its provider's KDS: what the device
//! sends (participant keys, certification requests, the attestation
//! challenge) and what it installs from the answer.

use crosslock_credential::{KeyAlgorithm, PublicKey, UnverifiedCredential, build_csr};

use crate::device::{Device, KeyStoreSigner};
use crate::error::ClientError;
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
pub(crate) fn install_credentials(
    device: &mut Device,
    chains: Vec<Vec<Vec<u8>>>,
) -> Result<(), ClientError> {
    let keys = device.participant_keys()?;
    let now = device.env.clock.now();
    let mut matched = Vec::new();
    for chain in chains {
        let leaf = chain
            .first()
            .ok_or(crosslock_credential::CredentialError::ChainLength)?;
        device.config.trust.validate(&chain, now)?;
        let key = UnverifiedCredential::parse(leaf)?.key().clone();
        let position = keys
            .iter()
            .position(|k| *k == key)
            .ok_or(crosslock_credential::CredentialError::KeyMismatch)?;
        matched.push((ENROLLED_ALGORITHMS[position], chain));
    }
    for (algorithm, chain) in matched {
        device.install_credential(algorithm, chain)?;
    }
    Ok(())
}
