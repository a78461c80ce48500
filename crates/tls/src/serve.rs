//! Serving an axum router over TLS (or plain HTTP), with graceful shutdown.
//!
//! Each accepted connection runs in its own task: the TLS handshake (bounded
//! by [`HANDSHAKE_TIMEOUT`]), then HTTP/1.1 or HTTP/2 as ALPN chose. A failed
//! handshake drops only that connection. On shutdown the listener closes at
//! once, open connections are asked to finish (HTTP/1.1 after the current
//! request, HTTP/2 by GOAWAY), and `serve` waits at most [`SHUTDOWN_GRACE`]
//! for them.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::identity::sha256;

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests may run on after shutdown begins.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's headers (HTTP/1.1).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after an accept error that is not about one connection (e.g. out
/// of file descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The connection's verified client certificate (leaf, DER), inserted into
/// every request's extensions by [`serve`] (`None` when the client presented
/// none, or the server is plain HTTP).
///
/// rustls has already checked the chain against the server's
/// [`ClientAuth`](crate::ClientAuth) roots; handlers decide what the
/// certificate is allowed to do (e.g. match it against a pinned
/// [`Identity::leaf_sha256`](crate::Identity::leaf_sha256)).
#[derive(Debug, Clone)]
pub struct PeerCertificate(pub Option<Vec<u8>>);

impl PeerCertificate {
    /// SHA-256 of the leaf certificate DER, the form peers are pinned in.
    pub fn sha256(&self) -> Option<[u8; 32]> {
        self.0.as_deref().map(sha256)
    }
}

/// Serves `router` on `listener` until `shutdown` completes: over TLS when
/// `tls` is Some (each request gets `axum::Extension(PeerCertificate(..))`),
/// plain HTTP otherwise (`PeerCertificate(None)`). Every request also gets
/// `axum::extract::ConnectInfo<SocketAddr>` with the client's address.
///
/// Stops accepting at shutdown, lets in-flight requests finish (at most
/// [`SHUTDOWN_GRACE`]), and returns. A failed TLS handshake only drops that
/// connection (logged at debug), never stops the server; accept errors are
/// logged and retried, so the result is `Ok` today (the `io::Result` leaves
/// room for fatal listener errors).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        let (stream, remote) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        let connection = Connection {
            remote,
            acceptor: acceptor.clone(),
            router: router.clone(),
            builder: builder.clone(),
            watcher: graceful.watcher(),
        };
        tokio::spawn(connection.run(stream));
    }

    drop(listener);
    tracing::debug!(connections = graceful.count(), "shutting down");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("shutdown grace period over; abandoning open connections");
    }
    Ok(())
}

/// Errors that concern only the connection being accepted.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock
    )
}

async fn accept_failed(e: std::io::Error) {
    if is_connection_error(&e) {
        tracing::debug!(error = %e, "accept failed for one connection");
    } else {
        tracing::warn!(error = %e, "accept failed; backing off");
        tokio::time::sleep(ACCEPT_BACKOFF).await;
    }
}

/// One accepted connection, before its handshake.
struct Connection {
    remote: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    router: Router,
    builder: auto::Builder<TokioExecutor>,
    watcher: Watcher,
}

impl Connection {
    async fn run(self, stream: TcpStream) {
        // Small request/response exchanges: do not wait to coalesce writes.
        let _ = stream.set_nodelay(true);
        let Some(acceptor) = self.acceptor.clone() else {
            self.http(TokioIo::new(stream), PeerCertificate(None)).await;
            return;
        };
        let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(remote = %self.remote, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(remote = %self.remote, "TLS handshake timed out");
                return;
            }
        };
        let peer = PeerCertificate(
            tls.get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| leaf.to_vec()),
        );
        self.http(TokioIo::new(tls), peer).await;
    }

    async fn http<I>(self, io: I, peer: PeerCertificate)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let Connection {
            remote,
            router,
            builder,
            watcher,
            ..
        } = self;
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(peer.clone());
            request.extensions_mut().insert(ConnectInfo(remote));
            let router = router.clone();
            async move {
                Ok::<_, Infallible>(router.oneshot(request).await.unwrap_or_else(|e| match e {}))
            }
        });
        let connection = builder.serve_connection_with_upgrades(io, service);
        if let Err(e) = watcher.watch(connection).await {
            tracing::debug!(remote = %remote, error = %e, "connection ended with an error");
        }
    }
}
