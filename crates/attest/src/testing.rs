//! A synthetic Android Key Attestation, for tests (feature `testing`;
//! never in a release build): a test attestation root, which a KDS under
//! test is configured to trust *instead of* Google's (`roots.json`), and
//! chains under it certifying a P-256 key with a KeyDescription as a phone
//! with a locked bootloader and verified boot writes it. Real phones'
//! chains are tested against Google's roots with the samples in
//! `tests/data`; this one lets a KDS, an SDK or a key store under test make
//! fresh attested keys for fresh challenges.
//!
//! Time and randomness are the caller's: the root's key comes from a seed,
//! validity from a Unix time.

use base64::Engine as _;
use p256::ecdsa::SigningKey as P256Key;
use p256::ecdsa::signature::Signer as _;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer,
    KeyIdMethod, PublicKeyData, SignatureAlgorithm, SigningKey,
};

use crate::android::AndroidRoots;
use crate::error::AttestError;

fn tlv(tag: &[u8], content: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn int(v: u64) -> Vec<u8> {
    let mut bytes: Vec<u8> = v
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    if bytes.first().is_none_or(|b| b & 0x80 != 0) {
        bytes.insert(0, 0);
    }
    tlv(&[0x02], &bytes)
}

fn seq(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(&[0x30], &items.concat())
}

/// `[n] EXPLICIT` with a high tag number (n ≥ 31).
fn explicit(n: u32, inner: Vec<u8>) -> Vec<u8> {
    let mut tag = vec![0xBF];
    let mut groups = Vec::new();
    let mut v = n;
    loop {
        groups.push((v & 0x7F) as u8);
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for (i, g) in groups.iter().rev().enumerate() {
        tag.push(if i + 1 < groups.len() { g | 0x80 } else { *g });
    }
    tlv(&tag, &inner)
}

/// A KeyDescription: a P-256 signing key generated in the TEE, with a
/// locked, verified-boot root of trust and `challenge`.
fn key_description(challenge: &[u8]) -> Vec<u8> {
    let root_of_trust = seq(&[
        tlv(&[0x04], &[0xAA; 32]), // verifiedBootKey
        tlv(&[0x01], &[0xFF]),     // deviceLocked TRUE
        tlv(&[0x0A], &[0x00]),     // verifiedBootState Verified
        tlv(&[0x04], &[0xBB; 32]), // verifiedBootHash
    ]);
    // ATT-K-1..3: [1] purposes SIGN, [2] algorithm EC, [10] ecCurve P_256,
    // [702] origin GENERATED.
    let hardware_enforced = seq(&[
        tlv(&[0xA1], &tlv(&[0x31], &int(2))),
        tlv(&[0xA2], &int(3)),
        tlv(&[0xAA], &int(1)),
        explicit(702, int(0)),
        explicit(704, root_of_trust),
    ]);
    seq(&[
        int(300),                // attestationVersion (KeyMint 3)
        tlv(&[0x0A], &[0x01]),   // attestationSecurityLevel TrustedEnvironment
        int(300),                // keyMintVersion
        tlv(&[0x0A], &[0x01]),   // keyMintSecurityLevel
        tlv(&[0x04], challenge), // attestationChallenge
        tlv(&[0x04], &[]),       // uniqueId
        seq(&[]),                // softwareEnforced
        hardware_enforced,       // a generated P-256 signing key, rootOfTrust
    ])
}

/// The root's signing key, as rcgen signs with it.
struct RootKey<'a> {
    key: &'a P256Key,
    public: &'a [u8],
}

impl PublicKeyData for RootKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.public
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl SigningKey for RootKey<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let signature: p256::ecdsa::Signature = self.key.sign(msg);
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

/// A P-256 public key (uncompressed SEC1 point) to certify.
struct Subject<'a>(&'a [u8]);

impl PublicKeyData for Subject<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

fn time(unix: u64, offset_days: i64) -> Result<time::OffsetDateTime, AttestError> {
    let at = i64::try_from(unix)
        .ok()
        .and_then(|s| s.checked_add(offset_days * 86_400))
        .ok_or_else(|| AttestError::Internal("time out of range".into()))?;
    time::OffsetDateTime::from_unix_timestamp(at)
        .map_err(|e| AttestError::Internal(format!("time out of range: {e}")))
}

fn internal(e: rcgen::Error) -> AttestError {
    AttestError::Internal(format!("test attestation certificate: {e}"))
}

/// A test attestation root and the chains it makes.
pub struct TestAttestationRoot {
    key: P256Key,
    public: Vec<u8>,
    params: CertificateParams,
    der: Vec<u8>,
    now: u64,
}

impl std::fmt::Debug for TestAttestationRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestAttestationRoot")
    }
}

impl TestAttestationRoot {
    /// A root whose P-256 key is made from `seed` (random bytes: a seed
    /// that is no valid scalar is refused), valid from a day before `now`
    /// (Unix seconds) for ten years; the chains it makes are valid from a
    /// day before `now` for a year.
    ///
    /// # Errors
    /// [`AttestError::Internal`] for an unusable seed or time.
    pub fn new(seed: [u8; 32], now: u64) -> Result<Self, AttestError> {
        let key = P256Key::from_slice(&seed)
            .map_err(|_| AttestError::Internal("the seed is no P-256 scalar".into()))?;
        let public = key.verifying_key().to_sec1_point(false).as_bytes().to_vec();
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "Test Key Attestation Root");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.not_before = time(now, -1)?;
        params.not_after = time(now, 3650)?;
        params.serial_number = Some(vec![1u8; 8].into());
        params.key_identifier_method = KeyIdMethod::PreSpecified(vec![1; 20]);
        let der = params
            .self_signed(&RootKey {
                key: &key,
                public: &public,
            })
            .map_err(internal)?
            .der()
            .to_vec();
        Ok(TestAttestationRoot {
            key,
            public,
            params,
            der,
            now,
        })
    }

    /// The root certificate, DER.
    #[must_use]
    pub fn certificate(&self) -> &[u8] {
        &self.der
    }

    /// The root as Google's `roots.json` lists roots (a JSON array of PEM
    /// certificates): what a KDS under test is configured with.
    #[must_use]
    pub fn roots_json(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        serde_json::Value::Array(vec![serde_json::Value::String(pem)]).to_string()
    }

    /// [`AndroidRoots`] pinning this root alone.
    ///
    /// # Errors
    /// As [`AndroidRoots::from_roots_json`] (never, for a root made here).
    pub fn android_roots(&self) -> Result<AndroidRoots, AttestError> {
        AndroidRoots::from_roots_json(&self.roots_json())
    }

    /// An attestation chain (leaf first, DER) certifying the P-256 key
    /// `sec1_key` (the 65-byte uncompressed point) with `challenge` as its
    /// attestation challenge.
    ///
    /// # Errors
    /// [`AttestError::Internal`] if rcgen cannot make the certificate (a
    /// key that is no P-256 point, for one).
    pub fn attest(&self, sec1_key: &[u8], challenge: &[u8]) -> Result<Vec<Vec<u8>>, AttestError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "Android Keystore Key");
        params.distinguished_name = dn;
        params.not_before = time(self.now, -1)?;
        params.not_after = time(self.now, 365)?;
        params.serial_number = Some(vec![2u8; 8].into());
        params.key_identifier_method = KeyIdMethod::PreSpecified(vec![2; 20]);
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 11129, 2, 1, 17],
            key_description(challenge),
        )];
        let signer = RootKey {
            key: &self.key,
            public: &self.public,
        };
        let issuer = Issuer::from_params(&self.params, &signer);
        let leaf = params
            .signed_by(&Subject(sec1_key), &issuer)
            .map_err(internal)?
            .der()
            .to_vec();
        Ok(vec![leaf, self.der.clone()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AttestationPolicy;

    #[test]
    fn a_chain_verifies_under_its_root_with_its_challenge_and_key() {
        let root = TestAttestationRoot::new([7; 32], 1_800_000_000).unwrap();
        let subject = P256Key::from_slice(&[9; 32]).unwrap();
        let point = subject.verifying_key().to_sec1_point(false);
        let chain = root.attest(point.as_bytes(), b"the challenge").unwrap();
        let parsed = crate::UnverifiedAndroidAttestation::from_der_chain(&chain).unwrap();
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let roots = root.android_roots().unwrap();
        let verified = parsed
            .verify(
                &roots,
                at,
                AttestationPolicy::Strict,
                Some(b"the challenge"),
            )
            .unwrap();
        assert_eq!(
            verified.attested_public_key(),
            parsed.claimed_public_key().unwrap()
        );
        assert!(
            parsed
                .verify(&roots, at, AttestationPolicy::Strict, Some(b"another one"))
                .is_err()
        );
        // Google's roots do not know it.
        assert!(
            parsed
                .verify(
                    &AndroidRoots::google().unwrap(),
                    at,
                    AttestationPolicy::Development,
                    Some(b"the challenge"),
                )
                .is_err()
        );
    }
}
