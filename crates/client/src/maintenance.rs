//! Housekeeping: what a device forgets with time, in one atomic write.

use crate::device::Device;
use crate::error::ClientError;

impl Device {
    /// Housekeeping to call now and then (e.g. daily): forgets message ids
    /// older than the replay window, deletes expired KeyPackages and prior
    /// epochs past retention.
    pub fn maintenance(&mut self) -> Result<(), ClientError> {
        let now = self.env.clock.now();
        self.atomically(|device| {
            device.prune_seen(now)?;
            device.purge_expired_key_packages()?;
            device.purge_sent(now)?;
            for id in device.conversations()? {
                device.group_store.prune(id.as_bytes(), now)?;
            }
            Ok(())
        })
    }
}
