//! Revocation lists of every home the device meets (CRED-REV-1..2): each
//! home's `GET /v1/revoked` (public, like a CRL), fetched from the home's
//! own host over TLS pinned to that home's root (PROV-TLS-1), and recorded
//! under the home's CA key so one provider's list never revokes another's
//! credentials.

use crosslock_client::credential::CertificateAuthority;
use crosslock_wire::api::kds::RevokedList;
use serde_json::{Value, json};

use super::state::DeviceDir;
use super::{Failure, Report};

/// How often a home's list is fetched again.
const REFRESH_SECS: u64 = 3_600;

/// Fetches the lists that are due; a home that does not answer is
/// reported and tried again next time (its old list still counts).
pub(crate) async fn refresh(dir: &mut DeviceDir, report: &mut Report) -> Result<(), Failure> {
    let now = crosslock_client::env::Environment::system().now();
    let mut fetched = serde_json::Map::new();
    let homes = dir.settings.provider.homes.clone();
    for (i, home) in homes.iter().enumerate() {
        let (since, at) = dir
            .settings
            .revocations
            .get(&home.name)
            .copied()
            .unwrap_or((0, 0));
        if at + REFRESH_SECS > now && at != 0 {
            continue;
        }
        // The first home is this device's own provider.
        let base = if i == 0 {
            dir.api.base().to_owned()
        } else {
            home.public_url.clone()
        };
        let Some(root) = home.credential_roots.first() else {
            continue;
        };
        if base.is_empty() {
            continue;
        }
        let issuer = CertificateAuthority::load(&home.name, root.0.clone())
            .and_then(|ca| ca.public_key())
            .map_err(|e| Failure::network(format!("{}: credential root: {e}", home.name)))?;
        match fetch(dir, &base, since).await {
            Ok(list) => {
                dir.device
                    .note_revoked(&issuer, &list.serials)
                    .map_err(|e| Failure::internal(format!("revocations: {e}")))?;
                dir.settings
                    .revocations
                    .insert(home.name.clone(), (list.as_of, now));
                fetched.insert(home.name.clone(), json!(list.serials.len()));
            }
            Err(e) => {
                report.line(format!(
                    "  revocation list of {} not fetched ({e}); trying again later",
                    home.name
                ));
            }
        }
    }
    if !fetched.is_empty() {
        dir.save()?;
        report.set("revocations_fetched", Value::Object(fetched));
    }
    Ok(())
}

async fn fetch(dir: &DeviceDir, base: &str, since: u64) -> Result<RevokedList, Failure> {
    let url = format!("{}/v1/revoked?since={since}", base.trim_end_matches('/'));
    let response = dir
        .api
        .http_for(&url)?
        .get(&url)
        .send()
        .await
        .map_err(|e| Failure::network(e.to_string()))?;
    if !response.status().is_success() {
        return Err(Failure::refused(format!("HTTP {}", response.status())));
    }
    response
        .json()
        .await
        .map_err(|e| Failure::network(format!("unexpected answer: {e}")))
}
