//! The content server over real HTTP on loopback: uploads, downloads,
//! refusals, expiry, restart, concurrency. "Nothing stored" is checked on
//! disk: `blobs/`, `tmp/` and the metadata rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use crosslock_ds::{ContentConfig, ContentServer, DeviceAuth, DsError, RateLimit, content_router};
use crosslock_profile::Environment;
use crosslock_profile::env::{Clock, ManualClock, OsEntropy, SystemClock};
use crosslock_wire::api::ErrorBody;
use crosslock_wire::api::ds::DeviceRef;
use crosslock_wire::api::files::UploadAnswer;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ALICE: &str = "alice-device-token";
const BOB: &str = "bob-device-token";

/// Two devices with fixed tokens (the provider's implementation is
/// `crosslock_provider::KdsDevices`, over its KDS store).
#[derive(Debug)]
struct FixedDevices;

impl DeviceAuth for FixedDevices {
    fn authenticate(&self, token: &str) -> Result<Option<DeviceRef>, DsError> {
        let (number, device) = match token {
            ALICE => ("+15550000001", "alice-phone"),
            BOB => ("+15550000002", "bob-phone"),
            _ => return Ok(None),
        };
        Ok(Some(DeviceRef {
            number: number.into(),
            device: device.into(),
        }))
    }

    fn is_current(&self, device: &DeviceRef) -> Result<bool, DsError> {
        Ok([ALICE, BOB]
            .iter()
            .any(|t| self.authenticate(t).ok().flatten().as_ref() == Some(device)))
    }
}

/// A content server listening on `127.0.0.1:0`.
struct Running {
    server: Arc<ContentServer>,
    /// The server's clock: starts at the real time (stray temporary files
    /// are judged by their modification time), moved by hand.
    clock: Arc<ManualClock>,
    addr: SocketAddr,
    base: String,
    client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn start(dir: &Path, config: ContentConfig) -> Running {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let env = Environment {
            clock: clock.clone(),
            entropy: Arc::new(OsEntropy),
        };
        let server =
            Arc::new(ContentServer::open(dir, config, Arc::new(FixedDevices), env).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = content_router(server.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Running {
            server,
            clock,
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            task,
        }
    }

    /// Stops serving and lets go of the server.
    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        drop(self.server);
    }

    async fn upload(&self, token: Option<&str>, body: Vec<u8>) -> reqwest::Response {
        self.upload_with(token, body, None).await
    }

    async fn upload_with(
        &self,
        token: Option<&str>,
        body: Vec<u8>,
        disposition: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/v1/files", self.base))
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(disposition) = disposition {
            request = request.header(CONTENT_DISPOSITION, disposition);
        }
        request.send().await.unwrap()
    }

    /// Uploads `body` as Alice, expecting success.
    async fn put(&self, body: &[u8]) -> UploadAnswer {
        let response = self.upload(Some(ALICE), body.to_vec()).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// `GET` of a URL an upload answered (relative ones against this server).
    async fn get(&self, url: &str, range: Option<&str>) -> reqwest::Response {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        };
        let mut request = self.client.get(url);
        if let Some(range) = range {
            request = request.header(RANGE, range);
        }
        request.send().await.unwrap()
    }

    async fn fetch(&self, url: &str) -> Vec<u8> {
        let response = self.get(url, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.bytes().await.unwrap().to_vec()
    }
}

/// What is on disk: blobs, temporary files, metadata rows.
fn stored(dir: &Path) -> (usize, usize, u64) {
    let count = |d: &str| std::fs::read_dir(dir.join(d)).unwrap().count();
    let conn = rusqlite::Connection::open(dir.join("content.sqlite3")).unwrap();
    let rows: u64 = conn
        .query_row("SELECT COUNT(*) FROM files", [], |r| r.get(0))
        .unwrap();
    (count("blobs"), count("tmp"), rows)
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

async fn error_of(response: reqwest::Response) -> (StatusCode, ErrorBody) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn round_trip_one_byte_and_five_mib() {
    let dir = tempfile::tempdir().unwrap();
    let ds = Running::start(dir.path(), ContentConfig::default()).await;
    for body in [vec![0x42], bytes(5 * 1024 * 1024, 7)] {
        let before = ds.clock.now();
        let answer = ds.put(&body).await;
        assert_eq!(answer.size, body.len() as u64);
        assert_eq!(answer.sha256.0, sha256(&body));
        assert!(answer.url.starts_with("/v1/files/"), "{}", answer.url);
        let expiry = ContentConfig::default().expiry_secs;
        assert_eq!(answer.expires_at, before + expiry);

        let response = ds.get(&answer.url, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers[CONTENT_TYPE], "application/octet-stream");
        assert_eq!(
            headers[CONTENT_DISPOSITION],
            "attachment; filename=\"encrypted_file\""
        );
        assert_eq!(headers[CONTENT_LENGTH], body.len().to_string().as_str());
        let got = response.bytes().await.unwrap();
        assert_eq!(sha256(&got), sha256(&body));
    }
    assert_eq!(stored(dir.path()), (2, 0, 2));
    ds.stop().await;
}

#[tokio::test]
async fn download_url_uses_the_public_base() {
    let dir = tempfile::tempdir().unwrap();
    let config = ContentConfig {
        public_base_url: "https://files.example.net/".into(),
        ..ContentConfig::default()
    };
    let ds = Running::start(dir.path(), config).await;
    let answer = ds.put(b"x").await;
    let token = answer
        .url
        .strip_prefix("https://files.example.net/v1/files/")
        .unwrap();
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .unwrap()
            .len(),
        32
    );
    assert_eq!(ds.fetch(&format!("/v1/files/{token}")).await, b"x");
    ds.stop().await;
}

#[tokio::test]
async fn ranges_resume_a_download() {
    let dir = tempfile::tempdir().unwrap();
    let ds = Running::start(dir.path(), ContentConfig::default()).await;
    let body = bytes(1000, 3);
    let url = ds.put(&body).await.url;

    for (range, start, end) in [
        ("bytes=100-", 100, 999),
        ("bytes=10-19", 10, 19),
        ("bytes=990-5000", 990, 999),
        ("bytes=-5", 995, 999),
    ] {
        let response = ds.get(&url, Some(range)).await;
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            response.headers()[CONTENT_RANGE],
            format!("bytes {start}-{end}/1000").as_str()
        );
        assert_eq!(
            response.headers()[CONTENT_LENGTH],
            (end - start + 1).to_string().as_str()
        );
        assert_eq!(response.bytes().await.unwrap(), &body[start..=end]);
    }
    for range in [
        "bytes=1000-",
        "bytes=5-4",
        "bytes=1-2,4-5",
        "items=0-1",
        "bytes=x-",
    ] {
        let response = ds.get(&url, Some(range)).await;
        assert_eq!(
            response.status(),
            StatusCode::RANGE_NOT_SATISFIABLE,
            "{range}"
        );
        assert_eq!(response.headers()[CONTENT_RANGE], "bytes */1000");
        assert_eq!(error_of(response).await.1.error, "range-not-satisfiable");
    }
    ds.stop().await;
}

#[tokio::test]
async fn unauthenticated_upload_is_refused_and_nothing_stored() {
    let dir = tempfile::tempdir().unwrap();
    let ds = Running::start(dir.path(), ContentConfig::default()).await;
    for token in [None, Some("not-a-device"), Some("")] {
        let (status, body) = error_of(ds.upload(token, bytes(4096, 1)).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body.error, "unauthenticated");
    }
    assert_eq!(stored(dir.path()), (0, 0, 0));
    ds.stop().await;
}

/// An upload without `Content-Length` (chunked), over a raw socket: the
/// server must count the bytes itself. The answer's status code.
async fn chunked_upload(addr: SocketAddr, total: usize) -> u16 {
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/files HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ALICE}\r\n\
         Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    // The server may stop reading once it has seen too much: write errors
    // are expected then, and the answer is still there to read.
    let chunk = vec![0xA5u8; 64 * 1024];
    let mut sent = 0;
    while sent < total {
        let n = chunk.len().min(total - sent);
        let mut framed = format!("{n:x}\r\n").into_bytes();
        framed.extend_from_slice(&chunk[..n]);
        framed.extend_from_slice(b"\r\n");
        if socket.write_all(&framed).await.is_err() {
            break;
        }
        sent += n;
    }
    let _ = socket.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.split(' ').nth(1).unwrap_or_default();
    status
        .parse()
        .unwrap_or_else(|_| panic!("no answer: {answer:?}"))
}

#[tokio::test]
async fn oversize_upload_is_refused_and_nothing_stored() {
    let dir = tempfile::tempdir().unwrap();
    let max = 1024 * 1024;
    let config = ContentConfig {
        max_file_bytes: max as u64,
        ..ContentConfig::default()
    };
    let ds = Running::start(dir.path(), config).await;

    // Announced too large: refused before reading.
    let (status, body) = error_of(ds.upload(Some(ALICE), bytes(max + 1, 2)).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body.error, "too-large");
    assert_eq!(stored(dir.path()), (0, 0, 0));

    // Not announced: counted while streaming, the temporary file deleted.
    assert_eq!(chunked_upload(ds.addr, max + 100 * 1024).await, 413);
    assert_eq!(stored(dir.path()), (0, 0, 0));

    // Empty: refused.
    let (status, body) = error_of(ds.upload(Some(ALICE), Vec::new()).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body.error, "malformed-request");
    assert_eq!(stored(dir.path()), (0, 0, 0));

    // Exactly the limit, either way: stored.
    ds.put(&bytes(max, 5)).await;
    assert_eq!(chunked_upload(ds.addr, max).await, 200);
    assert_eq!(stored(dir.path()), (2, 0, 2));
    ds.stop().await;
}

#[tokio::test]
async fn wrong_tokens_are_unknown_alike() {
    let dir = tempfile::tempdir().unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let ds = Running::start(dir.path(), ContentConfig::default()).await;
    let other = Running::start(other_dir.path(), ContentConfig::default()).await;
    let a = ds.put(b"file a").await;
    let b = ds.put(b"file b").await;
    let elsewhere = other.put(b"file elsewhere").await;
    assert_eq!(ds.fetch(&a.url).await, b"file a");
    assert_eq!(ds.fetch(&b.url).await, b"file b");

    let token = a.url.strip_prefix("/v1/files/").unwrap();
    let blob_id = std::fs::read_dir(dir.path().join("blobs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name()
        .into_string()
        .unwrap();
    let mut flipped = token.as_bytes().to_vec();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let random = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 32]);
    let bad = [
        format!("/v1/files/{random}"),
        format!("/v1/files/{flipped}"),
        format!("/v1/files/{}", &token[..42]),
        format!("/v1/files/{token}A"),
        format!("/v1/files/{token}%00"),
        "/v1/files/..%2Fcontent.sqlite3".to_owned(),
        "/v1/files/..%2F..%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        format!("/v1/files/..%2Fblobs%2F{blob_id}"),
        format!("/v1/files/{blob_id}"),
        "/v1/files/%FF%FE".to_owned(),
        elsewhere.url.clone(),
    ];
    let mut answers = Vec::new();
    for url in &bad {
        let response = ds.get(url, None).await;
        let status = response.status();
        let body = response.bytes().await.unwrap();
        assert_eq!(status, StatusCode::NOT_FOUND, "{url}");
        answers.push(body);
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "answers differ");
    let body: ErrorBody = serde_json::from_slice(&answers[0]).unwrap();
    assert_eq!(body.error, "unknown-file");
    ds.stop().await;
    other.stop().await;
}

#[tokio::test]
async fn expired_files_are_purged() {
    let dir = tempfile::tempdir().unwrap();
    let config = ContentConfig {
        expiry_secs: 60,
        ..ContentConfig::default()
    };
    let ds = Running::start(dir.path(), config).await;
    let answer = ds.put(b"short-lived").await;
    let stray = dir.path().join("tmp").join("0123.part");
    std::fs::write(&stray, b"left by a crash").unwrap();

    assert_eq!(ds.server.purge(ds.clock.now()).unwrap(), 0);
    assert_eq!(ds.fetch(&answer.url).await, b"short-lived");
    assert_eq!(stored(dir.path()), (1, 1, 1));

    // Expired: blob and row gone; a temporary file only an hour later.
    assert_eq!(ds.server.purge(answer.expires_at).unwrap(), 1);
    assert_eq!(stored(dir.path()), (0, 1, 0));
    let (status, body) = error_of(ds.get(&answer.url, None).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body.error, "unknown-file");

    assert_eq!(ds.server.purge(ds.clock.now() + 2 * 3600).unwrap(), 0);
    assert_eq!(stored(dir.path()), (0, 0, 0));
    ds.stop().await;
}

#[tokio::test]
async fn expired_files_are_unknown_before_the_purge() {
    let dir = tempfile::tempdir().unwrap();
    let config = ContentConfig {
        expiry_secs: 1,
        ..ContentConfig::default()
    };
    let ds = Running::start(dir.path(), config).await;
    let answer = ds.put(b"gone soon").await;
    ds.clock.set(answer.expires_at);
    let (status, body) = error_of(ds.get(&answer.url, None).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body.error, "unknown-file");
    // Still on disk until the purge runs.
    assert_eq!(stored(dir.path()), (1, 0, 1));
    ds.stop().await;
}

#[tokio::test]
async fn other_file_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ds = Running::start(dir.path(), ContentConfig::default()).await;
    for disposition in [
        "attachment; filename=\"holiday.jpg\"",
        "attachment; filename*=UTF-8''contract.pdf",
        "attachment; filename=\"encrypted_file",
    ] {
        let response = ds
            .upload_with(Some(ALICE), b"data".to_vec(), Some(disposition))
            .await;
        let (status, body) = error_of(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{disposition}");
        assert_eq!(body.error, "malformed-request");
    }
    assert_eq!(stored(dir.path()), (0, 0, 0));

    let response = ds
        .upload_with(
            Some(ALICE),
            b"data".to_vec(),
            Some("attachment; filename=\"encrypted_file\""),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(stored(dir.path()), (1, 0, 1));
    ds.stop().await;
}

#[tokio::test]
async fn uploads_are_rate_limited_per_device() {
    let dir = tempfile::tempdir().unwrap();
    let config = ContentConfig {
        upload_rate: RateLimit {
            burst: 2.0,
            per_second: 0.001,
        },
        ..ContentConfig::default()
    };
    let ds = Running::start(dir.path(), config).await;
    ds.put(b"one").await;
    ds.put(b"two").await;
    let response = ds.upload(Some(ALICE), b"three".to_vec()).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(error_of(response).await.1.error, "rate-limited");
    assert_eq!(stored(dir.path()), (2, 0, 2));

    let response = ds.upload(Some(BOB), b"bob's".to_vec()).await;
    assert_eq!(response.status(), StatusCode::OK);
    ds.stop().await;
}

#[tokio::test]
async fn files_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let body = bytes(300_000, 9);
    let ds = Running::start(dir.path(), ContentConfig::default()).await;
    let answer = ds.put(&body).await;
    ds.stop().await;

    // A blob whose row never got written (a crash in between) goes at
    // open; files that are not blobs stay.
    let orphan = dir
        .path()
        .join("blobs")
        .join("00112233445566778899aabbccddeeff");
    std::fs::write(&orphan, b"orphan").unwrap();
    let foreign = dir.path().join("blobs").join("README");
    std::fs::write(&foreign, b"not ours").unwrap();

    let ds = Running::start(dir.path(), ContentConfig::default()).await;
    assert!(!orphan.exists());
    assert!(foreign.exists());
    std::fs::remove_file(&foreign).unwrap();
    assert_eq!(ds.fetch(&answer.url).await, body);
    assert_eq!(stored(dir.path()), (1, 0, 1));
    ds.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let config = ContentConfig {
        upload_rate: RateLimit {
            burst: 100.0,
            per_second: 1.0,
        },
        ..ContentConfig::default()
    };
    let ds = Arc::new(Running::start(dir.path(), config).await);
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let ds = ds.clone();
        tasks.push(tokio::spawn(async move {
            let body = bytes(256 * 1024 + usize::from(i), i);
            let token = if i % 2 == 0 { ALICE } else { BOB };
            let response = ds.upload(Some(token), body.clone()).await;
            assert_eq!(response.status(), StatusCode::OK);
            let answer: UploadAnswer = response.json().await.unwrap();
            (body, answer)
        }));
    }
    let mut urls = std::collections::HashSet::new();
    for task in tasks {
        let (body, answer) = task.await.unwrap();
        assert_eq!(answer.sha256.0, sha256(&body));
        assert_eq!(ds.fetch(&answer.url).await, body);
        assert!(urls.insert(answer.url));
    }
    assert_eq!(stored(dir.path()), (16, 0, 16));
    Arc::into_inner(ds).unwrap().stop().await;
}
