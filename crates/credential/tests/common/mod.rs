//! Signers and clock shared by the credential test suites.
#![allow(dead_code)]

use crosslock_credential::*;

pub(crate) const DAY: u64 = 86_400;
pub(crate) const NOW: u64 = 1_790_000_000;

pub(crate) struct P256Signer(p256::ecdsa::SigningKey, PublicKey);
impl P256Signer {
    pub(crate) fn new() -> Self {
        let sk = p256::ecdsa::SigningKey::from_slice(&rand_bytes::<32>()).unwrap();
        let pk = sk.verifying_key().to_sec1_point(false).as_bytes().to_vec();
        P256Signer(sk, PublicKey::new(KeyAlgorithm::EcdsaP256, pk).unwrap())
    }
}
impl CertSigner for P256Signer {
    fn public_key(&self) -> &PublicKey {
        &self.1
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        use p256::ecdsa::signature::Signer;
        let sig: p256::ecdsa::Signature = self.0.sign(message);
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

// Test keys and serials from the OS (this crate sits below the environment).
#[allow(clippy::disallowed_methods)]
pub(crate) fn rand_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).unwrap();
    out
}
