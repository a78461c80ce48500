//! `crosslock device monitor`: this number's own transparency history.
//!
//! The device fetches its own number's history from its home's log
//! (`POST /v1/kt/history`, readable even after revocation, KDS-KT-2), checks
//! the proof and every version (`Device::check_own_history`, docs/kt.md
//! "Monitoring"), and shows every alert still standing: keys under this
//! device's id it never had, devices the user has not approved, its own key
//! missing from the current binding, suites withheld, a forked log. A new
//! device the user did enrol is approved with `--approve`.

use crosslock_client::TransparencyAlert;
use crosslock_wire::api::kt::{HistoryAnswer, NumberRequest};
use serde_json::json;

use super::state::DeviceDir;
use super::{Failure, Report};

/// Checks the history, optionally approving one device first, and reports
/// every standing alert.
pub(crate) async fn monitor(
    dir: &mut DeviceDir,
    approve: Option<(&str, Option<&str>)>,
    report: &mut Report,
) -> Result<(), Failure> {
    if let Some((device_id, credential)) = approve {
        approve_device(dir, device_id, credential, report)?;
    }
    let number = dir.device.number().as_str().to_owned();
    let token = dir.token()?.to_owned();
    let answer: HistoryAnswer = dir
        .api
        .post("/v1/kt/history", Some(&token), &NumberRequest { number })
        .await?;
    let raised = dir.device.check_own_history(&answer)?;
    let alerts = dir.device.transparency_alerts()?;
    report.set("epoch", json!(answer.root.statement.epoch));
    report.set("new_alerts", json!(raised.len()));
    report.set("alerts", json!(alerts));
    if alerts.is_empty() {
        report.line(format!(
            "own history checked at epoch {}: every key is this device's or an approved device's; no alerts",
            answer.root.statement.epoch
        ));
    } else {
        report.line(format!(
            "own history checked at epoch {}: {} alert(s)",
            answer.root.statement.epoch,
            alerts.len()
        ));
        for alert in &alerts {
            report.line(format!("  {}", describe(alert)));
        }
    }
    Ok(())
}

/// Approves `device_id` with `credential`, or, without one, with every
/// credential a standing new-device alert shows for it (what the user saw).
fn approve_device(
    dir: &mut DeviceDir,
    device_id: &str,
    credential: Option<&str>,
    report: &mut Report,
) -> Result<(), Failure> {
    let credentials: Vec<String> = match credential {
        Some(c) => vec![c.to_owned()],
        None => dir
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
        return Err(Failure::input(format!(
            "no alert names device {device_id}; run `crosslock device monitor` to see the alerts"
        )));
    }
    for c in &credentials {
        dir.device.approve_device(device_id, c)?;
        report.line(format!(
            "approved device {device_id} (credential {}…)",
            short(c)
        ));
    }
    Ok(())
}

/// One alert, for the user, with what to do.
fn describe(alert: &TransparencyAlert) -> String {
    match alert {
        TransparencyAlert::Fork { epoch, .. } => format!(
            "the log signed two different roots for epoch {epoch}: it shows different people different keys; report it to your provider"
        ),
        TransparencyAlert::UnknownKey {
            version,
            credential,
            ..
        } => format!(
            "a key this device never had appeared under its own id (version {version}, credential {}…): someone enrolled in its name",
            short(credential)
        ),
        TransparencyAlert::NewDevice {
            version,
            device_id,
            credential,
            ..
        } => format!(
            "a new device {device_id} was added to this number (version {version}, credential {}…); if it is yours: `crosslock device monitor --approve {device_id}`",
            short(credential)
        ),
        TransparencyAlert::OwnKeyMissing { epoch } => format!(
            "this device's key is missing from the number's current binding (epoch {epoch}): it was revoked or replaced"
        ),
        other => format!("{other:?}"),
    }
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(12)]
}
