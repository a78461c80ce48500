//! Shared pieces of the Crosslock fuzz targets: input framing, fixed keys
//! and trust roots (built once per process), and the two-party interaction
//! harness. Everything here is deterministic so that `make-seeds` and the
//! targets agree on the fixtures.

use std::fmt::Debug;
use std::sync::OnceLock;

use crosslock_credential::{
    CarrierClaims, CertSigner, CertificateAuthority, KeyAlgorithm, ParticipantProfile, PhoneNumber,
    PublicKey, TrustAnchors, TrustPolicy, TrustedCarriers,
};

pub mod interaction;

/// Parses a JSON body as the services do (`serde_json::from_slice`) and,
/// when it parses, checks that it re-serialises to an equal value.
pub fn parse_json<T>(body: &[u8]) -> Option<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + Debug,
{
    let value: T = serde_json::from_slice(body).ok()?;
    let json = serde_json::to_vec(&value).expect("serialise");
    let again: T = serde_json::from_slice(&json).expect("re-parse");
    assert_eq!(again, value);
    Some(value)
}

/// The fixed "now" of every fixture (Unix seconds, 2026-09-21).
pub const NOW: u64 = 1_790_000_000;
const DAY: u64 = 86_400;

/// Splits `data` into parts, each prefixed by a big-endian u16 length. A
/// short or missing prefix ends the list; the last part takes what is left
/// if its length runs past the end.
pub fn split(mut data: &[u8], max_parts: usize) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    while parts.len() < max_parts && data.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        data = &data[2..];
        let take = len.min(data.len());
        parts.push(&data[..take]);
        data = &data[take..];
    }
    parts
}

/// The inverse of [`split`] (parts longer than 65535 bytes are cut).
pub fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        let part = &part[..part.len().min(usize::from(u16::MAX))];
        out.extend_from_slice(&(part.len() as u16).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// A software P-256 signer with a fixed key (RFC 6979 signatures, so the
/// certificates it makes are byte-for-byte reproducible).
#[derive(Debug)]
pub struct FixedSigner {
    key: p256::ecdsa::SigningKey,
    public: PublicKey,
}

impl FixedSigner {
    /// The signer whose scalar is 32 bytes of `byte`.
    pub fn new(byte: u8) -> FixedSigner {
        let key = p256::ecdsa::SigningKey::from_slice(&[byte; 32]).expect("valid scalar");
        let point = key.verifying_key().to_sec1_point(false).as_bytes().to_vec();
        let public = PublicKey::new(KeyAlgorithm::EcdsaP256, point).expect("P-256 point");
        FixedSigner { key, public }
    }
}

impl CertSigner for FixedSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        use p256::ecdsa::signature::Signer;
        let sig: p256::ecdsa::Signature = self.key.sign(message);
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

/// The credential fixtures: a provider root, a trusted carrier, and the
/// policies the credential target validates against.
#[derive(Debug)]
pub struct CredentialFixture {
    pub ca_signer: FixedSigner,
    pub ca: CertificateAuthority,
    pub carrier: FixedSigner,
    pub participant: FixedSigner,
    pub production: TrustPolicy,
    pub development: TrustPolicy,
    pub carriers: TrustedCarriers,
}

pub const CARRIER_ID: &str = "carrier.fuzz.example";
pub const NUMBER: &str = "+15551230001";
pub const DEVICE: &str = "6f1e1b0a-41f2-4bb6-9c3c-6a9a55f3a001";

impl CredentialFixture {
    fn build() -> CredentialFixture {
        let ca_signer = FixedSigner::new(0x11);
        let ca = CertificateAuthority::new_root(
            "Crosslock fuzz root",
            NOW - DAY,
            NOW + 3650 * DAY,
            [1; 16],
            &ca_signer,
        )
        .expect("root");
        let carrier = FixedSigner::new(0x22);
        let participant = FixedSigner::new(0x33);
        let carriers = TrustedCarriers::new(vec![(CARRIER_ID.into(), carrier.public.clone())]);
        let production = TrustPolicy::Production {
            anchors: TrustAnchors::new(vec![ca_signer.public.clone()]),
            carriers: carriers.clone(),
        };
        let development = TrustPolicy::Development {
            anchors: TrustAnchors::new(vec![ca_signer.public.clone()]),
        };
        CredentialFixture {
            ca_signer,
            ca,
            carrier,
            participant,
            production,
            development,
            carriers,
        }
    }

    /// The fixture, built once per process.
    pub fn get() -> &'static CredentialFixture {
        static FIXTURE: OnceLock<CredentialFixture> = OnceLock::new();
        FIXTURE.get_or_init(CredentialFixture::build)
    }

    /// A participant profile for [`NUMBER`] valid around [`NOW`].
    pub fn profile(&self) -> ParticipantProfile {
        ParticipantProfile::new(
            PhoneNumber::parse(NUMBER).expect("number"),
            Some(DEVICE.into()),
            NOW - DAY,
            NOW + 75 * DAY,
            [7; 16],
        )
    }

    /// A carrier proof for [`NUMBER`] and the participant key.
    pub fn carrier_proof(&self) -> Vec<u8> {
        CarrierClaims {
            carrier_id: CARRIER_ID.into(),
            number: PhoneNumber::parse(NUMBER).expect("number"),
            participant_keys: vec![self.participant.public.as_bytes().to_vec()],
            home_kds: "kds.fuzz.example".into(),
            not_after: NOW + 30 * DAY,
        }
        .sign(&self.carrier)
        .expect("carrier proof")
    }

    /// A production leaf issued by the fixture root.
    pub fn production_leaf(&self) -> Vec<u8> {
        let mut profile = self.profile();
        profile.carrier_proof = Some(self.carrier_proof());
        self.ca
            .issue(&profile, &self.participant.public, &self.ca_signer)
            .expect("issue")
    }
}

/// The fixed file key of the `file_decrypt` target.
pub const FILE_KEY: [u8; 32] = [0x5a; 32];
/// The fixed file name (HKDF info) of the `file_decrypt` target.
pub const FILE_NAME: &[u8] = b"fuzz.bin";

/// The key-transparency fixture written by `make-seeds`
/// (`fuzz/fixtures/kt.json`): the log a client trusts and the signed roots
/// the proofs in `seeds/kt_proofs` were made against.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct KtFixture {
    pub directory: String,
    /// Hex.
    pub log_key: String,
    /// Hex.
    pub vrf_key: String,
    pub now: u64,
    /// The number whose lookup and history proofs are seeds.
    pub number: String,
    /// Every root of the log, epoch 1 first (the last is the latest).
    pub roots: Vec<crosslock_wire::api::kt::SignedRoot>,
}

impl KtFixture {
    /// The committed fixture.
    pub fn get() -> &'static KtFixture {
        static FIXTURE: OnceLock<KtFixture> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/kt.json");
            let text = std::fs::read_to_string(path).expect("fuzz/fixtures/kt.json (make-seeds)");
            serde_json::from_str(&text).expect("fuzz/fixtures/kt.json")
        })
    }
}

/// Decodes 64 hex digits.
pub fn hex32(text: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

/// The client data hash of the `ios-14.4.yaml` App Attest sample.
pub const APP_ATTEST_CLIENT_DATA_HASH: [u8; 32] = [
    139, 230, 92, 202, 81, 90, 208, 151, 201, 83, 150, 125, 24, 214, 53, 216, 109, 215, 138, 20,
    46, 211, 208, 119, 82, 107, 237, 17, 198, 190, 198, 123,
];

/// The key id of the `ios-14.4.yaml` App Attest sample.
pub const APP_ATTEST_KEY_ID: [u8; 32] = [
    98, 102, 201, 59, 140, 121, 156, 65, 212, 190, 119, 41, 247, 55, 86, 185, 86, 99, 52, 17, 12,
    128, 153, 247, 113, 212, 147, 160, 5, 208, 123, 115,
];
