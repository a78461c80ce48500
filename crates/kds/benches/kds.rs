//! KDS throughput through its HTTP API on loopback: enrollments (carrier
//! proof, Android attestation, two credentials issued, stored with
//! `synchronous=FULL`) and KeyPackage claims (single-use, atomic), with 8
//! concurrent clients. Client-side work (keys, CSRs, attestation chains,
//! nonces) is prepared outside the timed part.
//!
//! Run: `cargo bench -p crosslock-kds` (`-- --quick` for a short run).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crosslock_client::DeviceProfile;
use crosslock_wire::api::kds::EnrollRequest;

const CONCURRENCY: usize = 8;

async fn run_concurrently<T: Send + 'static>(
    jobs: Vec<T>,
    work: impl Fn(T) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    + Send
    + Sync
    + 'static,
) -> Duration {
    let work = Arc::new(work);
    let queue = Arc::new(tokio::sync::Mutex::new(jobs));
    // Benchmark: measures elapsed wall time.
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let queue = queue.clone();
        let work = work.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let job = queue.lock().await.pop();
                match job {
                    Some(job) => work(job).await,
                    None => break,
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let root = Arc::new(android::AttestationRoot::new());
    let roots = crosslock_attest::AndroidRoots::from_roots_json(&root.roots_json()).unwrap();
    let provider = Arc::new(rt.block_on(Provider::start(ProviderSetup {
        attestation: crosslock_kds::AttestationRequirement::Required(
            crosslock_attest::AttestationPolicy::Strict,
        ),
        configure: Box::new(move |c| {
            c.android_roots = roots;
            c.claim_rate.burst = u32::MAX;
        }),
        ..ProviderSetup::default()
    })));

    let mut group = c.benchmark_group("kds");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    let mut counter = 0u64;
    group.bench_function("enroll_with_attestation", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut requests: Vec<EnrollRequest> = Vec::new();
                for _ in 0..iters {
                    counter += 1;
                    let device = phone(
                        &format!("+1555{:07}", counter % 10_000_000),
                        DeviceProfile::Android,
                        provider.trust(),
                    );
                    requests.push(provider.enroll_request_attested(&device, &root).await);
                }
                let p = provider.clone();
                run_concurrently(requests, move |request| {
                    let p = p.clone();
                    Box::pin(async move {
                        let (status, body) = p.post("/v1/enrollment", None, &request).await;
                        assert_eq!(status, 200, "{body}");
                    })
                })
                .await
            })
        })
    });

    // One target with KeyPackages; each claimer its own device token.
    let (target_token, claimers) = rt.block_on(async {
        let mut target = phone("+15559990000", DeviceProfile::Ios, provider.trust());
        let request = provider.enroll_request_attested(&target, &root).await;
        let token = provider.complete_enrollment(&mut target, request).await;
        provider.publish(&mut target, &token, 100).await;
        let mut claimers = Vec::new();
        for i in 0..CONCURRENCY {
            let mut d = phone(
                &format!("+1555999{i:04}"),
                DeviceProfile::Android,
                provider.trust(),
            );
            let request = provider.enroll_request_attested(&d, &root).await;
            claimers.push(provider.complete_enrollment(&mut d, request).await);
        }
        (token, claimers)
    });
    let _ = target_token;
    let claimers = Arc::new(claimers);
    group.bench_function("claim", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let jobs: Vec<usize> = (0..iters as usize).collect();
                let p = provider.clone();
                let claimers = claimers.clone();
                run_concurrently(jobs, move |i| {
                    let p = p.clone();
                    let token = claimers[i % claimers.len()].clone();
                    Box::pin(async move {
                        let (status, body) = p.claim(&token, "+15559990000").await;
                        assert_eq!(status, 200, "{body}");
                    })
                })
                .await
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
