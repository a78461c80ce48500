//! A whole Crosslock provider in one process: what `crosslock serve` runs.
//!
//! [`Provider::start`] opens (or, on first start, creates) everything in a
//! data dir and serves:
//!
//! - the **device-facing API** over TLS on `provider.listen`: the carrier
//!   proof service (`/acs/v1/proof`), the KDS (enrolment, KeyPackages,
//!   claims, revocation), its key-transparency log (`/v1/kt/...`), the
//!   delivery service (`/v1/ds/...`), the content server (`/v1/files`), and
//!   the provider descriptor `GET /v1/provider` ([`ProviderInfo`]);
//! - **federation** with peer providers over mutual TLS on
//!   `provider.federation_listen` (only when peers are configured);
//! - **operations** on `provider.admin_listen` (plain HTTP): `/healthz` and
//!   Prometheus `/metrics`.
//!
//! Storage is the embedded SQLite default (WAL, `synchronous=FULL`) under
//! the data dir; key material is described in [`keys`](crate) (see
//! docs/serve.md for the layout).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod attestation;
mod config;
mod devices;
mod error;
mod info;
mod keys;
mod metrics;
mod subscribers;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use crosslock_acs::Acs;
use crosslock_credential::{TrustPolicy, TrustedCarriers};
use crosslock_ds::store::SqliteDsStore;
use crosslock_ds::{ContentConfig, ContentServer, Ds, DsConfig, Federation, PeerDs};
use crosslock_kds::store::SqliteKdsStore;
use crosslock_kds::{AttestationRequirement, FederationClient, Kds, KdsConfig, PeerKds};
use crosslock_kt::server::{KtLog, KtLogOptions, LogKeys, WitnessClient};
use crosslock_profile::Environment;
use crosslock_wire::api::provider::ProviderInfo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{
    AndroidApp, AttestationSection, CarrierSection, CredentialCaSection, LimitsSection,
    PeerSection, ProviderConfig, ProviderSection, PushSection, TlsSection, TransparencySection,
    TrustedCarrier, WitnessSection,
};
pub use devices::KdsDevices;
pub use error::ProviderError;

pub use metrics::Gauges;
use metrics::Metrics;

/// The stores the admin endpoints read.
#[derive(Debug)]
pub(crate) struct Stores {
    env: Environment,
    ds: Arc<SqliteDsStore>,
    kds: Arc<SqliteKdsStore>,
    kt: Arc<KtLog>,
}

impl Stores {
    fn gauges(&self) -> Result<Gauges, String> {
        let ds = self.ds.metrics().map_err(|e| e.to_string())?;
        let kds = self
            .kds
            .metrics(self.env.now())
            .map_err(|e| e.to_string())?;
        let epoch = self
            .kt
            .latest_root()
            .map_err(|e| e.to_string())?
            .map_or(0, |r| r.statement.epoch);
        Ok(Gauges {
            inbox_items: ds.inbox_items,
            inbox_devices: ds.inbox_devices,
            outbox_items: ds.outbox_items,
            devices: kds.devices,
            key_packages: kds.key_packages,
            transparency_queue: kds.queued_numbers,
            transparency_epoch: epoch,
        })
    }
}

/// A running provider. Dropping it does not stop it; call
/// [`Provider::shutdown`].
#[derive(Debug)]
pub struct Provider {
    config: ProviderConfig,
    info: ProviderInfo,
    peer: PeerSection,
    public_addr: SocketAddr,
    admin_addr: SocketAddr,
    federation_addr: Option<SocketAddr>,
    tls_ca_path: PathBuf,
    stores: Arc<Stores>,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<std::io::Result<()>>>,
    background: Vec<JoinHandle<()>>,
    /// Held while the provider runs: one provider per data dir.
    _lock: std::fs::File,
}

impl Provider {
    /// Opens `data_dir` (creating it and everything in it on first start),
    /// binds the listeners and starts serving. Returns once every listener
    /// accepts connections. Every service reads the time and draws
    /// randomness from `env` (`Environment::system()` in production).
    pub async fn start(
        config: ProviderConfig,
        data_dir: &Path,
        env: Environment,
    ) -> Result<Provider, ProviderError> {
        config.check().map_err(|why| ProviderError::Config {
            path: "configuration".into(),
            why,
        })?;
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        keys::private_dir(data_dir)?;
        let lock = lock_data_dir(data_dir)?;
        let name = config.provider.name.clone();

        // Bind first: a port in use is the most common start-up failure,
        // and it should not leave half-made key material behind.
        let public_listener = bind(config.provider.listen, "provider.listen").await?;
        let admin_listener = bind(config.provider.admin_listen, "provider.admin_listen").await?;
        let federation_listener = if config.peers.is_empty() {
            None
        } else {
            Some(
                bind(
                    config.provider.federation_listen,
                    "provider.federation_listen",
                )
                .await?,
            )
        };
        let public_addr = local_addr(&public_listener)?;
        let admin_addr = local_addr(&admin_listener)?;
        let federation_addr = federation_listener.as_ref().map(local_addr).transpose()?;
        // With port 0 the real ports are known only now.
        let mut config = config;
        config.provider.listen = public_addr;
        config.provider.admin_listen = admin_addr;
        if let Some(addr) = federation_addr {
            config.provider.federation_listen = addr;
        }

        let keys = keys::ProviderKeys::load_or_create(&config, data_dir, &env)?;
        let peers = info::Peer::parse_all(&config.peers)?;

        // The carrier, and whose proofs the KDS believes.
        let acs = match &keys.carrier {
            Some(key) => {
                let acs = Arc::new(Acs::new(
                    config.carrier_id(),
                    name.clone(),
                    key.clone(),
                    config.carrier.proof_lifetime_secs,
                    env.clone(),
                ));
                acs.set_open_enrolment(config.carrier.open_enrolment);
                if let Some(path) = &config.carrier.subscribers {
                    let n = subscribers::load(&acs, path)?;
                    tracing::info!(subscribers = n, "carrier subscribers loaded");
                }
                Some(acs)
            }
            None => None,
        };
        let mut carriers = info::parse_carriers(&config.trusted_carriers)?;
        if let Some(acs) = &acs {
            carriers.insert(0, (acs.carrier_id().to_owned(), acs.public_key().clone()));
        }
        // The KDS checks peers' claim answers against their carriers too
        // (a peer carrier's proof cannot enrol here: it names its own home).
        let mut kds_carriers = carriers.clone();
        for peer in &peers {
            kds_carriers.extend(peer.carriers.iter().cloned());
        }
        let plan = config.plan().map_err(|why| ProviderError::Config {
            path: "configuration".into(),
            why,
        })?;

        // Key transparency.
        let kt_dir = data_dir.join("kt");
        keys::private_dir(&kt_dir.join("keys"))?;
        let log_keys = LogKeys::load_or_create(&kt_dir.join("keys"))
            .map_err(|e| ProviderError::Keys(format!("transparency keys: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| ProviderError::Start(format!("HTTP client: {e}")))?;
        let mut options = KtLogOptions::default();
        let witness_keys: Vec<crosslock_kt::PublicKey> =
            info::witness_keys(&config.transparency.witnesses)
                .map_err(|why| ProviderError::Config {
                    path: "transparency.witnesses".into(),
                    why,
                })?
                .into_iter()
                .map(crosslock_kt::PublicKey)
                .collect();
        for (w, key) in config.transparency.witnesses.iter().zip(&witness_keys) {
            options
                .witnesses
                .push(WitnessClient::new(w.url.clone(), *key, http.clone()));
        }
        let log = Arc::new(
            KtLog::open(&kt_dir.join("log"), &name, log_keys, options, env.now())
                .await
                .map_err(|e| ProviderError::Start(format!("transparency log: {e}")))?,
        );
        if config.provider.development {
            tracing::warn!(
                threshold = config.transparency.threshold,
                "development provider: loopback only; transparency roots may lack witnesses"
            );
        }
        let own = info::Own {
            name: &name,
            development: config.provider.development,
            plan: &plan,
            ca: &keys.credential.ca,
            carriers: &carriers,
            log: &log,
            witnesses: &witness_keys,
            threshold: config.transparency.threshold,
            public_url: config.public_url(),
        };
        // The DS tells its own devices from peers' by whose home vouches
        // for them; its observer accepts every home (the merge of both).
        let own_trust = TrustPolicy::Homes(own.own_trust()?);

        // The KDS.
        let mut kds_config = KdsConfig::new(
            name.clone(),
            keys.credential.ca.clone(),
            keys.credential.signer.clone(),
            TrustedCarriers::new(kds_carriers),
            AttestationRequirement::Optional(crosslock_attest::AttestationPolicy::Strict),
        )
        .map_err(|e| ProviderError::Start(format!("attestation roots: {e}")))?;
        // HOME-1, KDS-ENR-6..7: only this provider's carriers may prove a
        // number for enrolment here, and only numbers homed here enrol.
        kds_config.set_enrolment_carriers(TrustedCarriers::new(carriers.clone()));
        kds_config.set_numbering_plan(plan.clone());
        attestation::apply(
            &config.attestation,
            config.provider.development,
            &mut kds_config,
        )?;
        kds_config.credential_lifetime_secs =
            config.credential_ca.credential_lifetime_days * 86_400;
        kds_config.claim_rate = crosslock_kds::RateLimit {
            burst: config.limits.claim_burst,
            refill_secs: config.limits.claim_refill_secs,
        };
        kds_config.transparency.epoch_interval_secs = config.transparency.epoch_interval_secs;
        kds_config.transparency.refresh_interval_secs = config.transparency.refresh_interval_secs;
        kds_config.peers = peers
            .iter()
            .map(|p| PeerKds {
                kds_id: p.name.clone(),
                federation_url: p.federation_url.clone(),
                prefixes: p.prefixes.clone(),
                credential_root: p.credential_root.clone(),
                client_cert_sha256: p.client_cert_sha256,
                carriers: TrustedCarriers::new(p.carriers.clone()),
            })
            .collect();
        // PROV-TLS-2: one TLS configuration per peer, trusting that peer's
        // root alone (our federation certificate in each).
        let federation_tls = peers
            .iter()
            .map(|p| {
                crosslock_tls::client_config(
                    std::slice::from_ref(&p.tls_ca),
                    Some(&keys.federation_client),
                )
                .map(|tls| (p.name.clone(), tls))
                .map_err(|e| ProviderError::Start(format!("federation TLS for {}: {e}", p.name)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let kds_federation = if peers.is_empty() {
            FederationClient::none()
        } else {
            FederationClient::pinned(federation_tls.clone())
                .map_err(|e| ProviderError::Start(e.to_string()))?
        };
        let kds_store = Arc::new(
            SqliteKdsStore::open(&data_dir.join("kds.sqlite3"))
                .map_err(|e| ProviderError::Start(format!("KDS store: {e}")))?,
        );
        let kds = Arc::new(
            Kds::new(kds_config, kds_store.clone(), kds_federation, env.clone())
                .with_transparency(log.clone()),
        );

        // The delivery service and the content server.
        let mut ds_config = DsConfig::new(name.clone(), own_trust.clone());
        apply_limits(&mut ds_config, &config);
        // DS-FED-5: a peer proves a conversation's creation only with a
        // creator homed there.
        ds_config.numbering = Some(plan.clone());
        ds_config.peers = peers
            .iter()
            .map(|p| {
                Ok(PeerDs {
                    name: p.name.clone(),
                    federation_url: p.federation_url.clone(),
                    tls_fingerprint: p.client_cert_sha256,
                    credentials: TrustPolicy::Homes(p.home_trust()?),
                })
            })
            .collect::<Result<_, ProviderError>>()?;
        let ds_federation = if peers.is_empty() {
            Federation::none()
        } else {
            Federation::pinned(federation_tls, ds_config.peers.clone())
                .map_err(|e| ProviderError::Start(e.to_string()))?
        };
        let push: Option<Arc<dyn crosslock_ds::PushGateway>> = if config.push.webhook_url.is_empty()
        {
            None
        } else {
            Some(Arc::new(crosslock_ds::WebhookPush::new(
                http.clone(),
                config.push.webhook_url.clone(),
            )))
        };
        let ds_store = Arc::new(
            SqliteDsStore::open(&data_dir.join("ds.sqlite3"))
                .map_err(|e| ProviderError::Start(format!("DS store: {e}")))?,
        );
        let auth = Arc::new(KdsDevices::new(kds_store.clone(), env.clock.clone()));
        let ds = Arc::new(Ds::new(
            ds_config,
            ds_store.clone(),
            auth.clone(),
            ds_federation,
            push,
            env.clone(),
        ));
        let content = Arc::new(
            ContentServer::open(
                &data_dir.join("content"),
                ContentConfig {
                    max_file_bytes: config.limits.max_file_bytes,
                    expiry_secs: config.limits.file_expiry_days * 86_400,
                    public_base_url: config.public_url(),
                    ..ContentConfig::default()
                },
                auth,
                env.clone(),
            )
            .map_err(|e| ProviderError::Start(format!("content server: {e}")))?,
        );

        // What devices and peers are told.
        let tls_ca_path = data_dir.join("tls").join(crosslock_tls::CA_CERT_FILE);
        let info = own.describe(&peers);
        let peer = PeerSection {
            name: name.clone(),
            federation_url: config.federation_url(),
            public_url: config.public_url(),
            prefixes: config.provider.prefixes.clone(),
            tls_ca: info::b64(keys.tls_ca.certificate_der()),
            client_cert_sha256: hex::encode(keys.federation_client.leaf_sha256()),
            credential_root: info::b64(keys.credential.ca.certificate()),
            carriers: carriers
                .iter()
                .map(|(id, key)| info::trusted_carrier(id, key))
                .collect(),
            log_key: info::b64(&log.log_key().0),
            vrf_key: info::b64(&log.vrf_key()),
            witnesses: config.transparency.witnesses.clone(),
            threshold: config.transparency.threshold,
        };

        // Routers.
        let metrics = Metrics::new();
        let described = info.clone();
        let mut public = Router::new()
            .route(
                "/v1/provider",
                get(move || {
                    let info = described.clone();
                    async move { axum::Json(info) }
                }),
            )
            .merge(crosslock_kds::router(kds.clone()))
            .merge(crosslock_ds::router(ds.clone()))
            .merge(crosslock_ds::content_router(content.clone()));
        if let Some(acs) = &acs {
            public = public.merge(crosslock_acs::router(acs.clone()));
        }
        let public = public.layer(axum::middleware::from_fn_with_state(
            metrics.clone(),
            metrics::track,
        ));
        let stores = Arc::new(Stores {
            env: env.clone(),
            ds: ds_store,
            kds: kds_store,
            kt: log.clone(),
        });
        let admin = metrics::admin_router(metrics.clone(), stores.clone());

        let public_tls =
            crosslock_tls::server_config(&keys.server, crosslock_tls::ClientAuth::None)
                .map_err(|e| ProviderError::Start(format!("TLS: {e}")))?;
        let (stop, stopped) = watch::channel(false);
        let until_stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let mut servers = vec![
            tokio::spawn(crosslock_tls::serve(
                public_listener,
                public,
                Some(public_tls),
                until_stopped(stopped.clone()),
            )),
            tokio::spawn(crosslock_tls::serve(
                admin_listener,
                admin,
                None,
                until_stopped(stopped.clone()),
            )),
        ];
        if let Some(listener) = federation_listener {
            let roots = peers.iter().map(|p| p.tls_ca.clone()).collect();
            let tls = crosslock_tls::server_config(
                &keys.server,
                crosslock_tls::ClientAuth::Required { roots },
            )
            .map_err(|e| ProviderError::Start(format!("federation TLS: {e}")))?;
            let router = crosslock_kds::federation_router(kds.clone())
                .merge(crosslock_ds::federation_router(ds.clone()))
                .layer(axum::middleware::from_fn_with_state(
                    metrics.clone(),
                    metrics::track,
                ));
            servers.push(tokio::spawn(crosslock_tls::serve(
                listener,
                router,
                Some(tls),
                until_stopped(stopped.clone()),
            )));
        }

        let mut background = crosslock_ds::start_background(&ds);
        ContentServer::start_background(&content);
        let publisher = kds.clone();
        background.push(tokio::spawn(async move {
            if let Err(e) = publisher.run_transparency().await {
                tracing::error!(error = %e, "key-transparency publisher stopped");
            }
        }));

        Ok(Provider {
            config,
            info,
            peer,
            public_addr,
            admin_addr,
            federation_addr,
            tls_ca_path,
            stores,
            stop,
            servers,
            background,
            _lock: lock,
        })
    }

    /// The configuration in effect (listen addresses as bound).
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// What `GET /v1/provider` answers.
    pub fn info(&self) -> &ProviderInfo {
        &self.info
    }

    /// The `[[peers]]` block another provider needs to federate with this
    /// one (its `prefixes` left for that operator to fill in).
    pub fn peer_section(&self) -> &PeerSection {
        &self.peer
    }

    /// Where the device-facing API listens.
    pub fn public_addr(&self) -> SocketAddr {
        self.public_addr
    }

    /// The device-facing base URL.
    pub fn public_url(&self) -> String {
        self.config.public_url()
    }

    /// Where `/healthz` and `/metrics` listen.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// Where federation listens, when peers are configured.
    pub fn federation_addr(&self) -> Option<SocketAddr> {
        self.federation_addr
    }

    /// The TLS CA certificate devices must trust (PEM file).
    pub fn tls_ca_path(&self) -> &Path {
        &self.tls_ca_path
    }

    /// What the stores hold now (the `/metrics` gauges).
    pub async fn status(&self) -> Result<Gauges, ProviderError> {
        let stores = self.stores.clone();
        tokio::task::spawn_blocking(move || stores.gauges())
            .await
            .map_err(|e| ProviderError::Start(e.to_string()))?
            .map_err(ProviderError::Start)
    }

    /// Stops accepting, lets requests in flight finish (at most
    /// [`crosslock_tls::SHUTDOWN_GRACE`]), and stops the background tasks.
    /// Everything acknowledged is already on disk.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for server in self.servers {
            match server.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "listener stopped with an error"),
                Err(e) => tracing::warn!(error = %e, "listener task failed"),
            }
        }
        for task in self.background {
            task.abort();
        }
    }
}

/// Locks `DATA/lock` for this process: two providers on one data dir
/// would both publish transparency epochs and race on every database.
/// The operating system releases the lock when the process ends, however
/// it ends.
fn lock_data_dir(data_dir: &Path) -> Result<std::fs::File, ProviderError> {
    let path = data_dir.join("lock");
    let fail = |why: String| ProviderError::DataDir {
        path: data_dir.display().to_string(),
        why,
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| fail(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(fail(
            "another provider is using it; stop that one first, or choose another --data-dir"
                .into(),
        )),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(fail(format!("cannot lock {}: {e}", path.display())))
        }
    }
}

async fn bind(addr: SocketAddr, setting: &str) -> Result<TcpListener, ProviderError> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| ProviderError::Listen {
            setting: setting.to_owned(),
            addr,
            why: e.to_string(),
        })
}

fn local_addr(listener: &TcpListener) -> Result<SocketAddr, ProviderError> {
    listener
        .local_addr()
        .map_err(|e| ProviderError::Start(format!("listener address: {e}")))
}

fn apply_limits(ds: &mut DsConfig, config: &ProviderConfig) {
    let limits = &config.limits;
    ds.retention_secs = limits.retention_days * 86_400;
    ds.max_message_bytes = limits.max_message_bytes;
    ds.device_rate = crosslock_ds::RateLimit {
        burst: limits.device_burst,
        per_second: limits.device_per_second,
    };
    ds.conversation_rate = crosslock_ds::RateLimit {
        burst: limits.conversation_burst,
        per_second: limits.conversation_per_second,
    };
    ds.external_commits_per_day = limits.external_commits_per_day;
    ds.max_wait_secs = limits.max_wait_secs;
    ds.push = crosslock_ds::PushSettings {
        batch_window_ms: config.push.batch_window_ms,
        max_random_delay_ms: config.push.max_random_delay_ms,
    };
}
