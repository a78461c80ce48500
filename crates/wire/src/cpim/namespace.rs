//! CPIM header namespaces (RFC 3862 §5).
//!
//! `NS: prefix <URI>` binds a name prefix to a namespace URI; a header named
//! `prefix.Name` belongs to that namespace. Meaning comes from the URI, never
//! from the prefix, so a peer may write `gsma.Era-ID` after
//! `NS: gsma <http://www.gsma.com/rcs/mls>`. A prefix may be bound only once
//! per message; a header whose prefix is not bound is refused. Declarations
//! are collected from the whole message header section before names are
//! resolved, so their position does not matter. An `NS` header without a
//! prefix (a default namespace) is accepted and has no effect here: unprefixed
//! headers are always read as the core CPIM headers.

use super::error::CpimError;
use super::grammar::is_name;
use super::message::Header;

/// The namespace declarations of one message.
#[derive(Debug, Default)]
pub(crate) struct Namespaces<'a> {
    bindings: Vec<(&'a str, &'a str)>,
}

/// What a header name refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved<'a> {
    /// An unprefixed (core CPIM) header.
    Core(&'a str),
    /// A header in the namespace with this URI.
    Namespaced { uri: &'a str, local: &'a str },
}

impl<'a> Namespaces<'a> {
    /// Collects the `NS` declarations among `headers`.
    pub(crate) fn collect(headers: &'a [Header]) -> Result<Namespaces<'a>, CpimError> {
        let mut ns = Namespaces::default();
        for h in headers.iter().filter(|h| is_ns_header(&h.name)) {
            let (prefix, uri) =
                parse_declaration(&h.value).map_err(|reason| CpimError::InvalidHeader {
                    name: h.name.clone(),
                    reason,
                })?;
            if let Some(prefix) = prefix {
                if ns.bindings.iter().any(|(p, _)| *p == prefix) {
                    return Err(CpimError::DuplicateHeader(format!("{} {prefix}", h.name)));
                }
                ns.bindings.push((prefix, uri));
            }
        }
        Ok(ns)
    }

    /// Resolves a header name to its namespace URI.
    pub(crate) fn resolve(&self, name: &'a str) -> Result<Resolved<'a>, CpimError> {
        match name.split_once('.') {
            None => Ok(Resolved::Core(name)),
            Some((prefix, local)) => self
                .bindings
                .iter()
                .find(|(p, _)| *p == prefix)
                .map(|(_, uri)| Resolved::Namespaced { uri, local })
                .ok_or_else(|| CpimError::InvalidHeader {
                    name: name.to_owned(),
                    reason: "namespace prefix not declared",
                }),
        }
    }
}

/// Whether a header is a namespace declaration.
pub(crate) fn is_ns_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("NS")
}

/// Parses `[Name-prefix SP] "<" URI ">"`.
fn parse_declaration(value: &str) -> Result<(Option<&str>, &str), &'static str> {
    let (prefix, rest) = match value.split_once(' ') {
        Some((p, rest)) if !p.starts_with('<') => (Some(p), rest),
        _ => (None, value),
    };
    if let Some(p) = prefix
        && !is_name(p)
    {
        return Err("namespace prefix is not an RFC 3862 Name");
    }
    let uri = rest
        .strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .ok_or("namespace URI must be written <URI>")?;
    if uri.is_empty() || uri.contains(['<', '>', ' ']) {
        return Err("invalid namespace URI");
    }
    Ok((prefix, uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[(&str, &str)]) -> Vec<Header> {
        list.iter().map(|(n, v)| Header::new(*n, *v)).collect()
    }

    #[test]
    fn resolves_by_uri() {
        let h = headers(&[
            ("NS", "gsma <http://www.gsma.com/rcs/mls>"),
            ("NS", "<urn:default>"),
            ("gsma.Era-ID", "1"),
        ]);
        let ns = Namespaces::collect(&h).unwrap();
        assert_eq!(
            ns.resolve("gsma.Era-ID"),
            Ok(Resolved::Namespaced {
                uri: "http://www.gsma.com/rcs/mls",
                local: "Era-ID"
            })
        );
        assert_eq!(ns.resolve("From"), Ok(Resolved::Core("From")));
        assert_eq!(
            ns.resolve("mls.Era-ID"),
            Err(CpimError::InvalidHeader {
                name: "mls.Era-ID".into(),
                reason: "namespace prefix not declared"
            })
        );
    }

    #[test]
    fn refuses_bad_declarations() {
        for bad in [
            "mls http://x",
            "mls <>",
            "m s <u:x>",
            "mls <a b>",
            "",
            "mls <u:x",
        ] {
            let h = headers(&[("NS", bad)]);
            assert!(
                matches!(
                    Namespaces::collect(&h),
                    Err(CpimError::InvalidHeader { .. })
                ),
                "{bad:?}"
            );
        }
        let twice = headers(&[("NS", "mls <u:a>"), ("NS", "mls <u:b>")]);
        assert_eq!(
            Namespaces::collect(&twice).err(),
            Some(CpimError::DuplicateHeader("NS mls".into()))
        );
    }
}
