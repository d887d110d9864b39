//! Publish latency against the floor, in one run against one local OpenBao:
//!
//! - floor: a plain keep-alive HTTP client doing what a publish must do at
//!   least: kubernetes-auth login with the Pod's JWT, then read one KV secret;
//! - driver: NodePublishVolume over the unix socket for a fresh volume (Pod
//!   GET, login, KV mount lookup, read, default template, tmpfs mount, write).
//!
//! Prints median and p99 of each and their ratio; asserts nothing. Needs root.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::bench::percentile;
use support::driver::Driver;
use support::fixture;
use support::pods::{TestPod, VOLUME, kv2_secret};
use vault_csi_driver::csi::proto::NodeGetCapabilitiesRequest;

const ROUNDS: usize = 200;
const WARMUP: usize = 20;

fn summary(name: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let median = percentile(&samples, 0.5);
    let p99 = percentile(&samples, 0.99);
    println!(
        "{name:<44} median {:>7.2} ms   p99 {:>7.2} ms   (n={})",
        median.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        samples.len()
    );
    (median, p99)
}

#[tokio::main]
async fn main() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"username": "app", "password": "p@ss"}));
    let path = format!("{mount}/{key}");
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    pod.register(fx, &[("agent-inject-secret-db", &path)]);
    let jwt = pod.token(fx);

    // Floor: one keep-alive client, login + read, nothing else.
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let addr = fx.bao.addr();
    let data_path = format!("{mount}/data/{key}");
    let floor_round = || async {
        let start = Instant::now();
        let token = login(&http, &addr, &pod.role, &jwt).await;
        read(&http, &addr, &data_path, &token).await;
        start.elapsed()
    };

    // The driver at the production log level (debug lines cost time on the
    // hot path): a fresh Pod incarnation (new uid, new volume) per round,
    // unpublished outside the timing, so every publish logs in.
    let driver = Driver::start_with(support::driver::DriverOptions {
        env: vec![("RUST_LOG".into(), "info".into())],
        ..Default::default()
    })
    .await;
    let mut node = driver.node().await;
    let mut publish_round = async || {
        let mut incarnation = TestPod {
            id: pod.id.clone(),
            role: pod.role.clone(),
        };
        incarnation.id.pod_uid = support::jwt::new_uid();
        incarnation.register(fx, &[("agent-inject-secret-db", &path)]);
        let request = incarnation.publish_request(&driver, VOLUME, &jwt);
        let start = Instant::now();
        node.node_publish_volume(request).await.unwrap();
        let elapsed = start.elapsed();
        node.node_unpublish_volume(incarnation.unpublish_request(&driver, VOLUME))
            .await
            .unwrap();
        elapsed
    };

    // Rounds alternate, so a busy moment on a shared machine hits both sides.
    for _ in 0..WARMUP {
        floor_round().await;
        publish_round().await;
    }
    let requests_before = driver.vault_requests();
    let cpu_before = support::process::cpu_seconds(driver.pid());
    let mut floor = Vec::with_capacity(ROUNDS);
    let mut publish = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        floor.push(floor_round().await);
        publish.push(publish_round().await);
    }
    let cpu = support::process::cpu_seconds(driver.pid()) - cpu_before;
    let requests = support::driver::vault_requests_between(
        &requests_before,
        &driver.vault_requests(),
        ROUNDS as f64,
    );

    println!(
        "\npublish latency, one local OpenBao, kubernetes auth, one KV v2 secret (default map template)"
    );
    let (floor_median, floor_p99) = summary("floor: keep-alive client login + read", floor);
    let (median, p99) = summary("driver: NodePublishVolume over the unix socket", publish);
    println!(
        "ratio driver/floor: median {:.2}x, p99 {:.2}x; median overhead {:+.2} ms",
        median.as_secs_f64() / floor_median.as_secs_f64(),
        p99.as_secs_f64() / floor_p99.as_secs_f64(),
        (median.as_secs_f64() - floor_median.as_secs_f64()) * 1e3
    );
    println!(
        "driver phases (median, inside the driver): {}",
        driver.publish_phases().summary()
    );
    println!(
        "driver Vault requests per publish: {}; driver CPU per publish and unpublish: {:.2} ms",
        requests,
        cpu * 1e3 / ROUNDS as f64
    );

    // Another Pod of an identity already on the node (a Deployment's next
    // replica): one volume of the identity stays published, so its token is
    // live and a publish needs only the read. Its floor: the read alone.
    let anchor = TestPod {
        id: support::jwt::PodIdentity {
            pod_uid: support::jwt::new_uid(),
            ..pod.id.clone()
        },
        role: pod.role.clone(),
    };
    anchor.register(fx, &[("agent-inject-secret-db", &path)]);
    driver
        .node()
        .await
        .node_publish_volume(anchor.publish_request(&driver, VOLUME, &jwt))
        .await
        .unwrap();
    let token = login(&http, &addr, &pod.role, &jwt).await;
    let read_round = || async {
        let start = Instant::now();
        read(&http, &addr, &data_path, &token).await;
        start.elapsed()
    };
    let requests_before = driver.vault_requests();
    let mut read_floor = Vec::with_capacity(ROUNDS);
    let mut live = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        read_floor.push(read_round().await);
        live.push(publish_round().await);
    }
    let requests = support::driver::vault_requests_between(
        &requests_before,
        &driver.vault_requests(),
        ROUNDS as f64,
    );
    println!();
    let (read_floor_median, _) = summary("floor: keep-alive client read, token known", read_floor);
    let (live_median, live_p99) = summary("driver: publish, identity's token live", live);
    println!(
        "ratio driver/floor: median {:.2}x; driver Vault requests per publish: {requests}",
        live_median.as_secs_f64() / read_floor_median.as_secs_f64()
    );

    // What every publish pays besides Vault, measured alone: the gRPC round
    // trip over the unix socket (an RPC that does nothing) and a tmpfs mount
    // and unmount (from this process, outside the driver).
    let mut grpc = Vec::with_capacity(ROUNDS);
    let mut grpc_after_idle = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        node.node_get_capabilities(NodeGetCapabilitiesRequest {})
            .await
            .unwrap();
        grpc.push(start.elapsed());
        // As kubelet's call finds the driver: idle for a Vault round trip.
        read_round().await;
        let start = Instant::now();
        node.node_get_capabilities(NodeGetCapabilitiesRequest {})
            .await
            .unwrap();
        grpc_after_idle.push(start.elapsed());
    }
    let mounts_dir = tempfile::tempdir().unwrap();
    let mut mounts = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let target = mounts_dir.path().join(round.to_string()).join("mount");
        let start = Instant::now();
        vault_csi_driver::volume::ensure_tmpfs(&target, 1 << 20).unwrap();
        vault_csi_driver::volume::teardown(&target).unwrap();
        mounts.push(start.elapsed());
    }
    println!();
    let (grpc_median, _) = summary("gRPC round trip (NodeGetCapabilities)", grpc);
    let (grpc_idle_median, _) = summary("the same after a Vault read's idle", grpc_after_idle);
    let (mount_median, _) = summary("tmpfs mount + unmount, directories too", mounts);

    // Cold path: what an injector's init container does before its own
    // container start: one `bao agent -exit-after-auth` rendering the same
    // default template (token_file auto-auth, so no login round trip).
    let template = vault_csi_driver::inject::DefaultFormat::Map.template(&path);
    let mut agent = Vec::with_capacity(AGENT_ROUNDS);
    for _ in 0..AGENT_ROUNDS {
        let start = Instant::now();
        support::agent::render_with_agent(&addr, fx.bao.root_token(), &[("f", &template)])
            .await
            .expect("agent renders");
        agent.push(start.elapsed());
    }
    println!();
    let (agent_median, _) = summary("cold path: bao agent -exit-after-auth run", agent);
    println!(
        "cold path ratio agent/driver publish: median {:.0}x",
        agent_median.as_secs_f64() / median.as_secs_f64()
    );
    support::bench::save(
        "publish_latency",
        &serde_json::json!({
            "rounds": ROUNDS,
            "floor_median_ms": support::bench::ms(floor_median),
            "floor_p99_ms": support::bench::ms(floor_p99),
            "publish_median_ms": support::bench::ms(median),
            "publish_p99_ms": support::bench::ms(p99),
            "agent_median_ms": support::bench::ms(agent_median),
            "live_identity_median_ms": support::bench::ms(live_median),
            "live_identity_p99_ms": support::bench::ms(live_p99),
            "read_floor_median_ms": support::bench::ms(read_floor_median),
            "driver_cpu_ms_per_publish": cpu * 1e3 / ROUNDS as f64,
            "grpc_round_trip_median_ms": support::bench::ms(grpc_median),
            "grpc_round_trip_after_idle_median_ms": support::bench::ms(grpc_idle_median),
            "mount_umount_median_ms": support::bench::ms(mount_median),
        }),
    );
}

const AGENT_ROUNDS: usize = 10;

/// A kubernetes-auth login with a plain client; the token.
async fn login(http: &reqwest::Client, addr: &str, role: &str, jwt: &str) -> String {
    let answer: serde_json::Value = http
        .put(format!("{addr}/v1/auth/kubernetes/login"))
        .json(&json!({"role": role, "jwt": jwt}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["auth"]["client_token"].as_str().unwrap().to_string()
}

/// A read of `path` with a plain client, body and all.
async fn read(http: &reqwest::Client, addr: &str, path: &str, token: &str) {
    let answer = http
        .get(format!("{addr}/v1/{path}"))
        .header("X-Vault-Token", token)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    answer.bytes().await.unwrap();
}
