//! The numbering plan: which provider is the home of each number.
//!
//! Every number has exactly one home provider (GUIDE §1, rule HOME-1 in
//! docs/validation-rules.md). Only the home's carriers may prove it, only
//! the home's CA may certify it and only the home's transparency log may
//! prove its keys. The plan maps number prefixes to provider names; the
//! longest matching prefix wins, so `+` (every number) for one provider and
//! `+44` for a peer homes every `+44…` number at the peer and the rest here.

use std::fmt;

use crate::number::PhoneNumber;

/// Longest prefix accepted: a whole E.164 number.
const MAX_PREFIX_DIGITS: usize = 15;

/// `+` followed by 0 to 15 digits. `+` alone matches every number.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NumberPrefix(String);

/// Why a numbering plan or one of its prefixes was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Not `+` and digits.
    #[error("number prefix {0:?} must be '+' followed by at most 15 digits (e.g. +44)")]
    BadPrefix(String),
    /// Two providers claim the same prefix: the home would be ambiguous.
    #[error("number prefix {prefix} is claimed by both {first:?} and {second:?}")]
    Conflict {
        /// The prefix.
        prefix: String,
        /// The provider named first.
        first: String,
        /// The provider named second.
        second: String,
    },
    /// A provider name that is empty or longer than a DNS name.
    #[error("provider name must be 1 to 253 characters")]
    BadName,
    /// The plan names a provider whose roots and carriers are not given.
    #[error(
        "number prefix {prefix} is homed at {home:?}, whose roots and carriers are not configured"
    )]
    UndescribedHome {
        /// The prefix.
        prefix: String,
        /// The provider.
        home: String,
    },
    /// One provider described twice.
    #[error("provider {0:?} is described twice")]
    DuplicateHome(String),
}

impl NumberPrefix {
    /// Parses `+44`, `+1 555` (spaces and RFC 3966 separators dropped).
    pub fn parse(text: &str) -> Result<Self, PlanError> {
        let bad = || PlanError::BadPrefix(text.chars().take(32).collect());
        let rest = text.trim().strip_prefix('+').ok_or_else(bad)?;
        let mut prefix = String::from("+");
        for c in rest.chars() {
            match c {
                '0'..='9' => prefix.push(c),
                '-' | '.' | '(' | ')' | ' ' => {}
                _ => return Err(bad()),
            }
        }
        if prefix.len() - 1 > MAX_PREFIX_DIGITS || prefix.starts_with("+0") {
            return Err(bad());
        }
        Ok(NumberPrefix(prefix))
    }

    /// Every number.
    pub fn any() -> Self {
        NumberPrefix("+".into())
    }

    /// The canonical text, e.g. `+44`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `number` starts with this prefix.
    pub fn matches(&self, number: &PhoneNumber) -> bool {
        number.as_str().starts_with(&self.0)
    }

    fn digits(&self) -> usize {
        self.0.len() - 1
    }
}

impl fmt::Debug for NumberPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NumberPrefix({})", self.0)
    }
}

impl fmt::Display for NumberPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Prefixes → home provider names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumberingPlan {
    routes: Vec<(NumberPrefix, String)>,
}

impl NumberingPlan {
    /// An empty plan: no number has a home.
    pub fn new() -> Self {
        NumberingPlan::default()
    }

    /// A plan homing every number at `home` (one provider on its own).
    pub fn single(home: &str) -> Result<Self, PlanError> {
        let mut plan = NumberingPlan::new();
        plan.add(NumberPrefix::any(), home)?;
        Ok(plan)
    }

    /// Homes the numbers starting with `prefix` at `home`. The same prefix
    /// for two providers is refused; the same pair twice is accepted once.
    pub fn add(&mut self, prefix: NumberPrefix, home: &str) -> Result<(), PlanError> {
        if home.is_empty() || home.len() > 253 {
            return Err(PlanError::BadName);
        }
        if let Some((_, first)) = self.routes.iter().find(|(p, _)| *p == prefix) {
            if first == home {
                return Ok(());
            }
            return Err(PlanError::Conflict {
                prefix: prefix.0,
                first: first.clone(),
                second: home.to_owned(),
            });
        }
        self.routes.push((prefix, home.to_owned()));
        Ok(())
    }

    /// Adds every prefix of `prefixes` (text) for `home`.
    pub fn add_all<'a>(
        &mut self,
        prefixes: impl IntoIterator<Item = &'a str>,
        home: &str,
    ) -> Result<(), PlanError> {
        for p in prefixes {
            self.add(NumberPrefix::parse(p)?, home)?;
        }
        Ok(())
    }

    /// HOME-1: the number's home, by the longest matching prefix; `None`
    /// when no provider of the plan is home for it.
    pub fn home_of(&self, number: &PhoneNumber) -> Option<&str> {
        self.routes
            .iter()
            .filter(|(p, _)| p.matches(number))
            .max_by_key(|(p, _)| p.digits())
            .map(|(_, home)| home.as_str())
    }

    /// Whether `home` is the number's home.
    pub fn is_home(&self, number: &PhoneNumber, home: &str) -> bool {
        self.home_of(number) == Some(home)
    }

    /// The prefixes homed at `home`.
    pub fn prefixes_of<'a>(&'a self, home: &'a str) -> impl Iterator<Item = &'a NumberPrefix> {
        self.routes
            .iter()
            .filter(move |(_, h)| h == home)
            .map(|(p, _)| p)
    }

    /// Every (prefix, home) pair.
    pub fn routes(&self) -> impl Iterator<Item = (&NumberPrefix, &str)> {
        self.routes.iter().map(|(p, h)| (p, h.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> PhoneNumber {
        PhoneNumber::parse(text).unwrap()
    }

    #[test]
    fn the_longest_prefix_is_the_home() {
        let mut plan = NumberingPlan::single("a.example").unwrap();
        plan.add_all(["+44", "+4420"], "b.example").unwrap();
        plan.add_all(["+442079"], "c.example").unwrap();
        assert_eq!(plan.home_of(&n("+15551234567")), Some("a.example"));
        assert_eq!(plan.home_of(&n("+447700900123")), Some("b.example"));
        assert_eq!(plan.home_of(&n("+442071234567")), Some("b.example"));
        assert_eq!(plan.home_of(&n("+442079123456")), Some("c.example"));
        assert!(plan.is_home(&n("+15551234567"), "a.example"));
        assert!(!plan.is_home(&n("+447700900123"), "a.example"));
        let b: Vec<_> = plan.prefixes_of("b.example").map(|p| p.as_str()).collect();
        assert_eq!(b, ["+44", "+4420"]);
    }

    #[test]
    fn numbers_outside_the_plan_have_no_home() {
        let mut plan = NumberingPlan::new();
        plan.add_all(["+1555"], "a.example").unwrap();
        assert_eq!(plan.home_of(&n("+15551234567")), Some("a.example"));
        assert_eq!(plan.home_of(&n("+15561234567")), None);
        assert_eq!(NumberingPlan::new().home_of(&n("+15551234567")), None);
    }

    #[test]
    fn two_homes_for_one_prefix_and_bad_prefixes_are_refused() {
        let mut plan = NumberingPlan::single("a.example").unwrap();
        plan.add(NumberPrefix::any(), "a.example").unwrap();
        let e = plan.add(NumberPrefix::any(), "b.example").unwrap_err();
        assert!(matches!(e, PlanError::Conflict { .. }), "{e}");
        assert_eq!(plan.home_of(&n("+15551234567")), Some("a.example"));
        for bad in ["44", "+4x", "+0", "+1234567890123456", "", "tel:+1"] {
            assert!(NumberPrefix::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(NumberPrefix::parse("+1 (555)").unwrap().as_str(), "+1555");
        assert_eq!(plan.add(NumberPrefix::any(), ""), Err(PlanError::BadName));
    }
}
