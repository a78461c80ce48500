//! Revocation lists of every home the device meets (CRED-REV-1..2): each
//! home's `GET /v1/revoked` (public, like a CRL), fetched from the home's
//! own host over TLS pinned to that home's root (PROV-TLS-1), and recorded
//! under the home's CA key so one provider's list never revokes another's
//! credentials.

use std::collections::BTreeMap;

use crosslock_client::credential::CertificateAuthority;
use crosslock_wire::api::kds::RevokedList;

use crate::error::SdkError;
use crate::messenger::Messenger;

/// How often a home's list is fetched again.
pub const REFRESH_SECS: u64 = 3_600;

/// How soon a home that did not answer is asked again.
const RETRY_SECS: u64 = 300;

/// What a refresh did: per home, how many serials its list named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Lists fetched (home → serials).
    pub fetched: BTreeMap<String, usize>,
    /// Homes that did not answer (their old list still counts; tried
    /// again next time), with why.
    pub failed: BTreeMap<String, String>,
}

/// Fetches the lists that are due.
pub(crate) async fn refresh(m: &mut Messenger) -> Result<Refreshed, SdkError> {
    let now = m.env.clock.now();
    let mut out = Refreshed::default();
    let homes = m.settings.provider.homes.clone();
    for (i, home) in homes.iter().enumerate() {
        let (since, at) = m
            .settings
            .revocations
            .get(&home.name)
            .copied()
            .unwrap_or((0, 0));
        if at != 0 && !crate::lifecycle::due(at, now, REFRESH_SECS) {
            continue;
        }
        // The first home is this device's own provider.
        let base = if i == 0 {
            m.api.base().to_owned()
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
            .map_err(|e| SdkError::network(format!("{}: credential root: {e}", home.name)))?;
        match fetch(m, &base, since).await {
            Ok(list) => {
                m.device
                    .note_revoked(&issuer, &list.serials)
                    .map_err(|e| SdkError::internal(format!("revocations: {e}")))?;
                m.settings
                    .revocations
                    .insert(home.name.clone(), (list.as_of, now));
                out.fetched.insert(home.name.clone(), list.serials.len());
            }
            Err(e) => {
                tracing::info!(home = %home.name, error = %e, "revocation list not fetched");
                out.failed.insert(home.name.clone(), e.to_string());
                // Its old list still counts; tried again after a while,
                // not on every call.
                let retry = now.saturating_sub(REFRESH_SECS - RETRY_SECS);
                m.settings
                    .revocations
                    .insert(home.name.clone(), (since, retry.max(1)));
            }
        }
    }
    if !out.fetched.is_empty() || !out.failed.is_empty() {
        m.save()?;
    }
    Ok(out)
}

async fn fetch(m: &Messenger, base: &str, since: u64) -> Result<RevokedList, SdkError> {
    let url = format!("{}/v1/revoked?since={since}", base.trim_end_matches('/'));
    let response = m
        .api
        .http_for(&url)?
        .get(&url)
        .timeout(crate::transport::http::API_TIMEOUT)
        .send()
        .await
        .map_err(|e| SdkError::network(e.to_string()))?;
    if !response.status().is_success() {
        return Err(SdkError::refused(format!("HTTP {}", response.status())));
    }
    response
        .json()
        .await
        .map_err(|e| SdkError::network(format!("unexpected answer: {e}")))
}
