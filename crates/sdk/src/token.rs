//! The device's KDS token across a (re-)enrolment whose answer may be
//! lost (SDK-TOKEN-1, docs/validation-rules.md).
//!
//! The KDS replaces a device's token in the same transaction that issues
//! its new credentials and revokes the old ones. If the answer never
//! arrives (the network dropped, the request timed out, someone on the
//! path cut it), a device that only learns its token from the answer is
//! left with a token the KDS no longer takes and credentials the KDS has
//! revoked: it could only enrol again as a new device. So the device
//! chooses its next token itself (`next_token`, KDS-ENR-12), saves it as
//! pending *before* the request leaves, and settles later which of the
//! two tokens the KDS holds.

use crate::error::SdkError;
use crate::messenger::Messenger;

/// How a pending token was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// No token was pending.
    Nothing,
    /// The KDS holds the pending token: it is the device's token now.
    Promoted,
    /// The KDS never took the pending token: it is dropped.
    Dropped,
}

/// The token to send as `next_token`: the pending one when there is one
/// (a first enrolment tried again), else a new one from the device's
/// randomness (32 bytes, lowercase hex, KDS-ENR-12), saved as pending
/// before it is returned.
pub(crate) fn next(m: &mut Messenger) -> Result<String, SdkError> {
    if let Some(pending) = &m.settings.pending_token {
        return Ok(pending.clone());
    }
    let token = hex::encode(m.env.random::<32>());
    m.settings.pending_token = Some(token.clone());
    m.save()?;
    Ok(token)
}

/// The (re-)enrolment was answered: the token in the answer is the
/// device's (the chosen one from a KDS that took it, a drawn one from a
/// KDS that predates KDS-ENR-12), nothing is pending any more.
pub(crate) fn answered(m: &mut Messenger, token: String) -> Result<(), SdkError> {
    m.settings.token = Some(token);
    m.settings.pending_token = None;
    m.save()
}

/// The KDS refused the request (an HTTP 4xx: it rolls the whole enrolment
/// back, the token included), so the pending token was never taken. A
/// first enrolment keeps it all the same: its next try sends it again,
/// and a KDS that never saw the device id ignores it as bearer.
pub(crate) fn refused(m: &mut Messenger, error: &SdkError) -> Result<(), SdkError> {
    if m.settings.token.is_some()
        && let SdkError::Server { status, .. } = error
        && (400..500).contains(status)
    {
        m.settings.pending_token = None;
        m.save()?;
    }
    Ok(())
}

/// SDK-TOKEN-1: finds out which token the KDS holds when one is pending
/// for an enrolled device, with a request only the holder of a token can
/// make (the KeyPackage stock): answered → the pending token is the
/// device's, and the renewal that chose it was applied without its
/// answer, so the installed credentials are revoked and renewal is due at
/// once; 401 → the KDS never took it, it is dropped; anything else (the
/// network) → both are kept and this is tried again.
pub(crate) async fn settle(m: &mut Messenger) -> Result<Settled, SdkError> {
    let (Some(_), Some(pending)) = (&m.settings.token, m.settings.pending_token.clone()) else {
        return Ok(Settled::Nothing);
    };
    match m.api.key_package_stock(&pending).await {
        Ok(_) => {
            m.settings.token = Some(pending);
            m.settings.pending_token = None;
            m.settings.lifecycle.renewal_required = true;
            m.settings.lifecycle.renewal_tried_at = 0;
            m.settings.lifecycle.renewal_notified_at = 0;
            m.save()?;
            tracing::warn!(
                "a renewal's answer was lost after the KDS applied it: its token is kept, renewal is due again"
            );
            Ok(Settled::Promoted)
        }
        Err(SdkError::Server { status: 401, .. }) => {
            m.settings.pending_token = None;
            m.save()?;
            Ok(Settled::Dropped)
        }
        Err(e) => Err(e),
    }
}
