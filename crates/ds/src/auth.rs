//! Who is calling: devices by bearer token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crosslock_kds::store::KdsStore;
use crosslock_wire::api::ds::DeviceRef;
use sha2::{Digest, Sha256};

use crate::error::DsError;

/// Resolves a device's bearer token. The provider's KDS issues the tokens
/// at enrollment; the delivery service only checks them.
pub trait DeviceAuth: Send + Sync + std::fmt::Debug {
    /// The device holding `token`, if it is a current (not revoked) one.
    fn authenticate(&self, token: &str) -> Result<Option<DeviceRef>, DsError>;

    /// Whether `device` is a current (enrolled here, not revoked) device
    /// of this provider: what a peer may deliver to (DS-FED-3).
    fn is_current(&self, device: &DeviceRef) -> Result<bool, DsError>;
}

/// How long a checked token is believed without asking the KDS store
/// again: a revoked device keeps delivery access at most this long.
const TOKEN_CACHE_SECS: u64 = 30;

type TokenCache = HashMap<[u8; 32], (DeviceRef, Instant)>;

/// The devices enrolled at this provider's KDS (tokens checked against its
/// store, remembered for 30 s).
#[derive(Clone)]
pub struct KdsDevices(Arc<dyn KdsStore>, Arc<Mutex<TokenCache>>);

impl std::fmt::Debug for KdsDevices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KdsDevices")
    }
}

impl KdsDevices {
    /// Devices of the KDS whose store this is.
    pub fn new(store: Arc<dyn KdsStore>) -> Self {
        KdsDevices(store, Arc::default())
    }
}

impl DeviceAuth for KdsDevices {
    fn authenticate(&self, token: &str) -> Result<Option<DeviceRef>, DsError> {
        let hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let fresh = Duration::from_secs(TOKEN_CACHE_SECS);
        if let Some((device, at)) = self.1.lock().unwrap_or_else(|p| p.into_inner()).get(&hash)
            && at.elapsed() < fresh
        {
            return Ok(Some(device.clone()));
        }
        let device = self
            .0
            .device_by_token(&hash)
            .map_err(|e| DsError::Storage(e.to_string()))?;
        let device = device
            .filter(|d| d.revoked_at.is_none())
            .map(|d| DeviceRef {
                number: d.number,
                device: d.device_id,
            });
        if let Some(d) = &device {
            let mut cache = self.1.lock().unwrap_or_else(|p| p.into_inner());
            if cache.len() > 100_000 {
                cache.retain(|_, (_, at)| at.elapsed() < fresh);
            }
            cache.insert(hash, (d.clone(), Instant::now()));
        }
        Ok(device)
    }

    fn is_current(&self, device: &DeviceRef) -> Result<bool, DsError> {
        let devices = self
            .0
            .active_devices(&device.number)
            .map_err(|e| DsError::Storage(e.to_string()))?;
        Ok(devices
            .iter()
            .any(|d| d.device_id == device.device && d.revoked_at.is_none()))
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
