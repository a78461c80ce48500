//! JSON bodies of the provider HTTP APIs, shared by the services and the
//! clients that call them. Bytes travel as standard base64 strings.
//!
//! Every error answer is an [`ErrorBody`] with a machine-readable `error`
//! reason (kebab-case, stable) and a human `message`.

pub mod acs;
pub mod ds;
pub mod files;
pub mod kds;
pub mod kt;
pub mod provider;

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes, serialised as a standard base64 string.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct B64(pub Vec<u8>);

impl std::fmt::Debug for B64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "B64({} bytes)", self.0.len())
    }
}

impl From<Vec<u8>> for B64 {
    fn from(v: Vec<u8>) -> Self {
        B64(v)
    }
}

impl Serialize for B64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(B64)
            .map_err(|_| serde::de::Error::custom("invalid base64"))
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable, machine-readable reason, e.g. `forged-carrier-proof`.
    pub error: String,
    /// What went wrong and what to do, for humans.
    pub message: String,
}
