//! The recovery ladder as a phone runs it (docs/client-core.md,
//! "Recovery"): a message this device could not process is reported to
//! its sender in a signed negative delivery IMDN (RCC.16 §7.6), after
//! rejoining by external commit when the group state is gone; a report
//! about one of our messages is answered by resending it, linked to the
//! original (RCV-RESEND-2). Beyond the resend limit the app starts a new
//! era (`Device::new_era`).

use crosslock_client::{ClientError, ConversationId, ConversationStatus, Device};
use crosslock_wire::api::ds::{InboxItem, SubmitReport};

use crate::conversations;
use crate::error::SdkError;
use crate::messenger::Messenger;

/// Reports an inbox item the client core refused, when the refusal is one
/// the sender should hear of and the item belongs to a conversation this
/// device is still an active member of; rejoins first when the group
/// state is gone. Returns the conversation when something was done.
/// Best-effort: a step that fails is logged and the refusal stands (a
/// member who removed us, or a DS that refuses the report, must never
/// hold the inbox up).
pub(crate) async fn report_failure(
    m: &mut Messenger,
    item: &InboxItem,
    error: &ClientError,
) -> Option<ConversationId> {
    let reason = error.rcc16_failure_reason()?;
    let id = Device::conversation_of(&item.envelope.0)?;
    match m.device.security_state(&id) {
        Ok(state) if state.status == ConversationStatus::Active => {}
        // Still a member by our records, the state lost: rejoin first.
        Err(ClientError::RejoinRequired) => {}
        // Unknown, ended, or we were removed: nobody to report to.
        _ => return None,
    }
    match report(m, &id, item, error, reason).await {
        Ok(()) => Some(id),
        Err(e) => {
            tracing::info!(error = %e, "failed message not reported");
            None
        }
    }
}

async fn report(
    m: &mut Messenger,
    id: &ConversationId,
    item: &InboxItem,
    error: &ClientError,
    reason: u8,
) -> Result<(), SdkError> {
    if matches!(error, ClientError::RejoinRequired) {
        rejoin(m, id).await?;
    }
    let report = m.device.negative_report(id, &item.message_id, reason)?;
    m.ds()?
        .report(&SubmitReport {
            group_id: id.as_bytes().to_vec().into(),
            message_id: report.message_id.clone(),
            envelope: report.envelope.into(),
        })
        .await?;
    Ok(())
}

/// Rejoins `id` by external commit from the GroupInfo and tree the DS
/// keeps (MLS-GI-1, DS-TREE-1).
async fn rejoin(m: &mut Messenger, id: &ConversationId) -> Result<u64, SdkError> {
    let latest = m.ds()?.catch_up(id.as_bytes(), u64::MAX).await?;
    let pending = m.device.rejoin(id, &latest.group_info.0, latest.tree())?;
    conversations::submit(m, &pending).await
}

/// Resends a message of ours a member reported it could not process.
/// Best-effort: past the resend limit (a new era is the app's call), no
/// longer kept, or not accepted now, it is logged and left.
pub(crate) async fn resend(m: &mut Messenger, id: &ConversationId, failed_message_id: &str) {
    let result = async {
        let sent = m.device.resend_after_report(id, failed_message_id)?;
        m.ds()?.message(&sent.outbound.envelope).await?;
        Ok::<_, SdkError>(())
    }
    .await;
    if let Err(e) = result {
        tracing::info!(error = %e, "reported message not resent");
    }
}
