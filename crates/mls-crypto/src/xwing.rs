//! X-Wing (ML-KEM-768 + X25519) as an HPKE KEM, the KEM of suite 0x004F.
//!
//! The KEM is draft-connolly-cfrg-xwing-kem-06 (the final X-Wing, HPKE
//! KEM id 0x647A), computed by RustCrypto's `x-wing` crate over `ml-kem`
//! (FIPS 203). Key formats are X-Wing's:
//! - private key: the 32-byte seed (`Nsk` = 32), expanded on use;
//! - public key: `pk_M (1184) || pk_X (32)` = 1216 bytes;
//! - encapsulation: `ct_M (1088) || ct_X (32)` = 1120 bytes;
//! - shared secret: 32 bytes.
//!
//! `DeriveKeyPair(ikm)` is the X-Wing draft's HPKE mapping
//! (draft-connolly-cfrg-xwing-kem-06 §5.4, "Use in HPKE"), which
//! draft-ietf-mls-pq-ciphersuites uses unchanged for MLS's
//! `DeriveKeyPair(node_secret)`: the seed is `SHAKE256(ikm, 32)`. OpenMLS
//! (hpke-rs) derives the same way; `tests/pq_interop.rs` proves it, since
//! either side derives the other's path keys from decrypted path secrets.

use mls_rs_core::crypto::{HpkePublicKey, HpkeSecretKey};
use mls_rs_crypto_traits::{KemResult, KemType};
use shake::{ExtendableOutput, Shake256, Update};
use x_wing::{
    CIPHERTEXT_SIZE, Ciphertext, DECAPSULATION_KEY_SIZE, Decapsulate, DecapsulationKey,
    Decapsulator, ENCAPSULATION_KEY_SIZE, ENCAPSULATION_RANDOMNESS_SIZE, EncapsulationKey,
    KeyExport,
};
use zeroize::Zeroizing;

use crate::error::PqCryptoError;

/// HPKE KEM identifier of X-Wing (draft-connolly-cfrg-xwing-kem-06 §5.4).
pub const XWING_KEM_ID: u16 = 0x647A;
/// Length of an X-Wing public (encapsulation) key.
pub const XWING_PUBLIC_KEY_LEN: usize = ENCAPSULATION_KEY_SIZE;
/// Length of an X-Wing private key (the seed).
pub const XWING_PRIVATE_KEY_LEN: usize = DECAPSULATION_KEY_SIZE;
/// Length of an X-Wing encapsulation (HPKE `enc`).
pub const XWING_ENC_LEN: usize = CIPHERTEXT_SIZE;

/// X-Wing behind mls-rs's KEM trait, so `mls-rs-crypto-hpke` runs RFC 9180
/// HPKE (base and PSK modes, suite id `HPKE || 0x647A || kdf || aead`) over it.
#[derive(Debug, Clone, Copy, Default)]
pub struct XWingKem;

/// The key pair for a 32-byte seed.
pub fn key_pair_from_seed(seed: [u8; DECAPSULATION_KEY_SIZE]) -> (HpkeSecretKey, HpkePublicKey) {
    let seed = Zeroizing::new(seed);
    let dk = DecapsulationKey::from(*seed);
    let public = dk.encapsulation_key().to_bytes();
    (
        HpkeSecretKey::from(seed.to_vec()),
        HpkePublicKey::from(public.to_vec()),
    )
}

/// `DeriveKeyPair(ikm)` of X-Wing in HPKE: seed = SHAKE256(ikm, 32).
pub fn derive_key_pair(ikm: &[u8]) -> (HpkeSecretKey, HpkePublicKey) {
    let mut seed = Zeroizing::new([0u8; DECAPSULATION_KEY_SIZE]);
    let mut xof = Shake256::default();
    xof.update(ikm);
    xof.finalize_xof_into(seed.as_mut_slice());
    key_pair_from_seed(*seed)
}

// SUITE-PQ-2: a private key is exactly the 32-byte seed.
fn seed_of(secret: &[u8]) -> Result<Zeroizing<[u8; DECAPSULATION_KEY_SIZE]>, PqCryptoError> {
    let seed: [u8; DECAPSULATION_KEY_SIZE] = secret
        .try_into()
        .map_err(|_| PqCryptoError::InvalidPrivateKey)?;
    Ok(Zeroizing::new(seed))
}

fn encapsulation_key(public: &[u8]) -> Result<EncapsulationKey, PqCryptoError> {
    // SUITE-PQ-2: a public key is exactly 1216 bytes and passes the modulus check.
    if public.len() != XWING_PUBLIC_KEY_LEN {
        return Err(PqCryptoError::InvalidPublicKey);
    }
    // FIPS 203 §7.2 modulus check on pk_M happens in `try_from`.
    EncapsulationKey::try_from(public).map_err(|_| PqCryptoError::InvalidPublicKey)
}

/// Encapsulates to `public` with explicit 64-byte randomness (`eseed` of
/// the X-Wing draft: 32 bytes for ML-KEM's `m`, 32 for the X25519
/// ephemeral key). Known-answer tests call this; [`KemType::encap`] passes
/// fresh randomness.
pub fn encapsulate_with(
    public: &[u8],
    eseed: &[u8; ENCAPSULATION_RANDOMNESS_SIZE],
) -> Result<KemResult, PqCryptoError> {
    let ek = encapsulation_key(public)?;
    let (ct, ss) = ek.encapsulate_deterministic(&(*eseed).into());
    Ok(KemResult::new(ss.to_vec(), ct.to_vec()))
}

/// Decapsulates `enc` with the private key (seed) `secret`.
pub fn decapsulate(enc: &[u8], secret: &[u8]) -> Result<Vec<u8>, PqCryptoError> {
    let seed = seed_of(secret)?;
    // SUITE-PQ-2: an encapsulation is exactly 1120 bytes.
    let ct = Ciphertext::try_from(enc).map_err(|_| PqCryptoError::InvalidCiphertext)?;
    let dk = DecapsulationKey::from(*seed);
    Ok(dk.decapsulate(&ct).to_vec())
}

impl KemType for XWingKem {
    type Error = PqCryptoError;

    fn kem_id(&self) -> u16 {
        XWING_KEM_ID
    }

    /// X-Wing's private key *is* the seed; `mls-rs-crypto-hpke`'s DHKEM
    /// style `derive` (a labeled extract first) is never used for X-Wing:
    /// the provider calls [`derive_key_pair`] instead.
    fn generate_deterministic(
        &self,
        seed: &[u8],
    ) -> Result<(HpkeSecretKey, HpkePublicKey), PqCryptoError> {
        let seed = seed_of(seed)?;
        Ok(key_pair_from_seed(*seed))
    }

    fn generate(&self) -> Result<(HpkeSecretKey, HpkePublicKey), PqCryptoError> {
        let mut seed = Zeroizing::new([0u8; DECAPSULATION_KEY_SIZE]);
        aws_lc_rs::rand::fill(seed.as_mut_slice()).map_err(|_| PqCryptoError::Randomness)?;
        Ok(key_pair_from_seed(*seed))
    }

    fn public_key_validate(&self, key: &HpkePublicKey) -> Result<(), PqCryptoError> {
        encapsulation_key(key).map(|_| ())
    }

    fn encap(&self, remote_key: &HpkePublicKey) -> Result<KemResult, PqCryptoError> {
        let mut eseed = Zeroizing::new([0u8; ENCAPSULATION_RANDOMNESS_SIZE]);
        aws_lc_rs::rand::fill(eseed.as_mut_slice()).map_err(|_| PqCryptoError::Randomness)?;
        encapsulate_with(remote_key, &eseed)
    }

    fn decap(
        &self,
        enc: &[u8],
        secret_key: &HpkeSecretKey,
        _local_public: &HpkePublicKey,
    ) -> Result<Vec<u8>, PqCryptoError> {
        decapsulate(enc, secret_key)
    }

    fn seed_length_for_derive(&self) -> usize {
        DECAPSULATION_KEY_SIZE
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn bad_lengths_are_typed_errors() {
        let kem = XWingKem;
        let (sk, pk) = derive_key_pair(b"ikm");
        assert_eq!(sk.len(), XWING_PRIVATE_KEY_LEN);
        assert_eq!(pk.len(), XWING_PUBLIC_KEY_LEN);
        let short_pk = HpkePublicKey::from(pk[..XWING_PUBLIC_KEY_LEN - 1].to_vec());
        assert!(matches!(
            kem.public_key_validate(&short_pk),
            Err(PqCryptoError::InvalidPublicKey)
        ));
        assert!(matches!(
            kem.encap(&short_pk),
            Err(PqCryptoError::InvalidPublicKey)
        ));
        let res = kem.encap(&pk).expect("encap");
        assert_eq!(res.enc().len(), XWING_ENC_LEN);
        assert!(matches!(
            kem.decap(&res.enc()[1..], &sk, &pk),
            Err(PqCryptoError::InvalidCiphertext)
        ));
        let short_sk = HpkeSecretKey::from(sk[..31].to_vec());
        assert!(matches!(
            kem.decap(res.enc(), &short_sk, &pk),
            Err(PqCryptoError::InvalidPrivateKey)
        ));
        assert_eq!(
            kem.decap(res.enc(), &sk, &pk).expect("decap"),
            res.shared_secret()
        );
    }

    /// An ML-KEM public key whose coefficients are not reduced mod q
    /// (FIPS 203 §7.2 input check) is refused.
    #[test]
    fn unreduced_ml_kem_key_is_refused() {
        let (_, pk) = derive_key_pair(b"ikm");
        let mut bad = pk.to_vec();
        // First 12-bit coefficient := 0xFFF >= q = 3329.
        bad[0] = 0xFF;
        bad[1] |= 0x0F;
        assert!(matches!(
            XWingKem.public_key_validate(&HpkePublicKey::from(bad)),
            Err(PqCryptoError::InvalidPublicKey)
        ));
    }
}
