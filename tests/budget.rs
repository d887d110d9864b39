//! The node's budget for secret files: a publish that would take the node
//! past it fails with RESOURCE_EXHAUSTED and a message with the numbers,
//! what fits is served, and the metrics show use against the budget.

mod support;

use serde_json::json;
use support::driver::{Driver, DriverOptions};
use support::fixture;
use support::pods::{TestPod, VOLUME, kv1_secret};

/// A Pod reading one KV secret of `bytes` bytes.
fn pod_with_secret_of(bytes: usize) -> TestPod {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"blob": "x".repeat(bytes)}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    pod.register(fx, &[("agent-inject-secret-blob", &path)]);
    pod
}

#[tokio::test]
async fn a_publish_past_the_budget_is_refused_and_what_fits_is_served() {
    let fx = fixture();
    let driver = Driver::start_with(DriverOptions {
        args: vec!["--tmpfs-budget".into(), "64Ki".into()],
        ..Default::default()
    })
    .await;
    let small = pod_with_secret_of(1000);
    small
        .publish(&driver, VOLUME, &small.token(fx))
        .await
        .unwrap();
    let in_use = driver.metric("vault_csi_tmpfs_bytes").unwrap();
    assert!(in_use > 0.0, "{in_use}");
    assert_eq!(driver.metric("vault_csi_tmpfs_budget_bytes"), Some(65536.0));

    let big = pod_with_secret_of(80_000);
    let refused = big
        .publish(&driver, VOLUME, &big.token(fx))
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::ResourceExhausted,
        "{refused:?}"
    );
    let message = refused.message();
    assert!(
        message.contains("over the node's budget of 65536 bytes"),
        "{message}"
    );
    assert!(!message.contains("xxxx"), "no secret value: {message}");
    assert_eq!(
        driver.metric("vault_csi_publishes_total{result=\"resource_exhausted\"}"),
        Some(1.0)
    );
    // The first volume is untouched, and counted still.
    assert_eq!(driver.metric("vault_csi_tmpfs_bytes"), Some(in_use));
}

#[tokio::test]
async fn an_unpublished_volume_frees_its_share() {
    let fx = fixture();
    let driver = Driver::start_with(DriverOptions {
        args: vec!["--tmpfs-budget".into(), "1Mi".into()],
        ..Default::default()
    })
    .await;
    let pod = pod_with_secret_of(10_000);
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    assert!(driver.metric("vault_csi_tmpfs_bytes").unwrap() > 0.0);
    driver
        .node()
        .await
        .node_unpublish_volume(pod.unpublish_request(&driver, VOLUME))
        .await
        .unwrap();
    assert_eq!(driver.metric("vault_csi_tmpfs_bytes"), Some(0.0));
}
