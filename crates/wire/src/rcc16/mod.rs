//! Settings and small codecs of the GSMA RCC.16 profile as deployed
//! (`../shared/rcc16-deployed.md`).
//!
//! - [`Revision`]: which RCC.16 revision a device speaks (v3.0 by default,
//!   as deployed by Google and Apple; v4.0 as a switch).
//! - [`CROSSLOCK_EXTRAS`]: the capability a Crosslock device lists to say it
//!   reads Crosslock's extras inside MLS.
//! - [`capability`]: the `+g.gsma.rcs.mls.*` feature tags and the decision
//!   whether a conversation may use MLS (fact sheet §7).
//! - [`extensions`], [`commitment`], [`proposal`]: the GroupContext
//!   extensions 0xF001–0xF011, the Annex C.1 commitments and the custom
//!   proposals of the MLS profile (fact sheet §4).

pub mod capability;
pub mod commitment;
pub mod extensions;
pub mod proposal;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A private-use MLS extension type (RFC 9420 §17.3, `0xF000`–`0xFFFF`)
/// that a Crosslock device lists in its KeyPackage's
/// `capabilities.extensions`, and never sends as an actual extension. It
/// means "this device reads MIMI content, MIMI message status and typing
/// indicators inside MLS": Crosslock uses those formats in a conversation
/// only when every member lists it, and the deployed formats otherwise.
pub const CROSSLOCK_EXTRAS: u16 = 0xFC4C;

/// The RCC.16 revision a device speaks.
///
/// Serialised as `"v3.0"` / `"v4.0"` (configuration files), and parsed from
/// and displayed as the same text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Revision {
    /// RCC.16 v3.0, what Google Messages and Apple deploy (fact sheet
    /// header): the default.
    #[default]
    #[serde(rename = "v3.0")]
    V3_0,
    /// RCC.16 v4.0.
    #[serde(rename = "v4.0")]
    V4_0,
}

impl Revision {
    /// The text form, `v3.0` or `v4.0`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Revision::V3_0 => "v3.0",
            Revision::V4_0 => "v4.0",
        }
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A revision name other than `v3.0` or `v4.0`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown RCC.16 revision (expected v3.0 or v4.0)")]
pub struct UnknownRevision;

impl FromStr for Revision {
    type Err = UnknownRevision;

    fn from_str(s: &str) -> Result<Revision, UnknownRevision> {
        match s {
            "v3.0" => Ok(Revision::V3_0),
            "v4.0" => Ok(Revision::V4_0),
            _ => Err(UnknownRevision),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_text_forms() {
        assert_eq!(Revision::default(), Revision::V3_0);
        for (r, s) in [(Revision::V3_0, "v3.0"), (Revision::V4_0, "v4.0")] {
            assert_eq!(r.to_string(), s);
            assert_eq!(s.parse::<Revision>(), Ok(r));
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{s}\""));
            assert_eq!(
                serde_json::from_str::<Revision>(&format!("\"{s}\"")).unwrap(),
                r
            );
        }
        for bad in ["", "3.0", "V3.0", "v3", "v5.0", " v3.0"] {
            assert_eq!(bad.parse::<Revision>(), Err(UnknownRevision), "{bad:?}");
            assert!(serde_json::from_str::<Revision>(&format!("\"{bad}\"")).is_err());
        }
    }

    #[test]
    fn crosslock_extras_is_private_use() {
        // RFC 9420 §17.3: 0xF000-0xFFFF is reserved for private use.
        assert!((0xF000..=0xFFFF).contains(&CROSSLOCK_EXTRAS));
        assert_eq!(CROSSLOCK_EXTRAS.to_be_bytes(), [0xFC, 0x4C]);
    }
}
