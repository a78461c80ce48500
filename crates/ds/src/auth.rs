//! Who is calling: devices by bearer token.

use crosslock_wire::api::ds::DeviceRef;

use crate::error::DsError;

/// What the delivery service needs to know about devices, and nothing
/// more: who holds a bearer token, and whether a device is still one of
/// this provider's. The DS does not issue tokens or keep a device list;
/// whoever wires it (the provider, over its KDS store) implements this.
///
/// An implementation may remember a token it has checked for a short,
/// bounded time, so a revoked device can keep access that long;
/// [`is_current`](Self::is_current) answers from the source each time.
/// [`testing::check_device_auth`](crate::testing::check_device_auth)
/// checks an implementation against this contract.
pub trait DeviceAuth: Send + Sync + std::fmt::Debug {
    /// The device holding `token`, if it is a current (not revoked) one.
    fn authenticate(&self, token: &str) -> Result<Option<DeviceRef>, DsError>;

    /// Whether `device` is a current (enrolled here, not revoked) device
    /// of this provider: what a peer may deliver to (DS-FED-3).
    fn is_current(&self, device: &DeviceRef) -> Result<bool, DsError>;
}

/// The bearer token of a request.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}
