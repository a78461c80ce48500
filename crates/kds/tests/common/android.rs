//! A synthetic Android Key Attestation, for tests and benchmarks: a test
//! attestation root (configured in the KDS instead of Google's) certifying
//! a device's P-256 participant key with a KeyDescription extension. Real
//! phones' chains are tested in crates/attest; this one lets the KDS's
//! positive path (and its throughput) be exercised with fresh keys.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use crosslock_client::credential::{CertSigner, PublicKey};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer,
    KeyIdMethod, PublicKeyData, SignatureAlgorithm, SigningKey,
};

use super::SoftSigner;

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
    if bytes.is_empty() || bytes[0] & 0x80 != 0 {
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
/// locked, verified-boot root of trust.
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

struct Signing<'a>(&'a dyn CertSigner);
impl PublicKeyData for Signing<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0.public_key().as_bytes()
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}
impl SigningKey for Signing<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.0.sign(msg).map_err(|_| rcgen::Error::RemoteKeyError)
    }
}
struct Public<'a>(&'a PublicKey);
impl PublicKeyData for Public<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

fn time(offset_days: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::days(offset_days)
}

/// A test attestation root: the KDS is configured with it (as
/// `roots.json`) instead of Google's.
pub(crate) struct AttestationRoot {
    key: SoftSigner,
    params: CertificateParams,
    der: Vec<u8>,
}

impl AttestationRoot {
    pub(crate) fn new() -> Self {
        let key = SoftSigner::new();
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "Test Key Attestation Root");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.not_before = time(-1);
        params.not_after = time(3650);
        params.serial_number = Some(vec![1u8; 8].into());
        params.key_identifier_method = KeyIdMethod::PreSpecified(vec![1; 20]);
        let der = params.self_signed(&Signing(&key)).unwrap().der().to_vec();
        AttestationRoot { key, params, der }
    }

    /// The root as Google's `roots.json` lists roots.
    pub(crate) fn roots_json(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        );
        serde_json::to_string(&vec![pem]).unwrap()
    }

    /// An attestation chain (leaf first, DER) certifying `key` with `challenge`.
    pub(crate) fn attest(&self, key: &PublicKey, challenge: &[u8]) -> Vec<Vec<u8>> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "Android Keystore Key");
        params.distinguished_name = dn;
        params.not_before = time(-1);
        params.not_after = time(365);
        params.serial_number = Some(vec![2u8; 8].into());
        params.key_identifier_method = KeyIdMethod::PreSpecified(vec![2; 20]);
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 11129, 2, 1, 17],
            key_description(challenge),
        )];
        let signer = Signing(&self.key);
        let issuer = Issuer::from_params(&self.params, &signer);
        let leaf = params
            .signed_by(&Public(key), &issuer)
            .unwrap()
            .der()
            .to_vec();
        vec![leaf, self.der.clone()]
    }
}
