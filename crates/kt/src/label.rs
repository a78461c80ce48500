//! Directory labels and the akd configuration Crosslock uses.

use akd_core::{AkdLabel, DomainLabel, ExperimentalConfiguration};
use crosslock_credential::PhoneNumber;

/// Crosslock's domain separator for every hash in the directory.
#[derive(Debug, Clone, Copy)]
pub struct CrosslockDomain;

impl DomainLabel for CrosslockDomain {
    fn domain_label() -> &'static [u8] {
        b"crosslock-kt-v1"
    }
}

/// The akd configuration (hash, commitments, VRF inputs) of every
/// Crosslock directory. Changing it changes every root: it is versioned
/// by the domain label.
pub type KtConfig = ExperimentalConfiguration<CrosslockDomain>;

/// The directory label of a number: its `tel:` URI. The directory itself
/// only ever stores the label's VRF output, never the number.
pub fn label_of(number: &PhoneNumber) -> AkdLabel {
    AkdLabel(format!("tel:{}", number.as_str()).into_bytes())
}
