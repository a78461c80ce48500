//! Key transparency for this device's own number (docs/kt.md
//! "Monitoring"): the number's history from its home's log (`POST
//! /v1/kt/history`, readable even after revocation, KDS-KT-2), checked
//! version by version; approving the user's own new devices; and root
//! gossip in conversations.

use crosslock_client::{ConversationId, TransparencyAlert};
use crosslock_wire::api::kt::{HistoryAnswer, NumberRequest};

use crate::error::SdkError;
use crate::messenger::Messenger;

/// What a check of the own history found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitored {
    /// The log epoch checked.
    pub epoch: u64,
    /// Alerts this check raised.
    pub new_alerts: Vec<TransparencyAlert>,
    /// Every alert still standing.
    pub alerts: Vec<TransparencyAlert>,
}

/// Fetches and checks this number's own history.
pub(crate) async fn monitor(m: &mut Messenger) -> Result<Monitored, SdkError> {
    let number = m.settings.number.clone();
    let token = m.token()?.to_owned();
    let answer: HistoryAnswer = m
        .api
        .post("/v1/kt/history", Some(&token), &NumberRequest { number })
        .await?;
    let new_alerts = m.device.check_own_history(&answer)?;
    Ok(Monitored {
        epoch: answer.root.statement.epoch,
        new_alerts,
        alerts: m.device.transparency_alerts()?,
    })
}

/// Approves `device_id` with `credential`, or, without one, with every
/// credential a standing new-device alert shows for it (what the user
/// saw). Returns the credentials approved.
pub(crate) fn approve(
    m: &mut Messenger,
    device_id: &str,
    credential: Option<&str>,
) -> Result<Vec<String>, SdkError> {
    let credentials: Vec<String> = match credential {
        Some(c) => vec![c.to_owned()],
        None => m
            .device
            .transparency_alerts()?
            .into_iter()
            .filter_map(|a| match a {
                TransparencyAlert::NewDevice {
                    device_id: d,
                    credential,
                    ..
                } if d == device_id => Some(credential),
                _ => None,
            })
            .collect(),
    };
    if credentials.is_empty() {
        return Err(SdkError::input(format!(
            "no alert names device {device_id}; check the own history (monitor) to see the alerts"
        )));
    }
    for c in &credentials {
        m.device.approve_device(device_id, c)?;
    }
    Ok(credentials)
}

/// Gossips the newest transparency roots this device saw into every
/// conversation where it is due (docs/kt.md, gossip); returns into how many.
pub(crate) async fn gossip(m: &mut Messenger) -> Result<usize, SdkError> {
    let mut sent = 0;
    let conversations: Vec<ConversationId> = m.device.conversations()?;
    for id in conversations {
        if !m.device.gossip_due(&id)? {
            continue;
        }
        match m.device.send_transparency_gossip(&id) {
            Ok(Some(message)) => {
                m.ds()?.message(&message.outbound.envelope).await?;
                sent += 1;
            }
            Ok(None) => {}
            // An ended or blocked conversation gossips nothing.
            Err(e) => tracing::debug!(error = %e, "no gossip"),
        }
    }
    Ok(sent)
}
