//! Prometheus metrics (text exposition format 0.0.4) and `/healthz`, on
//! the admin listener.
//!
//! Counters are kept in process: requests by route template and status
//! (route templates, never concrete paths, so no number, token or id ends
//! up in a label), and rate-limit refusals by route. Gauges are read from
//! the stores at scrape time: inbox depth, federation outbox depth,
//! enrolled devices, KeyPackage stock, transparency epoch and queue.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::Stores;

/// Request counters.
#[derive(Debug)]
pub(crate) struct Metrics {
    started: Instant,
    requests: Mutex<BTreeMap<(String, u16), u64>>,
}

impl Metrics {
    pub(crate) fn new() -> Arc<Metrics> {
        // Uptime for the operator's dashboard: elapsed wall time.
        #[allow(clippy::disallowed_methods)]
        let started = Instant::now();
        Arc::new(Metrics {
            started,
            requests: Mutex::new(BTreeMap::new()),
        })
    }

    fn count(&self, route: &str, status: u16) {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *requests.entry((route.to_owned(), status)).or_default() += 1;
    }

    fn snapshot(&self) -> BTreeMap<(String, u16), u64> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Middleware counting every response of the public and federation
/// routers by route template and status.
pub(crate) async fn track(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    metrics.count(&route, response.status().as_u16());
    response
}

#[derive(Clone)]
struct Admin {
    metrics: Arc<Metrics>,
    stores: Arc<Stores>,
}

/// The admin router: `/healthz` and `/metrics`.
pub(crate) fn admin_router(metrics: Arc<Metrics>, stores: Arc<Stores>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(render))
        .with_state(Admin { metrics, stores })
}

/// 200 when both databases answer, 503 with the reason otherwise.
async fn healthz(State(admin): State<Admin>) -> Response {
    let stores = admin.stores.clone();
    let checked = tokio::task::spawn_blocking(move || stores.gauges()).await;
    match checked {
        Ok(Ok(_)) => (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => {
            (StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy: {e}\n")).into_response()
        }
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy: {e}\n")).into_response(),
    }
}

/// What the stores hold now: the `/metrics` gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Messages waiting in device inboxes.
    pub inbox_items: u64,
    /// Devices with something waiting.
    pub inbox_devices: u64,
    /// Deliveries queued for peer providers.
    pub outbox_items: u64,
    /// Enrolled devices, not revoked.
    pub devices: u64,
    /// Unexpired single-use KeyPackages.
    pub key_packages: u64,
    /// Numbers waiting for the next transparency epoch.
    pub transparency_queue: u64,
    /// The latest published transparency epoch.
    pub transparency_epoch: u64,
}

async fn render(State(admin): State<Admin>) -> Response {
    let stores = admin.stores.clone();
    let gauges = match tokio::task::spawn_blocking(move || stores.gauges()).await {
        Ok(Ok(g)) => g,
        Ok(Err(e)) => {
            return (StatusCode::SERVICE_UNAVAILABLE, format!("stores: {e}\n")).into_response();
        }
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    };
    let text = exposition(&admin.metrics, &gauges);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Escapes a label value (backslash, quote, newline).
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
}

fn exposition(metrics: &Metrics, gauges: &Gauges) -> String {
    let mut out = String::with_capacity(4096);
    let requests = metrics.snapshot();
    out.push_str(
        "# HELP crosslock_http_requests_total Requests answered, by route template and status.\n\
         # TYPE crosslock_http_requests_total counter\n",
    );
    for ((route, status), n) in &requests {
        let _ = writeln!(
            out,
            "crosslock_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
            label(route)
        );
    }
    out.push_str(
        "# HELP crosslock_rate_limited_total Requests refused by a rate limit (HTTP 429), by route template.\n\
         # TYPE crosslock_rate_limited_total counter\n",
    );
    let mut limited: BTreeMap<&str, u64> = BTreeMap::new();
    for ((route, status), n) in &requests {
        if *status == 429 {
            *limited.entry(route).or_default() += n;
        }
    }
    for (route, n) in limited {
        let _ = writeln!(
            out,
            "crosslock_rate_limited_total{{route=\"{}\"}} {n}",
            label(route)
        );
    }
    gauge(
        &mut out,
        "crosslock_inbox_messages",
        "Messages waiting in device inboxes.",
        gauges.inbox_items,
    );
    gauge(
        &mut out,
        "crosslock_inbox_devices",
        "Devices with at least one message waiting.",
        gauges.inbox_devices,
    );
    gauge(
        &mut out,
        "crosslock_federation_outbox_messages",
        "Deliveries queued for peer providers.",
        gauges.outbox_items,
    );
    gauge(
        &mut out,
        "crosslock_devices_enrolled",
        "Active (not revoked) enrolled devices.",
        gauges.devices,
    );
    gauge(
        &mut out,
        "crosslock_keypackages_available",
        "Unexpired single-use KeyPackages in stock, all devices and suites.",
        gauges.key_packages,
    );
    gauge(
        &mut out,
        "crosslock_transparency_epoch",
        "Latest published key-transparency epoch.",
        gauges.transparency_epoch,
    );
    gauge(
        &mut out,
        "crosslock_transparency_queued_numbers",
        "Numbers whose keys changed and wait for the next epoch.",
        gauges.transparency_queue,
    );
    gauge(
        &mut out,
        "crosslock_uptime_seconds",
        "Seconds since the provider started.",
        metrics.started.elapsed().as_secs(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_counts_by_route_and_status_and_escapes_labels() {
        let metrics = Metrics::new();
        metrics.count("/v1/ds/messages", 200);
        metrics.count("/v1/ds/messages", 200);
        metrics.count("/v1/ds/messages", 429);
        metrics.count("odd\"route\n", 404);
        let text = exposition(
            &metrics,
            &Gauges {
                inbox_items: 7,
                ..Gauges::default()
            },
        );
        assert!(
            text.contains(
                "crosslock_http_requests_total{route=\"/v1/ds/messages\",status=\"200\"} 2"
            )
        );
        assert!(text.contains("crosslock_rate_limited_total{route=\"/v1/ds/messages\"} 1"));
        assert!(text.contains("route=\"odd\\\"route\\n\""), "{text}");
        assert!(text.contains("\ncrosslock_inbox_messages 7\n"));
        // Every sample line belongs to a declared metric.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(text.contains(&format!("# TYPE {name} ")), "{line}");
        }
    }
}
