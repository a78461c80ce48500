//! What a client trusts about a log, and the checks of lookup and history
//! answers against it.

use akd_core::proto::specs::types as proto;
use akd_core::verify::history::{HistoryParams, HistoryVerificationParams};
use akd_core::verify::{key_history_verify, lookup_verify};
use crosslock_credential::PhoneNumber;
use crosslock_wire::api::kt::{HistoryAnswer, LookupAnswer, SignedRoot};
use protobuf::Message;

use crate::binding::Binding;
use crate::error::KtError;
use crate::keys::PublicKey;
use crate::label::{KtConfig, label_of};
use crate::root::{Root, check_log_signature, valid_cosignatures};

/// How far a root's signing time may be ahead of our clock.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// A key-transparency log a client trusts, configured out of band (with
/// the provider's credential root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedLog {
    /// The directory (the home KDS id).
    pub directory: String,
    /// The log's root-signing key.
    pub log_key: PublicKey,
    /// The directory's VRF public key.
    pub vrf_key: [u8; 32],
    /// Witnesses whose co-signatures count.
    pub witnesses: Vec<PublicKey>,
    /// How many distinct witnesses must co-sign a root (k of n).
    pub threshold: usize,
    /// Oldest acceptable root signature (default a day: logs re-sign their
    /// latest root at least hourly).
    pub max_root_age_secs: u64,
}

/// A number's binding proven at a signed, witnessed epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenBinding {
    /// The root the proof was checked against.
    pub root: Root,
    /// The binding's version (1 for the first enrollment).
    pub version: u64,
    /// The epoch the binding was published in.
    pub since_epoch: u64,
    /// The binding.
    pub binding: Binding,
}

/// One version of a number's binding, from a history proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The version (1, 2, ...).
    pub version: u64,
    /// The epoch it was published in.
    pub epoch: u64,
    /// The binding.
    pub binding: Binding,
}

/// A number's whole history, proven at a signed, witnessed epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenHistory {
    /// The root the proof was checked against.
    pub root: Root,
    /// Every version, oldest first.
    pub entries: Vec<HistoryEntry>,
}

impl TrustedLog {
    /// Checks a root: this directory, the log's signature, at least
    /// `threshold` trusted witnesses, and a signing time neither in the
    /// future nor older than `max_root_age_secs`.
    pub fn verify_root(&self, root: &SignedRoot, now: u64) -> Result<Root, KtError> {
        let checked = self.verify_cosigned(root, now)?;
        // KT-TIME-1: signed within max_root_age_secs (the future in verify_cosigned).
        if now.saturating_sub(checked.signed_at) > self.max_root_age_secs {
            return Err(KtError::StaleRoot {
                epoch: checked.epoch,
                signed_at: checked.signed_at,
                max_age_secs: self.max_root_age_secs,
            });
        }
        Ok(checked)
    }

    /// Checks a root without its age: this directory, the log's signature,
    /// at least `threshold` trusted witnesses, and a signing time not in
    /// the future (KT-GOSSIP-1: what a gossiped root must pass before it
    /// counts; an old root is still evidence, just not a fresh view).
    pub fn verify_cosigned(&self, root: &SignedRoot, now: u64) -> Result<Root, KtError> {
        if root.statement.directory != self.directory {
            return Err(KtError::WrongDirectory {
                expected: self.directory.clone(),
                got: root.statement.directory.clone(),
            });
        }
        let checked = check_log_signature(&self.log_key, root)?;
        // KT-WIT-1: at least threshold distinct configured witnesses co-signed it.
        let valid = valid_cosignatures(root, &self.witnesses);
        if valid < self.threshold {
            return Err(KtError::TooFewCosignatures {
                epoch: checked.epoch,
                valid,
                required: self.threshold,
            });
        }
        // KT-TIME-1: not more than 300 s ahead.
        if checked.signed_at > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
            return Err(KtError::RootFromFuture {
                epoch: checked.epoch,
                signed_at: checked.signed_at,
                now,
            });
        }
        Ok(checked)
    }

    /// Checks a lookup answer for `number`: the root (see
    /// [`verify_root`](Self::verify_root)), then akd's lookup proof for the
    /// number's label against it. Returns the proven binding.
    pub fn verify_lookup(
        &self,
        number: &PhoneNumber,
        answer: &LookupAnswer,
        now: u64,
    ) -> Result<ProvenBinding, KtError> {
        let root = self.verify_root(&answer.root, now)?;
        let proof = proto::LookupProof::parse_from_bytes(&answer.proof.0)
            .map_err(|e| KtError::malformed("lookup proof", e))?;
        let proof: akd_core::LookupProof =
            (&proof)
                .try_into()
                .map_err(|e: akd_core::proto::ConversionError| {
                    KtError::malformed("lookup proof", format!("{e:?}"))
                })?;
        // KT-PROOF-1: akd's proof: VRF of this number, membership at the root, no newer version.
        let result = lookup_verify::<KtConfig>(
            &self.vrf_key,
            root.hash,
            root.epoch,
            label_of(number),
            proof,
        )
        .map_err(|e| KtError::ProofInvalid {
            what: "lookup",
            why: e.to_string(),
        })?;
        Ok(ProvenBinding {
            root,
            version: result.version,
            since_epoch: result.epoch,
            binding: Binding::decode(&result.value.0)?,
        })
    }

    /// Checks a complete-history answer for `number`. Returns every version
    /// of its binding, oldest first.
    pub fn verify_history(
        &self,
        number: &PhoneNumber,
        answer: &HistoryAnswer,
        now: u64,
    ) -> Result<ProvenHistory, KtError> {
        let root = self.verify_root(&answer.root, now)?;
        let proof = proto::HistoryProof::parse_from_bytes(&answer.proof.0)
            .map_err(|e| KtError::malformed("history proof", e))?;
        let proof: akd_core::HistoryProof =
            (&proof)
                .try_into()
                .map_err(|e: akd_core::proto::ConversionError| {
                    KtError::malformed("history proof", format!("{e:?}"))
                })?;
        let results = key_history_verify::<KtConfig>(
            &self.vrf_key,
            root.hash,
            root.epoch,
            label_of(number),
            proof,
            HistoryVerificationParams::Default {
                history_params: HistoryParams::Complete,
            },
        )
        .map_err(|e| KtError::ProofInvalid {
            what: "history",
            why: e.to_string(),
        })?;
        let mut entries = results
            .into_iter()
            .map(|r| {
                Ok(HistoryEntry {
                    version: r.version,
                    epoch: r.epoch,
                    binding: Binding::decode(&r.value.0)?,
                })
            })
            .collect::<Result<Vec<_>, KtError>>()?;
        entries.sort_by_key(|e| e.version);
        // A complete history runs 1, 2, ... without gaps.
        for (i, e) in entries.iter().enumerate() {
            if e.version != i as u64 + 1 {
                return Err(KtError::ProofInvalid {
                    what: "history",
                    why: format!("version {} where {} was expected", e.version, i + 1),
                });
            }
        }
        Ok(ProvenHistory { root, entries })
    }
}
