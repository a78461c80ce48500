//! Android Key Attestation.
//!
//! Input: the certificate chain `KeyStore.getCertificateChain()` returns,
//! leaf first. The leaf certifies the attested key and carries the
//! KeyDescription; the last certificate is a root, matched by public key.
//!
//! Checks, in this order (rule ids as in the crate README):
//!
//! 1. ATT-A-1 parse: 2 to 10 certificates, each strict DER; the leaf carries
//!    exactly one KeyDescription and no other certificate carries one (a chain
//!    extended below a genuine attested key is refused); the KeyDescription
//!    parses (ATT-KD-1..3).
//! 2. ATT-A-2 anchor: the last certificate's public key is a pinned root key.
//! 3. ATT-A-3 signatures: certificate *i* verifies with the key of *i + 1*;
//!    the last one verifies with its own key.
//! 4. ATT-A-4 a chain to the AOSP software root is refused under every policy.
//! 5. ATT-A-5 validity at the given time of every certificate between the leaf
//!    and the root (the batch or remotely provisioned attestation keys and
//!    Google's intermediates). Not enforced: the leaf, whose validity is
//!    whatever the app asked for (devices write 1970-01-01 to 2048 or 2106),
//!    and the root certificate, whose *key* is what is pinned (Google keeps
//!    the key across certificate renewals, and the README's samples end in
//!    certificates of the same key issued in 2016, 2019 and 2022).
//! 6. ATT-R-1 no certificate of the chain is on Google's attestation status
//!    list given in the policy (REVOKED or SUSPENDED; see [`RevocationList`]).
//! 7. ATT-A-6 challenge, when one is expected.
//! 8. ATT-A-7 policy: attestation security level TEE or StrongBox; under
//!    [`AttestationPolicy::Strict`] also a hardware-enforced root of trust
//!    with a locked bootloader and the VERIFIED boot state.
//! 9. ATT-K-1..3 the attested key, from the hardware-enforced list only:
//!    origin GENERATED; purposes SIGN (VERIFY allowed) and nothing else;
//!    algorithm and curve those of the certified key.
//! 10. ATT-P-1..2 when the policy lists apps: every package of the attesting
//!     uid is listed, and every signing certificate digest is allowed for it.
//!
//! Not checked here: name chaining and CA flags (real chains violate
//! RFC 5280 in places; signatures decide). Fetching the status list is I/O:
//! the caller loads it and passes it in the [`AndroidPolicy`].

mod app_policy;
mod json;
mod key_checks;
mod key_description;
mod policy;
mod revocation;
mod roots;

use std::time::SystemTime;

pub use app_policy::AppPolicy;
pub use key_checks::{PURPOSE_SIGN, PURPOSE_VERIFY};
pub use key_description::{
    AttestationApplicationId, AuthorizationList, KeyDescription, MAX_KEY_DESCRIPTION_LEN, Origin,
    PackageInfo, RootOfTrust, SecurityLevel, VerifiedBootState,
};
pub use policy::AndroidPolicy;
pub use revocation::{
    MAX_REVOCATION_LIST_LEN, RevocationEntry, RevocationList, RevocationReason, RevocationStatus,
};
use roots::Anchor;
pub use roots::AndroidRoots;

use crate::cert::{ParsedCert, pem_certificates};
use crate::error::AttestError;
use crate::oid::ANDROID_KEY_DESCRIPTION;
use crate::policy::AttestationPolicy;

/// Most certificates in an Android chain (real ones have 3 to 5).
pub const MAX_ANDROID_CHAIN: usize = 10;
/// Largest PEM chain accepted.
const MAX_PEM_LEN: usize = 256 * 1024;

/// An Android attestation chain parsed from untrusted input. Nothing is
/// verified: [`UnverifiedAndroidAttestation::key_description`] holds claims.
#[derive(Debug, Clone)]
pub struct UnverifiedAndroidAttestation {
    certs: Vec<ParsedCert>,
    key_description: KeyDescription,
}

impl UnverifiedAndroidAttestation {
    /// Parses a PEM chain (`-----BEGIN CERTIFICATE-----` blocks, leaf first).
    ///
    /// # Errors
    /// [`AttestError::Malformed`], [`AttestError::TooLarge`],
    /// [`AttestError::ChainLength`], [`AttestError::MissingKeyDescription`],
    /// [`AttestError::KeyDescriptionOutsideLeaf`] or
    /// [`AttestError::KeyDescription`].
    pub fn from_pem(pem: &str) -> Result<Self, AttestError> {
        if pem.len() > MAX_PEM_LEN {
            return Err(AttestError::TooLarge {
                what: "PEM chain",
                limit: MAX_PEM_LEN,
            });
        }
        Self::from_der_chain(pem_certificates(pem, MAX_ANDROID_CHAIN)?)
    }

    /// Parses a chain of DER certificates, leaf first.
    ///
    /// # Errors
    /// As [`UnverifiedAndroidAttestation::from_pem`].
    pub fn from_der_chain<I>(chain: I) -> Result<Self, AttestError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut certs = Vec::new();
        for (index, der) in chain.into_iter().enumerate() {
            if index == MAX_ANDROID_CHAIN {
                return Err(AttestError::ChainLength { len: index + 1 });
            }
            certs.push(ParsedCert::from_der(der.as_ref(), index)?);
        }
        if certs.len() < 2 {
            return Err(AttestError::ChainLength { len: certs.len() });
        }
        for (index, cert) in certs.iter().enumerate().skip(1) {
            if cert.extension(&ANDROID_KEY_DESCRIPTION, index)?.is_some() {
                return Err(AttestError::KeyDescriptionOutsideLeaf { index });
            }
        }
        let extension = certs[0]
            .extension(&ANDROID_KEY_DESCRIPTION, 0)?
            .ok_or(AttestError::MissingKeyDescription)?;
        let key_description = KeyDescription::from_der(extension)?;
        Ok(Self {
            certs,
            key_description,
        })
    }

    /// The KeyDescription as claimed by the (unverified) leaf.
    #[must_use]
    pub fn key_description(&self) -> &KeyDescription {
        &self.key_description
    }

    /// Number of certificates in the chain.
    #[must_use]
    pub fn chain_len(&self) -> usize {
        self.certs.len()
    }

    /// The key the (unverified) leaf claims to attest: its
    /// SubjectPublicKeyInfo, DER. A claim only, for a device checking what
    /// its own key store handed back before sending it; the KDS reads
    /// [`VerifiedAndroidAttestation::attested_public_key`].
    ///
    /// # Errors
    /// [`AttestError::Malformed`] if the key does not re-encode.
    pub fn claimed_public_key(&self) -> Result<Vec<u8>, AttestError> {
        self.certs[0].spki_der()
    }

    /// Verifies the chain at `at` and applies `policy` (an
    /// [`AndroidPolicy`], or an [`AttestationPolicy`] alone); see
    /// [`verify_android_attestation`].
    ///
    /// # Errors
    /// The first check that fails, in the order of the module documentation.
    pub fn verify<'p>(
        &self,
        roots: &AndroidRoots,
        at: SystemTime,
        policy: impl Into<AndroidPolicy<'p>>,
        expected_challenge: Option<&[u8]>,
    ) -> Result<VerifiedAndroidAttestation, AttestError> {
        verify_android_attestation(self, roots, at, policy, expected_challenge)
    }
}

/// An Android attestation that chained to a Google hardware root at the
/// given time, matched the expected challenge and satisfied the policy.
#[derive(Debug, Clone)]
pub struct VerifiedAndroidAttestation {
    key_description: KeyDescription,
    attested_key: Vec<u8>,
    policy: AttestationPolicy,
}

impl VerifiedAndroidAttestation {
    /// The verified KeyDescription.
    #[must_use]
    pub fn key_description(&self) -> &KeyDescription {
        &self.key_description
    }

    /// The attested key: the leaf's SubjectPublicKeyInfo, DER. The KDS must
    /// check it is the participant key of the enrollment.
    #[must_use]
    pub fn attested_public_key(&self) -> &[u8] {
        &self.attested_key
    }

    /// The policy the attestation satisfied.
    #[must_use]
    pub fn policy(&self) -> AttestationPolicy {
        self.policy
    }

    /// Where the attestation was produced (TEE or StrongBox).
    #[must_use]
    pub fn security_level(&self) -> SecurityLevel {
        self.key_description.attestation_security_level
    }

    /// The attestation challenge.
    #[must_use]
    pub fn challenge(&self) -> &[u8] {
        &self.key_description.attestation_challenge
    }

    /// The hardware-enforced root of trust, if the device reported one.
    #[must_use]
    pub fn root_of_trust(&self) -> Option<&RootOfTrust> {
        self.key_description
            .hardware_enforced
            .root_of_trust
            .as_ref()
    }

    /// The app that generated the key (reported by Android, so it sits in
    /// the software-enforced list on every device seen so far).
    #[must_use]
    pub fn attestation_application_id(&self) -> Option<&AttestationApplicationId> {
        self.key_description
            .hardware_enforced
            .attestation_application_id
            .as_ref()
            .or(self
                .key_description
                .software_enforced
                .attestation_application_id
                .as_ref())
    }

    /// `{"verdict": "accepted", ...}` followed by the KeyDescription fields
    /// in the JSON view of [`KeyDescription::to_json`] (the same as this
    /// type's `Serialize`, which keeps the field order).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl serde::Serialize for VerifiedAndroidAttestation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct View<'a> {
            verdict: &'static str,
            #[serde(flatten)]
            key_description: &'a KeyDescription,
        }
        View {
            verdict: "accepted",
            key_description: &self.key_description,
        }
        .serialize(serializer)
    }
}

/// Verifies an Android Key Attestation chain.
///
/// `at` is the verification time (no clock is read). `expected_challenge`
/// is the challenge the verifier issued — for an enrollment,
/// [`crate::enrollment_challenge`] of the nonce and the participant key;
/// `None` reports whatever challenge the attestation carries without
/// checking it (a diagnostic use, never an enrollment). `policy` is an
/// [`AndroidPolicy`] or an [`AttestationPolicy`] (no status list, no app
/// check).
///
/// # Errors
/// The first check that fails, in the order of the module documentation.
pub fn verify_android_attestation<'p>(
    chain: &UnverifiedAndroidAttestation,
    roots: &AndroidRoots,
    at: SystemTime,
    policy: impl Into<AndroidPolicy<'p>>,
    expected_challenge: Option<&[u8]>,
) -> Result<VerifiedAndroidAttestation, AttestError> {
    let policy: AndroidPolicy<'p> = policy.into();
    let certs = &chain.certs;
    let last = certs.len() - 1;

    // ATT-A-2: anchored at a pinned key.
    let anchor = roots
        .anchor(&certs[last].spki_der()?)
        .ok_or(AttestError::UntrustedRoot)?;

    // ATT-A-3: each signature by the next certificate's key; the root's by its own.
    for (index, pair) in certs.windows(2).enumerate() {
        pair[0].verify_signed_by(pair[1].spki(), index + 1, index)?;
    }
    certs[last].verify_signed_by(certs[last].spki(), last, last)?;

    // ATT-A-4: the software root's private key is public.
    if anchor == Anchor::Software {
        return Err(AttestError::SoftwareRoot);
    }

    // ATT-A-5: validity of the certificates between leaf and root.
    for (index, cert) in certs.iter().enumerate().take(last).skip(1) {
        cert.check_validity(at, index)?;
    }

    // ATT-R-1: no certificate of the chain has been withdrawn by Google.
    for (index, cert) in certs.iter().enumerate() {
        let serial = cert.serial_hex();
        if let Some(entry) = policy.revocations.status(&serial) {
            return Err(AttestError::RevokedCertificate {
                index,
                serial,
                status: entry.status,
            });
        }
    }

    let kd = &chain.key_description;
    check_key_description(kd, policy.assurance, expected_challenge)?;
    // ATT-K-1..3: the key itself, as the hardware describes it.
    key_checks::check_key_properties(kd, certs[0].keymint_algorithm())?;
    // ATT-P-1..2: the app that holds it.
    let verified = VerifiedAndroidAttestation {
        key_description: kd.clone(),
        attested_key: certs[0].spki_der()?,
        policy: policy.assurance,
    };
    policy.apps.check(verified.attestation_application_id())?;
    Ok(verified)
}

/// ATT-A-6 and ATT-A-7: the challenge, then the policy's requirements.
fn check_key_description(
    kd: &KeyDescription,
    policy: AttestationPolicy,
    expected_challenge: Option<&[u8]>,
) -> Result<(), AttestError> {
    // ATT-A-6: the challenge binds this attestation to the enrollment.
    if let Some(expected) = expected_challenge
        && kd.attestation_challenge != expected
    {
        return Err(AttestError::ChallengeMismatch);
    }
    // ATT-A-7: hardware, then (strict) the device's boot state.
    if !kd.attestation_security_level.is_hardware() {
        return Err(AttestError::NotHardwareBacked {
            level: kd.attestation_security_level,
        });
    }
    if policy == AttestationPolicy::Strict {
        let rot = kd
            .hardware_enforced
            .root_of_trust
            .as_ref()
            .ok_or(AttestError::MissingRootOfTrust)?;
        if !rot.device_locked {
            return Err(AttestError::BootloaderUnlocked);
        }
        if rot.verified_boot_state != VerifiedBootState::Verified {
            return Err(AttestError::UnverifiedBoot {
                state: rot.verified_boot_state,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn description(level: u8, root_of_trust: Option<(bool, u8)>) -> KeyDescription {
        let mut hw = Vec::new();
        if let Some((locked, state)) = root_of_trust {
            // [704] { SEQUENCE { OCTET STRING "", BOOLEAN, ENUMERATED state } }
            hw.extend_from_slice(&[0xbf, 0x85, 0x40, 0x0a, 0x30, 0x08, 0x04, 0x00, 0x01, 0x01]);
            hw.push(if locked { 0xff } else { 0x00 });
            hw.extend_from_slice(&[0x0a, 0x01, state]);
        }
        let mut body = vec![
            0x02, 0x01, 0x03, 0x0a, 0x01, level, 0x02, 0x01, 0x04, 0x0a, 0x01,
        ];
        body.extend_from_slice(&[level, 0x04, 0x02, b'h', b'i', 0x04, 0x00, 0x30, 0x00, 0x30]);
        body.push(u8::try_from(hw.len()).unwrap());
        body.extend_from_slice(&hw);
        let mut der = vec![0x30, u8::try_from(body.len()).unwrap()];
        der.extend_from_slice(&body);
        KeyDescription::from_der(&der).unwrap()
    }

    #[test]
    fn strict_policy_checks_each_fact() {
        use AttestationPolicy::{Development, Strict};
        let good = description(1, Some((true, 0)));
        assert_eq!(check_key_description(&good, Strict, Some(b"hi")), Ok(()));
        assert_eq!(
            check_key_description(&good, Strict, Some(b"ho")),
            Err(AttestError::ChallengeMismatch)
        );
        let software = description(0, Some((true, 0)));
        for policy in [Strict, Development] {
            assert_eq!(
                check_key_description(&software, policy, None),
                Err(AttestError::NotHardwareBacked {
                    level: SecurityLevel::Software
                })
            );
        }
        let no_rot = description(2, None);
        assert_eq!(
            check_key_description(&no_rot, Strict, None),
            Err(AttestError::MissingRootOfTrust)
        );
        assert_eq!(check_key_description(&no_rot, Development, None), Ok(()));
        let unlocked = description(1, Some((false, 0)));
        assert_eq!(
            check_key_description(&unlocked, Strict, None),
            Err(AttestError::BootloaderUnlocked)
        );
        let self_signed = description(1, Some((true, 1)));
        assert_eq!(
            check_key_description(&self_signed, Strict, None),
            Err(AttestError::UnverifiedBoot {
                state: VerifiedBootState::SelfSigned
            })
        );
        assert_eq!(
            check_key_description(&self_signed, Development, None),
            Ok(())
        );
    }
}
