//! Sending application messages, all encrypted inside MLS.
//!
//! Every conversation speaks the deployed RCC.16 profile (`text/plain`
//! texts, FileInfo); MIMI content, MIMI message status and typing are
//! Crosslock's extras, sent only where every member advertises them
//! (WIRE-NEG-1/2, [`crate::WireProfile`]).

use crosslock_wire::aad::Resend;
use crosslock_wire::content_type;
use crosslock_wire::file_info::FileInfo;
use crosslock_wire::ft_http::{self, Descriptor};
use crosslock_wire::inner::ApplicationPayload;
use crosslock_wire::mimi::{MessageId, MimiContent};
use crosslock_wire::status::{MessageStatusReport, PerMessageStatus};
use crosslock_wire::typing::IsComposing;

use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::ConversationId;
use crate::ledger::seen::message_key;
use crate::outbound::{
    APPLICATION, Outbound, authenticated_data, epoch_authenticator, resend_envelope,
};

/// What to send.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // moved once per message; boxing buys nothing
pub enum Content {
    /// Plain text (`text/plain;charset=UTF-8`), what deployed RCC.16
    /// clients send and read.
    Text(String),
    /// MIMI content: text, reply, reaction, edit, delete, expiry, files.
    Mimi(MimiContent),
    /// Delivery/read status of earlier messages (MIMI message status).
    Status(MessageStatusReport),
    /// A typing indicator (RFC 3994 isComposing): ephemeral.
    Typing(IsComposing),
    /// A file's key container (RCC.16 protobuf FileInfo, one slot); see
    /// [`Device::send_file`] and [`Device::send_file_info`].
    FileInfo(FileInfo),
    /// Where to download uploaded files (RCS FT-HTTP descriptor), sent
    /// after their FileInfo; see [`Device::send_file`].
    FileDescriptor(Descriptor),
}

impl Content {
    pub(crate) fn payload(&self) -> ApplicationPayload {
        match self {
            Content::Text(t) => {
                ApplicationPayload::new(content_type::TEXT_PLAIN, t.as_bytes().to_vec())
            }
            Content::Mimi(c) => ApplicationPayload::new(content_type::MIMI_CONTENT, c.encode()),
            Content::Status(s) => {
                ApplicationPayload::new(content_type::MIMI_MESSAGE_STATUS, s.encode())
            }
            Content::Typing(t) => ApplicationPayload::new(content_type::IS_COMPOSING, t.encode()),
            Content::FileInfo(f) => {
                ApplicationPayload::new(content_type::MLS_RCS_FILE_INFO, f.encode())
            }
            Content::FileDescriptor(d) => {
                ApplicationPayload::new(ft_http::CONTENT_TYPE, d.encode())
            }
        }
    }
}

/// A sent application message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The envelope to hand to the transport.
    pub outbound: Outbound,
    /// The MIMI message id (for MIMI content), which replies, reactions,
    /// edits and status reports refer to.
    pub mimi_id: Option<MessageId>,
}

/// Implements [`Device::send_text`].
pub(crate) fn send_text(
    device: &mut Device,
    id: &ConversationId,
    text: &str,
) -> Result<Sent, ClientError> {
    if device.wire_profile(id)?.extras() {
        let content = MimiContent::text(device.new_salt(), text);
        device.send(id, Content::Mimi(content))
    } else {
        device.send(id, Content::Text(text.to_owned()))
    }
}

/// Implements [`Device::send_status`].
pub(crate) fn send_status(
    device: &mut Device,
    id: &ConversationId,
    statuses: Vec<PerMessageStatus>,
) -> Result<Sent, ClientError> {
    let report = MessageStatusReport {
        timestamp_ms: device.env.clock.now_millis(),
        statuses,
    };
    device.send(id, Content::Status(report))
}

/// Implements [`Device::send_typing`].
pub(crate) fn send_typing(
    device: &mut Device,
    id: &ConversationId,
    active: bool,
) -> Result<Sent, ClientError> {
    let indicator = if active {
        IsComposing::active(60)
    } else {
        IsComposing::idle()
    };
    device.send(id, Content::Typing(indicator))
}

/// Implements [`Device::send`] and, with the original's id as
/// `resend_of`, [`Device::resend`].
pub(crate) fn send(
    device: &mut Device,
    id: &ConversationId,
    content: Content,
    resend_of: Option<&str>,
) -> Result<Sent, ClientError> {
    // WIRE-NEG-2: Crosslock's extras only where every member reads them.
    let extra = match &content {
        Content::Mimi(_) => Some("MIMI content (replies, reactions, edits)"),
        Content::Status(_) => Some("an encrypted MIMI status report"),
        Content::Typing(_) => Some("an encrypted typing indicator"),
        Content::Text(_) | Content::FileInfo(_) | Content::FileDescriptor(_) => None,
    };
    if let Some(what) = extra
        && !device.wire_profile(id)?.extras()
    {
        return Err(ClientError::NotNegotiated { what });
    }
    let mimi_id = match &content {
        Content::Mimi(c) => Some(c.message_id(&device.number.tel_uri(), &id.room_uri())),
        _ => None,
    };
    device.send_payload(id, content.payload(), mimi_id, resend_of, |_| Ok(()))
}

impl Device {
    /// Encrypts an application payload; `also` stages more changes into
    /// the same batch.
    pub(crate) fn send_payload(
        &mut self,
        id: &ConversationId,
        payload: ApplicationPayload,
        mimi_id: Option<MessageId>,
        resend_of: Option<&str>,
        also: impl FnOnce(&Device) -> Result<(), ClientError>,
    ) -> Result<Sent, ClientError> {
        let record = self.active_record(id)?;
        // CRED-EXP-2: not with an expired credential.
        self.check_own_credential(id)?;
        // KT-MEMBER-3: nothing is said to keys transparency has not
        // proven. Gossiped roots and relayed proofs are exempt: they carry
        // nothing secret, and are how a block is caught or lifted.
        if payload.content_type != crate::transparency::KT_GOSSIP
            && payload.content_type != crate::transparency::KT_PROOF
        {
            self.check_not_blocked(id)?;
        }
        let message_id = self.new_message_id();
        let link = match resend_of {
            Some(original) => {
                let era = self.original_era(id, original)?.unwrap_or(record.era);
                Some(Resend::deployed(
                    era,
                    original.as_bytes(),
                    self.env.random(),
                ))
            }
            None => None,
        };
        let aad = authenticated_data(&message_id, record.era, link);
        // Receivers refuse an `mls.Original-Message-ID` in neither deployed
        // id form (RCV-MSGID-1); an original minted before Crosslock used
        // them is named by the authenticated link alone.
        let original_header = resend_of
            .filter(|o| crosslock_wire::message_id::classify(o).is_ok())
            .map(str::to_owned);
        let now = self.env.clock.now();
        self.atomically(|device| {
            also(device)?;
            let group = device.group(id)?;
            if group.commit_required() {
                return Err(ClientError::CommitRequired);
            }
            let auth = epoch_authenticator(group)?;
            // Fact sheet §3b (RCV-GEN-1 at the peer): the frame carries the
            // MLS generation this message is encrypted under. Peeked and
            // used under the same `&mut` borrow, with nothing in between.
            let generation = group.peek_next_key_generation().map_err(internal)?;
            let plaintext = payload.encode(generation);
            let message =
                group
                    .encrypt_application_message(&plaintext, aad)
                    .map_err(|e| match e {
                        mls_rs::error::MlsError::CommitRequired => ClientError::CommitRequired,
                        other => internal(other),
                    })?;
            group.write_to_storage().map_err(internal)?;
            device.remember_sent(
                id,
                &message_id,
                &payload,
                &plaintext,
                mimi_id.as_ref(),
                resend_of,
            )?;
            // Our own id goes into the replay ledger: an echo from the
            // server is a duplicate, not a new message.
            device.mark_seen(message_key(id, &message_id), now, None);
            let outbound = resend_envelope(
                message_id,
                APPLICATION,
                record.kind,
                record.era,
                auth,
                original_header,
                &message,
            )?;
            Ok(Sent { outbound, mimi_id })
        })
    }
}
