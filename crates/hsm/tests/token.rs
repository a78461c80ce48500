//! The CA key in a real PKCS#11 token (SoftHSM2): generation, signing,
//! reopening, key protection, typed errors, and a CA issuing a participant
//! credential with it. Each test runs against its own token (see
//! `common`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::path::Path;

use common::{PIN, TOKEN, module, with_token};
use crosslock_credential::{
    CertSigner, CertificateAuthority, KeyAlgorithm, ParticipantProfile, PhoneNumber, PublicKey,
    TrustAnchors, TrustPolicy,
};
use crosslock_hsm::{HsmError, Pkcs11Signer, Pkcs11Token};
use sha2::{Digest, Sha256};

const DAY: u64 = 86_400;
const NOW: u64 = 1_790_000_000;

fn open() -> Pkcs11Token {
    Pkcs11Token::open(module(), TOKEN, PIN).unwrap()
}

/// A deterministic message of varying length (0 to 299 bytes).
fn message(i: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut block = Sha256::digest(i.to_be_bytes());
    while out.len() < i * 37 % 300 {
        out.extend_from_slice(&block);
        block = Sha256::digest(block);
    }
    out.truncate(i * 37 % 300);
    out
}

/// The two INTEGERs of a DER `Ecdsa-Sig-Value`, checked to be minimal and
/// positive. Returns whether either needed a 0x00 pad (top bit set).
fn check_der_shape(sig: &[u8]) -> bool {
    assert_eq!(sig[0], 0x30, "SEQUENCE");
    assert_eq!(usize::from(sig[1]), sig.len() - 2, "SEQUENCE length");
    let mut rest = &sig[2..];
    let mut padded = false;
    for _ in 0..2 {
        assert_eq!(rest[0], 0x02, "INTEGER");
        let len = usize::from(rest[1]);
        let value = &rest[2..2 + len];
        assert!((1..=33).contains(&len));
        assert!(value[0] & 0x80 == 0, "negative INTEGER");
        if value[0] == 0 {
            assert!(len > 1 && value[1] & 0x80 != 0, "non-minimal INTEGER");
            padded = true;
        }
        rest = &rest[2 + len..];
    }
    assert!(rest.is_empty(), "trailing bytes");
    padded
}

/// An independent P-256 verifier (RustCrypto directly).
fn p256_verifies(key: &PublicKey, message: &[u8], sig: &[u8]) -> bool {
    use p256::ecdsa::signature::Verifier;
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key.as_bytes()).unwrap();
    let sig = p256::ecdsa::Signature::from_der(sig).unwrap();
    key.verify(message, &sig).is_ok()
}

#[test]
fn generate_then_sign_many_messages() {
    with_token("generate_then_sign_many_messages", || {
        let token = open();
        let signer = token.generate_p256("ca-key").unwrap();
        assert_eq!(signer.label(), "ca-key");
        let key = CertSigner::public_key(&signer).clone();
        assert_eq!(key.algorithm(), KeyAlgorithm::EcdsaP256);
        assert_eq!(key.as_bytes().len(), 65);
        assert_eq!(key.as_bytes()[0], 0x04);

        let mut padded = 0;
        let mut short = 0;
        for i in 0..200 {
            let msg = message(i);
            let sig = CertSigner::sign(&signer, &msg).unwrap();
            padded += usize::from(check_der_shape(&sig));
            short += usize::from(sig.len() < 70);
            assert!(key.verify(&msg, &sig), "signature {i} does not verify");
            assert!(p256_verifies(&key, &msg, &sig), "signature {i} (p256)");
            // Bound to the message.
            let mut other = msg.clone();
            other.push(0);
            assert!(!key.verify(&other, &sig));
        }
        // Each INTEGER has its top bit set half the time: 200 signatures
        // exercise the 0x00 pad; dropped leading zero bytes happen ~1/128.
        assert!(padded > 50, "only {padded} padded signatures");
        println!("{padded} of 200 signatures padded, {short} shorter than 70 bytes");
    });
}

#[test]
fn find_after_reopening_the_token() {
    with_token("find_after_reopening_the_token", || {
        let generated = open().generate_p256("ca-key").unwrap().public_key().clone();
        // Every handle is gone: the session closed and the process logged out.
        let token = open();
        let found = token.find_p256("ca-key").unwrap();
        assert_eq!(found.public_key(), &generated);
        let sig = CertSigner::sign(&found, b"after reopening").unwrap();
        assert!(generated.verify(b"after reopening", &sig));

        // A second open while the first is alive shares its login.
        let second = open();
        let again = second.find_p256("ca-key").unwrap();
        drop(token);
        drop(found);
        let sig = CertSigner::sign(&again, b"second handle").unwrap();
        assert!(generated.verify(b"second handle", &sig));

        // A signer outlives the token it came from.
        drop(second);
        let sig = CertSigner::sign(&again, b"signer alone").unwrap();
        assert!(generated.verify(b"signer alone", &sig));
    });
}

#[test]
fn find_or_generate_reuses_and_creates() {
    with_token("find_or_generate_reuses_and_creates", || {
        let token = open();
        let first = token.find_or_generate_p256("ca-key").unwrap();
        let second = token.find_or_generate_p256("ca-key").unwrap();
        assert_eq!(first.public_key(), second.public_key());
        let other = token.find_or_generate_p256("other-key").unwrap();
        assert_ne!(first.public_key(), other.public_key());
    });
}

#[test]
fn generating_an_existing_label_is_refused() {
    with_token("generating_an_existing_label_is_refused", || {
        let token = open();
        let original = token.generate_p256("ca-key").unwrap();
        match token.generate_p256("ca-key") {
            Err(HsmError::KeyExists { label }) => assert_eq!(label, "ca-key"),
            other => panic!("expected KeyExists, got {other:?}"),
        }
        // The original is untouched and still the only pair.
        let found = token.find_p256("ca-key").unwrap();
        assert_eq!(found.public_key(), original.public_key());
    });
}

#[test]
fn private_key_is_not_extractable() {
    with_token("private_key_is_not_extractable", || {
        let token = open();
        let signer = token.generate_p256("ca-key").unwrap();
        let protection = signer.protection().unwrap();
        assert!(protection.sensitive);
        assert!(!protection.extractable);
        assert!(protection.always_sensitive);
        assert!(protection.never_extractable);
        assert!(protection.is_confined());

        // Independently of the crate, through a raw cryptoki session (the
        // process is logged in through `token`, so private objects show).
        raw_private_key_checks(module(), "ca-key");
    });
}

/// Looks at the private key with cryptoki directly: its value cannot be
/// read, and the protection attributes say so.
fn raw_private_key_checks(module: &Path, label: &str) {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::error::{Error, RvError};
    use cryptoki::object::{Attribute, AttributeType, ObjectClass};

    let pkcs11 = Pkcs11::new(module).unwrap();
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slot = pkcs11
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| pkcs11.get_token_info(*s).unwrap().label() == TOKEN)
        .unwrap();
    let session = pkcs11.open_ro_session(slot).unwrap();
    let keys = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .unwrap();
    assert_eq!(keys.len(), 1);
    let attributes = session
        .get_attributes(
            keys[0],
            &[
                AttributeType::Value,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::Private,
                AttributeType::Token,
                AttributeType::Sign,
                AttributeType::Decrypt,
                AttributeType::Derive,
            ],
        )
        .unwrap();
    assert!(
        !attributes.iter().any(|a| matches!(a, Attribute::Value(_))),
        "the private value was readable"
    );
    for expected in [
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Private(true),
        Attribute::Token(true),
        Attribute::Sign(true),
        Attribute::Decrypt(false),
        Attribute::Derive(false),
    ] {
        assert!(attributes.contains(&expected), "{expected:?} not set");
    }
}

#[test]
fn wrong_pin_is_a_typed_error() {
    with_token("wrong_pin_is_a_typed_error", || {
        let expect_login_failed = |result: Result<Pkcs11Token, HsmError>| match result {
            Err(e @ HsmError::LoginFailed { .. }) => {
                assert_eq!(e.ckr_code(), Some("CKR_PIN_INCORRECT"));
                assert!(e.to_string().contains(TOKEN), "{e}");
            }
            other => panic!("expected LoginFailed, got {other:?}"),
        };
        // Checked by the token.
        expect_login_failed(Pkcs11Token::open(module(), TOKEN, "not-the-pin"));
        // Checked by the crate while the process is already logged in (the
        // token would answer CKR_USER_ALREADY_LOGGED_IN without a check).
        let token = open();
        expect_login_failed(Pkcs11Token::open(module(), TOKEN, "not-the-pin"));
        drop(token);
        // The right PIN still works afterwards.
        open().generate_p256("ca-key").unwrap();
    });
}

#[test]
fn unknown_token_label_is_a_typed_error() {
    with_token(
        "unknown_token_label_is_a_typed_error",
        || match Pkcs11Token::open(module(), "no-such-token", PIN) {
            Err(e @ HsmError::TokenNotFound { .. }) => {
                assert!(e.to_string().contains("no-such-token"), "{e}");
            }
            other => panic!("expected TokenNotFound, got {other:?}"),
        },
    );
}

#[test]
fn unknown_key_label_is_a_typed_error() {
    with_token("unknown_key_label_is_a_typed_error", || {
        let token = open();
        token.generate_p256("ca-key").unwrap();
        match token.find_p256("no-such-key") {
            Err(HsmError::KeyNotFound { label }) => assert_eq!(label, "no-such-key"),
            other => panic!("expected KeyNotFound, got {other:?}"),
        }
    });
}

#[test]
fn missing_module_is_a_typed_error() {
    // No token needed: the module path itself is wrong.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("libnothing.so");
    match Pkcs11Token::open(&missing, TOKEN, PIN) {
        Err(HsmError::ModuleLoad { module, .. }) => assert_eq!(module, missing),
        other => panic!("expected ModuleLoad, got {other:?}"),
    }
    // A file that is not a shared library.
    let not_a_library = dir.path().join("module.so");
    std::fs::write(&not_a_library, b"not ELF").unwrap();
    assert!(matches!(
        Pkcs11Token::open(&not_a_library, TOKEN, PIN),
        Err(HsmError::ModuleLoad { .. })
    ));
}

#[test]
fn signing_from_many_threads() {
    with_token("signing_from_many_threads", || {
        let token = open();
        let signer = token.generate_p256("ca-key").unwrap();
        let signer: &Pkcs11Signer = &signer;
        std::thread::scope(|scope| {
            for t in 0..4 {
                scope.spawn(move || {
                    for i in 0..25 {
                        let msg = message(t * 1000 + i);
                        let sig = CertSigner::sign(signer, &msg).unwrap();
                        assert!(signer.public_key().verify(&msg, &sig));
                    }
                });
            }
            // Opening and finding concurrently with the signing.
            scope.spawn(|| {
                for _ in 0..5 {
                    let again = open().find_p256("ca-key").unwrap();
                    assert_eq!(again.public_key(), signer.public_key());
                }
            });
        });
    });
}

/// A participant's software key (fixed, the test is deterministic).
fn participant_key() -> PublicKey {
    let sk = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();
    let point = sk.verifying_key().to_sec1_point(false).as_bytes().to_vec();
    PublicKey::new(KeyAlgorithm::EcdsaP256, point).unwrap()
}

#[test]
fn ca_in_the_token_issues_a_valid_credential() {
    with_token("ca_in_the_token_issues_a_valid_credential", || {
        let token = open();
        let signer = token.generate_p256("kds-ca").unwrap();
        let ca = CertificateAuthority::new_root(
            "Crosslock test provider root",
            NOW - DAY,
            NOW + 3650 * DAY,
            [7; 16],
            &signer,
        )
        .unwrap();
        let ca_key = ca.public_key().unwrap();
        assert_eq!(&ca_key, CertSigner::public_key(&signer));
        assert_root_self_signature(ca.certificate(), &ca_key);

        let device_key = participant_key();
        let profile = ParticipantProfile::new(
            PhoneNumber::parse("+447700900123").unwrap(),
            Some("6f1e1b0a-41f2-4bb6-9c3c-6a9a55f3a001".into()),
            NOW - 60,
            NOW + 30 * DAY,
            [9; 16],
        );
        let leaf = ca.issue(&profile, &device_key, &signer).unwrap();

        let policy = TrustPolicy::Development {
            anchors: TrustAnchors::new(vec![ca_key.clone()]),
        };
        for chain in [
            vec![leaf.clone()],
            vec![leaf.clone(), ca.certificate().to_vec()],
        ] {
            let validated = policy.validate(&chain, NOW).unwrap();
            assert_eq!(validated.number().as_str(), "+447700900123");
            assert_eq!(validated.key(), &device_key);
            assert!(!validated.is_development());
        }

        // A different root (another key in the same token) is not trusted.
        let other = token.generate_p256("other-ca").unwrap();
        let untrusted = TrustPolicy::Development {
            anchors: TrustAnchors::new(vec![other.public_key().clone()]),
        };
        assert!(untrusted.validate(&[&leaf], NOW).is_err());

        // After a restart: the same key from the token and the stored root
        // certificate keep issuing credentials that validate.
        let stored = ca.certificate().to_vec();
        drop((signer, other, token));
        let token = open();
        let signer = token.find_p256("kds-ca").unwrap();
        let reloaded = CertificateAuthority::load("Crosslock test provider root", stored).unwrap();
        let leaf = reloaded.issue(&profile, &device_key, &signer).unwrap();
        policy.validate(&[&leaf], NOW).unwrap();
    });
}

/// The root's own signature (made in the token) verifies over its
/// tbsCertificate.
fn assert_root_self_signature(certificate: &[u8], key: &PublicKey) {
    use der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(certificate).unwrap();
    let tbs = cert.tbs_certificate().to_der().unwrap();
    let signature = cert.signature().as_bytes().unwrap();
    check_der_shape(signature);
    assert!(key.verify(&tbs, signature));
}
