//! A device directory: `device.json` (settings, the provider descriptor
//! and the device's bearer token; mode 0600), `state.db` (the client
//! core's encrypted SQLite database) and `state.key` (its 32-byte key,
//! mode 0600: an app keeps this in the platform keystore instead).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crosslock_client::credential::{
    CertificateAuthority, Home, HomeTrust, KeyAlgorithm, NumberingPlan, PhoneNumber, PublicKey,
    TrustAnchors, TrustPolicy, TrustedCarriers,
};
use crosslock_client::env::Environment;
use crosslock_client::keystore::SoftwareKeyStore;
use crosslock_client::kt::TrustedLog;
use crosslock_client::store::{DatabaseKey, SqliteStore, StateStore};
use crosslock_client::{Device, DeviceConfig, DeviceProfile, NewDevice, TransparencyPolicy};
use crosslock_wire::api::provider::ProviderInfo;
use serde::{Deserialize, Serialize};

use super::Failure;
use super::api::Api;

const SETTINGS: &str = "device.json";
const DATABASE: &str = "state.db";
const DATABASE_KEY: &str = "state.key";

/// `device.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    pub(crate) number: String,
    pub(crate) profile: String,
    pub(crate) server: String,
    pub(crate) tls_ca_pem: String,
    pub(crate) provider: ProviderInfo,
    /// The KDS bearer token, once enrolled.
    pub(crate) token: Option<String>,
    /// Per home: the `as_of` of its last revocation list and when it was
    /// fetched (Unix seconds).
    #[serde(default)]
    pub(crate) revocations: std::collections::BTreeMap<String, (u64, u64)>,
}

/// An opened device directory.
pub(crate) struct DeviceDir {
    pub(crate) path: PathBuf,
    pub(crate) settings: Settings,
    pub(crate) device: Device,
    pub(crate) api: Api,
}

impl std::fmt::Debug for DeviceDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceDir")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |e| Failure::input(format!("{}: {e}", path.display()))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let tmp = path.with_extension("tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(io(&tmp))?;
        std::io::Write::write_all(&mut file, bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Parses the `--profile` value.
pub(crate) fn parse_profile(name: &str) -> Result<DeviceProfile, Failure> {
    match name {
        "android" => Ok(DeviceProfile::Android),
        "ios" => Ok(DeviceProfile::Ios),
        other => Err(Failure::input(format!(
            "--profile {other:?}: expected android or ios"
        ))),
    }
}

/// What the device trusts, from the provider descriptor: for each home,
/// its roots, carriers and log, and only for its own numbers (HOME-1..3).
pub(crate) fn device_config(info: &ProviderInfo) -> Result<DeviceConfig, Failure> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        Failure::network(format!("provider descriptor: {what}: {e}"))
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
        let key32 = |what: &str, bytes: &[u8]| -> Result<[u8; 32], Failure> {
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
pub(crate) fn peer_tls(info: &ProviderInfo) -> Vec<(String, Vec<u8>)> {
    info.homes
        .iter()
        .filter_map(|h| Some((h.public_url.clone(), h.tls_root.as_ref()?.0.clone())))
        .filter(|(url, _)| !url.is_empty())
        .collect()
}

impl DeviceDir {
    /// Creates a device in `path` (which must not hold one) for `number`,
    /// trusting the provider at `server` whose TLS root is `ca_pem`.
    pub(crate) async fn init(
        path: &Path,
        number: &str,
        profile: &str,
        server: &str,
        ca_pem: String,
    ) -> Result<DeviceDir, Failure> {
        if path.join(SETTINGS).exists() {
            return Err(Failure::input(format!(
                "{} already holds a device; choose another --device-dir",
                path.display()
            )));
        }
        let number_parsed = PhoneNumber::parse(number).map_err(|e| {
            Failure::input(format!(
                "--number {number:?}: {e} (use +E.164, e.g. +447700900123)"
            ))
        })?;
        let profile_parsed = parse_profile(profile)?;
        let info = Api::new(server, &ca_pem, &[])?.provider_info().await?;
        let api = Api::new(server, &ca_pem, &peer_tls(&info))?;
        let config = device_config(&info)?;
        std::fs::create_dir_all(path).map_err(io(path))?;
        let env = Environment::system();
        let key: [u8; 32] = env.random();
        write_private(&path.join(DATABASE_KEY), STANDARD.encode(key).as_bytes())?;
        let store: Arc<dyn StateStore> = Arc::new(
            SqliteStore::open(&path.join(DATABASE), &DatabaseKey::new(key))
                .map_err(|e| Failure::internal(format!("device database: {e}")))?,
        );
        let keystore = Arc::new(SoftwareKeyStore::new(store.clone()));
        let device = Device::create(
            store,
            keystore,
            NewDevice {
                number: number_parsed.clone(),
                profile: profile_parsed,
            },
            config,
            env,
        )
        .map_err(|e| Failure::internal(format!("device: {e}")))?;
        let settings = Settings {
            number: number_parsed.as_str().to_owned(),
            profile: profile.to_owned(),
            server: api.base().to_owned(),
            tls_ca_pem: ca_pem,
            provider: info,
            token: None,
            revocations: Default::default(),
        };
        let dir = DeviceDir {
            path: path.to_owned(),
            settings,
            device,
            api,
        };
        dir.save()?;
        Ok(dir)
    }

    /// Opens the device in `path`.
    pub(crate) fn open(path: &Path) -> Result<DeviceDir, Failure> {
        DeviceDir::open_with(path, |store| store)
    }

    /// Opens the device in `path` on its database as `wrap` returns it
    /// (`crosslock chaos` wraps it to make the device die mid-write).
    pub(crate) fn open_with(
        path: &Path,
        wrap: impl FnOnce(Arc<dyn StateStore>) -> Arc<dyn StateStore>,
    ) -> Result<DeviceDir, Failure> {
        let settings_path = path.join(SETTINGS);
        let text = std::fs::read_to_string(&settings_path).map_err(|e| {
            Failure::input(format!(
                "{}: {e}; run `crosslock device init` first (or pass --device-dir)",
                settings_path.display()
            ))
        })?;
        let settings: Settings = serde_json::from_str(&text)
            .map_err(|e| Failure::input(format!("{}: {e}", settings_path.display())))?;
        let key_path = path.join(DATABASE_KEY);
        let key_text =
            zeroize::Zeroizing::new(std::fs::read_to_string(&key_path).map_err(io(&key_path))?);
        let key: [u8; 32] = STANDARD
            .decode(key_text.trim())
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| Failure::input(format!("{}: not a database key", key_path.display())))?;
        let store: Arc<dyn StateStore> = wrap(Arc::new(
            SqliteStore::open(&path.join(DATABASE), &DatabaseKey::new(key))
                .map_err(|e| Failure::internal(format!("device database: {e}")))?,
        ));
        let keystore = Arc::new(SoftwareKeyStore::new(store.clone()));
        let config = device_config(&settings.provider)?;
        let device = Device::open(store, keystore, config, Environment::system())
            .map_err(|e| Failure::internal(format!("device: {e}")))?;
        let api = Api::new(
            &settings.server,
            &settings.tls_ca_pem,
            &peer_tls(&settings.provider),
        )?;
        Ok(DeviceDir {
            path: path.to_owned(),
            settings,
            device,
            api,
        })
    }

    /// Writes `device.json`.
    pub(crate) fn save(&self) -> Result<(), Failure> {
        let text = serde_json::to_vec_pretty(&self.settings)
            .map_err(|e| Failure::internal(e.to_string()))?;
        write_private(&self.path.join(SETTINGS), &text)
    }

    /// The bearer token, or what to do without one.
    pub(crate) fn token(&self) -> Result<&str, Failure> {
        self.settings.token.as_deref().ok_or_else(|| {
            Failure::input("this device is not enrolled yet; run `crosslock device enroll`")
        })
    }
}
