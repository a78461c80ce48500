//! `crosslock ds bench`: load on an in-process provider's delivery service.
//!
//! Devices (real client cores) enrol over HTTP and form groups; then
//! 1. **throughput**: every device sends application messages as fast as
//!    the DS takes them (each an MLS PrivateMessage, durable at the DS
//!    before it answers) while every device drains its inbox;
//! 2. **latency**: every device sends at a fixed total rate while every
//!    device long-polls, decrypts and acknowledges; the time from submit to
//!    decrypted at each recipient is recorded.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crosslock_client::{ConversationId, Device, DeviceProfile, NewConversation, Received};
use crosslock_sdk::transport::DsClient;

use crate::local_provider::LocalProvider;

/// Options of `crosslock ds bench`.
#[derive(clap::Args, Debug)]
pub(crate) struct DsBenchArgs {
    /// Devices (each a client core with its own number).
    #[arg(long, default_value_t = 100)]
    devices: usize,
    /// Groups the devices are split into (equal sizes).
    #[arg(long, default_value_t = 10)]
    groups: usize,
    /// Total run time, split between the throughput and the latency run.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Messages per second (all devices together) in the latency run.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Plaintext bytes per message.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Messages each device encrypts ahead of the throughput run (it ends
    /// when they are all relayed or its half of the time is up).
    #[arg(long, default_value_t = 1000)]
    queue: usize,
    /// Keep the provider's files here instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

struct Member {
    device: Mutex<Device>,
    ds: DsClient,
    conversation: ConversationId,
}

type Members = Vec<Arc<Member>>;

fn lock(m: &Member) -> std::sync::MutexGuard<'_, Device> {
    m.device.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn run(args: DsBenchArgs) -> ExitCode {
    if args.devices < 2 || args.groups == 0 || args.devices / args.groups < 2 {
        eprintln!("error: need at least two devices per group");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn bench(args: DsBenchArgs) -> Result<(), String> {
    let temp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = args.dir.clone().unwrap_or_else(|| temp.path().to_owned());
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let provider = LocalProvider::start("kds.bench.example", &dir, |c| {
        // The load generator is one client: lift the per-device limits.
        c.device_rate.burst = 1e9;
        c.device_rate.per_second = 1e9;
        c.conversation_rate.burst = 1e9;
        c.conversation_rate.per_second = 1e9;
    })
    .await?;
    let started = Instant::now();
    let members = setup(&provider, &args).await?;
    if !args.json {
        eprintln!(
            "{} devices in {} groups ready in {:.1} s (enrolled over HTTP, groups committed through the DS)",
            args.devices,
            args.groups,
            started.elapsed().as_secs_f64()
        );
    }
    let half = Duration::from_secs((args.seconds / 2).max(1));
    let payload = "x".repeat(args.size);
    let throughput = throughput(&members, half, &payload, args.queue).await?;
    rekey(&members, args.groups).await?;
    let latency = latency(&members, half, args.rate, &payload).await?;
    let group = args.devices / args.groups;
    if args.json {
        let out = serde_json::json!({
            "devices": args.devices,
            "groups": args.groups,
            "message_bytes": args.size,
            "throughput": {
                "seconds": throughput.seconds,
                "accepted": throughput.accepted,
                "accepted_per_second": throughput.accepted as f64 / throughput.seconds,
                "delivered": throughput.delivered,
                "delivered_per_second": throughput.delivered as f64 / throughput.seconds,
            },
            "latency": {
                "target_rate": args.rate,
                "sent": latency.sent,
                "decrypted": latency.samples.len(),
                "expected": latency.sent * (group as u64 - 1),
                "p50_ms": percentile(&latency.samples, 50.0),
                "p90_ms": percentile(&latency.samples, 90.0),
                "p99_ms": percentile(&latency.samples, 99.0),
                "max_ms": percentile(&latency.samples, 100.0),
            }
        });
        println!("{out}");
    } else {
        println!(
            "throughput: {} messages of {} B accepted in {:.1} s = {:.0} msg/s; {} inbox deliveries = {:.0}/s",
            throughput.accepted,
            args.size,
            throughput.seconds,
            throughput.accepted as f64 / throughput.seconds,
            throughput.delivered,
            throughput.delivered as f64 / throughput.seconds
        );
        println!(
            "latency at {} msg/s: {} sent, {} of {} deliveries decrypted; submit → decrypted p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            args.rate,
            latency.sent,
            latency.samples.len(),
            latency.sent * (group as u64 - 1),
            percentile(&latency.samples, 50.0),
            percentile(&latency.samples, 90.0),
            percentile(&latency.samples, 99.0),
            percentile(&latency.samples, 100.0)
        );
    }
    Ok(())
}

/// Enrols every device and forms the groups.
async fn setup(provider: &LocalProvider, args: &DsBenchArgs) -> Result<Members, String> {
    let per_group = args.devices / args.groups;
    let mut members = Vec::new();
    for g in 0..args.groups {
        let mut phones = Vec::new();
        for i in 0..per_group {
            let number = format!("+1555{:03}{:04}", g, i);
            let profile = if i % 2 == 0 {
                DeviceProfile::Android
            } else {
                DeviceProfile::Ios
            };
            let (device, ds, token) = provider.enroll(&number, profile, 1).await?;
            phones.push((number, device, ds, token));
        }
        let mut participants = Vec::new();
        for (number, ..) in &phones[1..] {
            participants.push(provider.claim(&phones[0].3, number).await?);
        }
        let group_id = format!("bench-group-{g}").into_bytes();
        let pending = phones[0]
            .1
            .create_conversation(NewConversation::Group { group_id }, &participants)
            .map_err(|e| e.to_string())?;
        phones[0]
            .2
            .commit(&submission(&pending))
            .await
            .map_err(|e| format!("group {g}: {e}"))?;
        phones[0]
            .1
            .commit_accepted(&pending)
            .map_err(|e| e.to_string())?;
        let conversation = pending.conversation.clone();
        for (_, device, ds, _) in phones.iter_mut().skip(1) {
            let page = ds.inbox(0, 10, 5).await.map_err(|e| e.to_string())?;
            let mut seqs = Vec::new();
            for item in page.items {
                device
                    .receive_with_tree(&item.message_id, &item.envelope.0, item.tree())
                    .map_err(|e| format!("join: {e}"))?;
                seqs.push(item.seq);
            }
            ds.ack(seqs).await.map_err(|e| e.to_string())?;
        }
        for (_, device, ds, _) in phones {
            members.push(Arc::new(Member {
                device: Mutex::new(device),
                ds,
                conversation: conversation.clone(),
            }));
        }
    }
    Ok(members)
}

fn submission(pending: &crosslock_client::PendingCommit) -> crosslock_wire::api::ds::SubmitCommit {
    crosslock_wire::api::ds::SubmitCommit {
        commit: pending.commit.envelope.clone().into(),
        welcome: pending.welcome.as_ref().map(|w| w.envelope.clone().into()),
        group_info: pending.group_info.clone().into(),
        ratchet_tree: Some(pending.ratchet_tree.clone().into()),
        external: false,
    }
}

struct Throughput {
    seconds: f64,
    accepted: u64,
    delivered: u64,
}

async fn throughput(
    members: &Members,
    run: Duration,
    payload: &str,
    per_device: usize,
) -> Result<Throughput, String> {
    // The messages are encrypted before the clock starts: this run
    // measures the relay (HTTP, checks, durable fan-out, inbox drain), not
    // the senders' MLS encryption, which the latency run includes.
    let mut queues = Vec::new();
    for m in members {
        let mut device = lock(m);
        let mut queue = Vec::with_capacity(per_device);
        for _ in 0..per_device {
            queue.push(
                device
                    .send_text(&m.conversation, payload)
                    .map_err(|e| e.to_string())?
                    .outbound
                    .envelope,
            );
        }
        queues.push(queue);
    }
    let accepted = Arc::new(AtomicU64::new(0));
    let delivered = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + run;
    let mut senders = Vec::new();
    for (m, queue) in members.iter().zip(queues) {
        let (m, accepted) = (m.clone(), accepted.clone());
        senders.push(tokio::spawn(async move {
            for envelope in queue {
                if Instant::now() >= deadline {
                    break;
                }
                m.ds.message(&envelope).await.map_err(|e| e.to_string())?;
                accepted.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), String>(())
        }));
    }
    let mut drainers = Vec::new();
    for m in members {
        let (m, delivered) = (m.clone(), delivered.clone());
        drainers.push(tokio::spawn(async move {
            // Drain until the run is over and the inbox stayed empty; each
            // fetch acknowledges the page before it.
            let mut cursor = 0;
            loop {
                let page =
                    m.ds.next_page(cursor, 500, 1)
                        .await
                        .map_err(|e| e.to_string())?;
                if page.items.is_empty() && Instant::now() > deadline {
                    return Ok::<(), String>(());
                }
                if let Some(last) = page.items.last() {
                    cursor = last.seq;
                }
                delivered.fetch_add(page.items.len() as u64, Ordering::Relaxed);
            }
        }));
    }
    for s in senders {
        s.await.map_err(|e| e.to_string())??;
    }
    let seconds = start.elapsed().as_secs_f64();
    for d in drainers {
        d.await.map_err(|e| e.to_string())??;
    }
    Ok(Throughput {
        seconds,
        accepted: accepted.load(Ordering::Relaxed),
        delivered: delivered.load(Ordering::Relaxed),
    })
}

/// A key update per group so the latency run starts in a fresh epoch
/// (the throughput run's messages were relayed but never decrypted).
async fn rekey(members: &Members, groups: usize) -> Result<(), String> {
    let per_group = members.len() / groups;
    for g in 0..groups {
        let creator = &members[g * per_group];
        let pending = lock(creator)
            .update_keys(&creator.conversation)
            .map_err(|e| e.to_string())?;
        creator
            .ds
            .commit(&submission(&pending))
            .await
            .map_err(|e| e.to_string())?;
        lock(creator)
            .commit_accepted(&pending)
            .map_err(|e| e.to_string())?;
        for m in &members[g * per_group + 1..(g + 1) * per_group] {
            let page = m.ds.inbox(0, 10, 5).await.map_err(|e| e.to_string())?;
            let mut seqs = Vec::new();
            for item in page.items {
                lock(m)
                    .receive_with_tree(&item.message_id, &item.envelope.0, item.tree())
                    .map_err(|e| format!("rekey: {e}"))?;
                seqs.push(item.seq);
            }
            m.ds.ack(seqs).await.map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

struct Latency {
    sent: u64,
    samples: Vec<f64>,
}

async fn latency(
    members: &Members,
    run: Duration,
    rate: u64,
    payload: &str,
) -> Result<Latency, String> {
    let sent_at: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let samples: Arc<Mutex<Vec<f64>>> = Arc::default();
    let sent = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + run;
    let per_device = (rate as f64 / members.len() as f64).max(0.01);
    let interval = Duration::from_secs_f64(1.0 / per_device);
    let mut senders = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let (m, sent_at, sent, payload) =
            (m.clone(), sent_at.clone(), sent.clone(), payload.to_owned());
        // Spread the senders' ticks over one interval.
        let offset = interval.mul_f64(i as f64 / members.len() as f64);
        senders.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if Instant::now() >= deadline {
                    return Ok::<(), String>(());
                }
                let submitted = Instant::now();
                let outbound = {
                    let mut device = lock(&m);
                    device
                        .send_text(&m.conversation, &payload)
                        .map_err(|e| e.to_string())?
                        .outbound
                };
                sent_at
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(outbound.message_id.clone(), submitted);
                m.ds.message(&outbound.envelope)
                    .await
                    .map_err(|e| e.to_string())?;
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut receivers = Vec::new();
    for m in members {
        let (m, sent_at, samples) = (m.clone(), sent_at.clone(), samples.clone());
        receivers.push(tokio::spawn(async move {
            let mut cursor = 0;
            loop {
                let page =
                    m.ds.next_page(cursor, 500, 1)
                        .await
                        .map_err(|e| e.to_string())?;
                if page.items.is_empty() && Instant::now() > deadline + Duration::from_secs(1) {
                    return Ok::<(), String>(());
                }
                for item in page.items {
                    cursor = item.seq;
                    let received =
                        lock(&m).receive_with_tree(&item.message_id, &item.envelope.0, item.tree());
                    if let Ok(Received::Message(msg)) = received {
                        let done = Instant::now();
                        if let Some(t) = sent_at
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get(&msg.message_id)
                        {
                            samples
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(done.duration_since(*t).as_secs_f64() * 1000.0);
                        }
                        let _ = lock(&m).ack(msg.delivery);
                    }
                }
            }
        }));
    }
    for s in senders {
        s.await.map_err(|e| e.to_string())??;
    }
    for r in receivers {
        r.await.map_err(|e| e.to_string())??;
    }
    let mut samples = std::mem::take(&mut *samples.lock().unwrap_or_else(|p| p.into_inner()));
    samples.sort_by(f64::total_cmp);
    Ok(Latency {
        sent: sent.load(Ordering::Relaxed),
        samples,
    })
}

/// The `p`th percentile of sorted samples (0 when empty).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
