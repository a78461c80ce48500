//! KeyPackages made to what the KDS says it holds, a refused batch's
//! secrets, and KeyPackage secrets deleted by the time the caller trusts
//! (the SDK's KP-STOCK-1, KP-UP-1, KP-DEL-1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use crosslock_client::suite::Suite;
use crosslock_client::*;

const BOB: &str = "+15551230002";

fn count(batch: &[(Suite, Vec<u8>)], suite: Suite) -> usize {
    batch.iter().filter(|(s, _)| *s == suite).count()
}

fn published(available: usize, last_resort: &[Suite], suites: &[Suite]) -> PublishedStock {
    PublishedStock {
        available: suites.iter().map(|&s| (s, available)).collect(),
        last_resort: last_resort.to_vec(),
    }
}

#[test]
fn what_is_missing_follows_the_kds_count() {
    let net = Net::new();
    let mut bob = net.phone(BOB, DeviceProfile::Ios);
    let suites = bob.suites().to_vec();

    // Nothing at the KDS: the target, and a last-resort one per suite.
    let order = bob.key_packages_missing(&PublishedStock::default(), false);
    assert!(suites.iter().all(|s| order.single_use[s] == 100));
    assert_eq!(order.last_resort, suites);

    // Below the threshold (10): back up to 100; last resort held, not due.
    let order = bob.key_packages_missing(&published(9, &suites, &suites), false);
    assert!(suites.iter().all(|s| order.single_use[s] == 91));
    assert!(order.last_resort.is_empty());
    // The rotation replaces every suite's last-resort KeyPackage.
    let order = bob.key_packages_missing(&published(9, &suites, &suites), true);
    assert_eq!(order.last_resort, suites);

    // At the threshold: nothing, unless a suite lacks its last resort.
    let full = bob.key_packages_missing(&published(10, &suites, &suites), false);
    assert!(full.is_empty(), "{full:?}");
    let lacking = bob.key_packages_missing(&published(10, &suites[1..], &suites), false);
    assert!(lacking.single_use.is_empty());
    assert_eq!(lacking.last_resort, suites);

    // Made exactly as ordered, secrets kept.
    let order = KeyPackageOrder {
        single_use: [(suites[0], 3)].into(),
        last_resort: vec![suites[1]],
    };
    let batch = bob.generate_key_package_order(&order).unwrap();
    assert_eq!(count(&batch.key_packages, suites[0]), 3);
    assert_eq!(batch.key_packages.len(), 3);
    assert_eq!(batch.last_resort.len(), 1);
    assert_eq!(batch.last_resort[0].0, suites[1]);
    let held = bob.key_package_stock().unwrap();
    assert_eq!(held.available[&suites[0]], 3);
    assert_eq!(held.last_resort, vec![suites[1]]);
}

#[test]
fn a_refused_batch_loses_its_secrets_and_nothing_else() {
    let net = Net::new();
    let mut bob = net.phone(BOB, DeviceProfile::Ios);
    let kept = bob.generate_key_packages(2).unwrap();
    let refused = bob.generate_key_packages(3).unwrap();
    assert!(
        refused.last_resort.is_empty(),
        "one per suite is held already"
    );
    let n = bob.suites().len();
    assert_eq!(bob.discard_key_packages(&refused).unwrap(), 3 * n);
    let held = bob.key_package_stock().unwrap();
    assert!(held.available.values().all(|&c| c == 2), "{held:?}");
    assert_eq!(held.last_resort.len(), n);
    // Again: nothing left of it.
    assert_eq!(bob.discard_key_packages(&refused).unwrap(), 0);
    assert_eq!(bob.discard_key_packages(&kept).unwrap(), 3 * n);
}

/// Bob's device runs maintenance with its clock 15 days ahead. Judged by
/// the time the caller trusts (the provider's, `T0`), his KeyPackages
/// have not expired: a Welcome to one opens once the clock is right.
/// Judged by the device's own clock, their secrets are gone.
#[test]
fn key_package_secrets_go_by_the_time_the_caller_trusts() {
    for trusted in [true, false] {
        let net = Net::new();
        let mut alice = net.phone("+15551230001", DeviceProfile::Android);
        let mut bob = net.phone(BOB, DeviceProfile::Ios);
        let kps = claim(BOB, &mut [&mut bob]);

        net.clock.advance(15 * 86_400);
        if trusted {
            bob.maintenance_with_key_package_time(T0).unwrap();
        } else {
            bob.maintenance().unwrap();
        }
        net.clock.set(T0);

        let pending = alice
            .create_conversation(
                NewConversation::Group {
                    group_id: b"g".to_vec(),
                },
                &[kps],
            )
            .unwrap();
        alice.commit_accepted(&pending).unwrap();
        let w = pending.welcome.unwrap();
        let got = bob.receive_with_tree(&w.message_id, &w.envelope, Some(&pending.ratchet_tree));
        if trusted {
            assert!(matches!(got.unwrap(), Received::Joined { .. }));
        } else {
            assert!(matches!(got, Err(ClientError::WelcomeNotForUs)), "{got:?}");
        }
    }
}
