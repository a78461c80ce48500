//! The RCC.16 recovery ladder, client core and delivery service together:
//! catch up; rejoin by external commit (rate-limited by the DS); a signed
//! negative delivery IMDN and a resend linked to the original; a new era.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use crosslock_client::credential::PhoneNumber;
use crosslock_client::env::Environment;
use crosslock_client::keystore::SoftwareKeyStore;
use crosslock_client::store::{MemoryStore, StateStore, Table, Write, WriteBatch};
use crosslock_client::*;
use crosslock_ds::{DsError, Federation};
use crosslock_wire::api::ds::{ServerReason, SubmitCommit, SubmitReport};

/// A phone whose store the test can tamper with.
async fn phone_with_store(p: &Provider, ds: &DsServer, number: &str) -> (Phone, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    let dyn_store: Arc<dyn StateStore> = store.clone();
    let keystore = Arc::new(SoftwareKeyStore::new(dyn_store.clone()));
    let mut device = Device::create(
        dyn_store,
        keystore,
        NewDevice {
            number: PhoneNumber::parse(number).unwrap(),
            profile: DeviceProfile::Android,
        },
        DeviceConfig::new(p.trust()),
        Environment::system(),
    )
    .unwrap();
    let token = p.enroll(&mut device, false).await;
    p.publish(&mut device, &token, 3).await;
    let client = DsClient::new(http(), ds.url.clone(), token.clone());
    (
        Phone {
            device,
            token,
            ds: client,
        },
        store,
    )
}

/// Loses the conversation's group state, as a corrupted row dropped would.
fn lose_group_state(
    phone: &mut Phone,
    store: &Arc<MemoryStore>,
    p: &Provider,
    id: &ConversationId,
) {
    store
        .commit(WriteBatch(vec![Write::Delete(
            Table::GroupState,
            id.as_bytes().to_vec(),
        )]))
        .unwrap();
    let dyn_store: Arc<dyn StateStore> = store.clone();
    let keystore = Arc::new(SoftwareKeyStore::new(dyn_store.clone()));
    phone.device = Device::open(
        dyn_store,
        keystore,
        DeviceConfig::new(p.trust()),
        Environment::system(),
    )
    .unwrap();
}

/// Submits an external commit (a rejoin) and applies the verdict.
async fn submit_rejoin(phone: &mut Phone, pending: &PendingCommit) -> Result<u64, DsError> {
    let request = SubmitCommit {
        commit: pending.commit.envelope.clone().into(),
        welcome: None,
        group_info: pending.group_info.clone().into(),
        ratchet_tree: Some(pending.ratchet_tree.clone().into()),
        external: pending.external,
    };
    match phone.ds.commit(&request).await {
        Ok(a) => {
            phone.device.commit_accepted(pending).unwrap();
            Ok(a.epoch)
        }
        Err(e) => {
            phone.device.commit_rejected(pending).unwrap();
            Err(e)
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_recovery_ladder_end_to_end() {
    let p = Provider::start(ProviderSetup::default()).await;
    let ds = start_ds(&p, p.trust(), Federation::none(), |c| {
        c.external_commits_per_day = 3
    })
    .await;
    let mut alice = Phone::enroll(&p, &ds, "+15550100001", DeviceProfile::Android, p.trust()).await;
    let mut bob = Phone::enroll(&p, &ds, "+15550100002", DeviceProfile::Ios, p.trust()).await;
    let (mut carol, carol_store) = phone_with_store(&p, &ds, "+15550100003").await;
    let participants = [
        alice.claim(&p, "+15550100002").await,
        alice.claim(&p, "+15550100003").await,
    ];
    let pending = alice
        .device
        .create_conversation(
            NewConversation::Group {
                group_id: b"ladder".to_vec(),
            },
            &participants,
        )
        .unwrap();
    let id = pending.conversation.clone();
    alice.submit(&pending).await.unwrap();
    bob.sync().await;
    carol.sync().await;

    // 1. Catch-up: Carol lost the commits of two key updates; the DS has them.
    for _ in 0..2 {
        let c = alice.device.update_keys(&id).unwrap();
        alice.submit(&c).await.unwrap();
    }
    bob.sync().await;
    let lost = carol.ds.inbox(0, 10, 0).await.unwrap();
    carol
        .ds
        .ack(lost.items.iter().map(|i| i.seq).collect())
        .await
        .unwrap();
    let up = carol.ds.catch_up(id.as_bytes(), 1).await.unwrap();
    for c in &up.commits {
        carol.device.receive(&c.message_id, &c.envelope.0).unwrap();
    }
    alice.text(&id, "after catch-up").await;
    assert_eq!(texts(&carol.sync().await), ["after catch-up"]);
    bob.sync().await;

    // 2. Carol's state is gone: catching up cannot help; a message for her
    //    fails with failure reason 4.
    lose_group_state(&mut carol, &carol_store, &p, &id);
    let lost_message = alice.text(&id, "you will miss this").await;
    bob.sync().await;
    let failed = carol.sync().await;
    let err = failed[0].as_ref().unwrap_err();
    assert!(matches!(err, ClientError::RejoinRequired), "{err:?}");
    let reason = err.rcc16_failure_reason().unwrap();
    // Without a group state she cannot sign (the rcs_signature is an MLS
    // PublicMessage of her current epoch).
    assert!(matches!(
        carol
            .device
            .negative_report(&id, &lost_message.outbound.message_id, reason),
        Err(ClientError::RejoinRequired)
    ));

    // 3. Carol rejoins by external commit from the GroupInfo the DS keeps,
    //    then reports the lost message with a signed negative delivery
    //    IMDN, relayed by the DS as plain CPIM.
    // MLS-GI-1 / DS-TREE-1: the GroupInfo comes without the ratchet_tree
    // extension and the tree of its epoch beside it.
    let latest = carol.ds.catch_up(id.as_bytes(), u64::MAX).await.unwrap();
    assert!(latest.tree().is_some());
    assert!(
        carol
            .device
            .rejoin(&id, &latest.group_info.0, None)
            .is_err()
    );
    let rejoin = carol
        .device
        .rejoin(&id, &latest.group_info.0, latest.tree())
        .unwrap();
    assert!(rejoin.external);
    let epoch = submit_rejoin(&mut carol, &rejoin).await.unwrap();
    assert_eq!(epoch, 4);
    let report = carol
        .device
        .negative_report(&id, &lost_message.outbound.message_id, reason)
        .unwrap();
    assert_eq!(report.content_type, "message/imdn+xml");
    let submit_report = SubmitReport {
        group_id: id.as_bytes().to_vec().into(),
        message_id: report.message_id.clone(),
        envelope: report.envelope.clone().into(),
    };
    carol.ds.report(&submit_report).await.unwrap();
    // The DS relays reports only from members.
    let eve = Phone::enroll(&p, &ds, "+15550100666", DeviceProfile::Android, p.trust()).await;
    assert!(matches!(
        eve.ds.report(&submit_report).await,
        Err(DsError::NotAMember)
    ));

    // 4. Alice receives the report and the rejoin, and resends the lost
    //    message as a new message linked to the original.
    let got = alice.sync().await;
    let reported = got.iter().find_map(|r| match r {
        Ok(Received::NegativeReport {
            failed_message_id, ..
        }) => Some(failed_message_id.clone()),
        _ => None,
    });
    assert_eq!(
        reported.as_deref(),
        Some(lost_message.outbound.message_id.as_str())
    );
    assert!(
        got.iter()
            .any(|r| matches!(r, Ok(Received::Commit(c)) if c.rejoined.is_some()))
    );
    let resent = alice
        .device
        .resend_after_report(&id, &lost_message.outbound.message_id)
        .unwrap();
    alice.ds.message(&resent.outbound.envelope).await.unwrap();
    let at_carol = carol.sync().await;
    match &at_carol[..] {
        [Ok(Received::Message(m))] => {
            assert_eq!(
                m.resend_of.as_deref(),
                Some(lost_message.outbound.message_id.as_str())
            );
        }
        other => panic!("{other:?}"),
    }
    // Bob, who had the original, is not shown it twice.
    let at_bob = bob.sync().await;
    assert!(texts(&at_bob).is_empty(), "{at_bob:?}");
    let states: Vec<_> = [&mut alice, &mut bob, &mut carol]
        .into_iter()
        .map(|ph| ph.device.security_state(&id).unwrap().epoch_authenticator)
        .collect();
    assert!(states.windows(2).all(|w| w[0] == w[1]));

    // The DS allows 3 external commits per conversation per day here: a
    // fourth is refused and changes nothing.
    for _ in 0..2 {
        let info = carol.ds.catch_up(id.as_bytes(), u64::MAX).await.unwrap();
        let again = carol
            .device
            .rejoin(&id, &info.group_info.0, info.tree())
            .unwrap();
        submit_rejoin(&mut carol, &again).await.unwrap();
        alice.sync().await;
        bob.sync().await;
    }
    let info = carol.ds.catch_up(id.as_bytes(), u64::MAX).await.unwrap();
    let fourth = carol
        .device
        .rejoin(&id, &info.group_info.0, info.tree())
        .unwrap();
    assert!(matches!(
        submit_rejoin(&mut carol, &fourth).await,
        Err(DsError::ExternalCommitLimit { .. })
    ));
    assert_eq!(
        carol
            .ds
            .catch_up(id.as_bytes(), u64::MAX)
            .await
            .unwrap()
            .epoch,
        info.epoch
    );
    alice.text(&id, "still fine").await;
    assert_eq!(texts(&carol.sync().await), ["still fine"]);
    bob.sync().await;

    // 5. Last step: a new era, the same group id, everyone Welcomed again.
    let old_era_message = bob.device.send_text(&id, "old era").unwrap();
    let participants = [
        alice.claim(&p, "+15550100002").await,
        alice.claim(&p, "+15550100003").await,
    ];
    let era = alice.device.new_era(&id, &participants).unwrap();
    let accepted = alice.submit(&era).await.unwrap();
    assert_eq!(accepted.epoch, 1);
    for phone in [&mut bob, &mut carol] {
        let joined = phone.sync().await;
        assert!(
            matches!(
                joined.as_slice(),
                [Ok(Received::Joined {
                    replaced_era: Some(1),
                    ..
                })]
            ),
            "{joined:?}"
        );
    }
    match bob.ds.message(&old_era_message.outbound.envelope).await {
        Err(DsError::Refused {
            reason: ServerReason::IncorrectEra,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    carol.text(&id, "era 2").await;
    assert_eq!(texts(&alice.sync().await), ["era 2"]);
    assert_eq!(texts(&bob.sync().await), ["era 2"]);
}
