//! `provider-kill`: the provider process (carrier, KDS, transparency log,
//! DS in one `crosslock serve`) is killed with SIGKILL at seeded moments
//! while four phones send, sync and claim KeyPackages concurrently; it is
//! restarted on the same data dir each time. Afterwards every message the
//! provider acknowledged reached every recipient's application exactly
//! once, no KeyPackage was handed out twice, and `crosslock kt audit`
//! verifies the transparency log from epoch 0.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crosslock_client::ConversationId;

use super::phones::{Phone, drain, enrol_all, no_refusals};
use super::serve_proc::ServeProcess;
use super::{Broken, Ledger, Outcome, Rng, Size, check};

const NUMBERS: [&str; 4] = [
    "+15550200001",
    "+15550200002",
    "+15550200003",
    "+15550200004",
];
/// KeyPackages each phone publishes; claims stay below this so that a
/// repeated KeyPackage can only be a KDS that handed one out twice (never
/// the last-resort one).
const KEY_PACKAGES: usize = 12;
const CLAIMS_PER_NUMBER: u64 = 8;

pub(crate) async fn run(rng: &mut Rng, size: Size, dir: &Path) -> Result<Outcome, Broken> {
    let mut serve = ServeProcess::start(&dir.join("provider"), "chaos.example", None).await?;
    let ledger = Ledger::default();
    let mut phones = enrol_all(dir, &NUMBERS, &serve.url(), &serve.ca_pem()?, KEY_PACKAGES).await?;
    let members: Vec<String> = NUMBERS[1..].iter().map(|s| (*s).to_owned()).collect();
    let group = phones[0].create_group(&members).await?;
    for p in &mut phones[1..] {
        p.sync(&ledger, 2).await?;
    }

    let operations = Arc::new(AtomicU64::new(0));
    let claims: Arc<Vec<AtomicU64>> = Arc::new(NUMBERS.iter().map(|_| AtomicU64::new(0)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (i, phone) in phones.into_iter().enumerate() {
        let load = Load {
            index: i,
            rng: rng.fork(),
            group: group.clone(),
            ledger: ledger.clone(),
            operations: operations.clone(),
            claims: claims.clone(),
            stop: stop.clone(),
        };
        tasks.push(tokio::spawn(load.run(phone)));
    }

    let kills = size.pick(6, 3);
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(rng.range(300, 1500))).await;
        serve.kill9();
        operations.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(rng.range(0, 300))).await;
        serve.restart().await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut phones = Vec::new();
    for t in tasks {
        phones.push(t.await.map_err(|e| Broken(format!("load task: {e}")))??);
    }
    drain(&mut phones, &ledger, 60).await?;

    let mut notes = vec![format!(
        "{kills} SIGKILLs; {} KeyPackages claimed, {} handed out twice",
        ledger.claims(),
        ledger.claimed_twice()
    )];
    check(
        ledger.claimed_twice() == 0,
        "a KeyPackage was handed out twice",
    )?;
    no_refusals(phones.iter())?;
    notes.push(audit(&serve, &phones[0]).await?);
    serve.stop().await;
    Ok(Outcome {
        operations: operations.load(Ordering::Relaxed),
        tally: ledger.tally(),
        notes,
    })
}

/// One phone's share of the load.
struct Load {
    index: usize,
    rng: Rng,
    group: ConversationId,
    ledger: Ledger,
    operations: Arc<AtomicU64>,
    claims: Arc<Vec<AtomicU64>>,
    stop: Arc<AtomicBool>,
}

impl Load {
    async fn run(mut self, mut phone: Phone) -> Result<Phone, Broken> {
        let recipients: Vec<String> = NUMBERS
            .iter()
            .filter(|n| **n != phone.number)
            .map(|s| (*s).to_owned())
            .collect();
        let mut sent = 0u64;
        while !self.stop.load(Ordering::Relaxed) {
            self.operations.fetch_add(1, Ordering::Relaxed);
            let ok = match self.rng.range(0, 10) {
                0..=5 => {
                    sent += 1;
                    let tag = format!("p{}-{sent}", self.index);
                    phone
                        .send(&self.group, &tag, &recipients, &self.ledger)
                        .await?
                }
                6..=8 => phone.sync(&self.ledger, 0).await.is_ok(),
                _ => self.claim(&mut phone).await,
            };
            if !ok {
                // The provider is down: what an app does, back off a little.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(phone)
    }

    /// Claims another number's KeyPackages, writing them in the ledger.
    async fn claim(&mut self, phone: &mut Phone) -> bool {
        let target = self.rng.range(0, NUMBERS.len() as u64) as usize;
        if NUMBERS[target] == phone.number {
            return true;
        }
        let counter = &self.claims[target];
        if counter.fetch_add(1, Ordering::Relaxed) >= CLAIMS_PER_NUMBER {
            counter.fetch_sub(1, Ordering::Relaxed);
            return true;
        }
        let Ok(token) = phone.dir.token() else {
            return false;
        };
        match phone.dir.api().claim(token, NUMBERS[target]).await {
            Ok(answer) => {
                for device in answer.devices {
                    for kp in device.key_packages {
                        self.ledger.claimed(&kp.0);
                    }
                }
                true
            }
            Err(_) => {
                // Not handed out (or the answer was lost): it may be claimed
                // again later, within the limit.
                counter.fetch_sub(1, Ordering::Relaxed);
                false
            }
        }
    }
}

/// Runs `crosslock kt audit` against the provider's log from epoch 0.
async fn audit(serve: &ServeProcess, phone: &Phone) -> Result<String, Broken> {
    let log = phone
        .dir
        .settings()
        .provider
        .homes
        .first()
        .map(|h| &h.transparency)
        .ok_or_else(|| Broken("the provider announces no transparency log".into()))?;
    let ca = serve.data().join("tls").join("tls-ca.pem");
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .args([
            "kt",
            "audit",
            "--kds",
            &serve.url(),
            "--directory",
            &log.directory,
        ])
        .arg("--log-key")
        .arg(hex::encode(&log.log_key.0))
        .arg("--ca")
        .arg(&ca);
    let output = tokio::task::spawn_blocking(move || command.output()).await??;
    let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    check(
        output.status.success() && verdict["verdict"] == "ok",
        format!(
            "kt audit: {} {}",
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    )?;
    Ok(format!(
        "kt audit ok: epochs 0..{} verified",
        verdict["to"].as_u64().unwrap_or_default()
    ))
}
