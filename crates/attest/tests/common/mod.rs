//! Fixture loading shared by the integration tests.
//!
//! The samples are copies of `shared/testdata/attestation` (with their
//! licence files) under `tests/data`, so the tests run from a fresh clone.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::time::SystemTime;

use base64::Engine as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn data_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(relative)
}

pub fn read(relative: &str) -> String {
    let path = data_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn at(rfc3339: &str) -> SystemTime {
    SystemTime::from(OffsetDateTime::parse(rfc3339, &Rfc3339).unwrap())
}

pub fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .unwrap()
}

/// The DER certificates of a PEM chain.
pub fn pem_chain(pem: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut body = String::new();
    let mut inside = false;
    for line in pem.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            inside = true;
            body.clear();
        } else if line == "-----END CERTIFICATE-----" {
            inside = false;
            out.push(b64(&body));
        } else if inside {
            body.push_str(line);
        }
    }
    out
}

/// An Android sample: its chain file, verification time and expected verdicts.
#[derive(Debug, Clone, Copy)]
pub struct AndroidSample {
    pub name: &'static str,
    pub at: &'static str,
    pub challenge: &'static [u8],
}

impl AndroidSample {
    pub fn pem(&self) -> String {
        read(&format!("android/{}.pem", self.name))
    }

    pub fn chain(&self) -> Vec<Vec<u8>> {
        pem_chain(&self.pem())
    }

    pub fn expected_json(&self) -> serde_json::Value {
        serde_json::from_str(&read(&format!("android/{}.json", self.name))).unwrap()
    }

    pub fn time(&self) -> SystemTime {
        at(self.at)
    }
}

/// The samples the README lists as valid chains (hardware roots).
pub const VALID_ANDROID: [AndroidSample; 7] = [
    AndroidSample {
        name: "akita_sdk34_TEE_EC_NONE",
        at: "2024-09-27T00:00:00Z",
        challenge: b"challenge",
    },
    AndroidSample {
        name: "akita_sdk34_TEE_RSA_NONE",
        at: "2024-09-27T00:00:00Z",
        challenge: b"challenge",
    },
    AndroidSample {
        name: "akita_sdk34_SB_RSA_NONE",
        at: "2024-09-27T00:00:00Z",
        challenge: b"challenge",
    },
    AndroidSample {
        name: "blueline_sdk28_TEE_EC_NONE",
        at: "2019-06-01T00:00:00Z",
        challenge: b"challenge",
    },
    AndroidSample {
        name: "blueline_sdk28_SB_RSA_NONE",
        at: "2019-06-01T00:00:00Z",
        challenge: b"challenge",
    },
    AndroidSample {
        name: "caiman_sdk36_TEE_EC_RKP",
        at: "2025-09-26T12:00:00Z",
        challenge: b"d688d763-6118-4ca6-94b2-e6cd9ed7e4e4",
    },
    AndroidSample {
        name: "caiman_sdk36_SB_EC_RKP",
        at: "2025-09-26T12:00:00Z",
        challenge: b"7ccac1ea-4845-482e-858d-f6fa9aa8c295",
    },
];

pub const MARLIN: AndroidSample = AndroidSample {
    name: "marlin_sdk29_TEE_EC_NONE",
    at: "2020-01-01T00:00:00Z",
    challenge: b"challenge",
};

/// The attestation document of an `ios-*.yaml` sample.
#[derive(Debug, Clone)]
pub struct AppleSample {
    pub file: &'static str,
    pub attestation_base64: String,
    pub client_data_hash: [u8; 32],
    pub key_id: Vec<u8>,
    pub public_key_pem: String,
    pub app_id: String,
    pub environment: String,
    pub timestamp: String,
}

impl AppleSample {
    pub fn object(&self) -> Vec<u8> {
        b64(&self.attestation_base64)
    }

    pub fn time(&self) -> SystemTime {
        at(&self.timestamp)
    }
}

pub const APPLE_FILES: [&str; 4] = [
    "ios-14.2.yaml",
    "ios-14.3.yaml",
    "ios-14.4-beta-1.yaml",
    "ios-14.4.yaml",
];

/// Reads the `type: attestation` document of a sample. The files are flat
/// YAML documents of `key: value` lines plus one `publicKey: |` block, so a
/// line reader is enough (no YAML dependency).
pub fn apple_sample(file: &'static str) -> AppleSample {
    let text = read(&format!("apple/{file}"));
    for doc in text.split("\n---") {
        let mut fields = std::collections::HashMap::new();
        let mut block: Option<(String, String)> = None;
        for line in doc.lines() {
            if let Some((key, value)) = block.as_mut() {
                if let Some(rest) = line.strip_prefix("  ") {
                    value.push_str(rest);
                    value.push('\n');
                    continue;
                }
                fields.insert(key.clone(), value.clone());
                block = None;
            }
            if let Some((key, value)) = line.split_once(": ") {
                if value == "|" {
                    block = Some((key.to_string(), String::new()));
                } else {
                    fields.insert(key.to_string(), value.trim_matches('\'').to_string());
                }
            } else if let Some(key) = line.strip_suffix(": |") {
                block = Some((key.to_string(), String::new()));
            }
        }
        if let Some((key, value)) = block {
            fields.insert(key, value);
        }
        if fields.get("type").map(String::as_str) != Some("attestation") {
            continue;
        }
        let get = |k: &str| {
            fields
                .get(k)
                .cloned()
                .unwrap_or_else(|| panic!("{file}: {k}"))
        };
        return AppleSample {
            file,
            attestation_base64: get("attestationBase64"),
            client_data_hash: b64(&get("clientDataHashSha256Base64")).try_into().unwrap(),
            key_id: b64(&get("keyIdBase64")),
            public_key_pem: get("publicKey"),
            app_id: format!("{}.{}", get("teamIdentifier"), get("bundleIdentifier")),
            environment: get("environment"),
            timestamp: get("timestamp"),
        };
    }
    panic!("{file}: no attestation document");
}

/// Flips the low bit of `bytes[index]`.
pub fn flipped(bytes: &[u8], index: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[index] ^= 0x01;
    out
}
