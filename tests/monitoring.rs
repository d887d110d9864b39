//! The shipped alerts and dashboard: valid for Prometheus's own tool, each
//! alert unit-tested, and every metric they use exported by the driver or
//! the webhook.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn monitoring_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/monitoring")
}

fn promtool() -> PathBuf {
    support::which("promtool")
        .expect("promtool is missing: make deps installs it (Debian package prometheus)")
}

fn run_promtool(args: &[&str], dir: &Path) {
    let out = Command::new(promtool())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The rule groups of the PrometheusRule, as a plain rule file's text.
fn rule_file_text() -> String {
    let text = std::fs::read_to_string(monitoring_dir().join("prometheusrule.yaml")).unwrap();
    let rule: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(rule["kind"], "PrometheusRule");
    serde_yaml_ng::to_string(&rule["spec"]).unwrap()
}

#[test]
fn the_alert_rules_pass_promtool_check_and_their_unit_tests() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("alerts.rules.yaml"), rule_file_text()).unwrap();
    std::fs::copy(
        monitoring_dir().join("alerts.test.yaml"),
        dir.path().join("alerts.test.yaml"),
    )
    .unwrap();
    run_promtool(&["check", "rules", "alerts.rules.yaml"], dir.path());
    run_promtool(&["test", "rules", "alerts.test.yaml"], dir.path());
}

#[test]
fn every_alert_has_a_unit_test() {
    let rules = rule_file_text();
    let tests = std::fs::read_to_string(monitoring_dir().join("alerts.test.yaml")).unwrap();
    for line in rules.lines() {
        if let Some(name) = line.trim().strip_prefix("- alert: ") {
            assert!(
                tests.contains(&format!("alertname: {name}")),
                "{name} has no test"
            );
        }
    }
}

/// Every PromQL expression of the dashboard's panels.
fn dashboard_queries() -> Vec<String> {
    let text = std::fs::read_to_string(monitoring_dir().join("grafana-dashboard.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().unwrap().iter())
        .map(|target| target["expr"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_dashboard_query_is_valid_promql() {
    // promtool parses PromQL when it checks recording rules.
    let queries = dashboard_queries();
    assert!(queries.len() >= 10);
    let rules = serde_json::json!({"groups": [{
        "name": "dashboard",
        "rules": queries.iter().enumerate().map(|(i, expr)| serde_json::json!({
            "record": format!("dashboard:query_{i}"),
            "expr": expr,
        })).collect::<Vec<_>>(),
    }]});
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dashboard.rules.yaml"), rules.to_string()).unwrap();
    run_promtool(&["check", "rules", "dashboard.rules.yaml"], dir.path());
}

/// `vault_csi_*` names in `text`, without the suffixes Prometheus adds.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("vault_csi_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let base = ["_bucket", "_count", "_sum", "_total"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(name);
        names.insert(base.to_string());
        rest = &tail[end..];
    }
    names
}

/// The names the code registers (`registry.register("name", ...)` under the
/// `vault_csi` prefix).
fn exported_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for file in ["src/metrics.rs", "src/webhook/metrics.rs"] {
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
            .unwrap_or_default();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".register(") {
            rest = &rest[at + ".register(".len()..];
            let quoted = rest.trim_start();
            if let Some(name) = quoted
                .strip_prefix('"')
                .and_then(|q| q.split_once('"'))
                .map(|(name, _)| name)
            {
                names.insert(format!("vault_csi_{name}"));
            }
        }
    }
    names
}

#[test]
fn alerts_and_dashboard_use_only_metrics_the_code_exports() {
    let exported = exported_names();
    assert!(exported.contains("vault_csi_publishes"), "{exported:?}");
    let used: BTreeSet<String> = metric_names(&rule_file_text())
        .into_iter()
        .chain(dashboard_queries().iter().flat_map(|q| metric_names(q)))
        .collect();
    let unknown: Vec<&String> = used.difference(&exported).collect();
    assert!(unknown.is_empty(), "not exported: {unknown:?}");
}
