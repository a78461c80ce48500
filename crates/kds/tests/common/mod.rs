//! Test support: a provider (KDS + its carrier's ACS) served on loopback,
//! and phones (client cores) that enroll at it over HTTP.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub(crate) mod android;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use crosslock_acs::{Acs, ProofRequest};
use crosslock_client::credential::{
    CertSigner, CertificateAuthority, KeyAlgorithm, PhoneNumber, PublicKey, TrustAnchors,
    TrustPolicy, TrustedCarriers,
};
use crosslock_client::env::Environment;
use crosslock_client::keystore::SoftwareKeyStore;
use crosslock_client::store::{MemoryStore, StateStore};
use crosslock_client::*;
use crosslock_kds::store::SqliteKdsStore;
use crosslock_kds::{AttestationRequirement, FederationClient, Kds, KdsConfig};
use crosslock_wire::api::kds::*;
use crosslock_wire::api::{B64, ErrorBody};

/// An HTTP client (plain HTTP on loopback; TLS uses AWS-LC).
pub(crate) fn http() -> reqwest::Client {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
    reqwest::Client::new()
}

pub(crate) fn now() -> u64 {
    Environment::system().now()
}

/// A software P-256 signer (CA and carrier keys in tests).
pub(crate) struct SoftSigner(p256::ecdsa::SigningKey, PublicKey);

impl SoftSigner {
    pub(crate) fn new() -> Self {
        let seed: [u8; 32] = Environment::system().random();
        let sk = p256::ecdsa::SigningKey::from_slice(&seed).unwrap();
        let pk = sk.verifying_key().to_sec1_point(false).as_bytes().to_vec();
        SoftSigner(sk, PublicKey::new(KeyAlgorithm::EcdsaP256, pk).unwrap())
    }
}

impl CertSigner for SoftSigner {
    fn public_key(&self) -> &PublicKey {
        &self.1
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        use p256::ecdsa::signature::Signer;
        let sig: p256::ecdsa::Signature = self.0.sign(message);
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

/// A provider: its KDS on a loopback port, its carrier's ACS, its roots.
pub(crate) struct Provider {
    pub(crate) kds: Arc<Kds>,
    pub(crate) kt: Option<Arc<crosslock_kt::server::KtLog>>,
    pub(crate) acs: Arc<Acs>,
    pub(crate) carrier_signer: Arc<SoftSigner>,
    pub(crate) url: String,
    pub(crate) addr: SocketAddr,
    pub(crate) ca_key: PublicKey,
    pub(crate) ca_cert: Vec<u8>,
    pub(crate) _dir: tempfile::TempDir,
}

pub(crate) struct ProviderSetup {
    pub(crate) kds_id: &'static str,
    pub(crate) attestation: AttestationRequirement,
    pub(crate) admin_token: Option<String>,
    pub(crate) configure: Box<dyn FnOnce(&mut KdsConfig)>,
    /// The provider's keys, when the test needs them before start.
    pub(crate) keys: Option<ProviderKeys>,
    /// Serve the federation API on this listener with this TLS config and
    /// call peers with this client.
    pub(crate) federation: Option<(
        tokio::net::TcpListener,
        Arc<rustls::ServerConfig>,
        FederationClient,
    )>,
    /// Run a key-transparency directory with these keys.
    pub(crate) transparency: Option<crosslock_kt::server::LogKeys>,
}

impl Default for ProviderSetup {
    fn default() -> Self {
        ProviderSetup {
            kds_id: "kds.a.example",
            attestation: AttestationRequirement::Optional(
                crosslock_attest::AttestationPolicy::Strict,
            ),
            admin_token: Some("admin-secret".into()),
            configure: Box::new(|_| {}),
            keys: None,
            federation: None,
            transparency: None,
        }
    }
}

/// A provider's CA and its carrier, made ahead of the KDS.
pub(crate) struct ProviderKeys {
    pub(crate) ca_signer: Arc<SoftSigner>,
    pub(crate) ca: CertificateAuthority,
    pub(crate) acs: Arc<Acs>,
    /// The carrier's signing key (for proofs the ACS would not issue).
    pub(crate) carrier_signer: Arc<SoftSigner>,
}

impl ProviderKeys {
    pub(crate) fn new(kds_id: &str, carrier_id: &str) -> Self {
        let ca_signer = Arc::new(SoftSigner::new());
        let t = now();
        let ca = CertificateAuthority::new_root(
            &format!("{kds_id} root"),
            t - 3600,
            t + 3650 * 86_400,
            [9; 16],
            ca_signer.as_ref(),
        )
        .unwrap();
        let carrier_signer = Arc::new(SoftSigner::new());
        let acs = Arc::new(Acs::new(
            carrier_id,
            kds_id,
            carrier_signer.clone(),
            7 * 86_400,
            Environment::system(),
        ));
        ProviderKeys {
            ca_signer,
            ca,
            acs,
            carrier_signer,
        }
    }

    pub(crate) fn carrier(&self) -> (String, PublicKey) {
        (
            self.acs.carrier_id().to_owned(),
            self.acs.public_key().clone(),
        )
    }
}

impl Provider {
    pub(crate) async fn start(setup: ProviderSetup) -> Provider {
        let dir = tempfile::tempdir().unwrap();
        let keys = setup
            .keys
            .unwrap_or_else(|| ProviderKeys::new(setup.kds_id, "carrier.example"));
        let (ca_signer, ca, acs, carrier_signer) =
            (keys.ca_signer, keys.ca, keys.acs, keys.carrier_signer);
        let carriers = TrustedCarriers::new(vec![(
            acs.carrier_id().to_owned(),
            acs.public_key().clone(),
        )]);
        let mut config = KdsConfig::new(
            setup.kds_id,
            ca.clone(),
            ca_signer.clone(),
            carriers,
            setup.attestation,
        )
        .unwrap();
        config.admin_token = setup.admin_token;
        (setup.configure)(&mut config);
        let store = Arc::new(SqliteKdsStore::open(&dir.path().join("kds.db")).unwrap());
        let (federation_listener, federation_client) = match setup.federation {
            Some((listener, tls, client)) => (Some((listener, tls)), client),
            None => (None, FederationClient::none()),
        };
        let mut kds = Kds::new(config, store, federation_client, Environment::system());
        let mut kt = None;
        if let Some(keys) = setup.transparency {
            let log = crosslock_kt::server::KtLog::open(
                &dir.path().join("kt"),
                setup.kds_id,
                keys,
                crosslock_kt::server::KtLogOptions::default(),
                now(),
            )
            .await
            .unwrap();
            let log = Arc::new(log);
            kds = kds.with_transparency(log.clone());
            kt = Some(log);
        }
        let kds = Arc::new(kds);
        if let Some((listener, tls)) = federation_listener {
            let router = crosslock_kds::federation_router(kds.clone());
            tokio::spawn(crosslock_tls::serve(
                listener,
                router,
                Some(tls),
                std::future::pending(),
            ));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = crosslock_kds::router(kds.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Provider {
            kds,
            kt,
            acs,
            carrier_signer,
            url: format!("http://{addr}"),
            addr,
            ca_key: ca_signer.public_key().clone(),
            ca_cert: ca.certificate().to_vec(),
            _dir: dir,
        }
    }

    /// What a phone of this provider trusts.
    /// What a client trusts about this provider's key-transparency log
    /// (no witnesses).
    pub(crate) fn trusted_log(&self) -> crosslock_kt::TrustedLog {
        let log = self.kt.as_ref().expect("provider runs no transparency log");
        crosslock_kt::TrustedLog {
            directory: log.directory().to_owned(),
            log_key: log.log_key(),
            vrf_key: log.vrf_key(),
            witnesses: Vec::new(),
            threshold: 0,
            max_root_age_secs: 86_400,
        }
    }

    /// Closes a key-transparency epoch now.
    pub(crate) async fn epoch(&self) -> Option<crosslock_wire::api::kt::SignedRoot> {
        self.kds.publish_transparency(now()).await.unwrap()
    }

    pub(crate) fn trust(&self) -> TrustPolicy {
        TrustPolicy::Production {
            anchors: TrustAnchors::new(vec![self.ca_key.clone()]),
            carriers: TrustedCarriers::new(vec![(
                self.acs.carrier_id().to_owned(),
                self.acs.public_key().clone(),
            )]),
        }
    }

    pub(crate) async fn post<T: serde::Serialize>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &T,
    ) -> (u16, serde_json::Value) {
        let mut request = http().post(format!("{}{path}", self.url)).json(body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    pub(crate) async fn post_raw(&self, path: &str, body: Vec<u8>) -> (u16, serde_json::Value) {
        let response = http()
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let mut request = http().get(format!("{}{path}", self.url));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    pub(crate) async fn nonce(&self) -> Vec<u8> {
        let (status, body) = self
            .post("/v1/enrollment/nonce", None, &serde_json::json!({}))
            .await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_value::<NonceResponse>(body)
            .unwrap()
            .nonce
            .0
    }

    /// A subscriber of this provider's carrier.
    pub(crate) fn subscribe(&self, number: &str) -> String {
        let token = format!("sim-secret-{number}");
        self.acs
            .add_subscriber(&PhoneNumber::parse(number).unwrap(), &token);
        token
    }

    /// The carrier proof for a phone's keys, naming `home_kds` as home: the
    /// provider's own ACS for its own home, else the same carrier (same id
    /// and key) homing the number elsewhere.
    pub(crate) fn carrier_proof(&self, phone: &Device, home_kds: &str) -> Vec<u8> {
        if home_kds != self.acs.home_kds() {
            let elsewhere = Acs::new(
                self.acs.carrier_id(),
                home_kds,
                self.carrier_signer.clone(),
                7 * 86_400,
                Environment::system(),
            );
            return carrier_proof_by(&elsewhere, phone);
        }
        let token = self.subscribe(phone.number().as_str());
        let request = ProofRequest {
            number: phone.number().as_str().to_owned(),
            subscriber_token: token,
            participant_keys: phone
                .participant_keys()
                .unwrap()
                .iter()
                .map(|k| B64(k.as_bytes().to_vec()))
                .collect(),
            home_kds: home_kds.to_owned(),
        };
        self.acs.prove(&request, now()).unwrap().proof.0
    }

    /// The request a phone sends to enroll here (no attestation).
    pub(crate) async fn enroll_request(&self, phone: &Device, replace: bool) -> EnrollRequest {
        EnrollRequest {
            nonce: B64(self.nonce().await),
            device_id: phone.device_id().to_owned(),
            csrs: phone
                .certificate_requests()
                .unwrap()
                .into_iter()
                .map(B64)
                .collect(),
            carrier_proof: B64(self.carrier_proof(phone, self.kds.config().kds_id.as_str())),
            attestation: None,
            replace_existing: replace,
            next_token: None,
        }
    }

    /// The enrollment request with an Android attestation by `root`.
    pub(crate) async fn enroll_request_attested(
        &self,
        phone: &Device,
        root: &android::AttestationRoot,
    ) -> EnrollRequest {
        let mut request = self.enroll_request(phone, false).await;
        let challenge = crosslock_attest::android_enrollment_challenge(&request.nonce.0);
        let key = phone.participant_keys().unwrap()[0].clone();
        request.attestation = Some(AttestationBody::Android {
            chain: root.attest(&key, &challenge).into_iter().map(B64).collect(),
        });
        request
    }

    /// Enrolls a phone and installs its credentials; returns the device token.
    pub(crate) async fn enroll(&self, phone: &mut Device, replace: bool) -> String {
        let request = self.enroll_request(phone, replace).await;
        self.complete_enrollment(phone, request).await
    }

    /// Sends an enrollment request and installs the credentials.
    pub(crate) async fn complete_enrollment(
        &self,
        phone: &mut Device,
        request: EnrollRequest,
    ) -> String {
        self.complete_enrollment_with(phone, request, None).await
    }

    /// Sends an enrollment request with `token` as bearer (re-enrolling a
    /// device id needs its current token) and installs the credentials.
    pub(crate) async fn complete_enrollment_with(
        &self,
        phone: &mut Device,
        request: EnrollRequest,
        token: Option<&str>,
    ) -> String {
        let (status, body) = self.post("/v1/enrollment", token, &request).await;
        assert_eq!(status, 200, "{body}");
        let response: EnrollResponse = serde_json::from_value(body).unwrap();
        phone
            .install_credentials(
                response
                    .credentials
                    .into_iter()
                    .map(|c| c.into_iter().map(|b| b.0).collect())
                    .collect(),
            )
            .unwrap();
        response.device_token
    }

    /// Uploads `per_suite` KeyPackages (and the last-resort ones).
    pub(crate) async fn publish(&self, phone: &mut Device, token: &str, per_suite: usize) -> Stock {
        let batch = phone.generate_key_packages(per_suite).unwrap();
        let upload = UploadKeyPackages {
            key_packages: batch
                .key_packages
                .into_iter()
                .map(|(_, k)| B64(k))
                .collect(),
            last_resort: batch.last_resort.into_iter().map(|(_, k)| B64(k)).collect(),
        };
        let (status, body) = self.post("/v1/keypackages", Some(token), &upload).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body).unwrap()
    }

    pub(crate) async fn claim(&self, token: &str, number: &str) -> (u16, serde_json::Value) {
        self.post(
            "/v1/claim",
            Some(token),
            &ClaimRequest {
                number: number.to_owned(),
            },
        )
        .await
    }
}

/// A proof by `acs` (any subscriber token) for a phone's keys, naming the
/// ACS's home.
pub(crate) fn carrier_proof_by(acs: &Acs, phone: &Device) -> Vec<u8> {
    acs.set_open_enrolment(true);
    let request = ProofRequest {
        number: phone.number().as_str().to_owned(),
        subscriber_token: "any".into(),
        participant_keys: phone
            .participant_keys()
            .unwrap()
            .iter()
            .map(|k| B64(k.as_bytes().to_vec()))
            .collect(),
        home_kds: String::new(),
    };
    let proof = acs.prove(&request, now()).unwrap().proof.0;
    acs.set_open_enrolment(false);
    proof
}

/// A phone that trusts `provider`.
pub(crate) fn phone(number: &str, profile: DeviceProfile, trust: TrustPolicy) -> Device {
    phone_with(number, profile, DeviceConfig::new(trust))
}

/// A phone with the given configuration.
pub(crate) fn phone_with(number: &str, profile: DeviceProfile, config: DeviceConfig) -> Device {
    let store: Arc<dyn StateStore> = Arc::new(MemoryStore::new());
    let keystore = Arc::new(SoftwareKeyStore::new(store.clone()));
    let number = PhoneNumber::parse(number).unwrap();
    Device::create(
        store,
        keystore,
        NewDevice { number, profile },
        config,
        Environment::system(),
    )
    .unwrap()
}

/// A claim answer as the client core takes it.
pub(crate) fn participant(answer: &serde_json::Value) -> ParticipantKeyPackages {
    let claim: ClaimResponse = serde_json::from_value(answer.clone()).unwrap();
    ParticipantKeyPackages::from_claim(&claim).unwrap()
}

pub(crate) fn reason(body: &serde_json::Value) -> String {
    serde_json::from_value::<ErrorBody>(body.clone())
        .map(|e| e.error)
        .unwrap_or_else(|_| format!("{body}"))
}

/// Every KDS table that a refused request must not touch: row count and a
/// digest of all rows, per table.
pub(crate) type Snapshot = BTreeMap<String, (usize, String)>;

pub(crate) fn snapshot(p: &Provider) -> Snapshot {
    let conn = rusqlite::Connection::open_with_flags(
        p._dir.path().join("kds.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = BTreeMap::new();
    for table in tables {
        if table == "nonces" || table == "rate" {
            continue;
        }
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let mut row = String::new();
                for i in 0..columns {
                    row.push_str(&format!("{:?}|", r.get_ref(i)?));
                }
                Ok(row)
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            rows.concat().as_bytes(),
        ));
        out.insert(table, (rows.len(), digest));
    }
    assert!(out.contains_key("devices") && out.contains_key("key_packages"));
    out
}
