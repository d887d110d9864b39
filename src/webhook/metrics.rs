//! The webhook's own metrics, in a registry of their own so the webhook's
//! process exports nothing about volumes or Vault it does not have.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::metrics::Exposition;

/// How one review ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Admitted with the CSI volume patched in.
    Patched,
    /// Admitted as it was.
    Unchanged,
    /// Refused: the driver would refuse the Pod at mount.
    Denied,
    /// No AdmissionReview could be answered (bad body, too large).
    Error,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Patched => "patched",
            Outcome::Unchanged => "unchanged",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabels {
    /// The injector key at fault, as docs/annotations.md lists it.
    key: &'static str,
}

/// The webhook's metrics.
pub struct WebhookMetrics {
    registry: Registry,
    admissions: Family<ResultLabels, Counter>,
    seconds: Family<ResultLabels, Histogram, fn() -> Histogram>,
    denials: Family<KeyLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 0.1 ms .. ~3 s: the API server gives a webhook a few seconds.
    Histogram::new(exponential_buckets(0.0001, 2.0, 15))
}

impl WebhookMetrics {
    fn new() -> WebhookMetrics {
        let mut registry = Registry::with_prefix("vault_csi");
        let admissions: Family<ResultLabels, Counter> = Family::default();
        let seconds: Family<ResultLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let denials: Family<KeyLabels, Counter> = Family::default();
        // Every result from the start, so a rate is defined before the first error.
        for outcome in [
            Outcome::Patched,
            Outcome::Unchanged,
            Outcome::Denied,
            Outcome::Error,
        ] {
            let _ = admissions.get_or_create(&ResultLabels {
                result: outcome.label(),
            });
        }
        registry.register(
            "webhook_admissions",
            "AdmissionReviews answered, by result: patched, unchanged, denied, error",
            admissions.clone(),
        );
        registry.register(
            "webhook_admission_duration_seconds",
            "Time to answer an AdmissionReview, by result",
            seconds.clone(),
        );
        registry.register(
            "webhook_denials",
            "Pods refused at admission, by the injector key at fault",
            denials.clone(),
        );
        WebhookMetrics {
            registry,
            admissions,
            seconds,
            denials,
        }
    }

    /// Counts one review and its latency; `denied_key` for a refusal.
    pub fn review(&self, outcome: Outcome, elapsed: Duration, denied_key: Option<&'static str>) {
        let labels = ResultLabels {
            result: outcome.label(),
        };
        self.admissions.get_or_create(&labels).inc();
        self.seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if let Some(key) = denied_key {
            self.denials.get_or_create(&KeyLabels { key }).inc();
        }
    }

    /// Every metric in `format`.
    pub fn encode(&self, format: Exposition) -> String {
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
}

static METRICS: LazyLock<WebhookMetrics> = LazyLock::new(WebhookMetrics::new);

/// The webhook process's metrics.
pub fn global() -> &'static WebhookMetrics {
    &METRICS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_is_exported_before_any_review() {
        let text = WebhookMetrics::new().encode(Exposition::PrometheusText);
        for result in ["patched", "unchanged", "denied", "error"] {
            assert!(
                text.contains(&format!(
                    "vault_csi_webhook_admissions_total{{result=\"{result}\"}} 0"
                )),
                "{text}"
            );
        }
    }

    #[test]
    fn a_denial_counts_its_key() {
        let metrics = WebhookMetrics::new();
        metrics.review(
            Outcome::Denied,
            Duration::from_millis(1),
            Some("agent-inject-perms-NAME"),
        );
        let text = metrics.encode(Exposition::PrometheusText);
        assert!(text.contains("vault_csi_webhook_admissions_total{result=\"denied\"} 1"));
        assert!(
            text.contains("vault_csi_webhook_denials_total{key=\"agent-inject-perms-NAME\"} 1")
        );
        assert!(
            text.contains(
                "vault_csi_webhook_admission_duration_seconds_count{result=\"denied\"} 1"
            )
        );
    }
}
