//! RCS capability feature tags for MLS (fact sheet §7) and the decision
//! whether a conversation may use MLS.
//!
//! A contact's RCS capabilities (SIP OPTIONS / presence, RFC 3840 feature
//! parameters) carry:
//!
//! | tag | value | who |
//! |---|---|---|
//! | `+g.gsma.rcs.mls.mls-version` | `"v1"` | GSMA path: Apple; Google behind a server flag |
//! | `+g.gsma.rcs.mls.mls-kds` | KDS version, Google `"2"` | everyone; a hard gate |
//! | `+g.google.rcs.mls-launch-iteration` | `"1"` | Google only |
//! | `+g.google.rcs.mls-supports-groups` | `"true"` | Google only |
//!
//! The decision per participant ([`MlsCapabilities::passes`]), as LineageOS
//! reads Google's: `mls-kds` present, then `mls-version` = `v1`; else a
//! `launch-iteration` equal to ours; else, for a group only,
//! `supports-groups` = `true`. Each later rule is an alternative to the
//! earlier ones (our reading of "else"). **Every** participant must pass
//! ([`every_participant_passes`], CAP-MLS-1).
//!
//! Tag names are matched case-insensitively (RFC 3840 §9); values are
//! quoted strings (`"v1"`), and a bare token is accepted too. Unknown tags
//! are ignored; a known tag given twice, an unbalanced quote or a control
//! character is refused ([`CapabilityError`]).

use thiserror::Error;

/// `+g.gsma.rcs.mls.mls-version`.
pub const TAG_MLS_VERSION: &str = "+g.gsma.rcs.mls.mls-version";
/// `+g.gsma.rcs.mls.mls-kds`.
pub const TAG_MLS_KDS: &str = "+g.gsma.rcs.mls.mls-kds";
/// `+g.google.rcs.mls-launch-iteration`.
pub const TAG_LAUNCH_ITERATION: &str = "+g.google.rcs.mls-launch-iteration";
/// `+g.google.rcs.mls-supports-groups`.
pub const TAG_SUPPORTS_GROUPS: &str = "+g.google.rcs.mls-supports-groups";
/// The GSMA MLS version value.
pub const MLS_VERSION_V1: &str = "v1";
/// The longest tag value accepted.
pub const MAX_VALUE_LEN: usize = 64;

/// The MLS feature tags of one participant (or our own).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MlsCapabilities {
    /// `+g.gsma.rcs.mls.mls-version`, unquoted.
    pub mls_version: Option<String>,
    /// `+g.gsma.rcs.mls.mls-kds`, unquoted.
    pub mls_kds: Option<String>,
    /// `+g.google.rcs.mls-launch-iteration`, unquoted.
    pub launch_iteration: Option<String>,
    /// `+g.google.rcs.mls-supports-groups`, unquoted.
    pub supports_groups: Option<String>,
}

/// Why a feature-tag list was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CapabilityError {
    /// A parameter is not `name` or `name=value` with a well-formed value.
    #[error("malformed feature tag parameter: {0}")]
    Malformed(&'static str),
    /// One of the MLS tags appears twice.
    #[error("feature tag {0} appears twice")]
    Duplicate(&'static str),
}

/// A participant that does not pass ([`every_participant_passes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("participant {index} is not MLS-capable")]
pub struct NotMlsCapable {
    /// Its position in the list given.
    pub index: usize,
}

impl MlsCapabilities {
    /// What a device on the GSMA path advertises: `mls-version` `v1` and
    /// `mls-kds` = `kds_version`, no Google-only tags.
    pub fn gsma_v1(kds_version: &str) -> MlsCapabilities {
        MlsCapabilities {
            mls_version: Some(MLS_VERSION_V1.to_owned()),
            mls_kds: Some(kds_version.to_owned()),
            launch_iteration: None,
            supports_groups: None,
        }
    }

    /// Reads feature-tag parameters, one per item (`+g.gsma.rcs.mls.mls-kds="2"`).
    pub fn parse<'a>(
        params: impl IntoIterator<Item = &'a str>,
    ) -> Result<MlsCapabilities, CapabilityError> {
        let mut caps = MlsCapabilities::default();
        for param in params {
            let param = param.trim_matches([' ', '\t']);
            if param.is_empty() {
                continue;
            }
            let (name, value) = match param.split_once('=') {
                Some((n, v)) => (n.trim_matches([' ', '\t']), Some(unquote(v)?)),
                None => (param, None),
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(CapabilityError::Malformed("invalid tag name"));
            }
            let (tag, slot) = if name.eq_ignore_ascii_case(TAG_MLS_VERSION) {
                (TAG_MLS_VERSION, &mut caps.mls_version)
            } else if name.eq_ignore_ascii_case(TAG_MLS_KDS) {
                (TAG_MLS_KDS, &mut caps.mls_kds)
            } else if name.eq_ignore_ascii_case(TAG_LAUNCH_ITERATION) {
                (TAG_LAUNCH_ITERATION, &mut caps.launch_iteration)
            } else if name.eq_ignore_ascii_case(TAG_SUPPORTS_GROUPS) {
                (TAG_SUPPORTS_GROUPS, &mut caps.supports_groups)
            } else {
                continue;
            };
            if slot.is_some() {
                return Err(CapabilityError::Duplicate(tag));
            }
            // A bare tag (no value) is present with an empty value.
            *slot = Some(value.unwrap_or_default());
        }
        Ok(caps)
    }

    /// Reads a `;`-separated parameter list, e.g. the parameters of a
    /// Contact header (`;+g.gsma.rcs.mls.mls-version="v1";…`); a `;`
    /// inside a quoted value does not split.
    pub fn parse_list(text: &str) -> Result<MlsCapabilities, CapabilityError> {
        let mut params = Vec::new();
        let mut start = 0;
        let mut quoted = false;
        for (i, c) in text.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ';' if !quoted => {
                    params.push(&text[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        params.push(&text[start..]);
        MlsCapabilities::parse(params)
    }

    /// Our tags as parameters, in the order of the table above, each value
    /// quoted: `+g.gsma.rcs.mls.mls-version="v1"`.
    pub fn render(&self) -> Vec<String> {
        [
            (TAG_MLS_VERSION, &self.mls_version),
            (TAG_MLS_KDS, &self.mls_kds),
            (TAG_LAUNCH_ITERATION, &self.launch_iteration),
            (TAG_SUPPORTS_GROUPS, &self.supports_groups),
        ]
        .into_iter()
        .filter_map(|(tag, value)| {
            value.as_ref().map(|v| {
                let v: String = v
                    .chars()
                    .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
                    .collect();
                format!("{tag}=\"{v}\"")
            })
        })
        .collect()
    }

    /// Whether this participant may be in an MLS conversation with us
    /// (fact sheet §7; CAP-MLS-1): `mls-kds` present, and `mls-version` =
    /// `v1`, or a `launch-iteration` equal to `ours`, or (a `group`
    /// conversation only) `supports-groups` = `true`.
    pub fn passes(&self, ours: &MlsCapabilities, group: bool) -> bool {
        if self.mls_kds.is_none() {
            return false;
        }
        if self.mls_version.as_deref() == Some(MLS_VERSION_V1) {
            return true;
        }
        if let (Some(theirs), Some(mine)) = (&self.launch_iteration, &ours.launch_iteration)
            && theirs == mine
        {
            return true;
        }
        group
            && self
                .supports_groups
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// CAP-MLS-1: a conversation uses MLS only if every participant passes;
/// the first one that does not is named by its index.
pub fn every_participant_passes(
    participants: &[MlsCapabilities],
    ours: &MlsCapabilities,
    group: bool,
) -> Result<(), NotMlsCapable> {
    match participants.iter().position(|p| !p.passes(ours, group)) {
        Some(index) => Err(NotMlsCapable { index }),
        None => Ok(()),
    }
}

/// A quoted string `"…"` (no escapes, no inner quote), or a bare token.
fn unquote(value: &str) -> Result<String, CapabilityError> {
    let value = value.trim_matches([' ', '\t']);
    let inner = match value.strip_prefix('"') {
        Some(rest) => rest
            .strip_suffix('"')
            .ok_or(CapabilityError::Malformed("unbalanced quote"))?,
        None => value,
    };
    if inner.contains('"') {
        return Err(CapabilityError::Malformed("quote inside a value"));
    }
    if inner.chars().any(char::is_control) {
        return Err(CapabilityError::Malformed("control character in a value"));
    }
    if inner.len() > MAX_VALUE_LEN {
        return Err(CapabilityError::Malformed("value too long"));
    }
    Ok(inner.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn google() -> MlsCapabilities {
        MlsCapabilities::parse([
            "+g.gsma.rcs.mls.mls-kds=\"2\"",
            "+g.google.rcs.mls-launch-iteration=\"1\"",
            "+g.google.rcs.mls-supports-groups=\"true\"",
        ])
        .unwrap()
    }

    #[test]
    fn parses_deployed_tags() {
        let apple = MlsCapabilities::parse_list(
            "+g.3gpp.icsi-ref=\"urn%3Aurn-7%3A3gpp-service.ims.icsi.oma.cpm.session\";\
             +G.GSMA.RCS.MLS.MLS-VERSION=\"v1\"; +g.gsma.rcs.mls.mls-kds=\"2\"",
        )
        .unwrap();
        assert_eq!(apple, MlsCapabilities::gsma_v1("2"));
        let g = google();
        assert_eq!(g.mls_version, None);
        assert_eq!(g.mls_kds.as_deref(), Some("2"));
        assert_eq!(g.launch_iteration.as_deref(), Some("1"));
        assert_eq!(g.supports_groups.as_deref(), Some("true"));
        // A bare token value and a bare tag.
        let bare =
            MlsCapabilities::parse(["+g.gsma.rcs.mls.mls-kds", "+g.gsma.rcs.mls.mls-version=v1"])
                .unwrap();
        assert_eq!(bare.mls_kds.as_deref(), Some(""));
        assert_eq!(bare.mls_version.as_deref(), Some("v1"));
    }

    #[test]
    fn renders_and_reads_back() {
        let ours = MlsCapabilities::gsma_v1("2");
        let rendered = ours.render();
        assert_eq!(
            rendered,
            [
                "+g.gsma.rcs.mls.mls-version=\"v1\"",
                "+g.gsma.rcs.mls.mls-kds=\"2\""
            ]
        );
        assert_eq!(
            MlsCapabilities::parse(rendered.iter().map(String::as_str)),
            Ok(ours)
        );
        let g = google();
        assert_eq!(
            MlsCapabilities::parse(g.render().iter().map(String::as_str)),
            Ok(g)
        );
    }

    #[test]
    fn refuses_malformed_lists() {
        for (text, err) in [
            (
                "+g.gsma.rcs.mls.mls-kds=\"2",
                CapabilityError::Malformed("unbalanced quote"),
            ),
            (
                "+g.gsma.rcs.mls.mls-kds=\"2\"x\"",
                CapabilityError::Malformed("quote inside a value"),
            ),
            (
                "+g.gsma.rcs.mls.mls-kds=\"2\r\n\"",
                CapabilityError::Malformed("control character in a value"),
            ),
            (
                "+g.gsma.rcs.mls.mls-kds=2;+G.gsma.rcs.mls.MLS-KDS=3",
                CapabilityError::Duplicate(TAG_MLS_KDS),
            ),
            ("=\"v1\"", CapabilityError::Malformed("invalid tag name")),
        ] {
            assert_eq!(MlsCapabilities::parse_list(text), Err(err), "{text:?}");
        }
        let long = format!(
            "+g.gsma.rcs.mls.mls-kds=\"{}\"",
            "9".repeat(MAX_VALUE_LEN + 1)
        );
        assert_eq!(
            MlsCapabilities::parse([long.as_str()]),
            Err(CapabilityError::Malformed("value too long"))
        );
    }

    #[test]
    fn decision_of_section_7() {
        let ours = MlsCapabilities {
            launch_iteration: Some("1".into()),
            ..MlsCapabilities::gsma_v1("2")
        };
        let apple = MlsCapabilities::gsma_v1("2");
        let google = google();
        let other_iteration = MlsCapabilities {
            launch_iteration: Some("2".into()),
            supports_groups: None,
            ..google.clone()
        };
        let groups_only = MlsCapabilities {
            launch_iteration: Some("2".into()),
            ..google.clone()
        };
        let no_kds = MlsCapabilities {
            mls_kds: None,
            ..apple.clone()
        };
        let old_version = MlsCapabilities {
            mls_version: Some("v0".into()),
            ..apple.clone()
        };
        for (who, one_to_one, group) in [
            (&apple, true, true),
            (&google, true, true),
            (&other_iteration, false, false),
            (&groups_only, false, true),
            (&no_kds, false, false),
            (&old_version, false, false),
            (&MlsCapabilities::default(), false, false),
        ] {
            assert_eq!(who.passes(&ours, false), one_to_one, "1:1 {who:?}");
            assert_eq!(who.passes(&ours, true), group, "group {who:?}");
        }
        // Without a launch iteration of our own, Google passes 1:1 only
        // through mls-version.
        assert!(!google.passes(&apple, false));
        assert!(google.passes(&apple, true));
    }

    #[test]
    fn every_participant_must_pass() {
        let ours = MlsCapabilities::gsma_v1("2");
        let apple = MlsCapabilities::gsma_v1("2");
        let none = MlsCapabilities::default();
        assert_eq!(
            every_participant_passes(&[apple.clone(), apple.clone()], &ours, true),
            Ok(())
        );
        assert_eq!(
            every_participant_passes(&[apple.clone(), none, apple], &ours, true),
            Err(NotMlsCapable { index: 1 })
        );
        assert_eq!(every_participant_passes(&[], &ours, false), Ok(()));
    }
}
