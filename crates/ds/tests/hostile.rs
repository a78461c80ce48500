#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The hostile-input catalogue, delivery-service part: one test per attack
//! on the DS's HTTP API (device and federation halves). Each asserts the
//! HTTP status and the typed reason (the RCC.16 server token where one
//! applies), that the DS's SQLite tables (conversations, accepted ids,
//! epoch authenticators, commits, inboxes, outbox, push tokens) are exactly
//! as before, that no inbox received anything, and where cheap that the
//! legitimate request still goes through.

mod common;

use std::collections::BTreeMap;

use common::*;
use crosslock_client::*;
use crosslock_ds::Federation;
use crosslock_wire::api::ds::{CatchUpRequest, SubmitCommit, SubmitMessage};
use crosslock_wire::cpim::MlsEnvelope;
use sha2::{Digest, Sha256};

// ---- shared setup -------------------------------------------------------------

/// Alice's group with Bob; Eve is enrolled but not a member.
struct World {
    _p: Provider,
    ds: DsServer,
    alice: Phone,
    bob: Phone,
    eve: Phone,
    id: ConversationId,
}

async fn world_with(configure: impl FnOnce(&mut crosslock_ds::DsConfig)) -> World {
    let p = Provider::start(ProviderSetup::default()).await;
    let ds = start_ds(&p, p.trust(), Federation::none(), configure).await;
    let mut alice = Phone::enroll(&p, &ds, "+15550100001", DeviceProfile::Android, p.trust()).await;
    let mut bob = Phone::enroll(&p, &ds, "+15550100002", DeviceProfile::Ios, p.trust()).await;
    let eve = Phone::enroll(&p, &ds, "+15550100666", DeviceProfile::Android, p.trust()).await;
    let pending = alice
        .device
        .create_conversation(
            NewConversation::Group {
                group_id: b"hostile-group".to_vec(),
            },
            &[alice.claim(&p, "+15550100002").await],
        )
        .unwrap();
    let id = pending.conversation.clone();
    alice.submit(&pending).await.unwrap();
    bob.sync().await;
    // One message pins the epoch's authenticator.
    let first = alice.text(&id, "hello").await;
    assert!(!first.outbound.message_id.is_empty());
    World {
        _p: p,
        ds,
        alice,
        bob,
        eve,
        id,
    }
}

async fn world() -> World {
    world_with(|_| {}).await
}

/// Every DS table (row count and digest of all rows) and the inbox sizes
/// of Alice, Bob and Eve. Nothing in between acknowledges anything, so a
/// difference is a write by the request under test.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    tables: BTreeMap<String, (usize, String)>,
    inboxes: [usize; 3],
}

async fn snapshot(w: &World) -> Snapshot {
    let conn = rusqlite::Connection::open_with_flags(
        w.ds.dir.path().join("ds.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut tables = BTreeMap::new();
    for table in names {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let mut row = String::new();
                for i in 0..columns {
                    row.push_str(&format!("{:?}|", r.get_ref(i)?));
                }
                Ok(row)
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        let digest = hex::encode(Sha256::digest(rows.concat().as_bytes()));
        tables.insert(table, (rows.len(), digest));
    }
    assert!(tables.contains_key("inbox") && tables.contains_key("conversations"));
    let mut inboxes = [0; 3];
    for (n, phone) in inboxes.iter_mut().zip([&w.alice, &w.bob, &w.eve]) {
        *n = phone.ds.inbox(0, 500, 0).await.unwrap().items.len();
    }
    Snapshot { tables, inboxes }
}

/// A raw request to the DS; answers status, headers and JSON body.
async fn send(
    w: &World,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut request = http()
        .request(method, format!("{}{path}", w.ds.url))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// Posts `body` to `path` as `token`, expects a typed refusal, and checks
/// that nothing changed.
async fn refused(w: &World, path: &str, token: Option<&str>, body: Vec<u8>, want: (u16, &str)) {
    let before = snapshot(w).await;
    let (status, _, answer) = send(w, reqwest::Method::POST, path, token, body).await;
    assert_eq!((status, reason(&answer).as_str()), want, "{answer}");
    assert!(
        answer["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{answer}"
    );
    assert_eq!(
        snapshot(w).await,
        before,
        "a refused request changed nothing"
    );
}

fn message_body(envelope: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&SubmitMessage {
        envelope: envelope.to_vec().into(),
    })
    .unwrap()
}

fn commit_body(pending: &PendingCommit) -> Vec<u8> {
    serde_json::to_vec(&SubmitCommit {
        commit: pending.commit.envelope.clone().into(),
        welcome: pending.welcome.as_ref().map(|w| w.envelope.clone().into()),
        group_info: pending.group_info.clone().into(),
        ratchet_tree: Some(pending.ratchet_tree.clone().into()),
        external: false,
    })
    .unwrap()
}

fn rewrap(envelope: &[u8], change: impl FnOnce(&mut MlsEnvelope)) -> Vec<u8> {
    let mut e = MlsEnvelope::decode(envelope).unwrap();
    change(&mut e);
    e.encode()
}

/// A fresh application message from Alice, not yet sent.
fn alice_message(w: &mut World, text: &str) -> Vec<u8> {
    w.alice
        .device
        .send_text(&w.id, text)
        .unwrap()
        .outbound
        .envelope
}

/// The legitimate message still goes through and reaches Bob.
async fn legit_message_still_works(w: &mut World) {
    let envelope = alice_message(w, "still here");
    assert!(!w.alice.ds.message(&envelope).await.unwrap().duplicate);
    assert!(texts(&w.bob.sync().await).contains(&"still here".to_owned()));
}

// ---- commits ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn commit_for_stale_epoch() {
    let mut w = world().await;
    let bobs = w.bob.device.update_keys(&w.id).unwrap();
    let alices = w.alice.device.update_keys(&w.id).unwrap();
    w.alice.submit(&alices).await.unwrap();
    let token = w.bob.token.clone();
    refused(
        &w,
        "/v1/ds/commit",
        Some(&token),
        commit_body(&bobs),
        (409, "incorrect-epoch"),
    )
    .await;
    w.bob.device.commit_rejected(&bobs).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn commit_from_removed_member() {
    let mut w = world().await;
    let bob_number = w.bob.device.number().clone();
    // Bob prepares a commit, then Alice removes him first. Membership is
    // judged before the epoch (DS-RETRY-1: no epoch oracle for someone who
    // is not a member), so he learns he was removed.
    let bobs = w.bob.device.update_keys(&w.id).unwrap();
    let removal = w
        .alice
        .device
        .remove_participant(&w.id, &bob_number)
        .unwrap();
    w.alice.submit(&removal).await.unwrap();
    let token = w.bob.token.clone();
    refused(
        &w,
        "/v1/ds/commit",
        Some(&token),
        commit_body(&bobs),
        (403, "not-a-member"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn commit_submitted_by_another_member() {
    let mut w = world().await;
    // Bob submits Alice's commit as his own.
    let alices = w.alice.device.update_keys(&w.id).unwrap();
    let token = w.bob.token.clone();
    refused(
        &w,
        "/v1/ds/commit",
        Some(&token),
        commit_body(&alices),
        (409, "invalid-commit"),
    )
    .await;
    // Alice's own submission wins.
    assert_eq!(w.alice.submit(&alices).await.unwrap().epoch, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn commit_unparsable() {
    let w = world().await;
    let token = w.alice.token.clone();
    for body in [
        br#"{"commit":"AAAA","group_info":""}"#.to_vec(),
        br#"{"commit":"","group_info":"AAAA"}"#.to_vec(),
    ] {
        refused(
            &w,
            "/v1/ds/commit",
            Some(&token),
            body,
            (400, "unparsable-commit"),
        )
        .await;
    }
}

// ---- application messages ---------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn message_from_removed_member() {
    let mut w = world().await;
    let bob_number = w.bob.device.number().clone();
    let removal = w
        .alice
        .device
        .remove_participant(&w.id, &bob_number)
        .unwrap();
    w.alice.submit(&removal).await.unwrap();
    // Bob has not seen the removal and still talks in the old epoch.
    let sent = w.bob.device.send_text(&w.id, "am I still in?").unwrap();
    let token = w.bob.token.clone();
    refused(
        &w,
        "/v1/ds/message",
        Some(&token),
        message_body(&sent.outbound.envelope),
        (403, "not-a-member"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn message_to_group_sender_is_not_in() {
    let mut w = world().await;
    // Eve replays an envelope of Alice's under her own token.
    let envelope = alice_message(&mut w, "for members only");
    let token = w.eve.token.clone();
    refused(
        &w,
        "/v1/ds/message",
        Some(&token),
        message_body(&envelope),
        (403, "not-a-member"),
    )
    .await;
    let token = w.eve.token.clone();
    let catch_up = serde_json::to_vec(&CatchUpRequest {
        group_id: w.id.as_bytes().to_vec().into(),
        from_epoch: 0,
    })
    .unwrap();
    refused(
        &w,
        "/v1/ds/catch-up",
        Some(&token),
        catch_up,
        (403, "not-a-member"),
    )
    .await;
    assert!(!w.alice.ds.message(&envelope).await.unwrap().duplicate);
}

#[tokio::test(flavor = "multi_thread")]
async fn message_duplicate_id_replay() {
    let mut w = world().await;
    let first = alice_message(&mut w, "once");
    assert!(!w.alice.ds.message(&first).await.unwrap().duplicate);
    let before = snapshot(&w).await;
    // The same envelope again, and another message under the same id.
    let (status, _, answer) = send(
        &w,
        reqwest::Method::POST,
        "/v1/ds/message",
        Some(&w.alice.token),
        message_body(&first),
    )
    .await;
    assert_eq!((status, answer["duplicate"].as_bool()), (200, Some(true)));
    let id = MlsEnvelope::decode(&first).unwrap().message_id;
    let other = alice_message(&mut w, "twice?");
    let same_id = rewrap(&other, |e| e.message_id = id.clone());
    let (status, _, answer) = send(
        &w,
        reqwest::Method::POST,
        "/v1/ds/message",
        Some(&w.alice.token),
        message_body(&same_id),
    )
    .await;
    assert_eq!((status, answer["duplicate"].as_bool()), (200, Some(true)));
    assert_eq!(snapshot(&w).await, before, "no second fan-out");
    assert_eq!(texts(&w.bob.sync().await), ["hello", "once"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn message_of_wrong_era() {
    let mut w = world().await;
    let envelope = alice_message(&mut w, "era");
    let token = w.alice.token.clone();
    for era in [1, u32::MAX] {
        let wrong = rewrap(&envelope, |e| e.era = e.era.wrapping_add(era));
        refused(
            &w,
            "/v1/ds/message",
            Some(&token),
            message_body(&wrong),
            (409, "incorrect-era"),
        )
        .await;
    }
    assert!(!w.alice.ds.message(&envelope).await.unwrap().duplicate);
}

#[tokio::test(flavor = "multi_thread")]
async fn message_with_wrong_epoch_authenticator() {
    let mut w = world().await;
    let envelope = alice_message(&mut w, "auth");
    let wrong = rewrap(&envelope, |e| e.epoch_authenticator[31] ^= 1);
    let token = w.alice.token.clone();
    refused(
        &w,
        "/v1/ds/message",
        Some(&token),
        message_body(&wrong),
        (409, "incorrect-epoch-authenticator"),
    )
    .await;
    assert!(!w.alice.ds.message(&envelope).await.unwrap().duplicate);
}

#[tokio::test(flavor = "multi_thread")]
async fn message_for_future_epoch() {
    let mut w = world().await;
    let envelope = alice_message(&mut w, "from the future");
    // PrivateMessage: version, wire format, group_id<V>, epoch (u64).
    let future = rewrap(&envelope, |e| {
        let len = usize::from(e.body[4]);
        assert!(len < 64, "one-byte length prefix");
        let at = 5 + len;
        e.body[at..at + 8].copy_from_slice(&99u64.to_be_bytes());
    });
    let token = w.alice.token.clone();
    refused(
        &w,
        "/v1/ds/message",
        Some(&token),
        message_body(&future),
        (409, "incorrect-epoch"),
    )
    .await;
    assert!(!w.alice.ds.message(&envelope).await.unwrap().duplicate);
}

#[tokio::test(flavor = "multi_thread")]
async fn message_with_injected_recipients_field() {
    let mut w = world().await;
    let envelope = alice_message(&mut w, "members only");
    // Unknown fields naming extra recipients (Eve, everyone) are ignored:
    // recipients are the group's members, never the sender's say-so.
    let mut body: serde_json::Value = serde_json::from_slice(&message_body(&envelope)).unwrap();
    body["recipients"] = serde_json::json!(["+15550100666", "*", "../inbox/eve"]);
    body["to"] = "+15550100666".into();
    let before = snapshot(&w).await;
    let (status, _, answer) = send(
        &w,
        reqwest::Method::POST,
        "/v1/ds/message",
        Some(&w.alice.token),
        serde_json::to_vec(&body).unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let after = snapshot(&w).await;
    assert_eq!(after.inboxes[2], before.inboxes[2], "Eve got nothing");
    assert_eq!(after.inboxes[1], before.inboxes[1] + 1, "Bob got it once");
}

#[tokio::test(flavor = "multi_thread")]
async fn message_envelope_oversize() {
    let mut w = world().await;
    let envelope = alice_message(&mut w, "big");
    let big = rewrap(&envelope, |e| {
        e.body.extend(std::iter::repeat_n(0, 300 * 1024))
    });
    let token = w.alice.token.clone();
    refused(
        &w,
        "/v1/ds/message",
        Some(&token),
        message_body(&big),
        (413, "too-large"),
    )
    .await;
    legit_message_still_works(&mut w).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn request_body_oversize() {
    let mut w = world_with(|c| c.max_body_bytes = 512 * 1024).await;
    let token = w.alice.token.clone();
    let mut body = br#"{"envelope":""#.to_vec();
    body.extend(std::iter::repeat_n(b'A', 600 * 1024));
    body.extend(br#""}"#);
    refused(
        &w,
        "/v1/ds/message",
        Some(&token),
        body.clone(),
        (413, "too-large"),
    )
    .await;
    refused(&w, "/v1/ds/commit", Some(&token), body, (413, "too-large")).await;
    legit_message_still_works(&mut w).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn message_truncated_json() {
    let mut w = world().await;
    let body = message_body(&alice_message(&mut w, "cut"));
    let token = w.alice.token.clone();
    for cut in [1, body.len() / 2, body.len() - 1] {
        refused(
            &w,
            "/v1/ds/message",
            Some(&token),
            body[..cut].to_vec(),
            (400, "malformed-request"),
        )
        .await;
    }
    let (status, _, answer) = send(
        &w,
        reqwest::Method::POST,
        "/v1/ds/message",
        Some(&token),
        body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn message_invalid_utf8_in_json_string() {
    let w = world().await;
    let token = w.alice.token.clone();
    for body in [
        b"{\"envelope\":\"AA\xC3\x28AA\"}".to_vec(),
        b"{\"envelope\":\"\xFF\xFE\"}".to_vec(),
        br#"{"envelope":"\udc00AAAA"}"#.to_vec(),
    ] {
        refused(
            &w,
            "/v1/ds/message",
            Some(&token),
            body,
            (400, "malformed-request"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unauthenticated_and_forged_tokens() {
    let mut w = world().await;
    let body = message_body(&alice_message(&mut w, "who am I"));
    refused(
        &w,
        "/v1/ds/message",
        None,
        body.clone(),
        (401, "unauthenticated"),
    )
    .await;
    let forged = [
        "nope".to_owned(),
        "0".repeat(64),
        w.alice.token[..w.alice.token.len() - 1].to_owned(),
        w.alice.token.to_uppercase(),
    ];
    for token in &forged {
        refused(
            &w,
            "/v1/ds/message",
            Some(token),
            body.clone(),
            (401, "unauthenticated"),
        )
        .await;
    }
    let (status, _, answer) = send(
        &w,
        reqwest::Method::POST,
        "/v1/ds/message",
        Some(&w.alice.token),
        body,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn inbox_query_malformed() {
    let w = world().await;
    let before = snapshot(&w).await;
    for query in ["?after=..%2f..%2f", "?after=-1", "?limit=%00", "?wait=1e9"] {
        let (status, _, answer) = send(
            &w,
            reqwest::Method::GET,
            &format!("/v1/ds/inbox{query}"),
            Some(&w.bob.token),
            Vec::new(),
        )
        .await;
        assert_eq!(
            (status, reason(&answer).as_str()),
            (400, "malformed-request"),
            "{query}: {answer}"
        );
    }
    assert_eq!(snapshot(&w).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn message_flood_is_rate_limited() {
    let mut w = world_with(|c| {
        c.device_rate = crosslock_ds::RateLimit {
            burst: 4.0,
            per_second: 0.001,
        }
    })
    .await;
    let before = snapshot(&w).await;
    let (mut ok, mut limited) = (0, 0);
    for i in 0..12 {
        let body = message_body(&alice_message(&mut w, &format!("flood {i}")));
        let (status, headers, answer) = send(
            &w,
            reqwest::Method::POST,
            "/v1/ds/message",
            Some(&w.alice.token),
            body,
        )
        .await;
        match status {
            200 => ok += 1,
            429 => {
                limited += 1;
                assert_eq!(reason(&answer), "rate-limited");
                let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
                assert!(retry >= 1, "{retry}");
            }
            other => panic!("HTTP {other}: {answer}"),
        }
    }
    // The setup's own message took one token of the burst.
    assert!(
        (1..=4).contains(&ok) && ok + limited == 12,
        "{ok} {limited}"
    );
    let after = snapshot(&w).await;
    assert_eq!(
        after.inboxes[1],
        before.inboxes[1] + ok,
        "no rows beyond the limit"
    );
    assert_eq!(
        after.tables["inbox"].0,
        before.tables["inbox"].0 + ok,
        "{after:?}"
    );
    // Bob is not limited by Alice's flood.
    let sent = w.bob.device.send_text(&w.id, "calm").unwrap();
    w.bob.ds.message(&sent.outbound.envelope).await.unwrap();
}

// ---- federation ---------------------------------------------------------------------

/// The DS's federation API on loopback, over mutual TLS accepting client
/// certificates of `client_ca`; answers the URL and the CA of its server
/// certificate.
async fn serve_federation(
    w: &World,
    client_ca: &crosslock_tls::TlsCa,
) -> (String, crosslock_tls::TlsCa) {
    let server_ca = crosslock_tls::TlsCa::generate("hostile server TLS").unwrap();
    let localhost = [std::net::IpAddr::from([127, 0, 0, 1])];
    let tls = crosslock_tls::server_config(
        &server_ca.issue_server(&["localhost"], &localhost).unwrap(),
        crosslock_tls::ClientAuth::Required {
            roots: vec![client_ca.certificate_der().to_vec()],
        },
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(crosslock_tls::serve(
        listener,
        crosslock_ds::federation_router(w.ds.ds.clone()),
        Some(tls),
        std::future::pending(),
    ));
    (url, server_ca)
}

/// What a hostile peer would post: a delivery into Bob's inbox.
fn forged_delivery(w: &World) -> serde_json::Value {
    serde_json::json!({
        "group_id": crosslock_wire::api::B64(w.id.as_bytes().to_vec()),
        "deliveries": [{
            "recipient": { "number": "+15550100002", "device": w.bob.device.device_id() },
            "message_id": "forged-1",
            "envelope": "AAAA",
        }],
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn federation_request_without_client_certificate() {
    let w = world().await;
    // The federation router reached without mutual TLS (no certificate).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = crosslock_ds::federation_router(w.ds.ds.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let before = snapshot(&w).await;
    for path in [
        "/federation/v1/ds/deliver",
        "/federation/v1/ds/submit",
        "/federation/v1/ds/catch-up",
    ] {
        let answer = http()
            .post(format!("{url}{path}"))
            .json(&forged_delivery(&w))
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!((status, reason(&body).as_str()), (403, "unknown-peer"));
    }
    assert_eq!(snapshot(&w).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn federation_request_from_unknown_peer() {
    let w = world().await;
    // A client certificate the TLS layer accepts (its CA is configured),
    // but whose fingerprint is no configured peer's.
    let client_ca = crosslock_tls::TlsCa::generate("hostile client TLS").unwrap();
    let (url, server_ca) = serve_federation(&w, &client_ca).await;
    let mallory = client_ca.issue_client("kds.b.example").unwrap();
    let client = crosslock_tls::https_client(
        crosslock_tls::client_config(&[server_ca.certificate_der().to_vec()], Some(&mallory))
            .unwrap(),
    )
    .unwrap();
    let before = snapshot(&w).await;
    let answer = client
        .post(format!("{url}/federation/v1/ds/deliver"))
        .json(&forged_delivery(&w))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!((status, reason(&body).as_str()), (403, "unknown-peer"));
    assert_eq!(snapshot(&w).await, before, "nothing delivered");
}

#[tokio::test(flavor = "multi_thread")]
async fn federation_client_certificate_with_bad_signature() {
    let w = world().await;
    let trusted_ca = crosslock_tls::TlsCa::generate("peer TLS").unwrap();
    let (url, server_ca) = serve_federation(&w, &trusted_ca).await;
    // Same subject as a real peer's, signed by another CA: the signature
    // does not verify under the trusted root, so TLS refuses the handshake.
    let forger = crosslock_tls::TlsCa::generate("peer TLS").unwrap();
    let forged = forger.issue_client("kds.b.example").unwrap();
    let client = crosslock_tls::https_client(
        crosslock_tls::client_config(&[server_ca.certificate_der().to_vec()], Some(&forged))
            .unwrap(),
    )
    .unwrap();
    let before = snapshot(&w).await;
    let result = client
        .post(format!("{url}/federation/v1/ds/deliver"))
        .json(&forged_delivery(&w))
        .send()
        .await;
    // TLS 1.3 rejects the client certificate after the client finished its
    // half of the handshake: the request fails, or answers no HTTP success.
    if let Ok(answer) = result {
        panic!("HTTP {} for a forged client certificate", answer.status());
    }
    assert_eq!(snapshot(&w).await, before, "nothing delivered");
}
