//! Vault load of one refresh cycle, and what the driver costs for it.
//!
//! 110 volumes (the default max Pods per node) over 10 identities, each
//! volume reading 3 KV secrets through templates, published in one burst.
//! Then one full refresh cycle is watched through OpenBao's audit log:
//! requests by kind, next to the sidecar model's 110 x (1 login + 3 reads).
//! Also the burst (wall time, p99, errors), and the driver's RSS and CPU.
//! Prints; asserts nothing. Needs root.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;
use support::bao::BaoServer;
use support::driver::Driver;
use support::kube_api::KubeApi;
use support::pods::{TestPod, VOLUME};
use support::{Fixture, KUBE_AUTH, unique};

const IDENTITIES: usize = 10;
const VOLUMES: usize = 110;
const SECRETS: usize = 3;
const INTERVAL_SECS: u64 = 10;

/// Audit log lines so far (request entries only), by kind of request.
fn audit_requests(log: &std::path::Path, skip: usize) -> (usize, BTreeMap<String, usize>) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut kinds = BTreeMap::new();
    for line in lines.iter().skip(skip) {
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if entry["type"] != "request" {
            continue;
        }
        let path = entry["request"]["path"].as_str().unwrap_or("");
        let kind = if path.ends_with("/login") {
            "login"
        } else if path.starts_with("sys/internal/ui/mounts") {
            "mount lookup"
        } else if path.starts_with("auth/token/renew") {
            "token renewal"
        } else if path.starts_with("sys/") || path.starts_with("auth/") {
            "other"
        } else {
            "secret read"
        };
        *kinds.entry(kind.to_string()).or_insert(0) += 1;
    }
    (lines.len(), kinds)
}

#[tokio::main]
async fn main() {
    // Its own OpenBao, with a file audit device that counts every request.
    let audit_dir = tempfile::tempdir().unwrap();
    let audit_log = audit_dir.path().join("audit.log");
    let bao = BaoServer::start_dev_with_config(&format!(
        "audit \"file\" \"bench\" {{\n  options = {{\n    file_path = \"{}\"\n  }}\n}}\n",
        audit_log.display()
    ));
    let kube = KubeApi::start();
    bao.enable_kubernetes_auth(KUBE_AUTH, &kube);
    let fx = Fixture { bao, kube };
    let fx = &fx;
    let mount = unique("kv");
    fx.bao.enable_kv(&mount, 2);
    let interval = format!("{INTERVAL_SECS}s");
    let mut pods = Vec::new();
    for i in 0..IDENTITIES {
        let paths: Vec<String> = (0..SECRETS)
            .map(|s| format!("{mount}/team{i}/s{s}"))
            .collect();
        for (s, path) in paths.iter().enumerate() {
            fx.bao.write_kv2(
                &mount,
                &format!("team{i}/s{s}"),
                json!({"user": format!("u{i}{s}"), "pass": "x"}),
            );
            let _ = path;
        }
        let policy_paths: Vec<String> = vec![format!("{mount}/data/team{i}/*")];
        let refs: Vec<&str> = policy_paths.iter().map(String::as_str).collect();
        let template_pod = TestPod::kubernetes(fx, &refs);
        for v in 0..VOLUMES / IDENTITIES {
            let mut id = template_pod.id.clone();
            id.pod_name = format!("{}-{v}", template_pod.id.pod_name);
            id.pod_uid = support::jwt::new_uid();
            let pod = TestPod {
                id,
                role: template_pod.role.clone(),
            };
            let templates: Vec<(String, String)> = paths
                .iter()
                .enumerate()
                .map(|(s, p)| {
                    (
                        format!("agent-inject-template-s{s}"),
                        format!("{{{{ with secret \"{p}\" }}}}{{{{ .Data.data.user }}}}:{{{{ .Data.data.pass }}}}{{{{ end }}}}"),
                    )
                })
                .collect();
            let mut annotations: Vec<(&str, &str)> = templates
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            annotations.push(("template-static-secret-render-interval", &interval));
            pod.register(fx, &annotations);
            pods.push(pod);
        }
    }

    let driver = Driver::start_with(support::driver::DriverOptions {
        vault_addr: Some(fx.bao.addr()),
        kube_api_url: Some(fx.kube.url()),
        kube_token: Some(fx.kube.api_token("vault-csi", "vault-csi-driver")),
        env: vec![("RUST_LOG".into(), "info".into())],
        ..Default::default()
    })
    .await;
    let pid = driver.pid();
    let rss_idle = support::process::rss_kib(pid);
    let channel = driver.channel().await;

    // The burst: every volume at once, as after a node reboot.
    let (audit_start, _) = audit_requests(&audit_log, 0);
    let requests_before = driver.vault_requests();
    let cpu_burst = (
        support::process::cpu_seconds(pid),
        fx.bao.pid().map_or(0.0, support::process::cpu_seconds),
        support::process::cpu_seconds(std::process::id()),
    );
    let burst_start = Instant::now();
    let calls: Vec<_> = pods
        .iter()
        .map(|pod| {
            let mut node =
                vault_csi_driver::csi::proto::node_client::NodeClient::new(channel.clone());
            let request = pod.publish_request(&driver, VOLUME, &pod.token(fx));
            tokio::spawn(async move {
                let start = Instant::now();
                let result = node.node_publish_volume(request).await;
                if let Err(status) = &result {
                    eprintln!("publish failed: {}", status.message());
                }
                (start.elapsed(), result.is_ok())
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for call in calls {
        let (elapsed, ok) = call.await.unwrap();
        latencies.push(elapsed);
        errors += usize::from(!ok);
    }
    let burst_wall = burst_start.elapsed();
    let cpu_burst = (
        support::process::cpu_seconds(pid) - cpu_burst.0,
        fx.bao.pid().map_or(0.0, support::process::cpu_seconds) - cpu_burst.1,
        support::process::cpu_seconds(std::process::id()) - cpu_burst.2,
    );
    latencies.sort();
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    let median = latencies[latencies.len() / 2];
    let (after_burst, burst_kinds) = audit_requests(&audit_log, audit_start);
    let rss_110 = support::process::rss_kib(pid);
    let burst_requests =
        support::driver::vault_requests_between(&requests_before, &driver.vault_requests(), 1.0);

    // One refresh cycle: every static secret falls due once within the interval.
    let cpu_before = support::process::cpu_seconds(pid);
    tokio::time::sleep(Duration::from_secs(INTERVAL_SECS + 1)).await;
    let cpu_cycle = support::process::cpu_seconds(pid) - cpu_before;
    let (_, cycle_kinds) = audit_requests(&audit_log, after_burst);
    let cycle_total: usize = cycle_kinds.values().sum();
    let sidecar = VOLUMES * (1 + SECRETS);

    println!(
        "\nrefresh load: {VOLUMES} volumes, {IDENTITIES} identities, {SECRETS} KV v2 secrets per volume, interval {INTERVAL_SECS}s"
    );
    println!(
        "burst publish of {VOLUMES} volumes: wall {:.0} ms, median {:.1} ms, p99 {:.1} ms, errors {errors}",
        burst_wall.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    println!("  inside the driver: {}", driver.publish_phases().summary());
    println!(
        "  CPU during the burst: driver {:.0} ms, OpenBao {:.0} ms, this process (gRPC clients, API stand-in) {:.0} ms",
        cpu_burst.0 * 1e3,
        cpu_burst.1 * 1e3,
        cpu_burst.2 * 1e3
    );
    println!("  Vault requests during the burst: {burst_kinds:?}");
    println!("  as the driver timed them: {burst_requests}");
    println!("Vault requests in one refresh cycle: {cycle_total} {cycle_kinds:?}");
    println!(
        "  sidecar model: {VOLUMES} x (1 login + {SECRETS} reads) = {sidecar}; ratio {:.1}x fewer",
        sidecar as f64 / cycle_total.max(1) as f64
    );
    println!(
        "driver RSS: idle {:.1} MiB, with {VOLUMES} volumes {:.1} MiB (sidecar model requests {VOLUMES} x 64 MiB = {} MiB)",
        rss_idle as f64 / 1024.0,
        rss_110 as f64 / 1024.0,
        VOLUMES * 64
    );
    println!(
        "driver CPU over the cycle: {:.2} s ({:.1}% of one core)",
        cpu_cycle,
        cpu_cycle / (INTERVAL_SECS + 1) as f64 * 100.0
    );

    // Memory at 1000 volumes: more incarnations of the same Pods.
    let mut node = vault_csi_driver::csi::proto::node_client::NodeClient::new(channel.clone());
    let mut published = VOLUMES;
    let mut round = 0;
    while published < MANY_VOLUMES {
        let mut extra = TestPod {
            id: pods[round % pods.len()].id.clone(),
            role: pods[round % pods.len()].role.clone(),
        };
        round += 1;
        extra.id.pod_uid = support::jwt::new_uid();
        extra.id.pod_name = format!("{}-x{round}", extra.id.pod_name);
        extra.register(
            fx,
            &[("agent-inject-secret-s", &format!("{mount}/team0/s0"))],
        );
        if node
            .node_publish_volume(extra.publish_request(&driver, VOLUME, &extra.token(fx)))
            .await
            .is_ok()
        {
            published += 1;
        }
    }
    println!(
        "driver RSS with {MANY_VOLUMES} volumes: {:.1} MiB",
        support::process::rss_kib(pid) as f64 / 1024.0
    );
}

const MANY_VOLUMES: usize = 1000;
