//! The recovery ladder as a phone runs it (docs/client-core.md,
//! "Recovery"): a message this device could not process is reported to
//! its sender in a signed negative delivery IMDN (RCC.16 §7.6), after
//! rejoining by external commit when the group state is gone; a report
//! about one of our messages is answered by resending it, linked to the
//! original (RCV-RESEND-2). Beyond the resend limit the app starts a new
//! era (`Device::new_era`).

use crosslock_client::{ClientError, ConversationId, Device};
use crosslock_wire::api::ds::{InboxItem, SubmitReport};

use crate::conversations;
use crate::error::SdkError;
use crate::messenger::Messenger;

/// Reports an inbox item the client core refused, when the refusal is one
/// the sender should hear of and the item belongs to a conversation this
/// device has; rejoins first when the group state is gone. Returns the
/// conversation when something was done. A step that fails is logged:
/// the refusal itself stands either way.
pub(crate) async fn report_failure(
    m: &mut Messenger,
    item: &InboxItem,
    error: &ClientError,
) -> Result<Option<ConversationId>, SdkError> {
    let Some(reason) = error.rcc16_failure_reason() else {
        return Ok(None);
    };
    let Some(id) = Device::conversation_of(&item.envelope.0) else {
        return Ok(None);
    };
    if !m.device.conversations()?.contains(&id) {
        return Ok(None);
    }
    if matches!(error, ClientError::RejoinRequired)
        && let Err(e) = rejoin(m, &id).await
    {
        tracing::info!(error = %e, "rejoin failed; the message is not reported");
        return Ok(None);
    }
    let report = match m.device.negative_report(&id, &item.message_id, reason) {
        Ok(report) => report,
        Err(e) => {
            tracing::info!(error = %e, "negative report not made");
            return Ok(None);
        }
    };
    m.ds()?
        .report(&SubmitReport {
            group_id: id.as_bytes().to_vec().into(),
            message_id: report.message_id.clone(),
            envelope: report.envelope.into(),
        })
        .await?;
    Ok(Some(id))
}

/// Rejoins `id` by external commit from the GroupInfo and tree the DS
/// keeps (MLS-GI-1, DS-TREE-1).
async fn rejoin(m: &mut Messenger, id: &ConversationId) -> Result<u64, SdkError> {
    let latest = m.ds()?.catch_up(id.as_bytes(), u64::MAX).await?;
    let pending = m.device.rejoin(id, &latest.group_info.0, latest.tree())?;
    conversations::submit(m, &pending).await
}

/// Resends a message of ours a member reported it could not process.
pub(crate) async fn resend(
    m: &mut Messenger,
    id: &ConversationId,
    failed_message_id: &str,
) -> Result<(), SdkError> {
    match m.device.resend_after_report(id, failed_message_id) {
        Ok(sent) => {
            m.ds()?.message(&sent.outbound.envelope).await?;
        }
        // Past the resend limit (a new era is the app's call) or no
        // longer kept: nothing to resend.
        Err(e) => tracing::info!(error = %e, "reported message not resent"),
    }
    Ok(())
}
