//! The mls-rs crypto provider: AWS-LC for everything but the KEM of the
//! post-quantum suite, X-Wing HPKE for suite 0x004F.

use mls_rs_core::crypto::{
    CipherSuite, CipherSuiteProvider, CryptoProvider, HpkeCiphertext, HpkePsk, HpkePublicKey,
    HpkeSecretKey, SignaturePublicKey, SignatureSecretKey,
};
use mls_rs_crypto_awslc::{AwsLcAead, AwsLcCipherSuite, AwsLcCryptoProvider, AwsLcHkdf};
use mls_rs_crypto_hpke::context::{ContextR, ContextS};
use mls_rs_crypto_hpke::hpke::Hpke;
use zeroize::Zeroizing;

use crate::error::PqCryptoError;
use crate::xwing::{XWingKem, derive_key_pair};

/// 0x004F `MLS_128_MLKEM768X25519_AES128GCM_SHA256_Ed25519`
/// (draft-ietf-mls-pq-ciphersuites): KEM MLKEM768-X25519 = X-Wing (HPKE
/// KEM 0x647A), HKDF-SHA256, AES-128-GCM, SHA-256, Ed25519.
pub const MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519: CipherSuite = CipherSuite::new(0x004F);

/// 0xFE4C: the private code point of an early X-Wing draft that Crosslock
/// used before 0x004F (mls-rs-crypto-awslc's `ML_KEM_768_X25519`). Retired:
/// never offered nor accepted; recognised only to tell the user to update.
pub const RETIRED_XWING_PRIVATE_SUITE: u16 = 0xFE4C;

/// The classical suite whose AEAD, KDF, hash and signature 0x004F shares.
const PQ_CLASSICAL_PART: CipherSuite = CipherSuite::CURVE25519_AES128;

type XWingHpke = Hpke<XWingKem, AwsLcHkdf, AwsLcAead>;

/// Crosslock's MLS crypto: the classical suites through AWS-LC, 0x004F
/// through X-Wing HPKE (AWS-LC's HKDF and AES-GCM underneath).
#[derive(Debug, Clone)]
pub struct CrosslockCrypto {
    enabled: Vec<CipherSuite>,
    awslc: AwsLcCryptoProvider,
}

impl CrosslockCrypto {
    /// A provider limited to `enabled` (suites it cannot run are dropped).
    pub fn with_enabled_cipher_suites(enabled: Vec<CipherSuite>) -> Self {
        let enabled = enabled
            .into_iter()
            .filter(|cs| {
                *cs == MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519
                    || AwsLcCryptoProvider::supported_classical_cipher_suites().contains(cs)
            })
            .collect();
        CrosslockCrypto {
            enabled,
            awslc: AwsLcCryptoProvider::new(),
        }
    }

    /// Typed access to one suite (the trait method, without the trait).
    pub fn suite(&self, cipher_suite: CipherSuite) -> Option<CrosslockSuite> {
        if !self.enabled.contains(&cipher_suite) {
            return None;
        }
        if cipher_suite == MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519 {
            let classical = self.awslc.cipher_suite_provider(PQ_CLASSICAL_PART)?;
            let hpke = Hpke::new(
                XWingKem,
                AwsLcHkdf::new(PQ_CLASSICAL_PART)?,
                Some(AwsLcAead::new(PQ_CLASSICAL_PART)?),
            );
            return Some(CrosslockSuite {
                cipher_suite,
                classical,
                xwing: Some(hpke),
            });
        }
        Some(CrosslockSuite {
            cipher_suite,
            classical: self.awslc.cipher_suite_provider(cipher_suite)?,
            xwing: None,
        })
    }
}

impl CryptoProvider for CrosslockCrypto {
    type CipherSuiteProvider = CrosslockSuite;

    fn supported_cipher_suites(&self) -> Vec<CipherSuite> {
        self.enabled.clone()
    }

    fn cipher_suite_provider(&self, cipher_suite: CipherSuite) -> Option<CrosslockSuite> {
        self.suite(cipher_suite)
    }
}

/// One suite's operations.
#[derive(Clone)]
pub struct CrosslockSuite {
    cipher_suite: CipherSuite,
    classical: AwsLcCipherSuite,
    /// X-Wing HPKE for 0x004F; `None`: the classical suite's own HPKE.
    xwing: Option<XWingHpke>,
}

impl std::fmt::Debug for CrosslockSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrosslockSuite")
            .field("cipher_suite", &self.cipher_suite)
            .field("post_quantum", &self.xwing.is_some())
            .finish()
    }
}

impl CipherSuiteProvider for CrosslockSuite {
    type Error = PqCryptoError;
    type HpkeContextS = ContextS<AwsLcHkdf, AwsLcAead>;
    type HpkeContextR = ContextR<AwsLcHkdf, AwsLcAead>;

    fn cipher_suite(&self) -> CipherSuite {
        self.cipher_suite
    }

    fn hash(&self, data: &[u8]) -> Result<Vec<u8>, PqCryptoError> {
        Ok(self.classical.hash(data)?)
    }

    fn mac(&self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, PqCryptoError> {
        Ok(self.classical.mac(key, data)?)
    }

    fn aead_seal(
        &self,
        key: &[u8],
        data: &[u8],
        aad: Option<&[u8]>,
        nonce: &[u8],
    ) -> Result<Vec<u8>, PqCryptoError> {
        Ok(self.classical.aead_seal(key, data, aad, nonce)?)
    }

    fn aead_open(
        &self,
        key: &[u8],
        ciphertext: &[u8],
        aad: Option<&[u8]>,
        nonce: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, PqCryptoError> {
        Ok(self.classical.aead_open(key, ciphertext, aad, nonce)?)
    }

    fn aead_key_size(&self) -> usize {
        self.classical.aead_key_size()
    }

    fn aead_nonce_size(&self) -> usize {
        self.classical.aead_nonce_size()
    }

    fn kdf_extract(&self, salt: &[u8], ikm: &[u8]) -> Result<Zeroizing<Vec<u8>>, PqCryptoError> {
        Ok(self.classical.kdf_extract(salt, ikm)?)
    }

    fn kdf_expand(
        &self,
        prk: &[u8],
        info: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, PqCryptoError> {
        Ok(self.classical.kdf_expand(prk, info, len)?)
    }

    fn kdf_extract_size(&self) -> usize {
        self.classical.kdf_extract_size()
    }

    fn hpke_seal(
        &self,
        remote_key: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        pt: &[u8],
    ) -> Result<HpkeCiphertext, PqCryptoError> {
        match &self.xwing {
            Some(hpke) => Ok(hpke.seal(remote_key, info, None, aad, pt)?),
            None => Ok(self.classical.hpke_seal(remote_key, info, aad, pt)?),
        }
    }

    fn hpke_seal_psk(
        &self,
        remote_key: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        pt: &[u8],
        psk: HpkePsk<'_>,
    ) -> Result<HpkeCiphertext, PqCryptoError> {
        match &self.xwing {
            Some(hpke) => Ok(hpke.seal(remote_key, info, Some(psk), aad, pt)?),
            None => Ok(self
                .classical
                .hpke_seal_psk(remote_key, info, aad, pt, psk)?),
        }
    }

    fn hpke_open(
        &self,
        ciphertext: &HpkeCiphertext,
        local_secret: &HpkeSecretKey,
        local_public: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
    ) -> Result<Zeroizing<Vec<u8>>, PqCryptoError> {
        match &self.xwing {
            Some(hpke) => Ok(hpke.open(ciphertext, local_secret, local_public, info, None, aad)?),
            None => {
                Ok(self
                    .classical
                    .hpke_open(ciphertext, local_secret, local_public, info, aad)?)
            }
        }
    }

    fn hpke_open_psk(
        &self,
        ciphertext: &HpkeCiphertext,
        local_secret: &HpkeSecretKey,
        local_public: &HpkePublicKey,
        info: &[u8],
        aad: Option<&[u8]>,
        psk: HpkePsk<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, PqCryptoError> {
        match &self.xwing {
            Some(hpke) => {
                Ok(hpke.open(ciphertext, local_secret, local_public, info, Some(psk), aad)?)
            }
            None => Ok(self.classical.hpke_open_psk(
                ciphertext,
                local_secret,
                local_public,
                info,
                aad,
                psk,
            )?),
        }
    }

    fn hpke_setup_s(
        &self,
        remote_key: &HpkePublicKey,
        info: &[u8],
    ) -> Result<(Vec<u8>, Self::HpkeContextS), PqCryptoError> {
        match &self.xwing {
            Some(hpke) => Ok(hpke.setup_sender(remote_key, info, None)?),
            None => Ok(self.classical.hpke_setup_s(remote_key, info)?),
        }
    }

    fn hpke_setup_r(
        &self,
        kem_output: &[u8],
        local_secret: &HpkeSecretKey,
        local_public: &HpkePublicKey,
        info: &[u8],
    ) -> Result<Self::HpkeContextR, PqCryptoError> {
        match &self.xwing {
            Some(hpke) => {
                Ok(hpke.setup_receiver(kem_output, local_secret, local_public, info, None)?)
            }
            None => {
                Ok(self
                    .classical
                    .hpke_setup_r(kem_output, local_secret, local_public, info)?)
            }
        }
    }

    /// RFC 9420 `DeriveKeyPair`; for 0x004F X-Wing's SHAKE256(ikm, 32) seed.
    fn kem_derive(&self, ikm: &[u8]) -> Result<(HpkeSecretKey, HpkePublicKey), PqCryptoError> {
        match &self.xwing {
            Some(_) => Ok(derive_key_pair(ikm)),
            None => Ok(self.classical.kem_derive(ikm)?),
        }
    }

    fn kem_generate(&self) -> Result<(HpkeSecretKey, HpkePublicKey), PqCryptoError> {
        match &self.xwing {
            Some(hpke) => Ok(hpke.generate()?),
            None => Ok(self.classical.kem_generate()?),
        }
    }

    fn kem_public_key_validate(&self, key: &HpkePublicKey) -> Result<(), PqCryptoError> {
        match &self.xwing {
            Some(hpke) => Ok(hpke.public_key_validate(key)?),
            None => Ok(self.classical.kem_public_key_validate(key)?),
        }
    }

    fn random_bytes(&self, out: &mut [u8]) -> Result<(), PqCryptoError> {
        Ok(self.classical.random_bytes(out)?)
    }

    fn signature_key_generate(
        &self,
    ) -> Result<(SignatureSecretKey, SignaturePublicKey), PqCryptoError> {
        Ok(self.classical.signature_key_generate()?)
    }

    fn signature_key_derive_public(
        &self,
        secret_key: &SignatureSecretKey,
    ) -> Result<SignaturePublicKey, PqCryptoError> {
        Ok(self.classical.signature_key_derive_public(secret_key)?)
    }

    fn sign(&self, secret_key: &SignatureSecretKey, data: &[u8]) -> Result<Vec<u8>, PqCryptoError> {
        Ok(self.classical.sign(secret_key, data)?)
    }

    fn verify(
        &self,
        public_key: &SignaturePublicKey,
        signature: &[u8],
        data: &[u8],
    ) -> Result<(), PqCryptoError> {
        Ok(self.classical.verify(public_key, signature, data)?)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn all() -> CrosslockCrypto {
        CrosslockCrypto::with_enabled_cipher_suites(vec![
            CipherSuite::P256_AES128,
            CipherSuite::CURVE25519_AES128,
            MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519,
            CipherSuite::new(RETIRED_XWING_PRIVATE_SUITE),
        ])
    }

    #[test]
    fn retired_suite_is_never_provided() {
        let crypto = all();
        assert_eq!(crypto.supported_cipher_suites().len(), 3);
        assert!(
            crypto
                .cipher_suite_provider(CipherSuite::new(RETIRED_XWING_PRIVATE_SUITE))
                .is_none()
        );
    }

    #[test]
    fn pq_suite_round_trips_base_and_psk_mode() {
        let cs = all()
            .cipher_suite_provider(MLS_128_MLKEM768X25519_AES128GCM_SHA256_ED25519)
            .expect("0x004F");
        assert_eq!(cs.cipher_suite(), CipherSuite::new(0x004F));
        let (sk, pk) = cs.kem_derive(&[7u8; 32]).expect("derive");
        let ct = cs
            .hpke_seal(&pk, b"info", Some(b"aad"), b"secret")
            .expect("seal");
        assert_eq!(ct.kem_output.len(), crate::xwing::XWING_ENC_LEN);
        let pt = cs
            .hpke_open(&ct, &sk, &pk, b"info", Some(b"aad"))
            .expect("open");
        assert_eq!(pt.as_slice(), b"secret");
        assert!(cs.hpke_open(&ct, &sk, &pk, b"other", Some(b"aad")).is_err());
        let psk = || HpkePsk {
            id: b"psk id",
            value: &[9u8; 32],
        };
        let ct = cs
            .hpke_seal_psk(&pk, b"info", None, b"secret", psk())
            .expect("seal psk");
        let pt = cs
            .hpke_open_psk(&ct, &sk, &pk, b"info", None, psk())
            .expect("open psk");
        assert_eq!(pt.as_slice(), b"secret");
        assert!(cs.hpke_open(&ct, &sk, &pk, b"info", None).is_err());
    }
}
