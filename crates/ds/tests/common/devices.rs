//! A `DeviceAuth` over a KDS store for the DS tests (the provider wires
//! its own, with a token cache; this one asks the store every time).

use std::sync::Arc;

use crosslock_ds::{DeviceAuth, DsError};
use crosslock_kds::store::{KdsStore, token_hash};
use crosslock_wire::api::ds::DeviceRef;

/// The current devices of a KDS store, by their bearer tokens.
#[derive(Clone)]
pub(crate) struct StoreDevices(pub(crate) Arc<dyn KdsStore>);

impl std::fmt::Debug for StoreDevices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreDevices")
    }
}

impl DeviceAuth for StoreDevices {
    fn authenticate(&self, token: &str) -> Result<Option<DeviceRef>, DsError> {
        let hash = token_hash(token);
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
