//! Which app may hold an attested participant key (ATT-P-1, ATT-P-2).
//!
//! The KeyDescription's `attestationApplicationId` (tag 709) names the
//! packages of the uid that generated the key and the SHA-256 digests of
//! their signing certificates, as the Android framework saw them. Another
//! app on a genuine device can make a genuine attestation for its own key;
//! only this check tells it from the Crosslock app. A repackaged app under
//! the same name has another signing certificate.
//!
//! Android's key store service writes this list (it sits in
//! `softwareEnforced` on every device seen), so it is as trustworthy as the
//! running Android: on a locked device with verified boot (the strict
//! policy) that is the image the manufacturer signed; on an unlocked one
//! it is whatever the owner flashed.

use crate::android::AttestationApplicationId;
use crate::error::AttestError;

/// Packages allowed to enrol, each with the SHA-256 digests of the signing
/// certificates it may be signed with.
///
/// Empty (the default) means "not checked": for development builds signed
/// with throwaway keys. A production KDS lists its app(s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppPolicy {
    /// `(package name, allowed signing certificate digests)`.
    pub packages: Vec<(String, Vec<[u8; 32]>)>,
}

/// The empty policy (what [`crate::AndroidPolicy::new`] starts from).
pub(crate) static ANY_APP: AppPolicy = AppPolicy {
    packages: Vec::new(),
};

impl AppPolicy {
    /// A policy allowing `package` signed with any of `digests`; chain
    /// [`AppPolicy::allow`] for more packages.
    #[must_use]
    pub fn allow(mut self, package: impl Into<String>, digests: Vec<[u8; 32]>) -> Self {
        self.packages.push((package.into(), digests));
        self
    }

    /// Whether this policy checks anything.
    #[must_use]
    pub fn is_unchecked(&self) -> bool {
        self.packages.is_empty()
    }

    /// ATT-P-1: every package of the attesting uid is allowed; ATT-P-2:
    /// there is at least one signing certificate digest and every one is
    /// allowed for every listed package (an app signed by several
    /// certificates lists all of them).
    pub(crate) fn check(&self, app: Option<&AttestationApplicationId>) -> Result<(), AttestError> {
        if self.is_unchecked() {
            return Ok(());
        }
        let app = app.ok_or(AttestError::MissingApplicationId)?;
        if app.packages.is_empty() {
            return Err(AttestError::MissingApplicationId);
        }
        for package in &app.packages {
            let Some((_, allowed)) = self.packages.iter().find(|(name, _)| *name == package.name)
            else {
                return Err(AttestError::PackageNotAllowed {
                    package: package.name.clone(),
                });
            };
            let signed_as_allowed = !app.signatures.is_empty()
                && app
                    .signatures
                    .iter()
                    .all(|digest| allowed.iter().any(|a| a.as_slice() == digest.as_slice()));
            if !signed_as_allowed {
                return Err(AttestError::SigningCertificateNotAllowed {
                    package: package.name.clone(),
                });
            }
        }
        Ok(())
    }
}
