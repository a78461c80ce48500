//! A new era (RCC.16 recovery, last rung): a new MLS group under the same
//! group id, with the GroupContext era extension (0xF001) one higher,
//! Welcoming every participant's devices again. Used when the rungs below
//! did not help (e.g. a message still fails after five resends).
//!
//! The new group and its commit wait in the staging tables until the
//! delivery service's verdict; accepted, the new group replaces the old
//! era's group (and its prior epochs) in one write; refused, nothing
//! changed. Receivers replace their old-era state when the Welcome
//! arrives (`Received::Joined { replaced_era: Some(..), .. }`) and refuse
//! a Welcome of a lower or equal era for a conversation they have.

use mls_rs::ExtensionList;

use crate::conversation::{ParticipantKeyPackages, commit_error};
use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::keypackages::now_mls;
use crate::mls::extensions::EraExtension;
use crate::outbound::{
    HANDSHAKE, PendingCommit, authenticated_data, envelope, epoch_authenticator,
};
use crate::records::{PendingKind, PendingRecord};
use crate::suite::negotiate;

/// Implements [`Device::new_era`].
pub(crate) fn new_era(
    device: &mut Device,
    id: &ConversationId,
    participants: &[ParticipantKeyPackages],
) -> Result<PendingCommit, ClientError> {
    let mut record = device.active_record(id)?;
    if record.pending.is_some() {
        return Err(ClientError::CommitPending);
    }
    let era = record
        .era
        .checked_add(1)
        .ok_or_else(|| ClientError::InvalidRequest("no era after u32::MAX".into()))?;
    let (devices, verified) = match device.check_participants(participants) {
        Ok(checked) => checked,
        Err(e) => return device.keep_fork_alert(Err(e)),
    };
    let preference = device.record.suites.clone();
    let suite = negotiate(
        &preference,
        |s| {
            devices
                .iter()
                .all(|d| d.iter().any(|(suite, _)| *suite == s))
        },
        &device.config.suites,
    )
    .ok_or(ClientError::NoCommonSuite)?;
    let chosen: Vec<_> = devices
        .into_iter()
        .filter_map(|d| d.into_iter().find(|(s, _)| *s == suite))
        .map(|(_, checked)| checked.message)
        .collect();
    let client = device.staging_client(suite)?;
    // GROUP-META-8: the encrypted subject and icon stay.
    let carried = device.carried_metadata_commitments(id);
    let commit_id = device.new_message_id();
    let welcome_id = device.new_message_id();
    let aad = authenticated_data(&commit_id, era, None);
    let result = device.atomically(|device| {
        device.stage_transparency(&verified)?;
        device.discard_staged_group(id)?;
        let now = now_mls(device);
        let mut extensions = ExtensionList::new();
        extensions
            .set_from(EraExtension { era })
            .map_err(internal)?;
        for commitment in carried {
            extensions.set(commitment);
        }
        let mut group = client
            .create_group_with_id(
                id.as_bytes().to_vec(),
                extensions,
                ExtensionList::new(),
                Some(now),
            )
            .map_err(internal)?;
        let auth = epoch_authenticator(&group)?;
        let output = chosen
            .into_iter()
            .try_fold(
                group
                    .commit_builder()
                    .authenticated_data(aad)
                    .commit_time(now),
                |b, kp| b.add_member(kp),
            )
            .and_then(|b| b.build())
            .map_err(commit_error)?;
        group.write_to_storage().map_err(internal)?;
        let commit = envelope(
            commit_id,
            HANDSHAKE,
            record.kind,
            era,
            auth,
            output.commit_message(),
        )?;
        let welcome = output
            .welcome_messages()
            .first()
            .map(|w| envelope(welcome_id, HANDSHAKE, record.kind, era, auth, w))
            .transpose()?;
        let group_info = output
            .external_commit_group_info()
            .ok_or_else(|| internal("commit output without GroupInfo"))?
            .to_bytes()
            .map_err(internal)?;
        let ratchet_tree = crate::conversation::tree_bytes(&output)?;
        record.pending = Some(PendingRecord {
            message_id: commit.message_id.clone(),
            commit: commit.envelope.clone().into(),
            welcome: welcome.as_ref().map(|w| w.envelope.clone().into()),
            welcome_message_id: welcome.as_ref().map(|w| w.message_id.clone()),
            group_info: group_info.clone().into(),
            ratchet_tree: ratchet_tree.clone().into(),
            kind: PendingKind::NewEra { era, suite },
        });
        device.put_conversation(id, &record)?;
        tracing::info!(conversation = %id, era, suite = suite.code(), "new era staged");
        Ok(PendingCommit {
            conversation: id.clone(),
            commit,
            welcome,
            group_info,
            ratchet_tree,
            external: false,
        })
    });
    device.keep_fork_alert(result)
}
