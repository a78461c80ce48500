//! The provider descriptor (`GET /v1/provider`) and the peers' settings
//! parsed into keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crosslock_client::credential::{
    CertificateAuthority, KeyAlgorithm, PublicKey, TrustAnchors, TrustPolicy, TrustedCarriers,
};
use crosslock_kt::server::KtLog;
use crosslock_wire::api::B64;
use crosslock_wire::api::provider::{CarrierKey, LogInfo, ProviderInfo};

use crate::config::{PeerSection, TrustedCarrier};
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
    pub(crate) prefixes: Vec<String>,
    pub(crate) tls_ca: Vec<u8>,
    pub(crate) client_cert_sha256: [u8; 32],
    pub(crate) credential_root: Vec<u8>,
    pub(crate) credential_key: PublicKey,
    pub(crate) carriers: Vec<(String, PublicKey)>,
    pub(crate) log_key: [u8; 32],
    pub(crate) vrf_key: [u8; 32],
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
        let credential_root = decode("credential_root", &p.credential_root)?;
        let credential_key = CertificateAuthority::load(&p.name, credential_root.clone())
            .and_then(|ca| ca.public_key())
            .map_err(|e| format!("credential_root: {e}"))?;
        let sha = hex::decode(p.client_cert_sha256.trim())
            .map_err(|e| format!("client_cert_sha256 is not hex: {e}"))?;
        Ok(Peer {
            name: p.name.clone(),
            federation_url: p.federation_url.trim_end_matches('/').to_owned(),
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
        })
    }

    /// Whose credentials and carriers this peer's participants carry.
    pub(crate) fn trust(&self) -> TrustPolicy {
        TrustPolicy::Production {
            anchors: TrustAnchors::new(vec![self.credential_key.clone()]),
            carriers: TrustedCarriers::new(self.carriers.clone()),
        }
    }
}

fn carrier_key(id: &str, key: &PublicKey) -> CarrierKey {
    CarrierKey {
        id: id.to_owned(),
        algorithm: algorithm_name(key).to_owned(),
        public_key: B64(key.as_bytes().to_vec()),
    }
}

/// The descriptor: this provider first, then its peers.
pub(crate) fn describe(
    name: &str,
    ca: &CertificateAuthority,
    carriers: &[(String, PublicKey)],
    log: &KtLog,
    witnesses: &[crosslock_kt::PublicKey],
    threshold: usize,
    peers: &[Peer],
) -> ProviderInfo {
    let mut info = ProviderInfo {
        name: name.to_owned(),
        credential_roots: vec![B64(ca.certificate().to_vec())],
        carriers: carriers.iter().map(|(id, k)| carrier_key(id, k)).collect(),
        transparency: vec![LogInfo {
            directory: name.to_owned(),
            log_key: B64(log.log_key().0.to_vec()),
            vrf_key: B64(log.vrf_key().to_vec()),
            witnesses: witnesses.iter().map(|k| B64(k.0.to_vec())).collect(),
            threshold,
        }],
        peers: peers.iter().map(|p| p.name.clone()).collect(),
        peer_tls_roots: peers.iter().map(|p| B64(p.tls_ca.clone())).collect(),
    };
    for peer in peers {
        info.credential_roots
            .push(B64(peer.credential_root.clone()));
        info.carriers
            .extend(peer.carriers.iter().map(|(id, k)| carrier_key(id, k)));
        info.transparency.push(LogInfo {
            directory: peer.name.clone(),
            log_key: B64(peer.log_key.to_vec()),
            vrf_key: B64(peer.vrf_key.to_vec()),
            witnesses: Vec::new(),
            threshold: 0,
        });
    }
    info
}
