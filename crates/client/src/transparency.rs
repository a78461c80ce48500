//! Key transparency on the device: KeyPackages are used only with a proof
//! that their keys are the number's current binding in a witnessed epoch
//! root; the device watches its own number's history for keys it did not
//! enrol; and contacts compare the roots they have seen (gossip inside
//! conversations) to catch a log that shows different views.
//!
//! Everything here is stored under `kt/...` keys of the device table and
//! written in the same batch as the operation that produced it.

use std::collections::BTreeSet;

use crosslock_credential::PhoneNumber;
use crosslock_kt::{Binding, BoundKey, KtError, ProvenBinding, SeenRoots, TrustedLog};
use crosslock_wire::api::kt::{HistoryAnswer, LookupAnswer, SignedRoot};
use crosslock_wire::inner::ApplicationPayload;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::device::Device;
use crate::error::ClientError;
use crate::ids::ConversationId;
use crate::records;
use crate::send::Sent;
use crate::store::Table;
use crate::suite::Suite;
use crate::suite_transparency::{
    SuiteDowngrade, SuiteDowngradePolicy, disappeared, listed_suites, post_quantum_everywhere,
    withheld,
};

/// Media type of the roots a device gossips inside a conversation.
pub const KT_GOSSIP: &str = "application/vnd.crosslock.kt-roots+json";
/// Most roots one gossip message may carry.
pub const MAX_GOSSIP_ROOTS: usize = 8;
/// Media type of a lookup proof a member relays inside a conversation
/// (KT-MEMBER-4): its own number's, so members at other providers need not
/// reach its home to prove its keys.
pub const KT_PROOF: &str = "application/vnd.crosslock.kt-proof+json";

/// A lookup proof relayed inside a conversation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RelayedProof {
    number: String,
    answer: LookupAnswer,
}

const SEEN: &[u8] = b"kt/seen-roots";
const OWN_KEYS: &[u8] = b"kt/own-keys";
const APPROVED: &[u8] = b"kt/approved";
const ALERTS: &[u8] = b"kt/alerts";
const LAST_CHECK: &[u8] = b"kt/last-history-check";

/// Key-transparency settings of a device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransparencyPolicy {
    /// The logs this device trusts, one per provider directory.
    pub logs: Vec<TrustedLog>,
    /// Refuse participants whose KeyPackages come without a proof. With
    /// no logs configured nothing can be proven, so nothing is required.
    pub required: bool,
    /// How often to check this device's own number's history (seconds;
    /// default a day when built with [`TransparencyPolicy::new`]).
    pub monitor_interval_secs: u64,
    /// How often to gossip roots in each conversation (default a day).
    pub gossip_interval_secs: u64,
    /// A post-quantum suite withheld from a claim answer or gone from a
    /// contact's binding (KT-SUITE-2, KT-SUITE-3): refused by default, or
    /// accepted with a warning in the conversation's security state.
    pub suite_downgrade: crate::suite_transparency::SuiteDowngradePolicy,
}

impl TransparencyPolicy {
    /// Proofs required from `logs`; daily monitoring and gossip.
    pub fn new(logs: Vec<TrustedLog>) -> Self {
        TransparencyPolicy {
            logs,
            required: true,
            monitor_interval_secs: 86_400,
            gossip_interval_secs: 86_400,
            suite_downgrade: Default::default(),
        }
    }

    fn log(&self, directory: &str) -> Result<&TrustedLog, KtError> {
        self.logs
            .iter()
            .find(|l| l.directory == directory)
            .ok_or_else(|| KtError::UnknownDirectory(directory.to_owned()))
    }
}

/// Something the device noticed that the user (or the app) must see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransparencyAlert {
    /// The log signed two different roots for one epoch: it shows
    /// different views to different people.
    Fork {
        /// The directory.
        directory: String,
        /// The epoch.
        epoch: u64,
        /// The two signed roots (proof for anyone holding the log key).
        evidence: Box<crosslock_kt::ForkEvidence>,
    },
    /// A key appeared under this device's id that this device never had.
    UnknownKey {
        /// The binding version it appeared in.
        version: u64,
        /// The epoch.
        epoch: u64,
        /// SHA-256 of the unknown credential, hex.
        credential: String,
    },
    /// Another device was added to this number. Expected when the user
    /// enrolled one (approve it); an attack otherwise.
    NewDevice {
        /// The binding version it appeared in.
        version: u64,
        /// The epoch.
        epoch: u64,
        /// Its device id.
        device_id: String,
        /// SHA-256 of its credential, hex.
        credential: String,
    },
    /// The number's current binding lacks this device's current key
    /// (revoked, or replaced by someone else's enrollment).
    OwnKeyMissing {
        /// The epoch of the binding.
        epoch: u64,
    },
    /// KT-SUITE-4: the number's current binding lists fewer suites for
    /// this device's current keys than the device serves (its contacts
    /// would not notice a post-quantum suite withheld from them).
    OwnSuitesMissing {
        /// The epoch of the binding.
        epoch: u64,
        /// The code points of the suites not listed.
        suites: Vec<u16>,
    },
}

/// Whether a participant's keys in a conversation are proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransparencyStatus {
    /// Every key of the participant in the conversation was in their
    /// binding proven at `epoch`.
    Proven {
        /// The directory.
        directory: String,
        /// The epoch of the proof.
        epoch: u64,
    },
    /// No proof covers the participant's current keys (added by another
    /// member, or by a device without transparency): look them up with
    /// [`Device::record_lookup`].
    Unproven,
    /// KT-MEMBER-2: the participant's recorded proof, signed long enough
    /// after the key's credential was issued that the log must hold it,
    /// does not hold this device's key: a forged or unlogged key. The
    /// conversation is blocked until the key is removed or a newer proof
    /// holds it.
    Refuted {
        /// The directory.
        directory: String,
        /// The epoch of the proof.
        epoch: u64,
        /// The device whose key the proof lacks.
        device_id: String,
    },
}

/// A participant's proof, checked and ready to record.
#[derive(Debug, Clone)]
pub(crate) struct KtVerified {
    number: PhoneNumber,
    log_key: crosslock_kt::PublicKey,
    root: SignedRoot,
    proof: ContactProof,
    /// Downgrades accepted under `SuiteDowngradePolicy::Warn`.
    downgrades: Vec<SuiteDowngrade>,
    /// A claim answer offered every device's post-quantum KeyPackages
    /// (earlier downgrade warnings no longer hold).
    post_quantum_restored: bool,
}

/// The proven binding recorded for a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ContactProof {
    pub(crate) directory: String,
    pub(crate) epoch: u64,
    /// (device id, public key) of every bound key.
    pub(crate) keys: Vec<(String, Vec<u8>)>,
    /// When the log signed the root of the proof (0 in records made before
    /// it was kept: such a proof refutes nothing).
    #[serde(default)]
    pub(crate) signed_at: u64,
    /// Per device id, the suites the binding listed (KT-SUITE-3; empty in
    /// records made before suites were kept, or for a version 1 binding).
    #[serde(default)]
    pub(crate) suites: Vec<(String, Vec<u16>)>,
}

/// (device id, signature key, leaf certificate, suite) of an offered
/// KeyPackage.
pub(crate) type Offered = (String, Vec<u8>, Vec<u8>, Suite);

fn contact_proof_key(number: &PhoneNumber) -> Vec<u8> {
    format!("kt/contact/{}", number.as_str()).into_bytes()
}

fn gossip_key(id: &ConversationId) -> Vec<u8> {
    let mut k = b"kt/gossip/".to_vec();
    k.extend_from_slice(id.as_bytes());
    k
}

impl Device {
    fn kt_get<T: serde::de::DeserializeOwned + Default>(
        &self,
        key: &[u8],
    ) -> Result<T, ClientError> {
        match self.staged.get(Table::Device, key)? {
            Some(bytes) => records::decode(&bytes),
            None => Ok(T::default()),
        }
    }

    fn kt_put<T: Serialize>(&self, key: &[u8], value: &T) -> Result<(), ClientError> {
        self.staged
            .put(Table::Device, key.to_vec(), records::encode(value)?);
        Ok(())
    }

    /// HOME-3: only the home's log proves a number's keys (its own keys
    /// included). A provider answering with a proof from its own (or any
    /// other trusted) log for a number homed elsewhere proves nothing.
    /// Without a numbering plan (a single-provider trust policy) every
    /// trusted log may answer.
    fn check_home_directory(&self, number: &PhoneNumber, directory: &str) -> Result<(), KtError> {
        let crosslock_credential::TrustPolicy::Homes(homes) = &self.config.trust else {
            return Ok(());
        };
        match homes.plan().home_of(number) {
            Some(home) if home == directory => Ok(()),
            home => Err(KtError::WrongDirectory {
                expected: home.unwrap_or("no home provider").to_owned(),
                got: directory.to_owned(),
            }),
        }
    }

    /// Checks a participant's lookup proof (policy permitting its absence),
    /// that every offered key is in the proven binding, and that no
    /// post-quantum suite was withheld or disappeared (KT-SUITE-2,
    /// KT-SUITE-3). `offered` is (device id, signature key, leaf
    /// certificate, suite) per KeyPackage. Pure:
    /// [`Device::stage_transparency`] records the result.
    pub(crate) fn verify_transparency(
        &self,
        number: &PhoneNumber,
        answer: Option<&LookupAnswer>,
        offered: &[Offered],
    ) -> Result<Option<KtVerified>, ClientError> {
        let policy = &self.config.transparency;
        let refuse = |source: KtError| ClientError::Transparency {
            number: number.clone(),
            source,
        };
        // A device configured with no log has nothing to check a proof
        // against: the contact stays unproven.
        if policy.logs.is_empty() {
            return Ok(None);
        }
        // KT-REQ-1: a policy that requires proofs refuses a claim without one.
        let Some(answer) = answer else {
            if policy.required {
                return Err(refuse(KtError::MissingProof));
            }
            return Ok(None);
        };
        self.check_home_directory(number, &answer.root.statement.directory)
            .map_err(refuse)?;
        // KT-LOG-1: the root names a directory this device trusts.
        let log = match policy.log(&answer.root.statement.directory) {
            Ok(log) => log,
            // A log this device does not know (another provider's, when
            // proofs are optional) proves nothing either way.
            Err(_) if !policy.required => return Ok(None),
            Err(e) => return Err(refuse(e)),
        };
        let now = self.env.clock.now();
        let proven: ProvenBinding = log.verify_lookup(number, answer, now).map_err(refuse)?;
        // Stale or forked compared with the roots seen so far.
        let mut seen: SeenRoots = self.kt_get(SEEN)?;
        seen.observe_own(&log.log_key, &answer.root)
            .map_err(refuse)?;
        // KT-REV-1: the binding is not Revoked.
        if proven.binding == Binding::Revoked {
            return Err(refuse(KtError::Revoked));
        }
        // KT-BIND-1: every offered KeyPackage's device id, key and leaf certificate is bound.
        for (device, key, leaf, _) in offered {
            if !proven.binding.contains(device, key, leaf) {
                return Err(refuse(KtError::NotInBinding {
                    device_id: device.clone(),
                }));
            }
        }
        // KT-SUITE-2: no post-quantum suite the binding lists for an
        // offered device is missing from the claim answer. KT-SUITE-3: no
        // post-quantum suite the recorded proof listed is gone.
        let offered_suites: Vec<(String, u16)> = offered
            .iter()
            .map(|(d, _, _, s)| (d.clone(), s.code()))
            .collect();
        let epoch = proven.root.epoch;
        let mut downgrades = withheld(&proven.binding, &offered_suites, epoch);
        if let Some(recorded) = self.contact_proof(number)? {
            downgrades.extend(disappeared(&recorded.suites, &proven.binding, epoch));
        }
        if let Some(first) = downgrades.first()
            && policy.suite_downgrade == SuiteDowngradePolicy::Refuse
        {
            return Err(refuse(first.error()));
        }
        let post_quantum_restored = !offered.is_empty()
            && downgrades.is_empty()
            && post_quantum_everywhere(&proven.binding, &offered_suites);
        Ok(Some(KtVerified {
            number: number.clone(),
            log_key: log.log_key,
            root: answer.root.clone(),
            downgrades,
            post_quantum_restored,
            proof: ContactProof {
                suites: listed_suites(&proven.binding),
                directory: log.directory.clone(),
                epoch: proven.root.epoch,
                signed_at: proven.root.signed_at,
                keys: proven
                    .binding
                    .keys()
                    .iter()
                    .map(|k| (k.device_id.clone(), k.public_key.clone()))
                    .collect(),
            },
        }))
    }

    /// Records verified proofs: their roots as seen, the contacts' proven
    /// keys. Inside the operation's batch.
    pub(crate) fn stage_transparency(&self, verified: &[KtVerified]) -> Result<(), ClientError> {
        if verified.is_empty() {
            return Ok(());
        }
        let mut seen: SeenRoots = self.kt_get(SEEN)?;
        for v in verified {
            seen.observe_own(&v.log_key, &v.root)
                .map_err(|source| ClientError::Transparency {
                    number: v.number.clone(),
                    source,
                })?;
            // KT-RELAY-2: a proof older than the one recorded for the
            // number (from the same log) never replaces it.
            let recorded: Option<ContactProof> = self
                .staged
                .get(Table::Device, &contact_proof_key(&v.number))?
                .map(|b| records::decode(&b))
                .transpose()?;
            if recorded.is_some_and(|r| r.directory == v.proof.directory && r.epoch > v.proof.epoch)
            {
                continue;
            }
            self.kt_put(&contact_proof_key(&v.number), &v.proof)?;
            if !v.downgrades.is_empty() {
                self.stage_suite_downgrades(&v.number, &v.downgrades)?;
            } else if v.post_quantum_restored {
                self.clear_suite_downgrades(&v.number)?;
            }
        }
        self.kt_put(SEEN, &seen)
    }

    /// After a refusal: a fork is kept as an alert (the refused operation
    /// itself changed nothing).
    pub(crate) fn keep_fork_alert<T>(
        &mut self,
        result: Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        if let Err(ClientError::Transparency {
            source: KtError::Fork(evidence),
            ..
        }) = &result
        {
            let alert = TransparencyAlert::Fork {
                directory: evidence.directory.clone(),
                epoch: evidence.epoch,
                evidence: evidence.clone(),
            };
            if let Err(e) = self.atomically(|d| d.raise(alert)) {
                tracing::error!(error = %e, "could not store a key-transparency fork alert");
            }
        }
        result
    }

    fn raise(&self, alert: TransparencyAlert) -> Result<(), ClientError> {
        let mut alerts: Vec<TransparencyAlert> = self.kt_get(ALERTS)?;
        if !alerts.contains(&alert) {
            tracing::warn!(?alert, "key-transparency alert");
            alerts.push(alert);
            self.kt_put(ALERTS, &alerts)?;
        }
        Ok(())
    }
}

/// Implements [`Device::record_lookup`].
pub(crate) fn record_lookup(
    device: &mut Device,
    number: &PhoneNumber,
    answer: &LookupAnswer,
) -> Result<(), ClientError> {
    let result = device
        .verify_transparency(number, Some(answer), &[])
        .and_then(|verified| {
            let verified: Vec<KtVerified> = verified.into_iter().collect();
            device.atomically(|d| d.stage_transparency(&verified))
        });
    device.keep_fork_alert(result)
}

impl Device {
    /// The proof recorded for `number`, if any.
    pub(crate) fn contact_proof(
        &self,
        number: &PhoneNumber,
    ) -> Result<Option<ContactProof>, ClientError> {
        match self.staged.get(Table::Device, &contact_proof_key(number))? {
            Some(bytes) => Ok(Some(records::decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Remembers this device's own credential (installed or issued), so
    /// monitoring knows it.
    pub(crate) fn remember_own_credential(&self, leaf: &[u8]) -> Result<(), ClientError> {
        let mut own: BTreeSet<[u8; 32]> = self.kt_get(OWN_KEYS)?;
        own.insert(Sha256::digest(leaf).into());
        self.kt_put(OWN_KEYS, &own)
    }
}

/// Implements [`Device::history_check_due`].
pub(crate) fn history_check_due(device: &Device) -> Result<bool, ClientError> {
    let last: u64 = device.kt_get(LAST_CHECK)?;
    Ok(!device.config.transparency.logs.is_empty()
        && device.env.clock.now().saturating_sub(last)
            >= device.config.transparency.monitor_interval_secs)
}

/// Implements [`Device::transparency_alerts`].
pub(crate) fn transparency_alerts(device: &Device) -> Result<Vec<TransparencyAlert>, ClientError> {
    device.kt_get(ALERTS)
}

/// Implements [`Device::check_own_history`].
pub(crate) fn check_own_history(
    device: &mut Device,
    answer: &HistoryAnswer,
) -> Result<Vec<TransparencyAlert>, ClientError> {
    let result = device.atomically(|d| d.check_own_history_inner(answer));
    device.keep_fork_alert(result)
}

/// Implements [`Device::approve_device`].
pub(crate) fn approve_device(
    device: &mut Device,
    device_id: &str,
    credential_sha256: &str,
) -> Result<(), ClientError> {
    device.atomically(|d| d.approve_device_inner(device_id, credential_sha256))
}

impl Device {
    fn approve_device_inner(
        &self,
        device_id: &str,
        credential_sha256: &str,
    ) -> Result<(), ClientError> {
        let mut approved: BTreeSet<(String, String)> = self.kt_get(APPROVED)?;
        approved.insert((device_id.to_owned(), credential_sha256.to_ascii_lowercase()));
        self.kt_put(APPROVED, &approved)?;
        let mut alerts: Vec<TransparencyAlert> = self.kt_get(ALERTS)?;
        alerts.retain(|a| {
            !matches!(a, TransparencyAlert::NewDevice { device_id: d, credential: c, .. }
                if d == device_id && c.eq_ignore_ascii_case(credential_sha256))
        });
        self.kt_put(ALERTS, &alerts)
    }

    fn check_own_history_inner(
        &self,
        answer: &HistoryAnswer,
    ) -> Result<Vec<TransparencyAlert>, ClientError> {
        let number = self.number.clone();
        let refuse = |source: KtError| ClientError::Transparency {
            number: number.clone(),
            source,
        };
        self.check_home_directory(&number, &answer.root.statement.directory)
            .map_err(refuse)?;
        let log = self
            .config
            .transparency
            .log(&answer.root.statement.directory)
            .map_err(refuse)?;
        let now = self.env.clock.now();
        let history = log
            .verify_history(&self.number, answer, now)
            .map_err(refuse)?;
        let mut seen: SeenRoots = self.kt_get(SEEN)?;
        seen.observe_own(&log.log_key, &answer.root)
            .map_err(refuse)?;
        self.kt_put(SEEN, &seen)?;
        let own: BTreeSet<[u8; 32]> = self.kt_get(OWN_KEYS)?;
        let approved: BTreeSet<(String, String)> = self.kt_get(APPROVED)?;
        let mut raised = Vec::new();
        for entry in &history.entries {
            for key in entry.binding.keys() {
                let credential = hex::encode(key.credential_sha256);
                let alert = if key.device_id == self.device_id() {
                    (!own.contains(&key.credential_sha256)).then_some(
                        TransparencyAlert::UnknownKey {
                            version: entry.version,
                            epoch: entry.epoch,
                            credential,
                        },
                    )
                } else {
                    (!approved.contains(&(key.device_id.clone(), credential.clone()))).then(|| {
                        TransparencyAlert::NewDevice {
                            version: entry.version,
                            epoch: entry.epoch,
                            device_id: key.device_id.clone(),
                            credential,
                        }
                    })
                };
                if let Some(alert) = alert
                    && !raised.contains(&alert)
                {
                    raised.push(alert);
                }
            }
        }
        // The latest binding must hold this device's current credentials.
        let current: Vec<[u8; 32]> = self
            .suites()
            .iter()
            .filter_map(|s| {
                self.credential_chain(*s)
                    .first()
                    .map(|leaf| Sha256::digest(leaf).into())
            })
            .collect();
        if let Some(latest) = history.entries.last() {
            let bound: Vec<&BoundKey> = latest
                .binding
                .keys()
                .iter()
                .filter(|k| k.device_id == self.device_id())
                .collect();
            if current
                .iter()
                .any(|c| !bound.iter().any(|k| k.credential_sha256 == *c))
            {
                raised.push(TransparencyAlert::OwnKeyMissing {
                    epoch: latest.epoch,
                });
            }
            // KT-SUITE-4: the binding lists every suite each current key
            // serves (a bound key listing none counts as listing fewer).
            let mut missing: Vec<u16> = self
                .suites()
                .iter()
                .filter(|s| {
                    let chain = self.credential_chain(**s);
                    let Some(leaf) = chain.first() else {
                        return false;
                    };
                    let digest: [u8; 32] = Sha256::digest(leaf).into();
                    bound.iter().any(|k| k.credential_sha256 == digest)
                        && !bound
                            .iter()
                            .any(|k| k.credential_sha256 == digest && k.suites.contains(&s.code()))
                })
                .map(|s| s.code())
                .collect();
            missing.sort_unstable();
            if !missing.is_empty() {
                raised.push(TransparencyAlert::OwnSuitesMissing {
                    epoch: latest.epoch,
                    suites: missing,
                });
            }
        }
        for alert in &raised {
            self.raise(alert.clone())?;
        }
        self.kt_put(LAST_CHECK, &now)?;
        Ok(raised)
    }
}

/// Implements [`Device::gossip_due`].
pub(crate) fn gossip_due(device: &Device, id: &ConversationId) -> Result<bool, ClientError> {
    let last: u64 = device.kt_get(&gossip_key(id))?;
    let seen: SeenRoots = device.kt_get(SEEN)?;
    Ok(!seen.newest_roots().is_empty()
        && device.env.clock.now().saturating_sub(last)
            >= device.config.transparency.gossip_interval_secs)
}

/// Implements [`Device::send_transparency_gossip`].
pub(crate) fn send_transparency_gossip(
    device: &mut Device,
    id: &ConversationId,
) -> Result<Option<Sent>, ClientError> {
    // WIRE-NEG-2: gossip is a Crosslock extra; a member on the deployed
    // profile alone would not read it.
    if !device.wire_profile(id)?.extras() {
        return Ok(None);
    }
    let seen: SeenRoots = device.kt_get(SEEN)?;
    let mut roots = seen.newest_roots();
    if roots.is_empty() {
        return Ok(None);
    }
    roots.truncate(MAX_GOSSIP_ROOTS);
    let body = serde_json::to_vec(&roots).map_err(|e| ClientError::Internal(e.to_string()))?;
    let key = gossip_key(id);
    let now = device.env.clock.now();
    let sent = device.send_payload(
        id,
        ApplicationPayload::new(KT_GOSSIP, body),
        None,
        None,
        move |d| d.kt_put(&key, &now),
    )?;
    Ok(Some(sent))
}

/// Implements [`Device::send_own_proof`].
pub(crate) fn send_own_proof(
    device: &mut Device,
    id: &ConversationId,
    answer: &LookupAnswer,
) -> Result<Sent, ClientError> {
    if !device.wire_profile(id)?.extras() {
        return Err(ClientError::NotNegotiated {
            what: "a relayed transparency proof",
        });
    }
    let number = device.number.clone();
    device.verify_transparency(&number, Some(answer), &[])?;
    let body = serde_json::to_vec(&RelayedProof {
        number: number.as_str().to_owned(),
        answer: answer.clone(),
    })
    .map_err(|e| ClientError::Internal(e.to_string()))?;
    device.send_payload(
        id,
        ApplicationPayload::new(KT_PROOF, body),
        None,
        None,
        |_| Ok(()),
    )
}

impl Device {
    /// Handles a lookup proof relayed by a member (KT-MEMBER-4). Proofs
    /// authenticate themselves (the log's signature, its witnesses, the
    /// VRF proof), so whoever relays one: it is recorded exactly as
    /// [`Device::record_lookup`] would. One that does not verify (stale,
    /// unknown log, forged) is ignored and changes nothing; a fork it
    /// reveals is raised. Stages only; the caller commits.
    pub(crate) fn receive_proof(
        &self,
        sender: &PhoneNumber,
        body: &[u8],
    ) -> Result<Vec<TransparencyAlert>, ClientError> {
        let relayed: RelayedProof = serde_json::from_slice(body)
            .map_err(|e| ClientError::Content(format!("relayed lookup proof: {e}")))?;
        let number = PhoneNumber::parse(&relayed.number)
            .map_err(|e| ClientError::Content(format!("relayed lookup proof: {e}")))?;
        // KT-RELAY-1: a member relays the proof of its own number only;
        // anyone else's (an older one, to roll a contact's keys back) is
        // ignored.
        if &number != sender {
            tracing::warn!("relayed lookup proof for another number than its sender ignored");
            return Ok(Vec::new());
        }
        match self.verify_transparency(&number, Some(&relayed.answer), &[]) {
            Ok(verified) => {
                let verified: Vec<KtVerified> = verified.into_iter().collect();
                self.stage_transparency(&verified)?;
                Ok(Vec::new())
            }
            Err(ClientError::Transparency {
                source: KtError::Fork(evidence),
                ..
            }) => {
                let alert = TransparencyAlert::Fork {
                    directory: evidence.directory.clone(),
                    epoch: evidence.epoch,
                    evidence,
                };
                self.raise(alert.clone())?;
                Ok(vec![alert])
            }
            Err(ClientError::Transparency { source, .. }) => {
                tracing::warn!(reason = source.reason(), "relayed lookup proof ignored");
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    /// Handles roots gossiped by a member: each one the log signed is
    /// compared with ours (a fork is raised as an alert); a root counts
    /// (raises the directory's newest epoch) only after the trusted log's
    /// signature and witness threshold check (KT-GOSSIP-1). Roots of
    /// unknown directories, and roots failing a check, are ignored and
    /// change nothing. Returns alerts raised. Stages only; the caller
    /// commits.
    pub(crate) fn receive_gossip(
        &self,
        body: &[u8],
    ) -> Result<Vec<TransparencyAlert>, ClientError> {
        let roots: Vec<SignedRoot> = serde_json::from_slice(body)
            .map_err(|e| ClientError::Content(format!("transparency gossip: {e}")))?;
        if roots.len() > MAX_GOSSIP_ROOTS {
            return Err(ClientError::Content(
                "transparency gossip: too many roots".into(),
            ));
        }
        let mut seen: SeenRoots = self.kt_get(SEEN)?;
        let mut raised = Vec::new();
        let now = self.env.clock.now();
        for root in &roots {
            let Ok(log) = self.config.transparency.log(&root.statement.directory) else {
                continue;
            };
            match seen.observe_gossip(log, root, now) {
                Ok(()) => {}
                Err(KtError::Fork(evidence)) => raised.push(TransparencyAlert::Fork {
                    directory: evidence.directory.clone(),
                    epoch: evidence.epoch,
                    evidence,
                }),
                // KT-GOSSIP-1: unsigned, unwitnessed, future or malformed
                // roots prove nothing: ignored, nothing remembered.
                Err(e) => {
                    tracing::warn!(reason = e.reason(), "gossiped root ignored");
                }
            }
        }
        self.kt_put(SEEN, &seen)?;
        for alert in &raised {
            self.raise(alert.clone())?;
        }
        Ok(raised)
    }
}
