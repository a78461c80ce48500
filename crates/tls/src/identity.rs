//! A certificate chain with its private key: what a TLS server presents, or
//! what a provider presents as a federation client.

use std::path::Path;

use crate::cert;
use crate::error::TlsError;
use crate::key::KeyPair;
use crate::pem;

/// A certificate chain (leaf first, DER) with its private key.
pub struct Identity {
    /// Leaf first; the trust root itself need not be included.
    pub chain: Vec<Vec<u8>>,
    /// The leaf certificate's private key.
    pub key: KeyPair,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("chain_len", &self.chain.len())
            .field("leaf_sha256", &hex(&self.leaf_sha256()))
            .field("key", &self.key)
            .finish()
    }
}

impl Identity {
    /// Writes the chain as PEM to `cert_path` and the key as PKCS#8 PEM to
    /// `key_path` (mode 0600). Each file is replaced atomically.
    pub fn save(&self, cert_path: &Path, key_path: &Path) -> Result<(), TlsError> {
        pem::write(key_path, self.key.to_pem_zeroizing().as_bytes(), true)?;
        pem::write(cert_path, pem::encode_chain(&self.chain).as_bytes(), false)
    }

    /// Reads what [`Identity::save`] wrote, and checks that the leaf
    /// certificate carries the key's public half.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Identity, TlsError> {
        let cert_origin = cert_path.display().to_string();
        let chain = pem::decode_certificates(&pem::read(cert_path)?, &cert_origin)?;
        let key = KeyPair::from_pem_file(key_path)?;
        let identity = Identity { chain, key };
        identity.check_key(&cert_origin, &key_path.display().to_string())?;
        Ok(identity)
    }

    /// SHA-256 of the leaf certificate DER (how peers are pinned in
    /// configuration). An empty chain hashes as an empty leaf.
    pub fn leaf_sha256(&self) -> [u8; 32] {
        sha256(self.chain.first().map(Vec::as_slice).unwrap_or_default())
    }

    fn check_key(&self, cert_origin: &str, key_origin: &str) -> Result<(), TlsError> {
        let leaf = self
            .chain
            .first()
            .ok_or_else(|| TlsError::certificate(cert_origin, "empty chain"))?;
        let facts = cert::inspect(leaf, cert_origin)?;
        if facts.public_key != self.key.public_key_sec1() {
            return Err(TlsError::certificate(
                cert_origin,
                format!("leaf does not match the private key in {key_origin}"),
            ));
        }
        Ok(())
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
