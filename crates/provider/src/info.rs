//! The provider descriptor (`GET /v1/provider`) and the peers' settings
//! parsed into keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crosslock_credential::{
    CertificateAuthority, Home, HomeTrust, KeyAlgorithm, NumberingPlan, PublicKey, TrustAnchors,
    TrustedCarriers,
};
use crosslock_kt::server::KtLog;
use crosslock_wire::api::B64;
use crosslock_wire::api::provider::{CarrierKey, HomeInfo, LogInfo, ProviderInfo};

use crate::config::{PeerSection, TrustedCarrier, WitnessSection};
use crate::error::ProviderError;

pub(crate) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn algorithm_name(key: &PublicKey) -> &'static str {
    match key.algorithm() {
        KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
        KeyAlgorithm::EcdsaP384 => "ecdsa-p384",
        KeyAlgorithm::Ed25519 => "ed25519",
    }
}

/// A carrier key as configuration spells it.
pub(crate) fn trusted_carrier(id: &str, key: &PublicKey) -> TrustedCarrier {
    TrustedCarrier {
        id: id.to_owned(),
        algorithm: algorithm_name(key).to_owned(),
        public_key: b64(key.as_bytes()),
    }
}

/// A carrier key from configuration.
fn parse_carrier(c: &TrustedCarrier) -> Result<(String, PublicKey), String> {
    let algorithm = match c.algorithm.as_str() {
        "ecdsa-p256" => KeyAlgorithm::EcdsaP256,
        "ed25519" => KeyAlgorithm::Ed25519,
        other => {
            return Err(format!(
                "carrier {}: algorithm {other:?} (expected ecdsa-p256 or ed25519)",
                c.id
            ));
        }
    };
    let bytes = STANDARD
        .decode(c.public_key.trim())
        .map_err(|e| format!("carrier {}: public_key is not base64: {e}", c.id))?;
    let key = PublicKey::new(algorithm, bytes)
        .ok_or_else(|| format!("carrier {}: public_key is not a {} key", c.id, c.algorithm))?;
    Ok((c.id.clone(), key))
}

/// `[[trusted_carriers]]` parsed.
pub(crate) fn parse_carriers(
    carriers: &[TrustedCarrier],
) -> Result<Vec<(String, PublicKey)>, ProviderError> {
    carriers
        .iter()
        .map(parse_carrier)
        .collect::<Result<_, _>>()
        .map_err(|why| ProviderError::Config {
            path: "trusted_carriers".into(),
            why,
        })
}

/// A peer provider, its settings decoded and checked.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) name: String,
    pub(crate) federation_url: String,
    pub(crate) public_url: String,
    pub(crate) prefixes: Vec<String>,
    pub(crate) tls_ca: Vec<u8>,
    pub(crate) client_cert_sha256: [u8; 32],
    pub(crate) credential_root: Vec<u8>,
    pub(crate) credential_key: PublicKey,
    pub(crate) carriers: Vec<(String, PublicKey)>,
    pub(crate) log_key: [u8; 32],
    pub(crate) vrf_key: [u8; 32],
    pub(crate) witnesses: Vec<[u8; 32]>,
    pub(crate) threshold: usize,
}

impl Peer {
    pub(crate) fn parse_all(peers: &[PeerSection]) -> Result<Vec<Peer>, ProviderError> {
        peers
            .iter()
            .map(|p| {
                Peer::parse(p).map_err(|why| ProviderError::Config {
                    path: format!("peers.{}", p.name),
                    why,
                })
            })
            .collect()
    }

    fn parse(p: &PeerSection) -> Result<Peer, String> {
        let decode = |what: &str, text: &str| {
            STANDARD
                .decode(text.trim())
                .map_err(|e| format!("{what} is not base64: {e}"))
        };
        let fixed = |what: &str, bytes: Vec<u8>| -> Result<[u8; 32], String> {
            bytes
                .try_into()
                .map_err(|b: Vec<u8>| format!("{what}: {} bytes, expected 32", b.len()))
        };
        if !p.federation_url.starts_with("https://") {
            return Err("federation_url must be https://".into());
        }
        if !p.public_url.is_empty() && !p.public_url.starts_with("https://") {
            return Err("public_url must be https://".into());
        }
        let credential_root = decode("credential_root", &p.credential_root)?;
        let credential_key = CertificateAuthority::load(&p.name, credential_root.clone())
            .and_then(|ca| ca.public_key())
            .map_err(|e| format!("credential_root: {e}"))?;
        let sha = hex::decode(p.client_cert_sha256.trim())
            .map_err(|e| format!("client_cert_sha256 is not hex: {e}"))?;
        Ok(Peer {
            name: p.name.clone(),
            federation_url: p.federation_url.trim_end_matches('/').to_owned(),
            public_url: p.public_url.trim_end_matches('/').to_owned(),
            prefixes: p.prefixes.clone(),
            tls_ca: decode("tls_ca", &p.tls_ca)?,
            client_cert_sha256: fixed("client_cert_sha256", sha)?,
            credential_root,
            credential_key,
            carriers: p
                .carriers
                .iter()
                .map(parse_carrier)
                .collect::<Result<_, _>>()?,
            log_key: fixed("log_key", decode("log_key", &p.log_key)?)?,
            vrf_key: fixed("vrf_key", decode("vrf_key", &p.vrf_key)?)?,
            witnesses: witness_keys(&p.witnesses)?,
            threshold: p.threshold,
        })
    }

    /// Trust in this peer's numbers only (its prefixes, its roots and
    /// carriers).
    pub(crate) fn home_trust(&self) -> Result<HomeTrust, ProviderError> {
        let mut plan = NumberingPlan::new();
        plan.add_all(self.prefixes.iter().map(String::as_str), &self.name)
            .and_then(|()| HomeTrust::new(plan, vec![self.home()]))
            .map_err(|e| ProviderError::Config {
                path: format!("peers.{}.prefixes", self.name),
                why: e.to_string(),
            })
    }

    /// What this peer may vouch for: only numbers homed there.
    pub(crate) fn home(&self) -> Home {
        Home {
            name: self.name.clone(),
            anchors: TrustAnchors::new(vec![self.credential_key.clone()]),
            carriers: TrustedCarriers::new(self.carriers.clone()),
        }
    }
}

/// Witness keys from configuration (hex Ed25519).
pub(crate) fn witness_keys(witnesses: &[WitnessSection]) -> Result<Vec<[u8; 32]>, String> {
    witnesses
        .iter()
        .map(|w| {
            crosslock_kt::PublicKey::from_hex(&w.key)
                .map(|k| k.0)
                .map_err(|e| format!("witness {}: key: {e}", w.url))
        })
        .collect()
}

fn carrier_key(id: &str, key: &PublicKey) -> CarrierKey {
    CarrierKey {
        id: id.to_owned(),
        algorithm: algorithm_name(key).to_owned(),
        public_key: B64(key.as_bytes().to_vec()),
    }
}

/// This provider as its descriptor and its peers describe it.
#[derive(Debug)]
pub(crate) struct Own<'a> {
    pub(crate) name: &'a str,
    pub(crate) development: bool,
    pub(crate) plan: &'a NumberingPlan,
    pub(crate) ca: &'a CertificateAuthority,
    pub(crate) carriers: &'a [(String, PublicKey)],
    pub(crate) log: &'a KtLog,
    pub(crate) witnesses: &'a [crosslock_kt::PublicKey],
    pub(crate) threshold: usize,
    pub(crate) public_url: String,
}

impl Own<'_> {
    /// This provider as a home: its CA and its carriers.
    fn home(&self) -> Result<Home, ProviderError> {
        let key = self
            .ca
            .public_key()
            .map_err(|e| ProviderError::Keys(format!("credential CA: {e}")))?;
        Ok(Home {
            name: self.name.to_owned(),
            anchors: TrustAnchors::new(vec![key]),
            carriers: TrustedCarriers::new(self.carriers.to_vec()),
        })
    }

    /// Trust in this provider's own numbers only: what the delivery
    /// service asks to tell its own devices' credentials from peers'.
    pub(crate) fn own_trust(&self) -> Result<HomeTrust, ProviderError> {
        let mut plan = NumberingPlan::new();
        for prefix in self.plan.prefixes_of(self.name) {
            plan.add(prefix.clone(), self.name)
                .map_err(|e| ProviderError::Start(e.to_string()))?;
        }
        HomeTrust::new(plan, vec![self.home()?]).map_err(|e| ProviderError::Start(e.to_string()))
    }

    /// The descriptor: this provider first, then its peers.
    pub(crate) fn describe(&self, peers: &[Peer]) -> ProviderInfo {
        let prefixes_of = |home: &str| -> Vec<String> {
            self.plan
                .prefixes_of(home)
                .map(|p| p.as_str().to_owned())
                .collect()
        };
        let mut homes = vec![HomeInfo {
            name: self.name.to_owned(),
            prefixes: prefixes_of(self.name),
            credential_roots: vec![B64(self.ca.certificate().to_vec())],
            carriers: self
                .carriers
                .iter()
                .map(|(id, k)| carrier_key(id, k))
                .collect(),
            transparency: LogInfo {
                directory: self.name.to_owned(),
                log_key: B64(self.log.log_key().0.to_vec()),
                vrf_key: B64(self.log.vrf_key().to_vec()),
                witnesses: self.witnesses.iter().map(|k| B64(k.0.to_vec())).collect(),
                threshold: self.threshold,
            },
            public_url: self.public_url.clone(),
            tls_root: None,
        }];
        for peer in peers {
            homes.push(HomeInfo {
                name: peer.name.clone(),
                prefixes: prefixes_of(&peer.name),
                credential_roots: vec![B64(peer.credential_root.clone())],
                carriers: peer
                    .carriers
                    .iter()
                    .map(|(id, k)| carrier_key(id, k))
                    .collect(),
                transparency: LogInfo {
                    directory: peer.name.clone(),
                    log_key: B64(peer.log_key.to_vec()),
                    vrf_key: B64(peer.vrf_key.to_vec()),
                    witnesses: peer.witnesses.iter().map(|k| B64(k.to_vec())).collect(),
                    threshold: peer.threshold,
                },
                public_url: peer.public_url.clone(),
                tls_root: Some(B64(peer.tls_ca.clone())),
            });
        }
        ProviderInfo {
            name: self.name.to_owned(),
            development: self.development,
            homes,
        }
    }
}
