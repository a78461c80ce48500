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

impl Device {
    /// The participant public keys: P-256 (RCC.16, suite 0x0002) then
    /// Ed25519 (suites 0x0001 and X-Wing). The carrier proof must name both.
    pub fn participant_keys(&self) -> Result<Vec<PublicKey>, ClientError> {
        ENROLLED_ALGORITHMS
            .iter()
            .map(|a| {
                Ok(self
                    .keystore
                    .public_key(&self.credential_record(*a).alias)?)
            })
            .collect()
    }

    /// One PKCS#10 request per participant key (same order as
    /// [`Device::participant_keys`]), each signed inside the key store.
    pub fn certificate_requests(&self) -> Result<Vec<Vec<u8>>, ClientError> {
        ENROLLED_ALGORITHMS
            .iter()
            .map(|a| {
                let alias = &self.credential_record(*a).alias;
                let signer = KeyStoreSigner {
                    keystore: self.keystore.as_ref(),
                    alias,
                    public: self.keystore.public_key(alias)?,
                };
                Ok(build_csr(&signer)?)
            })
            .collect()
    }

    /// The challenge to put in the device attestation (Android: the key's
    /// attestation challenge; Apple: App Attest's client data hash): it
    /// binds the KDS's one-time nonce to the P-256 participant key.
    pub fn attestation_challenge(&self, nonce: &[u8]) -> Result<[u8; 32], ClientError> {
        let keys = self.participant_keys()?;
        Ok(crosslock_attest::enrollment_challenge(
            nonce,
            keys[0].as_bytes(),
        ))
    }

    /// Records a provider's revocation list (`GET /v1/revoked` of that
    /// provider): `issuer` is the key of the CA that provider certifies
    /// its numbers with (from its descriptor or the device's trust
    /// anchors). KeyPackages, commits and Welcomes carrying a listed
    /// credential *issued by that CA* are refused from now on
    /// (CRED-REV-2: a serial names a credential only under its issuer, so
    /// one provider's list never revokes another's credentials). Call it
    /// once per provider whose participants this device meets. Persistent.
    pub fn note_revoked(
        &mut self,
        issuer: &PublicKey,
        serials: &[String],
    ) -> Result<(), ClientError> {
        let mut all = self.revocations()?;
        all.add(issuer, serials);
        self.atomically(|device| {
            device.staged.put(
                Table::Device,
                REVOKED_KEY.to_vec(),
                crate::records::encode(&all)?,
            );
            Ok(())
        })?;
        self.identity.set_revocations(all);
        Ok(())
    }

    /// The revocation lists recorded so far.
    pub(crate) fn revocations(&self) -> Result<Revocations, ClientError> {
        match self.staged.get(Table::Device, REVOKED_KEY)? {
            Some(bytes) => crate::records::decode(&bytes),
            None => Ok(Revocations::default()),
        }
    }

    /// Installs the credentials the KDS issued (one chain per participant
    /// key, in any order). Each must pass this device's trust policy and
    /// certify one of its keys; nothing is installed unless all do.
    pub fn install_credentials(&mut self, chains: Vec<Vec<Vec<u8>>>) -> Result<(), ClientError> {
        let keys = self.participant_keys()?;
        let now = self.env.clock.now();
        let mut matched = Vec::new();
        for chain in chains {
            let leaf = chain
                .first()
                .ok_or(crosslock_credential::CredentialError::ChainLength)?;
            self.config.trust.validate(&chain, now)?;
            let key = UnverifiedCredential::parse(leaf)?.key().clone();
            let position = keys
                .iter()
                .position(|k| *k == key)
                .ok_or(crosslock_credential::CredentialError::KeyMismatch)?;
            matched.push((ENROLLED_ALGORITHMS[position], chain));
        }
        for (algorithm, chain) in matched {
            self.install_credential(algorithm, chain)?;
        }
        Ok(())
    }
}
