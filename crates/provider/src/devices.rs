//! The delivery service's devices are the KDS's: [`KdsDevices`] answers
//! the DS's [`DeviceAuth`] from the KDS store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crosslock_ds::{DeviceAuth, DsError};
use crosslock_kds::store::{KdsStore, token_hash};
use crosslock_profile::env::Clock;
use crosslock_wire::api::ds::DeviceRef;

/// How long a checked token is believed without asking the KDS store
/// again: a revoked device keeps delivery access at most this long.
const TOKEN_CACHE_MILLIS: u64 = 30_000;

/// Most tokens remembered before the stale ones are dropped.
const TOKEN_CACHE_MAX: usize = 100_000;

/// Devices by token hash, with when they were checked (Unix milliseconds).
type TokenCache = HashMap<[u8; 32], (DeviceRef, u64)>;

/// The devices enrolled at this provider's KDS (tokens checked against its
/// store, remembered for 30 s).
#[derive(Clone)]
pub struct KdsDevices {
    store: Arc<dyn KdsStore>,
    cache: Arc<Mutex<TokenCache>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for KdsDevices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KdsDevices")
    }
}

impl KdsDevices {
    /// Devices of the KDS whose store this is; `clock` (the provider's)
    /// says how old a remembered token is.
    pub fn new(store: Arc<dyn KdsStore>, clock: Arc<dyn Clock>) -> Self {
        KdsDevices {
            store,
            cache: Arc::default(),
            clock,
        }
    }

    /// Whether a token checked at `at` is still believed at `now`
    /// (a clock set back believes it no longer).
    fn fresh(at: u64, now: u64) -> bool {
        now >= at && now - at < TOKEN_CACHE_MILLIS
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, TokenCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl DeviceAuth for KdsDevices {
    fn authenticate(&self, token: &str) -> Result<Option<DeviceRef>, DsError> {
        let hash = token_hash(token);
        let now = self.clock.now_millis();
        if let Some((device, at)) = self.cache().get(&hash)
            && Self::fresh(*at, now)
        {
            return Ok(Some(device.clone()));
        }
        let device = self
            .store
            .device_by_token(&hash)
            .map_err(|e| DsError::Storage(e.to_string()))?;
        let device = device
            .filter(|d| d.revoked_at.is_none())
            .map(|d| DeviceRef {
                number: d.number,
                device: d.device_id,
            });
        if let Some(d) = &device {
            let mut cache = self.cache();
            if cache.len() > TOKEN_CACHE_MAX {
                cache.retain(|_, (_, at)| Self::fresh(*at, now));
            }
            cache.insert(hash, (d.clone(), now));
        }
        Ok(device)
    }

    fn is_current(&self, device: &DeviceRef) -> Result<bool, DsError> {
        let devices = self
            .store
            .active_devices(&device.number)
            .map_err(|e| DsError::Storage(e.to_string()))?;
        Ok(devices
            .iter()
            .any(|d| d.device_id == device.device && d.revoked_at.is_none()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosslock_ds::testing::{DeviceAuthFixture, check_device_auth};
    use crosslock_kds::store::SqliteKdsStore;
    use crosslock_kds::store::testing::{enroll_device, revoke_device};
    use crosslock_profile::env::ManualClock;

    /// Enrols and revokes straight in an in-memory KDS store.
    struct Fixture {
        store: Arc<SqliteKdsStore>,
        auth: KdsDevices,
        clock: Arc<ManualClock>,
    }

    impl Fixture {
        fn new() -> Self {
            let store = Arc::new(SqliteKdsStore::open_in_memory().unwrap());
            let clock = Arc::new(ManualClock::new(1_790_000_000));
            let auth = KdsDevices::new(store.clone(), clock.clone());
            Fixture { store, auth, clock }
        }
    }

    impl DeviceAuthFixture for Fixture {
        fn auth(&self) -> &dyn DeviceAuth {
            &self.auth
        }

        fn enroll(&mut self, device: &DeviceRef, token: &str) {
            enroll_device(self.store.as_ref(), &device.number, &device.device, token).unwrap();
        }

        fn revoke(&mut self, device: &DeviceRef) {
            assert_eq!(
                revoke_device(self.store.as_ref(), &device.device).unwrap(),
                1
            );
        }
    }

    fn alices_device(fixture: &mut Fixture) -> (DeviceRef, String) {
        let device = DeviceRef {
            number: "+15550100001".into(),
            device: "device-1".into(),
        };
        fixture.enroll(&device, "token-1");
        (device, "token-1".into())
    }

    #[test]
    fn kds_devices_conform() {
        assert_eq!(check_device_auth(&mut Fixture::new()), Ok(()));
    }

    #[test]
    fn a_checked_token_is_believed_until_the_cache_expires() {
        let mut fixture = Fixture::new();
        let (device, token) = alices_device(&mut fixture);
        assert_eq!(
            fixture.auth.authenticate(&token).unwrap(),
            Some(device.clone())
        );
        fixture.revoke(&device);
        // Remembered: still the device, though no longer current.
        assert_eq!(
            fixture.auth.authenticate(&token).unwrap(),
            Some(device.clone())
        );
        assert!(!fixture.auth.is_current(&device).unwrap());
        fixture.clock.advance(TOKEN_CACHE_MILLIS / 1000 - 1);
        assert_eq!(
            fixture.auth.authenticate(&token).unwrap(),
            Some(device.clone())
        );
        // Once the remembered answer is stale, the store is asked again.
        fixture.clock.advance(1);
        assert_eq!(fixture.auth.authenticate(&token).unwrap(), None);
    }

    #[test]
    fn an_unknown_token_is_not_remembered() {
        let mut fixture = Fixture::new();
        assert_eq!(fixture.auth.authenticate("token-1").unwrap(), None);
        // Enrolled afterwards: found at once, no stale "nobody".
        let (device, token) = alices_device(&mut fixture);
        assert_eq!(fixture.auth.authenticate(&token).unwrap(), Some(device));
    }
}
