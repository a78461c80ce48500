//! The conformance checks of `crosslock_kds::store::testing` catch what an
//! attacker wants a KDS store to get wrong: each flawed store below (the
//! SQLite store with one flaw) fails the check of its trait, at the
//! assertion about that flaw, while the faithful wrapper passes them all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Mutex;

use crosslock_kds::KdsError;
use crosslock_kds::store::testing::{
    check_device_store, check_kds_store, check_key_package_store, check_nonce_store,
    check_rate_store, check_transparency_queue,
};
use crosslock_kds::store::{
    Bucket, ClaimedKeyPackages, DeviceRecord, DeviceStore, Enrolment, IssuedCredential,
    KeyPackageStore, NonceStore, QueuedNumber, RateStore, SecretStore, SkippedNumber,
    SqliteKdsStore, StoredKeyPackage, TransparencyQueue,
};
use crosslock_wire::api::kds::Stock;

/// What a flawed store gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// None: the wrapper is faithful.
    None,
    /// A nonce taken once is taken again (an enrollment challenge replayed).
    NonceReused,
    /// A device id of another number is taken over (KDS-ENR-8).
    DeviceIdStolen,
    /// A carrier proof enrols any number of devices (KDS-ENR-10).
    ProofUnlimited,
    /// A KeyPackage uploaded before is accepted again (a replay).
    KeyPackageReplayed,
    /// A claimed single-use KeyPackage is handed out again.
    KeyPackageServedTwice,
    /// Several buckets are paid one by one: a refused request still pays
    /// the buckets before the empty one (KDS-CLM-3).
    RatePaidPiecemeal,
    /// Publishing removes a number queued again since it was read, so its
    /// latest change is never published (KDS-KT-1).
    NewerChangeDequeued,
}

/// A [`SqliteKdsStore`] with one [`Flaw`].
#[derive(Debug)]
struct Flawed {
    inner: SqliteKdsStore,
    flaw: Flaw,
    /// Nonces taken, for the nonce flaw.
    taken: Mutex<BTreeSet<Vec<u8>>>,
    /// The first KeyPackage handed out, for the double-serving flaw.
    served: Mutex<Option<(String, Vec<u8>)>>,
}

impl Flawed {
    fn new(flaw: Flaw) -> Self {
        Flawed {
            inner: SqliteKdsStore::open_in_memory().unwrap(),
            flaw,
            taken: Mutex::default(),
            served: Mutex::default(),
        }
    }
}

impl NonceStore for Flawed {
    fn insert_nonce(&self, nonce: &[u8], expires_at: u64) -> Result<(), KdsError> {
        self.inner.insert_nonce(nonce, expires_at)
    }

    fn take_nonce(&self, nonce: &[u8], now: u64) -> Result<bool, KdsError> {
        let taken = self.inner.take_nonce(nonce, now)?;
        let mut seen = self.taken.lock().unwrap();
        if taken {
            seen.insert(nonce.to_vec());
        }
        Ok(taken || (self.flaw == Flaw::NonceReused && seen.contains(nonce)))
    }
}

impl DeviceStore for Flawed {
    fn enroll(&self, enrolment: &Enrolment<'_>) -> Result<(), KdsError> {
        let mut e = *enrolment;
        if self.flaw == Flaw::ProofUnlimited {
            e.max_per_proof = u32::MAX;
        }
        match self.inner.enroll(&e) {
            Err(KdsError::DeviceIdTaken) if self.flaw == Flaw::DeviceIdStolen => {
                // Another number's device id: its owner loses it, as with a
                // store that trusted the caller.
                self.inner
                    .revoke(Some(&e.device.device_id), None, e.device.enrolled_at)?;
                Ok(())
            }
            other => other,
        }
    }

    fn device_by_token(&self, token_hash: &[u8; 32]) -> Result<Option<DeviceRecord>, KdsError> {
        self.inner.device_by_token(token_hash)
    }

    fn credentials_of(&self, device_id: &str) -> Result<Vec<IssuedCredential>, KdsError> {
        self.inner.credentials_of(device_id)
    }

    fn revoke(
        &self,
        device_id: Option<&str>,
        number: Option<&str>,
        now: u64,
    ) -> Result<usize, KdsError> {
        self.inner.revoke(device_id, number, now)
    }

    fn revoked_since(&self, since: u64) -> Result<Vec<String>, KdsError> {
        self.inner.revoked_since(since)
    }

    fn active_devices(&self, number: &str) -> Result<Vec<DeviceRecord>, KdsError> {
        self.inner.active_devices(number)
    }
}

impl KeyPackageStore for Flawed {
    fn add_key_packages(
        &self,
        device_id: &str,
        key_packages: &[StoredKeyPackage],
        max_per_suite: usize,
        now: u64,
    ) -> Result<Stock, KdsError> {
        match self
            .inner
            .add_key_packages(device_id, key_packages, max_per_suite, now)
        {
            Err(KdsError::KeyPackage(_)) if self.flaw == Flaw::KeyPackageReplayed => {
                self.inner.stock(device_id, now)
            }
            other => other,
        }
    }

    fn stock(&self, device_id: &str, now: u64) -> Result<Stock, KdsError> {
        self.inner.stock(device_id, now)
    }

    fn claim(
        &self,
        number: &str,
        only: Option<&[String]>,
        now: u64,
    ) -> Result<ClaimedKeyPackages, KdsError> {
        let mut claimed = self.inner.claim(number, only, now)?;
        if self.flaw == Flaw::KeyPackageServedTwice {
            let mut served = self.served.lock().unwrap();
            match served.as_ref() {
                // The first package handed out comes back in place of the
                // device's next one.
                Some((device, kp)) => {
                    for (d, kps) in &mut claimed {
                        if d == device && !kps.is_empty() {
                            kps[0] = kp.clone();
                        }
                    }
                }
                None => {
                    *served = claimed
                        .iter()
                        .find(|(_, kps)| !kps.is_empty())
                        .map(|(d, kps)| (d.clone(), kps[0].clone()));
                }
            }
        }
        Ok(claimed)
    }
}

impl RateStore for Flawed {
    fn take_tokens(&self, buckets: &[Bucket], now: u64) -> Result<Result<(), u64>, KdsError> {
        if self.flaw != Flaw::RatePaidPiecemeal {
            return self.inner.take_tokens(buckets, now);
        }
        for bucket in buckets {
            if let Err(wait) = self.inner.take_tokens(std::slice::from_ref(bucket), now)? {
                return Ok(Err(wait));
            }
        }
        Ok(Ok(()))
    }
}

impl SecretStore for Flawed {
    fn secret(&self, name: &str, fresh: [u8; 32]) -> Result<[u8; 32], KdsError> {
        self.inner.secret(name, fresh)
    }
}

impl TransparencyQueue for Flawed {
    fn queued(&self, limit: usize) -> Result<Vec<QueuedNumber>, KdsError> {
        self.inner.queued(limit)
    }

    fn queue_len(&self) -> Result<usize, KdsError> {
        self.inner.queue_len()
    }

    fn dequeue(&self, published: &[QueuedNumber]) -> Result<(), KdsError> {
        if self.flaw != Flaw::NewerChangeDequeued {
            return self.inner.dequeue(published);
        }
        let all: Vec<QueuedNumber> = published
            .iter()
            .map(|q| QueuedNumber {
                number: q.number.clone(),
                seq: i64::MAX,
            })
            .collect();
        self.inner.dequeue(&all)
    }

    fn skip(&self, skipped: &[SkippedNumber]) -> Result<(), KdsError> {
        self.inner.skip(skipped)
    }

    fn skipped(&self) -> Result<Vec<SkippedNumber>, KdsError> {
        self.inner.skipped()
    }

    fn queue_all_numbers(&self) -> Result<usize, KdsError> {
        self.inner.queue_all_numbers()
    }

    fn keys_of_number(&self, number: &str) -> Result<Vec<IssuedCredential>, KdsError> {
        self.inner.keys_of_number(number)
    }
}

/// The check fails, at the assertion `at`.
fn fails_at(result: Result<(), String>, at: &str) {
    match result {
        Err(e) if e.starts_with(at) => {}
        other => panic!("expected a failure at {at:?}, got {other:?}"),
    }
}

#[test]
fn the_faithful_wrapper_conforms() {
    assert_eq!(check_kds_store(|| Flawed::new(Flaw::None)), Ok(()));
}

#[test]
fn a_reused_nonce_is_caught() {
    fails_at(
        check_nonce_store(|| Flawed::new(Flaw::NonceReused)),
        "the same nonce again",
    );
}

#[test]
fn a_stolen_device_id_is_caught() {
    fails_at(
        check_device_store(|| Flawed::new(Flaw::DeviceIdStolen)),
        "a device id of another number",
    );
}

#[test]
fn an_unlimited_carrier_proof_is_caught() {
    fails_at(
        check_device_store(|| Flawed::new(Flaw::ProofUnlimited)),
        "a proof used up",
    );
}

#[test]
fn a_replayed_key_package_is_caught() {
    fails_at(
        check_key_package_store(|| Flawed::new(Flaw::KeyPackageReplayed)),
        "an upload with a KeyPackage uploaded before",
    );
}

#[test]
fn a_key_package_served_twice_is_caught() {
    fails_at(
        check_key_package_store(|| Flawed::new(Flaw::KeyPackageServedTwice)),
        "the single-use packages handed out, each once",
    );
}

#[test]
fn a_rate_limit_paid_piecemeal_is_caught() {
    fails_at(
        check_rate_store(|| Flawed::new(Flaw::RatePaidPiecemeal)),
        "the wide bucket paid only for the accepted request",
    );
}

#[test]
fn a_newer_change_dequeued_is_caught() {
    fails_at(
        check_transparency_queue(|| Flawed::new(Flaw::NewerChangeDequeued)),
        "after publishing, a number changed since",
    );
}
