//! Everything an Android verification is checked against besides the roots.

use crate::android::app_policy::{ANY_APP, AppPolicy};
use crate::android::revocation::{NO_REVOCATIONS, RevocationList};
use crate::policy::AttestationPolicy;

/// The Android verification policy: the device assurance required, the
/// status list of withdrawn attestation certificates, and the apps allowed
/// to hold the key. The key checks (ATT-K-1..3: generated in hardware,
/// signing only, algorithm of the certified key) always apply.
///
/// An [`AttestationPolicy`] converts into an `AndroidPolicy` with an empty
/// status list and no app check, so `chain.verify(&roots, at,
/// AttestationPolicy::Strict, challenge)` still reads as before; a
/// production KDS adds the list and its app:
///
/// ```no_run
/// # use crosslock_attest::{AndroidPolicy, AppPolicy, AttestationPolicy, RevocationList};
/// # fn run(status_json: &[u8], digest: [u8; 32]) -> Result<(), crosslock_attest::AttestError> {
/// let revocations = RevocationList::from_json(status_json)?;
/// let apps = AppPolicy::default().allow("com.example.crosslock", vec![digest]);
/// let policy = AndroidPolicy::new(AttestationPolicy::Strict)
///     .with_revocations(&revocations)
///     .with_apps(&apps);
/// # let _ = policy; Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AndroidPolicy<'a> {
    /// Hardware and boot-state requirements (ATT-A-7).
    pub assurance: AttestationPolicy,
    /// Withdrawn attestation certificates (ATT-R-1).
    pub revocations: &'a RevocationList,
    /// Apps allowed to hold the key (ATT-P-1, ATT-P-2); empty = not checked.
    pub apps: &'a AppPolicy,
}

impl AndroidPolicy<'static> {
    /// `assurance` with an empty status list and no app check.
    #[must_use]
    pub fn new(assurance: AttestationPolicy) -> Self {
        Self {
            assurance,
            revocations: &NO_REVOCATIONS,
            apps: &ANY_APP,
        }
    }
}

impl<'a> AndroidPolicy<'a> {
    /// The same policy checking `revocations`.
    #[must_use]
    pub fn with_revocations(self, revocations: &'a RevocationList) -> Self {
        Self {
            revocations,
            ..self
        }
    }

    /// The same policy allowing only `apps`.
    #[must_use]
    pub fn with_apps(self, apps: &'a AppPolicy) -> Self {
        Self { apps, ..self }
    }
}

impl From<AttestationPolicy> for AndroidPolicy<'static> {
    fn from(assurance: AttestationPolicy) -> Self {
        Self::new(assurance)
    }
}
