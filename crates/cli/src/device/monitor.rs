//! `crosslock device monitor`: this number's own transparency history.
//!
//! The SDK fetches the number's history from its home's log, checks the
//! proof and every version (`Device::check_own_history`, docs/kt.md
//! "Monitoring"), and this command shows every alert still standing: keys
//! under this device's id it never had, devices the user has not
//! approved, its own key missing from the current binding, suites
//! withheld, a forked log. A new device the user did enrol is approved
//! with `--approve`.

use crosslock_client::TransparencyAlert;
use crosslock_sdk::Messenger;
use serde_json::json;

use super::{Failure, Report};

/// Checks the history, optionally approving one device first, and reports
/// every standing alert.
pub(crate) async fn monitor(
    dir: &mut Messenger,
    approve: Option<(&str, Option<&str>)>,
    report: &mut Report,
) -> Result<(), Failure> {
    if let Some((device_id, credential)) = approve {
        for c in dir.approve_device(device_id, credential)? {
            report.line(format!(
                "approved device {device_id} (credential {}…)",
                short(&c)
            ));
        }
    }
    let found = dir.monitor().await?;
    report.set("epoch", json!(found.epoch));
    report.set("new_alerts", json!(found.new_alerts.len()));
    report.set("alerts", json!(found.alerts));
    if found.alerts.is_empty() {
        report.line(format!(
            "own history checked at epoch {}: every key is this device's or an approved device's; no alerts",
            found.epoch
        ));
    } else {
        report.line(format!(
            "own history checked at epoch {}: {} alert(s)",
            found.epoch,
            found.alerts.len()
        ));
        for alert in &found.alerts {
            report.line(format!("  {}", describe(alert)));
        }
    }
    Ok(())
}

/// One alert, for the user, with what to do.
pub(crate) fn describe(alert: &TransparencyAlert) -> String {
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
