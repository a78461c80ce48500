//! What a Crosslock leaf advertises in its `capabilities` (fact sheet §6:
//! the lists Google Messages sends and LineageOS copies), and whether a
//! member advertises Crosslock's extras.
//!
//! By RFC 9420 §7.2/§12.1.7 every member must list each non-default
//! GroupContext extension type, so a leaf that lists fewer types than the
//! deployed clients cannot be added to a group whose context carries
//! 0xF004, 0xF006 or 0xF007 (rule MLS-CAP-1).

use crosslock_wire::rcc16::{CROSSLOCK_EXTRAS, Revision, extensions as ext};
use mls_rs::extension::ExtensionType;
use mls_rs::group::Capabilities;
use mls_rs::group::proposal::ProposalType;
use mls_rs::identity::CredentialType;

/// Extension types advertised: `[0xF001…0xF007, 0xE000, 0xF010…0xF030]`
/// as deployed, then [`CROSSLOCK_EXTRAS`] (0xFC4C; MLS-CAP-2).
pub fn advertised_extensions() -> Vec<ExtensionType> {
    extensions_advertised(true)
}

/// The deployed list alone (`extras` false: a device of the deployed
/// profile, the client's `DeviceConfig::crosslock_extras`) or followed by 0xFC4C.
pub fn extensions_advertised(extras: bool) -> Vec<ExtensionType> {
    (ext::ERA..=ext::METADATA_KEYS_REQUESTED)
        .chain([ext::TESTING_EXPIRY_OVERRIDE])
        .chain(ext::CONTINUITY_TOKEN..=0xF030)
        .chain(extras.then_some(CROSSLOCK_EXTRAS))
        .map(ExtensionType::new)
        .collect()
}

/// Custom proposal types advertised: v3.0 `[0xF001, 0xF002, 0xF003,
/// 0xF004, 0xF010…0xF018]`; v4.0 `[0xF002, 0xF003, 0xF004, 0xF012…0xF030]`
/// (end_mls 0xF001 is void in v4.0 §7.11.2.1; §7.11.11.1 requires the
/// band).
pub fn advertised_proposals(revision: Revision) -> Vec<ProposalType> {
    let codes: Vec<u16> = match revision {
        Revision::V3_0 => [0xF001, 0xF002, 0xF003, 0xF004]
            .into_iter()
            .chain(0xF010..=0xF018)
            .collect(),
        Revision::V4_0 => [0xF002, 0xF003, 0xF004]
            .into_iter()
            .chain(0xF012..=0xF030)
            .collect(),
    };
    codes.into_iter().map(ProposalType::new).collect()
}

/// Credential types advertised: `[1 basic, 2 x509]`. Basic is listed for
/// parity with deployed clients only; a basic credential in a leaf is
/// refused by [`crate::identity::Rcc16Identity`] (CRED-X509-1).
pub fn advertised_credentials() -> Vec<CredentialType> {
    vec![CredentialType::BASIC, CredentialType::X509]
}

/// Whether a leaf with `capabilities` advertises [`CROSSLOCK_EXTRAS`]: it
/// reads MIMI content, MIMI message status and typing inside MLS.
pub fn crosslock_extras(capabilities: &Capabilities) -> bool {
    capabilities
        .extensions
        .contains(&ExtensionType::new(CROSSLOCK_EXTRAS))
}

#[cfg(test)]
mod tests {
    use mls_rs::mls_rs_codec::{MlsDecode, MlsEncode};
    use mls_rs::{CipherSuite, ProtocolVersion};

    use super::*;
    use crate::suite::Suite;

    /// `u16<V>` as RFC 9420 writes a vector of u16: one-byte varint length
    /// (in bytes) then the values big-endian.
    fn u16_vector(codes: &[u16]) -> String {
        let mut s = format!("{:02x}", codes.len() * 2);
        for c in codes {
            s.push_str(&format!("{c:04x}"));
        }
        s
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        hex::decode(s).unwrap()
    }

    fn ours(revision: Revision) -> Capabilities {
        Capabilities {
            protocol_versions: vec![ProtocolVersion::MLS_10],
            cipher_suites: Suite::ALL.iter().map(|s| s.cipher_suite()).collect(),
            extensions: advertised_extensions(),
            proposals: advertised_proposals(revision),
            credentials: advertised_credentials(),
        }
    }

    // Extensions: F001–F007 (7), E000, F010–F030 (33), FC4C = 42 codes, 84
    // bytes: the vector length needs a two-byte varint, 40 54.
    const EXTENSIONS: &str = "4054
        f001 f002 f003 f004 f005 f006 f007 e000
        f010 f011 f012 f013 f014 f015 f016 f017 f018 f019 f01a f01b f01c f01d f01e f01f
        f020 f021 f022 f023 f024 f025 f026 f027 f028 f029 f02a f02b f02c f02d f02e f02f
        f030 fc4c";
    // Credentials [1, 2]: 04 0001 0002.
    const CREDENTIALS: &str = "04 0001 0002";

    fn vector(proposals: &str) -> Vec<u8> {
        // Suites come from Suite::ALL (P-256 first), so this vector follows
        // the suite list; every other byte is written out.
        let suites: Vec<u16> = Suite::ALL.iter().map(|s| s.code()).collect();
        hex(&format!(
            "02 0001 {} {EXTENSIONS} {proposals} {CREDENTIALS}",
            u16_vector(&suites)
        ))
    }

    #[test]
    fn capabilities_vector_v3() {
        // Proposals F001–F004, F010–F018: 13 codes, 26 bytes = 1a.
        let wire = vector("1a f001 f002 f003 f004 f010 f011 f012 f013 f014 f015 f016 f017 f018");
        let caps = ours(Revision::V3_0);
        assert_eq!(caps.mls_encode_to_vec().unwrap(), wire);
        let back = Capabilities::mls_decode(&mut wire.as_slice()).unwrap();
        assert_eq!(back, caps);
        assert_eq!(back.cipher_suites[0], CipherSuite::P256_AES128);
        assert!(crosslock_extras(&back));
    }

    #[test]
    fn capabilities_vector_v4() {
        // Proposals F002–F004, F012–F030: 34 codes, 68 bytes = 40 44.
        let wire = vector(
            "4044 f002 f003 f004
             f012 f013 f014 f015 f016 f017 f018 f019 f01a f01b f01c f01d f01e f01f
             f020 f021 f022 f023 f024 f025 f026 f027 f028 f029 f02a f02b f02c f02d f02e f02f
             f030",
        );
        let caps = ours(Revision::V4_0);
        assert_eq!(caps.mls_encode_to_vec().unwrap(), wire);
        assert_eq!(
            Capabilities::mls_decode(&mut wire.as_slice()).unwrap(),
            caps
        );
    }

    #[test]
    fn deployed_peer_lacks_extras() {
        // Google's listing: the same extensions without 0xFC4C.
        let mut caps = ours(Revision::V3_0);
        caps.extensions.retain(|e| **e != CROSSLOCK_EXTRAS);
        assert!(!crosslock_extras(&caps));
    }
}
