//! `[attestation]` applied to the KDS: whether an attestation is required
//! (KDS-ENR-5), the Android roots, Google's status list of withdrawn
//! attestation keys (ATT-R-1) and the Android apps whose attestations
//! count (ATT-P-1..2).

use crosslock_attest::{AndroidRoots, AppPolicy, AttestationPolicy, RevocationList};
use crosslock_kds::{AttestationRequirement, KdsConfig};

use crate::config::AttestationSection;
use crate::error::ProviderError;

/// Loads the status list and the app policy into `kds`.
pub(crate) fn apply(
    section: &AttestationSection,
    development: bool,
    kds: &mut KdsConfig,
) -> Result<(), ProviderError> {
    kds.attestation = if section.required {
        AttestationRequirement::Required(AttestationPolicy::Strict)
    } else {
        AttestationRequirement::Optional(AttestationPolicy::Strict)
    };
    if let Some(path) = &section.android_roots {
        let fail = |why: String| ProviderError::Config {
            path: path.display().to_string(),
            why,
        };
        let json = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        kds.android_roots = AndroidRoots::from_roots_json(&json).map_err(|e| {
            fail(format!(
                "not a roots.json (a JSON array of PEM certificates): {e}"
            ))
        })?;
        tracing::warn!(
            roots = kds.android_roots.hardware_root_count(),
            "Android attestation roots loaded from the configuration, instead of Google's embedded roots"
        );
    }
    if let Some(path) = &section.android_status_list {
        let fail = |why: String| ProviderError::Config {
            path: path.display().to_string(),
            why,
        };
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        kds.android_status_list = RevocationList::from_json(&bytes)
            .map_err(|e| fail(format!("not an attestation status list: {e}")))?;
        tracing::info!(
            entries = kds.android_status_list.len(),
            "Android attestation status list loaded"
        );
    }
    let mut apps = AppPolicy::default();
    for app in &section.android_apps {
        let digests = app
            .signing_cert_sha256
            .iter()
            .map(|hex_digest| {
                hex::decode(hex_digest.trim())
                    .ok()
                    .and_then(|d| <[u8; 32]>::try_from(d).ok())
                    .ok_or_else(|| ProviderError::Config {
                        path: "attestation.android_apps".into(),
                        why: format!(
                            "{}: signing_cert_sha256 {hex_digest:?} is not 64 hex digits",
                            app.package
                        ),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if app.package.is_empty() || digests.is_empty() {
            return Err(ProviderError::Config {
                path: "attestation.android_apps".into(),
                why: "each app needs a package and at least one signing certificate digest".into(),
            });
        }
        apps = apps.allow(app.package.clone(), digests);
    }
    if apps.is_unchecked() && !development {
        tracing::warn!(
            "attestation.android_apps is empty: Android attestations from any app are accepted"
        );
    }
    kds.android_apps = apps;
    Ok(())
}
