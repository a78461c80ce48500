//! Hostile and broken submissions: each gets a 4xx with its reason (the
//! RCC.16 server token where one applies) and changes nothing — no
//! epoch moves, no inbox receives anything.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use crosslock_client::*;
use crosslock_ds::{DsError, Federation};
use crosslock_wire::api::ds::{ServerReason, SubmitCommit};
use crosslock_wire::cpim::MlsEnvelope;

struct Setup {
    p: Provider,
    ds: DsServer,
    alice: Phone,
    bob: Phone,
    eve: Phone,
    id: ConversationId,
}

async fn setup(configure: impl FnOnce(&mut crosslock_ds::DsConfig)) -> Setup {
    let p = Provider::start(ProviderSetup::default()).await;
    let ds = start_ds(&p, p.trust(), Federation::none(), configure).await;
    let mut alice = Phone::enroll(&p, &ds, "+15550100001", DeviceProfile::Android, p.trust()).await;
    let mut bob = Phone::enroll(&p, &ds, "+15550100002", DeviceProfile::Ios, p.trust()).await;
    let eve = Phone::enroll(&p, &ds, "+15550100666", DeviceProfile::Android, p.trust()).await;
    let pending = alice
        .device
        .create_conversation(
            NewConversation::OneToOne,
            &[alice.claim(&p, "+15550100002").await],
        )
        .unwrap();
    let id = pending.conversation.clone();
    alice.submit(&pending).await.unwrap();
    bob.sync().await;
    Setup {
        p,
        ds,
        alice,
        bob,
        eve,
        id,
    }
}

impl Setup {
    /// The conversation's epoch at the hub and what waits in inboxes.
    async fn snapshot(&self) -> (u64, usize, usize) {
        let epoch = match self.ds.ds.store().conversation(self.id.as_bytes()).unwrap() {
            Some(crosslock_ds::store::Hosting::Hub(c)) => c.epoch,
            other => panic!("{other:?}"),
        };
        let a = self.alice.ds.inbox(0, 500, 0).await.unwrap().items.len();
        let b = self.bob.ds.inbox(0, 500, 0).await.unwrap().items.len();
        (epoch, a, b)
    }
}

fn refused(result: Result<impl std::fmt::Debug, DsError>, reason: ServerReason) {
    match result {
        Err(DsError::Refused { reason: r, .. }) if r == reason => {}
        other => panic!("expected {reason}, got {other:?}"),
    }
}

/// (path, bearer token, body, expected status, expected reason).
type Case = (&'static str, Option<String>, Vec<u8>, u16, &'static str);

fn rewrap(envelope: &[u8], change: impl FnOnce(&mut MlsEnvelope)) -> Vec<u8> {
    let mut e = MlsEnvelope::decode(envelope).unwrap();
    change(&mut e);
    e.encode()
}

fn commit_request(pending: &PendingCommit) -> SubmitCommit {
    SubmitCommit {
        commit: pending.commit.envelope.clone().into(),
        welcome: pending.welcome.as_ref().map(|w| w.envelope.clone().into()),
        group_info: pending.group_info.clone().into(),
        ratchet_tree: Some(pending.ratchet_tree.clone().into()),
        external: false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_and_unauthenticated_requests() {
    let s = setup(|_| {}).await;
    let before = s.snapshot().await;
    let post = |path: &'static str, token: Option<String>, body: Vec<u8>| {
        let url = format!("{}{path}", s.ds.url);
        async move {
            let mut r = http()
                .post(url)
                .header("content-type", "application/json")
                .body(body);
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap();
            (
                status,
                body["error"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    let t = Some(s.alice.token.clone());
    let cases: Vec<Case> = vec![
        (
            "/v1/ds/message",
            None,
            b"{}".to_vec(),
            401,
            "unauthenticated",
        ),
        (
            "/v1/ds/message",
            Some("nope".into()),
            b"{}".to_vec(),
            401,
            "unauthenticated",
        ),
        (
            "/v1/ds/message",
            t.clone(),
            b"not json".to_vec(),
            400,
            "malformed-request",
        ),
        (
            "/v1/ds/message",
            t.clone(),
            br#"{"envelope":"!!!"}"#.to_vec(),
            400,
            "malformed-request",
        ),
        (
            "/v1/ds/message",
            t.clone(),
            br#"{"envelope":"AAAA"}"#.to_vec(),
            400,
            "unparsable-commit",
        ),
        (
            "/v1/ds/commit",
            t.clone(),
            br#"{"commit":"AAAA","group_info":""}"#.to_vec(),
            400,
            "unparsable-commit",
        ),
        (
            "/v1/ds/inbox/ack",
            t.clone(),
            br#"{"seqs":"x"}"#.to_vec(),
            400,
            "malformed-request",
        ),
        (
            "/v1/ds/push",
            t.clone(),
            br#"{"token":""}"#.to_vec(),
            400,
            "malformed-request",
        ),
        (
            "/v1/ds/catch-up",
            t.clone(),
            br#"{"group_id":"AAAA","from_epoch":0}"#.to_vec(),
            404,
            "unknown-conversation",
        ),
    ];
    // Positions beyond what SQLite stores are "nothing there", not errors.
    let huge = s.alice.ds.inbox(u64::MAX, 10, 0).await.unwrap();
    assert!(huge.items.is_empty());
    s.alice.ds.ack(vec![u64::MAX, 0]).await.unwrap();
    let up = s
        .alice
        .ds
        .catch_up(s.id.as_bytes(), u64::MAX)
        .await
        .unwrap();
    assert!(up.commits.is_empty());
    for (path, token, body, status, reason) in cases {
        assert_eq!(
            post(path, token, body.clone()).await,
            (status, reason.to_owned()),
            "{path} {}",
            String::from_utf8_lossy(&body)
        );
    }
    assert_eq!(s.snapshot().await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_from_non_members_for_unknown_conversations_and_of_wrong_era_epoch_or_authenticator()
 {
    let mut s = setup(|_| {}).await;
    let sent = s.alice.device.send_text(&s.id, "pinned").unwrap();
    s.alice.ds.message(&sent.outbound.envelope).await.unwrap();
    s.bob.sync().await;
    let before = s.snapshot().await;
    let fresh = s.alice.device.send_text(&s.id, "never delivered").unwrap();
    let envelope = fresh.outbound.envelope.clone();

    // Eve, not a member, replays Alice's envelope under her own token.
    assert!(matches!(
        s.eve.ds.message(&envelope).await,
        Err(DsError::NotAMember)
    ));
    // Wrong era.
    let era = rewrap(&envelope, |e| e.era += 1);
    refused(s.alice.ds.message(&era).await, ServerReason::IncorrectEra);
    // Another epoch authenticator than the one this epoch's messages carry.
    let auth = rewrap(&envelope, |e| e.epoch_authenticator[0] ^= 1);
    refused(
        s.alice.ds.message(&auth).await,
        ServerReason::IncorrectEpochAuthenticator,
    );
    // A commit sent as a message, a message as a commit.
    let commit = s.alice.device.update_keys(&s.id).unwrap();
    assert!(matches!(
        s.alice.ds.message(&commit.commit.envelope).await,
        Err(DsError::Malformed(_))
    ));
    let mut as_commit = commit_request(&commit);
    as_commit.commit = envelope.clone().into();
    refused(
        s.alice.ds.commit(&as_commit).await,
        ServerReason::InvalidCommit,
    );
    s.alice.device.commit_rejected(&commit).unwrap();
    // Too large.
    let big = rewrap(&envelope, |e| {
        e.body.extend(std::iter::repeat_n(0, 300 * 1024))
    });
    assert!(matches!(
        s.alice.ds.message(&big).await,
        Err(DsError::TooLarge)
    ));
    // Unknown conversation: Eve's own group, never submitted.
    let eve_group = s
        .eve
        .device
        .create_conversation(
            NewConversation::Group {
                group_id: b"eve-group".to_vec(),
            },
            &[s.eve.claim(&s.p, "+15550100002").await],
        )
        .unwrap();
    // Eve applies her creation commit without the DS, then talks in it.
    s.eve.device.commit_accepted(&eve_group).unwrap();
    let eve_text = s
        .eve
        .device
        .send_text(&eve_group.conversation, "hi")
        .unwrap();
    assert!(matches!(
        s.eve.ds.message(&eve_text.outbound.envelope).await,
        Err(DsError::UnknownConversation)
    ));
    let eve_commit = s.eve.device.update_keys(&eve_group.conversation).unwrap();
    assert!(matches!(
        s.eve.ds.commit(&commit_request(&eve_commit)).await,
        Err(DsError::UnknownConversation)
    ));
    assert_eq!(s.snapshot().await, before, "nothing was stored");

    // The genuine message still goes through, exactly once even if resent.
    assert!(!s.alice.ds.message(&envelope).await.unwrap().duplicate);
    assert!(s.alice.ds.message(&envelope).await.unwrap().duplicate);
    assert_eq!(texts(&s.bob.sync().await), ["never delivered"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn commits_of_a_stale_epoch_with_a_wrong_group_info_or_ignoring_a_proposal() {
    let mut s = setup(|_| {}).await;
    let before = s.snapshot().await;

    // A GroupInfo that does not describe the commit's outcome.
    let one = s.alice.device.update_keys(&s.id).unwrap();
    s.alice.device.commit_rejected(&one).unwrap();
    let two = s.alice.device.update_keys(&s.id).unwrap();
    let mut mixed = commit_request(&two);
    mixed.group_info = one.group_info.clone().into();
    refused(
        s.alice.ds.commit(&mixed).await,
        ServerReason::MismatchedRcsGroupState,
    );
    // A damaged GroupInfo.
    let mut damaged = commit_request(&two);
    let n = damaged.group_info.0.len();
    damaged.group_info.0[n - 10] ^= 0x55;
    let result = s.alice.ds.commit(&damaged).await;
    assert!(matches!(result, Err(DsError::Refused { .. })), "{result:?}");
    // Bob cannot submit Alice's commit as his own.
    refused(
        s.bob.ds.commit(&commit_request(&two)).await,
        ServerReason::InvalidCommit,
    );
    assert_eq!(s.snapshot().await, before, "nothing was stored");

    // The genuine commit wins; resubmitting it is acknowledged, not
    // fanned out again; a stale one for the same epoch is refused.
    assert_eq!(s.alice.submit(&two).await.unwrap().epoch, 2);
    let again = s.alice.ds.commit(&commit_request(&two)).await.unwrap();
    assert!(again.duplicate);
    let bob_stale = s.bob.device.update_keys(&s.id).unwrap();
    refused(
        s.bob.ds.commit(&commit_request(&bob_stale)).await,
        ServerReason::IncorrectEpoch,
    );
    s.bob.device.commit_rejected(&bob_stale).unwrap();
    let seen = s.bob.sync().await;
    assert_eq!(seen.len(), 1, "the commit arrived once: {seen:?}");

    // Bob leaves (a proposal); a commit that ignores it is refused.
    let leave = s.bob.device.leave(&s.id).unwrap();
    s.bob.ds.message(&leave.envelope).await.unwrap();
    let ignoring = s.alice.device.update_keys(&s.id).unwrap();
    refused(
        s.alice.submit(&ignoring).await,
        ServerReason::PendingProposal,
    );
    // After receiving the proposal, Alice's commit includes it and wins.
    s.alice.sync().await;
    let commit = s.alice.device.commit_pending_proposals(&s.id).unwrap();
    s.alice.submit(&commit).await.unwrap();
    let members = s.alice.device.security_state(&s.id).unwrap().members;
    assert_eq!(members.len(), 1, "Bob is gone: {members:?}");
}

/// DS-RETRY-1..2: a device whose answer was lost submits the same commit
/// again. Byte for byte, it is acknowledged again (`duplicate`) and
/// fanned out no more, a creation as well as a later commit; the
/// attacker's variants are not the winner: the winning message id with
/// other bytes, and another member's creation under the taken group id.
#[tokio::test(flavor = "multi_thread")]
async fn a_commit_submitted_again_byte_for_byte_is_acknowledged_and_nothing_else_is() {
    let mut s = setup(|_| {}).await;
    let bob_inbox = |s: &Setup| {
        let ds = s.bob.ds.clone();
        async move { ds.inbox(0, 500, 0).await.unwrap().items.len() }
    };

    // A creation (epoch 0) again: acknowledged, its Welcome not queued twice.
    let bob_keys = s.alice.claim(&s.p, "+15550100002").await;
    let group = s
        .alice
        .device
        .create_conversation(
            NewConversation::Group {
                group_id: b"retried".to_vec(),
            },
            &[bob_keys],
        )
        .unwrap();
    assert!(!s.alice.submit(&group).await.unwrap().duplicate);
    let queued = bob_inbox(&s).await;
    let again = s.alice.ds.commit(&commit_request(&group)).await.unwrap();
    assert!(again.duplicate, "{again:?}");
    assert_eq!(again.epoch, 1);
    assert_eq!(bob_inbox(&s).await, queued, "the Welcome was queued again");
    // Bob (a member now) cannot pass the creation off as his.
    refused(
        s.bob.ds.commit(&commit_request(&group)).await,
        ServerReason::InvalidCommit,
    );
    // Nor create his own group under the id taken in this era.
    let alice_keys = s.bob.claim(&s.p, "+15550100001").await;
    let squat = s
        .bob
        .device
        .create_conversation(
            NewConversation::Group {
                group_id: group.conversation.as_bytes().to_vec(),
            },
            &[alice_keys],
        )
        .unwrap();
    assert_eq!(squat.conversation, group.conversation);
    let result = s.bob.ds.commit(&commit_request(&squat)).await;
    assert!(
        matches!(result, Err(DsError::ConversationExists)),
        "{result:?}"
    );

    // A later commit again, after the epoch moved on: acknowledged once.
    let update = s.alice.device.update_keys(&s.id).unwrap();
    let epoch = s.alice.submit(&update).await.unwrap().epoch;
    let queued = bob_inbox(&s).await;
    let again = s.alice.ds.commit(&commit_request(&update)).await.unwrap();
    assert_eq!((again.epoch, again.duplicate), (epoch, true));
    assert_eq!(
        bob_inbox(&s).await,
        queued,
        "the commit was fanned out again"
    );
    // The winner's message id and MLS body under another header is not
    // the winner.
    let mut other = commit_request(&update);
    other.commit = rewrap(&update.commit.envelope, |e| e.epoch_authenticator[0] ^= 1).into();
    refused(
        s.alice.ds.commit(&other).await,
        ServerReason::IncorrectEpoch,
    );
    assert_eq!(bob_inbox(&s).await, queued);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_is_rate_limited_per_device() {
    let mut s = setup(|c| {
        c.device_rate = crosslock_ds::RateLimit {
            burst: 5.0,
            per_second: 0.01,
        }
    })
    .await;
    let mut limited = false;
    for i in 0..20 {
        let sent = s
            .alice
            .device
            .send_text(&s.id, &format!("flood {i}"))
            .unwrap();
        match s.alice.ds.message(&sent.outbound.envelope).await {
            Ok(_) => {}
            Err(DsError::RateLimited { .. }) => {
                limited = true;
                break;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(limited);
    // Bob is not affected by Alice's flood.
    let sent = s.bob.device.send_text(&s.id, "calm").unwrap();
    s.bob.ds.message(&sent.outbound.envelope).await.unwrap();
}

/// DS-RETRY-2 before the lifetime checks: a creator whose answer was lost
/// and who comes back 15 days later (the KeyPackages it added have
/// expired by then) hears "duplicate", not a refusal it would take for a
/// verdict and drop a group that exists for everyone else. Another member
/// still cannot pass the creation off as theirs.
#[tokio::test(flavor = "multi_thread")]
async fn a_creation_submitted_again_fifteen_days_later_is_a_duplicate() {
    use crosslock_profile::env::{Clock, Environment, ManualClock, OsEntropy, SystemClock};
    let p = Provider::start(ProviderSetup::default()).await;
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let environment = Environment {
        clock: clock.clone(),
        entropy: Arc::new(OsEntropy),
    };
    let ds = start_ds_with_env(&p, p.trust(), Federation::none(), |_| {}, environment).await;
    let mut alice = Phone::enroll(&p, &ds, "+15550100001", DeviceProfile::Android, p.trust()).await;
    let bob = Phone::enroll(&p, &ds, "+15550100002", DeviceProfile::Ios, p.trust()).await;
    let group = alice
        .device
        .create_conversation(
            NewConversation::Group {
                group_id: b"offline".to_vec(),
            },
            &[alice.claim(&p, "+15550100002").await],
        )
        .unwrap();
    // Accepted; the answer is "lost" (Alice never learns it).
    assert!(
        !alice
            .ds
            .commit(&commit_request(&group))
            .await
            .unwrap()
            .duplicate
    );
    let queued = bob.ds.inbox(0, 500, 0).await.unwrap().items.len();
    clock.advance(15 * 86_400);
    let again = alice.ds.commit(&commit_request(&group)).await.unwrap();
    assert_eq!((again.epoch, again.duplicate), (1, true), "{again:?}");
    assert_eq!(bob.ds.inbox(0, 500, 0).await.unwrap().items.len(), queued);
    refused(
        bob.ds.commit(&commit_request(&group)).await,
        ServerReason::InvalidCommit,
    );
}

/// DS-RETRY-1 after the membership check: a non-member who holds the
/// bytes of a commit the conversation accepted (seen on the wire, or
/// forwarded) learns nothing from submitting them: the same `NotAMember`
/// as for bytes the conversation never accepted.
#[tokio::test(flavor = "multi_thread")]
async fn a_non_member_resubmitting_a_members_commit_learns_nothing() {
    let mut s = setup(|_| {}).await;
    let update = s.alice.device.update_keys(&s.id).unwrap();
    s.alice.submit(&update).await.unwrap();
    let before = s.snapshot().await;
    let accepted = s.eve.ds.commit(&commit_request(&update)).await;
    assert!(matches!(accepted, Err(DsError::NotAMember)), "{accepted:?}");
    let mut other = commit_request(&update);
    other.commit = rewrap(&update.commit.envelope, |e| e.epoch_authenticator[0] ^= 1).into();
    let never = s.eve.ds.commit(&other).await;
    assert!(matches!(never, Err(DsError::NotAMember)), "{never:?}");
    assert_eq!(s.snapshot().await, before);
    // The member who sent it still hears "duplicate".
    let again = s.alice.ds.commit(&commit_request(&update)).await.unwrap();
    assert!(again.duplicate);
}
