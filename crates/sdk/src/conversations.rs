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

/// How many times a commit whose outcome is unknown is submitted again
/// at once (1 s, then 2 s apart) before it is left to the next sync.
const RESUBMISSIONS: u64 = 2;

/// What became of a submitted commit.
pub(crate) enum Outcome {
    /// Accepted (perhaps on an earlier try): the new epoch.
    Accepted(u64),
    /// The delivery service judged this commit and refused it: it never
    /// wins. The staged state was dropped.
    Refused(SdkError),
    /// Not known: no answer came, or one that does not say. The commit
    /// stays pending (the client core keeps it across a restart).
    /// `answered`: this device's provider answered (a conversation's hub
    /// or a gateway behind it did not).
    Unknown { error: SdkError, answered: bool },
}

/// Reads the delivery service's answer to a commit. `after_unknown`: an
/// earlier try of the same commit may have been accepted.
///
/// A 4xx answer is a verdict on this commit (a commit that already won
/// its epoch is acknowledged again when resubmitted byte for byte,
/// DS-RETRY-1..2, so a refusal means it did not win), except 429 (not
/// looked at). A 429 or 5xx says the delivery service stored nothing
/// now, which settles a first try but not a retry; 502 and 504 (a hub or
/// gateway that did not answer) and no answer at all settle nothing.
fn outcome(result: Result<u64, SdkError>, after_unknown: bool) -> Outcome {
    match result {
        Ok(epoch) => Outcome::Accepted(epoch),
        Err(error @ SdkError::Server { status, .. }) => {
            let judged = (400..500).contains(&status) && status != 429;
            let nothing_stored = status == 429 || (status >= 500 && status != 502 && status != 504);
            if judged || (nothing_stored && !after_unknown) {
                Outcome::Refused(error)
            } else {
                Outcome::Unknown {
                    error,
                    answered: true,
                }
            }
        }
        Err(error) => Outcome::Unknown {
            error,
            answered: false,
        },
    }
}

/// Submits a pending commit until its outcome is known (the identical
/// request again while it is not, a few times) and applies it: accepted,
/// the epoch moves on; refused, the staged state is dropped; unknown, it
/// stays pending for [`settle_pending`]. `after_unknown`: it may have
/// been submitted before (a pending commit found on the device).
pub(crate) async fn resolve(
    m: &mut Messenger,
    pending: &PendingCommit,
    mut after_unknown: bool,
    resubmissions: u64,
) -> Result<Outcome, SdkError> {
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
    let mut tries = 0;
    loop {
        let result = ds.commit(&request).await.map(|a| a.epoch);
        match outcome(result, after_unknown) {
            Outcome::Accepted(epoch) => {
                m.device.commit_accepted(pending)?;
                m.credential_presented(&pending.conversation);
                return Ok(Outcome::Accepted(epoch));
            }
            Outcome::Refused(error) => {
                m.device.commit_rejected(pending)?;
                return Ok(Outcome::Refused(error));
            }
            Outcome::Unknown { error, .. } if tries < resubmissions => {
                tries += 1;
                after_unknown = true;
                tracing::info!(error = %error, tries, "commit outcome unknown; submitting it again");
                tokio::time::sleep(std::time::Duration::from_secs(tries)).await;
            }
            unknown => return Ok(unknown),
        }
    }
}

/// Submits a pending commit and applies the verdict: accepted, the epoch
/// moves on; refused by the delivery service, the staged state is
/// dropped; when the answer is lost, the same commit is submitted again,
/// and if the outcome is still unknown the commit stays pending (the
/// error is of kind `network`) until the next sync settles it.
pub(crate) async fn submit(m: &mut Messenger, pending: &PendingCommit) -> Result<u64, SdkError> {
    match resolve(m, pending, false, RESUBMISSIONS).await? {
        Outcome::Accepted(epoch) => Ok(epoch),
        Outcome::Refused(e) => Err(match e {
            SdkError::Server { .. } => SdkError::refused(format!(
                "the delivery service refused the commit: {e}; sync and try again"
            )),
            other => other,
        }),
        Outcome::Unknown { error, .. } => Err(unknown(&error)),
    }
}

fn unknown(error: &SdkError) -> SdkError {
    SdkError::network(format!(
        "no verdict on the commit ({error}): it may have been accepted, so it stays pending \
         and the next sync submits it again; sync before changing the conversation"
    ))
}

/// How long one sync may spend settling pending commits in all (seconds):
/// a hub that holds its answer must not hold this device's inbox up.
const SETTLE_BUDGET_SECS: u64 = 10;

/// The first wait before a silent hub is asked again, doubled after each
/// silence up to [`SETTLE_MAX_WAIT_SECS`] (seconds).
const SETTLE_FIRST_WAIT_SECS: u64 = 30;
const SETTLE_MAX_WAIT_SECS: u64 = 3_600;

/// Per conversation (hex id): when its pending commit is tried again, and
/// how many times its hub stayed silent.
#[derive(Debug, Default)]
pub(crate) struct SettleSchedule(std::collections::HashMap<String, (u64, u32)>);

impl SettleSchedule {
    fn due(&self, key: &str, now: u64) -> bool {
        self.0.get(key).is_none_or(|&(at, _)| at <= now)
    }

    /// SDK-SETTLE-1: one more silence: the next try waits 30 s, then
    /// doubles, up to an hour.
    fn silent(&mut self, key: String, now: u64) {
        let entry = self.0.entry(key).or_insert((now, 0));
        entry.1 = entry.1.saturating_add(1);
        let wait = SETTLE_FIRST_WAIT_SECS
            .saturating_mul(1u64 << (entry.1 - 1).min(20))
            .min(SETTLE_MAX_WAIT_SECS);
        entry.0 = now.saturating_add(wait);
    }

    fn settled(&mut self, key: &str) {
        self.0.remove(key);
    }
}

/// Settles every commit the client core still holds pending (its answer
/// was lost, or the app died waiting for it): submits it again, byte for
/// byte, and applies the verdict (DS-RETRY-1..2). Runs before the inbox
/// is fetched, so an accepted commit is applied before the messages of
/// the epoch it opened are read. Fails, and nothing may be fetched, when
/// this device's provider does not answer; a commit whose hub answers
/// neither way stays pending and the sync goes on (another provider must
/// not hold this device's inbox up).
///
/// SDK-SETTLE-1: one attempt per pending commit per sync; a hub that
/// stayed silent is asked again after a backoff (30 s doubling to an
/// hour), and all attempts of one sync share a budget of
/// [`SETTLE_BUDGET_SECS`]: an attempt cut off by it counts as silence.
pub(crate) async fn settle_pending(m: &mut Messenger) -> Result<(), SdkError> {
    let budget = std::time::Duration::from_secs(SETTLE_BUDGET_SECS);
    let deadline = tokio::time::Instant::now() + budget;
    for id in m.device.conversations()? {
        // A local failure is logged, never allowed to hold the inbox up.
        let pending = match m.device.pending_commit(&id) {
            Ok(Some(pending)) => pending,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(conversation = %id, error = %e, "pending commit not read");
                continue;
            }
        };
        let key = hex::encode(id.as_bytes());
        let now = m.env.clock.now();
        if !m.settle_schedule.due(&key, now) {
            continue;
        }
        let attempt = tokio::time::timeout_at(deadline, resolve(m, &pending, true, 0)).await;
        match attempt {
            Ok(Ok(Outcome::Accepted(epoch))) => {
                m.settle_schedule.settled(&key);
                tracing::info!(conversation = %id, epoch, "pending commit was accepted");
            }
            Ok(Ok(Outcome::Refused(e))) => {
                m.settle_schedule.settled(&key);
                tracing::info!(conversation = %id, error = %e, "pending commit was refused");
            }
            Ok(Ok(Outcome::Unknown {
                error,
                answered: false,
            })) => return Err(unknown(&error)),
            Ok(Ok(Outcome::Unknown { error, .. })) => {
                m.settle_schedule.silent(key, now);
                tracing::warn!(conversation = %id, error = %error, "pending commit still unsettled");
            }
            Ok(Err(e)) => {
                m.settle_schedule.silent(key, now);
                tracing::warn!(conversation = %id, error = %e, "pending commit not settled");
            }
            Err(_) => {
                m.settle_schedule.silent(key, now);
                tracing::warn!(conversation = %id, "pending commit unsettled within this sync's budget");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod settle_tests {
    use super::*;

    #[test]
    fn a_silent_hub_is_asked_again_later_and_later() {
        let mut s = SettleSchedule::default();
        assert!(s.due("g", 100));
        s.silent("g".into(), 100);
        assert!(!s.due("g", 129) && s.due("g", 130));
        s.silent("g".into(), 130);
        assert!(!s.due("g", 189) && s.due("g", 190));
        for _ in 0..30 {
            s.silent("g".into(), 1_000);
        }
        assert!(!s.due("g", 1_000 + 3_599) && s.due("g", 1_000 + 3_600));
        assert!(s.due("other", 0));
        s.settled("g");
        assert!(s.due("g", 0));
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

/// The 1:1 conversation with `peer`, if there is one: a conversation
/// the client core holds to be a 1:1 (GID-3: never one it joined as a
/// group, or one that has had a third number), still encrypted, whose
/// members are now exactly this device's number and `peer` (both there).
/// A group shared with `peer` is never returned, whatever its shape: a
/// message meant for `peer` alone must not reach anyone else.
pub(crate) fn one_to_one(
    m: &mut Messenger,
    peer: &PhoneNumber,
) -> Result<Option<ConversationId>, SdkError> {
    let own = m.device.number().clone();
    if *peer == own {
        return Ok(None);
    }
    for id in m.device.conversations()? {
        let state = m.device.security_state(&id)?;
        let numbers: Vec<&PhoneNumber> = state.members.keys().collect();
        if state.kind == ConversationKind::OneToOne
            && state.encrypted
            && numbers.len() == 2
            && numbers.contains(&peer)
            && numbers.contains(&&own)
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
