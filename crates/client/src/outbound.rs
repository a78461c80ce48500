//! What the client core hands the transport: CPIM envelopes ready to send.

use crosslock_wire::aad::{AuthenticatedData, Resend};
use crosslock_wire::content_type;
use crosslock_wire::cpim::MlsEnvelope;
use crosslock_wire::message_id;
use mls_rs::MlsMessage;

use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::mls::MlsGroup;
use crate::records::ConversationKind;

/// A message ready for the transport (MSRP/CPIM or the delivery service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// The transport message id (`imdn.Message-ID`), also bound inside the
    /// MLS message's authenticated data.
    pub message_id: String,
    /// `message/mls` for application messages, `message/mls-rcs-client`
    /// for commits, proposals and Welcomes (to the conversation's server).
    pub content_type: &'static str,
    /// The CPIM envelope bytes.
    pub envelope: Vec<u8>,
}

/// A commit staged locally and waiting for the delivery service's verdict.
///
/// Send `commit` (and `welcome`, which the server must deliver only once
/// the commit has won its epoch), then report the verdict with
/// [`Device::commit_accepted`] or [`Device::commit_rejected`]. Until then
/// the conversation's state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCommit {
    /// The conversation.
    pub conversation: ConversationId,
    /// The commit.
    pub commit: Outbound,
    /// The Welcome for devices the commit adds, if any.
    pub welcome: Option<Outbound>,
    /// The signed GroupInfo of the epoch the commit creates (MLS message
    /// bytes, with the external public key and without the ratchet_tree
    /// extension, MLS-GI-1), for the delivery service only: it checks the
    /// commit against it and serves it to a member that must rejoin by
    /// external commit.
    pub group_info: Vec<u8>,
    /// The ratchet tree of the epoch the commit creates (an mls-rs
    /// `ExportedTree`: the TLS-encoded `optional<Node> ratchet_tree<V>`),
    /// sent beside `group_info` (`SubmitCommit.ratchet_tree`): the delivery
    /// service needs it to read the GroupInfo, and hands it with the
    /// Welcome to the devices the commit adds (MLS-GI-1). Empty only for a
    /// commit staged by an older version and returned by
    /// [`Device::pending_commit`]: its GroupInfo carries the tree in the
    /// ratchet_tree extension, so send no tree (MLS-GI-2).
    pub ratchet_tree: Vec<u8>,
    /// True for a rejoin by external commit ([`Device::rejoin`]): the
    /// transport sets `SubmitCommit.external` (the delivery service limits
    /// external commits per conversation per day).
    pub external: bool,
}

impl Device {
    /// A fresh transport message id in the form deployed RCC.16 clients
    /// send and check (fact sheet §3a): `Mx` and the 16 bytes of a random
    /// UUIDv4, 24 characters ([`message_id::mint`]).
    pub(crate) fn new_message_id(&self) -> String {
        message_id::mint(self.env.random())
    }
}

/// The RCC.16 authenticated data for a message (fact sheet §3a).
pub(crate) fn authenticated_data(message_id: &str, era: u32, resend: Option<Resend>) -> Vec<u8> {
    AuthenticatedData {
        message_id: message_id.as_bytes().to_vec(),
        era,
        resend,
    }
    .encode()
}

pub(crate) fn epoch_authenticator(group: &MlsGroup) -> Result<[u8; 32], ClientError> {
    let secret = group.epoch_authenticator().map_err(internal)?;
    secret
        .as_bytes()
        .try_into()
        .map_err(|_| internal("epoch authenticator is not 32 bytes"))
}

/// Wraps an MLS message of a conversation of `kind` in its CPIM envelope.
pub(crate) fn envelope(
    message_id: String,
    content_type: &'static str,
    kind: ConversationKind,
    era: u32,
    epoch_authenticator: [u8; 32],
    message: &MlsMessage,
) -> Result<Outbound, ClientError> {
    resend_envelope(
        message_id,
        content_type,
        kind,
        era,
        epoch_authenticator,
        None,
        message,
    )
}

/// Wraps an MLS message of a conversation of `kind` in its CPIM envelope;
/// a resend names its original in `mls.Original-Message-ID` (fact sheet
/// §3c). GID-3: a group's envelope is addressed `To` the anonymous URI of
/// a group chat, a 1:1's has no `To` (and no envelope has a `From`: the
/// sender is authenticated inside MLS, and no number goes on the wire).
pub(crate) fn resend_envelope(
    message_id: String,
    content_type: &'static str,
    kind: ConversationKind,
    era: u32,
    epoch_authenticator: [u8; 32],
    original_message_id: Option<String>,
    message: &MlsMessage,
) -> Result<Outbound, ClientError> {
    let envelope = MlsEnvelope {
        from: None,
        to: crate::kind::envelope_to(kind),
        date_time: None,
        message_id: message_id.clone(),
        era,
        epoch_authenticator,
        original_message_id,
        content_type: content_type.to_owned(),
        body: message.to_bytes().map_err(internal)?,
    }
    .encode();
    Ok(Outbound {
        message_id,
        content_type,
        envelope,
    })
}

pub(crate) const HANDSHAKE: &str = content_type::MLS_RCS_CLIENT;
pub(crate) const APPLICATION: &str = content_type::MESSAGE_MLS;
