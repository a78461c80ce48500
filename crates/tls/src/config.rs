//! rustls configurations for Crosslock servers and clients.
//!
//! Both sides use the aws-lc-rs provider, TLS 1.3 only, and offer ALPN
//! `h2` then `http/1.1`. Trust is always explicit: the roots are the
//! certificates a provider's configuration names, never the system store.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::TlsError;
use crate::identity::Identity;

/// Which clients a TLS server accepts.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// No client certificates (the device-facing API).
    None,
    /// A client certificate chaining to one of these roots (DER) is required
    /// (provider federation).
    Required {
        /// Trust roots for client certificates, DER.
        roots: Vec<Vec<u8>>,
    },
    /// Verified when presented, not required.
    Optional {
        /// Trust roots for client certificates, DER.
        roots: Vec<Vec<u8>>,
    },
}

/// The ALPN protocols offered by both sides, in preference order.
fn alpn() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn root_store(roots: &[Vec<u8>]) -> Result<Arc<RootCertStore>, TlsError> {
    if roots.is_empty() {
        return Err(TlsError::Config("no trust roots given".into()));
    }
    let mut store = RootCertStore::empty();
    for (index, root) in roots.iter().enumerate() {
        store
            .add(CertificateDer::from(root.clone()))
            .map_err(|e| TlsError::certificate(format!("trust root #{index}"), e))?;
    }
    Ok(Arc::new(store))
}

fn chain_and_key(identity: &Identity) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let chain = identity
        .chain
        .iter()
        .map(|c| CertificateDer::from(c.clone()))
        .collect();
    // rustls keeps its own copy; PrivatePkcs8KeyDer zeroizes it on drop.
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key.pkcs8_der().to_vec()));
    (chain, key)
}

/// A server configuration presenting `identity`, accepting clients as
/// `client_auth` says.
pub fn server_config(
    identity: &Identity,
    client_auth: ClientAuth,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?;
    let verifier_error = |e: rustls::server::VerifierBuilderError| TlsError::Config(e.to_string());
    let builder = match client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Required { roots } => builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(root_store(&roots)?, provider)
                .build()
                .map_err(verifier_error)?,
        ),
        ClientAuth::Optional { roots } => builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(root_store(&roots)?, provider)
                .allow_unauthenticated()
                .build()
                .map_err(verifier_error)?,
        ),
    };
    let (chain, key) = chain_and_key(identity);
    let mut config = builder.with_single_cert(chain, key)?;
    config.alpn_protocols = alpn();
    Ok(Arc::new(config))
}

/// A client configuration trusting exactly `roots` (DER) for servers, and
/// presenting `identity` when a server asks for a client certificate.
pub fn client_config(
    roots: &[Vec<u8>],
    identity: Option<&Identity>,
) -> Result<ClientConfig, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(root_store(roots)?);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(identity) => {
            let (chain, key) = chain_and_key(identity);
            builder.with_client_auth_cert(chain, key)?
        }
    };
    config.alpn_protocols = alpn();
    Ok(config)
}
