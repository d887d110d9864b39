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
            "vault_csi_vault_requests_total{kind=\"read\",status=\"2xx\"}"
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(sample(&after, "vault_csi_volumes "), Some(1.0));
    assert_eq!(sample(&after, "vault_csi_identities "), Some(1.0));
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
async fn healthz_is_ok_and_readyz_follows_vault() {
    let driver = Driver::start().await;
    metrics(&driver).await;
    assert_eq!(driver.http_get("/healthz"), (200, "ok".into()));
    assert_eq!(driver.http_get("/readyz").0, 200);

    let closed = format!("http://127.0.0.1:{}", support::bao::free_port());
    let cut_off = Driver::start_with(DriverOptions {
        vault_addr: Some(closed),
        ..Default::default()
    })
    .await;
    metrics(&cut_off).await;
    let (status, body) = cut_off.http_get("/readyz");
    assert_eq!(status, 503);
    assert!(body.contains("Vault"), "{body}");
}
