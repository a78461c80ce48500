//! Receiving: every check RCC.16 asks for, then MLS, then one atomic write
//! of the new state together with the decrypted message.
//!
//! Order of checks (cheapest and most specific first): envelope headers,
//! transport id = envelope id, replay ledger, era, commit-in-PrivateMessage,
//! epoch authenticator of the epoch the message was framed in, MLS
//! processing, authenticated data (message id and era bound inside MLS),
//! content decoding. Any refusal leaves the device state untouched.

use crosslock_credential::PhoneNumber;
use crosslock_wire::aad::{AuthenticatedData, Resend};
use crosslock_wire::content_type;
use crosslock_wire::cpim::{Message as CpimMessage, MlsEnvelope};
use crosslock_wire::file_info::FileInfo;
use crosslock_wire::ft_http::{self, Descriptor};
use crosslock_wire::imdn::FailureArm;
use crosslock_wire::inner::ApplicationPayload;
use crosslock_wire::message_id;
use crosslock_wire::mimi::{MessageId, MimiContent};
use crosslock_wire::rcc16;
use crosslock_wire::report::ReceiptEnvelope;
use crosslock_wire::status::MessageStatusReport;
use crosslock_wire::typing::IsComposing;
use mls_rs::error::MlsError;
use mls_rs::group::ContentType as MlsContentType;
use mls_rs::group::proposal::{Proposal, ProposalType};
use mls_rs::group::{
    CommitEffect, ProposalSender, ReceivedMessage as MlsReceived, Sender as MlsSender,
};
use mls_rs::mls_rules::ProposalInfo;
use mls_rs::{MlsMessage, WireFormat};

use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::{ConversationId, DeliveryId};
use crate::keypackages::now_mls;
use crate::ledger::seen::{message_key, welcome_content_key, welcome_id_key};
use crate::mls::MlsGroup;
use crate::mls::extensions::{EndMlsExtension, EraExtension};
use crate::mls::identity::LeafIdentity;
use crate::outbound::epoch_authenticator;
use crate::records::{self, ConversationRecord, ConversationStatus, InboxRecord};
use crate::store::Table;
use crate::suite::Suite;

/// Who sent something: a participant's device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sender {
    /// The participant.
    pub number: PhoneNumber,
    /// The device instance id.
    pub device: String,
}

impl From<LeafIdentity> for Sender {
    fn from(id: LeafIdentity) -> Self {
        Sender {
            number: id.number,
            device: id.device,
        }
    }
}

/// Decrypted content.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // moved once per message; boxing buys nothing
pub enum ReceivedContent {
    /// Plain text (`text/plain`, UTF-8): what deployed RCC.16 clients
    /// send, and what Crosslock sends where a member lacks its extras.
    Text(String),
    /// MIMI content with its message id.
    Mimi {
        /// The MIMI message id (computed from the authenticated sender).
        id: MessageId,
        /// The content.
        content: MimiContent,
    },
    /// Delivery/read statuses.
    Status(MessageStatusReport),
    /// A file's key container (RCC.16 protobuf FileInfo, strictly
    /// decoded). For a chat attachment (slot 1 or 2) the download follows
    /// in a descriptor ([`ReceivedContent::File`]); slots 3 and 4 carry the
    /// group subject and icon keys.
    FileInfo(FileInfo),
    /// A received file: an FT-HTTP descriptor paired with the sender's
    /// preceding FileInfo messages; what the app needs to download and
    /// decrypt ([`crate::file::decrypt_file`]).
    File(crate::file::ReceivedFile),
    /// A key delivery for the group subject or icon (a FileInfo in slot 3
    /// or 4 paired with its descriptor): download the ciphertext, then
    /// [`Device::open_group_metadata`].
    GroupMetadata(crate::group_metadata::MetadataDownload),
    /// A content type this version does not interpret.
    Other {
        /// Its media type.
        content_type: String,
        /// Its bytes.
        body: Vec<u8>,
    },
}

/// A decrypted application message. It stays in the device inbox until
/// [`Device::ack`]: a crash between decrypting and the application storing
/// it loses nothing ([`Device::undelivered`] returns it again).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    /// Inbox handle to acknowledge.
    pub delivery: DeliveryId,
    /// The conversation.
    pub conversation: ConversationId,
    /// The authenticated sender.
    pub sender: Sender,
    /// The transport message id.
    pub message_id: String,
    /// The original message this one resends, if any.
    pub resend_of: Option<String>,
    /// The content.
    pub content: ReceivedContent,
    /// When it was received (Unix seconds).
    pub received_at: u64,
}

/// A membership or key change that was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitEvent {
    /// The conversation.
    pub conversation: ConversationId,
    /// Who committed (None for an external commit we could not attribute).
    pub committer: Option<Sender>,
    /// The new epoch.
    pub epoch: u64,
    /// Devices added.
    pub added: Vec<Sender>,
    /// Devices removed.
    pub removed: Vec<Sender>,
    /// This device was removed: the conversation is over for it.
    pub removed_self: bool,
    /// The conversation left end-to-end encryption (`end_mls`).
    pub encryption_ended: bool,
    /// This was our own pending commit, echoed back by the server: it is
    /// now applied (as with [`Device::commit_accepted`]).
    pub own_commit: bool,
    /// We had a pending commit for the same epoch and this one won: ours
    /// was discarded; make it again if still wanted.
    pub superseded_pending: bool,
    /// An external commit: this device rejoined (RCC.16 recovery), its new
    /// leaf replacing its old one. It is still one device of the
    /// participant, and not listed in `removed`.
    pub rejoined: Option<Sender>,
    /// `MetadataKeysRequested`: this commit set 0xF007
    /// `group_metadata_keys_requested` and this device holds these current
    /// subject/icon keys: re-send each with
    /// [`Device::send_group_metadata_keys`] (its URL and expiry are here).
    pub metadata_keys_requested: Vec<crate::group_metadata::MetadataDownload>,
    /// WIRE-NEG-3: this commit changed the conversation's wire profile (a
    /// member without Crosslock's extras joined or dropped them from its
    /// leaf, or the last such member left); the new profile. Tell the user:
    /// on [`WireProfile::Deployed`] typing, encrypted receipts and
    /// transparency gossip stop.
    pub wire_profile_changed: Option<crate::wire_profile::WireProfile>,
}

/// What an incoming message turned out to be.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // moved once per message; boxing buys nothing
pub enum Received {
    /// An application message (text, receipt, …), held until acknowledged.
    Message(ReceivedMessage),
    /// A typing indicator: ephemeral, not stored.
    Typing {
        /// The conversation.
        conversation: ConversationId,
        /// Who is typing.
        sender: Sender,
        /// The indicator.
        indicator: IsComposing,
    },
    /// Key-transparency roots gossiped by a member were compared with
    /// ours, or a lookup proof a member relayed was recorded (not stored as
    /// a message). `alerts` lists what they revealed: a log that signed two
    /// roots for one epoch.
    Transparency {
        /// The conversation.
        conversation: ConversationId,
        /// Who gossiped.
        sender: Sender,
        /// Alerts raised (also in [`Device::transparency_alerts`]).
        alerts: Vec<crate::transparency::TransparencyAlert>,
    },
    /// A commit was applied.
    Commit(CommitEvent),
    /// A proposal arrived (e.g. a member asking to leave); when
    /// `commit_required`, call [`Device::commit_pending_proposals`].
    Proposal {
        /// The conversation.
        conversation: ConversationId,
        /// Who proposed.
        sender: Sender,
        /// Whether a commit is now needed before sending.
        commit_required: bool,
    },
    /// We were added to a conversation.
    Joined {
        /// The new conversation.
        conversation: ConversationId,
        /// Who added us.
        added_by: Sender,
        /// The conversation's suite.
        suite: Suite,
        /// Our KeyPackage stock fell below the threshold: refill.
        refill_key_packages: bool,
        /// The Welcome started a new era of a conversation we had: the era
        /// whose state it replaced.
        replaced_era: Option<u32>,
    },
    /// A member reported that it could not process one of the
    /// conversation's messages (a verified negative delivery IMDN, signed
    /// with an `rcs_signature`). If `sent_by_us`, call
    /// [`Device::resend_after_report`] (for reason 4, `failed-to-decrypt`,
    /// RCC.16's remedy: resend from the latest epoch).
    NegativeReport {
        /// The conversation.
        conversation: ConversationId,
        /// The transport id of the message that failed.
        failed_message_id: String,
        /// Why: the failure-reason arm, if the IMDN has one the signature
        /// covers (client reasons 1 to 6; RCPT-CONTENT-2).
        reason: Option<FailureArm>,
        /// The reporting member's device.
        reporter: Sender,
        /// The failed message is one this device sent (and still keeps).
        sent_by_us: bool,
    },
    /// A member's verified, signed delivery or display receipt.
    Receipt(crate::receipt::ReceiptEvent),
    /// A message this device already showed, arriving again through a
    /// resend link: a resend of an original already shown, or an original
    /// whose resend was shown. Nothing to show; it is acknowledged.
    Duplicate {
        /// The conversation.
        conversation: ConversationId,
        /// The transport id of the duplicate.
        message_id: String,
        /// The original message id it duplicates.
        original: String,
    },
}

/// RCV-KICK-1: whether the CPIM body is a `message/mls-rcs-server-kick`
/// (matched case-insensitively, parameters ignored).
fn is_server_kick(message: &CpimMessage) -> bool {
    message.content_type().is_some_and(|t| {
        t.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case(content_type::MLS_RCS_SERVER_KICK)
        })
    })
}

pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Maps an mls-rs processing failure to what the caller may learn.
fn process_error(e: MlsError, current: u64, received: Option<u64>) -> ClientError {
    match e {
        // The key for this generation was used and deleted: a replay.
        MlsError::KeyMissing(_) => ClientError::Replayed,
        MlsError::CantProcessMessageFromSelf => ClientError::Replayed,
        MlsError::EpochNotFound | MlsError::InvalidEpoch => ClientError::WrongEpoch {
            current,
            received: received.unwrap_or(current),
        },
        MlsError::CryptoProviderError(_)
        | MlsError::InvalidFutureGeneration(_)
        | MlsError::SerializationError(_)
        | MlsError::InvalidSender
        | MlsError::UnencryptedApplicationMessage => ClientError::DecryptionFailed,
        MlsError::IdentityProviderError(e) => {
            ClientError::InvalidHandshake(format!("credential refused: {e}"))
        }
        MlsError::MlsRulesError(e) => ClientError::InvalidHandshake(format!("rule violated: {e}")),
        // RCV-MLS-2: mls-rs refuses a past-epoch sender whose leaf changed since.
        // The prior-epoch sender check (a removed or replaced leaf).
        MlsError::MemberNotFound => ClientError::SenderRemovedSinceEpoch,
        other => ClientError::InvalidHandshake(other.to_string()),
    }
}

impl Device {
    /// Processes one incoming message delivered under `transport_message_id`.
    ///
    /// On success the new state and the decrypted message are stored in one
    /// transaction; on any error nothing changed. A Welcome needs the ratchet
    /// tree that travels beside it: deliver Welcomes with
    /// [`Device::receive_with_tree`] (here only one whose GroupInfo still
    /// carries the ratchet_tree extension joins).
    pub fn receive(
        &mut self,
        transport_message_id: &str,
        bytes: &[u8],
    ) -> Result<Received, ClientError> {
        self.receive_with_tree(transport_message_id, bytes, None)
    }

    /// [`Device::receive`] for a message that arrives with a ratchet tree
    /// beside it: the transport passes `InboxItem.ratchet_tree` (the tree of
    /// the epoch a Welcome joins, MLS-GI-1; an mls-rs `ExportedTree`).
    /// A Welcome joins with `ratchet_tree`, or, when its GroupInfo carries
    /// the ratchet_tree extension (older peers, MLS-GI-2), with that tree
    /// (mls-rs prefers it);
    /// mls-rs checks the tree against the GroupContext's tree hash, so a
    /// wrong tree refuses the Welcome and changes nothing. The tree is
    /// ignored for every other message.
    pub fn receive_with_tree(
        &mut self,
        transport_message_id: &str,
        bytes: &[u8],
        ratchet_tree: Option<&[u8]>,
    ) -> Result<Received, ClientError> {
        let message = CpimMessage::decode(bytes)?;
        if is_server_kick(&message) {
            // RCV-KICK-1: eviction is the server's business; membership
            // changes only by a commit.
            return Err(ClientError::ServerKickDropped);
        }
        if ReceiptEnvelope::is_receipt(&message) {
            return self.receive_receipt(transport_message_id, message);
        }
        let envelope = MlsEnvelope::from_message(message)?;
        // RCV-ID-1: the envelope's message id is the transport's.
        if envelope.message_id != transport_message_id {
            return Err(ClientError::MessageIdMismatch {
                transport: transport_message_id.to_owned(),
                authenticated: envelope.message_id,
            });
        }
        // RCV-MSGID-1: ids in a deployed form only (fact sheet §3a).
        message_id::classify(&envelope.message_id)?;
        if let Some(original) = &envelope.original_message_id {
            message_id::classify(original)?;
        }
        // MLS-PROP-1/2: a ServerRemove (from the server as an external
        // sender, or from anyone) and an rcs_signature sent as a group
        // message are dropped before MLS sees them.
        match rcc16::proposal::public_proposal_type(&envelope.body) {
            Some(rcc16::proposal::SERVER_REMOVE) => return Err(ClientError::ServerRemoveDropped),
            Some(rcc16::proposal::RCS_SIGNATURE) => return Err(ClientError::RcsSignatureDropped),
            _ => {}
        }
        // RCV-MLS-0: an MLS message (here), of a group we are in (below).
        let message = MlsMessage::from_bytes(&envelope.body)
            .map_err(|e| ClientError::Malformed(e.to_string()))?;
        match message.wire_format() {
            WireFormat::Welcome => self.join(&envelope, message, ratchet_tree),
            WireFormat::PublicMessage | WireFormat::PrivateMessage => {
                self.receive_group_message(&envelope, message)
            }
            other => Err(ClientError::Malformed(format!(
                "unexpected {other:?} in a message body"
            ))),
        }
    }

    fn receive_group_message(
        &mut self,
        envelope: &MlsEnvelope,
        message: MlsMessage,
    ) -> Result<Received, ClientError> {
        let group_id = message
            .group_id()
            .ok_or_else(|| ClientError::Malformed("no group id".into()))?;
        // RCV-MLS-0: a group we are in.
        let id = ConversationId::new(group_id.to_vec()).ok_or(ClientError::UnknownConversation)?;
        let record = self.conversation_record(&id)?;
        let transport_id = envelope.message_id.as_str();
        let seen_key = message_key(&id, transport_id);
        // RCV-REPLAY-1: not processed before (the 30-day ledger).
        if self.seen(&seen_key)? {
            return Err(ClientError::Replayed);
        }
        if let Some(pending) = &record.pending
            && pending.kind.replaces_group()
            && pending.message_id == transport_id
        {
            return self.replacement_echoed(&id, record, &envelope.body);
        }
        // RCV-ERA-1: the envelope's era is the conversation's.
        if envelope.era != record.era {
            return Err(ClientError::WrongEra {
                expected: record.era,
                received: envelope.era,
            });
        }
        // RCV-MEMBER-1: we are still a member.
        if record.status == ConversationStatus::Removed {
            return Err(ClientError::NotAMember);
        }
        // RCV-WF-1: no commit as a PrivateMessage, no application message as a PublicMessage.
        let (content_type, external_commit) = match message.description() {
            mls_rs::MlsMessageDescription::PrivateProtocolMessage { content_type, .. } => {
                if content_type == MlsContentType::Commit {
                    return Err(ClientError::CommitInPrivateMessage);
                }
                (content_type, false)
            }
            mls_rs::MlsMessageDescription::PublicProtocolMessage {
                content_type,
                sender,
                ..
            } => {
                if content_type == MlsContentType::Application {
                    return Err(ClientError::DecryptionFailed);
                }
                (content_type, matches!(sender, MlsSender::NewMemberCommit))
            }
            _ => return Err(ClientError::Malformed("not a group message".into())),
        };
        // RCV-END-1: no application message after end_mls.
        if content_type == MlsContentType::Application && record.status == ConversationStatus::Ended
        {
            return Err(ClientError::EncryptionEnded);
        }
        let received_epoch = message.epoch();
        let current = self.group(&id)?.current_epoch();
        // RCV-EPOCH-1: the epoch is current or a retained past one (WrongEpoch below).
        let expected_auth = match received_epoch {
            // RCV-AUTH-2 (MLS-EXT-2): an external commit is of the current epoch.
            // MLS-EXT-2: an external committer cannot know this epoch's
            // authenticator; it sends the one of the epoch its commit
            // creates, checked after processing.
            Some(e) if e == current && external_commit => envelope.epoch_authenticator.to_vec(),
            Some(e) if e == current => epoch_authenticator(self.group(&id)?)?.to_vec(),
            Some(e) if e < current && !external_commit => self
                .stored_epoch_authenticator(&id, e)?
                .ok_or(ClientError::WrongEpoch {
                    current,
                    received: e,
                })?,
            other => {
                return Err(ClientError::WrongEpoch {
                    current,
                    received: other.unwrap_or(current),
                });
            }
        };
        // RCV-AUTH-1: the header is the authenticator of the message's epoch.
        if !ct_eq(&expected_auth, &envelope.epoch_authenticator) {
            return Err(ClientError::EpochAuthenticatorMismatch);
        }
        let now = self.env.clock.now();
        let time = now_mls(self);
        let transport_id = transport_id.to_owned();
        let header_auth = envelope.epoch_authenticator;
        let original_header = envelope.original_message_id.clone();
        self.atomically(|device| {
            let mut shown_from = None;
            let group = device.group(&id)?;
            let had_pending = group.has_pending_commit();
            let prior_epoch = group.current_epoch();
            // RCV-MLS-1: MLS accepts it (signature, membership tag,
            // decryption, tree, MLS-* rules).
            let processed = group
                .process_incoming_message_with_time(message, time)
                .map_err(|e| process_error(e, prior_epoch, received_epoch))?;
            let event = match processed {
                MlsReceived::ApplicationMessage(app) => {
                    // RCV-AAD-1: the authenticated data binds the transport id and the era.
                    check_aad(&app.authenticated_data, &transport_id, record.era, true)?;
                    let sender = member_identity(group, app.sender_index)?;
                    let link = AuthenticatedData::decode(&app.authenticated_data)?.resend;
                    let resend_of = resend_link(link.as_ref(), original_header.as_deref())?;
                    // RCV-CONTENT-1: the inner payload decodes (its content in deliver).
                    let framed = ApplicationPayload::decode(app.data())
                        .map_err(|e| ClientError::Content(e.to_string()))?;
                    // RCV-GEN-1 (fact sheet §3b): the signed frame names
                    // the generation MLS decrypted with.
                    let decrypted = app
                        .unauthenticated_key_generation
                        .ok_or_else(|| internal("no key generation for a PrivateMessage"))?;
                    if framed.generation != decrypted {
                        return Err(ClientError::GenerationMismatch {
                            framed: framed.generation,
                            decrypted,
                        });
                    }
                    let payload = framed.payload;
                    group.write_to_storage().map_err(internal)?;
                    shown_from = Some(sender.clone());
                    let shown =
                        device.shown_already(&id, &sender, &transport_id, resend_of.as_deref())?;
                    if let Some(original) = shown {
                        Received::Duplicate {
                            conversation: id.clone(),
                            message_id: transport_id.clone(),
                            original,
                        }
                    } else {
                        if let Some(original) = &resend_of {
                            device.mark_resend_shown(&id, &sender, original, now);
                        }
                        device.deliver(
                            &id,
                            sender,
                            transport_id.clone(),
                            resend_of,
                            payload,
                            now,
                            prior_epoch,
                        )?
                    }
                }
                MlsReceived::Commit(commit) => {
                    if !commit.authenticated_data.is_empty() {
                        check_aad(&commit.authenticated_data, &transport_id, record.era, true)?;
                    }
                    let own = commit.committer == group.current_member_index() && had_pending;
                    let external = commit.is_external;
                    let event = device.apply_commit_effects(
                        &id,
                        record.clone(),
                        commit,
                        own,
                        had_pending,
                    )?;
                    // RCV-AUTH-2 (MLS-EXT-2): the header is the authenticator of
                    // the epoch the external commit created.
                    if external {
                        let auth = epoch_authenticator(device.group(&id)?)?;
                        if !ct_eq(&auth, &header_auth) {
                            return Err(ClientError::EpochAuthenticatorMismatch);
                        }
                    }
                    Received::Commit(event)
                }
                MlsReceived::Proposal(proposal) => {
                    // MLS-PROP-1/2: dropped before anything is stored.
                    if let Proposal::Custom(custom) = &proposal.proposal {
                        match custom.proposal_type() {
                            ProposalType::RCS_SERVER_REMOVE => {
                                return Err(ClientError::ServerRemoveDropped);
                            }
                            ProposalType::RCS_SIGNATURE => {
                                return Err(ClientError::RcsSignatureDropped);
                            }
                            _ => {}
                        }
                    }
                    // MLS-PROP-4: never cache what no commit may apply.
                    crate::mls::rules::check_standalone_proposal(
                        &proposal.proposal,
                        group.context(),
                    )
                    .map_err(|e| ClientError::InvalidHandshake(format!("rule violated: {e}")))?;
                    if !proposal.authenticated_data.is_empty() {
                        check_aad(
                            &proposal.authenticated_data,
                            &transport_id,
                            record.era,
                            true,
                        )?;
                    }
                    let sender = match proposal.sender {
                        ProposalSender::Member(index) => member_identity(group, index)?,
                        _ => {
                            return Err(ClientError::InvalidHandshake(
                                "proposal from a non-member".into(),
                            ));
                        }
                    };
                    let commit_required = group.commit_required();
                    group.write_to_storage().map_err(internal)?;
                    Received::Proposal {
                        conversation: id.clone(),
                        sender,
                        commit_required,
                    }
                }
                other => return Err(ClientError::Malformed(format!("unexpected {other:?}"))),
            };
            device.mark_seen(seen_key, now, shown_from.as_ref());
            Ok(event)
        })
    }

    /// Stores a decrypted application payload in the inbox (or, for typing,
    /// hands it straight over).
    #[allow(clippy::too_many_arguments)]
    fn deliver(
        &mut self,
        id: &ConversationId,
        sender: Sender,
        message_id: String,
        resend_of: Option<String>,
        payload: ApplicationPayload,
        now: u64,
        epoch: u64,
    ) -> Result<Received, ClientError> {
        let media_type = payload.media_type();
        if media_type == crate::transparency::KT_GOSSIP {
            let alerts = self.receive_gossip(&payload.body)?;
            return Ok(Received::Transparency {
                conversation: id.clone(),
                sender,
                alerts,
            });
        }
        if media_type == crate::transparency::KT_PROOF {
            let alerts = self.receive_proof(&sender.number, &payload.body)?;
            return Ok(Received::Transparency {
                conversation: id.clone(),
                sender,
                alerts,
            });
        }
        if media_type == content_type::IS_COMPOSING {
            let indicator = IsComposing::decode(&payload.body)
                .map_err(|e| ClientError::Content(e.to_string()))?;
            return Ok(Received::Typing {
                conversation: id.clone(),
                sender,
                indicator,
            });
        }
        // FILE-PAIR-1..3: a FileInfo is remembered, a descriptor paired.
        // GROUP-META-3..5: a subject/icon key delivery is checked and held,
        // its descriptor paired; anything else is a chat attachment's.
        let paired = match crate::group_metadata::pair_metadata_on_receive(
            self,
            id,
            &sender,
            &media_type,
            &payload.body,
        )? {
            Some(paired) => paired,
            None => crate::file::pair_on_receive(self, id, &sender, &media_type, &payload.body)?,
        };
        let record = InboxRecord {
            paired: paired.into_iter().map(Into::into).collect(),
            conversation: id.as_bytes().to_vec().into(),
            sender_number: sender.number.as_str().to_owned(),
            sender_device: sender.device.clone(),
            message_id,
            resend_of,
            content_type: media_type,
            body: payload.body.into(),
            received_at: now,
            epoch,
        };
        // Decode now: malformed content is refused before anything is stored.
        let message = self.inbox_message(DeliveryId(0), &record)?;
        let sequence = self.next_delivery_id()?;
        self.staged.put(
            Table::Inbox,
            sequence.0.to_be_bytes().to_vec(),
            records::encode(&record)?,
        );
        Ok(Received::Message(ReceivedMessage {
            delivery: sequence,
            ..message
        }))
    }

    fn next_delivery_id(&self) -> Result<DeliveryId, ClientError> {
        const COUNTER: &[u8] = b"inbox-sequence";
        let next = match self.staged.get(Table::Device, COUNTER)? {
            Some(v) => u64::from_be_bytes(v.try_into().map_err(|_| internal("inbox counter"))?) + 1,
            None => 1,
        };
        self.staged
            .put(Table::Device, COUNTER.to_vec(), next.to_be_bytes().to_vec());
        Ok(DeliveryId(next))
    }

    /// Rebuilds the typed message from an inbox record.
    fn inbox_message(
        &self,
        delivery: DeliveryId,
        record: &InboxRecord,
    ) -> Result<ReceivedMessage, ClientError> {
        let conversation = ConversationId::new(record.conversation.0.clone())
            .ok_or_else(|| internal("inbox record without conversation"))?;
        let number = PhoneNumber::parse(&record.sender_number).map_err(internal)?;
        let sender = Sender {
            number,
            device: record.sender_device.clone(),
        };
        let content = match record.content_type.as_str() {
            content_type::MIMI_CONTENT => {
                let content = MimiContent::decode(&record.body.0)
                    .map_err(|e| ClientError::Content(e.to_string()))?;
                // RCV-CONTENT-2: a MIMI senderUri is the authenticated sender.
                // A sender URI inside the content must be the authenticated one.
                if let Some(uri) = &content.extensions.sender_uri
                    && *uri != sender.number.tel_uri()
                {
                    return Err(ClientError::Content(
                        "sender URI does not match the MLS sender".into(),
                    ));
                }
                let id = content.message_id(&sender.number.tel_uri(), &conversation.room_uri());
                ReceivedContent::Mimi { id, content }
            }
            content_type::TEXT_PLAIN => ReceivedContent::Text(
                String::from_utf8(record.body.0.clone())
                    .map_err(|_| ClientError::Content("text/plain body is not UTF-8".into()))?,
            ),
            content_type::MIMI_MESSAGE_STATUS => ReceivedContent::Status(
                MessageStatusReport::decode(&record.body.0)
                    .map_err(|e| ClientError::Content(e.to_string()))?,
            ),
            content_type::MLS_RCS_FILE_INFO => ReceivedContent::FileInfo(
                FileInfo::decode(&record.body.0)
                    .map_err(|e| ClientError::Content(e.to_string()))?,
            ),
            ft_http::CONTENT_TYPE => {
                let descriptor = Descriptor::decode(&record.body.0)
                    .map_err(|e| ClientError::Content(e.to_string()))?;
                let paired: Vec<Vec<u8>> = record.paired.iter().map(|b| b.0.clone()).collect();
                match crate::group_metadata::metadata_download(&descriptor, &paired) {
                    Some(download) => ReceivedContent::GroupMetadata(download?),
                    None => {
                        ReceivedContent::File(crate::file::received_file(&descriptor, &paired)?)
                    }
                }
            }
            other => ReceivedContent::Other {
                content_type: other.to_owned(),
                body: record.body.0.clone(),
            },
        };
        Ok(ReceivedMessage {
            delivery,
            conversation,
            sender,
            message_id: record.message_id.clone(),
            resend_of: record.resend_of.clone(),
            content,
            received_at: record.received_at,
        })
    }

    /// Messages decrypted but not yet acknowledged, oldest first.
    pub fn undelivered(&self) -> Result<Vec<ReceivedMessage>, ClientError> {
        self.staged
            .scan(Table::Inbox, &[])?
            .into_iter()
            .map(|(k, v)| {
                let seq = u64::from_be_bytes(k.try_into().map_err(|_| internal("inbox key"))?);
                let record: InboxRecord = records::decode(&v)?;
                self.inbox_message(DeliveryId(seq), &record)
            })
            .collect()
    }

    /// The application has stored the message: drop it from the inbox.
    pub fn ack(&mut self, delivery: DeliveryId) -> Result<(), ClientError> {
        self.atomically(|device| {
            device
                .staged
                .delete(Table::Inbox, delivery.0.to_be_bytes().to_vec());
            Ok(())
        })
    }

    /// Applies what a processed commit means for the conversation record.
    fn apply_commit_effects(
        &mut self,
        id: &ConversationId,
        mut record: ConversationRecord,
        commit: mls_rs::group::CommitMessageDescription,
        own: bool,
        had_pending: bool,
    ) -> Result<CommitEvent, ClientError> {
        let group = self.group(id)?;
        let committer = group
            .member_at_index(commit.committer)
            .and_then(|m| LeafIdentity::of(&m.signing_identity).ok())
            .map(Sender::from);
        let rejoined = committer.clone().filter(|_| commit.is_external);
        let pending_id = record
            .pending
            .as_ref()
            .filter(|_| own)
            .map(|p| p.message_id.clone());
        let (new_epoch, removed_self) = match &commit.effect {
            CommitEffect::NewEpoch(e) => (e, false),
            CommitEffect::Removed { new_epoch, .. } => (new_epoch, true),
            CommitEffect::ReInit(_) => {
                return Err(ClientError::InvalidHandshake("ReInit is not used".into()));
            }
        };
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for ProposalInfo {
            proposal, sender, ..
        } in &new_epoch.applied_proposals
        {
            match proposal {
                Proposal::Add(add) => {
                    if let Ok(who) = LeafIdentity::of(add.signing_identity()) {
                        added.push(who.into());
                    }
                }
                Proposal::Remove(remove) => {
                    if let Some(m) = new_epoch.prior_state.member_at_index(remove.to_remove())
                        && let Ok(who) = LeafIdentity::of(&m.signing_identity)
                    {
                        removed.push(who.into());
                    }
                }
                Proposal::SelfRemove(_) => {
                    if let MlsSender::Member(index) = sender
                        && let Some(m) = new_epoch.prior_state.member_at_index(*index)
                        && let Ok(who) = LeafIdentity::of(&m.signing_identity)
                    {
                        removed.push(who.into());
                    }
                }
                _ => {}
            }
        }
        // A rejoined device replaced its own leaf: still a member.
        removed.retain(|r| Some(r) != rejoined.as_ref());
        let epoch = new_epoch.epoch;
        let prior_context = new_epoch.prior_state.context().extensions.clone();
        let prior_profile = crate::wire_profile::profile_of_roster(new_epoch.prior_state.roster());
        let superseded_pending = had_pending && !own;
        if group.has_pending_commit() {
            group.clear_pending_commit();
        }
        let context = group.context().extensions.clone();
        let profile = crate::wire_profile::profile_of(group);
        let wire_profile_changed = (!removed_self && profile != prior_profile).then_some(profile);
        group.write_to_storage().map_err(internal)?;
        // MLS-ERA-1 holds by the rules; check the stored era agrees anyway.
        let era = context
            .get_as::<EraExtension>()
            .ok()
            .flatten()
            .map(|e| e.era);
        if era != Some(record.era) {
            return Err(ClientError::InvalidHandshake(
                "commit left the era extension inconsistent".into(),
            ));
        }
        let encryption_ended = context.has_extension(EndMlsExtension::TYPE);
        if removed_self {
            record.status = ConversationStatus::Removed;
        } else if encryption_ended {
            record.status = ConversationStatus::Ended;
        }
        // A staged rejoin or new era of ours waits for its own verdict.
        record.pending = record.pending.filter(|p| p.kind.replaces_group());
        self.put_conversation(id, &record)?;
        // GROUP-META-1: our staged subject/icon change becomes current only
        // if this is our own commit echoed back.
        self.settle_staged_metadata(id, pending_id.as_deref())?;
        let mut metadata_keys_requested = Vec::new();
        if !removed_self {
            self.record_epoch_authenticator(id)?;
            self.observe_member_keys(id)?;
            if !own {
                metadata_keys_requested = self.metadata_keys_requested(id, &prior_context)?;
            }
        }
        Ok(CommitEvent {
            conversation: id.clone(),
            committer,
            epoch,
            added,
            removed,
            removed_self,
            encryption_ended,
            own_commit: own,
            superseded_pending,
            rejoined,
            metadata_keys_requested,
            wire_profile_changed,
        })
    }

    /// Joins a conversation from a Welcome.
    fn join(
        &mut self,
        envelope: &MlsEnvelope,
        welcome: MlsMessage,
        ratchet_tree: Option<&[u8]>,
    ) -> Result<Received, ClientError> {
        // SUITE-PQ-1: the retired 0xFE4C gets its own error.
        let tree = ratchet_tree
            .map(mls_rs::group::ExportedTree::from_bytes)
            .transpose()
            .map_err(|e| ClientError::Malformed(format!("ratchet tree: {e}")))?;
        let suite = welcome
            .cipher_suite()
            .ok_or_else(|| ClientError::Malformed("not a Welcome".into()))
            .and_then(crate::suite::check_incoming)?;
        // RCV-WEL-1: the suite is allowed for joining.
        if !self.config.suites.allows_joining(suite) {
            return Err(ClientError::SuiteRefused(suite));
        }
        // A Welcome delivered again (the DS lost an acknowledgement in a
        // crash) is a replay, like any other message: its KeyPackage is
        // gone, so joining again would fail with a misleading error.
        let seen_key = welcome_id_key(&envelope.message_id);
        // RCV-WEL-6: a Welcome is known by its content, not by the
        // transport id it comes under: the same Welcome re-wrapped with a
        // new id is the same replay.
        let content_key = welcome_content_key(&envelope.body);
        if self.seen(&seen_key)? || self.seen(&content_key)? {
            return Err(ClientError::Replayed);
        }
        let time = now_mls(self);
        let now = self.env.clock.now();
        let client = self.client(suite)?.clone();
        let result = self.atomically(|device| {
            let (group, info) = client
                .join_group(tree.clone(), &welcome, Some(time))
                .map_err(|e| match e {
                    // RCV-WEL-2: one of our KeyPackages opens it; RCV-WEL-5: mls-rs
                    // checks every member's credential (CRED-*) while joining.
                    MlsError::WelcomeKeyPackageNotFound => ClientError::WelcomeNotForUs,
                    other => process_error(other, 0, None),
                })?;
            // RCV-WEL-3: the era extension, equal to the envelope's.
            let era = group
                .context()
                .extensions
                .get_as::<EraExtension>()
                .map_err(|e| ClientError::InvalidHandshake(e.to_string()))?
                .ok_or_else(|| ClientError::InvalidHandshake("group has no era extension".into()))?
                .era;
            if era != envelope.era {
                return Err(ClientError::WrongEra {
                    expected: era,
                    received: envelope.era,
                });
            }
            let id = ConversationId::new(group.group_id().to_vec())
                .ok_or_else(|| ClientError::Malformed("bad group id".into()))?;
            let previous = match device.conversation_record(&id) {
                Ok(existing) => Some(existing),
                Err(ClientError::UnknownConversation) => None,
                Err(e) => return Err(e),
            };
            if let Some(existing) = &previous {
                // RCV-WEL-4: a new era replaces the conversation's state; an
                // older era never does, and the same era only re-adds a
                // removed device.
                if era < existing.era {
                    return Err(ClientError::WrongEra {
                        expected: existing.era,
                        received: era,
                    });
                }
                if era == existing.era && existing.status != ConversationStatus::Removed {
                    return Err(ClientError::ConversationExists);
                }
            }
            // The Welcome's sender: the member who signed its GroupInfo
            // (mls-rs checked the signature).
            let sender = group
                .member_at_index(info.sender)
                .filter(|m| m.index != group.current_member_index())
                .ok_or_else(|| {
                    ClientError::InvalidHandshake("Welcome without another member as sender".into())
                })?;
            let added_by = LeafIdentity::of(&sender.signing_identity)
                .map(Sender::from)
                .map_err(|e| ClientError::InvalidHandshake(e.to_string()))?;
            if let Some(existing) = &previous {
                if era > existing.era {
                    // RCV-WEL-7: a new era comes from a member of the
                    // current one, holding the same signature key.
                    let current = device
                        .members_of(&id)
                        .map_err(|_| ClientError::NewEraNotFromMember)?;
                    let key = sender.signing_identity.signature_key.as_bytes();
                    if !current.iter().any(|m| {
                        m.key == key
                            && m.identity.number == added_by.number
                            && m.identity.device == added_by.device
                    }) {
                        return Err(ClientError::NewEraNotFromMember);
                    }
                } else {
                    // RCV-WEL-6: re-added to the era we were removed from:
                    // the Welcome must join a later epoch than the last
                    // one we had (an old Welcome replays an old state).
                    let last = device.group(&id)?.current_epoch();
                    if group.current_epoch() <= last {
                        return Err(ClientError::Replayed);
                    }
                }
            }
            // KT-MEMBER-1: every key of the roster is checked against the
            // recorded proofs; one they refute refuses the Welcome.
            let roster = crate::security::members_of_group(&group, &device.identity, now)?;
            device.refuse_refuted(&roster)?;
            let kind = crate::recovery::kind_of(&id);
            let status = if group
                .context()
                .extensions
                .has_extension(EndMlsExtension::TYPE)
            {
                ConversationStatus::Ended
            } else {
                ConversationStatus::Active
            };
            let mut group = group;
            if previous.is_some() {
                device.forget_group_history(&id)?;
            }
            group.write_to_storage().map_err(internal)?;
            device.groups.insert(id.clone(), group);
            let record = ConversationRecord {
                kind,
                era,
                suite,
                status,
                pending: None,
                created_at: now,
            };
            device.put_conversation(&id, &record)?;
            device.record_epoch_authenticator(&id)?;
            device.observe_member_keys(&id)?;
            device.mark_seen(seen_key, now, None);
            device.mark_seen(content_key, now, None);
            let replaced_era = previous.map(|p| p.era).filter(|old| *old < era);
            Ok((id, added_by, replaced_era))
        })?;
        let (conversation, added_by, replaced_era) = result;
        let refill_key_packages = self.key_package_stock()?.needs_refill();
        tracing::info!(conversation = %conversation, suite = suite.code(), "joined conversation");
        Ok(Received::Joined {
            conversation,
            added_by,
            suite,
            refill_key_packages,
            replaced_era,
        })
    }

    /// Housekeeping to call now and then (e.g. daily): forgets message ids
    /// older than the replay window, deletes expired KeyPackages and prior
    /// epochs past retention.
    pub fn maintenance(&mut self) -> Result<(), ClientError> {
        let now = self.env.clock.now();
        self.atomically(|device| {
            device.prune_seen(now)?;
            device.purge_expired_key_packages()?;
            device.purge_sent(now)?;
            for id in device.conversations()? {
                device.group_store.prune(id.as_bytes(), now)?;
            }
            Ok(())
        })
    }
}

/// Checks the RCC.16 authenticated data bound inside an MLS message.
fn check_aad(
    bytes: &[u8],
    transport_id: &str,
    era: u32,
    required: bool,
) -> Result<(), ClientError> {
    if bytes.is_empty() && !required {
        return Ok(());
    }
    let aad = AuthenticatedData::decode(bytes)?;
    if aad.message_id != transport_id.as_bytes() {
        return Err(ClientError::MessageIdMismatch {
            transport: transport_id.to_owned(),
            authenticated: String::from_utf8_lossy(&aad.message_id).into_owned(),
        });
    }
    if aad.era != era {
        return Err(ClientError::WrongEra {
            expected: era,
            received: aad.era,
        });
    }
    Ok(())
}

/// The original a resend stands for (RCV-RESEND-2, fact sheet §3a/§3c):
/// from the authenticated link (`0x01` or `0x02`), or from it and the
/// `mls.Original-Message-ID` header when they agree (the `0x02` link's MAC
/// verifies over the header's id). A bare header names nothing: it is
/// outside MLS, so the server could write it onto any message to have it
/// dropped as a duplicate (or to have a later genuine message dropped). A
/// link whose id is not UTF-8 names no message we could have shown, and is
/// refused.
fn resend_link(link: Option<&Resend>, header: Option<&str>) -> Result<Option<String>, ClientError> {
    match (link, header) {
        (None, _) => Ok(None),
        (Some(link), None) => std::str::from_utf8(link.original_id())
            .map(|id| Some(id.to_owned()))
            .map_err(|_| ClientError::ResendLinkMismatch),
        (Some(link), Some(header)) if link.check_link(header.as_bytes()) => {
            Ok(Some(header.to_owned()))
        }
        (Some(_), Some(_)) => Err(ClientError::ResendLinkMismatch),
    }
}

fn member_identity(group: &MlsGroup, index: u32) -> Result<Sender, ClientError> {
    let member = group
        .member_at_index(index)
        .ok_or_else(|| ClientError::InvalidHandshake("message from an unknown leaf".into()))?;
    LeafIdentity::of(&member.signing_identity)
        .map(Sender::from)
        .map_err(internal)
}

#[cfg(test)]
#[path = "receive_generation_tests.rs"]
mod generation_tests;
