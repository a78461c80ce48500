//! A proxy on loopback between a phone and its provider, the network as
//! a test wants it: it terminates the phone's TLS (the phone trusts the
//! proxy's root) and forwards every request to the provider as it came.
//! Told to, it loses the provider's answer to a commit after the provider
//! gave it (the connection breaks mid-answer, as when a phone loses its
//! network), or signals the moment an inbox acknowledgement went through.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::Response;
use crosslock_provider::Provider;
use crosslock_tls::{ClientAuth, TlsCa};

use super::Route;

/// The proxy, serving until the test's runtime ends.
pub(crate) struct Proxy {
    url: String,
    ca_pem: String,
    state: Arc<Shared>,
}

struct Shared {
    upstream: reqwest::Client,
    provider: String,
    /// How many more answers to `POST /v1/ds/commit` to lose.
    lose_commits: AtomicUsize,
    /// The statuses the provider gave to the commits whose answer was lost.
    lost: Mutex<Vec<u16>>,
    /// How many more answers to `POST /v1/enrollment` to lose.
    lose_enrolments: AtomicUsize,
    /// The statuses the provider gave to the enrolments whose answer was lost.
    lost_enrolments: Mutex<Vec<u16>>,
    /// Fired once the next `POST /v1/ds/inbox/ack` was answered by the
    /// provider, before the phone gets the answer.
    on_ack: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl Proxy {
    /// A proxy in front of `provider`.
    pub(crate) async fn start(provider: &Provider) -> Proxy {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let provider_roots = crosslock_sdk::transport::pem_certificates(
            &std::fs::read_to_string(provider.tls_ca_path()).unwrap(),
        )
        .unwrap();
        let upstream = reqwest::Client::builder()
            .tls_backend_preconfigured(crosslock_tls::client_config(&provider_roots, None).unwrap())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let ca = TlsCa::generate("test proxy").unwrap();
        let identity = ca
            .issue_server(&["localhost"], &[std::net::IpAddr::from([127, 0, 0, 1])])
            .unwrap();
        let tls = crosslock_tls::server_config(&identity, ClientAuth::None).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let state = Arc::new(Shared {
            upstream,
            provider: provider.public_url(),
            lose_commits: AtomicUsize::new(0),
            lost: Mutex::new(Vec::new()),
            lose_enrolments: AtomicUsize::new(0),
            lost_enrolments: Mutex::new(Vec::new()),
            on_ack: Mutex::new(None),
        });
        let router = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        tokio::spawn(crosslock_tls::serve(
            listener,
            router,
            Some(tls),
            std::future::pending::<()>(),
        ));
        Proxy {
            url,
            ca_pem: ca.certificate_pem(),
            state,
        }
    }

    /// The way to the provider through this proxy.
    pub(crate) fn route(&self) -> Route {
        Route {
            server: self.url.clone(),
            tls_ca_pem: self.ca_pem.clone(),
        }
    }

    /// Loses the provider's answers to the next `n` commits.
    pub(crate) fn lose_commit_answers(&self, n: usize) {
        self.state.lose_commits.store(n, Ordering::SeqCst);
    }

    /// What the provider had answered to each commit whose answer was lost.
    pub(crate) fn lost_answers(&self) -> Vec<u16> {
        self.state.lost.lock().unwrap().clone()
    }

    /// Loses the provider's answers to the next `n` enrolments (a
    /// renewal is one).
    pub(crate) fn lose_enrolment_answers(&self, n: usize) {
        self.state.lose_enrolments.store(n, Ordering::SeqCst);
    }

    /// What the provider had answered to each enrolment whose answer was
    /// lost.
    pub(crate) fn lost_enrolment_answers(&self) -> Vec<u16> {
        self.state.lost_enrolments.lock().unwrap().clone()
    }

    /// Resolves once the next inbox acknowledgement reached the provider
    /// (and was answered), before the phone hears the answer.
    pub(crate) fn next_ack(&self) -> impl std::future::Future<Output = ()> + use<> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        *self.state.on_ack.lock().unwrap() = Some(tx);
        async move {
            let _ = rx.await;
        }
    }
}

/// Headers that belong to one hop.
fn hop_by_hop(name: &HeaderName) -> bool {
    [
        header::HOST,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
    ]
    .contains(name)
}

async fn forward(State(state): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 << 20).await.unwrap();
    let path = parts.uri.path().to_owned();
    let target = format!(
        "{}{}",
        state.provider,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut upstream = state.upstream.request(parts.method.clone(), target);
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.body(body).send().await {
        Ok(answer) => answer,
        Err(e) => {
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::from(e.to_string()))
                .unwrap();
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap();

    let lose_enrolment = path == "/v1/enrollment"
        && parts.method == axum::http::Method::POST
        && state
            .lose_enrolments
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    if lose_enrolment {
        state.lost_enrolments.lock().unwrap().push(status.as_u16());
        let broken = futures_util::stream::once(async {
            Err::<Vec<u8>, _>(std::io::Error::other("the connection was lost"))
        });
        return Response::builder()
            .status(StatusCode::OK)
            .body(Body::from_stream(broken))
            .unwrap();
    }
    if path == "/v1/ds/commit"
        && state
            .lose_commits
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    {
        state.lost.lock().unwrap().push(status.as_u16());
        // The provider decided; the phone never hears it.
        let broken = futures_util::stream::once(async {
            Err::<Vec<u8>, _>(std::io::Error::other("the connection was lost"))
        });
        return Response::builder()
            .status(StatusCode::OK)
            .body(Body::from_stream(broken))
            .unwrap();
    }
    if path == "/v1/ds/inbox/ack" {
        let fired = state.on_ack.lock().unwrap().take();
        if let Some(tx) = fired {
            let _ = tx.send(());
            // The phone hears the answer well after the stop fired.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    }
    let mut response = Response::builder().status(status);
    for (name, value) in &headers {
        if !hop_by_hop(name) {
            response = response.header(name, value);
        }
    }
    response.body(Body::from(bytes.to_vec())).unwrap()
}
