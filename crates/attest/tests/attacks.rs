//! Attacks on Android attestation (issue 14, finding 10): an attestation
//! that is genuine but overstates what it proves.
//!
//! - a key imported into the TEE (the importer may keep a copy) presented
//!   as a hardware-generated participant key (ATT-K-1), or a key the TEE
//!   lets decrypt or claims is of another type (ATT-K-2, ATT-K-3);
//! - a chain through an attestation key Google has withdrawn (ATT-R-1);
//! - a genuine attestation made by another app, or by a re-signed copy of
//!   ours (ATT-P-1, ATT-P-2).
//!
//! The imported-key attacks need a chain whose signatures verify around a
//! KeyDescription we choose: it is issued by a test attestation root that
//! the verifier is given in place of Google's (the situation of a TEE that
//! truthfully attests an imported key). The other attacks use the real
//! sample chains of `tests/data/android` and the sample status list in
//! `tests/revocation/status.json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{AndroidSample, VALID_ANDROID, at, b64, read};
use crosslock_attest::android::{Origin, RevocationStatus};
use crosslock_attest::{
    AndroidPolicy, AndroidRoots, AppPolicy, AttestError, AttestationPolicy, Fault, RevocationList,
    RevocationListError, UnverifiedAndroidAttestation, VerifiedAndroidAttestation,
};
use p256::ecdsa::signature::Signer;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, Issuer,
    KeyIdMethod, PublicKeyData, SignatureAlgorithm, SigningKey,
};

const CAIMAN_TEE: AndroidSample = VALID_ANDROID[5];
const CAIMAN_SB: AndroidSample = VALID_ANDROID[6];
const AKITA_TEE_EC: AndroidSample = VALID_ANDROID[0];
/// The package and signing certificate digest the real samples report.
const SAMPLE_PACKAGE: &str = "com.google.android.attestation";
const SAMPLE_SIGNER_B64: &str = "EDk47kU35Z6O55L2VFBPuDRvxrNG0LvEQV/DOfz8jsE=";

// ----- a test attestation root and the KeyDescriptions it signs -----

fn tlv(tag: &[u8], content: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap());
    } else if len < 0x100 {
        out.extend([0x81, u8::try_from(len).unwrap()]);
    } else {
        let bytes = u16::try_from(len).unwrap().to_be_bytes();
        out.extend([0x82, bytes[0], bytes[1]]);
    }
    out.extend_from_slice(content);
    out
}

fn int(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 && bytes[start] == 0 && bytes[start + 1] & 0x80 == 0 {
        start += 1;
    }
    tlv(&[0x02], &bytes[start..])
}

fn seq(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(&[0x30], &items.concat())
}

fn set(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(&[0x31], &items.concat())
}

/// `[n] EXPLICIT inner`, in the short or the high-tag-number form.
fn explicit(n: u32, inner: Vec<u8>) -> Vec<u8> {
    if n < 31 {
        return tlv(&[0xA0 | u8::try_from(n).unwrap()], &inner);
    }
    let mut tag = vec![0xBF];
    let mut groups = Vec::new();
    let mut v = n;
    while {
        groups.push(u8::try_from(v & 0x7F).unwrap());
        v >>= 7;
        v != 0
    } {}
    for (i, g) in groups.iter().rev().enumerate() {
        tag.push(if i + 1 < groups.len() { g | 0x80 } else { *g });
    }
    tlv(&tag, &inner)
}

/// What the (test) secure hardware says about the key.
#[derive(Clone)]
struct Claims {
    purposes: Vec<i64>,
    algorithm: i64,
    ec_curve: Option<i64>,
    hardware_origin: Option<i64>,
    software_origin: Option<i64>,
}

impl Claims {
    /// A P-256 signing key generated in the TEE: what an enrolment needs.
    fn generated_p256() -> Self {
        Self {
            purposes: vec![2],
            algorithm: 3,
            ec_curve: Some(1),
            hardware_origin: Some(0),
            software_origin: None,
        }
    }
}

const CHALLENGE: &[u8] = b"enrollment challenge";

fn key_description(claims: &Claims) -> Vec<u8> {
    let mut hardware = vec![
        explicit(
            1,
            set(&claims.purposes.iter().map(|p| int(*p)).collect::<Vec<_>>()),
        ),
        explicit(2, int(claims.algorithm)),
        explicit(3, int(256)),
    ];
    if let Some(curve) = claims.ec_curve {
        hardware.push(explicit(10, int(curve)));
    }
    if let Some(origin) = claims.hardware_origin {
        hardware.push(explicit(702, int(origin)));
    }
    hardware.push(explicit(
        704,
        seq(&[
            tlv(&[0x04], &[0xAA; 32]), // verifiedBootKey
            tlv(&[0x01], &[0xFF]),     // deviceLocked
            tlv(&[0x0A], &[0x00]),     // VERIFIED
            tlv(&[0x04], &[0xBB; 32]), // verifiedBootHash
        ]),
    ));
    let software: Vec<Vec<u8>> = claims
        .software_origin
        .map(|o| explicit(702, int(o)))
        .into_iter()
        .collect();
    seq(&[
        int(300),              // attestationVersion
        tlv(&[0x0A], &[0x01]), // TRUSTED_ENVIRONMENT
        int(300),              // keyMintVersion
        tlv(&[0x0A], &[0x01]), // TRUSTED_ENVIRONMENT
        tlv(&[0x04], CHALLENGE),
        tlv(&[0x04], &[]),
        seq(&software),
        seq(&hardware),
    ])
}

/// A P-256 key from a fixed scalar (deterministic, no RNG needed).
struct TestKey {
    signing: p256::ecdsa::SigningKey,
    public: Vec<u8>,
}

impl TestKey {
    fn new(seed: u8) -> Self {
        let signing = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
        let public = signing
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec();
        Self { signing, public }
    }
}

impl PublicKeyData for TestKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl SigningKey for TestKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let signature: p256::ecdsa::Signature = self.signing.sign(msg);
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

/// A test attestation root and the roots a verifier pins for it.
struct TestRoot {
    key: TestKey,
    params: CertificateParams,
    der: Vec<u8>,
}

impl TestRoot {
    fn new() -> Self {
        let key = TestKey::new(0x11);
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "Test Key Attestation Root");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.serial_number = Some(vec![0x01; 8].into());
        params.key_identifier_method = KeyIdMethod::PreSpecified(vec![1; 20]);
        let der = params.self_signed(&key).unwrap().der().to_vec();
        Self { key, params, der }
    }

    fn roots(&self) -> AndroidRoots {
        use base64::Engine as _;
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            base64::engine::general_purpose::STANDARD.encode(&self.der)
        );
        AndroidRoots::from_roots_json(&serde_json::to_string(&[pem]).unwrap()).unwrap()
    }

    /// A chain (leaf, root) certifying a fresh P-256 key with `claims`.
    fn attest(&self, claims: &Claims) -> UnverifiedAndroidAttestation {
        let device_key = TestKey::new(0x22);
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "Android Keystore Key");
        params.distinguished_name = dn;
        params.serial_number = Some(vec![0x01].into());
        params.key_identifier_method = KeyIdMethod::PreSpecified(vec![2; 20]);
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 11129, 2, 1, 17],
            key_description(claims),
        )];
        let issuer = Issuer::from_params(&self.params, &self.key);
        let leaf = params.signed_by(&device_key, &issuer).unwrap();
        UnverifiedAndroidAttestation::from_der_chain([leaf.der().to_vec(), self.der.clone()])
            .unwrap()
    }

    fn verify(&self, claims: &Claims) -> Result<VerifiedAndroidAttestation, AttestError> {
        self.attest(claims).verify(
            &self.roots(),
            at("2026-01-01T00:00:00Z"),
            AttestationPolicy::Strict,
            Some(CHALLENGE),
        )
    }
}

// ----- real samples, a status list, an app policy -----

fn sample_status_list() -> RevocationList {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/revocation/status.json");
    RevocationList::from_json(&std::fs::read(path).unwrap()).unwrap()
}

fn sample_signer() -> [u8; 32] {
    b64(SAMPLE_SIGNER_B64).try_into().unwrap()
}

fn verify_sample(
    sample: &AndroidSample,
    policy: AndroidPolicy<'_>,
) -> Result<VerifiedAndroidAttestation, AttestError> {
    UnverifiedAndroidAttestation::from_pem(&read(&format!("android/{}.pem", sample.name)))?.verify(
        &AndroidRoots::google().unwrap(),
        sample.time(),
        policy,
        Some(sample.challenge),
    )
}

fn caiman_strict(policy: AndroidPolicy<'_>) -> Result<VerifiedAndroidAttestation, AttestError> {
    verify_sample(&CAIMAN_TEE, policy)
}

// ----- (a) the key itself -----

#[test]
fn imported_key_is_not_reported_as_hardware_generated() {
    let root = TestRoot::new();
    // The same chain with a generated key verifies: only the origin differs.
    let genuine = root.verify(&Claims::generated_p256()).unwrap();
    assert_eq!(
        genuine.key_description().hardware_enforced.origin,
        Some(Origin::Generated)
    );
    for (value, origin) in [(2, Origin::Imported), (4, Origin::SecurelyImported)] {
        let imported = Claims {
            hardware_origin: Some(value),
            ..Claims::generated_p256()
        };
        let err = root.verify(&imported).unwrap_err();
        assert_eq!(
            err,
            AttestError::KeyNotGenerated {
                origin: Some(origin)
            }
        );
        assert_eq!(err.reason(), "key-not-generated");
        assert_eq!(err.fault(), Fault::Policy);
    }
}

#[test]
fn origin_claimed_only_by_android_software_does_not_count() {
    let root = TestRoot::new();
    let software_only = Claims {
        hardware_origin: None,
        software_origin: Some(0),
        ..Claims::generated_p256()
    };
    assert_eq!(
        root.verify(&software_only).unwrap_err(),
        AttestError::KeyNotGenerated { origin: None }
    );
}

#[test]
fn key_that_may_also_decrypt_or_wrap_is_refused() {
    let root = TestRoot::new();
    for purposes in [
        vec![0, 2],    // ENCRYPT + SIGN
        vec![1, 2, 3], // DECRYPT + SIGN + VERIFY
        vec![2, 5],    // SIGN + WRAP_KEY
        vec![2, 6],    // SIGN + AGREE_KEY
        vec![2, 7],    // SIGN + ATTEST_KEY
        vec![3],       // VERIFY only
        vec![],
    ] {
        let claims = Claims {
            purposes: purposes.clone(),
            ..Claims::generated_p256()
        };
        assert_eq!(
            root.verify(&claims).unwrap_err(),
            AttestError::KeyPurposeNotSigning { purposes }
        );
    }
    // SIGN with VERIFY is what the caiman samples carry: accepted.
    let sign_verify = Claims {
        purposes: vec![2, 3],
        ..Claims::generated_p256()
    };
    root.verify(&sign_verify).unwrap();
}

#[test]
fn hardware_claims_about_another_key_type_are_refused() {
    let root = TestRoot::new();
    for (algorithm, ec_curve) in [(1, None), (3, Some(2)), (3, None), (3, Some(4))] {
        let claims = Claims {
            algorithm,
            ec_curve,
            ..Claims::generated_p256()
        };
        let err = root.verify(&claims).unwrap_err();
        assert_eq!(
            err,
            AttestError::KeyAlgorithmMismatch {
                algorithm: Some(algorithm),
                ec_curve
            }
        );
        assert_eq!(err.fault(), Fault::Forged);
    }
}

// ----- (b) withdrawn attestation keys -----

#[test]
fn chain_through_a_revoked_attestation_key_is_refused() {
    let list = sample_status_list();
    let with_list = AndroidPolicy::new(AttestationPolicy::Strict).with_revocations(&list);
    // Without the list the sample is genuine and passes.
    caiman_strict(AttestationPolicy::Strict.into()).unwrap();
    let err = caiman_strict(with_list).unwrap_err();
    assert_eq!(
        err,
        AttestError::RevokedCertificate {
            index: 1,
            serial: "f165849ef08b4658dd0a8ab95be53006".into(),
            status: RevocationStatus::Revoked,
        }
    );
    assert_eq!(err.reason(), "revoked-certificate");
    assert_eq!(err.fault(), Fault::Untrusted);
    // A suspended key is refused too.
    let dev_with_list = AndroidPolicy::new(AttestationPolicy::Development).with_revocations(&list);
    assert_eq!(
        verify_sample(&AKITA_TEE_EC, dev_with_list).unwrap_err(),
        AttestError::RevokedCertificate {
            index: 1,
            serial: "4f47dffaecc3f58346fb7815514e0dcc".into(),
            status: RevocationStatus::Suspended,
        }
    );
    // A chain with no listed certificate still verifies with the list.
    verify_sample(&CAIMAN_SB, with_list).unwrap();
}

#[test]
fn status_list_in_another_format_is_refused_whole() {
    // An attacker who can tamper with the operator's copy must not turn it
    // into "nothing revoked" by changing its shape.
    for bad in [
        &br#"{"f165849ef08b4658dd0a8ab95be53006": {"status": "REVOKED"}}"#[..],
        br#"{"entries": {"F165849EF08B4658DD0A8AB95BE53006": {"status": "REVOKED"}}}"#,
        br#"{"entries": {"f165849ef08b4658dd0a8ab95be53006": {"status": "revoked"}}}"#,
        br#"{"entries": []}"#,
        b"",
    ] {
        let err = RevocationList::from_json(bad).unwrap_err();
        assert!(
            matches!(
                err,
                RevocationListError::Json(_) | RevocationListError::Serial { .. }
            ),
            "{err:?}"
        );
        let as_attest: AttestError = err.into();
        assert_eq!(as_attest.reason(), "revocation-list");
    }
}

// ----- (c) another app -----

#[test]
fn another_apps_genuine_attestation_is_refused() {
    let ours = AppPolicy::default().allow("org.crosslock.android", vec![sample_signer()]);
    let policy = AndroidPolicy::new(AttestationPolicy::Strict).with_apps(&ours);
    let err = caiman_strict(policy).unwrap_err();
    assert_eq!(
        err,
        AttestError::PackageNotAllowed {
            package: SAMPLE_PACKAGE.into()
        }
    );
    assert_eq!(err.fault(), Fault::Policy);
}

#[test]
fn resigned_copy_of_an_allowed_app_is_refused() {
    let ours = AppPolicy::default().allow(SAMPLE_PACKAGE, vec![[0x5A; 32]]);
    let policy = AndroidPolicy::new(AttestationPolicy::Strict).with_apps(&ours);
    assert_eq!(
        caiman_strict(policy).unwrap_err(),
        AttestError::SigningCertificateNotAllowed {
            package: SAMPLE_PACKAGE.into()
        }
    );
    // An attestation that names no app cannot satisfy an app policy.
    let root = TestRoot::new();
    let chain = root.attest(&Claims::generated_p256());
    assert_eq!(
        chain
            .verify(
                &root.roots(),
                at("2026-01-01T00:00:00Z"),
                policy,
                Some(CHALLENGE)
            )
            .unwrap_err(),
        AttestError::MissingApplicationId
    );
}

#[test]
fn genuine_sample_passes_every_new_check() {
    let list = sample_status_list();
    let apps = AppPolicy::default()
        .allow("org.crosslock.android", vec![[0x5A; 32]])
        .allow(SAMPLE_PACKAGE, vec![[0x5A; 32], sample_signer()]);
    let policy = AndroidPolicy::new(AttestationPolicy::Strict)
        .with_revocations(&list)
        .with_apps(&apps);
    let verified = verify_sample(&CAIMAN_SB, policy).unwrap();
    assert_eq!(verified.policy(), AttestationPolicy::Strict);
    let app = verified.attestation_application_id().unwrap();
    assert_eq!(app.packages[0].name, SAMPLE_PACKAGE);
    // Every real sample with a hardware root has a generated signing key
    // whose hardware claims match its certificate.
    for sample in VALID_ANDROID {
        verify_sample(&sample, AttestationPolicy::Development.into()).unwrap();
    }
}
