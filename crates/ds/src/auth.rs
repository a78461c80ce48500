//! Who is calling: devices by bearer token.

use std::sync::Arc;

use crosslock_kds::store::KdsStore;
use crosslock_wire::api::ds::DeviceRef;
use sha2::{Digest, Sha256};

use crate::error::DsError;

/// Resolves a device's bearer token. The provider's KDS issues the tokens
/// at enrollment; the delivery service only checks them.
pub trait DeviceAuth: Send + Sync + std::fmt::Debug {
    /// The device holding `token`, if it is a current (not revoked) one.
    fn authenticate(&self, token: &str) -> Result<Option<DeviceRef>, DsError>;
}

/// The devices enrolled at this provider's KDS.
#[derive(Clone)]
pub struct KdsDevices(Arc<dyn KdsStore>);

impl std::fmt::Debug for KdsDevices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KdsDevices")
    }
}

impl KdsDevices {
    /// Devices of the KDS whose store this is.
    pub fn new(store: Arc<dyn KdsStore>) -> Self {
        KdsDevices(store)
    }
}

impl DeviceAuth for KdsDevices {
    fn authenticate(&self, token: &str) -> Result<Option<DeviceRef>, DsError> {
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let device = self
            .0
            .device_by_token(&hash)
            .map_err(|e| DsError::Storage(e.to_string()))?;
        Ok(device
            .filter(|d| d.revoked_at.is_none())
            .map(|d| DeviceRef {
                number: d.number,
                device: d.device_id,
            }))
    }
}

/// The bearer token of a request.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}
