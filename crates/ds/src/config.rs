//! Delivery-service settings. Every setting has a default a small
//! provider can run with.

use crosslock_credential::{NumberingPlan, TrustPolicy};

/// A token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Bucket size.
    pub burst: f64,
    /// Refill rate.
    pub per_second: f64,
}

/// A peer provider whose devices take part in conversations with ours.
#[derive(Debug, Clone)]
pub struct PeerDs {
    /// The peer's provider name (its KDS id).
    pub name: String,
    /// Base URL of its federation API (mutual TLS).
    pub federation_url: String,
    /// SHA-256 of the TLS client certificate it presents to us.
    pub tls_fingerprint: [u8; 32],
    /// The credential roots of devices homed there.
    pub credentials: TrustPolicy,
}

/// Push behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushSettings {
    /// Wake-ups for the same device within this window go out once, and
    /// wake-ups are sent in batches collected over it (milliseconds).
    pub batch_window_ms: u64,
    /// A random delay up to this is added before each batch, so a push's
    /// timing says less about when a message was sent (milliseconds).
    pub max_random_delay_ms: u64,
}

impl Default for PushSettings {
    fn default() -> Self {
        PushSettings {
            batch_window_ms: 200,
            max_random_delay_ms: 0,
        }
    }
}

/// The delivery service's configuration.
#[derive(Debug, Clone)]
pub struct DsConfig {
    /// This provider's name (its KDS id), as peers know it.
    pub name: String,
    /// The credential roots of devices homed here.
    pub credentials: TrustPolicy,
    /// Peer providers.
    pub peers: Vec<PeerDs>,
    /// Which provider is home for which numbers (HOME-1), naming this
    /// provider and its peers as `name` and [`PeerDs::name`] do. When set,
    /// a peer proves a conversation's creation (DS-FED-5) only with a
    /// creator whose number the plan homes at that peer; `None` (the
    /// default): the creator's credential roots alone decide.
    pub numbering: Option<NumberingPlan>,
    /// How long an unacknowledged message, a commit for catch-up and an
    /// idempotency record are kept (seconds; default 30 days).
    pub retention_secs: u64,
    /// Largest accepted CPIM envelope of an application message or
    /// proposal (default 256 KiB; files go to the content server).
    pub max_message_bytes: usize,
    /// Largest request body (a commit with its Welcome and GroupInfo carries
    /// the ratchet tree twice; default 8 MiB).
    pub max_body_bytes: usize,
    /// Per sending device.
    pub device_rate: RateLimit,
    /// Per conversation.
    pub conversation_rate: RateLimit,
    /// Per authenticated peer provider, for its federation requests
    /// (deliveries, forwarded submissions and catch-ups; DS-FED-6).
    pub peer_rate: RateLimit,
    /// External commits per conversation per day (RCC.16: 50).
    pub external_commits_per_day: u64,
    /// Longest long-poll (seconds).
    pub max_wait_secs: u64,
    /// Push batching and delay.
    pub push: PushSettings,
}

impl DsConfig {
    /// Defaults for provider `name` whose devices' credentials chain to
    /// `credentials`.
    pub fn new(name: impl Into<String>, credentials: TrustPolicy) -> Self {
        DsConfig {
            name: name.into(),
            credentials,
            peers: Vec::new(),
            numbering: None,
            retention_secs: 30 * 86_400,
            max_message_bytes: 256 * 1024,
            max_body_bytes: 8 * 1024 * 1024,
            device_rate: RateLimit {
                burst: 200.0,
                per_second: 50.0,
            },
            conversation_rate: RateLimit {
                burst: 1000.0,
                per_second: 500.0,
            },
            peer_rate: RateLimit {
                burst: 2000.0,
                per_second: 500.0,
            },
            external_commits_per_day: 50,
            max_wait_secs: 30,
            push: PushSettings::default(),
        }
    }

    /// Every credential root a conversation's member may chain to.
    pub(crate) fn all_credentials(&self) -> TrustPolicy {
        let mut all = self.credentials.clone();
        for peer in &self.peers {
            all = all.merged(&peer.credentials);
        }
        all
    }
}
