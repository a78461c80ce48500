//! The entry checks of an incoming MLS message, made once: what the CPIM
//! envelope says, the MLS message in its body, and the RCC.16
//! authenticated data bound inside it, checked against each other and
//! against the transport. Every later stage takes an [`Inbound`] and
//! never decodes the envelope or the authenticated data again.
//!
//! The authenticated data is read from the MLS framing (in the clear in
//! both a PublicMessage and a PrivateMessage header, RFC 9420 §6), so it
//! is checked before MLS processing; MLS then authenticates exactly those
//! bytes (the signature, or the AEAD's additional data), and
//! [`CheckedEnvelope::confirm`] holds the processed message to them.

use crosslock_wire::aad::{AuthenticatedData, Resend};
use crosslock_wire::cpim::{Message as CpimMessage, MlsEnvelope};
use crosslock_wire::message_id;
use crosslock_wire::rcc16;
use mls_rs::group::ContentType as MlsContentType;
use mls_rs::mls_rs_codec::{MlsDecode, byte_vec};
use mls_rs::{MlsMessage, MlsMessageDescription};

use crate::error::{ClientError, internal};

/// An incoming MLS message that passed the entry checks: the only form
/// the receive stages take.
pub(crate) struct Inbound {
    /// What the envelope and the authenticated data say.
    pub(crate) envelope: CheckedEnvelope,
    /// The MLS message of the body (RCV-MLS-0): a Welcome, a PublicMessage
    /// or a PrivateMessage, not yet processed.
    pub(crate) message: MlsMessage,
}

/// The checked CPIM envelope of an MLS message and the RCC.16
/// authenticated data inside it.
pub(crate) struct CheckedEnvelope {
    /// The transport message id: the envelope's `imdn.Message-ID`
    /// (RCV-ID-1), in a deployed form (RCV-MSGID-1), and the id the
    /// authenticated data binds (RCV-AAD-1).
    pub(crate) message_id: String,
    /// `mls.Era-ID`. Compared with the conversation's era once that is
    /// known: for a group message with the era the authenticated data
    /// binds ([`CheckedEnvelope::check_era`]), for a Welcome with its
    /// group's (RCV-WEL-3).
    pub(crate) era: u32,
    /// `mls.Epoch-Authenticator`, compared with the group's state later
    /// (RCV-AUTH-1/2).
    pub(crate) epoch_authenticator: [u8; 32],
    /// The MLS message bytes (a Welcome is known by them, RCV-WEL-6; our
    /// own replacement commit echoed back is recognised by them).
    pub(crate) body: Vec<u8>,
    /// The CPIM `To`, outside MLS: for a Welcome, a hint that the
    /// conversation is a group (GID-3), never that it is a 1:1.
    pub(crate) to: Option<String>,
    /// The authenticated data as framed: what MLS must authenticate.
    authenticated_data: Vec<u8>,
    /// The era the authenticated data binds, if there is any.
    authenticated_era: Option<u32>,
    /// The resend link of the authenticated data, if any.
    resend: Option<Resend>,
    /// `mls.Original-Message-ID`, in a deployed form (RCV-MSGID-1); it
    /// counts only with the link (RCV-RESEND-2).
    original_header: Option<String>,
}

impl Inbound {
    /// The entry checks, in order: the envelope (RCV-ENV-1), its id
    /// (RCV-ID-1, RCV-MSGID-1), the proposals dropped unseen (MLS-PROP-1/2),
    /// the MLS message (RCV-MLS-0) and its authenticated data (RCV-AAD-1:
    /// decoded, and bound to the transport id; its era is checked with the
    /// conversation's, [`CheckedEnvelope::check_era`]).
    pub(crate) fn check(
        transport_message_id: &str,
        message: CpimMessage,
    ) -> Result<Inbound, ClientError> {
        // RCV-ENV-1: the MLS headers are there.
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
        // RCV-MLS-0: an MLS message (here), of a group we are in (later).
        let message = MlsMessage::from_bytes(&envelope.body)
            .map_err(|e| ClientError::Malformed(e.to_string()))?;
        let (authenticated_data, required) = match message.description() {
            MlsMessageDescription::Welcome { .. } => (Vec::new(), false),
            MlsMessageDescription::PublicProtocolMessage {
                content_type,
                authenticated_data,
                ..
            } if content_type != MlsContentType::Application => {
                (authenticated_data.to_vec(), false)
            }
            MlsMessageDescription::PrivateProtocolMessage { content_type, .. }
                if content_type != MlsContentType::Commit =>
            {
                (
                    private_message_authenticated_data(&envelope.body)?,
                    content_type == MlsContentType::Application,
                )
            }
            // A commit as a PrivateMessage, an application message as a
            // PublicMessage: RCV-WF-1 refuses them (RCC.16 reason 5 for the
            // commit), so their data is not read.
            MlsMessageDescription::PublicProtocolMessage { .. }
            | MlsMessageDescription::PrivateProtocolMessage { .. } => (Vec::new(), false),
            _ => {
                return Err(ClientError::Malformed(format!(
                    "unexpected {:?} in a message body",
                    message.wire_format()
                )));
            }
        };
        // RCV-AAD-1: the authenticated data decodes and binds the transport
        // id (here) and the era (`check_era`). Required of an application
        // message; a commit or proposal may carry none.
        let aad = if authenticated_data.is_empty() && !required {
            None
        } else {
            let aad = AuthenticatedData::decode(&authenticated_data)?;
            if aad.message_id != envelope.message_id.as_bytes() {
                return Err(ClientError::MessageIdMismatch {
                    transport: envelope.message_id,
                    authenticated: String::from_utf8_lossy(&aad.message_id).into_owned(),
                });
            }
            Some(aad)
        };
        Ok(Inbound {
            envelope: CheckedEnvelope {
                message_id: envelope.message_id,
                era: envelope.era,
                epoch_authenticator: envelope.epoch_authenticator,
                body: envelope.body,
                to: envelope.to,
                authenticated_data,
                authenticated_era: aad.as_ref().map(|a| a.era),
                resend: aad.and_then(|a| a.resend),
                original_header: envelope.original_message_id,
            },
            message,
        })
    }
}

impl CheckedEnvelope {
    /// Whether the message is of the conversation's `era`: what its
    /// envelope says, and what its authenticated data binds.
    pub(crate) fn check_era(&self, era: u32) -> Result<(), ClientError> {
        // RCV-ERA-1: the envelope's era is the conversation's.
        if self.era != era {
            return Err(ClientError::WrongEra {
                expected: era,
                received: self.era,
            });
        }
        // RCV-AAD-1: so is the era bound inside MLS.
        match self.authenticated_era {
            Some(bound) if bound != era => Err(ClientError::WrongEra {
                expected: era,
                received: bound,
            }),
            _ => Ok(()),
        }
    }

    /// RCV-AAD-1: after MLS processing, the authenticated data MLS
    /// authenticated is the one checked at the entry. (It cannot differ:
    /// both are the framed bytes. Held here so that the entry check never
    /// rests on unauthenticated data.)
    pub(crate) fn confirm(&self, authenticated: &[u8]) -> Result<(), ClientError> {
        if authenticated != self.authenticated_data.as_slice() {
            return Err(internal("MLS authenticated other data than was framed"));
        }
        Ok(())
    }

    /// The original an application message resends (RCV-RESEND-2, fact
    /// sheet §3a/§3c): from the authenticated link (`0x01` or `0x02`), or
    /// from it and the `mls.Original-Message-ID` header when they agree
    /// (the `0x02` link's MAC verifies over the header's id). A bare
    /// header names nothing: it is outside MLS, so the server could write
    /// it onto any message to have it dropped as a duplicate (or to have a
    /// later genuine message dropped). A link whose id is not UTF-8 names
    /// no message we could have shown, and is refused.
    pub(crate) fn resend_of(&self) -> Result<Option<String>, ClientError> {
        match (&self.resend, &self.original_header) {
            (None, _) => Ok(None),
            (Some(link), None) => std::str::from_utf8(link.original_id())
                .map(|id| Some(id.to_owned()))
                .map_err(|_| ClientError::ResendLinkMismatch),
            (Some(link), Some(header)) if link.check_link(header.as_bytes()) => {
                Ok(Some(header.clone()))
            }
            (Some(_), Some(_)) => Err(ClientError::ResendLinkMismatch),
        }
    }
}

/// The `authenticated_data` of an MLSMessage holding a PrivateMessage,
/// read from its header (RFC 9420 §6.3: version, wire format, group id,
/// epoch, content type, authenticated data); mls-rs does not expose it
/// before processing.
fn private_message_authenticated_data(body: &[u8]) -> Result<Vec<u8>, ClientError> {
    let reader = &mut &*body;
    let malformed = |e: mls_rs::mls_rs_codec::Error| ClientError::Malformed(e.to_string());
    u16::mls_decode(reader).map_err(malformed)?; // version
    u16::mls_decode(reader).map_err(malformed)?; // wire_format
    byte_vec::mls_decode::<Vec<u8>>(reader).map_err(malformed)?; // group_id
    u64::mls_decode(reader).map_err(malformed)?; // epoch
    u8::mls_decode(reader).map_err(malformed)?; // content_type
    byte_vec::mls_decode(reader).map_err(malformed)
}

#[cfg(test)]
mod tests {
    use crosslock_wire::content_type;

    use super::*;

    /// An MLSMessage holding a PrivateMessage of `content_type` whose
    /// authenticated data is `aad`, in its CPIM envelope.
    fn private_message(content_type: u8, aad: &[u8]) -> (String, CpimMessage) {
        let mut body = vec![0, 1, 0, 2, 1, b'g'];
        body.extend_from_slice(&7u64.to_be_bytes());
        body.extend_from_slice(&[content_type, aad.len() as u8]);
        body.extend_from_slice(aad);
        body.extend_from_slice(&[0, 0]); // sender data, ciphertext
        let message_id = message_id::mint([7; 16]);
        let envelope = MlsEnvelope {
            from: None,
            to: None,
            date_time: None,
            message_id: message_id.clone(),
            era: 1,
            epoch_authenticator: [0; 32],
            original_message_id: None,
            content_type: content_type::MESSAGE_MLS.to_owned(),
            body,
        };
        let cpim = CpimMessage::decode(&envelope.encode()).unwrap();
        (message_id, cpim)
    }

    #[test]
    fn an_application_message_needs_authenticated_data_a_misframed_commit_is_left_to_rcv_wf_1() {
        // RCV-AAD-1: an application message without valid data is refused
        // at the entry.
        let (id, cpim) = private_message(1, &[0xff]);
        assert!(matches!(
            Inbound::check(&id, cpim),
            Err(ClientError::AuthenticatedData(_))
        ));
        // A commit as a PrivateMessage passes the entry unread, so that
        // RCV-WF-1 refuses it with RCC.16 reason 5.
        let (id, cpim) = private_message(3, &[0xff]);
        assert!(Inbound::check(&id, cpim).is_ok());
    }

    #[test]
    fn the_private_message_header_is_read_up_to_its_authenticated_data() {
        // version 1, wire format 2, group id "g", epoch 7, application,
        // authenticated data "ad", then the rest of the message.
        let mut body = vec![0, 1, 0, 2, 1, b'g'];
        body.extend_from_slice(&7u64.to_be_bytes());
        body.extend_from_slice(&[1, 2, b'a', b'd', 0, 0]);
        assert_eq!(private_message_authenticated_data(&body).unwrap(), b"ad");
        assert!(matches!(
            private_message_authenticated_data(&body[..10]),
            Err(ClientError::Malformed(_))
        ));
    }
}
