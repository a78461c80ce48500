//! Property tests: arbitrary or mutated input into every parser and verifier
//! returns an error or a value, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{APPLE_FILES, VALID_ANDROID, apple_sample};
use crosslock_attest::{
    AndroidRoots, AttestationPolicy, KeyDescription, UnverifiedAndroidAttestation,
    UnverifiedAppAttest, verify_app_attest,
};
use proptest::prelude::*;

/// A real KeyDescription extension value (caiman TEE leaf).
fn real_key_description() -> Vec<u8> {
    let leaf = &VALID_ANDROID[5].chain()[0];
    let oid = [
        0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x01, 0x11,
    ];
    let at = leaf.windows(oid.len()).position(|w| w == oid).unwrap() + oid.len();
    // OCTET STRING with a two-byte long-form length (the value is > 255 bytes).
    assert_eq!(&leaf[at..at + 2], &[0x04, 0x82]);
    let len = usize::from(leaf[at + 2]) << 8 | usize::from(leaf[at + 3]);
    leaf[at + 4..at + 4 + len].to_vec()
}

fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    for (at, value) in edits {
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] = *value;
        }
    }
    if let Some(cut) = cut
        && !bytes.is_empty()
    {
        bytes.truncate(cut % bytes.len());
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn key_description_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = KeyDescription::from_der(&bytes);
    }

    #[test]
    fn key_description_mutated(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let bytes = mutate(real_key_description(), &edits, cut);
        if let Ok(kd) = KeyDescription::from_der(&bytes) {
            let _ = kd.to_json();
        }
    }

    #[test]
    fn android_chain_arbitrary_bytes(
        certs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..512), 0..4),
    ) {
        let _ = UnverifiedAndroidAttestation::from_der_chain(&certs);
    }

    #[test]
    fn android_pem_arbitrary_text(text in ".{0,400}", body in "[A-Za-z0-9+/=\\n]{0,400}") {
        let _ = UnverifiedAndroidAttestation::from_pem(&text);
        let pem = format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n");
        let _ = UnverifiedAndroidAttestation::from_pem(&pem);
        let _ = UnverifiedAndroidAttestation::from_pem(&format!("{pem}{pem}"));
    }

    #[test]
    fn roots_json_arbitrary_text(text in ".{0,200}") {
        let _ = AndroidRoots::from_roots_json(&text);
        let _ = AndroidRoots::from_roots_json(&format!("[{text:?}]"));
    }

    #[test]
    fn app_attest_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = UnverifiedAppAttest::from_cbor(&bytes);
        let _ = verify_app_attest(
            &bytes,
            &[0; 32],
            "TEAMID.app",
            None,
            AttestationPolicy::Development,
            std::time::SystemTime::UNIX_EPOCH,
        );
    }

    #[test]
    fn app_attest_arbitrary_base64(text in "[A-Za-z0-9+/= ]{0,600}") {
        let _ = UnverifiedAppAttest::from_base64(&text);
    }
}

proptest! {
    // Mutating real samples reaches deep into the checks (each case verifies
    // signatures), so fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn android_chain_mutated(
        sample in 0..VALID_ANDROID.len(),
        cert in any::<usize>(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<usize>()),
        drop in proptest::option::of(any::<usize>()),
    ) {
        let sample = VALID_ANDROID[sample];
        let mut chain = sample.chain();
        let i = cert % chain.len();
        chain[i] = mutate(chain[i].clone(), &edits, cut);
        if let Some(d) = drop {
            chain.remove(d % chain.len());
        }
        if let Ok(parsed) = UnverifiedAndroidAttestation::from_der_chain(&chain) {
            let roots = AndroidRoots::google().unwrap();
            for policy in [AttestationPolicy::Strict, AttestationPolicy::Development] {
                let _ = parsed.verify(&roots, sample.time(), policy, Some(sample.challenge));
            }
        }
    }

    #[test]
    fn app_attest_mutated(
        file in 0..APPLE_FILES.len(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let sample = apple_sample(APPLE_FILES[file]);
        let object = mutate(sample.object(), &edits, cut);
        let _ = verify_app_attest(
            &object,
            &sample.client_data_hash,
            &sample.app_id,
            Some(&sample.key_id),
            AttestationPolicy::Development,
            sample.time(),
        );
    }
}
