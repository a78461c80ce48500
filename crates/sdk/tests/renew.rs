//! Credential renewal against a real provider in-process. The provider
//! and the phones share one clock that the test moves by days: renewal is
//! about credentials the provider issued growing old, so the provider
//! must live through the same days as the phones (GUIDE §3.2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{World, shared_env as env};
use crosslock_client::credential::PhoneNumber;
use crosslock_client::env::Clock;
use crosslock_client::wire::api::B64;
use crosslock_client::wire::api::acs::ProofRequest;
use crosslock_client::wire::api::kds::{EnrollRequest, EnrollResponse, Stock};
use crosslock_client::{ConversationId, DeviceProfile};
use crosslock_provider::{Provider, ProviderConfig};
use crosslock_sdk::{Event, Maintained, Messenger, Options, SdkError, Setup, SubscriberTokens};

const ALICE: &str = "+15550100001";
const BOB: &str = "+15550100002";
const CAROL: &str = "+15550100003";
const DAVE: &str = "+15550100004";
/// The carrier's subscriber secrets (SIM stand-ins), one per number.
const SUBSCRIBERS: [(&str, &str); 4] = [
    (ALICE, "alice-subscriber-secret"),
    (BOB, "bob-subscriber-secret-0"),
    (CAROL, "carol-subscriber-secret"),
    (DAVE, "dave-subscriber-secret-"),
];
const DAY: u64 = 86_400;

fn subscriber(number: &str) -> &'static str {
    SUBSCRIBERS.iter().find(|(n, _)| *n == number).unwrap().1
}

/// A provider whose carrier knows its subscribers (no open enrolment:
/// a subscriber token proves one number only).
async fn provider(dir: &Path, world: &Arc<World>) -> Provider {
    provider_issuing(dir, world, 75).await
}

/// [`provider`] issuing credentials that live `days`.
async fn provider_issuing(dir: &Path, world: &Arc<World>, days: u64) -> Provider {
    let subscribers = dir.join("subscribers");
    std::fs::write(
        &subscribers,
        SUBSCRIBERS
            .iter()
            .map(|(n, t)| format!("{n} {t}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let mut config = ProviderConfig::default();
    config.provider.name = "a.example".into();
    config.provider.prefixes = vec!["+1".into()];
    config.provider.listen = ([127, 0, 0, 1], 0).into();
    config.provider.admin_listen = ([127, 0, 0, 1], 0).into();
    config.provider.federation_listen = ([127, 0, 0, 1], 0).into();
    config.transparency.epoch_interval_secs = 1;
    config.carrier.open_enrolment = false;
    config.carrier.subscribers = Some(subscribers);
    config.credential_ca.credential_lifetime_days = days;
    Provider::start(config, &dir.join("provider"), env(world))
        .await
        .unwrap()
}

/// Answers the lifecycle's requests for a subscriber token from a script,
/// counting them.
#[derive(Default)]
struct Tokens {
    answers: Mutex<Vec<Option<String>>>,
    asked: AtomicUsize,
}

impl Tokens {
    fn answer(&self, token: Option<&str>) {
        self.answers.lock().unwrap().push(token.map(str::to_owned));
    }
    fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

impl SubscriberTokens for Tokens {
    fn subscriber_token(&self, number: &PhoneNumber) -> Result<Option<String>, String> {
        assert_eq!(number.as_str(), ALICE);
        self.asked.fetch_add(1, Ordering::SeqCst);
        let mut answers = self.answers.lock().unwrap();
        if answers.is_empty() {
            return Err("no answer scripted".into());
        }
        Ok(answers.remove(0))
    }
}

fn options(world: &Arc<World>, tokens: Option<Arc<Tokens>>) -> Options {
    Options {
        env: env(world),
        subscriber_tokens: tokens.map(|t| t as Arc<dyn SubscriberTokens>),
        ..Options::default()
    }
}

async fn phone(
    dir: &Path,
    number: &str,
    profile: DeviceProfile,
    provider: &Provider,
    options: Options,
) -> Messenger {
    phone_via(
        dir,
        number,
        profile,
        common::Route::direct(provider),
        options,
    )
    .await
}

async fn phone_via(
    dir: &Path,
    number: &str,
    profile: DeviceProfile,
    route: common::Route,
    options: Options,
) -> Messenger {
    let setup = Setup {
        number: number.into(),
        profile,
        server: route.server,
        tls_ca_pem: route.tls_ca_pem,
    };
    let mut m = Messenger::create(&dir.join(number), setup, options)
        .await
        .unwrap();
    m.enroll(subscriber(number), 5, None, false).await.unwrap();
    m
}

/// Syncs until `want` matches an event (the DS fans out asynchronously).
async fn until(m: &mut Messenger, want: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut all = Vec::new();
    for _ in 0..20 {
        let events = m.sync(1).await.unwrap();
        let found = events.iter().any(&want);
        all.extend(events);
        if found {
            return all;
        }
    }
    panic!("not seen; got {all:?}");
}

/// Syncs until the peer is in the same epoch as `of` in `id`.
async fn catch_up(peer: &mut Messenger, of: &mut Messenger, id: &ConversationId) {
    let want = of.security_state(id).unwrap().epoch_authenticator;
    for _ in 0..20 {
        // (Not joined yet: the Welcome is on its way.)
        if peer
            .security_state(id)
            .is_ok_and(|s| s.epoch_authenticator == want)
        {
            return;
        }
        peer.sync(1).await.unwrap();
    }
    panic!("{} never reached the epoch", peer.number().as_str());
}

/// The device's KeyPackage stock as the KDS counts it, under `token`.
async fn kds_stock(m: &Messenger, token: &str) -> Result<Stock, u16> {
    let response = m
        .api()
        .http()
        .get(format!("{}/v1/keypackages/stock", m.api().base()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    if !response.status().is_success() {
        return Err(response.status().as_u16());
    }
    Ok(response.json().await.unwrap())
}

fn renewal_due(done: &Maintained) -> Vec<u64> {
    done.events
        .iter()
        .filter_map(|e| match e {
            Event::CredentialRenewalDue { expires_at } => Some(*expires_at),
            _ => None,
        })
        .collect()
}

fn failed(done: &Maintained, job: &str) -> Vec<String> {
    done.failed
        .iter()
        .filter(|(j, _)| *j == job)
        .map(|(_, why)| why.clone())
        .collect()
}

/// Alice, Bob and Carol, with a chat (Alice–Bob) and a group of three;
/// Dave, enrolled, in no conversation with Alice yet.
struct Three {
    alice: Messenger,
    bob: Messenger,
    carol: Messenger,
    dave: Messenger,
    chat: ConversationId,
    group: ConversationId,
}

async fn three(dir: &Path, provider: &Provider, world: &Arc<World>, alice: Options) -> Three {
    three_via(dir, provider, world, alice, common::Route::direct(provider)).await
}

/// [`three`] with Alice reaching the provider by `route`.
async fn three_via(
    dir: &Path,
    provider: &Provider,
    world: &Arc<World>,
    alice: Options,
    route: common::Route,
) -> Three {
    let mut alice = phone_via(dir, ALICE, DeviceProfile::Android, route, alice).await;
    let mut bob = phone(dir, BOB, DeviceProfile::Ios, provider, options(world, None)).await;
    let mut carol = phone(
        dir,
        CAROL,
        DeviceProfile::Android,
        provider,
        options(world, None),
    )
    .await;
    let dave = phone(
        dir,
        DAVE,
        DeviceProfile::Ios,
        provider,
        options(world, None),
    )
    .await;
    let chat = alice.open_chat(BOB).await.unwrap().conversation;
    let group = alice
        .create_group(&[BOB.to_owned(), CAROL.to_owned()])
        .await
        .unwrap()
        .conversation;
    catch_up(&mut bob, &mut alice, &chat).await;
    catch_up(&mut bob, &mut alice, &group).await;
    catch_up(&mut carol, &mut alice, &group).await;
    Three {
        alice,
        bob,
        carol,
        dave,
        chat,
        group,
    }
}

/// Alice's maintenance on day `day`: peers take in her commits (the DS
/// keeps an inbox 30 days).
async fn maintain(t: &mut Three) -> Maintained {
    let done = t.alice.maintain().await.unwrap();
    catch_up(&mut t.bob, &mut t.alice, &t.chat).await;
    catch_up(&mut t.bob, &mut t.alice, &t.group).await;
    catch_up(&mut t.carol, &mut t.alice, &t.group).await;
    done
}

/// After renewal every group carries the new credential and the peers
/// accept it: they follow her commits and read her, and she reads them.
async fn peers_accept_the_renewed_device(t: &mut Three) {
    t.alice
        .send_text(&t.group, "renewed, in the group")
        .await
        .unwrap();
    for peer in [&mut t.bob, &mut t.carol] {
        until(
            peer,
            |e| matches!(e, Event::Text { text, .. } if text == "renewed, in the group"),
        )
        .await;
    }
    t.bob.send_text(&t.chat, "I still read you").await.unwrap();
    until(
        &mut t.alice,
        |e| matches!(e, Event::Text { text, .. } if text == "I still read you"),
    )
    .await;
    // Someone new can still start a conversation with her: the KDS hands
    // out KeyPackages under the new credential, once its transparency log
    // has published it (a claim in between is refused by the claimer,
    // KT-BIND-1; docs/sdk.md "Not yet").
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let new_chat = t.dave.open_chat(ALICE).await.unwrap().conversation;
    until(
        &mut t.alice,
        |e| matches!(e, Event::Joined { conversation, .. } if *conversation == new_chat),
    )
    .await;
    t.alice.send_text(&new_chat, "hello Dave").await.unwrap();
    until(
        &mut t.dave,
        |e| matches!(e, Event::Text { text, .. } if text == "hello Dave"),
    )
    .await;
}

/// Without a source of subscriber tokens, renewal is due at 40 days left
/// (day 35), not before; the app hears of it once a day. Left alone past
/// the 30-day floor the device's KeyPackages are refused and nobody can
/// start a conversation with it; the app's renewal through
/// `renew_credentials` brings it back, and every group gets the new
/// credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_is_due_at_forty_days_left_and_the_app_renews_through_the_hook() {
    let dir = tempfile::tempdir().unwrap();
    let world = Arc::new(World::default());
    let provider = provider(dir.path(), &world).await;
    let mut t = three(dir.path(), &provider, &world, options(&world, None)).await;
    let issued = t.alice.credentials_expire_at().unwrap();
    let now = world.now();
    assert!(issued > now + 74 * DAY && issued <= now + 75 * DAY);

    // Not due on day 0, nor on day 34 (41 days left).
    assert!(renewal_due(&maintain(&mut t).await).is_empty());
    world.advance(34 * DAY).await;
    let day34 = maintain(&mut t).await;
    assert!(renewal_due(&day34).is_empty(), "{day34:?}");
    assert!(day34.failed.is_empty(), "{day34:?}");

    // Day 36: due, the app is told once, with the expiry.
    world.advance(2 * DAY).await;
    let day36 = maintain(&mut t).await;
    assert_eq!(renewal_due(&day36), vec![issued], "{day36:?}");
    assert!(day36.renewed.is_none());
    assert!(failed(&day36, "credential renewal").is_empty());
    assert!(renewal_due(&maintain(&mut t).await).is_empty());
    world.advance(3 * 3_600).await;
    assert!(renewal_due(&maintain(&mut t).await).is_empty());
    // A day later, again.
    world.advance(DAY).await;
    assert_eq!(renewal_due(&maintain(&mut t).await), vec![issued]);

    // Day 49: 26 days left. The KeyPackages made on day 34 have expired;
    // new ones are refused by the KDS (KDS-KP-2), so nobody new can start
    // a conversation with Alice.
    world.advance(12 * DAY).await;
    let day49 = maintain(&mut t).await;
    let refused = failed(&day49, "key packages");
    assert!(
        refused.iter().any(|why| why.contains("expires too soon")),
        "{day49:?}"
    );
    let old_token = t.alice.token().unwrap().to_owned();
    let stock = kds_stock(&t.alice, &old_token).await.unwrap();
    assert!(stock.available.values().all(|&n| n == 0), "{stock:?}");
    assert!(t.dave.open_chat(ALICE).await.is_err());

    // The app renews through the hook.
    let renewed = t
        .alice
        .renew_credentials(subscriber(ALICE), None)
        .await
        .unwrap();
    let now = world.now();
    assert_eq!(renewed.credentials, 2);
    assert!(renewed.expires_at > now + 74 * DAY, "{renewed:?}");
    assert_eq!(t.alice.credentials_expire_at().unwrap(), renewed.expires_at);
    assert_eq!(renewed.conversations, 2);
    assert_eq!(renewed.key_packages_failed, None);
    // A new token; the old one no longer opens anything at the KDS.
    let token = t.alice.token().unwrap().to_owned();
    assert_ne!(token, old_token);
    assert_eq!(kds_stock(&t.alice, &old_token).await.unwrap_err(), 401);
    // A full stock under the new credential, last resorts included: the
    // upload the KDS refused before is accepted now.
    let stock = kds_stock(&t.alice, &token).await.unwrap();
    let suites = t.alice.device().suites().len();
    assert_eq!(stock.available.len(), suites, "{stock:?}");
    assert!(stock.available.values().all(|&n| n == 100), "{stock:?}");
    assert_eq!(stock.last_resort.len(), suites, "{stock:?}");
    assert_eq!(renewed.key_packages, 101 * suites);

    // The next maintenance presents the new credential in every group,
    // and renewal is no longer due.
    let epochs = (
        t.alice.security_state(&t.chat).unwrap().epoch,
        t.alice.security_state(&t.group).unwrap().epoch,
    );
    let after = maintain(&mut t).await;
    assert!(after.credentials_refreshed.contains(&t.chat), "{after:?}");
    assert!(after.credentials_refreshed.contains(&t.group), "{after:?}");
    assert!(after.failed.is_empty(), "{after:?}");
    assert!(renewal_due(&after).is_empty());
    assert_eq!(t.alice.security_state(&t.chat).unwrap().epoch, epochs.0 + 1);
    assert_eq!(
        t.alice.security_state(&t.group).unwrap().epoch,
        epochs.1 + 1
    );
    world.advance(DAY).await;
    let later = maintain(&mut t).await;
    assert!(renewal_due(&later).is_empty() && later.renewed.is_none());
    peers_accept_the_renewed_device(&mut t).await;
    provider.shutdown().await;
}

/// With the app's source of subscriber tokens the lifecycle renews by
/// itself: a token the carrier refuses is a failure reported and retried
/// an hour later (the app is told meanwhile); the next one renews, and
/// the same maintenance presents the new credential in every group. The
/// KeyPackages the phone made on day 34 are still unexpired on it but
/// were dropped by the KDS: a full stock is uploaded all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_renews_through_the_apps_subscriber_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let world = Arc::new(World::default());
    let provider = provider(dir.path(), &world).await;
    let tokens = Arc::new(Tokens::default());
    let mut t = three(
        dir.path(),
        &provider,
        &world,
        options(&world, Some(tokens.clone())),
    )
    .await;
    let issued = t.alice.credentials_expire_at().unwrap();

    world.advance(34 * DAY).await;
    let day34 = maintain(&mut t).await;
    assert_eq!(tokens.asked(), 0, "not due yet");
    assert!(day34.key_packages_uploaded > 0, "{day34:?}");

    // Day 36: the source answers a token of another number; the carrier
    // refuses it. Reported, the app told, nothing changed.
    world.advance(2 * DAY).await;
    let token_before = t.alice.token().unwrap().to_owned();
    tokens.answer(Some(subscriber(BOB)));
    let first = maintain(&mut t).await;
    assert_eq!(tokens.asked(), 1);
    assert!(first.renewed.is_none());
    assert_eq!(failed(&first, "credential renewal").len(), 1, "{first:?}");
    assert_eq!(renewal_due(&first), vec![issued]);
    assert_eq!(t.alice.token().unwrap(), token_before);
    assert_eq!(t.alice.credentials_expire_at().unwrap(), issued);
    // Not asked again within the hour.
    let again = maintain(&mut t).await;
    assert_eq!(tokens.asked(), 1);
    assert!(again.failed.is_empty() && renewal_due(&again).is_empty());

    // An hour later the source has Alice's token: renewed, and presented
    // in every group by the same maintenance.
    world.advance(3_601).await;
    tokens.answer(Some(subscriber(ALICE)));
    let epochs = (
        t.alice.security_state(&t.chat).unwrap().epoch,
        t.alice.security_state(&t.group).unwrap().epoch,
    );
    let renewal = maintain(&mut t).await;
    assert_eq!(tokens.asked(), 2);
    let renewed = renewal.renewed.clone().expect("renewed");
    assert!(renewed.expires_at > issued + 35 * DAY, "{renewed:?}");
    assert!(renewal.failed.is_empty(), "{renewal:?}");
    assert!(renewal_due(&renewal).is_empty());
    assert!(renewal.credentials_refreshed.contains(&t.chat));
    assert!(renewal.credentials_refreshed.contains(&t.group));
    assert_eq!(t.alice.security_state(&t.chat).unwrap().epoch, epochs.0 + 1);
    assert_eq!(
        t.alice.security_state(&t.group).unwrap().epoch,
        epochs.1 + 1
    );
    let suites = t.alice.device().suites().len();
    assert_eq!(renewed.key_packages, 101 * suites, "{renewed:?}");
    let stock = kds_stock(&t.alice, t.alice.token().unwrap()).await.unwrap();
    assert!(stock.available.values().all(|&n| n == 100), "{stock:?}");
    assert_eq!(stock.last_resort.len(), suites);

    // Renewed: the source is not asked again.
    world.advance(DAY).await;
    let later = maintain(&mut t).await;
    assert_eq!(tokens.asked(), 2);
    assert!(later.renewed.is_none() && renewal_due(&later).is_empty());
    peers_accept_the_renewed_device(&mut t).await;
    provider.shutdown().await;
}

/// What a device's state looks like from outside, to check that nothing
/// changed.
#[derive(Debug, PartialEq)]
struct Snapshot {
    token: String,
    chains: Vec<Vec<Vec<u8>>>,
    presented: std::collections::BTreeMap<String, u64>,
}

fn snapshot(m: &Messenger) -> Snapshot {
    Snapshot {
        token: m.token().unwrap().to_owned(),
        chains: m
            .device()
            .suites()
            .iter()
            .map(|s| m.device().credential_chain(*s))
            .collect(),
        presented: m.settings().lifecycle.credential_presented.clone(),
    }
}

/// A re-enrolment of Alice's device id as an attacker would send it.
async fn reenrol_as(
    alice: &Messenger,
    bearer: Option<&str>,
    proof_number: &str,
) -> Result<EnrollResponse, SdkError> {
    let api = alice.api();
    let keys: Vec<B64> = alice
        .device()
        .participant_keys()
        .unwrap()
        .iter()
        .map(|k| B64(k.as_bytes().to_vec()))
        .collect();
    // The strongest attacker: the carrier proves what it is asked to for
    // a subscriber whose token the attacker holds (Alice's own, even).
    let proof = api
        .carrier_proof(&ProofRequest {
            number: proof_number.to_owned(),
            subscriber_token: subscriber(proof_number).to_owned(),
            participant_keys: keys,
            home_kds: "a.example".into(),
        })
        .await
        .unwrap();
    let nonce = api.nonce().await.unwrap();
    let request = EnrollRequest {
        nonce: nonce.nonce,
        device_id: alice.device_id().to_owned(),
        // Alice's requests, as captured from an earlier enrolment.
        csrs: alice
            .device()
            .certificate_requests()
            .unwrap()
            .into_iter()
            .map(B64)
            .collect(),
        carrier_proof: proof.proof,
        attestation: None,
        replace_existing: false,
        next_token: None,
    };
    api.post("/v1/enrollment", bearer, &request).await
}

/// The attacker's tries at renewing Alice's device without being it: with
/// another device's token (or none), with a carrier proof for another
/// number, and through her own SDK with a subscriber token of another
/// number. Each is refused; Alice's token, credentials and bookkeeping are
/// as before, the KDS still takes her token and her credentials, her
/// peers still read her, and her own renewal still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_by_anyone_but_the_device_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let world = Arc::new(World::default());
    let provider = provider(dir.path(), &world).await;
    let mut t = three(dir.path(), &provider, &world, options(&world, None)).await;
    world.advance(36 * DAY).await;
    maintain(&mut t).await;
    let before = snapshot(&t.alice);
    let stock_before = kds_stock(&t.alice, &before.token).await.unwrap();
    let bob_token = t.bob.token().unwrap().to_owned();

    // Another device's token as bearer (KDS-ENR-8), or none at all.
    for bearer in [Some(bob_token.as_str()), None] {
        let err = reenrol_as(&t.alice, bearer, ALICE).await.unwrap_err();
        assert_eq!(err.server_code(), Some("device-proof-required"), "{err}");
    }
    // A carrier proof for another number, even with Alice's own token.
    let err = reenrol_as(&t.alice, Some(&before.token), BOB)
        .await
        .unwrap_err();
    assert_eq!(err.server_code(), Some("device-id-taken"), "{err}");
    // Through Alice's SDK, a subscriber token of another number: the
    // carrier refuses to prove her number with it.
    let err = t
        .alice
        .renew_credentials(subscriber(BOB), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), crosslock_sdk::ErrorKind::Refused, "{err}");

    // Nothing changed: on the device, and at the KDS (her token works,
    // her KeyPackages are all there).
    assert_eq!(snapshot(&t.alice), before);
    let reopened = Messenger::open(t.alice.dir(), options(&world, None)).unwrap();
    assert_eq!(snapshot(&reopened), before);
    drop(reopened);
    assert_eq!(
        kds_stock(&t.alice, &before.token).await.unwrap(),
        stock_before
    );
    // Her credentials were not revoked: once Bob has the provider's
    // revocation list, he still reads her and can still add her.
    t.alice.send_text(&t.chat, "still me").await.unwrap();
    until(
        &mut t.bob,
        |e| matches!(e, Event::Text { text, .. } if text == "still me"),
    )
    .await;
    let group = t.bob.create_group(&[ALICE.to_owned()]).await.unwrap();
    until(
        &mut t.alice,
        |e| matches!(e, Event::Joined { conversation, .. } if *conversation == group.conversation),
    )
    .await;

    // And her own renewal, with her token, still works.
    t.alice
        .renew_credentials(subscriber(ALICE), None)
        .await
        .unwrap();
    assert_ne!(t.alice.token().unwrap(), before.token);
    maintain(&mut t).await;
    peers_accept_the_renewed_device(&mut t).await;
    provider.shutdown().await;
}

/// Item 1 of the review (SDK-TOKEN-1, KDS-ENR-12): the answer to a
/// renewal is lost after the KDS applied it (the KDS swapped the token,
/// revoked the old credentials and dropped the KeyPackages). The device
/// had saved the token it chose before sending: the next maintenance
/// finds that the KDS holds it, renews again at once with it, under the
/// same device id, and everything works: the KDS holds a full stock under
/// the new credentials, the peers follow and read her, someone new can
/// start a conversation with her.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_renewal_answer_is_settled_and_the_device_renews_again() {
    let dir = tempfile::tempdir().unwrap();
    let world = Arc::new(World::default());
    let provider = provider(dir.path(), &world).await;
    let proxy = common::proxy::Proxy::start(&provider).await;
    let tokens = Arc::new(Tokens::default());
    let mut t = three_via(
        dir.path(),
        &provider,
        &world,
        options(&world, Some(tokens.clone())),
        proxy.route(),
    )
    .await;
    let device_id = t.alice.device_id().to_owned();
    let issued = t.alice.credentials_expire_at().unwrap();
    world.advance(36 * DAY).await;

    let old_token = t.alice.token().unwrap().to_owned();
    tokens.answer(Some(subscriber(ALICE)));
    proxy.lose_enrolment_answers(1);
    let lost = maintain(&mut t).await;
    assert_eq!(
        proxy.lost_enrolment_answers(),
        vec![200],
        "the KDS applied it"
    );
    assert!(lost.renewed.is_none(), "{lost:?}");
    assert_eq!(failed(&lost, "credential renewal").len(), 1, "{lost:?}");
    // The device still holds its old token and, pending, the one it chose;
    // the KDS took the chosen one.
    assert_eq!(t.alice.token().unwrap(), old_token);
    let pending = t.alice.settings().pending_token.clone().expect("pending");
    assert_eq!(kds_stock(&t.alice, &old_token).await.unwrap_err(), 401);
    assert!(kds_stock(&t.alice, &pending).await.is_ok());
    assert_eq!(t.alice.credentials_expire_at().unwrap(), issued);

    // The next maintenance settles it and renews at once (no hour's
    // wait), with the same device id.
    tokens.answer(Some(subscriber(ALICE)));
    let settled = maintain(&mut t).await;
    assert_eq!(tokens.asked(), 2);
    let renewed = settled.renewed.clone().expect("renewed");
    assert!(settled.failed.is_empty(), "{settled:?}");
    assert!(renewed.expires_at > issued + 35 * DAY, "{renewed:?}");
    assert_eq!(t.alice.device_id(), device_id);
    assert!(t.alice.settings().pending_token.is_none());
    assert!(!t.alice.settings().lifecycle.renewal_required);
    let token = t.alice.token().unwrap().to_owned();
    assert_ne!(token, pending, "the renewal chose the next one");
    assert_eq!(kds_stock(&t.alice, &pending).await.unwrap_err(), 401);
    let stock = kds_stock(&t.alice, &token).await.unwrap();
    let suites = t.alice.device().suites().len();
    assert!(stock.available.values().all(|&n| n == 100), "{stock:?}");
    assert_eq!(stock.last_resort.len(), suites, "{stock:?}");
    assert!(settled.credentials_refreshed.contains(&t.chat));
    assert!(settled.credentials_refreshed.contains(&t.group));
    peers_accept_the_renewed_device(&mut t).await;
    provider.shutdown().await;
}

/// Item 2 of the review (SDK-RENEW-1..3): a provider that issues
/// credentials living 35 days, under the 40-day renewal threshold. Renewal
/// is due from the start; the credentials it brings would be due again at
/// once, so they are refused (the token the device chose is kept: the
/// KDS applied the renewal), and the device neither renews again within
/// the hour nor commits in any conversation: three maintenances, one
/// renewal, no commit. An hour later it tries once more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_renewed_credentials_are_refused_without_a_loop() {
    let dir = tempfile::tempdir().unwrap();
    let world = Arc::new(World::default());
    let provider = provider_issuing(dir.path(), &world, 35).await;
    let tokens = Arc::new(Tokens::default());
    let mut t = three(
        dir.path(),
        &provider,
        &world,
        options(&world, Some(tokens.clone())),
    )
    .await;
    let issued = t.alice.credentials_expire_at().unwrap();
    let epochs = (
        t.alice.security_state(&t.chat).unwrap().epoch,
        t.alice.security_state(&t.group).unwrap().epoch,
    );
    let old_token = t.alice.token().unwrap().to_owned();
    for _ in 0..3 {
        tokens.answer(Some(subscriber(ALICE)));
    }
    let mut refused = Vec::new();
    for _ in 0..3 {
        let done = maintain(&mut t).await;
        assert!(done.renewed.is_none(), "{done:?}");
        assert!(done.credentials_refreshed.is_empty(), "{done:?}");
        refused.extend(failed(&done, "credential renewal"));
    }
    assert_eq!(tokens.asked(), 1);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("due for renewal again"), "{refused:?}");
    assert_eq!(t.alice.credentials_expire_at().unwrap(), issued);
    assert_eq!(t.alice.security_state(&t.chat).unwrap().epoch, epochs.0);
    assert_eq!(t.alice.security_state(&t.group).unwrap().epoch, epochs.1);
    // The KDS swapped the token; the device kept the new one.
    let token = t.alice.token().unwrap().to_owned();
    assert_ne!(token, old_token);
    assert!(t.alice.settings().pending_token.is_none());
    assert!(kds_stock(&t.alice, &token).await.is_ok());
    assert!(t.alice.settings().lifecycle.renewal_required);

    // An hour later, once more (and again refused).
    world.advance(3_601).await;
    let later = maintain(&mut t).await;
    assert_eq!(tokens.asked(), 2);
    assert_eq!(failed(&later, "credential renewal").len(), 1, "{later:?}");
    assert!(later.credentials_refreshed.is_empty());
    provider.shutdown().await;
}

/// Item 4 of the review (KP-CAP-1): a KDS whose stock keeps being emptied
/// (here honestly: every renewal drops the device's KeyPackages at the
/// KDS, while their secrets stay on the phone until they expire). The
/// phone refills each time only while it holds fewer than 3 × 100
/// unexpired secrets per suite; past that it makes none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_package_secrets_stay_under_the_cap_when_the_kds_is_emptied() {
    let dir = tempfile::tempdir().unwrap();
    let world = Arc::new(World::default());
    let provider = provider(dir.path(), &world).await;
    let mut alice = phone(
        dir.path(),
        ALICE,
        DeviceProfile::Android,
        &provider,
        options(&world, None),
    )
    .await;
    alice.maintain().await.unwrap();
    let suites = alice.device().suites().len();
    let mut uploaded = Vec::new();
    for _ in 0..4 {
        world.advance(3_600).await;
        let renewed = alice
            .renew_credentials(subscriber(ALICE), None)
            .await
            .unwrap();
        uploaded.push(renewed.key_packages);
        let held = alice.device().key_package_secrets().unwrap();
        assert_eq!(held.len(), suites, "{held:?}");
        assert!(held.values().all(|&n| n <= 300), "{held:?}");
    }
    // Enrolment and the first check held about 100 per suite; the first
    // renewal gets a full stock, the second only up to the cap, then none.
    assert_eq!(uploaded[0], 101 * suites, "{uploaded:?}");
    assert!(
        uploaded[1] > 0 && uploaded[1] < 101 * suites,
        "{uploaded:?}"
    );
    assert_eq!(&uploaded[2..], &[0, 0], "{uploaded:?}");
    let held = alice.device().key_package_secrets().unwrap();
    assert!(held.values().all(|&n| n == 300), "{held:?}");
    provider.shutdown().await;
}
