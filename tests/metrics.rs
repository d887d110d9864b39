//! The metrics and health endpoints an admin scrapes and probes.

mod support;

use std::time::Duration;

use serde_json::json;
use support::driver::{Driver, DriverOptions};
use support::fixture;
use support::pods::{TestPod, VOLUME, kv1_secret};

/// The value of the first sample line starting with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Polls until the metrics endpoint is up (it starts next to the socket).
async fn metrics(driver: &Driver) -> String {
    for _ in 0..50 {
        if let Ok((200, body)) = std::panic::catch_unwind(|| driver.http_get("/metrics")) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no /metrics");
}

#[tokio::test]
async fn publish_counts_latency_vault_requests_and_volumes_are_exported() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    pod.register(fx, &[("agent-inject-secret-s", &path)]);
    let driver = Driver::start().await;
    let before = metrics(&driver).await;
    assert_eq!(sample(&before, "vault_csi_volumes "), Some(0.0));
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let after = metrics(&driver).await;
    assert_eq!(
        sample(&after, "vault_csi_publishes_total{result=\"ok\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &after,
            "vault_csi_publish_duration_seconds_count{result=\"ok\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&after, "vault_csi_logins_total{result=\"ok\"}"),
        Some(1.0)
    );
    assert!(
        sample(
            &after,
            "vault_csi_vault_requests_total{kind=\"read\",status=\"200\"}"
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(sample(&after, "vault_csi_volumes "), Some(1.0));
    assert_eq!(sample(&after, "vault_csi_identities "), Some(1.0));
    assert_eq!(
        sample(
            &after,
            "vault_csi_volumes_by_condition{condition=\"healthy\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &after,
            "vault_csi_volumes_by_condition{condition=\"abnormal\"}"
        ),
        Some(0.0)
    );
    let token_ttl = sample(&after, "vault_csi_shortest_token_ttl_seconds ").unwrap();
    assert!(token_ttl > 0.0 && token_ttl <= 3600.0, "{token_ttl}");
    assert_eq!(
        sample(&after, "vault_csi_shortest_lease_ttl_seconds "),
        None,
        "a KV secret has no lease"
    );
    assert!(after.contains("vault_csi_build_info{version=\""));
    assert!(!after.contains(&path), "no secret paths in labels");
}

#[tokio::test]
async fn failed_publishes_are_counted_by_cause() {
    let fx = fixture();
    let pod = TestPod::kubernetes(fx, &["nothing/*"]);
    let driver = Driver::start().await;
    let _ = pod
        .publish(&driver, VOLUME, &pod.token(fx))
        .await
        .unwrap_err();
    let text = metrics(&driver).await;
    assert_eq!(
        sample(&text, "vault_csi_publishes_total{result=\"pod_not_found\"}"),
        Some(1.0),
        "{text}"
    );
}

#[tokio::test]
async fn healthz_and_readyz_are_ok_once_the_socket_serves() {
    let driver = Driver::start().await;
    metrics(&driver).await;
    assert_eq!(driver.http_get("/healthz"), (200, "ok".into()));
    assert_eq!(driver.http_get("/readyz"), (200, "ok".into()));
    let text = metrics(&driver).await;
    assert_eq!(sample(&text, "vault_csi_vault_up "), Some(1.0));
}

#[tokio::test]
async fn a_vault_outage_leaves_the_driver_ready_and_shows_in_vault_up() {
    let closed = format!("http://127.0.0.1:{}", support::bao::free_port());
    let cut_off = Driver::start_with(DriverOptions {
        vault_addr: Some(closed),
        ..Default::default()
    })
    .await;
    metrics(&cut_off).await;
    let (status, body) = cut_off.http_get("/readyz");
    assert_eq!((status, body.as_str()), (200, "ok"), "no Vault error text");
    assert_eq!(
        sample(&metrics(&cut_off).await, "vault_csi_vault_up "),
        Some(0.0)
    );
}

/// The `Content-Type` of a `/metrics` answer to `accept`, and its body.
fn scrape(driver: &Driver, accept: Option<&str>) -> (String, String) {
    let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
    let (status, head, body) =
        support::bao::http_exchange(driver.metrics_port, "GET", "/metrics", &headers, None)
            .expect("metrics endpoint answers");
    assert_eq!(status, 200);
    let content_type = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        })
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    (content_type, body)
}

#[tokio::test]
async fn metrics_answer_in_the_format_the_scraper_accepts() {
    let driver = Driver::start().await;
    metrics(&driver).await;
    let (plain_type, plain) = scrape(&driver, None);
    assert_eq!(plain_type, "text/plain; version=0.0.4; charset=utf-8");
    assert!(!plain.contains("# EOF"));
    assert!(
        plain.contains("# TYPE vault_csi_vault_requests_total counter"),
        "{plain}"
    );
    let prometheus =
        "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    let (om_type, om) = scrape(&driver, Some(prometheus));
    assert_eq!(
        om_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(om.ends_with("# EOF\n"));
    assert!(
        om.contains("# TYPE vault_csi_vault_requests counter"),
        "{om}"
    );
}

#[tokio::test]
async fn the_text_exposition_passes_promtool() {
    let Some(promtool) = support::which("promtool") else {
        panic!("promtool is missing: make deps installs it (Debian package prometheus)");
    };
    let driver = Driver::start().await;
    metrics(&driver).await;
    let (_, body) = scrape(&driver, None);
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let problems =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "promtool check metrics:\n{problems}");
}
