//! Epoch roots: what the log signs, what witnesses co-sign, and how both
//! are checked.
//!
//! The signed bytes are
//!
//! ```text
//! "crosslock-kt-root-v1" 0x00 role u8 (1 = log, 2 = witness)
//! directory u16 length + UTF-8, epoch u64, root_hash [32], signed_at u64
//! ```
//!
//! so a log signature can never pass as a co-signature or be moved to
//! another directory or epoch.

use crosslock_wire::api::B64;
use crosslock_wire::api::kt::{Cosignature, RootStatement, SignedRoot};

use crate::error::KtError;
use crate::keys::{PublicKey, SigningKey};

const CONTEXT: &[u8] = b"crosslock-kt-root-v1\0";

/// Who signs a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Log = 1,
    Witness = 2,
}

/// A checked statement: directory, epoch, root hash and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Root {
    /// The epoch.
    pub epoch: u64,
    /// akd's root hash.
    pub hash: [u8; 32],
    /// When the log signed it (Unix seconds).
    pub signed_at: u64,
}

/// The root hash of a statement, checked to be 32 bytes.
pub fn root_hash(statement: &RootStatement) -> Result<[u8; 32], KtError> {
    statement
        .root_hash
        .0
        .as_slice()
        .try_into()
        .map_err(|_| KtError::malformed("root", "root hash must be 32 bytes"))
}

/// The bytes `role` signs for `statement`.
pub(crate) fn to_be_signed(statement: &RootStatement, role: Role) -> Result<Vec<u8>, KtError> {
    let hash = root_hash(statement)?;
    let dir = statement.directory.as_bytes();
    let dir_len = u16::try_from(dir.len())
        .map_err(|_| KtError::malformed("root", "directory name too long"))?;
    let mut out = Vec::with_capacity(CONTEXT.len() + 1 + 2 + dir.len() + 8 + 32 + 8);
    out.extend_from_slice(CONTEXT);
    out.push(role as u8);
    out.extend_from_slice(&dir_len.to_be_bytes());
    out.extend_from_slice(dir);
    out.extend_from_slice(&statement.epoch.to_be_bytes());
    out.extend_from_slice(&hash);
    out.extend_from_slice(&statement.signed_at.to_be_bytes());
    Ok(out)
}

/// The log signs a new epoch's root (no co-signatures yet).
pub fn sign_root(log_key: &SigningKey, statement: RootStatement) -> Result<SignedRoot, KtError> {
    let tbs = to_be_signed(&statement, Role::Log)?;
    Ok(SignedRoot {
        statement,
        log_signature: B64(log_key.sign(&tbs)),
        cosignatures: Vec::new(),
    })
}

/// A witness co-signs a root (after checking it: see `server::witness`).
pub fn cosign(witness_key: &SigningKey, statement: &RootStatement) -> Result<Cosignature, KtError> {
    let tbs = to_be_signed(statement, Role::Witness)?;
    Ok(Cosignature {
        witness_key: B64(witness_key.public_key().0.to_vec()),
        signature: B64(witness_key.sign(&tbs)),
    })
}

/// Checks the log's signature on `root`.
pub fn check_log_signature(log_key: &PublicKey, root: &SignedRoot) -> Result<Root, KtError> {
    let tbs = to_be_signed(&root.statement, Role::Log)?;
    // KT-SIG-1: the log key signed the root statement.
    if !log_key.verifies(&tbs, &root.log_signature.0) {
        return Err(KtError::BadLogSignature {
            epoch: root.statement.epoch,
        });
    }
    Ok(Root {
        epoch: root.statement.epoch,
        hash: root_hash(&root.statement)?,
        signed_at: root.statement.signed_at,
    })
}

/// Whether `cosignature` is a valid co-signature of `statement` by its key.
pub fn cosignature_valid(statement: &RootStatement, cosignature: &Cosignature) -> bool {
    let Ok(key) = PublicKey::from_slice(&cosignature.witness_key.0) else {
        return false;
    };
    to_be_signed(statement, Role::Witness)
        .is_ok_and(|tbs| key.verifies(&tbs, &cosignature.signature.0))
}

/// How many distinct keys of `witnesses` validly co-signed `root`.
pub fn valid_cosignatures(root: &SignedRoot, witnesses: &[PublicKey]) -> usize {
    let mut counted: Vec<PublicKey> = Vec::new();
    for c in &root.cosignatures {
        let Ok(key) = PublicKey::from_slice(&c.witness_key.0) else {
            continue;
        };
        if witnesses.contains(&key)
            && !counted.contains(&key)
            && cosignature_valid(&root.statement, c)
        {
            counted.push(key);
        }
    }
    counted.len()
}
