//! Housekeeping: what a device forgets with time, in one atomic write.

use crate::device::Device;
use crate::error::ClientError;

/// Implements [`Device::maintenance`] and
/// [`Device::maintenance_with_key_package_time`]: KeyPackage secrets are
/// judged expired at `key_package_time`, the rest at the device's clock.
pub(crate) fn maintenance(device: &mut Device, key_package_time: u64) -> Result<(), ClientError> {
    let now = device.env.clock.now();
    device.atomically(|device| {
        device.prune_seen(now)?;
        device.purge_expired_key_packages(key_package_time)?;
        device.purge_sent(now)?;
        for id in device.conversations()? {
            device.group_store.prune(id.as_bytes(), now)?;
        }
        Ok(())
    })
}
