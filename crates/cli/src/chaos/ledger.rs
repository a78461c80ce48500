//! The ledger every scenario keeps, and the seeded random numbers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// SplitMix64: small, fast, and the same sequence for the same seed on
/// every platform.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `low..high` (`low` when the range is empty).
    pub(crate) fn range(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            low
        } else {
            low + self.next() % (high - low)
        }
    }

    /// A child generator (for a task of its own).
    pub(crate) fn fork(&mut self) -> Rng {
        Rng(self.next())
    }
}

/// FNV-1a, to derive a scenario's seed from its name.
pub(crate) fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The table's counts for one scenario.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) acknowledged: u64,
    pub(crate) delivered: u64,
    pub(crate) lost: u64,
    pub(crate) duplicated: u64,
}

#[derive(Debug, Default)]
struct Books {
    /// Message tag → who must get it, for every message a provider
    /// acknowledged.
    acknowledged: BTreeMap<String, Vec<String>>,
    /// (recipient, tag) → the client core's delivery handles it came under.
    delivered: BTreeMap<(String, String), BTreeSet<u64>>,
    /// KeyPackages handed out by a claim (their bytes), with how often.
    claimed: BTreeMap<Vec<u8>, u32>,
}

/// Shared by every phone of a scenario; survives the phones' crashes (it
/// is the applications' own durable record).
#[derive(Debug, Clone, Default)]
pub(crate) struct Ledger(Arc<Mutex<Books>>);

impl Ledger {
    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A provider acknowledged the message `tag` for `recipients`.
    pub(crate) fn acknowledged(&self, tag: &str, recipients: &[String]) {
        self.books()
            .acknowledged
            .insert(tag.to_owned(), recipients.to_vec());
    }

    /// `recipient`'s application got `tag` under `delivery`.
    pub(crate) fn delivered(&self, recipient: &str, tag: &str, delivery: u64) {
        self.books()
            .delivered
            .entry((recipient.to_owned(), tag.to_owned()))
            .or_default()
            .insert(delivery);
    }

    /// Whether `recipient`'s application has `tag`.
    pub(crate) fn has(&self, recipient: &str, tag: &str) -> bool {
        self.books()
            .delivered
            .contains_key(&(recipient.to_owned(), tag.to_owned()))
    }

    /// A claim handed out this KeyPackage.
    pub(crate) fn claimed(&self, key_package: &[u8]) {
        *self
            .books()
            .claimed
            .entry(key_package.to_vec())
            .or_default() += 1;
    }

    /// KeyPackages handed out more than once.
    pub(crate) fn claimed_twice(&self) -> usize {
        self.books().claimed.values().filter(|n| **n > 1).count()
    }

    /// KeyPackages handed out.
    pub(crate) fn claims(&self) -> usize {
        self.books().claimed.len()
    }

    /// Whether every acknowledged copy has arrived.
    pub(crate) fn complete(&self) -> bool {
        self.tally().lost == 0
    }

    /// The counts.
    pub(crate) fn tally(&self) -> Tally {
        let books = self.books();
        let mut t = Tally::default();
        for (tag, recipients) in &books.acknowledged {
            for r in recipients {
                t.acknowledged += 1;
                match books.delivered.get(&(r.clone(), tag.clone())) {
                    None => t.lost += 1,
                    Some(deliveries) => {
                        t.delivered += 1;
                        if deliveries.len() > 1 {
                            t.duplicated += 1;
                        }
                    }
                }
            }
        }
        // Copies that arrived although no provider acknowledged them (the
        // answer was lost in a crash) count as delivered, and as
        // duplicated if they arrived twice.
        for ((_, tag), deliveries) in &books.delivered {
            if !books.acknowledged.contains_key(tag) {
                t.delivered += 1;
                if deliveries.len() > 1 {
                    t.duplicated += 1;
                }
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_tally_counts_copies_lost_and_duplicated() {
        let l = Ledger::default();
        l.acknowledged("m1", &["bob".into(), "carol".into()]);
        l.acknowledged("m2", &["bob".into()]);
        l.delivered("bob", "m1", 1);
        l.delivered("bob", "m1", 1);
        l.delivered("carol", "m1", 7);
        l.delivered("carol", "m1", 8);
        l.delivered("bob", "m3", 2);
        let t = l.tally();
        assert_eq!(
            t,
            Tally {
                acknowledged: 3,
                delivered: 3,
                lost: 1,
                duplicated: 1
            }
        );
        assert!(!l.complete());
        l.claimed(b"kp1");
        l.claimed(b"kp2");
        l.claimed(b"kp1");
        assert_eq!((l.claims(), l.claimed_twice()), (2, 1));
    }

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let (mut a, mut b) = (Rng::new(1), Rng::new(1));
        let xs: Vec<u64> = (0..5).map(|_| a.range(0, 100)).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.range(0, 100)).collect();
        assert_eq!(xs, ys);
        assert!(xs.iter().all(|x| *x < 100));
        assert_ne!(Rng::new(2).next(), Rng::new(1).next());
    }
}
