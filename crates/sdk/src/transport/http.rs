//! The provider's HTTP API as a device calls it: TLS that trusts exactly
//! the provider's CA (and each peer's CA for that peer's host only,
//! PROV-TLS-1), JSON bodies, typed errors that say what to do.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crosslock_wire::api::ErrorBody;
use crosslock_wire::api::acs::{ProofRequest, ProofResponse};
use crosslock_wire::api::kds::{
    ClaimRequest, ClaimResponse, EnrollRequest, EnrollResponse, NonceResponse, Stock,
    UploadKeyPackages,
};
use crosslock_wire::api::provider::ProviderInfo;

use super::ds::DsClient;
use crate::error::SdkError;

/// The DER certificates in a PEM text.
pub fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, SdkError> {
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            let text = body.take().unwrap_or_default();
            out.push(
                STANDARD
                    .decode(text)
                    .map_err(|e| SdkError::input(format!("CA file: bad base64: {e}")))?,
            );
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    if out.is_empty() {
        return Err(SdkError::input(
            "CA file holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(out)
}

/// A provider's refusal as a typed error: its stable reason token when
/// the body is an [`ErrorBody`], the status alone otherwise.
pub(crate) fn server_error(what: &str, status: u16, body: &str) -> SdkError {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(b) => SdkError::Server {
            what: what.to_owned(),
            status,
            code: b.error,
            message: b.message,
        },
        Err(_) => SdkError::Server {
            what: what.to_owned(),
            status,
            code: String::new(),
            message: body.chars().take(200).collect(),
        },
    }
}

/// The longest an API call (not a file transfer) may take, whole; the
/// inbox long-poll waits at most 25 s of it.
pub const API_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// A provider's API.
#[derive(Clone, Debug)]
pub struct Api {
    base: String,
    http: reqwest::Client,
    /// Peers' content servers: (scheme://host:port, a client trusting only
    /// that peer's TLS root). Per-host pinning (PROV-TLS-1): a peer's CA is
    /// never trusted for this provider's API, nor for another peer's host.
    peers: Vec<(String, reqwest::Client)>,
}

/// `https://host:port` of a URL, lower-cased, without path.
fn origin(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && !authority.ends_with(']')
    {
        authority
    } else {
        format!("{authority}:443")
    };
    Some(format!("https://{with_port}"))
}

fn client(roots: &[Vec<u8>]) -> Result<reqwest::Client, SdkError> {
    let tls = crosslock_tls::client_config(roots, None)
        .map_err(|e| SdkError::input(format!("TLS root: {e}")))?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .https_only(true)
        // PROV-TLS-1 is checked on the URL asked for; a redirect would
        // take the request to a host nobody checked.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(10))
        // A stalled transfer ends; a long one (a large file) does not:
        // API calls add their own whole-request limit (API_TIMEOUT).
        .read_timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| SdkError::internal(format!("HTTP client: {e}")))
}

impl Api {
    /// The API at `base` (`https://…`), trusting the certificates in
    /// `ca_pem` and nothing else; `peers` are (peer public URL, its TLS
    /// root), each trusted for its own host only.
    pub fn new(base: &str, ca_pem: &str, peers: &[(String, Vec<u8>)]) -> Result<Api, SdkError> {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        if !base.starts_with("https://") {
            return Err(SdkError::input(format!(
                "server {base:?}: the URL must start with https://"
            )));
        }
        let http = client(&pem_certificates(ca_pem)?)?;
        let own = origin(base);
        let mut pinned = Vec::new();
        for (url, root) in peers {
            // A peer announcing this provider's own host gets nothing.
            if let Some(o) = origin(url)
                && Some(&o) != own.as_ref()
            {
                pinned.push((o, client(std::slice::from_ref(root))?));
            }
        }
        Ok(Api {
            base: base.trim_end_matches('/').to_owned(),
            http,
            peers: pinned,
        })
    }

    /// The client for a URL: this provider's for its own host, a peer's
    /// for that peer's host, none for any other host.
    pub fn http_for(&self, url: &str) -> Result<&reqwest::Client, SdkError> {
        let o = origin(url)
            .ok_or_else(|| SdkError::refused(format!("{url:?} is not an https:// URL")))?;
        if origin(&self.base).as_ref() == Some(&o) {
            return Ok(&self.http);
        }
        self.peers
            .iter()
            .find(|(p, _)| *p == o)
            .map(|(_, c)| c)
            .ok_or_else(|| {
                SdkError::refused(format!(
                    "{o} is neither this provider nor a peer it describes: not downloading from it"
                ))
            })
    }

    /// Starts downloading `url` from this provider or a peer it describes
    /// (PROV-TLS-1: nobody else); refuses an answer that is not a success.
    pub async fn download(&self, url: &str) -> Result<reqwest::Response, SdkError> {
        let response = self
            .http_for(url)?
            .get(url)
            .send()
            .await
            .map_err(|e| SdkError::network(format!("download: {e}")))?;
        let status = response.status();
        // A server failing now may serve it later; a 4xx (expired,
        // removed, not allowed) will say the same every time.
        if status.is_server_error() {
            return Err(SdkError::network(format!(
                "download: HTTP {status}; try again later"
            )));
        }
        if !status.is_success() {
            return Err(SdkError::refused(format!(
                "download: HTTP {status} (expired or removed?)"
            )));
        }
        Ok(response)
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The delivery service, as the device holding `token`.
    pub fn ds(&self, token: &str) -> DsClient {
        DsClient::new(self.http.clone(), self.base.clone(), token.to_owned())
    }

    fn unreachable(&self, e: reqwest::Error) -> SdkError {
        SdkError::network(format!(
            "cannot reach {}: {e}; is `crosslock serve` running there, and is --ca its TLS root?",
            self.base
        ))
    }

    async fn answer<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        response: reqwest::Response,
    ) -> Result<T, SdkError> {
        let status = response.status();
        let text = response.text().await.map_err(|e| self.unreachable(e))?;
        if !status.is_success() {
            return Err(server_error(path, status.as_u16(), &text));
        }
        serde_json::from_str(&text)
            .map_err(|e| SdkError::network(format!("{path}: unexpected answer: {e}")))
    }

    pub async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, SdkError> {
        self.get_as(path, None).await
    }

    /// `GET path`, as the device holding `token` when given.
    pub async fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> Result<T, SdkError> {
        let mut request = self
            .http
            .get(format!("{}{path}", self.base))
            .timeout(API_TIMEOUT);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        self.answer(path, response).await
    }

    pub async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: Option<&str>,
        body: &B,
    ) -> Result<T, SdkError> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .timeout(API_TIMEOUT)
            .json(body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        self.answer(path, response).await
    }

    pub async fn provider_info(&self) -> Result<ProviderInfo, SdkError> {
        self.get("/v1/provider").await
    }

    pub async fn carrier_proof(&self, request: &ProofRequest) -> Result<ProofResponse, SdkError> {
        self.post("/acs/v1/proof", None, request).await
    }

    pub async fn nonce(&self) -> Result<NonceResponse, SdkError> {
        self.post("/v1/enrollment/nonce", None, &serde_json::json!({}))
            .await
    }

    pub async fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse, SdkError> {
        self.post("/v1/enrollment", None, request).await
    }

    /// `POST /v1/keypackages`; the answer is the KDS's stock after it.
    pub async fn upload_key_packages(
        &self,
        token: &str,
        upload: &UploadKeyPackages,
    ) -> Result<Stock, SdkError> {
        self.post("/v1/keypackages", Some(token), upload).await
    }

    /// `GET /v1/keypackages/stock`: what the KDS holds for this device
    /// (unexpired single-use KeyPackages per suite, suites with a
    /// last-resort one).
    pub async fn key_package_stock(&self, token: &str) -> Result<Stock, SdkError> {
        self.get_as("/v1/keypackages/stock", Some(token)).await
    }

    /// `POST /v1/kt/lookup`: a lookup proof of `number`'s current binding.
    pub async fn lookup(
        &self,
        token: &str,
        number: &str,
    ) -> Result<crosslock_wire::api::kt::LookupAnswer, SdkError> {
        self.post(
            "/v1/kt/lookup",
            Some(token),
            &crosslock_wire::api::kt::NumberRequest {
                number: number.to_owned(),
            },
        )
        .await
    }

    pub async fn claim(&self, token: &str, number: &str) -> Result<ClaimResponse, SdkError> {
        self.post(
            "/v1/claim",
            Some(token),
            &ClaimRequest {
                number: number.to_owned(),
            },
        )
        .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{Api, origin};
    use crosslock_tls::{ClientAuth, TlsCa};

    /// A TLS server on loopback with a certificate from `ca`; its URL.
    async fn server(ca: &TlsCa) -> String {
        let identity = ca
            .issue_server(&["localhost"], &[std::net::IpAddr::from([127, 0, 0, 1])])
            .unwrap();
        let tls = crosslock_tls::server_config(&identity, ClientAuth::None).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let router =
            axum::Router::new().route("/v1/files/x", axum::routing::get(|| async { "blob" }));
        tokio::spawn(crosslock_tls::serve(
            listener,
            router,
            Some(tls),
            std::future::pending::<()>(),
        ));
        url
    }

    /// PROV-TLS-1, the attack: a peer whose TLS CA the descriptor lists
    /// (for its own content server) issues a certificate for this
    /// provider's host and answers there. The device's client for its own
    /// provider trusts its own CA alone, so it refuses; the peer's root
    /// opens only the peer's own host; a third host opens nothing.
    #[tokio::test]
    async fn a_peers_tls_root_opens_only_that_peers_host() {
        let own = TlsCa::generate("own provider TLS").unwrap();
        let peer = TlsCa::generate("peer provider TLS").unwrap();
        let peer_url = server(&peer).await;
        let impostor_url = server(&peer).await;
        // The device believes `impostor_url` is its own provider.
        let api = Api::new(
            &impostor_url,
            &own.certificate_pem(),
            &[(peer_url.clone(), peer.certificate_der().to_vec())],
        )
        .unwrap();
        let own_host = format!("{impostor_url}/v1/files/x");
        let refused = api.http_for(&own_host).unwrap().get(&own_host).send().await;
        assert!(
            refused.is_err(),
            "the peer's certificate passed for our own provider"
        );
        let peer_file = format!("{peer_url}/v1/files/x");
        let fetched = api
            .http_for(&peer_file)
            .unwrap()
            .get(&peer_file)
            .send()
            .await
            .unwrap();
        assert_eq!(fetched.text().await.unwrap(), "blob");
        assert!(
            api.http_for("https://elsewhere.example/v1/files/x")
                .is_err()
        );
    }

    #[test]
    fn origins_compare_host_and_port() {
        assert_eq!(
            origin("https://A.example/v1/files/x").as_deref(),
            Some("https://a.example:443")
        );
        assert_eq!(
            origin("https://127.0.0.1:8443/v1").as_deref(),
            Some("https://127.0.0.1:8443")
        );
        assert_eq!(
            origin("https://[::1]:8443/x").as_deref(),
            Some("https://[::1]:8443")
        );
        assert_eq!(origin("http://a.example/"), None);
        assert_eq!(origin("https://user@a.example/"), None);
        assert_eq!(origin("https:///x"), None);
    }
}
