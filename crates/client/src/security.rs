//! What a user (and an auditor) can know about a conversation's protection.

use std::collections::BTreeMap;

use crosslock_credential::{KeyAlgorithm, PhoneNumber};
use sha2::{Digest, Sha256};

use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::member_transparency::TransparencyBlock;
use crate::mls::identity::LeafIdentity;
use crate::outbound::epoch_authenticator;
use crate::records::{self, ContactRecord, ConversationKind, ConversationStatus};
use crate::safety::SafetyNumber;
use crate::store::{Table, key};
use crate::suite::Suite;
use crate::suite_transparency::SuiteDowngrade;
use crate::transparency::TransparencyStatus;
use crate::wire_profile::{WireProfile, profile_of};

/// Participant public keys.
type KeySet = Vec<Vec<u8>>;

/// A leaf of the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) index: u32,
    pub(crate) identity: LeafIdentity,
    pub(crate) key: Vec<u8>,
    /// When its credential became valid (None: it no longer validates).
    pub(crate) not_before: Option<u64>,
}

/// One device in a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The device instance id.
    pub device_id: String,
    /// SHA-256 of its participant key, hex (first 16 bytes).
    pub key_fingerprint: String,
    /// Whether it is this device.
    pub this_device: bool,
}

/// Whether the user checked a contact's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Keys pinned on first use, safety number not compared.
    Unverified,
    /// The user confirmed the safety number for the current keys.
    Verified,
    /// The contact's keys changed since they were first seen (or since
    /// they were verified): compare the safety number again.
    KeyChanged,
}

/// The security state of one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityState {
    /// The conversation.
    pub conversation: ConversationId,
    /// 1:1 or group.
    pub kind: ConversationKind,
    /// Whether messages are end-to-end encrypted (false after `end_mls`,
    /// or once this device was removed).
    pub encrypted: bool,
    /// Active, ended or removed.
    pub status: ConversationStatus,
    /// The MLS cipher suite.
    pub suite: Suite,
    /// The formats spoken above MLS: the deployed RCC.16 profile, or that
    /// plus Crosslock's extras when every member advertises them.
    pub wire_profile: WireProfile,
    /// The RCC.16 era.
    pub era: u32,
    /// The MLS epoch.
    pub epoch: u64,
    /// The epoch authenticator: equal on every member's device iff they
    /// share the same group state.
    pub epoch_authenticator: [u8; 32],
    /// Members: number → devices.
    pub members: BTreeMap<PhoneNumber, Vec<DeviceInfo>>,
    /// Verification state of every other participant.
    pub verification: BTreeMap<PhoneNumber, Verification>,
    /// Whether one of our commits waits for the server's verdict.
    pub commit_pending: bool,
    /// Key transparency of every other participant's keys here.
    pub transparency: BTreeMap<PhoneNumber, TransparencyStatus>,
    /// Whether this device holds key-transparency alerts (a forked log,
    /// keys it did not enrol): see [`Device::transparency_alerts`].
    pub transparency_alerts: bool,
    /// KT-MEMBER-3: participants whose keys key transparency has not
    /// proven (policy requiring proofs) or has refuted. While `Some`,
    /// sending is refused ([`ClientError::TransparencyBlocked`]).
    pub blocked: Option<TransparencyBlock>,
    /// KT-SUITE-2/3 under `SuiteDowngradePolicy::Warn`: participants whose
    /// post-quantum suite was withheld from a claim answer or disappeared
    /// from their binding (the conversation may use a classical suite
    /// because of it). Empty when none.
    pub suite_downgrades: BTreeMap<PhoneNumber, Vec<SuiteDowngrade>>,
}

fn fingerprint(key: &[u8]) -> String {
    hex::encode(&Sha256::digest(key)[..16])
}

fn contact_key(number: &PhoneNumber, algorithm: KeyAlgorithm) -> Vec<u8> {
    let tag: &[u8] = match algorithm {
        KeyAlgorithm::EcdsaP256 => b"p256",
        KeyAlgorithm::EcdsaP384 => b"p384",
        KeyAlgorithm::Ed25519 => b"ed25519",
    };
    key(&[number.as_str().as_bytes(), tag])
}

/// Every leaf of a group.
pub(crate) fn members_of_group(
    group: &crate::mls::MlsGroup,
    identity: &crate::mls::identity::Rcc16Identity,
    now: u64,
) -> Result<Vec<Member>, ClientError> {
    group
        .roster()
        .members_iter()
        .map(|m| {
            Ok(Member {
                index: m.index,
                identity: LeafIdentity::of(&m.signing_identity).map_err(internal)?,
                key: m.signing_identity.signature_key.as_bytes().to_vec(),
                not_before: identity
                    .validate(&m.signing_identity, now)
                    .ok()
                    .map(|c| c.not_before()),
            })
        })
        .collect()
}

impl Device {
    /// Every leaf of a conversation's group.
    pub(crate) fn members_of(&mut self, id: &ConversationId) -> Result<Vec<Member>, ClientError> {
        let now = self.env.clock.now();
        let identity = self.identity.clone();
        let group = self.group(id)?;
        members_of_group(group, &identity, now)
    }

    fn contact(
        &self,
        number: &PhoneNumber,
        algorithm: KeyAlgorithm,
    ) -> Result<Option<ContactRecord>, ClientError> {
        self.staged
            .get(Table::Contact, &contact_key(number, algorithm))?
            .map(|b| records::decode(&b))
            .transpose()
    }

    /// Pins the keys of every other participant on first sight and flags a
    /// change later (trust on first use, never excusing an invalid
    /// credential: members here have passed the trust policy).
    pub(crate) fn observe_member_keys(&mut self, id: &ConversationId) -> Result<(), ClientError> {
        let algorithm = self.conversation_record(id)?.suite.signature_algorithm();
        let mut keys: BTreeMap<PhoneNumber, Vec<Vec<u8>>> = BTreeMap::new();
        for m in self.members_of(id)? {
            if m.identity.number != self.number {
                keys.entry(m.identity.number).or_default().push(m.key);
            }
        }
        for (number, mut set) in keys {
            set.sort();
            set.dedup();
            let set: Vec<records::serde_bytes_vec::Bytes> =
                set.into_iter().map(Into::into).collect();
            let updated = match self.contact(&number, algorithm)? {
                None => ContactRecord {
                    keys: set,
                    verified: false,
                    key_changed: false,
                },
                Some(old) if old.keys == set => continue,
                // A device was added or a key rolled: warn, unverify.
                Some(_) => {
                    tracing::warn!(contact = %number.redacted(), "participant keys changed");
                    ContactRecord {
                        keys: set,
                        verified: false,
                        key_changed: true,
                    }
                }
            };
            self.staged.put(
                Table::Contact,
                contact_key(&number, algorithm),
                records::encode(&updated)?,
            );
        }
        Ok(())
    }
}

/// Implements [`Device::security_state`].
pub(crate) fn security_state(
    device: &mut Device,
    id: &ConversationId,
) -> Result<SecurityState, ClientError> {
    let record = device.conversation_record(id)?;
    let own_index = device.group(id)?.current_member_index();
    let group = device.group(id)?;
    let epoch = group.current_epoch();
    let auth = epoch_authenticator(group)?;
    let wire_profile = profile_of(group);
    let commit_pending = record.pending.is_some();
    let mut members: BTreeMap<PhoneNumber, Vec<DeviceInfo>> = BTreeMap::new();
    let roster = device.members_of(id)?;
    for m in &roster {
        members
            .entry(m.identity.number.clone())
            .or_default()
            .push(DeviceInfo {
                device_id: m.identity.device.clone(),
                key_fingerprint: fingerprint(&m.key),
                this_device: m.index == own_index && record.status != ConversationStatus::Removed,
            });
    }
    let algorithm = record.suite.signature_algorithm();
    let mut verification = BTreeMap::new();
    for number in members.keys().filter(|n| **n != device.number) {
        let state = match device.contact(number, algorithm)? {
            Some(c) if c.verified => Verification::Verified,
            Some(c) if c.key_changed => Verification::KeyChanged,
            _ => Verification::Unverified,
        };
        verification.insert(number.clone(), state);
    }
    let transparency = device.statuses_of(&roster)?;
    let blocked = device.block_of(&transparency);
    let transparency_alerts = !device.transparency_alerts()?.is_empty();
    let mut suite_downgrades = BTreeMap::new();
    for number in members.keys().filter(|n| **n != device.number) {
        let found = device.suite_downgrades(number)?;
        if !found.is_empty() {
            suite_downgrades.insert(number.clone(), found);
        }
    }
    Ok(SecurityState {
        conversation: id.clone(),
        kind: record.kind,
        encrypted: record.status == ConversationStatus::Active,
        status: record.status,
        suite: record.suite,
        wire_profile,
        era: record.era,
        epoch,
        epoch_authenticator: auth,
        members,
        verification,
        commit_pending,
        transparency,
        transparency_alerts,
        blocked,
        suite_downgrades,
    })
}

impl Device {
    /// The keys of `number` in a conversation, and ours.
    fn pair_keys(
        &mut self,
        id: &ConversationId,
        peer: &PhoneNumber,
    ) -> Result<(KeySet, KeySet), ClientError> {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for m in self.members_of(id)? {
            if m.identity.number == self.number {
                ours.push(m.key);
            } else if &m.identity.number == peer {
                theirs.push(m.key);
            }
        }
        if theirs.is_empty() {
            return Err(ClientError::UnknownParticipant(peer.clone()));
        }
        Ok((ours, theirs))
    }
}

/// Implements [`Device::safety_number`].
pub(crate) fn safety_number(
    device: &mut Device,
    id: &ConversationId,
    peer: &PhoneNumber,
) -> Result<SafetyNumber, ClientError> {
    let (ours, theirs) = device.pair_keys(id, peer)?;
    Ok(SafetyNumber::compute(
        (&device.number.clone(), &ours),
        (peer, &theirs),
    ))
}

/// Implements [`Device::confirm_safety_number`].
pub(crate) fn confirm_safety_number(
    device: &mut Device,
    id: &ConversationId,
    peer: &PhoneNumber,
    scanned_qr: Option<&[u8]>,
) -> Result<bool, ClientError> {
    let number = device.safety_number(id, peer)?;
    if let Some(scanned) = scanned_qr
        && !number.matches_qr(scanned)
    {
        return Ok(false);
    }
    let algorithm = device.conversation_record(id)?.suite.signature_algorithm();
    let (_, mut theirs) = device.pair_keys(id, peer)?;
    theirs.sort();
    theirs.dedup();
    device.atomically(|device| {
        let record = ContactRecord {
            keys: theirs.into_iter().map(Into::into).collect(),
            verified: true,
            key_changed: false,
        };
        device.staged.put(
            Table::Contact,
            contact_key(peer, algorithm),
            records::encode(&record)?,
        );
        Ok(true)
    })
}
