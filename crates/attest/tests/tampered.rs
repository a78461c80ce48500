//! Tampered variants of every sample must be refused: flipped bytes in each
//! certificate (signature and TBS), in the KeyDescription extension, in
//! authData, in the nonce extension and in the CBOR structure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use ciborium::Value;
use common::{APPLE_FILES, AndroidSample, AppleSample, VALID_ANDROID, apple_sample, flipped};
use crosslock_attest::{
    AndroidRoots, AttestError, AttestationPolicy, UnverifiedAndroidAttestation, verify_app_attest,
};

/// `(content_start, content_len)` of the DER element whose tag is at `pos`.
fn element(der: &[u8], pos: usize) -> (usize, usize) {
    let first = der[pos + 1];
    if first < 0x80 {
        (pos + 2, usize::from(first))
    } else {
        let n = usize::from(first & 0x7f);
        let len = der[pos + 2..pos + 2 + n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (pos + 2 + n, len)
    }
}

/// Byte range of the serial number's value inside a certificate.
fn serial_range(cert: &[u8]) -> std::ops::Range<usize> {
    let (tbs, _) = element(cert, 0);
    let (version_tag, _) = element(cert, tbs);
    assert_eq!(cert[version_tag], 0xa0, "v3 certificate");
    let (version, version_len) = element(cert, version_tag);
    let serial_tag = version + version_len;
    assert_eq!(cert[serial_tag], 0x02);
    let (start, len) = element(cert, serial_tag);
    start..start + len
}

/// Byte range of the KeyDescription extension's value (the OCTET STRING contents).
fn key_description_range(leaf: &[u8]) -> std::ops::Range<usize> {
    const OID: [u8; 12] = [
        0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x01, 0x11,
    ];
    let at = leaf.windows(OID.len()).position(|w| w == OID).unwrap() + OID.len();
    let at = if leaf[at] == 0x01 { at + 3 } else { at }; // optional `critical`
    assert_eq!(leaf[at], 0x04);
    let (start, len) = element(leaf, at);
    start..start + len
}

fn android_verdict(sample: &AndroidSample, chain: &[Vec<u8>]) -> Result<(), AttestError> {
    let roots = AndroidRoots::google().unwrap();
    UnverifiedAndroidAttestation::from_der_chain(chain)?
        .verify(
            &roots,
            sample.time(),
            AttestationPolicy::Development,
            Some(sample.challenge),
        )
        .map(|_| ())
}

#[test]
fn untampered_android_samples_verify() {
    for sample in VALID_ANDROID {
        android_verdict(&sample, &sample.chain()).unwrap();
    }
}

#[test]
fn flipped_signature_byte_fails_that_certificates_signature() {
    for sample in VALID_ANDROID {
        let chain = sample.chain();
        for index in 0..chain.len() {
            let mut tampered = chain.clone();
            let last = tampered[index].len() - 1;
            tampered[index] = flipped(&tampered[index], last);
            assert_eq!(
                android_verdict(&sample, &tampered),
                Err(AttestError::ChainSignature { index }),
                "{} certificate {index}",
                sample.name
            );
        }
    }
}

#[test]
fn flipped_serial_number_fails_that_certificates_signature() {
    for sample in VALID_ANDROID {
        let chain = sample.chain();
        for index in 0..chain.len() {
            let mut tampered = chain.clone();
            let at = serial_range(&tampered[index]).end - 1;
            tampered[index] = flipped(&tampered[index], at);
            assert_eq!(
                android_verdict(&sample, &tampered),
                Err(AttestError::ChainSignature { index }),
                "{} certificate {index}",
                sample.name
            );
        }
    }
}

#[test]
fn every_flipped_byte_of_the_key_description_is_refused() {
    for sample in VALID_ANDROID {
        let chain = sample.chain();
        for at in key_description_range(&chain[0]) {
            let mut tampered = chain.clone();
            tampered[0] = flipped(&chain[0], at);
            match android_verdict(&sample, &tampered) {
                // Either the extension no longer parses, or it does and the
                // leaf's signature no longer covers it.
                Err(AttestError::KeyDescription(_) | AttestError::ChainSignature { index: 0 }) => {}
                other => panic!("{} byte {at}: {other:?}", sample.name),
            }
        }
    }
}

/// Flips bytes of every certificate of sample `n` (every `stride`-th byte,
/// all of them with stride 1) and expects a refusal. A certificate shared
/// with an earlier sample (Google's intermediates and roots) is swept only
/// in the first sample that has it.
fn sweep_android_chain(n: usize, stride: usize) {
    let sample = VALID_ANDROID[n];
    let chain = sample.chain();
    let earlier: Vec<Vec<u8>> = VALID_ANDROID[..n].iter().flat_map(|s| s.chain()).collect();
    for index in 0..chain.len() {
        if earlier.contains(&chain[index]) {
            continue;
        }
        for at in (index % stride..chain[index].len()).step_by(stride) {
            let mut tampered = chain.clone();
            tampered[index] = flipped(&chain[index], at);
            assert!(
                android_verdict(&sample, &tampered).is_err(),
                "{} certificate {index} byte {at}",
                sample.name
            );
        }
    }
}

#[test]
fn flipped_bytes_across_every_android_chain_are_refused() {
    for n in 0..VALID_ANDROID.len() {
        sweep_android_chain(n, 29);
    }
}

/// The exhaustive sweep (about 13,000 variants, two minutes unoptimised):
/// `cargo test -p crosslock-attest --release --test tampered -- --ignored`.
#[test]
#[ignore = "exhaustive; run with --release -- --ignored"]
fn every_flipped_byte_of_every_android_chain_is_refused() {
    for n in 0..VALID_ANDROID.len() {
        sweep_android_chain(n, 1);
    }
}

/// Positions of `needle` inside `haystack` (exactly one expected).
fn find(haystack: &[u8], needle: &[u8]) -> std::ops::Range<usize> {
    let at = haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    at..at + needle.len()
}

struct AppleLayout {
    auth_data: std::ops::Range<usize>,
    certs: Vec<std::ops::Range<usize>>,
    receipt: std::ops::Range<usize>,
}

fn apple_layout(object: &[u8]) -> AppleLayout {
    let value: Value = ciborium::de::from_reader(object).unwrap();
    let map = value.as_map().unwrap();
    let get = |m: &[(Value, Value)], k: &str| {
        m.iter()
            .find(|(key, _)| key.as_text() == Some(k))
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let att_stmt = get(map, "attStmt");
    let att_stmt = att_stmt.as_map().unwrap();
    let auth_data = get(map, "authData");
    let certs = get(att_stmt, "x5c")
        .as_array()
        .unwrap()
        .iter()
        .map(|c| find(object, c.as_bytes().unwrap()))
        .collect();
    let receipt = get(att_stmt, "receipt");
    AppleLayout {
        auth_data: find(object, auth_data.as_bytes().unwrap()),
        certs,
        receipt: find(object, receipt.as_bytes().unwrap()),
    }
}

fn apple_verdict(sample: &AppleSample, object: &[u8]) -> Result<(), AttestError> {
    verify_app_attest(
        object,
        &sample.client_data_hash,
        &sample.app_id,
        Some(&sample.key_id),
        AttestationPolicy::Development,
        sample.time(),
    )
    .map(|_| ())
}

#[test]
fn every_flipped_byte_of_auth_data_is_refused() {
    for file in APPLE_FILES {
        let sample = apple_sample(file);
        let object = sample.object();
        let layout = apple_layout(&object);
        for at in layout.auth_data.clone() {
            let result = apple_verdict(&sample, &flipped(&object, at));
            // rpIdHash, flags, counter, aaguid, credential id and key all sit
            // under the certified nonce; a flip either breaks the layout or
            // the nonce.
            match result {
                Err(
                    AttestError::NonceMismatch | AttestError::Malformed(_) | AttestError::Cbor(_),
                ) => {}
                other => panic!("{file} authData byte {at}: {other:?}"),
            }
        }
        // The rpIdHash in particular is caught by the nonce.
        assert_eq!(
            apple_verdict(&sample, &flipped(&object, layout.auth_data.start)),
            Err(AttestError::NonceMismatch)
        );
    }
}

/// Flips every `stride`-th byte of each `x5c` certificate and expects a
/// refusal; the last byte (in the signature) must fail that certificate's
/// signature check. The intermediate, Apple App Attestation CA 1, is common
/// to all samples: it is swept once.
fn sweep_apple_chain(stride: usize) {
    let mut swept: Vec<Vec<u8>> = Vec::new();
    for file in APPLE_FILES {
        let sample = apple_sample(file);
        let object = sample.object();
        let layout = apple_layout(&object);
        for (index, range) in layout.certs.iter().enumerate() {
            let cert = object[range.clone()].to_vec();
            let sweep = !swept.contains(&cert);
            swept.push(cert);
            for at in range.clone().step_by(stride).filter(|_| sweep) {
                assert!(
                    apple_verdict(&sample, &flipped(&object, at)).is_err(),
                    "{file} certificate {index} byte {at}"
                );
            }
            assert_eq!(
                apple_verdict(&sample, &flipped(&object, range.end - 1)),
                Err(AttestError::ChainSignature { index }),
                "{file} certificate {index}"
            );
        }
    }
}

#[test]
fn flipped_bytes_across_the_apple_chains_are_refused() {
    sweep_apple_chain(7);
}

/// Every byte: `cargo test -p crosslock-attest --release --test tampered -- --ignored`.
#[test]
#[ignore = "exhaustive; run with --release -- --ignored"]
fn every_flipped_byte_of_the_apple_chains_is_refused() {
    sweep_apple_chain(1);
}

#[test]
fn flipped_nonce_extension_is_refused() {
    for file in APPLE_FILES {
        let sample = apple_sample(file);
        let object = sample.object();
        let leaf = apple_layout(&object).certs[0].clone();
        // extension 1.2.840.113635.100.8.2: OID bytes, then the OCTET STRING.
        let oid = [
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x63, 0x64, 0x08, 0x02,
        ];
        let ext = find(&object[leaf.clone()], &oid);
        let value_start = leaf.start + ext.end;
        for at in value_start..value_start + 40 {
            match apple_verdict(&sample, &flipped(&object, at)) {
                Err(AttestError::ChainSignature { index: 0 } | AttestError::Malformed(_)) => {}
                other => panic!("{file} nonce extension byte {at}: {other:?}"),
            }
        }
    }
}

#[test]
fn every_flipped_byte_of_the_cbor_structure_is_refused() {
    for file in APPLE_FILES {
        let sample = apple_sample(file);
        let object = sample.object();
        let layout = apple_layout(&object);
        let inside = |at: usize| {
            layout.auth_data.contains(&at)
                || layout.receipt.contains(&at)
                || layout.certs.iter().any(|r| r.contains(&at))
        };
        let mut checked = 0;
        for at in (0..object.len()).filter(|at| !inside(*at)) {
            checked += 1;
            assert!(
                apple_verdict(&sample, &flipped(&object, at)).is_err(),
                "{file} CBOR byte {at}"
            );
        }
        assert!(checked > 40, "{file}: {checked} structural bytes");
        // Appended bytes, a truncated object and another format are refused too.
        let mut appended = object.clone();
        appended.push(0);
        assert!(matches!(
            apple_verdict(&sample, &appended),
            Err(AttestError::Cbor(_))
        ));
        assert!(apple_verdict(&sample, &object[..object.len() - 1]).is_err());
        let fmt = find(&object, b"apple-appattest");
        let mut other_format = object.clone();
        other_format[fmt.start..fmt.end].copy_from_slice(b"apple-appattesx");
        assert_eq!(
            apple_verdict(&sample, &other_format),
            Err(AttestError::UnsupportedFormat("apple-appattesx".into()))
        );
    }
}

#[test]
fn the_receipt_is_carried_not_verified() {
    // The receipt is Apple's separately signed PKCS#7 blob for its
    // fraud-metric service; the attestation does not cover it, so changing
    // it does not change the verdict. Whoever uses it must verify it.
    let sample = apple_sample(APPLE_FILES[0]);
    let object = sample.object();
    let layout = apple_layout(&object);
    let tampered = flipped(&object, layout.receipt.start + 100);
    apple_verdict(&sample, &tampered).unwrap();
}
