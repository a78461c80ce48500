//! Suites in key transparency (KT-SUITE-*, docs/kt.md § Suites): a
//! number's binding lists the MLS cipher suites each key serves, so a
//! provider (or a peer, or an insider) that withholds a device's
//! post-quantum KeyPackages from a claim answer, or stops listing a
//! post-quantum suite a contact had, cannot make negotiation quietly pick
//! a classical suite. The device refuses (default) or, by policy, goes on
//! with a warning the conversation's [`crate::SecurityState`] carries.

use std::collections::BTreeSet;

use crosslock_credential::PhoneNumber;
use crosslock_kt::{Binding, KtError, is_post_quantum_suite};
use serde::{Deserialize, Serialize};

use crate::device::Device;
use crate::error::ClientError;
use crate::store::Table;

/// What a device does when key transparency shows a post-quantum downgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SuiteDowngradePolicy {
    /// Refuse the claim or proof with `ClientError::Transparency` carrying
    /// `KtError::SuiteWithheld` or `KtError::SuiteDisappeared`; nothing is
    /// stored (the default).
    #[default]
    Refuse,
    /// Go on (a classical suite may be negotiated) and record the
    /// downgrade: [`crate::SecurityState::suite_downgrades`] shows it in
    /// every conversation with the contact.
    Warn,
}

/// How a post-quantum suite went missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DowngradeKind {
    /// KT-SUITE-2: the proven binding lists the suite for the device, but
    /// the claim answer held no KeyPackage of it.
    Withheld,
    /// KT-SUITE-3: the contact's recorded proof listed the suite for the
    /// device; its new binding no longer does.
    Disappeared,
}

/// A post-quantum downgrade of one device of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuiteDowngrade {
    /// The contact's device.
    pub device_id: String,
    /// The missing suite's code point (0x004F for the post-quantum suite).
    pub suite: u16,
    /// Withheld from a claim answer, or gone from the binding.
    pub kind: DowngradeKind,
    /// The epoch of the proof that showed it.
    pub epoch: u64,
}

impl SuiteDowngrade {
    /// The refusal for this downgrade.
    pub fn error(&self) -> KtError {
        match self.kind {
            DowngradeKind::Withheld => KtError::SuiteWithheld {
                device_id: self.device_id.clone(),
                suite: self.suite,
            },
            DowngradeKind::Disappeared => KtError::SuiteDisappeared {
                device_id: self.device_id.clone(),
                suite: self.suite,
            },
        }
    }
}

/// Per bound device id, the suites its keys list (devices listing none
/// are left out: their suites are unknown).
pub(crate) fn listed_suites(binding: &Binding) -> Vec<(String, Vec<u16>)> {
    let devices: BTreeSet<&str> = binding
        .keys()
        .iter()
        .map(|k| k.device_id.as_str())
        .collect();
    devices
        .into_iter()
        .filter_map(|d| {
            binding
                .suites_of(d)
                .map(|s| (d.to_owned(), s.into_iter().collect()))
        })
        .collect()
}

/// KT-SUITE-2: every post-quantum suite the binding lists for a device
/// the claim answer offers must be among the suites offered for it.
/// `offered` is (device id, suite code) per KeyPackage.
pub(crate) fn withheld(
    binding: &Binding,
    offered: &[(String, u16)],
    epoch: u64,
) -> Vec<SuiteDowngrade> {
    let devices: BTreeSet<&str> = offered.iter().map(|(d, _)| d.as_str()).collect();
    let mut out = Vec::new();
    for device in devices {
        let Some(listed) = binding.suites_of(device) else {
            continue;
        };
        for suite in listed.into_iter().filter(|s| is_post_quantum_suite(*s)) {
            if !offered.iter().any(|(d, s)| d == device && *s == suite) {
                out.push(SuiteDowngrade {
                    device_id: device.to_owned(),
                    suite,
                    kind: DowngradeKind::Withheld,
                    epoch,
                });
            }
        }
    }
    out
}

/// KT-SUITE-3: a post-quantum suite the recorded proof listed for a
/// device still bound must still be listed for it; and a contact that had
/// a post-quantum suite on some device must still have one on some device
/// (all its devices replaced by ones without).
pub(crate) fn disappeared(
    recorded: &[(String, Vec<u16>)],
    binding: &Binding,
    epoch: u64,
) -> Vec<SuiteDowngrade> {
    let mut out = Vec::new();
    if *binding == Binding::Revoked {
        return out;
    }
    let bound = |d: &str| binding.keys().iter().any(|k| k.device_id == d);
    for (device, suites) in recorded {
        if !bound(device) {
            continue;
        }
        let now = binding.suites_of(device).unwrap_or_default();
        for suite in suites.iter().filter(|s| is_post_quantum_suite(**s)) {
            if !now.contains(suite) {
                out.push(SuiteDowngrade {
                    device_id: device.clone(),
                    suite: *suite,
                    kind: DowngradeKind::Disappeared,
                    epoch,
                });
            }
        }
    }
    let had = recorded
        .iter()
        .flat_map(|(_, s)| s.iter().copied())
        .find(|s| is_post_quantum_suite(*s));
    let has = binding
        .keys()
        .iter()
        .any(|k| k.suites.iter().any(|s| is_post_quantum_suite(*s)));
    if let (Some(suite), false, true) = (had, has, out.is_empty())
        && let Some(first) = binding.keys().first()
    {
        out.push(SuiteDowngrade {
            device_id: first.device_id.clone(),
            suite,
            kind: DowngradeKind::Disappeared,
            epoch,
        });
    }
    out
}

/// Whether every offered device's binding lists a post-quantum suite (a
/// claim after which an earlier downgrade warning no longer holds).
pub(crate) fn post_quantum_everywhere(binding: &Binding, offered: &[(String, u16)]) -> bool {
    offered.iter().all(|(d, _)| {
        binding
            .suites_of(d)
            .is_some_and(|s| s.iter().any(|s| is_post_quantum_suite(*s)))
    })
}

fn warnings_key(number: &PhoneNumber) -> Vec<u8> {
    format!("kt/suite-downgrade/{}", number.as_str()).into_bytes()
}

/// Implements [`Device::suite_downgrades`].
pub(crate) fn suite_downgrades(
    device: &Device,
    number: &PhoneNumber,
) -> Result<Vec<SuiteDowngrade>, ClientError> {
    match device.staged.get(Table::Device, &warnings_key(number))? {
        Some(bytes) => crate::records::decode(&bytes),
        None => Ok(Vec::new()),
    }
}

impl Device {
    /// Records downgrades accepted under the warn policy (stages only).
    pub(crate) fn stage_suite_downgrades(
        &self,
        number: &PhoneNumber,
        found: &[SuiteDowngrade],
    ) -> Result<(), ClientError> {
        let mut all = self.suite_downgrades(number)?;
        for d in found {
            if !all.contains(d) {
                tracing::warn!(
                    contact = %number.redacted(),
                    device = %d.device_id,
                    suite = d.suite,
                    kind = ?d.kind,
                    "post-quantum suite downgrade accepted by policy"
                );
                all.push(d.clone());
            }
        }
        self.staged.put(
            Table::Device,
            warnings_key(number),
            crate::records::encode(&all)?,
        );
        Ok(())
    }

    /// Forgets the downgrades of `number` (a later claim offered every
    /// device's post-quantum KeyPackages again). Stages only.
    pub(crate) fn clear_suite_downgrades(&self, number: &PhoneNumber) -> Result<(), ClientError> {
        if self
            .staged
            .get(Table::Device, &warnings_key(number))?
            .is_some()
        {
            self.staged.delete(Table::Device, warnings_key(number));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crosslock_kt::{BoundKey, SUITE_MLKEM768X25519, SUITE_P256, SUITE_X25519};

    fn binding(pq: bool) -> Binding {
        let ed = if pq {
            vec![SUITE_X25519, SUITE_MLKEM768X25519]
        } else {
            vec![SUITE_X25519]
        };
        Binding::of(vec![
            BoundKey::new("d1", vec![1; 32], &[1; 100]).serving(ed),
            BoundKey::new("d1", vec![2; 65], &[2; 100]).serving([SUITE_P256]),
        ])
        .unwrap()
    }

    #[test]
    fn withheld_post_quantum_is_found_classical_is_not() {
        let all = [
            ("d1".to_owned(), SUITE_P256),
            ("d1".to_owned(), SUITE_X25519),
            ("d1".to_owned(), SUITE_MLKEM768X25519),
        ];
        assert!(withheld(&binding(true), &all, 1).is_empty());
        let stripped = &all[..2];
        let found = withheld(&binding(true), stripped, 1);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].suite, found[0].kind),
            (SUITE_MLKEM768X25519, DowngradeKind::Withheld)
        );
        // A classical suite missing is no downgrade of protection.
        assert!(withheld(&binding(true), &all[1..], 1).is_empty());
        // Suites unknown (a version 1 binding): nothing to compare.
        let old = Binding::of(vec![BoundKey::new("d1", vec![1; 32], &[1; 100])]).unwrap();
        assert!(withheld(&old, stripped, 1).is_empty());
        assert!(!post_quantum_everywhere(&old, stripped));
        assert!(post_quantum_everywhere(&binding(true), stripped));
    }

    #[test]
    fn disappeared_post_quantum_is_found() {
        let recorded = listed_suites(&binding(true));
        assert!(disappeared(&recorded, &binding(true), 2).is_empty());
        let found = disappeared(&recorded, &binding(false), 2);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, DowngradeKind::Disappeared);
        // Suites no longer said (a version 1 binding) count as gone.
        let old = Binding::of(vec![BoundKey::new("d1", vec![1; 32], &[1; 100])]).unwrap();
        assert_eq!(disappeared(&recorded, &old, 2).len(), 1);
        // Every device replaced by one without post-quantum.
        let other = Binding::of(vec![
            BoundKey::new("d2", vec![3; 32], &[3; 100]).serving([SUITE_X25519]),
        ])
        .unwrap();
        let found = disappeared(&recorded, &other, 2);
        assert_eq!(found[0].device_id, "d2");
        // A recorded proof without suites, or a revocation: nothing.
        assert!(disappeared(&[], &binding(false), 2).is_empty());
        assert!(disappeared(&recorded, &Binding::Revoked, 2).is_empty());
    }
}
