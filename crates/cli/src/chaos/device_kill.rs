//! Phones that die mid-operation and restart from their encrypted
//! database, against an in-process provider.
//!
//! - `device-commit-crash`: Bob's phone dies at its first write while it
//!   processes a page holding a commit and a message, then at its second
//!   write on the next round, and so on until a round completes without
//!   reaching the crash: every point between receiving a commit and merging
//!   it is covered. After each restart the DS redelivers what Bob had not
//!   acknowledged; he must end in the same epoch as Alice and Carol, with
//!   every message handed to his application once.
//! - `device-file-crash`: Alice's phone dies after uploading a file and
//!   before sending its key; restarted, she sends again and the
//!   conversation goes on; Bob decrypts the file and it matches.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use crosslock_client::ConversationId;
use crosslock_client::store::{Entries, StateStore, StoreError, Table, WriteBatch};
use crosslock_provider::{Provider, ProviderConfig};

use super::phones::{Phone, drain, enrol_all, no_refusals};
use super::{Broken, Ledger, Outcome, Rng, Size, check};
use crate::device::{Report, convo, files};
use crosslock_sdk::Messenger;

const ALICE: &str = "+15550400001";
const BOB: &str = "+15550400002";
const CAROL: &str = "+15550400003";

/// A database that works for `budget` writes, then is gone: the write that
/// exhausts it fails and so does everything after (the process died).
#[derive(Debug)]
struct DyingStore {
    inner: Arc<dyn StateStore>,
    budget: AtomicI64,
    dead: Arc<AtomicBool>,
}

impl DyingStore {
    fn alive(&self) -> Result<(), StoreError> {
        if self.dead.load(Ordering::SeqCst) {
            Err(StoreError::Backend("the process died (chaos)".into()))
        } else {
            Ok(())
        }
    }
}

impl StateStore for DyingStore {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.alive()?;
        self.inner.get(table, key)
    }

    fn scan(&self, table: Table, prefix: &[u8]) -> Result<Entries, StoreError> {
        self.alive()?;
        self.inner.scan(table, prefix)
    }

    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.alive()?;
        if self.budget.fetch_sub(1, Ordering::SeqCst) <= 0 {
            self.dead.store(true, Ordering::SeqCst);
            return Err(StoreError::Backend("the process died (chaos)".into()));
        }
        self.inner.commit(batch)
    }
}

/// Opens `phone` again on a database that dies at its `writes + 1`-th
/// write; the flag tells whether it died.
fn doomed(phone: Phone, writes: i64) -> Result<(Phone, Arc<AtomicBool>), Broken> {
    let dead = Arc::new(AtomicBool::new(false));
    let flag = dead.clone();
    let dir = Messenger::open_with(
        phone.dir.dir(),
        crosslock_sdk::Options::default(),
        move |inner| {
            Arc::new(DyingStore {
                inner,
                budget: AtomicI64::new(writes),
                dead: flag,
            })
        },
    )?;
    Ok((phone.with_dir(dir), dead))
}

/// An in-process provider (`crosslock serve`'s) on loopback.
pub(crate) async fn provider(name: &str, dir: &Path) -> Result<Provider, Broken> {
    let mut config = ProviderConfig::default();
    config.provider.name = name.into();
    config.provider.listen = ([127, 0, 0, 1], 0).into();
    config.provider.admin_listen = ([127, 0, 0, 1], 0).into();
    config.transparency.epoch_interval_secs = 1;
    Ok(Provider::start(config, dir).await?)
}

/// Alice, Bob and Carol enrolled, in one group that everyone joined.
async fn trio(
    p: &Provider,
    dir: &Path,
    ledger: &Ledger,
) -> Result<([Phone; 3], ConversationId), Broken> {
    let ca = std::fs::read_to_string(p.tls_ca_path())?;
    let mut phones = enrol_all(dir, &[ALICE, BOB, CAROL], &p.public_url(), &ca, 5).await?;
    let group = phones[0]
        .create_group(&[BOB.to_owned(), CAROL.to_owned()])
        .await?;
    for phone in &mut phones[1..] {
        phone.sync(ledger, 2).await?;
    }
    let trio = phones
        .try_into()
        .map_err(|_| Broken("three phones".into()))?;
    Ok((trio, group))
}

fn others(me: &str) -> Vec<String> {
    [ALICE, BOB, CAROL]
        .iter()
        .filter(|n| **n != me)
        .map(|s| (*s).to_owned())
        .collect()
}

fn authenticator(phone: &mut Phone, id: &ConversationId) -> Result<([u8; 32], u64), Broken> {
    let s = phone.dir.device_mut().security_state(id)?;
    Ok((s.epoch_authenticator, s.epoch))
}

pub(crate) async fn commit_crash(
    _rng: &mut Rng,
    size: Size,
    dir: &Path,
) -> Result<Outcome, Broken> {
    let p = provider("crash.example", &dir.join("provider")).await?;
    let ledger = Ledger::default();
    let ([mut alice, mut bob, mut carol], group) = trio(&p, dir, &ledger).await?;
    let mut crashes = 0u64;
    let mut operations = 0u64;
    let most = size.pick(60, 60);
    let mut writes = 0;
    loop {
        writes += 1;
        // Alice commits (new keys) and sends a message in the new epoch.
        let pending = alice.dir.device_mut().update_keys(&group)?;
        convo::submit(&mut alice.dir, &pending).await?;
        alice
            .send(&group, &format!("a-{writes}"), &others(ALICE), &ledger)
            .await?;
        operations += 2;
        // Bob processes them on a database that dies at write `writes`.
        let (doomed_bob, dead) = doomed(bob, writes - 1)?;
        bob = doomed_bob;
        let result = bob.sync(&ledger, 2).await;
        operations += 1;
        let died = dead.load(Ordering::SeqCst);
        // Restart: memory is gone, the database is what it was.
        bob = bob.reopen()?;
        if died {
            crashes += 1;
            check(result.is_err(), "a dead phone reported success")?;
        } else {
            result?;
        }
        bob.take_undelivered(&ledger)?;
        while bob.sync(&ledger, 0).await? > 0 {}
        while carol.sync(&ledger, 0).await? > 0 {}
        // The conversation goes on: Bob talks, everyone agrees.
        bob.send(&group, &format!("b-{writes}"), &others(BOB), &ledger)
            .await?;
        operations += 1;
        let mut all = [alice, bob, carol];
        drain(&mut all, &ledger, 20).await?;
        let [a, b, c] = all;
        (alice, bob, carol) = (a, b, c);
        let (auth_a, epoch) = authenticator(&mut alice, &group)?;
        check(
            authenticator(&mut bob, &group)? == (auth_a, epoch)
                && authenticator(&mut carol, &group)? == (auth_a, epoch),
            format!("epoch authenticators differ after a crash at write {writes}"),
        )?;
        if !died || writes >= most as i64 {
            break;
        }
    }
    no_refusals([&alice, &bob, &carol].into_iter())?;
    p.shutdown().await;
    Ok(Outcome {
        operations,
        tally: ledger.tally(),
        notes: vec![format!(
            "Bob died at each of the {crashes} writes of processing a commit and a message; all three agree on the epoch authenticator after each restart"
        )],
    })
}

pub(crate) async fn file_crash(_rng: &mut Rng, size: Size, dir: &Path) -> Result<Outcome, Broken> {
    let p = provider("files.example", &dir.join("provider")).await?;
    let ledger = Ledger::default();
    let ([mut alice, mut bob, mut carol], group) = trio(&p, dir, &ledger).await?;
    let rounds = size.pick(5, 3);
    let mut operations = 0;
    let mut orphans = 0;
    for round in 1..=rounds {
        let name = format!("photo-{round}.jpg");
        let path = dir.join(&name);
        let bytes: Vec<u8> = (0..200_000u32 + round as u32)
            .map(|i| (i * 31 + 7) as u8)
            .collect();
        std::fs::write(&path, &bytes)?;
        // Upload, then die before the key is sent.
        files::upload(&mut alice.dir, &path, Some("image/jpeg")).await?;
        orphans += 1;
        alice = alice.reopen()?;
        operations += 2;
        // Restarted, Alice sends the file again, and a text.
        let uploaded = files::upload(&mut alice.dir, &path, Some("image/jpeg")).await?;
        files::announce(&mut alice.dir, &group, &uploaded).await?;
        ledger.acknowledged(&format!("file:{name}"), &others(ALICE));
        alice
            .send(&group, &format!("after-{name}"), &others(ALICE), &ledger)
            .await?;
        operations += 2;
        let mut all = [alice, bob, carol];
        drain(&mut all, &ledger, 20).await?;
        [alice, bob, carol] = all;
        // Bob fetches and decrypts it; it matches.
        let out = dir.join(format!("bob-received-{round}"));
        files::receive_all(&mut bob.dir, &out, &mut Report::default()).await?;
        let got = std::fs::read(out.join(&name))?;
        check(got == bytes, format!("{name} decrypted differently at Bob"))?;
        operations += 1;
    }
    p.shutdown().await;
    Ok(Outcome {
        operations,
        tally: ledger.tally(),
        notes: vec![format!(
            "{rounds} crashes between upload and key; every file re-sent and decrypted intact; {orphans} orphan uploads left to the content server's retention"
        )],
    })
}
