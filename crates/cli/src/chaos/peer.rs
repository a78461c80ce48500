//! The peer provider fails while the home provider's users talk.
//!
//! Provider A (home of +1 numbers, and of the group) federates with B
//! (+44). A reaches B's federation listener through a TCP relay in this
//! process, so that the scenario can make B look slow or speak garbage;
//! for `peer-down` B is really shut down and started again later. During
//! the fault A's users keep messaging each other (their copies arrive
//! while B is unreachable), A queues Bob's copies in its federation outbox
//! and retries with growing pauses; once B is back everything reaches Bob
//! exactly once.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crosslock_client::env::Environment;
use crosslock_provider::{Provider, ProviderConfig};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use super::phones::{Phone, drain, no_refusals};
use super::serve_proc::free_port;
use super::{Broken, Ledger, Outcome, Rng, Size, check};

const ALICE: &str = "+15550500001";
const ANNA: &str = "+15550500002";
const BOB: &str = "+447700900501";

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// B is shut down.
    Down,
    /// Every chunk B sends back to A waits 1.5 s.
    Slow,
    /// The relay answers A with random bytes instead of B.
    Garbage,
}

const FORWARD: u8 = 0;
const SLOW: u8 = 1;
const GARBAGE: u8 = 2;

/// The TCP relay from A to B's federation listener.
#[derive(Debug)]
struct Relay {
    port: u16,
    mode: Arc<AtomicU8>,
    /// When each connection arrived, for the retry pauses.
    arrivals: Arc<std::sync::Mutex<Vec<Instant>>>,
}

impl Relay {
    // Records when connections arrive, to measure retry back-off: wall time.
    #[allow(clippy::disallowed_methods)]
    async fn start(target: u16, seed: u64) -> Result<Relay, Broken> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let mode = Arc::new(AtomicU8::new(FORWARD));
        let arrivals = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (m, a) = (mode.clone(), arrivals.clone());
        tokio::spawn(async move {
            let mut rng = super::Rng::new(seed);
            while let Ok((inbound, _)) = listener.accept().await {
                if let Ok(mut v) = a.lock() {
                    v.push(Instant::now());
                }
                let noise: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
                tokio::spawn(relay(inbound, target, m.clone(), noise));
            }
        });
        Ok(Relay {
            port,
            mode,
            arrivals,
        })
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    fn arrivals_since(&self, since: Instant) -> Vec<Instant> {
        self.arrivals
            .lock()
            .map(|v| v.iter().copied().filter(|t| *t >= since).collect())
            .unwrap_or_default()
    }
}

/// One connection. The mode is read again for every chunk, so that a
/// connection A keeps open also turns slow or garbled.
async fn relay(mut inbound: TcpStream, target: u16, mode: Arc<AtomicU8>, noise: Vec<u8>) {
    if mode.load(Ordering::SeqCst) == GARBAGE {
        let _ = inbound.write_all(&noise).await;
        let _ = inbound.shutdown().await;
        return;
    }
    let Ok(outbound) = TcpStream::connect(("127.0.0.1", target)).await else {
        return;
    };
    let (mut in_read, mut in_write) = inbound.into_split();
    let (mut out_read, mut out_write) = outbound.into_split();
    let up = tokio::spawn(async move { tokio::io::copy(&mut in_read, &mut out_write).await });
    // B → A, slowly when asked.
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        use tokio::io::AsyncReadExt;
        let n = match out_read.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        match mode.load(Ordering::SeqCst) {
            SLOW => tokio::time::sleep(Duration::from_millis(1500)).await,
            GARBAGE => {
                let _ = in_write.write_all(&noise).await;
                break;
            }
            _ => {}
        }
        if in_write.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    up.abort();
}

fn config(name: &str, listen: u16, federation: u16) -> ProviderConfig {
    let mut config = ProviderConfig::default();
    config.provider.name = name.into();
    config.provider.listen = ([127, 0, 0, 1], listen).into();
    config.provider.admin_listen = ([127, 0, 0, 1], 0).into();
    config.provider.federation_listen = ([127, 0, 0, 1], federation).into();
    config.transparency.epoch_interval_secs = 1;
    config
}

// Timeouts and fault durations by the wall clock, not protocol time.
#[allow(clippy::disallowed_methods)]
pub(crate) async fn run(
    fault: Fault,
    rng: &mut Rng,
    size: Size,
    dir: &Path,
) -> Result<Outcome, Broken> {
    // Each operator starts alone once to make its keys, then with the
    // other's [[peers]] block; A's block for B points at the relay.
    let (fed_a, fed_b) = (free_port()?, free_port()?);
    let (listen_a, listen_b) = (free_port()?, free_port()?);
    let (dir_a, dir_b) = (dir.join("provider-a"), dir.join("provider-b"));
    let mut config_a = config("a.example", listen_a, fed_a);
    let mut config_b = config("b.example", listen_b, fed_b);
    let first_a = Provider::start(config_a.clone(), &dir_a, Environment::system()).await?;
    let first_b = Provider::start(config_b.clone(), &dir_b, Environment::system()).await?;
    let mut peer_a = first_a.peer_section().clone();
    let mut peer_b = first_b.peer_section().clone();
    first_a.shutdown().await;
    first_b.shutdown().await;
    let relay = Relay::start(fed_b, rng.next()).await?;
    peer_a.prefixes = vec!["+1".into()];
    peer_b.prefixes = vec!["+44".into()];
    peer_b.federation_url = format!("https://127.0.0.1:{}", relay.port);
    crate::demo::subscribers(
        &mut config_a,
        &dir.join("subscribers-a.txt"),
        &[ALICE, ANNA],
        super::phones::SUBSCRIBER_TOKEN,
    )?;
    crate::demo::subscribers(
        &mut config_b,
        &dir.join("subscribers-b.txt"),
        &[BOB],
        super::phones::SUBSCRIBER_TOKEN,
    )?;
    config_a.provider.prefixes = vec!["+1".into()];
    config_b.provider.prefixes = vec!["+44".into()];
    config_a.peers = vec![peer_b];
    config_b.peers = vec![peer_a];
    let a = Provider::start(config_a, &dir_a, Environment::system()).await?;
    let mut b = Some(Provider::start(config_b.clone(), &dir_b, Environment::system()).await?);

    let ledger = Ledger::default();
    let ca_a = std::fs::read_to_string(a.tls_ca_path())?;
    let ca_b = std::fs::read_to_string(dir_b.join("tls").join("tls-ca.pem"))?;
    let url_b = format!("https://127.0.0.1:{listen_b}");
    let mut alice =
        Phone::enrol(&dir.join("alice"), ALICE, &a.public_url(), ca_a.clone(), 5).await?;
    let mut anna = Phone::enrol(&dir.join("anna"), ANNA, &a.public_url(), ca_a, 5).await?;
    let mut bob = Phone::enrol(&dir.join("bob"), BOB, &url_b, ca_b, 5).await?;
    let group = alice
        .create_group(&[ANNA.to_owned(), BOB.to_owned()])
        .await?;
    anna.sync(&ledger, 2).await?;
    let until = Instant::now() + Duration::from_secs(20);
    while bob.sync(&ledger, 1).await? == 0 && Instant::now() < until {}
    // Bob's relayed lookup proof (KT-MEMBER-4) reaches A's users before
    // the fault: without it they could not prove his keys while B is
    // unreachable, and sending would wait (KT-MEMBER-3).
    let until = Instant::now() + Duration::from_secs(10);
    while !anna.proven(&group)? && Instant::now() < until {
        anna.sync(&ledger, 1).await?;
    }

    // The fault.
    let fault_started = Instant::now();
    match fault {
        Fault::Down => {
            if let Some(b) = b.take() {
                b.shutdown().await;
            }
        }
        Fault::Slow => relay.set(SLOW),
        Fault::Garbage => relay.set(GARBAGE),
    }
    let everyone = |me: &str| -> Vec<String> {
        [ALICE, ANNA, BOB]
            .iter()
            .filter(|n| **n != me)
            .map(|s| (*s).to_owned())
            .collect()
    };
    let mut operations = 1u64;
    let rounds = size.pick(20, 10);
    let mut local_latency = Vec::new();
    let mut max_outbox = 0;
    for i in 0..rounds {
        let (from, tag) = if rng.range(0, 2) == 0 {
            (&mut alice, format!("alice-{i}"))
        } else {
            (&mut anna, format!("anna-{i}"))
        };
        let me = from.number.clone();
        let sent_at = Instant::now();
        check(
            from.send(&group, &tag, &everyone(&me), &ledger).await?,
            format!("A refused its own user's message while B is {fault:?}"),
        )?;
        operations += 1;
        // The other A user gets it now, whatever B does.
        let other = if me == ALICE { &mut anna } else { &mut alice };
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            other.sync(&ledger, 1).await?;
            if ledger.has(other.number.as_str(), &tag) || Instant::now() > until {
                break;
            }
        }
        check(
            ledger.has(&other.number, &tag),
            format!("{tag} did not reach {} while B is {fault:?}", other.number),
        )?;
        local_latency.push(sent_at.elapsed().as_secs_f64() * 1000.0);
        operations += 1;
        max_outbox = max_outbox.max(a.status().await?.outbox_items);
        tokio::time::sleep(Duration::from_millis(rng.range(100, 400))).await;
    }
    // Let A retry a few times before the peer comes back.
    let fault_seconds = size.pick(12, 8);
    let remaining = Duration::from_secs(fault_seconds).saturating_sub(fault_started.elapsed());
    tokio::time::sleep(remaining).await;
    let queued = a.status().await?.outbox_items;
    let attempts = relay.arrivals_since(fault_started);

    // Heal.
    match fault {
        Fault::Down => b = Some(Provider::start(config_b, &dir_b, Environment::system()).await?),
        Fault::Slow | Fault::Garbage => relay.set(FORWARD),
    }
    operations += 1;
    let mut phones = [alice, anna, bob];
    drain(&mut phones, &ledger, 90).await?;

    local_latency.sort_by(f64::total_cmp);
    let p50 = local_latency
        .get(local_latency.len() / 2)
        .copied()
        .unwrap_or(0.0);
    let mut notes = vec![format!(
        "during the fault A's own users got every copy (p50 {p50:.0} ms); up to {} copies queued for B",
        max_outbox.max(queued)
    )];
    match fault {
        Fault::Slow => {
            // Copies may have trickled through while slow; nothing is required.
        }
        Fault::Down | Fault::Garbage => {
            check(
                max_outbox.max(queued) > 0,
                "A queued nothing for the unreachable peer",
            )?;
        }
    }
    if fault == Fault::Garbage {
        let gaps: Vec<f64> = attempts
            .windows(2)
            .map(|w| w[1].duration_since(w[0]).as_secs_f64())
            .collect();
        check(attempts.len() >= 2, "A did not retry the garbled peer")?;
        // Exponential backoff: the pauses grow (1 s, 2 s, 4 s, ...). The
        // first gap may be shorter: the claim or a kick can open one.
        let last = gaps.last().copied().unwrap_or(0.0);
        check(
            gaps.len() < 2 || last >= 1.5,
            format!("retries did not back off: gaps {gaps:.1?} s"),
        )?;
        notes.push(format!(
            "{} connection attempts to the garbled peer; pauses {:.1?} s",
            attempts.len(),
            gaps
        ));
    }
    no_refusals(phones.iter())?;
    drop(phones);
    if let Some(b) = b {
        b.shutdown().await;
    }
    a.shutdown().await;
    Ok(Outcome {
        operations,
        tally: ledger.tally(),
        notes,
    })
}
