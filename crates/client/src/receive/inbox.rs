//! The device inbox (`Table::Inbox`): decrypted messages wait there until
//! the application acknowledges them, so a crash between decrypting and
//! storing loses nothing.

use crosslock_credential::PhoneNumber;
use crosslock_wire::content_type;
use crosslock_wire::file_info::FileInfo;
use crosslock_wire::ft_http::{self, Descriptor};
use crosslock_wire::mimi::MimiContent;
use crosslock_wire::status::MessageStatusReport;

use super::{ReceivedContent, ReceivedMessage, Sender};
use crate::device::Device;
use crate::error::{ClientError, internal};
use crate::ids::{ConversationId, DeliveryId};
use crate::records::{self, InboxRecord};
use crate::store::Table;

impl Device {
    /// Stages `record` into the inbox under the next delivery id; its
    /// content is decoded first, so malformed content is refused before
    /// anything is stored.
    pub(super) fn put_in_inbox(
        &self,
        record: &InboxRecord,
    ) -> Result<ReceivedMessage, ClientError> {
        let message = self.inbox_message(DeliveryId(0), record)?;
        let sequence = self.next_delivery_id()?;
        self.staged.put(
            Table::Inbox,
            sequence.0.to_be_bytes().to_vec(),
            records::encode(record)?,
        );
        Ok(ReceivedMessage {
            delivery: sequence,
            ..message
        })
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
}

/// Implements [`Device::undelivered`].
pub(crate) fn undelivered(device: &Device) -> Result<Vec<ReceivedMessage>, ClientError> {
    device
        .staged
        .scan(Table::Inbox, &[])?
        .into_iter()
        .map(|(k, v)| {
            let seq = u64::from_be_bytes(k.try_into().map_err(|_| internal("inbox key"))?);
            let record: InboxRecord = records::decode(&v)?;
            device.inbox_message(DeliveryId(seq), &record)
        })
        .collect()
}

/// Implements [`Device::ack`].
pub(crate) fn ack(device: &mut Device, delivery: DeliveryId) -> Result<(), ClientError> {
    device.atomically(|device| {
        device
            .staged
            .delete(Table::Inbox, delivery.0.to_be_bytes().to_vec());
        Ok(())
    })
}
