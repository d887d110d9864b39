//! Prometheus metrics and the health endpoints, on `--metrics-addr`.
//!
//! One process-wide registry: publish/unpublish counts and latency by result,
//! refresh/renewal/login counts by result, Vault requests by kind, the
//! number of volumes and identities, and build info.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{LazyLock, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of an operation's outcome: `ok` or an error's metric label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `ok`, or what failed (`permission_denied`, `unavailable`, ...).
    pub result: String,
}

/// A counter family labelled by result.
pub type ResultFamily = Family<ResultLabels, Counter>;

/// Labels of a Vault request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VaultLabels {
    /// `login`, `read`, `write`, `list`, `mount_lookup`, `renew`, `revoke`, `other`.
    pub kind: String,
    /// HTTP status code (`200`, `403`, ...) or `error` when no answer came.
    pub status: String,
}

/// Where a publish found its Pod.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// `cache` (the node's Pod watch) or `api` (a GET).
    pub source: &'static str,
}

/// Labels of the volumes-by-condition gauge.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    /// `healthy`, or `abnormal` (last refresh failed; files kept).
    pub condition: &'static str,
}

/// A gauge with no labels that can also have no sample (nothing to report).
type OptionalGauge = Family<Vec<(String, String)>, Gauge<f64, AtomicU64>>;

/// Sets an [`OptionalGauge`], or removes its sample.
fn set_optional(gauge: &OptionalGauge, value: Option<f64>) {
    match value {
        Some(value) => {
            gauge.get_or_create(&Vec::new()).set(value);
        }
        None => gauge.clear(),
    }
}

/// A snapshot of the node's volumes and sessions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeView {
    /// Volumes whose last refresh succeeded (or that never refresh).
    pub healthy: usize,
    /// Volumes whose last refresh failed: their files are kept but may be stale.
    pub abnormal: usize,
    /// Identities with a live session.
    pub identities: usize,
    /// The shortest time any held Vault token has left.
    pub shortest_token_ttl: Option<Duration>,
    /// The shortest time any lease a volume holds has left.
    pub shortest_lease_ttl: Option<Duration>,
}

/// What runs before a scrape.
type ScrapeHook = dyn Fn(&Metrics) + Send + Sync;

/// Labels of the build-info gauge.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Every metric the driver exports.
pub struct Metrics {
    registry: Registry,
    /// NodePublishVolume calls by result.
    pub publishes: Family<ResultLabels, Counter>,
    /// NodePublishVolume latency by result, seconds.
    pub publish_seconds: Family<ResultLabels, Histogram, fn() -> Histogram>,
    /// NodeUnpublishVolume calls by result.
    pub unpublishes: Family<ResultLabels, Counter>,
    /// NodeUnpublishVolume latency by result, seconds.
    pub unpublish_seconds: Family<ResultLabels, Histogram, fn() -> Histogram>,
    /// Volume refreshes by result.
    pub refreshes: Family<ResultLabels, Counter>,
    /// Token and lease renewals by result.
    pub renewals: Family<ResultLabels, Counter>,
    /// Vault logins by result.
    pub logins: Family<ResultLabels, Counter>,
    /// Vault HTTP requests by kind and status class.
    pub vault_requests: Family<VaultLabels, Counter>,
    /// Vault HTTP request latency by kind and status class, seconds.
    pub vault_request_seconds: Family<VaultLabels, Histogram, fn() -> Histogram>,
    /// Pods read for publishes, by where they came from.
    pub pod_reads: Family<SourceLabels, Counter>,
    /// Pods the node's Pod watch holds.
    pub pods_watched: Gauge,
    /// Volumes this node serves.
    pub volumes: Gauge,
    /// Vault identities with a live session.
    pub identities: Gauge,
    /// 1 while the node's Vault answered its last health probe, else 0.
    pub vault_up: Gauge,
    /// Volumes by condition.
    pub volumes_by_condition: Family<ConditionLabels, Gauge>,
    /// Seconds the shortest-lived held Vault token has left.
    pub shortest_token_ttl: OptionalGauge,
    /// Seconds the shortest-lived lease of any volume has left.
    pub shortest_lease_ttl: OptionalGauge,
    /// How long one volume's refresh took, seconds.
    pub refresh_seconds: Histogram,
    /// Bytes of secret files the node's volumes hold.
    pub tmpfs_bytes: Gauge,
    /// The node's budget for them (no sample without one).
    pub tmpfs_budget: OptionalGauge,
    /// Called before each scrape to bring the gauges above up to date.
    before_scrape: OnceLock<Box<ScrapeHook>>,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("vault_csi");
        let metrics = Metrics {
            publishes: Family::default(),
            publish_seconds: Family::new_with_constructor(latency_histogram),
            unpublishes: Family::default(),
            unpublish_seconds: Family::new_with_constructor(latency_histogram),
            refreshes: Family::default(),
            renewals: Family::default(),
            logins: Family::default(),
            vault_requests: Family::default(),
            vault_request_seconds: Family::new_with_constructor(latency_histogram),
            pod_reads: Family::default(),
            pods_watched: Gauge::default(),
            volumes: Gauge::default(),
            identities: Gauge::default(),
            vault_up: Gauge::default(),
            volumes_by_condition: Family::default(),
            shortest_token_ttl: Family::default(),
            shortest_lease_ttl: Family::default(),
            refresh_seconds: latency_histogram(),
            tmpfs_bytes: Gauge::default(),
            tmpfs_budget: Family::default(),
            before_scrape: OnceLock::new(),
            registry: Registry::default(),
        };
        registry.register(
            "publishes",
            "NodePublishVolume calls by result",
            metrics.publishes.clone(),
        );
        registry.register(
            "publish_duration_seconds",
            "NodePublishVolume latency by result",
            metrics.publish_seconds.clone(),
        );
        registry.register(
            "unpublishes",
            "NodeUnpublishVolume calls by result",
            metrics.unpublishes.clone(),
        );
        registry.register(
            "unpublish_duration_seconds",
            "NodeUnpublishVolume latency by result",
            metrics.unpublish_seconds.clone(),
        );
        registry.register(
            "refreshes",
            "Volume refreshes by result",
            metrics.refreshes.clone(),
        );
        registry.register(
            "renewals",
            "Token and lease renewals by result",
            metrics.renewals.clone(),
        );
        registry.register("logins", "Vault logins by result", metrics.logins.clone());
        registry.register(
            "vault_requests",
            "Vault HTTP requests by kind and status code",
            metrics.vault_requests.clone(),
        );
        registry.register(
            "vault_request_duration_seconds",
            "Vault HTTP request latency by kind and status code",
            metrics.vault_request_seconds.clone(),
        );
        registry.register(
            "pod_reads",
            "Pods read for publishes, from the node's Pod watch (cache) or a GET (api)",
            metrics.pod_reads.clone(),
        );
        registry.register(
            "pods_watched",
            "Pods of this node that the Pod watch holds (0 with --watch-pods=false or before the first list)",
            metrics.pods_watched.clone(),
        );
        registry.register(
            "volumes",
            "Volumes served on this node",
            metrics.volumes.clone(),
        );
        registry.register(
            "identities",
            "Vault identities with a live token",
            metrics.identities.clone(),
        );
        registry.register(
            "vault_up",
            "1 while the node's Vault answers its health probe (unsealed, active or standby), else 0",
            metrics.vault_up.clone(),
        );
        registry.register(
            "volumes_by_condition",
            "Volumes by condition: healthy, or abnormal (the last refresh failed and the files are kept)",
            metrics.volumes_by_condition.clone(),
        );
        registry.register(
            "shortest_token_ttl_seconds",
            "Time the shortest-lived Vault token the node holds has left (no sample without tokens)",
            metrics.shortest_token_ttl.clone(),
        );
        registry.register(
            "shortest_lease_ttl_seconds",
            "Time the shortest-lived secret lease of any volume has left (no sample without leases)",
            metrics.shortest_lease_ttl.clone(),
        );
        registry.register(
            "refresh_duration_seconds",
            "How long one volume's refresh took",
            metrics.refresh_seconds.clone(),
        );
        registry.register(
            "tmpfs_bytes",
            "Bytes of secret files the node's volumes hold in tmpfs (charged to the driver's memory)",
            metrics.tmpfs_bytes.clone(),
        );
        registry.register(
            "tmpfs_budget_bytes",
            "The node's budget for those bytes (no sample without one)",
            metrics.tmpfs_budget.clone(),
        );
        let build: Family<BuildLabels, Gauge> = Family::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        registry.register("build_info", "Build information", build);
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Sets what brings the node's gauges up to date before each scrape
    /// (the first call wins).
    pub fn before_scrape(&self, update: impl Fn(&Metrics) + Send + Sync + 'static) {
        let _ = self.before_scrape.set(Box::new(update));
    }

    /// Brings the gauges up to date from a view of the node.
    pub fn show_node(&self, view: &NodeView) {
        for (condition, count) in [("healthy", view.healthy), ("abnormal", view.abnormal)] {
            self.volumes_by_condition
                .get_or_create(&ConditionLabels { condition })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        self.identities
            .set(i64::try_from(view.identities).unwrap_or(i64::MAX));
        set_optional(
            &self.shortest_token_ttl,
            view.shortest_token_ttl.map(|d| d.as_secs_f64()),
        );
        set_optional(
            &self.shortest_lease_ttl,
            view.shortest_lease_ttl.map(|d| d.as_secs_f64()),
        );
    }

    /// Brings the tmpfs gauges up to date.
    pub fn show_budget(&self, budget: &crate::volume::budget::Budget) {
        self.tmpfs_bytes
            .set(i64::try_from(budget.in_use()).unwrap_or(i64::MAX));
        set_optional(&self.tmpfs_budget, budget.limit().map(|b| b as f64));
    }

    /// Every metric in `format`.
    pub fn encode(&self, format: Exposition) -> String {
        if let Some(update) = self.before_scrape.get() {
            update(self);
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = match format {
            Exposition::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut out, &self.registry)
            }
            Exposition::PrometheusText => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
            }
        };
        out
    }

    /// Counts an outcome in `family` under `ok` or the error's label.
    pub fn count(family: &Family<ResultLabels, Counter>, result: &str) {
        family
            .get_or_create(&ResultLabels {
                result: result.to_string(),
            })
            .inc();
    }

    /// Records one Vault request.
    pub fn vault_request(&self, kind: &str, status: Option<u16>, elapsed: Duration) {
        let labels = VaultLabels {
            kind: kind.to_string(),
            status: match status {
                Some(code) => code.to_string(),
                None => "error".to_string(),
            },
        };
        self.vault_requests.get_or_create(&labels).inc();
        self.vault_request_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }
}

/// The two text formats Prometheus scrapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposition {
    /// OpenMetrics 1.0 (`application/openmetrics-text`).
    OpenMetrics,
    /// The classic text format, version 0.0.4 (`text/plain`).
    PrometheusText,
}

impl Exposition {
    /// The `Content-Type` that matches this format's body.
    pub fn content_type(self) -> &'static str {
        match self {
            Exposition::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Exposition::PrometheusText => {
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE
            }
        }
    }

    /// The format a scraper's `Accept` header asks for, as Prometheus's own
    /// client negotiates it: OpenMetrics when it is accepted with at least
    /// the weight of the text format, the text format otherwise (and when
    /// there is no header, as for `curl`).
    pub fn negotiate(accept: Option<&str>) -> Exposition {
        let Some(accept) = accept else {
            return Exposition::PrometheusText;
        };
        let (mut open_metrics, mut text) = (0.0_f32, 0.0_f32);
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let mut weight = 1.0_f32;
            let mut version = None;
            for param in parts {
                match param.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                    Some(("q", q)) => weight = q.parse().unwrap_or(0.0),
                    Some(("version", v)) => version = Some(v.to_string()),
                    _ => {}
                }
            }
            match media.as_str() {
                "application/openmetrics-text"
                    if matches!(version.as_deref(), None | Some("1.0.0") | Some("0.0.1")) =>
                {
                    open_metrics = open_metrics.max(weight);
                }
                "text/plain" | "text/*" | "*/*" => text = text.max(weight),
                _ => {}
            }
        }
        if open_metrics > 0.0 && open_metrics >= text {
            Exposition::OpenMetrics
        } else {
            Exposition::PrometheusText
        }
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn global() -> &'static Metrics {
    &METRICS
}

/// What `/readyz` checks: whether kubelet can be served. Vault's state is
/// deliberately not part of it (a Vault outage must not stall a DaemonSet
/// rollout or mark every node's driver down); it shows in
/// `vault_csi_vault_up`, the volumes' conditions and Pod events instead.
#[derive(Clone)]
pub struct Readiness {
    /// Set once the CSI socket is bound and serving (after the volume
    /// records were loaded).
    pub serving: &'static AtomicBool,
}

/// Set by the CSI server once it is bound and serving.
pub static SOCKET_SERVING: AtomicBool = AtomicBool::new(false);

/// Serves `/metrics`, `/healthz` and `/readyz` until the process ends.
pub async fn serve(addr: std::net::SocketAddr, readiness: Readiness) -> std::io::Result<()> {
    serve_exposition(
        addr,
        |format| global().encode(format),
        readiness.serving,
        "CSI socket not serving yet",
    )
    .await
}

/// Serves `/metrics` (what `encode` gives, in the format the scraper
/// accepts), `/healthz`, and `/readyz` (ready once `serving` is set).
pub async fn serve_exposition(
    addr: std::net::SocketAddr,
    encode: fn(Exposition) -> String,
    serving: &'static AtomicBool,
    not_ready: &'static str,
) -> std::io::Result<()> {
    use axum::http::StatusCode;
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move |headers: axum::http::HeaderMap| async move {
                let accept = headers
                    .get(axum::http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok());
                let format = Exposition::negotiate(accept);
                (
                    [(axum::http::header::CONTENT_TYPE, format.content_type())],
                    encode(format),
                )
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || async move {
                if serving.load(Ordering::SeqCst) {
                    (StatusCode::OK, "ok")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, not_ready)
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "serving metrics and health");
    axum::serve(listener, app).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_family_with_its_prefix() {
        let metrics = Metrics::new();
        Metrics::count(&metrics.publishes, "ok");
        metrics.vault_request("read", Some(200), Duration::from_millis(2));
        let text = metrics.encode(Exposition::PrometheusText);
        for name in [
            "vault_csi_publishes_total{result=\"ok\"} 1",
            "vault_csi_vault_requests_total{kind=\"read\",status=\"200\"} 1",
            "vault_csi_build_info{version=",
            "vault_csi_volumes ",
        ] {
            assert!(text.contains(name), "{name} missing:\n{text}");
        }
    }

    #[test]
    fn the_node_view_sets_conditions_identities_and_ttls() {
        let metrics = Metrics::new();
        metrics.show_node(&NodeView {
            healthy: 3,
            abnormal: 1,
            identities: 2,
            shortest_token_ttl: Some(Duration::from_secs(90)),
            shortest_lease_ttl: None,
        });
        let text = metrics.encode(Exposition::PrometheusText);
        for line in [
            "vault_csi_volumes_by_condition{condition=\"healthy\"} 3",
            "vault_csi_volumes_by_condition{condition=\"abnormal\"} 1",
            "vault_csi_identities 2",
            "vault_csi_shortest_token_ttl_seconds 90.0",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
        assert!(
            !text.contains("vault_csi_shortest_lease_ttl_seconds "),
            "{text}"
        );
    }

    #[test]
    fn scrapers_without_an_accept_header_get_the_text_format() {
        assert_eq!(Exposition::negotiate(None), Exposition::PrometheusText);
    }

    #[test]
    fn prometheus_default_scrape_accept_header_gets_openmetrics() {
        let accept = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(Exposition::negotiate(Some(accept)), Exposition::OpenMetrics);
    }

    #[test]
    fn text_preferred_over_openmetrics_gets_text() {
        let accept = "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5";
        assert_eq!(
            Exposition::negotiate(Some(accept)),
            Exposition::PrometheusText
        );
    }

    #[test]
    fn an_unknown_openmetrics_version_is_not_chosen() {
        let accept = "application/openmetrics-text;version=9.9.9";
        assert_eq!(
            Exposition::negotiate(Some(accept)),
            Exposition::PrometheusText
        );
    }

    #[test]
    fn openmetrics_bodies_end_with_eof_and_text_bodies_do_not() {
        let metrics = Metrics::new();
        assert!(metrics.encode(Exposition::OpenMetrics).ends_with("# EOF\n"));
        assert!(!metrics.encode(Exposition::PrometheusText).contains("# EOF"));
    }
}
