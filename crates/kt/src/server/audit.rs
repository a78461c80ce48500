//! Audit verification: each epoch only extends the previous one.

use akd_core::proto::specs::types as proto;
use crosslock_wire::api::kt::AuditAnswer;
use protobuf::Message;

use crate::error::KtError;
use crate::keys::PublicKey;
use crate::label::KtConfig;
use crate::root::{Root, check_log_signature};

/// What an audit established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditedRange {
    /// The first root (trusted as the starting point).
    pub from: Root,
    /// The last root, proven to extend `from` append-only.
    pub to: Root,
}

/// Verifies an audit answer for `directory` under `log_key`: every root
/// signed by the log, epochs consecutive, and each append-only proof taking
/// one root's hash to the next.
pub async fn verify_audit(
    log_key: &PublicKey,
    directory: &str,
    answer: &AuditAnswer,
) -> Result<AuditedRange, KtError> {
    if answer.roots.is_empty() {
        return Err(KtError::malformed("audit", "no roots"));
    }
    if answer.proofs.len() + 1 != answer.roots.len() {
        return Err(KtError::malformed(
            "audit",
            format!(
                "{} roots need {} proofs, got {}",
                answer.roots.len(),
                answer.roots.len() - 1,
                answer.proofs.len()
            ),
        ));
    }
    let mut checked = Vec::with_capacity(answer.roots.len());
    for root in &answer.roots {
        if root.statement.directory != directory {
            return Err(KtError::WrongDirectory {
                expected: directory.to_owned(),
                got: root.statement.directory.clone(),
            });
        }
        let r = check_log_signature(log_key, root)?;
        if let Some(prev) = checked.last().map(|p: &Root| p.epoch)
            && r.epoch != prev + 1
        {
            return Err(KtError::malformed(
                "audit",
                format!("epoch {} follows {prev}", r.epoch),
            ));
        }
        checked.push(r);
    }
    for (i, bytes) in answer.proofs.iter().enumerate() {
        let (start, end) = (checked[i], checked[i + 1]);
        let fail = |why: String| KtError::AuditFailed {
            epoch: end.epoch,
            why,
        };
        let proof = proto::SingleAppendOnlyProof::parse_from_bytes(&bytes.0)
            .map_err(|e| fail(e.to_string()))?;
        let proof: akd::SingleAppendOnlyProof =
            (&proof).try_into().map_err(|e| fail(format!("{e:?}")))?;
        akd::auditor::verify_consecutive_append_only::<KtConfig>(
            &proof, start.hash, end.hash, end.epoch,
        )
        .await
        .map_err(|e| fail(e.to_string()))?;
    }
    let (Some(from), Some(to)) = (checked.first().copied(), checked.last().copied()) else {
        return Err(KtError::malformed("audit", "no roots"));
    };
    Ok(AuditedRange { from, to })
}

/// The root hash of the empty directory, where every log starts (epoch 0).
/// An audit from epoch 0 whose first root has another hash does not start
/// at the beginning of the log.
pub async fn empty_directory_root() -> Result<[u8; 32], String> {
    use akd::storage::StorageManager;
    use akd::storage::memory::AsyncInMemoryDatabase;
    let storage = StorageManager::new_no_cache(AsyncInMemoryDatabase::new());
    let azks = akd::Azks::new::<KtConfig, _>(&storage)
        .await
        .map_err(|e| format!("empty directory: {e}"))?;
    azks.get_root_hash::<KtConfig, _>(&storage)
        .await
        .map_err(|e| format!("empty directory: {e}"))
}
