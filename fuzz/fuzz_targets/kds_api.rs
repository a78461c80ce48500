//! KDS JSON bodies (`crosslock_wire::api::kds`, `api::kt`), parsed as the
//! KDS routes parse them (`serde_json::from_slice`, crates/kds/src/routes.rs),
//! then the public checks the KDS applies next: E.164 numbers, CSRs
//! (CSR-1), the carrier proof (CARRIER-*), the attestation decoders. The
//! answers a device parses are fuzzed too. A parsed body re-serialises to
//! an equal value.
#![no_main]

use crosslock_attest::{UnverifiedAndroidAttestation, UnverifiedAppAttest};
use crosslock_credential::{PhoneNumber, RustCryptoVerifier, verify_csr};
use crosslock_fuzz::{CredentialFixture, NOW, parse_json};
use crosslock_wire::api::kds::*;
use crosslock_wire::api::kt::{HistoryAnswer, LookupAnswer, NumberRequest};
use libfuzzer_sys::fuzz_target;

fn number(text: &str) {
    if let Ok(n) = PhoneNumber::parse(text) {
        assert_eq!(PhoneNumber::parse(n.as_str()).as_ref(), Ok(&n));
    }
}

fuzz_target!(|data: &[u8]| {
    let (mode, body) = data.split_first().unwrap_or((&0, &[]));
    match mode % 12 {
        0 => {
            if let Some(request) = parse_json::<EnrollRequest>(body) {
                let _ = uuid_like(&request.device_id);
                for csr in &request.csrs {
                    let _ = verify_csr(&csr.0, &RustCryptoVerifier);
                }
                let fixture = CredentialFixture::get();
                let _ = fixture
                    .carriers
                    .verify(&request.carrier_proof.0, NOW, &RustCryptoVerifier);
                match &request.attestation {
                    Some(AttestationBody::Android { chain }) => {
                        let _ = UnverifiedAndroidAttestation::from_der_chain(
                            chain.iter().map(|c| c.0.as_slice()),
                        );
                    }
                    Some(AttestationBody::Apple { object }) => {
                        let _ = UnverifiedAppAttest::from_cbor(&object.0);
                    }
                    None => {}
                }
            }
        }
        1 => {
            let _ = parse_json::<UploadKeyPackages>(body);
        }
        2 => {
            if let Some(r) = parse_json::<ClaimRequest>(body) {
                number(&r.number);
            }
        }
        3 => {
            if let Some(r) = parse_json::<NumberRequest>(body) {
                number(&r.number);
            }
        }
        4 => {
            if let Some(r) = parse_json::<RevokeRequest>(body)
                && let Some(n) = &r.number
            {
                number(n);
            }
        }
        5 => {
            if let Some(r) = parse_json::<ClaimResponse>(body) {
                number(&r.number);
            }
        }
        6 => {
            let _ = parse_json::<EnrollResponse>(body);
        }
        7 => {
            let _ = parse_json::<NonceResponse>(body);
        }
        8 => {
            let _ = parse_json::<KdsInfo>(body);
        }
        9 => {
            let _ = parse_json::<Stock>(body);
        }
        10 => {
            let _ = parse_json::<RevokedList>(body);
        }
        _ => {
            let _ = parse_json::<LookupAnswer>(body);
            let _ = parse_json::<HistoryAnswer>(body);
        }
    }
});

/// KDS-ENR-2 is `uuid::Uuid::parse_str` inside the KDS; the fuzz crate does
/// not depend on uuid, so only the shape is looked at here.
fn uuid_like(text: &str) -> bool {
    text.len() == 36 && text.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}
