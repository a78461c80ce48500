//! Housekeeping: what a device forgets with time, in one atomic write.

use crate::device::Device;
use crate::error::ClientError;

/// Implements [`Device::maintenance`].
pub(crate) fn maintenance(device: &mut Device) -> Result<(), ClientError> {
    let now = device.env.clock.now();
    device.atomically(|device| {
        device.prune_seen(now)?;
        device.purge_expired_key_packages()?;
        device.purge_sent(now)?;
        for id in device.conversations()? {
            device.group_store.prune(id.as_bytes(), now)?;
        }
        Ok(())
    })
}
