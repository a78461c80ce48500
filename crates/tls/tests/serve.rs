//! `serve` on loopback: HTTPS for devices, mutual TLS between providers,
//! optional client certificates, plain HTTP, and graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::{Extension, Router};
use crosslock_tls::rustls::pki_types::ServerName;
use crosslock_tls::{
    ClientAuth, Identity, PeerCertificate, TlsCa, client_config, https_client, serve, server_config,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Counts slow requests that ran to completion on the server side.
type Finished = Arc<AtomicUsize>;

fn router(finished: Finished) -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/peer",
            get(|Extension(peer): Extension<PeerCertificate>| async move {
                peer.sha256()
                    .map(|h| common::hex(&h))
                    .unwrap_or_else(|| "none".into())
            }),
        )
        .route(
            "/addr",
            get(|ConnectInfo(addr): ConnectInfo<SocketAddr>| async move { addr.ip().to_string() }),
        )
        .route(
            "/slow",
            get(move || async move {
                tokio::time::sleep(Duration::from_millis(600)).await;
                finished.fetch_add(1, Ordering::SeqCst);
                "slow"
            }),
        )
}

/// A running server and the means to stop it.
struct Server {
    addr: SocketAddr,
    finished: Finished,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(tls: Option<Arc<crosslock_tls::rustls::ServerConfig>>) -> Server {
        let listener = TcpListener::bind((LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let finished = Finished::default();
        let task = tokio::spawn(serve(listener, router(finished.clone()), tls, async {
            let _ = stopped.await;
        }));
        Server {
            addr,
            finished,
            stop: Some(stop),
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// Triggers shutdown and waits for `serve` to return; returns how many
    /// slow requests had completed by then.
    async fn stop(mut self) -> usize {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("serve returns after shutdown")
            .unwrap()
            .unwrap();
        self.finished.load(Ordering::SeqCst)
    }
}

/// A provider: its TLS CA and a server certificate for 127.0.0.1.
struct Provider {
    ca: TlsCa,
    server: Identity,
}

impl Provider {
    fn new(name: &str) -> Provider {
        let ca = TlsCa::generate(name).unwrap();
        let server = ca.issue_server(&["localhost"], &[LOCALHOST]).unwrap();
        Provider { ca, server }
    }

    fn root(&self) -> Vec<Vec<u8>> {
        vec![self.ca.certificate_der().to_vec()]
    }
}

fn client(roots: &[Vec<u8>], identity: Option<&Identity>) -> reqwest::Client {
    https_client(client_config(roots, identity).unwrap()).unwrap()
}

async fn get_text(client: &reqwest::Client, url: &str) -> reqwest::Result<String> {
    client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await
}

#[tokio::test]
async fn device_facing_https() {
    let provider = Provider::new("Provider A");
    let server = Server::start(Some(
        server_config(&provider.server, ClientAuth::None).unwrap(),
    ))
    .await;

    let trusted = client(&provider.root(), None);
    let response = trusted.get(server.url("/hello")).send().await.unwrap();
    // ALPN picked HTTP/2.
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.text().await.unwrap(), "hello");
    assert_eq!(
        get_text(&trusted, &server.url("/peer")).await.unwrap(),
        "none"
    );
    assert_eq!(
        get_text(&trusted, &server.url("/addr")).await.unwrap(),
        "127.0.0.1"
    );

    // A client trusting another CA does not connect.
    let stranger = Provider::new("Provider B");
    let untrusting = client(&stranger.root(), None);
    let err = get_text(&untrusting, &server.url("/hello"))
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");

    // The https-only client refuses plain http.
    assert!(
        trusted
            .get(format!("http://{}/hello", server.addr))
            .send()
            .await
            .is_err()
    );

    // Garbage instead of a ClientHello drops only that connection.
    let mut raw = TcpStream::connect(server.addr).await.unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = raw.read_to_end(&mut buf).await;
    assert_eq!(
        get_text(&trusted, &server.url("/hello")).await.unwrap(),
        "hello"
    );

    server.stop().await;
}

/// Connects with raw tokio-rustls and reports how the server answered a
/// request: Ok(bytes) or the error that ended the connection.
async fn raw_exchange(
    addr: SocketAddr,
    config: crosslock_tls::rustls::ClientConfig,
) -> std::io::Result<Vec<u8>> {
    let tcp = TcpStream::connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut tls = connector
        .connect(ServerName::IpAddress(LOCALHOST.into()), tcp)
        .await?;
    tls.write_all(b"GET /hello HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await?;
    Ok(response)
}

fn alert_received(result: &std::io::Result<Vec<u8>>) -> bool {
    let Err(e) = result else { return false };
    matches!(
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<crosslock_tls::rustls::Error>()),
        Some(crosslock_tls::rustls::Error::AlertReceived(_))
    )
}

#[tokio::test]
async fn federation_requires_a_peer_certificate() {
    let home = Provider::new("Home provider");
    let peer_ca = TlsCa::generate("Peer provider").unwrap();
    let server = Server::start(Some(
        server_config(
            &home.server,
            ClientAuth::Required {
                roots: vec![peer_ca.certificate_der().to_vec()],
            },
        )
        .unwrap(),
    ))
    .await;

    // A peer presenting a certificate from its CA gets through and the
    // handler sees exactly that certificate.
    let peer_identity = peer_ca.issue_client("peer.example").unwrap();
    let peer = client(&home.root(), Some(&peer_identity));
    assert_eq!(
        get_text(&peer, &server.url("/peer")).await.unwrap(),
        common::hex(&peer_identity.leaf_sha256())
    );

    // No certificate: refused at the TLS layer.
    let anonymous = client(&home.root(), None);
    assert!(get_text(&anonymous, &server.url("/hello")).await.is_err());
    let raw = raw_exchange(server.addr, client_config(&home.root(), None).unwrap()).await;
    assert!(alert_received(&raw), "{raw:?}");

    // A certificate from another CA: refused at the TLS layer.
    let intruder_ca = TlsCa::generate("Intruder").unwrap();
    let intruder_identity = intruder_ca.issue_client("peer.example").unwrap();
    let intruder = client(&home.root(), Some(&intruder_identity));
    assert!(get_text(&intruder, &server.url("/hello")).await.is_err());
    let raw = raw_exchange(
        server.addr,
        client_config(&home.root(), Some(&intruder_identity)).unwrap(),
    )
    .await;
    assert!(alert_received(&raw), "{raw:?}");

    // The server keeps serving the legitimate peer, on a new connection too.
    let fresh_peer = client(&home.root(), Some(&peer_identity));
    assert_eq!(
        get_text(&fresh_peer, &server.url("/hello")).await.unwrap(),
        "hello"
    );
    let raw = raw_exchange(
        server.addr,
        client_config(&home.root(), Some(&peer_identity)).unwrap(),
    )
    .await
    .unwrap();
    assert!(raw.starts_with(b"HTTP/1.1 200"), "{raw:?}");

    server.stop().await;
}

#[tokio::test]
async fn optional_client_certificates() {
    let home = Provider::new("Home provider");
    let peer_ca = TlsCa::generate("Peer provider").unwrap();
    let server = Server::start(Some(
        server_config(
            &home.server,
            ClientAuth::Optional {
                roots: vec![peer_ca.certificate_der().to_vec()],
            },
        )
        .unwrap(),
    ))
    .await;

    let anonymous = client(&home.root(), None);
    assert_eq!(
        get_text(&anonymous, &server.url("/peer")).await.unwrap(),
        "none"
    );

    let identity = peer_ca.issue_client("peer.example").unwrap();
    let peer = client(&home.root(), Some(&identity));
    assert_eq!(
        get_text(&peer, &server.url("/peer")).await.unwrap(),
        common::hex(&identity.leaf_sha256())
    );

    // Presented but untrusted is still refused.
    let intruder = TlsCa::generate("Intruder")
        .unwrap()
        .issue_client("peer.example")
        .unwrap();
    let intruder = client(&home.root(), Some(&intruder));
    assert!(get_text(&intruder, &server.url("/peer")).await.is_err());

    server.stop().await;
}

/// Sends a raw HTTP/1.1 request and returns the whole response.
async fn plain_request(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn plain_http_has_no_peer_certificate() {
    let server = Server::start(None).await;
    let response = plain_request(server.addr, "/peer").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("none"), "{response}");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_over_tls() {
    let provider = Provider::new("Provider A");
    let server = Server::start(Some(
        server_config(&provider.server, ClientAuth::None).unwrap(),
    ))
    .await;
    let addr = server.addr;
    let trusted = client(&provider.root(), None);
    let url = server.url("/slow");
    let in_flight = tokio::spawn(async move { get_text(&trusted, &url).await });
    tokio::time::sleep(Duration::from_millis(200)).await;

    // `serve` returns only after the in-flight request completed.
    assert_eq!(server.stop().await, 1);
    assert_eq!(in_flight.await.unwrap().unwrap(), "slow");
    // The listener is closed.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_over_http1() {
    let server = Server::start(None).await;
    let addr = server.addr;
    let in_flight = tokio::spawn(async move { plain_request(addr, "/slow").await });
    tokio::time::sleep(Duration::from_millis(200)).await;

    assert_eq!(server.stop().await, 1);
    let response = in_flight.await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("slow"), "{response}");
    assert!(TcpStream::connect(addr).await.is_err());
}

// Measures how fast the server stops: elapsed wall time.
#[allow(clippy::disallowed_methods)]
#[tokio::test]
async fn idle_server_stops_at_once() {
    let server = Server::start(None).await;
    let started = std::time::Instant::now();
    server.stop().await;
    assert!(started.elapsed() < Duration::from_secs(2));
}
