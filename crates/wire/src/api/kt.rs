//! The key-transparency API: signed epoch roots, lookup / history / audit
//! proofs (`/v1/kt/...` on the KDS) and witness co-signing
//! (`/witness/v1/...`).
//!
//! Proofs travel as akd's protobuf encodings (`akd_core::proto`); the
//! statements a log and its witnesses sign are defined by `crosslock-kt`.

use serde::{Deserialize, Serialize};

use super::B64;

/// What a log key signs for one epoch (and what witnesses co-sign).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RootStatement {
    /// The directory (the provider's KDS id).
    pub directory: String,
    /// The epoch, from 1.
    pub epoch: u64,
    /// akd's root hash of the directory at that epoch (32 bytes).
    pub root_hash: B64,
    /// When the log signed this statement (Unix seconds). While no update
    /// comes, the log re-signs its latest root periodically, so clients can
    /// tell a fresh view from a stale one.
    pub signed_at: u64,
}

/// A witness's co-signature on a [`RootStatement`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cosignature {
    /// The witness's Ed25519 public key (32 bytes).
    pub witness_key: B64,
    /// Ed25519 signature over the statement's witness encoding.
    pub signature: B64,
}

/// An epoch root, signed by the log and co-signed by witnesses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRoot {
    /// The statement.
    pub statement: RootStatement,
    /// Ed25519 signature by the log key over the statement's log encoding.
    pub log_signature: B64,
    /// Witness co-signatures gathered so far.
    #[serde(default)]
    pub cosignatures: Vec<Cosignature>,
}

/// A number's current binding, proven at a signed epoch (`POST /v1/kt/lookup`,
/// and inside every claim answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupAnswer {
    /// The epoch the proof is against.
    pub root: SignedRoot,
    /// akd `LookupProof`, protobuf.
    pub proof: B64,
}

/// `POST /v1/kt/lookup` and `POST /v1/kt/history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberRequest {
    /// The number (E.164).
    pub number: String,
}

/// Every binding a number ever had, proven at a signed epoch
/// (`POST /v1/kt/history`; a device asks only for its own number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryAnswer {
    /// The epoch the proof is against.
    pub root: SignedRoot,
    /// akd `HistoryProof` (complete history), protobuf.
    pub proof: B64,
}

/// `GET /v1/kt/audit?from=A&to=B`: the signed roots of epochs A..=B and the
/// append-only proof between each consecutive pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditAnswer {
    /// Roots of epochs `from..=to`, in order.
    pub roots: Vec<SignedRoot>,
    /// akd `SingleAppendOnlyProof` (protobuf) from `roots[i]` to `roots[i + 1]`.
    pub proofs: Vec<B64>,
}

/// `GET /v1/kt/info`: how to recognise this log. Clients and witnesses must
/// get these keys out of band; this is for operators and demos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogInfo {
    /// The directory (the KDS id).
    pub directory: String,
    /// The log's Ed25519 public key (32 bytes).
    pub log_key: B64,
    /// The directory's VRF public key (32 bytes).
    pub vrf_key: B64,
    /// The latest epoch, 0 before the first publication.
    pub latest_epoch: u64,
}

/// `POST /witness/v1/cosign`: the log asks a witness to co-sign its newest
/// root. `audit` runs from the last epoch the witness co-signed (or, for a
/// witness that has signed nothing yet, from epoch 1) to the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CosignRequest {
    /// The roots and proofs, ending with the root to co-sign.
    pub audit: AuditAnswer,
}

/// A witness's refusal because it needs the audit to start elsewhere
/// (HTTP 409, reason `audit-start-mismatch`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessPosition {
    /// The directory.
    pub directory: String,
    /// The last epoch this witness co-signed for it (0: none yet).
    pub last_epoch: u64,
}

/// `GET /witness/v1/info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessInfo {
    /// The witness's Ed25519 public key (32 bytes).
    pub witness_key: B64,
    /// Directories it follows, with the last epoch co-signed.
    pub directories: Vec<WitnessPosition>,
}
