//! Starts the real `vault-csi-driver serve` binary on a temporary socket and
//! kubelet directory, and talks CSI to it over the unix socket.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};
use vault_csi_driver::csi::proto::identity_client::IdentityClient;
use vault_csi_driver::csi::proto::node_client::NodeClient;

/// A running driver process and the directories it works in.
pub(crate) struct Driver {
    child: Option<Child>,
    /// The CSI socket.
    pub socket: PathBuf,
    /// The fake kubelet root (`<dir>/kubelet`), with `pods/` created.
    pub kubelet_dir: PathBuf,
    log: PathBuf,
    dir: tempfile::TempDir,
    /// The state directory, on a tmpfs like `/run` on a node.
    state: tempfile::TempDir,
    /// Port of the driver's `/metrics`, `/healthz` and `/readyz`.
    pub metrics_port: u16,
}

/// Extra settings for a driver start.
#[derive(Default, Clone)]
pub(crate) struct DriverOptions {
    /// More command-line arguments.
    pub args: Vec<String>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Vault address instead of the shared OpenBao's.
    pub vault_addr: Option<String>,
    /// API server URL instead of the shared stand-in's.
    pub kube_api_url: Option<String>,
    /// The driver's own API token, when `kube_api_url` is another stand-in.
    pub kube_token: Option<String>,
}

impl DriverOptions {
    /// Options with extra command-line arguments.
    pub(crate) fn args(args: &[&str]) -> Self {
        Self {
            args: args.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        }
    }
}

impl Driver {
    /// Starts a driver with default settings and waits until it serves.
    pub(crate) async fn start() -> Driver {
        Driver::start_with(DriverOptions::default()).await
    }

    /// Starts a driver with extra arguments and waits until it serves.
    pub(crate) async fn start_with(options: DriverOptions) -> Driver {
        let dir = tempfile::Builder::new()
            .prefix("vcsi-test")
            .tempdir()
            .expect("temp dir");
        let kubelet_dir = dir.path().join("kubelet");
        fs::create_dir_all(kubelet_dir.join("pods")).unwrap();
        let socket = dir.path().join("csi/csi.sock");
        let log = dir.path().join("driver.log");
        let state = tempfile::Builder::new()
            .prefix("vcsi-state")
            .tempdir_in("/dev/shm")
            .or_else(|_| tempfile::Builder::new().prefix("vcsi-state").tempdir())
            .expect("state dir");
        let mut driver = Driver {
            child: None,
            socket,
            kubelet_dir,
            log,
            dir,
            state,
            metrics_port: super::bao::free_port(),
        };
        driver.spawn(&options);
        driver.wait_serving().await;
        driver
    }

    /// Starts the process again on the same directories (a driver restart).
    pub(crate) async fn restart_with(&mut self, options: DriverOptions) {
        self.kill();
        self.spawn(&options);
        self.wait_serving().await;
    }

    fn spawn(&mut self, options: &DriverOptions) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let fixture = super::fixture();
        let kube_token = self.dir.path().join("kube-token");
        let token = options
            .kube_token
            .clone()
            .unwrap_or_else(|| fixture.kube.api_token("vault-csi", "vault-csi-driver"));
        fs::write(&kube_token, token).unwrap();
        let vault_addr = options
            .vault_addr
            .clone()
            .unwrap_or_else(|| fixture.bao.addr());
        let kube_url = options
            .kube_api_url
            .clone()
            .unwrap_or_else(|| fixture.kube.url());
        let mut command = Command::new(driver_binary());
        command
            .arg("serve")
            .arg("--vault-addr")
            .arg(vault_addr)
            .arg("--kube-api-url")
            .arg(kube_url)
            .arg("--kube-token-file")
            .arg(&kube_token)
            .arg("--state-dir")
            .arg(self.state.path())
            .arg("--metrics-addr")
            .arg(format!("127.0.0.1:{}", self.metrics_port))
            .arg("--endpoint")
            .arg(format!("unix://{}", self.socket.display()))
            .arg("--node-id")
            .arg(super::kube_api::NODE_NAME)
            .arg("--kubelet-dir")
            .arg(&self.kubelet_dir)
            .args(&options.args)
            .env(
                "RUST_LOG",
                "debug,h2=info,hyper=info,tower=info,rustls=info",
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in &options.env {
            command.env(k, v);
        }
        self.child = Some(command.spawn().expect("start vault-csi-driver"));
    }

    async fn wait_serving(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if UnixStream::connect(&self.socket).await.is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "driver exited with {status} before serving:\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "driver did not serve:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// GET on the metrics/health listener: (status, body).
    pub(crate) fn http_get(&self, path: &str) -> (u16, String) {
        super::bao::http_request(self.metrics_port, "GET", path, &[], None)
            .expect("metrics endpoint answers")
    }

    /// The driver's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("driver running").id()
    }

    /// The temporary directory everything lives in.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The driver's state directory (`--state-dir`).
    pub(crate) fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// The value of one series of the driver's `/metrics`, named as the
    /// text exposition writes it (`vault_csi_vault_up`, or with its labels
    /// `vault_csi_pod_reads_total{source="api"}`); `None` when absent.
    pub(crate) fn metric(&self, series: &str) -> Option<f64> {
        let (status, body) = self.http_get("/metrics");
        assert_eq!(status, 200, "{body}");
        body.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map(|value| value.trim().parse().expect("a number"))
    }

    /// The driver's Vault requests so far by kind (`login`, `read`, ...):
    /// how many, and their total seconds, from its `/metrics`.
    pub(crate) fn vault_requests(&self) -> std::collections::BTreeMap<String, (f64, f64)> {
        let (_, body) = self.http_get("/metrics");
        let mut by_kind = std::collections::BTreeMap::<String, (f64, f64)>::new();
        for line in body.lines() {
            let (slot, rest) =
                if let Some(rest) = line.strip_prefix("vault_csi_vault_requests_total{") {
                    (0, rest)
                } else if let Some(rest) =
                    line.strip_prefix("vault_csi_vault_request_duration_seconds_sum{")
                {
                    (1, rest)
                } else {
                    continue;
                };
            let Some((labels, value)) = rest.split_once("} ") else {
                continue;
            };
            let kind = labels
                .split(',')
                .find_map(|l| l.strip_prefix("kind=\""))
                .map(|k| k.trim_end_matches('"').to_string())
                .unwrap_or_default();
            let value = value.trim().parse::<f64>().unwrap_or(0.0);
            let entry = by_kind.entry(kind).or_default();
            if slot == 0 {
                entry.0 += value;
            } else {
                entry.1 += value;
            }
        }
        by_kind
    }

    /// The phase timings the driver logged with each publish so far.
    pub(crate) fn publish_phases(&self) -> PublishPhases {
        let log = self.log();
        let mut phases = PublishPhases::default();
        for line in log.lines().filter(|l| l.contains("volume published")) {
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
                    .and_then(|v| v.parse::<f64>().ok())
            };
            phases.pod_ms.extend(field("pod_ms"));
            phases.vault_ms.extend(field("vault_ms"));
            phases.write_ms.extend(field("write_ms"));
        }
        phases
    }

    /// What the driver logged so far.
    pub(crate) fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A gRPC channel over the unix socket.
    pub(crate) async fn channel(&self) -> Channel {
        connect(&self.socket).await
    }

    /// A Node service client.
    pub(crate) async fn node(&self) -> NodeClient<Channel> {
        NodeClient::new(self.channel().await)
    }

    /// An Identity service client.
    pub(crate) async fn identity(&self) -> IdentityClient<Channel> {
        IdentityClient::new(self.channel().await)
    }

    /// A target path the way kubelet builds it for an inline volume.
    pub(crate) fn target(&self, pod_uid: &str, volume: &str) -> PathBuf {
        let parent = self
            .kubelet_dir
            .join("pods")
            .join(pod_uid)
            .join("volumes/kubernetes.io~csi")
            .join(volume);
        fs::create_dir_all(&parent).unwrap();
        parent.join("mount")
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub(crate) fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("driver running");
        kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
        child.wait().unwrap()
    }

    /// Kills the process at once (SIGKILL), like a crash.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.kill();
        unmount_below(self.dir.path());
    }
}

/// The driver binary: cargo names it for integration tests; an example
/// finds it next to its own directory (`target/<profile>/examples/..`).
pub(crate) fn driver_binary() -> PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_vault-csi-driver") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("own path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
    profile_dir.join("vault-csi-driver")
}

/// Connects a tonic channel to a unix socket.
pub(crate) async fn connect(socket: &Path) -> Channel {
    let socket = socket.to_path_buf();
    Endpoint::try_from("http://[::1]:50051")
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(socket).await?)) }
        }))
        .await
        .expect("connect to the driver socket")
}

/// Every mount point at or below `dir`, deepest first.
pub(crate) fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut found: Vec<PathBuf> = vault_csi_driver::volume::mountinfo::parse(&text)
        .into_iter()
        .map(|e| e.mount_point)
        .filter(|p| p.starts_with(dir))
        .collect();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found
}

/// Unmounts whatever a test left below `dir`, so a failing test leaves no mounts.
pub(crate) fn unmount_below(dir: &Path) {
    for path in mounts_below(dir) {
        let _ = nix::mount::umount2(&path, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// Per-publish phase timings from the driver's `volume published` lines, in ms.
#[derive(Debug, Default)]
pub(crate) struct PublishPhases {
    /// Reading the Pod from the API server.
    pub pod_ms: Vec<f64>,
    /// Login (when needed), fetching and rendering.
    pub vault_ms: Vec<f64>,
    /// Waiting for the mount, writing the files and the record.
    pub write_ms: Vec<f64>,
}

impl PublishPhases {
    /// `pod 0.30 / 0.41, vault ...`: median and p99 of each phase.
    pub(crate) fn summary(&self) -> String {
        let stats = |values: &[f64]| {
            let mut sorted = values.to_vec();
            sorted.sort_by(f64::total_cmp);
            let at = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
            if sorted.is_empty() {
                "-".to_string()
            } else {
                format!("{:.2} / {:.2} ms", at(0.5), at(0.99))
            }
        };
        format!(
            "pod GET {}, Vault {}, mount and write {} (median / p99)",
            stats(&self.pod_ms),
            stats(&self.vault_ms),
            stats(&self.write_ms)
        )
    }
}

/// What [`Driver::vault_requests`] counted between `before` and `after`:
/// `2 login (1.85 ms), ...`, with `per` dividing the counts.
pub(crate) fn vault_requests_between(
    before: &std::collections::BTreeMap<String, (f64, f64)>,
    after: &std::collections::BTreeMap<String, (f64, f64)>,
    per: f64,
) -> String {
    let parts: Vec<String> = after
        .iter()
        .filter_map(|(kind, (count, seconds))| {
            let (count0, seconds0) = before.get(kind).copied().unwrap_or_default();
            let n = count - count0;
            (n > 0.0).then(|| {
                format!(
                    "{} {kind} ({:.2} ms each)",
                    if per == 1.0 {
                        format!("{n}")
                    } else {
                        format!("{:.2}", n / per)
                    },
                    (seconds - seconds0) / n * 1e3
                )
            })
        })
        .collect();
    parts.join(", ")
}
