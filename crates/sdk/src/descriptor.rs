//! The provider descriptor (`GET /v1/provider`) turned into what the
//! device trusts: for each home its credential roots, carriers and
//! transparency log, each only for its own numbers (HOME-1..3).

use crosslock_client::credential::{
    CertificateAuthority, Home, HomeTrust, KeyAlgorithm, NumberingPlan, PublicKey, TrustAnchors,
    TrustPolicy, TrustedCarriers,
};
use crosslock_client::kt::TrustedLog;
use crosslock_client::{DeviceConfig, TransparencyPolicy};
use crosslock_wire::api::provider::ProviderInfo;

use crate::error::SdkError;

/// What the device trusts, from the provider descriptor: for each home,
/// its roots, carriers and log, and only for its own numbers (HOME-1..3).
pub fn device_config(info: &ProviderInfo) -> Result<DeviceConfig, SdkError> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        SdkError::network(format!("provider descriptor: {what}: {e}"))
    };
    let mut plan = NumberingPlan::new();
    let mut homes = Vec::new();
    let mut logs = Vec::new();
    for home in &info.homes {
        plan.add_all(home.prefixes.iter().map(String::as_str), &home.name)
            .map_err(|e| bad("prefixes", &e))?;
        let mut anchors = Vec::new();
        for root in &home.credential_roots {
            let key = CertificateAuthority::load("credential root", root.0.clone())
                .and_then(|ca| ca.public_key())
                .map_err(|e| bad("credential root", &e))?;
            anchors.push(key);
        }
        let mut carriers = Vec::new();
        for c in &home.carriers {
            let algorithm = match c.algorithm.as_str() {
                "ecdsa-p256" => KeyAlgorithm::EcdsaP256,
                "ed25519" => KeyAlgorithm::Ed25519,
                other => return Err(bad("carrier algorithm", &other)),
            };
            let key = PublicKey::new(algorithm, c.public_key.0.clone())
                .ok_or_else(|| bad("carrier key", &c.id))?;
            carriers.push((c.id.clone(), key));
        }
        homes.push(Home {
            name: home.name.clone(),
            anchors: TrustAnchors::new(anchors),
            carriers: TrustedCarriers::new(carriers),
        });
        let log = &home.transparency;
        if log.directory != home.name {
            return Err(bad(
                "transparency",
                &"a home's log must be its own directory",
            ));
        }
        // PROV-DEV-3: a root without witnesses is accepted only from a
        // provider that says it is in development (and shows as such).
        if log.threshold == 0 && !info.development {
            return Err(bad(
                "transparency",
                &format!("{}'s log has no witness threshold", home.name),
            ));
        }
        let key32 = |what: &str, bytes: &[u8]| -> Result<[u8; 32], SdkError> {
            bytes
                .try_into()
                .map_err(|_| bad(what, &format!("{} bytes", bytes.len())))
        };
        logs.push(TrustedLog {
            directory: log.directory.clone(),
            log_key: crosslock_client::kt::PublicKey(key32("log key", &log.log_key.0)?),
            vrf_key: key32("VRF key", &log.vrf_key.0)?,
            witnesses: log
                .witnesses
                .iter()
                .map(|w| key32("witness key", &w.0).map(crosslock_client::kt::PublicKey))
                .collect::<Result<_, _>>()?,
            threshold: log.threshold,
            max_root_age_secs: 86_400,
        });
    }
    let trust = HomeTrust::new(plan, homes).map_err(|e| bad("homes", &e))?;
    let mut config = DeviceConfig::new(TrustPolicy::Homes(trust));
    config.transparency = TransparencyPolicy::new(logs);
    Ok(config)
}

/// The peers' (public URL, TLS root) pairs the descriptor names.
pub fn peer_tls(info: &ProviderInfo) -> Vec<(String, Vec<u8>)> {
    info.homes
        .iter()
        .filter_map(|h| Some((h.public_url.clone(), h.tls_root.as_ref()?.0.clone())))
        .filter(|(url, _)| !url.is_empty())
        .collect()
}
