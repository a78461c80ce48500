//! Calls to peer providers' KDSs over mutually authenticated TLS.

use crosslock_wire::api::ErrorBody;
use crosslock_wire::api::kds::{ClaimRequest, ClaimResponse};

use crate::config::PeerKds;
use crate::error::KdsError;

/// The HTTP header carrying the peer's opaque requester id.
pub const REQUESTER_HEADER: &str = "x-crosslock-requester";

/// An HTTPS client presenting this provider's federation certificate.
#[derive(Debug, Clone)]
pub struct FederationClient {
    shared: Option<reqwest::Client>,
    /// Per-peer clients (by KDS id), each trusting only that peer's TLS
    /// root (PROV-TLS-2); preferred over `shared`.
    pinned: Vec<(String, reqwest::Client)>,
}

impl FederationClient {
    /// No peers: every claim for a foreign number is `unknown-number`.
    pub fn none() -> Self {
        FederationClient {
            shared: None,
            pinned: Vec::new(),
        }
    }

    /// A client with a TLS configuration that presents our federation
    /// certificate and trusts the peers' TLS roots.
    pub fn new(tls: rustls::ClientConfig) -> Result<Self, KdsError> {
        let client = crosslock_tls::https_client(tls)
            .map_err(|e| KdsError::Internal(format!("federation client: {e}")))?;
        Ok(FederationClient {
            shared: Some(client),
            pinned: Vec::new(),
        })
    }

    /// One client per peer KDS id, each with its own TLS configuration
    /// (our federation certificate and that peer's root alone), so no
    /// peer's CA can speak for another peer's host (PROV-TLS-2).
    pub fn pinned(tls: Vec<(String, rustls::ClientConfig)>) -> Result<Self, KdsError> {
        let pinned = crosslock_tls::pinned_clients(tls)
            .map_err(|e| KdsError::Internal(format!("federation client: {e}")))?;
        Ok(FederationClient {
            shared: None,
            pinned,
        })
    }

    pub(crate) async fn claim(
        &self,
        peer: &PeerKds,
        number: &str,
        requester: &str,
    ) -> Result<ClaimResponse, KdsError> {
        let client = self
            .pinned
            .iter()
            .find(|(id, _)| *id == peer.kds_id)
            .map(|(_, c)| c)
            .or(self.shared.as_ref())
            .ok_or(KdsError::UnknownNumber)?;
        let url = format!(
            "{}/federation/v1/claim",
            peer.federation_url.trim_end_matches('/')
        );
        let response = client
            .post(&url)
            .header(REQUESTER_HEADER, requester)
            .json(&ClaimRequest {
                number: number.to_owned(),
            })
            .send()
            .await
            .map_err(|e| KdsError::Peer(format!("{}: {e}", peer.kds_id)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| KdsError::Peer(format!("{}: {e}", peer.kds_id)))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| KdsError::Peer(format!("{}: bad answer: {e}", peer.kds_id)));
        }
        // Pass the peer's verdict on where it is meaningful to the device.
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(e) if e.error == "unknown-number" => Err(KdsError::UnknownNumber),
            Ok(e) if e.error == "rate-limited" => Err(KdsError::RateLimited {
                retry_after_secs: 600,
            }),
            Ok(e) => Err(KdsError::Peer(format!("{}: {}", peer.kds_id, e.error))),
            Err(_) => Err(KdsError::Peer(format!("{}: HTTP {status}", peer.kds_id))),
        }
    }
}
