//! Submissions: the RCC.16 server checks, ordering and fan-out.
//!
//! The hub of a conversation (the provider whose device created it) checks
//! and orders every handshake and application message; a follower
//! provider forwards its devices' submissions to the hub and relays the
//! verdict. Nothing is stored unless every check passed.

use std::sync::Arc;

use crosslock_wire::api::ds::{
    CatchUp, CatchUpRequest, CommitAccepted, DeviceRef, InboxItem, MessageAccepted, ServerReason,
    SubmitCommit, SubmitMessage,
};
use crosslock_wire::cpim::MlsEnvelope;
use mls_rs::group::ContentType;
use mls_rs::{MlsMessage, MlsMessageDescription, WireFormat};

use crate::error::DsError;
use crate::observer::{Observer, Snapshot};
use crate::service::{Ds, Lookup};
use crate::store::{
    Accepted, EpochOwner, Fanout, HostedConversation, Hosting, Member, NewState, Outcome, Pin,
};

/// Who submitted: a device homed here, or one a peer provider speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Submitter {
    pub(crate) device: DeviceRef,
    /// `None`: homed here; `Some(peer)`: forwarded by that peer.
    pub(crate) home: Option<String>,
}

impl Submitter {
    fn as_member(&self) -> Member {
        Member {
            device: self.device.clone(),
            home: self.home.clone(),
        }
    }
}

/// A CPIM envelope and the MLS message in it.
struct Parsed {
    envelope: MlsEnvelope,
    message: MlsMessage,
    group_id: Vec<u8>,
    epoch: u64,
}

fn unparsable(e: impl std::fmt::Display) -> DsError {
    DsError::refused(ServerReason::UnparsableCommit, e.to_string())
}

fn parse(bytes: &[u8]) -> Result<Parsed, DsError> {
    let envelope = MlsEnvelope::decode(bytes).map_err(|e| unparsable(format!("CPIM: {e}")))?;
    let message =
        MlsMessage::from_bytes(&envelope.body).map_err(|e| unparsable(format!("MLS: {e}")))?;
    let group_id = message
        .group_id()
        .ok_or_else(|| unparsable("not a group message"))?
        .to_vec();
    let epoch = message
        .epoch()
        .ok_or_else(|| unparsable("not a group message"))?;
    Ok(Parsed {
        envelope,
        message,
        group_id,
        epoch,
    })
}

/// The rate-limit key of a device.
fn rate_key(device: &DeviceRef) -> String {
    format!("{}#{}", device.number, device.device)
}

fn is_member(conversation: &HostedConversation, who: &Submitter) -> bool {
    conversation
        .members
        .iter()
        .any(|m| m.device == who.device && m.home == who.home)
}

/// Every member device except `except`.
fn others(members: &[Member], except: &DeviceRef) -> impl Iterator<Item = Member> {
    members
        .iter()
        .filter(move |m| &m.device != except)
        .cloned()
        .collect::<Vec<_>>()
        .into_iter()
}

fn fanout_to(
    members: impl Iterator<Item = Member>,
    envelope: &Parsed,
    bytes: &[u8],
) -> Vec<Fanout> {
    members
        .map(|recipient| Fanout {
            recipient,
            message_id: envelope.envelope.message_id.clone(),
            envelope: bytes.to_vec(),
            ratchet_tree: None,
        })
        .collect()
}

impl Ds {
    fn members_with_homes(&self, snapshot: &Snapshot, now: u64) -> Result<Vec<Member>, DsError> {
        snapshot
            .members
            .iter()
            .map(|(device, chain)| {
                Ok(Member {
                    device: device.clone(),
                    home: self.home_of(chain, now)?,
                })
            })
            .collect()
    }

    /// The epoch authenticator rule (DS-AUTH-2): an application message or
    /// proposal whose `mls.Epoch-Authenticator` differs from its epoch's
    /// pin is refused; it changes nothing and blocks no one else. Only the
    /// device that opened the epoch sets the pin (DS-AUTH-1), so no other
    /// member can poison it; until that device speaks nothing is checked.
    fn check_authenticator(
        &self,
        conversation: &HostedConversation,
        parsed: &Parsed,
    ) -> Result<(), DsError> {
        let pinned =
            self.pinned_authenticator(&conversation.group_id, conversation.era, parsed.epoch)?;
        match pinned {
            Some(p) if p != parsed.envelope.epoch_authenticator => Err(DsError::refused(
                ServerReason::IncorrectEpochAuthenticator,
                format!("epoch {} has another authenticator", parsed.epoch),
            )),
            _ => Ok(()),
        }
    }

    pub(crate) fn notify_local(&self, fanout: &[Fanout]) {
        let local: Vec<DeviceRef> = fanout
            .iter()
            .filter(|f| f.recipient.home.is_none())
            .map(|f| f.recipient.device.clone())
            .collect();
        self.notify(local);
        if fanout.iter().any(|f| f.recipient.home.is_some()) {
            self.federation.kick();
        }
    }

    // ---- commits ----------------------------------------------------------------

    /// A commit (with its Welcome and GroupInfo) from `who`.
    pub(crate) async fn submit_commit(
        self: &Arc<Self>,
        who: Submitter,
        request: SubmitCommit,
        now: u64,
    ) -> Result<CommitAccepted, DsError> {
        self.device_rate.take(rate_key(&who.device).as_bytes())?;
        let parsed = parse(&request.commit.0)?;
        match self.store.conversation(&parsed.group_id)? {
            Some(Hosting::Follower { hub }) if who.home.is_none() => {
                return self
                    .federation
                    .forward_commit(&hub, &who.device, request)
                    .await;
            }
            Some(Hosting::Follower { .. }) => return Err(DsError::UnknownConversation),
            _ => {}
        }
        let lock = self.handshake_lock(&parsed.group_id);
        let _guard = lock.lock().await;
        let ds = self.clone();
        let (answer, fanout) =
            tokio::task::spawn_blocking(move || ds.commit_at_hub(&who, parsed, &request, now))
                .await
                .map_err(|e| DsError::Internal(e.to_string()))??;
        self.notify_local(&fanout);
        Ok(answer)
    }

    fn commit_at_hub(
        &self,
        who: &Submitter,
        parsed: Parsed,
        request: &SubmitCommit,
        now: u64,
    ) -> Result<(CommitAccepted, Vec<Fanout>), DsError> {
        let welcome = request
            .welcome
            .as_ref()
            .map(|w| {
                let envelope = MlsEnvelope::decode(&w.0)
                    .map_err(|e| unparsable(format!("Welcome CPIM: {e}")))?;
                let message = MlsMessage::from_bytes(&envelope.body)
                    .map_err(|e| unparsable(format!("Welcome: {e}")))?;
                if message.wire_format() != WireFormat::Welcome {
                    return Err(unparsable("the welcome is not a Welcome"));
                }
                Ok(envelope)
            })
            .transpose()?;
        match (
            &parsed.message.description(),
            self.store.conversation(&parsed.group_id)?,
        ) {
            (
                MlsMessageDescription::PublicProtocolMessage {
                    content_type: ContentType::Commit,
                    ..
                },
                _,
            ) => {}
            (MlsMessageDescription::PrivateProtocolMessage { .. }, _) => {
                return Err(DsError::refused(
                    ServerReason::InvalidCommit,
                    "commits travel as PublicMessage (RCC.16)",
                ));
            }
            _ => return Err(unparsable("not a commit")),
        }
        let existing = match self.store.conversation(&parsed.group_id)? {
            Some(Hosting::Hub(c)) => Some(c),
            Some(Hosting::Follower { .. }) => return Err(DsError::UnknownConversation),
            None => None,
        };
        // A creation (epoch 0) of a higher era starts a new era; one of
        // the same era can only be the creation submitted again (its
        // answer lost): `create` acknowledges that one again (DS-RETRY-2).
        let creation = existing
            .as_ref()
            .is_some_and(|c| parsed.epoch == 0 && parsed.envelope.era >= c.era);
        match existing {
            Some(conversation) if !creation => {
                self.commit_existing(who, conversation, parsed, welcome, request, now)
            }
            previous => self.create(who, previous, parsed, welcome, request, now),
        }
    }

    /// A commit creating a conversation (or a new era of one), or the
    /// creation of the current era submitted again.
    fn create(
        &self,
        who: &Submitter,
        previous: Option<HostedConversation>,
        parsed: Parsed,
        welcome: Option<MlsEnvelope>,
        request: &SubmitCommit,
        now: u64,
    ) -> Result<(CommitAccepted, Vec<Fanout>), DsError> {
        if parsed.epoch != 0 {
            return Err(DsError::UnknownConversation);
        }
        if who.home.is_some() {
            // A conversation is hosted by its creator's provider.
            return Err(DsError::UnknownConversation);
        }
        if let Some(previous) = &previous
            && !is_member(previous, who)
        {
            return Err(DsError::NotAMember);
        }
        if let Some(previous) = &previous
            && previous.era == parsed.envelope.era
        {
            return self.creation_again(who, previous, &parsed, request);
        }
        // MLS-GI-1 / DS-TREE-1: the tree travels beside the GroupInfo;
        // mls-rs checks it against the GroupContext's tree hash.
        let group = self.observer.observe(
            &request.group_info.0,
            request.ratchet_tree.as_ref().map(|t| t.0.as_slice()),
            Some(now),
        )?;
        let context = group.group_context();
        if context.group_id != parsed.group_id || context.epoch != 1 {
            return Err(DsError::refused(
                ServerReason::MismatchedRcsGroupState,
                "the GroupInfo is not epoch 1 of this group",
            ));
        }
        let info = MlsMessage::from_bytes(&request.group_info.0)
            .map_err(unparsable)?
            .into_group_info()
            .ok_or_else(|| unparsable("group_info is not a GroupInfo"))?;
        if Observer::member_at(&group, info.sender())? != who.device {
            return Err(DsError::refused(
                ServerReason::InvalidCommit,
                "the GroupInfo is not signed by the submitting device",
            ));
        }
        let snapshot = Observer::snapshot(&group)?;
        if snapshot.era != parsed.envelope.era {
            return Err(DsError::refused(
                ServerReason::IncorrectEra,
                "mls.Era-ID differs from the group's era extension",
            ));
        }
        let members = self.members_with_homes(&snapshot, now)?;
        if !members.contains(&who.as_member()) {
            return Err(DsError::NotAMember);
        }
        // The tree as the observer holds it: the submitted one once
        // checked, or the one a GroupInfo of an older client carried
        // (MLS-GI-2).
        let tree = Observer::tree(&group)?;
        let fanout = match &welcome {
            Some(w) => others(&members, &who.device)
                .map(|recipient| Fanout {
                    recipient,
                    message_id: w.message_id.clone(),
                    envelope: w.encode(),
                    ratchet_tree: Some(tree.clone()),
                })
                .collect(),
            None => Vec::new(),
        };
        let conversation = HostedConversation {
            group_id: parsed.group_id.clone(),
            era: snapshot.era,
            epoch: snapshot.epoch,
            state: snapshot.state,
            group_info: request.group_info.0.clone(),
            ratchet_tree: tree,
            members,
            ended: snapshot.ended,
        };
        let accepted = Accepted {
            group_id: parsed.group_id.clone(),
            message_id: parsed.envelope.message_id.clone(),
            epoch: 0,
            new_state: None,
            // DS-AUTH-1: the creator opens epoch 1.
            opens: Some(EpochOwner {
                epoch: conversation.epoch,
                device: who.device.clone(),
            }),
            pin: None,
            fanout,
            at: now,
        };
        let outcome = self.store.create(&conversation, &accepted);
        self.forget(&conversation.group_id);
        let outcome = outcome?;
        tracing::info!(
            era = conversation.era,
            members = conversation.members.len(),
            "conversation created"
        );
        Ok((
            CommitAccepted {
                epoch: 1,
                duplicate: outcome == Outcome::Duplicate,
            },
            if outcome == Outcome::Stored {
                accepted.fanout
            } else {
                Vec::new()
            },
        ))
    }

    /// DS-RETRY-2: the current era's creation submitted again (its answer
    /// was lost), judged before any check of lifetimes or credentials at
    /// `now`: a creator back after weeks offline must hear "duplicate",
    /// never a refusal it would take for a verdict on a group that exists
    /// for everyone else. The DS keeps no creation commit to compare, so
    /// the creation's signed GroupInfo of epoch 1 (which binds the commit
    /// through its confirmed transcript hash) must be byte-identical; it
    /// is verified again as of its acceptance (so its signer is known),
    /// must be signed by the submitter, and the store answers `Duplicate`
    /// only for the message id it accepted. Anything else under a taken
    /// id is `ConversationExists`; the caller checked membership.
    fn creation_again(
        &self,
        who: &Submitter,
        previous: &HostedConversation,
        parsed: &Parsed,
        request: &SubmitCommit,
    ) -> Result<(CommitAccepted, Vec<Fanout>), DsError> {
        let creation = self
            .store
            .creation(&parsed.group_id)?
            .filter(|c| c.group_info == request.group_info.0)
            .ok_or(DsError::ConversationExists)?;
        let tree = creation
            .ratchet_tree
            .as_deref()
            .or(request.ratchet_tree.as_ref().map(|t| t.0.as_slice()));
        let group = self
            .observer
            .observe(&creation.group_info, tree, Some(creation.created_at))?;
        let info = MlsMessage::from_bytes(&creation.group_info)
            .map_err(unparsable)?
            .into_group_info()
            .ok_or_else(|| unparsable("group_info is not a GroupInfo"))?;
        if Observer::member_at(&group, info.sender())? != who.device {
            return Err(DsError::refused(
                ServerReason::InvalidCommit,
                "the GroupInfo is not signed by the submitting device",
            ));
        }
        // The store's contract: a message id it accepted answers
        // `Duplicate` and changes nothing; any other under this era's
        // taken group id is `ConversationExists`, nothing stored.
        let accepted = Accepted {
            group_id: parsed.group_id.clone(),
            message_id: parsed.envelope.message_id.clone(),
            epoch: 0,
            new_state: None,
            opens: None,
            pin: None,
            fanout: Vec::new(),
            at: creation.created_at,
        };
        match self.store.create(previous, &accepted)? {
            Outcome::Duplicate => Ok((
                CommitAccepted {
                    epoch: 1,
                    duplicate: true,
                },
                Vec::new(),
            )),
            _ => Err(DsError::Internal(
                "the store stored a creation over a taken group id".into(),
            )),
        }
    }

    fn commit_existing(
        &self,
        who: &Submitter,
        conversation: HostedConversation,
        parsed: Parsed,
        welcome: Option<MlsEnvelope>,
        request: &SubmitCommit,
        now: u64,
    ) -> Result<(CommitAccepted, Vec<Fanout>), DsError> {
        if parsed.envelope.era != conversation.era {
            return Err(DsError::refused(
                ServerReason::IncorrectEra,
                format!("the conversation is in era {}", conversation.era),
            ));
        }
        if conversation.ended {
            return Err(DsError::refused(
                ServerReason::EncryptionNotAvailable,
                "the conversation has left end-to-end encryption",
            ));
        }
        // Membership first: a non-member learns nothing, not even whether
        // some bytes are a commit the conversation accepted (DS-RETRY-1).
        if !is_member(&conversation, who) {
            return Err(DsError::NotAMember);
        }
        if parsed.epoch != conversation.epoch {
            // DS-RETRY-1: the commit that won this epoch, submitted again
            // byte for byte (its answer was lost), is acknowledged again
            // and fanned out no more; anything else for a past epoch, even
            // under the winner's message id, lost.
            if parsed.epoch < conversation.epoch {
                let won = self
                    .store
                    .commits(&conversation.group_id, parsed.epoch, 1)?;
                let resubmitted = parsed.envelope.encode();
                if won.first().is_some_and(|c| {
                    c.seq == parsed.epoch
                        && c.message_id == parsed.envelope.message_id
                        && c.envelope == resubmitted
                }) {
                    return Ok((
                        CommitAccepted {
                            epoch: parsed.epoch + 1,
                            duplicate: true,
                        },
                        Vec::new(),
                    ));
                }
            }
            return Err(DsError::refused(
                ServerReason::IncorrectEpoch,
                format!("the conversation is at epoch {}", conversation.epoch),
            ));
        }
        // DS-AUTH-3: a commit is judged on its MLS validity, never on its
        // `mls.Epoch-Authenticator`: the DS cannot compute the value, so
        // refusing on it would let whoever set the pin block the commit
        // that removes them.
        if request.external {
            let used = self
                .store
                .external_commits_since(&conversation.group_id, now.saturating_sub(86_400))?;
            if used >= self.config.external_commits_per_day {
                return Err(DsError::ExternalCommitLimit {
                    retry_after_secs: 3600,
                });
            }
        }
        let mut group = self.observer.load(&conversation.state)?;
        let checked = self.observer.commit(
            &mut group,
            parsed.message.clone(),
            &request.group_info.0,
            request.ratchet_tree.as_ref().map(|t| t.0.as_slice()),
            now,
        )?;
        if checked.external != request.external {
            return Err(DsError::refused(
                ServerReason::InvalidCommit,
                "external flag does not match the commit",
            ));
        }
        if checked.committer != who.device {
            return Err(DsError::refused(
                ServerReason::InvalidCommit,
                "the commit is not signed by the submitting device",
            ));
        }
        let after = checked.after;
        let tree = Observer::tree(&group)?;
        let members = self.members_with_homes(&after, now)?;
        let commit_bytes = parsed.envelope.encode();
        // The commit goes to every member of the epoch it ends (removed
        // devices learn they were removed); the Welcome to the devices it
        // adds.
        let mut fanout = fanout_to(
            others(&conversation.members, &who.device),
            &parsed,
            &commit_bytes,
        );
        if let Some(w) = &welcome {
            let bytes = w.encode();
            fanout.extend(
                members
                    .iter()
                    .filter(|m| !conversation.members.iter().any(|o| o.device == m.device))
                    .map(|recipient| Fanout {
                        recipient: recipient.clone(),
                        message_id: w.message_id.clone(),
                        envelope: bytes.clone(),
                        ratchet_tree: Some(tree.clone()),
                    }),
            );
        }
        let accepted = Accepted {
            group_id: conversation.group_id.clone(),
            message_id: parsed.envelope.message_id.clone(),
            epoch: conversation.epoch,
            new_state: Some(NewState {
                epoch: after.epoch,
                state: after.state,
                group_info: request.group_info.0.clone(),
                ratchet_tree: tree,
                members,
                ended: after.ended,
                commit: Some(commit_bytes),
                external: request.external,
            }),
            // DS-AUTH-1: the committer opens the new epoch. Its header is
            // its claim for the epoch it framed the commit in; a rejoiner's
            // (MLS-EXT-2) is for the epoch its commit creates, which it
            // owns, so that one pins at once.
            opens: Some(EpochOwner {
                epoch: after.epoch,
                device: who.device.clone(),
            }),
            pin: Some(Pin {
                epoch: if request.external {
                    after.epoch
                } else {
                    conversation.epoch
                },
                authenticator: parsed.envelope.epoch_authenticator,
                sender: who.device.clone(),
            }),
            fanout,
            at: now,
        };
        let outcome = self.store.accept(&accepted);
        // After the write: a concurrent lookup must not cache the old view.
        self.forget(&conversation.group_id);
        match outcome? {
            Outcome::Stored => Ok((
                CommitAccepted {
                    epoch: after.epoch,
                    duplicate: false,
                },
                accepted.fanout,
            )),
            Outcome::Duplicate => Ok((
                CommitAccepted {
                    epoch: after.epoch,
                    duplicate: true,
                },
                Vec::new(),
            )),
            Outcome::Conflict => Err(DsError::refused(
                ServerReason::IncorrectEpoch,
                "another commit won this epoch",
            )),
        }
    }

    // ---- application messages and proposals ---------------------------------------

    /// An application message or proposal from `who`.
    pub(crate) async fn submit_message(
        self: &Arc<Self>,
        who: Submitter,
        request: SubmitMessage,
        now: u64,
    ) -> Result<MessageAccepted, DsError> {
        if request.envelope.0.len() > self.config.max_message_bytes {
            return Err(DsError::TooLarge);
        }
        self.device_rate.take(rate_key(&who.device).as_bytes())?;
        let parsed = parse(&request.envelope.0)?;
        let proposal = match parsed.message.description() {
            MlsMessageDescription::PrivateProtocolMessage {
                content_type: ContentType::Application,
                ..
            } => false,
            MlsMessageDescription::PublicProtocolMessage {
                content_type: ContentType::Proposal,
                ..
            } => true,
            MlsMessageDescription::PublicProtocolMessage {
                content_type: ContentType::Commit,
                ..
            } => {
                return Err(DsError::Malformed(
                    "commits go to /v1/ds/commit with their GroupInfo".into(),
                ));
            }
            _ => {
                return Err(DsError::refused(
                    ServerReason::InvalidCommit,
                    "application messages travel as PrivateMessage, handshakes as PublicMessage (RCC.16)",
                ));
            }
        };
        let conversation = match self.lookup(&parsed.group_id)? {
            Some(Lookup::Hub(c)) => c,
            Some(Lookup::Follower(hub)) if who.home.is_none() => {
                return self
                    .federation
                    .forward_message(&hub, &who.device, request)
                    .await;
            }
            _ => return Err(DsError::UnknownConversation),
        };
        self.conversation_rate.take(&parsed.group_id)?;
        let _guard = if proposal {
            Some(self.handshake_lock(&parsed.group_id).lock_owned().await)
        } else {
            None
        };
        let ds = self.clone();
        let (answer, fanout) = tokio::task::spawn_blocking(move || {
            ds.message_at_hub(
                &who,
                conversation,
                parsed,
                proposal,
                &request.envelope.0,
                now,
            )
        })
        .await
        .map_err(|e| DsError::Internal(e.to_string()))??;
        self.notify_local(&fanout);
        Ok(answer)
    }

    fn message_at_hub(
        &self,
        who: &Submitter,
        conversation: Arc<HostedConversation>,
        parsed: Parsed,
        proposal: bool,
        bytes: &[u8],
        now: u64,
    ) -> Result<(MessageAccepted, Vec<Fanout>), DsError> {
        // Proposals are checked against the latest state (under the lock).
        let conversation = if proposal {
            match self.store.conversation(&conversation.group_id)? {
                Some(Hosting::Hub(c)) => Arc::new(c),
                _ => return Err(DsError::UnknownConversation),
            }
        } else {
            conversation
        };
        if parsed.envelope.era != conversation.era {
            return Err(DsError::refused(
                ServerReason::IncorrectEra,
                format!("the conversation is in era {}", conversation.era),
            ));
        }
        if conversation.ended {
            return Err(DsError::refused(
                ServerReason::EncryptionNotAvailable,
                "the conversation has left end-to-end encryption",
            ));
        }
        if !is_member(&conversation, who) {
            return Err(DsError::NotAMember);
        }
        // Late messages of earlier epochs are relayed (members keep old
        // epoch secrets for a while); messages of future epochs are not.
        if parsed.epoch > conversation.epoch || (proposal && parsed.epoch != conversation.epoch) {
            return Err(DsError::refused(
                ServerReason::IncorrectEpoch,
                format!("the conversation is at epoch {}", conversation.epoch),
            ));
        }
        self.check_authenticator(&conversation, &parsed)?;
        let new_state = if proposal {
            let mut group = self.observer.load(&conversation.state)?;
            let after = self
                .observer
                .proposal(&mut group, parsed.message.clone(), now)?;
            Some(NewState {
                epoch: after.epoch,
                state: after.state,
                group_info: conversation.group_info.clone(),
                ratchet_tree: conversation.ratchet_tree.clone(),
                members: conversation.members.clone(),
                ended: after.ended,
                commit: None,
                external: false,
            })
        } else {
            None
        };
        let accepted = Accepted {
            group_id: conversation.group_id.clone(),
            message_id: parsed.envelope.message_id.clone(),
            epoch: if proposal {
                conversation.epoch
            } else {
                parsed.epoch
            },
            new_state,
            opens: None,
            pin: Some(Pin {
                epoch: parsed.epoch,
                authenticator: parsed.envelope.epoch_authenticator,
                sender: who.device.clone(),
            }),
            fanout: fanout_to(others(&conversation.members, &who.device), &parsed, bytes),
            at: now,
        };
        let outcome = self.store.accept(&accepted);
        if accepted.new_state.is_some() {
            self.forget(&conversation.group_id);
        }
        match outcome? {
            Outcome::Stored => Ok((MessageAccepted { duplicate: false }, accepted.fanout)),
            Outcome::Duplicate => Ok((MessageAccepted { duplicate: true }, Vec::new())),
            Outcome::Conflict => Err(DsError::refused(
                ServerReason::IncorrectEpoch,
                "a commit moved the conversation on",
            )),
        }
    }

    // ---- catch-up -------------------------------------------------------------

    /// The commits of a conversation from an epoch on, for a member that
    /// missed them (RCC.16 recovery, first step).
    pub(crate) async fn catch_up(
        self: &Arc<Self>,
        who: Submitter,
        request: CatchUpRequest,
    ) -> Result<CatchUp, DsError> {
        let conversation = match self.store.conversation(&request.group_id.0)? {
            Some(Hosting::Hub(c)) => c,
            Some(Hosting::Follower { hub }) if who.home.is_none() => {
                return self
                    .federation
                    .forward_catch_up(&hub, &who.device, request)
                    .await;
            }
            _ => return Err(DsError::UnknownConversation),
        };
        if !is_member(&conversation, &who) {
            return Err(DsError::NotAMember);
        }
        let store = self.store.clone();
        let commits = tokio::task::spawn_blocking(move || {
            store.commits(&request.group_id.0, request.from_epoch, 1000)
        })
        .await
        .map_err(|e| DsError::Internal(e.to_string()))??;
        Ok(CatchUp {
            era: conversation.era,
            epoch: conversation.epoch,
            commits: commits
                .into_iter()
                .map(|c| InboxItem {
                    seq: c.seq,
                    message_id: c.message_id,
                    envelope: c.envelope.into(),
                    ratchet_tree: None,
                })
                .collect(),
            group_info: conversation.group_info.into(),
            ratchet_tree: (!conversation.ratchet_tree.is_empty())
                .then(|| conversation.ratchet_tree.into()),
        })
    }
}
