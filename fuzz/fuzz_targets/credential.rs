//! X.509 participant credentials (`crosslock_credential`): a leaf or a
//! chain validated under a production policy (a fixed provider root and
//! carrier, built once) and a development policy, plus the other DER inputs
//! the crate decodes: carrier proofs, CSRs, a CA certificate being loaded.
//!
//! Input: one mode byte, then the DER (mode 0, 2, 3, 4) or a chain of
//! u16-length-prefixed certificates (mode 1, see `crosslock_fuzz::split`).
#![no_main]

use crosslock_credential::{
    AwsLcVerifier, CertificateAuthority, RustCryptoVerifier, TrustPolicy, UnverifiedCredential,
    ValidatedCredential, verify_csr,
};
use crosslock_fuzz::{CredentialFixture, NOW, split};
use libfuzzer_sys::fuzz_target;

fn validate(policy: &TrustPolicy, chain: &[&[u8]]) -> Option<ValidatedCredential> {
    let rust = policy.validate(chain, NOW);
    let aws = policy.validate_with(chain, NOW, &AwsLcVerifier);
    // The two signature implementations must agree.
    assert_eq!(rust.is_ok(), aws.is_ok(), "{rust:?} vs {aws:?}");
    let valid = rust.ok()?;
    // Whatever validates also parses as an unverified credential, and says
    // the same thing.
    let parsed = UnverifiedCredential::parse(chain[0]).expect("a valid leaf parses");
    assert_eq!(parsed.number(), valid.number());
    assert_eq!(parsed.key(), valid.key());
    assert_eq!(parsed.device(), valid.device());
    assert_eq!(parsed.is_development(), valid.is_development());
    assert!(valid.not_before() <= NOW && NOW <= valid.not_after());
    Some(valid)
}

fuzz_target!(|data: &[u8]| {
    let fixture = CredentialFixture::get();
    let (mode, body) = data.split_first().unwrap_or((&0, &[]));
    match mode % 5 {
        0 => {
            let production = validate(&fixture.production, &[body]);
            let development = validate(&fixture.development, &[body]);
            // Development accepts everything production accepts.
            if production.is_some() {
                assert!(development.is_some());
            }
            if let Ok(c) = UnverifiedCredential::parse(body) {
                let _ = (c.serial(), c.not_after());
            }
        }
        1 => {
            let chain = split(body, 5);
            if !chain.is_empty() {
                let _ = validate(&fixture.production, &chain);
                let _ = validate(&fixture.development, &chain);
            }
        }
        2 => {
            let rust = fixture.carriers.verify(body, NOW, &RustCryptoVerifier);
            let aws = fixture.carriers.verify(body, NOW, &AwsLcVerifier);
            assert_eq!(rust.is_ok(), aws.is_ok());
            if let Ok(claims) = rust {
                assert!(claims.participant_keys.len() <= crosslock_credential::MAX_PROOF_KEYS);
                for key in &claims.participant_keys {
                    assert!(claims.covers(key));
                }
            }
        }
        3 => {
            let rust = verify_csr(body, &RustCryptoVerifier);
            let aws = verify_csr(body, &AwsLcVerifier);
            assert_eq!(rust.ok(), aws.ok());
        }
        _ => {
            if let Ok(ca) = CertificateAuthority::load("fuzz", body.to_vec()) {
                let _ = ca.public_key();
            }
        }
    }
});
