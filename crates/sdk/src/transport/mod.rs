//! The provider's HTTP APIs as a device calls them.

pub mod ds;
pub mod http;

pub use ds::DsClient;
pub use http::{Api, pem_certificates};
