//! A whole provider in this process, on a loopback port: its carrier's
//! proof service (software key), its KDS (software CA) and its delivery
//! service, on SQLite files in a directory. Phones enrol over HTTP the way
//! an app does. Used by `crosslock ds bench`; not a production setup (the
//! CA key is not in an HSM).

use std::path::Path;
use std::sync::Arc;

use crosslock_acs::{Acs, ProofRequest};
use crosslock_client::credential::{
    CertificateAuthority, PhoneNumber, TrustAnchors, TrustPolicy, TrustedCarriers,
};
use crosslock_client::env::Environment;
use crosslock_client::keystore::SoftwareKeyStore;
use crosslock_client::store::{MemoryStore, StateStore};
use crosslock_client::{Device, DeviceConfig, DeviceProfile, NewDevice, ParticipantKeyPackages};
use crosslock_ds::{Ds, DsConfig, Federation};
use crosslock_kds::store::SqliteKdsStore;
use crosslock_kds::{AttestationRequirement, Kds, KdsConfig};
use crosslock_provider::KdsDevices;
use crosslock_sdk::transport::DsClient;
use crosslock_wire::api::B64;
use crosslock_wire::api::kds::{
    ClaimRequest, ClaimResponse, EnrollRequest, EnrollResponse, NonceResponse,
};

/// A failure while setting up or driving the provider.
pub(crate) type SetupError = String;

fn err(context: &str) -> impl Fn(&dyn std::fmt::Display) -> String + '_ {
    move |e| format!("{context}: {e}")
}

/// An in-process provider.
pub(crate) struct LocalProvider {
    pub(crate) kds: Arc<Kds>,
    pub(crate) acs: Arc<Acs>,
    pub(crate) url: String,
    pub(crate) trust: TrustPolicy,
    pub(crate) http: reqwest::Client,
    /// The clock and random source of the provider and its phones.
    pub(crate) env: Environment,
}

impl LocalProvider {
    /// Starts provider `name` with its files in `dir`, its services on
    /// `env`.
    pub(crate) async fn start(
        name: &str,
        dir: &Path,
        env: Environment,
        configure: impl FnOnce(&mut DsConfig),
    ) -> Result<LocalProvider, SetupError> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let ca_key = Arc::new(crosslock_tls::KeyPair::generate().map_err(|e| err("CA key")(&e))?);
        let t = env.now();
        let ca = CertificateAuthority::new_root(
            &format!("{name} credential root"),
            t - 3600,
            t + 3650 * 86_400,
            env.random(),
            ca_key.as_ref(),
        )
        .map_err(|e| err("CA")(&e))?;
        let carrier_key =
            Arc::new(crosslock_tls::KeyPair::generate().map_err(|e| err("carrier key")(&e))?);
        let acs = Arc::new(Acs::new(
            format!("carrier.{name}"),
            name,
            carrier_key,
            7 * 86_400,
            env.clone(),
        ));
        let carriers = TrustedCarriers::new(vec![(
            acs.carrier_id().to_owned(),
            acs.public_key().clone(),
        )]);
        let trust = TrustPolicy::Production {
            anchors: TrustAnchors::new(vec![ca_key.public_key().clone()]),
            carriers: carriers.clone(),
        };
        let config = KdsConfig::new(
            name,
            ca,
            ca_key,
            carriers,
            AttestationRequirement::Optional(crosslock_attest::AttestationPolicy::Strict),
        )
        .map_err(|e| err("KDS config")(&e))?;
        let kds_store = Arc::new(
            SqliteKdsStore::open(&dir.join("kds.sqlite3")).map_err(|e| err("KDS store")(&e))?,
        );
        let kds = Arc::new(Kds::new(
            config,
            kds_store.clone(),
            crosslock_kds::FederationClient::none(),
            env.clone(),
        ));
        let mut ds_config = DsConfig::new(name, trust.clone());
        configure(&mut ds_config);
        let ds_store = Arc::new(
            crosslock_ds::store::SqliteDsStore::open(&dir.join("ds.sqlite3"))
                .map_err(|e| err("DS store")(&e))?,
        );
        let ds = Arc::new(Ds::new(
            ds_config,
            ds_store,
            Arc::new(KdsDevices::new(kds_store, env.clock.clone())),
            Federation::none(),
            None,
            env.clone(),
        ));
        // Runs until the runtime stops.
        let _background = crosslock_ds::start_background(&ds);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| err("listen")(&e))?;
        let url = format!(
            "http://{}",
            listener.local_addr().map_err(|e| err("listen")(&e))?
        );
        let router = crosslock_kds::router(kds.clone()).merge(crosslock_ds::router(ds.clone()));
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "provider stopped");
            }
        });
        Ok(LocalProvider {
            kds,
            acs,
            url,
            trust,
            http: reqwest::Client::new(),
            env,
        })
    }

    async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &B,
    ) -> Result<T, SetupError> {
        let mut request = self.http.post(format!("{}{path}", self.url)).json(body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.map_err(|e| err(path)(&e))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| err(path)(&e))?;
        if !status.is_success() {
            return Err(format!("{path}: HTTP {status}: {text}"));
        }
        serde_json::from_str(&text).map_err(|e| err(path)(&e))
    }

    /// A new phone for `number`, enrolled over HTTP with a carrier proof,
    /// with `key_packages` KeyPackages per suite published. Returns the
    /// phone, its DS client and its bearer token.
    pub(crate) async fn enroll(
        &self,
        number: &str,
        profile: DeviceProfile,
        key_packages: usize,
    ) -> Result<(Device, DsClient, String), SetupError> {
        let number = PhoneNumber::parse(number).map_err(|e| err("number")(&e))?;
        let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
        let keystore = Arc::new(SoftwareKeyStore::new(store.clone()));
        let mut device = Device::create(
            store,
            keystore,
            NewDevice {
                number: number.clone(),
                profile,
            },
            DeviceConfig::new(self.trust.clone()),
            self.env.clone(),
        )
        .map_err(|e| err("device")(&e))?;
        let subscriber = format!("sim-{}", hex::encode(self.env.random::<16>()));
        self.acs.add_subscriber(&number, &subscriber);
        let keys = device
            .participant_keys()
            .map_err(|e| err("keys")(&e))?
            .iter()
            .map(|k| B64(k.as_bytes().to_vec()))
            .collect();
        let proof = self
            .acs
            .prove(
                &ProofRequest {
                    number: number.as_str().to_owned(),
                    subscriber_token: subscriber,
                    participant_keys: keys,
                    home_kds: self.kds.config().kds_id.clone(),
                },
                self.env.now(),
            )
            .map_err(|e| err("carrier proof")(&e))?;
        let nonce: NonceResponse = self
            .post("/v1/enrollment/nonce", None, &serde_json::json!({}))
            .await?;
        let request = EnrollRequest {
            nonce: nonce.nonce,
            device_id: device.device_id().to_owned(),
            csrs: device
                .certificate_requests()
                .map_err(|e| err("CSR")(&e))?
                .into_iter()
                .map(B64)
                .collect(),
            carrier_proof: proof.proof,
            attestation: None,
            replace_existing: false,
            next_token: None,
        };
        let enrolled: EnrollResponse = self.post("/v1/enrollment", None, &request).await?;
        crosslock_sdk::enroll::install_credentials(&mut device, enrolled.credentials)
            .map_err(|e| err("credentials")(&e))?;
        let upload = crosslock_sdk::enroll::upload_body(
            device
                .generate_key_packages(key_packages)
                .map_err(|e| err("KeyPackages")(&e))?,
        );
        let token = enrolled.device_token;
        let _: serde_json::Value = self.post("/v1/keypackages", Some(&token), &upload).await?;
        let ds = DsClient::new(self.http.clone(), self.url.clone(), token.clone());
        Ok((device, ds, token))
    }

    /// Claims `number`'s KeyPackages as the device holding `token`.
    pub(crate) async fn claim(
        &self,
        token: &str,
        number: &str,
    ) -> Result<ParticipantKeyPackages, SetupError> {
        let answer: ClaimResponse = self
            .post(
                "/v1/claim",
                Some(token),
                &ClaimRequest {
                    number: number.to_owned(),
                },
            )
            .await?;
        ParticipantKeyPackages::from_claim(&answer).map_err(|e| err("claim")(&e))
    }
}
