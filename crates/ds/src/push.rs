//! Push: wake a device, say nothing else.
//!
//! A push reveals that *something* arrived for a device, never what, from
//! whom or in which conversation (GUIDE §4: "push leaks who and when:
//! wake-up only"). Wake-ups are collected over a short window, one per
//! device, and can be delayed by a random amount so their timing tells an
//! observer less.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crosslock_wire::api::ds::{DeviceRef, WakeUp};
use tokio::sync::mpsc;

use crate::config::PushSettings;
use crate::store::PushTokens;

/// Where wake-ups go: the provider's push service.
pub trait PushGateway: Send + Sync + std::fmt::Debug {
    /// Wakes the devices holding these push tokens.
    fn wake(&self, wake: WakeUp) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
}

/// A webhook: `POST url` with a [`WakeUp`] body (only push tokens).
#[derive(Debug, Clone)]
pub struct WebhookPush {
    client: reqwest::Client,
    url: String,
}

impl WebhookPush {
    /// Posts wake-ups to `url` with `client`.
    pub fn new(client: reqwest::Client, url: impl Into<String>) -> Self {
        WebhookPush {
            client,
            url: url.into(),
        }
    }
}

impl PushGateway for WebhookPush {
    fn wake(&self, wake: WakeUp) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move {
            let response = self
                .client
                .post(&self.url)
                .json(&wake)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(format!("push webhook answered {}", response.status()))
            }
        })
    }
}

/// An in-process gateway: wake-ups go to a channel (tests, and a
/// provider that wakes devices over its own connection).
#[derive(Debug, Clone)]
pub struct ChannelPush(mpsc::UnboundedSender<WakeUp>);

impl ChannelPush {
    /// The gateway and the receiving end.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<WakeUp>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (ChannelPush(tx), rx)
    }
}

impl PushGateway for ChannelPush {
    fn wake(&self, wake: WakeUp) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        let result = self
            .0
            .send(wake)
            .map_err(|_| "push receiver closed".to_owned());
        Box::pin(async move { result })
    }
}

/// Collects wake-ups and sends them in batches.
#[derive(Debug, Clone)]
pub(crate) struct Pusher(Option<mpsc::UnboundedSender<DeviceRef>>);

impl Pusher {
    /// No push gateway.
    pub(crate) fn none() -> Self {
        Pusher(None)
    }

    /// Starts the batching task.
    pub(crate) fn start(
        gateway: Arc<dyn PushGateway>,
        store: Arc<dyn PushTokens>,
        settings: PushSettings,
    ) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<DeviceRef>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut devices = BTreeSet::from([first]);
                let window = std::time::Duration::from_millis(settings.batch_window_ms);
                let deadline = tokio::time::Instant::now() + window;
                while let Ok(Some(d)) = tokio::time::timeout_at(deadline, rx.recv()).await {
                    devices.insert(d);
                }
                if settings.max_random_delay_ms > 0 {
                    let mut r = [0u8; 8];
                    if getrandom::fill(&mut r).is_ok() {
                        let delay = u64::from_le_bytes(r) % (settings.max_random_delay_ms + 1);
                        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                    }
                }
                let store = store.clone();
                let tokens = tokio::task::spawn_blocking(move || {
                    devices
                        .iter()
                        .filter_map(|d| store.push_token(d).ok().flatten())
                        .collect::<BTreeSet<String>>()
                })
                .await
                .unwrap_or_default();
                if tokens.is_empty() {
                    continue;
                }
                let wake = WakeUp {
                    tokens: tokens.into_iter().collect(),
                };
                if let Err(e) = gateway.wake(wake).await {
                    // A lost wake-up delays delivery until the device polls;
                    // nothing is lost from the inbox.
                    tracing::warn!(error = %e, "push gateway failed");
                }
            }
        });
        Pusher(Some(tx))
    }

    /// Wakes `device` soon.
    pub(crate) fn wake(&self, device: &DeviceRef) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(device.clone());
        }
    }
}
