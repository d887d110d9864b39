//! A burst of Pods of one identity (a Deployment scaled up): one login and
//! one read per secret serve every publish. Its own test binary, so that
//! the driver's Pod watch holds exactly this test's Pods.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::driver::Driver;
use support::fixture;
use support::pods::{TestPod, VOLUME, kv2_secret};

const REPLICAS: usize = 8;

/// Waits until the driver's Pod watch holds `count` Pods.
async fn wait_watched(driver: &Driver, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while driver.metric("vault_csi_pods_watched").unwrap_or(0.0) < count as f64 {
        assert!(
            Instant::now() < deadline,
            "the Pod watch never held {count} Pods"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn replicas_published_at_once_log_in_once_and_read_each_secret_once() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"password": "v1"}));
    let (other_mount, other_key) = kv2_secret(fx, json!({"user": "app"}));
    let template = TestPod::kubernetes(fx, &[&format!("{mount}/*"), &format!("{other_mount}/*")]);
    let db = format!("{mount}/{key}");
    let user = format!("{other_mount}/{other_key}");
    let annotations = [
        ("agent-inject-secret-db", db.as_str()),
        ("agent-inject-secret-user", user.as_str()),
    ];
    let replicas: Vec<TestPod> = (0..REPLICAS)
        .map(|n| {
            let pod = template.replica(&n.to_string());
            pod.register(fx, &annotations);
            pod
        })
        .collect();
    let driver = Driver::start().await;
    wait_watched(&driver, REPLICAS).await;
    let before = driver.vault_requests();

    let publishes = replicas.iter().map(|pod| {
        let request = pod.publish_request(&driver, VOLUME, &pod.token(fx));
        let driver = &driver;
        async move { driver.node().await.node_publish_volume(request).await }
    });
    for outcome in futures_util::future::join_all(publishes).await {
        outcome.expect("publish");
    }

    let after = driver.vault_requests();
    let count =
        |kind: &str| after.get(kind).map_or(0.0, |c| c.0) - before.get(kind).map_or(0.0, |c| c.0);
    assert_eq!(count("login"), 1.0, "{after:?}");
    assert_eq!(count("read"), 2.0, "one read per secret: {after:?}");
    for pod in &replicas {
        let target = pod.target(&driver, VOLUME);
        assert!(
            std::fs::read_to_string(target.join("db"))
                .unwrap()
                .contains("password:v1")
        );
        assert!(
            std::fs::read_to_string(target.join("user"))
                .unwrap()
                .contains("user:app")
        );
    }
}
