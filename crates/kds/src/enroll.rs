//! Enrollment: carrier proof + device attestation + CSRs → credentials.
//!
//! Checks, in order (KDS-ENR-* in docs/validation-rules.md):
//! 1. the nonce is one we issued, unused and unexpired (consumed now);
//! 2. the device id is a UUID, and a token the device chose for itself
//!    (`next_token`) is 32 bytes of lowercase hex, no other device's
//!    (KDS-ENR-12);
//! 3. one or two CSRs, each self-signed: exactly one P-256 key (the RCC.16
//!    participant key), optionally one Ed25519 key (suites 0x0001, X-Wing);
//! 4. the carrier proof verifies under a carrier authoritative for numbers
//!    homed here (KDS-ENR-6; a peer's carrier is refused), is unexpired,
//!    names this KDS as home, the numbering plan homes the number here
//!    (KDS-ENR-7), and it covers every CSR key;
//! 5. the attestation (required or optional by policy) verifies and is
//!    fresh: Android's challenge is `android_enrollment_challenge(nonce)`
//!    and the attested key *is* the P-256 participant key (the chain binds
//!    the key); Apple's `clientDataHash` is `enrollment_challenge(nonce,
//!    P-256 key)` (App Attest attests a key of its own, so the hash binds
//!    the participant key);
//! 6. credentials are issued (carrier proof and participant information
//!    embedded) and stored with the device in one transaction, which also
//!    checks that the device id is not another number's and that an
//!    existing device id comes with its current token (KDS-ENR-8), that
//!    the number stays within its device cap (KDS-ENR-9) and the carrier
//!    proof within its use cap (KDS-ENR-10).

use std::time::{Duration, SystemTime};

use crosslock_attest::{
    AttestationPolicy, UnverifiedAndroidAttestation, android_enrollment_challenge,
    enrollment_challenge,
};
use crosslock_credential::{
    KeyAlgorithm, ParticipantInfo, ParticipantProfile, PublicKey, verify_csr,
};
use crosslock_wire::api::B64;
use crosslock_wire::api::kds::{
    Assurance, AttestationBody, EnrollRequest, EnrollResponse, NonceResponse,
};
use sha2::{Digest, Sha256};

use crate::config::AttestationRequirement;
use crate::error::KdsError;
use crate::service::Kds;
use crate::store::{DeviceRecord, Enrolment, IssuedCredential};

impl Kds {
    /// Issues a one-time enrollment nonce.
    pub fn new_nonce(&self, now: u64) -> Result<NonceResponse, KdsError> {
        let nonce = self.random::<32>();
        let expires_at = now + self.config.nonce_lifetime_secs;
        self.store.insert_nonce(&nonce, expires_at)?;
        Ok(NonceResponse {
            nonce: B64(nonce.to_vec()),
            expires_at,
        })
    }

    /// Enrolls a new device (see the module documentation for the checks).
    /// A device id enrolled before needs [`Kds::enroll_device`] with its
    /// current token.
    pub fn enroll(&self, request: EnrollRequest, now: u64) -> Result<EnrollResponse, KdsError> {
        self.enroll_device(request, None, now)
    }

    /// Enrolls a device; `device_token` is the token the caller presented
    /// (the bearer of `POST /v1/enrollment`): re-enrolling a device id
    /// needs the token that device holds now (KDS-ENR-8).
    pub fn enroll_device(
        &self,
        request: EnrollRequest,
        device_token: Option<&str>,
        now: u64,
    ) -> Result<EnrollResponse, KdsError> {
        let replace_others = request.replace_existing;
        // KDS-ENR-1: a nonce issued here, unused and unexpired; taking it consumes it.
        // 1. Nonce.
        if !self.store.take_nonce(&request.nonce.0, now)? {
            return Err(KdsError::BadNonce);
        }
        // KDS-ENR-2: the device id is a UUID.
        // 2. Device id.
        let device_id = uuid::Uuid::parse_str(&request.device_id)
            .map_err(|_| KdsError::Malformed("device_id must be a UUID".into()))?
            .hyphenated()
            .to_string();
        // KDS-ENR-12: a token the device chose is 32 bytes in lowercase hex
        // and no other device's; it replaces drawing one.
        let chosen = match &request.next_token {
            Some(token) => Some(self.chosen_token(token, &device_id)?),
            None => None,
        };
        // KDS-ENR-3: one or two CSRs (CSR-1), one P-256 key, at most one Ed25519 key.
        // 3. CSRs.
        if request.csrs.is_empty() || request.csrs.len() > 2 {
            return Err(KdsError::Csr(
                "one or two certification requests expected".into(),
            ));
        }
        let keys: Vec<PublicKey> = request
            .csrs
            .iter()
            .map(|csr| verify_csr(&csr.0, &self.verifier))
            .collect::<Result<_, _>>()?;
        let p256: Vec<&PublicKey> = keys
            .iter()
            .filter(|k| k.algorithm() == KeyAlgorithm::EcdsaP256)
            .collect();
        let ed25519 = keys
            .iter()
            .filter(|k| k.algorithm() == KeyAlgorithm::Ed25519)
            .count();
        let [p256] = p256.as_slice() else {
            return Err(KdsError::Csr(
                "exactly one P-256 participant key is required".into(),
            ));
        };
        if ed25519 > 1 || keys.len() != 1 + ed25519 {
            return Err(KdsError::Csr(
                "at most one Ed25519 key, and no other key types".into(),
            ));
        }
        // KDS-ENR-4: the proof passes CARRIER-1..5, names this KDS and every CSR key.
        // 4. Carrier proof: only a carrier authoritative for numbers homed
        // here (KDS-ENR-6), for a number homed here (KDS-ENR-7).
        let proof = &request.carrier_proof.0;
        let claims = match self
            .config
            .enrolment_carriers
            .verify(proof, now, &self.verifier)
        {
            Ok(claims) => claims,
            Err(e) => {
                if self
                    .config
                    .carriers
                    .verify(proof, now, &self.verifier)
                    .is_ok()
                {
                    tracing::warn!(
                        "enrollment refused: a carrier not authoritative here signed the proof"
                    );
                    return Err(KdsError::CarrierNotAuthoritative);
                }
                return Err(e.into());
            }
        };
        if claims.home_kds != self.config.kds_id {
            return Err(KdsError::WrongHome(claims.home_kds));
        }
        if self.config.home_of(&claims.number) != Some(self.config.kds_id.as_str()) {
            tracing::warn!(number = %claims.number.redacted(), "enrollment refused: number not homed here");
            return Err(KdsError::NotHomedHere);
        }
        if let Some(key) = keys.iter().find(|k| !claims.covers(k.as_bytes())) {
            return Err(KdsError::Csr(format!(
                "the carrier proof does not name the {:?} key of this request",
                key.algorithm()
            )));
        }
        // KDS-ENR-5: attestation as policy requires, fresh for this nonce and
        // bound to the P-256 key. KDS-ENR-11: a renewal without one keeps
        // the assurance the same key was attested with.
        // 5. Attestation.
        let carried = match (&request.attestation, device_token) {
            (None, Some(token)) => {
                self.renewed_assurance(token, &device_id, &claims.number, p256)?
            }
            _ => None,
        };
        let assurance = match carried {
            Some(assurance) => assurance,
            None => {
                self.check_attestation(request.attestation.as_ref(), &request.nonce.0, p256, now)?
            }
        };
        // 6. Credentials.
        let token_text = chosen.unwrap_or_else(|| hex::encode(self.random::<32>()));
        let participant_info = ParticipantInfo {
            device_id: device_id.clone(),
            assurance: assurance_code(assurance),
            enrolled_at: now,
        };
        let mut issued = Vec::new();
        for key in &keys {
            let serial = self.random::<16>();
            let profile = ParticipantProfile {
                number: claims.number.clone(),
                device: Some(device_id.clone()),
                not_before: now.saturating_sub(60),
                not_after: now + self.config.credential_lifetime_secs,
                serial,
                carrier_proof: Some(request.carrier_proof.0.clone()),
                participant_info: Some(participant_info.clone()),
            };
            let leaf = self
                .config
                .ca
                .issue(&profile, key, self.config.ca_signer.as_ref())?;
            issued.push(IssuedCredential {
                serial: serial_hex(serial),
                device_id: device_id.clone(),
                public_key: key.as_bytes().to_vec(),
                chain: vec![leaf, self.config.ca.certificate().to_vec()],
                not_after: profile.not_after,
            });
        }
        let device = DeviceRecord {
            device_id: device_id.clone(),
            number: claims.number.as_str().to_owned(),
            token_hash: Sha256::digest(token_text.as_bytes()).into(),
            assurance,
            enrolled_at: now,
            revoked_at: None,
        };
        self.store.enroll(&Enrolment {
            device: &device,
            credentials: &issued,
            replace_others,
            presented_token_hash: device_token.map(|t| Sha256::digest(t.as_bytes()).into()),
            proof_digest: Sha256::digest(proof).into(),
            proof_not_after: claims.not_after,
            max_devices: self.config.device_cap(),
            max_per_proof: self.config.max_devices_per_proof,
        })?;
        tracing::info!(device = %device_id, number = %claims.number.redacted(), ?assurance, "device enrolled");
        Ok(EnrollResponse {
            device_token: token_text,
            credentials: issued
                .into_iter()
                .map(|c| c.chain.into_iter().map(B64).collect())
                .collect(),
            assurance,
            kds_id: self.config.kds_id.clone(),
        })
    }

    /// KDS-ENR-12: the token a device chose for itself (`next_token`), as
    /// it will be stored: exactly 32 bytes written as 64 lowercase hex
    /// digits (the form the KDS's own tokens have, and what the device's
    /// randomness gives), and not the token of another device (tokens are
    /// looked up by their hash; the device must choose again).
    fn chosen_token(&self, token: &str, device_id: &str) -> Result<String, KdsError> {
        let well_formed = token.len() == 64
            && token
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            return Err(KdsError::Malformed(
                "next_token must be 32 random bytes as 64 lowercase hex digits".into(),
            ));
        }
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(holder) = self.store.device_by_token(&hash)?
            && holder.device_id != device_id
        {
            return Err(KdsError::Malformed(
                "next_token is taken; choose another random token".into(),
            ));
        }
        Ok(token.to_owned())
    }

    /// KDS-ENR-11: the assurance a renewal keeps. A re-enrolment of a
    /// device id with that device's current token (KDS-ENR-8, checked
    /// again in the store's transaction), for the number it is enrolled
    /// under, not revoked, whose P-256 participant key is the one its
    /// credentials already certify, keeps the assurance recorded when that
    /// key was attested: an Android key is attested only when it is
    /// generated, so a renewal of the same key cannot bring a fresh
    /// attestation. `None` (check the request's attestation as policy
    /// says) for anything else, and for a device that was never attested.
    fn renewed_assurance(
        &self,
        token: &str,
        device_id: &str,
        number: &crosslock_credential::PhoneNumber,
        p256: &PublicKey,
    ) -> Result<Option<Assurance>, KdsError> {
        let token_hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let Some(device) = self.store.device_by_token(&token_hash)? else {
            return Ok(None);
        };
        if device.device_id != device_id
            || device.number != number.as_str()
            || device.revoked_at.is_some()
            || device.assurance == Assurance::None
        {
            return Ok(None);
        }
        let same_key = self
            .store
            .credentials_of(device_id)?
            .iter()
            .any(|c| c.public_key == p256.as_bytes());
        Ok(same_key.then_some(device.assurance))
    }

    fn check_attestation(
        &self,
        attestation: Option<&AttestationBody>,
        nonce: &[u8],
        p256: &PublicKey,
        now: u64,
    ) -> Result<Assurance, KdsError> {
        let (required, policy) = match self.config.attestation {
            AttestationRequirement::Required(p) => (true, p),
            AttestationRequirement::Optional(p) => (false, p),
        };
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(now);
        let refused = |e: crosslock_attest::AttestError| KdsError::Attestation(e.to_string());
        match attestation {
            None if required => Err(KdsError::AttestationRequired),
            None => Ok(Assurance::None),
            Some(AttestationBody::Android { chain }) => {
                // KDS-ENR-5: Key Attestation fixes the challenge when the key
                // is generated, before its public key exists: the challenge
                // is the nonce's alone (freshness), and the binding to the
                // participant key is the chain's, checked below.
                let challenge = android_enrollment_challenge(nonce);
                let chain =
                    UnverifiedAndroidAttestation::from_der_chain(chain.iter().map(|c| &c.0))
                        .map_err(refused)?;
                // ATT-R-1, ATT-P-1..2: withdrawn attestation keys and other
                // apps are refused whatever the assurance asked for.
                let verify = |p| {
                    let policy = crosslock_attest::AndroidPolicy::new(p)
                        .with_revocations(&self.config.android_status_list)
                        .with_apps(&self.config.android_apps);
                    chain.verify(&self.config.android_roots, at, policy, Some(&challenge))
                };
                let (verified, assurance) = match verify(AttestationPolicy::Strict) {
                    Ok(v) => (v, Assurance::HardwareVerified),
                    Err(strict) if policy == AttestationPolicy::Development => {
                        match verify(AttestationPolicy::Development) {
                            Ok(v) => (v, Assurance::Hardware),
                            Err(_) => return Err(refused(strict)),
                        }
                    }
                    Err(e) => return Err(refused(e)),
                };
                let attested = PublicKey::from_spki_der(verified.attested_public_key())
                    .ok_or_else(|| {
                        KdsError::Attestation("attested key is not a supported key".into())
                    })?;
                // KDS-ENR-5: the attested key is the participant key the
                // CSR carries (and the carrier proof covers).
                if &attested != p256 {
                    return Err(KdsError::Attestation(
                        "the attestation is for another key than the participant key".into(),
                    ));
                }
                Ok(assurance)
            }
            Some(AttestationBody::Apple { object }) => {
                // KDS-ENR-5: App Attest attests a key of its own; the
                // clientDataHash binds the nonce to the participant key.
                let challenge = enrollment_challenge(nonce, p256.as_bytes());
                let mut last = KdsError::Attestation("no Apple app id is configured".into());
                for app_id in &self.config.apple_app_ids {
                    match crosslock_attest::verify_app_attest(
                        &object.0, &challenge, app_id, None, policy, at,
                    ) {
                        Ok(v) => {
                            return Ok(match v.environment() {
                                crosslock_attest::AppAttestEnvironment::Production => {
                                    Assurance::HardwareVerified
                                }
                                _ => Assurance::Hardware,
                            });
                        }
                        Err(e) => last = refused(e),
                    }
                }
                Err(last)
            }
        }
    }
}

fn assurance_code(a: Assurance) -> u8 {
    match a {
        Assurance::None => 0,
        Assurance::Hardware => 1,
        Assurance::HardwareVerified => 2,
    }
}

/// The serial as the certificate carries it (rcgen forces the top bit off
/// and the lowest bit of the first byte on, see `issue::positive`).
fn serial_hex(mut serial: [u8; 16]) -> String {
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    hex::encode(serial)
}
