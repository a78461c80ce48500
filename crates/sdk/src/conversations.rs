//! Conversations: claiming KeyPackages, creating 1:1s and groups,
//! membership changes, and submitting commits with the delivery service's
//! verdict applied (the client core stages, the DS decides).

use crosslock_client::credential::PhoneNumber;
use crosslock_client::{
    ConversationId, ConversationKind, NewConversation, ParticipantKeyPackages, PendingCommit,
};
use crosslock_wire::api::ds::SubmitCommit;

use crate::error::SdkError;
use crate::messenger::Messenger;

/// How many times a claim waits for the peer's keys to be published.
const CLAIM_RETRIES: u32 = 5;

/// Parses a number the caller typed, saying how to write one. The error
/// names the input redacted (no raw number in any error message).
pub(crate) fn number(text: &str) -> Result<PhoneNumber, SdkError> {
    PhoneNumber::parse(text).map_err(|e| {
        SdkError::input(format!(
            "not a phone number ({e}); use +E.164, e.g. +447700900123"
        ))
    })
}

/// Submits a pending commit and applies the verdict: accepted, the epoch
/// moves on; refused, the staged state is dropped.
pub(crate) async fn submit(m: &mut Messenger, pending: &PendingCommit) -> Result<u64, SdkError> {
    let ds = m.ds()?;
    let request = SubmitCommit {
        commit: pending.commit.envelope.clone().into(),
        welcome: pending.welcome.as_ref().map(|w| w.envelope.clone().into()),
        group_info: pending.group_info.clone().into(),
        // Empty only for a commit staged by an older version, whose
        // GroupInfo carries the tree in its extension (MLS-GI-2).
        ratchet_tree: (!pending.ratchet_tree.is_empty())
            .then(|| pending.ratchet_tree.clone().into()),
        external: pending.external,
    };
    match ds.commit(&request).await {
        Ok(accepted) => {
            m.device.commit_accepted(pending)?;
            m.credential_presented(&pending.conversation);
            Ok(accepted.epoch)
        }
        Err(e) => {
            m.device.commit_rejected(pending)?;
            Err(match e {
                SdkError::Server { .. } => SdkError::refused(format!(
                    "the delivery service refused the commit: {e}; sync and try again"
                )),
                other => other,
            })
        }
    }
}

/// Claims `number`'s KeyPackages; the client core checks the credentials
/// and the transparency proof when they are used.
pub(crate) async fn claim(
    m: &mut Messenger,
    number: &PhoneNumber,
) -> Result<ParticipantKeyPackages, SdkError> {
    let token = m.token()?.to_owned();
    // A number enrolled moments ago is claimable once its home's log has
    // published it (the KDS says so, and when to retry): wait that long,
    // a few times, rather than fail the user's first message.
    let mut tries = 0;
    let answer = loop {
        match m.api.claim(&token, number.as_str()).await {
            Err(e) if e.server_code() == Some("kt-not-yet-published") && tries < CLAIM_RETRIES => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            other => break other?,
        }
    };
    if answer.devices.is_empty() {
        return Err(SdkError::refused(format!(
            "{} has no enrolled device with KeyPackages",
            number.redacted()
        )));
    }
    Ok(ParticipantKeyPackages::from_claim(&answer)?)
}

/// The 1:1 conversation with `peer`, if there is one.
pub(crate) fn one_to_one(
    m: &mut Messenger,
    peer: &PhoneNumber,
) -> Result<Option<ConversationId>, SdkError> {
    for id in m.device.conversations()? {
        let state = m.device.security_state(&id)?;
        if state.kind == ConversationKind::OneToOne
            && state.encrypted
            && state.members.contains_key(peer)
        {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// What starting a conversation did.
#[derive(Debug, Clone)]
pub struct Started {
    /// The conversation.
    pub conversation: ConversationId,
    /// Its epoch once the delivery service accepted it; `None` when it
    /// already existed.
    pub epoch: Option<u64>,
}

/// The 1:1 with `peer`, created (and announced) when there is none.
pub(crate) async fn open_chat(m: &mut Messenger, peer: &str) -> Result<Started, SdkError> {
    let peer = number(peer)?;
    if let Some(id) = one_to_one(m, &peer)? {
        return Ok(Started {
            conversation: id,
            epoch: None,
        });
    }
    let participants = claim(m, &peer).await?;
    start(m, NewConversation::OneToOne, &[participants]).await
}

/// A group with every device of each member.
pub(crate) async fn create_group(
    m: &mut Messenger,
    members: &[String],
) -> Result<Started, SdkError> {
    let mut participants = Vec::new();
    for member in members {
        let n = number(member)?;
        participants.push(claim(m, &n).await?);
    }
    let group_id: [u8; 16] = m.env.random();
    let group = NewConversation::Group {
        group_id: group_id.to_vec(),
    };
    start(m, group, &participants).await
}

/// Creates the conversation, has the DS accept it, and relays this
/// device's own lookup proof into it (KT-MEMBER-4).
async fn start(
    m: &mut Messenger,
    kind: NewConversation,
    participants: &[ParticipantKeyPackages],
) -> Result<Started, SdkError> {
    let pending = m.device.create_conversation(kind, participants)?;
    let id = pending.conversation.clone();
    let epoch = submit(m, &pending).await?;
    announce_own_proof(m, &id).await?;
    Ok(Started {
        conversation: id,
        epoch: Some(epoch),
    })
}

/// Adds every device of `member`; returns the new epoch.
pub(crate) async fn add_member(
    m: &mut Messenger,
    id: &ConversationId,
    member: &str,
) -> Result<u64, SdkError> {
    let n = number(member)?;
    let participant = claim(m, &n).await?;
    let pending = m.device.add_participants(id, &[participant])?;
    submit(m, &pending).await
}

/// Removes every device of `member`; returns the new epoch.
pub(crate) async fn remove_member(
    m: &mut Messenger,
    id: &ConversationId,
    member: &str,
) -> Result<u64, SdkError> {
    let n = number(member)?;
    let pending = m.device.remove_participant(id, &n)?;
    submit(m, &pending).await
}

/// Removes one device of a participant (a lost or retired phone).
pub(crate) async fn remove_device(
    m: &mut Messenger,
    id: &ConversationId,
    member: &PhoneNumber,
    device_id: &str,
) -> Result<u64, SdkError> {
    let pending = m.device.remove_device(id, member, device_id)?;
    submit(m, &pending).await
}

/// Asks to leave (SelfRemove): the next commit by another member applies it.
pub(crate) async fn leave(m: &mut Messenger, id: &ConversationId) -> Result<(), SdkError> {
    let proposal = m.device.leave(id)?;
    m.ds()?.message(&proposal.envelope).await?;
    Ok(())
}

/// Looks up, and records, the members of `id` whose keys key
/// transparency has not proven yet (KT-MEMBER-3: sending waits for them).
/// Returns how many lookups were recorded.
pub(crate) async fn prove_members(
    m: &mut Messenger,
    id: &ConversationId,
) -> Result<usize, SdkError> {
    let needed = m.device.lookups_needed(id)?;
    for number in &needed {
        let answer = m.api.lookup(m.token()?, number.as_str()).await?;
        m.device.record_lookup(number, &answer)?;
        tracing::debug!(number = %number.redacted(), "key transparency: recorded a lookup proof");
    }
    Ok(needed.len())
}

/// Runs `op` (a send) once every member's keys are proven: looks up the
/// unproven members first, and when the client core still refuses
/// because a member's newest keys are not in a published epoch yet (a
/// contact who enrolled a moment ago), waits a second and looks again, a
/// few times (KT-MEMBER-3). A refuted member is never waited for.
pub(crate) async fn with_proven_members<T>(
    m: &mut Messenger,
    id: &ConversationId,
    mut op: impl FnMut(&mut crosslock_client::Device) -> Result<T, crosslock_client::ClientError>,
) -> Result<T, SdkError> {
    let mut tries = 0;
    loop {
        prove_members(m, id).await?;
        match op(&mut m.device) {
            Err(crosslock_client::ClientError::TransparencyBlocked(block))
                if block.refuted.is_empty() && tries < CLAIM_RETRIES =>
            {
                tries += 1;
                tracing::debug!(
                    unproven = block.unproven.len(),
                    "waiting for members' keys to be published"
                );
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            other => return Ok(other?),
        }
    }
}

/// Relays this device's own lookup proof into `id` (KT-MEMBER-4), so
/// members at other providers can prove its keys. Skipped (and logged)
/// when the provider has no transparency log or has not published this
/// device's keys yet; returns whether it was sent.
pub(crate) async fn announce_own_proof(
    m: &mut Messenger,
    id: &ConversationId,
) -> Result<bool, SdkError> {
    let own = m.settings.number.clone();
    let answer = match m.api.lookup(m.token()?, &own).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::info!(error = %e, "key transparency: own lookup proof not relayed");
            return Ok(false);
        }
    };
    let sent = match m.device.send_own_proof(id, &answer) {
        Ok(sent) => sent,
        Err(e) => {
            tracing::info!(error = %e, "key transparency: own lookup proof not relayed");
            return Ok(false);
        }
    };
    m.ds()?.message(&sent.outbound.envelope).await?;
    Ok(true)
}
