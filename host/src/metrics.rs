//! What `serve` exposes on its status address: Prometheus metrics
//! (`/metrics`) and a health check (`/healthz`).
//!
//! The metrics are process-wide, like the process they describe: the fetcher
//! counts requests, the plugin its call time, the sync its records, `serve`
//! its runs. Recording is a few atomic operations; only a scrape formats.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

type Labels = Vec<(&'static str, String)>;

struct Metrics {
    registry: Registry,
    records: Family<Labels, Counter>,
    requests: Family<Labels, Counter>,
    rate_limit_wait: Counter<f64, AtomicU64>,
    plugin_calls: Family<Labels, Histogram, fn() -> Histogram>,
    syncs: Family<Labels, Counter>,
    sync_running: Gauge,
    last_success: Gauge,
    dead_letters: Gauge,
    swaps: Family<Labels, Counter>,
    last_swap_accepted: Gauge,
}

fn plugin_call_histogram() -> Histogram {
    // 50 µs … ~3 s: a mapping takes well under a millisecond, a cold page more.
    Histogram::new(exponential_buckets(0.000_05, 4.0, 9))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let records = Family::default();
    let requests = Family::default();
    let rate_limit_wait = Counter::default();
    let plugin_calls = Family::new_with_constructor(plugin_call_histogram as fn() -> Histogram);
    let syncs = Family::default();
    let sync_running = Gauge::default();
    let last_success = Gauge::default();
    let dead_letters = Gauge::default();
    let swaps = Family::default();
    let last_swap_accepted = Gauge::default();
    let mut registry = Registry::with_prefix("aiod_host");
    registry.register(
        "records",
        "Records by outcome: seen, created, updated, unchanged, skipped, failed, deleted",
        records.clone(),
    );
    registry.register(
        "requests",
        "HTTP requests sent, by host and status (error: no response)",
        requests.clone(),
    );
    registry.register(
        "rate_limit_wait_seconds",
        "Time spent waiting for request budgets, Retry-After and backoff",
        rate_limit_wait.clone(),
    );
    registry.register(
        "plugin_call_seconds",
        "Time spent in plugin calls, by call",
        plugin_calls.clone(),
    );
    registry.register("syncs", "Syncs by mode and result", syncs.clone());
    registry.register("sync_running", "1 while a sync runs", sync_running.clone());
    registry.register(
        "last_success_timestamp_seconds",
        "When the last successful sync ended (Unix time)",
        last_success.clone(),
    );
    registry.register(
        "dead_letters",
        "Records waiting in the dead letters (see `aiod-host failures`)",
        dead_letters.clone(),
    );
    registry.register(
        "plugin_swaps",
        "New plugin files judged by serve, by outcome: accepted, refused",
        swaps.clone(),
    );
    registry.register(
        "last_plugin_swap_accepted",
        "1 when the last new plugin file was accepted, 0 when refused (-1: none yet)",
        last_swap_accepted.clone(),
    );
    last_swap_accepted.set(-1);
    Metrics {
        registry,
        records,
        requests,
        rate_limit_wait,
        plugin_calls,
        syncs,
        sync_running,
        last_success,
        dead_letters,
        swaps,
        last_swap_accepted,
    }
});

pub fn record_outcome(outcome: &'static str, n: u64) {
    if n > 0 {
        METRICS
            .records
            .get_or_create(&vec![("outcome", outcome.to_string())])
            .inc_by(n);
    }
}

/// One answer (or failure to get one) from `host`.
pub fn request(host: &str, status: Option<u16>) {
    let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
    METRICS
        .requests
        .get_or_create(&vec![("host", host.to_string()), ("status", status)])
        .inc();
}

pub fn waited(d: Duration) {
    METRICS.rate_limit_wait.inc_by(d.as_secs_f64());
}

pub fn plugin_call(call: &'static str, took: Duration) {
    METRICS
        .plugin_calls
        .get_or_create(&vec![("call", call.to_string())])
        .observe(took.as_secs_f64());
}

pub fn sync_started() {
    METRICS.sync_running.set(1);
}

/// A sync ended; `ok` ones also set the last success time.
pub fn sync_ended(mode: &'static str, ok: bool) {
    METRICS.sync_running.set(0);
    let result = if ok { "ok" } else { "failed" };
    METRICS
        .syncs
        .get_or_create(&vec![
            ("mode", mode.to_string()),
            ("result", result.to_string()),
        ])
        .inc();
    if ok {
        let now = chrono::Utc::now().timestamp();
        METRICS.last_success.set(now);
    }
}

/// A new plugin file was judged.
pub fn plugin_swap(accepted: bool) {
    let outcome = if accepted { "accepted" } else { "refused" };
    METRICS
        .swaps
        .get_or_create(&vec![("outcome", outcome.to_string())])
        .inc();
    METRICS.last_swap_accepted.set(i64::from(accepted));
}

pub fn dead_letters(n: u64) {
    METRICS.dead_letters.set(n as i64);
}

/// The text exposition of every metric.
pub fn render() -> String {
    let mut out = String::new();
    encode(&mut out, &METRICS.registry).expect("writing to a String cannot fail");
    out
}

/// Whether the service is healthy, and why not.
#[derive(Default, Clone)]
pub struct Health(Arc<Mutex<Option<String>>>);

impl Health {
    pub fn ok(&self) {
        *self.0.lock().expect("not poisoned") = None;
    }

    pub fn failing(&self, why: String) {
        let why = crate::secret::redact(&why).into_owned();
        *self.0.lock().expect("not poisoned") = Some(why);
    }

    fn problem(&self) -> Option<String> {
        self.0.lock().expect("not poisoned").clone()
    }
}

/// Serves `/metrics` and `/healthz` on `addr` from the current tokio runtime;
/// returns the bound address (port 0 picks one).
pub async fn serve(
    addr: std::net::SocketAddr,
    health: Health,
) -> anyhow::Result<std::net::SocketAddr> {
    use axum::http::{StatusCode, header};
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(|| async {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    render(),
                )
            }),
        )
        .route(
            "/healthz",
            get(move || async move {
                match health.problem() {
                    None => (StatusCode::OK, "ok\n".to_string()),
                    Some(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for /metrics and /healthz: {e}"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the status server stopped: {e}");
        }
    });
    Ok(bound)
}
