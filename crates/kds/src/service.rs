//! The KDS: configuration, store and the operations behind the routes.

use std::sync::{Arc, OnceLock};

use crosslock_credential::AwsLcVerifier;
use crosslock_profile::Environment;

use crate::config::KdsConfig;
use crate::federation::FederationClient;
use crate::store::KdsStore;

/// A key distribution service.
pub struct Kds {
    pub(crate) config: KdsConfig,
    pub(crate) store: Arc<dyn KdsStore>,
    /// The clock (enrollment, claims, expiry, epochs) and the random
    /// source (nonces, tokens, serials).
    pub(crate) env: Environment,
    pub(crate) verifier: AwsLcVerifier,
    pub(crate) federation: FederationClient,
    pub(crate) kt: Option<Arc<crosslock_kt::server::KtLog>>,
    /// The key of requester ids forwarded to peers (read from the store
    /// on first use).
    pub(crate) requester_key: OnceLock<[u8; 32]>,
}

impl std::fmt::Debug for Kds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kds")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Kds {
    /// A KDS over `store`, reading time and randomness from `env`.
    /// `federation` is how it reaches peer providers (mutually
    /// authenticated TLS); [`FederationClient::none`] when it has no peers.
    pub fn new(
        config: KdsConfig,
        store: Arc<dyn KdsStore>,
        federation: FederationClient,
        env: Environment,
    ) -> Self {
        Kds {
            config,
            store,
            env,
            verifier: AwsLcVerifier,
            federation,
            kt: None,
            requester_key: OnceLock::new(),
        }
    }

    /// Attaches a key-transparency directory: enrollments and revocations
    /// are published to it (see [`Kds::run_transparency`]), claim answers
    /// carry lookup proofs, and `/v1/kt/...` is served.
    pub fn with_transparency(mut self, log: Arc<crosslock_kt::server::KtLog>) -> Self {
        self.kt = Some(log);
        self
    }

    /// The attached key-transparency directory.
    pub fn transparency(&self) -> Option<&Arc<crosslock_kt::server::KtLog>> {
        self.kt.as_ref()
    }

    /// The store (the delivery service checks device tokens against it).
    pub fn store(&self) -> &Arc<dyn KdsStore> {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &KdsConfig {
        &self.config
    }

    /// The clock and random source.
    pub fn env(&self) -> &Environment {
        &self.env
    }

    /// Seconds since the Unix epoch, by the KDS's clock.
    pub(crate) fn now(&self) -> u64 {
        self.env.now()
    }

    pub(crate) fn random<const N: usize>(&self) -> [u8; N] {
        self.env.random()
    }
}
