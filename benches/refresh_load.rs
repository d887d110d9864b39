//! A node's worth of volumes: the publish burst, one refresh cycle's Vault
//! load, and what the driver costs for it.
//!
//! 110 volumes (the default max Pods per node) over 10 identities, each
//! volume reading 3 KV v2 secrets through templates.
//!
//! - Burst: all 110 published at once (as after a node reboot), in rounds
//!   with fresh Pods; wall time, median, p99, errors. Next to it, in the
//!   same run, what OpenBao alone needs for the same work from a plain
//!   client (10 logins, then 3 reads each) and for the sidecar model's
//!   (110 x (login + 3 reads)), since OpenBao shares the 2 cores here.
//! - Vault load: one refresh cycle counted by OpenBao's own audit log, next
//!   to the sidecar model's 110 x (1 login + 3 reads).
//! - The driver's RSS at 0, 110 and 1000 volumes, and its CPU per cycle.
//!
//! Prints, and leaves its figures for the summary table; asserts nothing.
//! Needs root.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;
use support::bao::BaoServer;
use support::bench::{ms, percentile};
use support::driver::Driver;
use support::kube_api::KubeApi;
use support::pods::{TestPod, VOLUME};
use support::{Fixture, KUBE_AUTH, unique};
use tonic::transport::Channel;
use vault_csi_driver::csi::proto::node_client::NodeClient;

const IDENTITIES: usize = 10;
const VOLUMES: usize = 110;
const SECRETS: usize = 3;
const INTERVAL_SECS: u64 = 10;
const BURST_ROUNDS: usize = 3;
const MANY_VOLUMES: usize = 1000;

/// One ServiceAccount with its role, its secrets and its Pods' annotations.
struct Identity {
    template: TestPod,
    paths: Vec<String>,
    annotations: Vec<(String, String)>,
}

impl Identity {
    /// `count` fresh Pods of this identity, registered with the API server.
    fn pods(&self, fx: &Fixture, round: usize, count: usize) -> Vec<TestPod> {
        let annotations: Vec<(&str, &str)> = self
            .annotations
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        (0..count)
            .map(|v| {
                let pod = self.template.replica(&format!("{round}-{v}"));
                pod.register(fx, &annotations);
                pod
            })
            .collect()
    }
}

fn identities(fx: &Fixture, mount: &str) -> Vec<Identity> {
    (0..IDENTITIES)
        .map(|i| {
            let paths: Vec<String> = (0..SECRETS)
                .map(|s| {
                    let key = format!("team{i}/s{s}");
                    fx.bao
                        .write_kv2(mount, &key, json!({"user": format!("u{i}{s}"), "pass": "x"}));
                    format!("{mount}/{key}")
                })
                .collect();
            let template = TestPod::kubernetes(fx, &[&format!("{mount}/data/team{i}/*")]);
            let mut annotations: Vec<(String, String)> = paths
                .iter()
                .enumerate()
                .map(|(s, p)| {
                    (
                        format!("agent-inject-template-s{s}"),
                        format!("{{{{ with secret \"{p}\" }}}}{{{{ .Data.data.user }}}}:{{{{ .Data.data.pass }}}}{{{{ end }}}}"),
                    )
                })
                .collect();
            annotations.push((
                "template-static-secret-render-interval".into(),
                format!("{INTERVAL_SECS}s"),
            ));
            Identity {
                template,
                paths,
                annotations,
            }
        })
        .collect()
}

/// Latencies of concurrent operations, sorted, with the wall time and errors.
struct Burst {
    sorted: Vec<Duration>,
    wall: Duration,
    errors: usize,
}

impl Burst {
    fn p99(&self) -> Duration {
        percentile(&self.sorted, 0.99)
    }

    fn median(&self) -> Duration {
        percentile(&self.sorted, 0.5)
    }

    fn line(&self) -> String {
        format!(
            "wall {:.0} ms, median {:.1} ms, p99 {:.1} ms, errors {}",
            ms(self.wall),
            ms(self.median()),
            ms(self.p99()),
            self.errors
        )
    }
}

/// Runs `work` for every item at once and times each.
async fn burst<T, F>(items: Vec<T>, work: impl Fn(T) -> F) -> Burst
where
    F: std::future::Future<Output = bool> + Send + 'static,
{
    let start = Instant::now();
    let calls: Vec<_> = items
        .into_iter()
        .map(|item| {
            let call = work(item);
            tokio::spawn(async move {
                let begun = Instant::now();
                let ok = call.await;
                (begun.elapsed(), ok)
            })
        })
        .collect();
    let mut sorted = Vec::new();
    let mut errors = 0;
    for call in calls {
        let (elapsed, ok) = call.await.unwrap();
        sorted.push(elapsed);
        errors += usize::from(!ok);
    }
    let wall = start.elapsed();
    sorted.sort();
    Burst {
        sorted,
        wall,
        errors,
    }
}

/// Every Pod's volume published at once over the unix socket.
async fn publish_burst(
    fx: &Fixture,
    driver: &Driver,
    channel: &Channel,
    pods: &[TestPod],
) -> Burst {
    // Requests are built first: kubelet has them ready, the timing is the driver's.
    let requests: Vec<_> = pods
        .iter()
        .map(|pod| pod.publish_request(driver, VOLUME, &pod.token(fx)))
        .collect();
    burst(requests, |request| {
        let mut node = NodeClient::new(channel.clone());
        async move {
            match node.node_publish_volume(request).await {
                Ok(_) => true,
                Err(status) => {
                    eprintln!("publish failed: {}", status.message());
                    false
                }
            }
        }
    })
    .await
}

/// What one client needs from OpenBao for `reads` after a login as `pod`:
/// the login, then the KV v2 reads at once.
async fn login_and_read(
    http: reqwest::Client,
    addr: String,
    role: String,
    jwt: String,
    reads: Vec<String>,
) -> bool {
    let Ok(login) = http
        .put(format!("{addr}/v1/auth/{KUBE_AUTH}/login"))
        .json(&json!({"role": role, "jwt": jwt}))
        .send()
        .await
    else {
        return false;
    };
    let Ok(login) = login.json::<serde_json::Value>().await else {
        return false;
    };
    let Some(token) = login["auth"]["client_token"].as_str() else {
        return false;
    };
    let reads = reads.into_iter().map(|path| {
        let request = http
            .get(format!("{addr}/v1/{path}"))
            .header("X-Vault-Token", token)
            .send();
        async move {
            match request.await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        }
    });
    futures_util::future::join_all(reads)
        .await
        .into_iter()
        .all(|ok| ok)
}

/// `team/s0` as a KV v2 data path: `mount/data/team/s0`.
fn data_path(path: &str) -> String {
    let (mount, key) = path.split_once('/').expect("mount/key");
    format!("{mount}/data/{key}")
}

/// OpenBao's share of a burst from a plain keep-alive client: `clients`
/// login-and-read runs at once, spread over the identities.
async fn vault_burst(fx: &Fixture, identities: &[Identity], clients: usize) -> Burst {
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let runs: Vec<_> = (0..clients)
        .map(|c| {
            let identity = &identities[c % identities.len()];
            let jwt = identity.template.token(fx);
            let reads: Vec<String> = identity.paths.iter().map(|p| data_path(p)).collect();
            (identity.template.role.clone(), jwt, reads)
        })
        .collect();
    let addr = fx.bao.addr();
    burst(runs, |(role, jwt, reads)| {
        login_and_read(http.clone(), addr.clone(), role, jwt, reads)
    })
    .await
}

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

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
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
    let identities = identities(fx, &mount);

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
    println!(
        "\nrefresh load: {VOLUMES} volumes, {IDENTITIES} identities, {SECRETS} KV v2 secrets per volume, interval {INTERVAL_SECS}s"
    );

    // Bursts, in rounds: OpenBao alone for the same work, then the driver
    // with fresh Pods (so each round logs in again), then unpublish.
    let mut rounds = Vec::new();
    let mut floors = Vec::new();
    let mut pods: Vec<TestPod> = Vec::new();
    let mut burst_requests = String::new();
    let mut burst_audit = BTreeMap::new();
    let mut cpu = (0.0, 0.0, 0.0);
    for round in 0..BURST_ROUNDS {
        if !pods.is_empty() {
            let mut node = NodeClient::new(channel.clone());
            for pod in pods.drain(..) {
                node.node_unpublish_volume(pod.unpublish_request(&driver, VOLUME))
                    .await
                    .unwrap();
            }
        }
        let floor = vault_burst(fx, &identities, IDENTITIES).await;
        println!(
            "  round {}: OpenBao alone, 10 logins + 30 reads from a plain client: {}",
            round + 1,
            floor.line()
        );
        floors.push(floor);
        pods = identities
            .iter()
            .flat_map(|identity| identity.pods(fx, round, VOLUMES / IDENTITIES))
            .collect();
        let (audit_start, _) = audit_requests(&audit_log, 0);
        let requests_before = driver.vault_requests();
        let cpu_before = (
            support::process::cpu_seconds(pid),
            fx.bao.pid().map_or(0.0, support::process::cpu_seconds),
            support::process::cpu_seconds(std::process::id()),
        );
        let published = publish_burst(fx, &driver, &channel, &pods).await;
        cpu = (
            support::process::cpu_seconds(pid) - cpu_before.0,
            fx.bao.pid().map_or(0.0, support::process::cpu_seconds) - cpu_before.1,
            support::process::cpu_seconds(std::process::id()) - cpu_before.2,
        );
        burst_audit = audit_requests(&audit_log, audit_start).1;
        burst_requests = support::driver::vault_requests_between(
            &requests_before,
            &driver.vault_requests(),
            1.0,
        );
        println!(
            "  round {}: driver, {VOLUMES} NodePublishVolume at once: {}",
            round + 1,
            published.line()
        );
        rounds.push(published);
    }
    let sidecars = vault_burst(fx, &identities, VOLUMES).await;
    println!(
        "  sidecar model's Vault work alone ({VOLUMES} x (login + {SECRETS} reads) from a plain client): {}",
        sidecars.line()
    );
    let mut by_p99: Vec<&Burst> = rounds.iter().collect();
    by_p99.sort_by_key(|b| b.p99());
    let typical = by_p99[by_p99.len() / 2];
    let mut floor_by_wall: Vec<&Burst> = floors.iter().collect();
    floor_by_wall.sort_by_key(|b| b.wall);
    let floor = floor_by_wall[floor_by_wall.len() / 2];
    let errors: usize = rounds.iter().map(|b| b.errors).sum();
    println!(
        "burst of {VOLUMES} publishes, median round: {} (errors over {BURST_ROUNDS} rounds: {errors})",
        typical.line()
    );
    println!(
        "  OpenBao alone for the same Vault work, median round: wall {:.0} ms",
        ms(floor.wall)
    );
    println!("  inside the driver: {}", driver.publish_phases().summary());
    println!(
        "  CPU during the last burst: driver {:.0} ms, OpenBao {:.0} ms, this process (gRPC clients, API stand-in) {:.0} ms",
        cpu.0 * 1e3,
        cpu.1 * 1e3,
        cpu.2 * 1e3
    );
    println!("  Vault requests during the last burst (audit log): {burst_audit:?}");
    println!("  as the driver timed them: {burst_requests}");
    let rss_110 = support::process::rss_kib(pid);
    let (after_burst, _) = audit_requests(&audit_log, 0);

    // One refresh cycle: every static secret falls due once within the interval.
    let cpu_before = support::process::cpu_seconds(pid);
    tokio::time::sleep(Duration::from_secs(INTERVAL_SECS + 1)).await;
    let cpu_cycle = support::process::cpu_seconds(pid) - cpu_before;
    let (_, cycle_kinds) = audit_requests(&audit_log, after_burst);
    let cycle_total: usize = cycle_kinds.values().sum();
    let sidecar_requests = VOLUMES * (1 + SECRETS);
    println!("Vault requests in one refresh cycle (audit log): {cycle_total} {cycle_kinds:?}");
    println!(
        "  sidecar model: {VOLUMES} x (1 login + {SECRETS} reads) = {sidecar_requests}; ratio {:.1}x fewer",
        sidecar_requests as f64 / cycle_total.max(1) as f64
    );
    println!(
        "driver CPU over the cycle: {:.2} s ({:.1}% of one core)",
        cpu_cycle,
        cpu_cycle / (INTERVAL_SECS + 1) as f64 * 100.0
    );

    // Memory at 1000 volumes: more Pods of the same identities.
    let mut node = NodeClient::new(channel.clone());
    let mut published = VOLUMES;
    let mut extra_round = BURST_ROUNDS;
    while published < MANY_VOLUMES {
        let identity = &identities[extra_round % IDENTITIES];
        for pod in identity.pods(fx, extra_round, 1) {
            if node
                .node_publish_volume(pod.publish_request(&driver, VOLUME, &pod.token(fx)))
                .await
                .is_ok()
            {
                published += 1;
            }
        }
        extra_round += 1;
    }
    let rss_many = support::process::rss_kib(pid);
    println!(
        "driver RSS: idle {:.1} MiB, {VOLUMES} volumes {:.1} MiB, {MANY_VOLUMES} volumes {:.1} MiB (sidecar model requests {VOLUMES} x 64 MiB = {} MiB)",
        mib(rss_idle),
        mib(rss_110),
        mib(rss_many),
        VOLUMES * 64
    );

    support::bench::save(
        "refresh_load",
        &json!({
            "burst_rounds": BURST_ROUNDS,
            "burst_wall_ms": ms(typical.wall),
            "burst_median_ms": ms(typical.median()),
            "burst_p99_ms": ms(typical.p99()),
            "burst_p99_ms_rounds": rounds.iter().map(|b| ms(b.p99())).collect::<Vec<_>>(),
            "burst_errors": errors,
            "burst_vault_alone_wall_ms": ms(floor.wall),
            "sidecar_vault_alone_wall_ms": ms(sidecars.wall),
            "sidecar_vault_alone_p99_ms": ms(sidecars.p99()),
            "cycle_requests": cycle_total,
            "sidecar_requests": sidecar_requests,
            "burst_requests": burst_audit.values().sum::<usize>(),
            "rss_idle_mib": mib(rss_idle),
            "rss_110_mib": mib(rss_110),
            "rss_1000_mib": mib(rss_many),
            "cpu_per_cycle_s": cpu_cycle,
        }),
    );
}
