//! The provider side of key transparency: the persistent directory with
//! its signed roots ([`KtLog`]), audit verification ([`verify_audit`]) and
//! the witness ([`witness`]).

mod audit;
mod cosigning;
mod error;
mod keys;
mod log;
mod roots;
mod routes;
pub mod witness;
pub use witness::{FollowedLog, Witness, WitnessError};

pub use audit::{AuditedRange, empty_directory_root, verify_audit};
pub use cosigning::{MAX_EPOCHS_PER_REQUEST, WitnessClient};
pub use error::KtServerError;
pub use keys::{LogKeys, VrfSecret};
pub use log::{KtLog, KtLogOptions};
pub use routes::{MAX_AUDIT_EPOCHS, public_router};
