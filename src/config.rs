//! Command-line flags (each with an environment fallback), validated once
//! into typed settings that the rest of the driver uses.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::quantity;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Flags of `vault-csi-driver serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// CSI endpoint kubelet connects to: a unix socket URL (`unix:///path`) or a plain path.
    #[arg(long, env = "CSI_ENDPOINT", default_value = "unix:///csi/csi.sock")]
    pub endpoint: String,

    /// Name this driver registers under; Pods name it in `volumes[].csi.driver`.
    #[arg(long, env = "DRIVER_NAME", default_value = "vault-csi-driver")]
    pub driver_name: String,

    /// Node this instance serves, reported in NodeGetInfo (the DaemonSet sets NODE_NAME from the downward API).
    #[arg(long, env = "NODE_NAME")]
    pub node_id: String,

    /// Kubelet's root directory; every target path must lie under `<kubelet-dir>/pods/`.
    #[arg(long, env = "KUBELET_DIR", default_value = "/var/lib/kubelet")]
    pub kubelet_dir: PathBuf,

    /// Size limit of each volume's tmpfs, as a Kubernetes quantity (e.g. 8Mi).
    #[arg(long, env = "TMPFS_SIZE", default_value = "8Mi")]
    pub tmpfs_size: String,

    /// Bytes of secret files the node may hold in all its volumes together
    /// (they are charged to this container's memory). `auto`: the
    /// container's memory limit less --memory-headroom, no budget without a limit.
    #[arg(long, env = "TMPFS_BUDGET", default_value = "auto")]
    pub tmpfs_budget: String,

    /// Memory kept for the driver itself when the budget is `auto`.
    #[arg(long, env = "MEMORY_HEADROOM", default_value = "64Mi")]
    pub memory_headroom: String,

    /// Log format: `text` for people, `json` for log collectors. Verbosity comes from RUST_LOG.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Address of the Prometheus `/metrics`, `/healthz` and `/readyz` endpoints; empty to turn them off.
    #[arg(long, env = "METRICS_ADDR", default_value = "0.0.0.0:9810")]
    pub metrics_addr: String,

    /// Where the driver keeps one record per volume (no secrets, no tokens) to find its volumes after a restart.
    /// Under `/run`, a tmpfs on most hosts: records outlive the driver, not the boot, just like the volumes.
    #[arg(long, env = "STATE_DIR", default_value = "/run/vault-csi-driver")]
    pub state_dir: PathBuf,

    /// Follow this node's Pods with one list-and-watch, so a publish needs no
    /// Pod GET (RBAC: list and watch on pods). `false` keeps RBAC to get.
    #[arg(long, env = "WATCH_PODS", default_value_t = true, action = clap::ArgAction::Set)]
    pub watch_pods: bool,

    /// How to reach Vault.
    #[command(flatten)]
    pub vault: VaultArgs,

    /// How to reach the Kubernetes API server.
    #[command(flatten)]
    pub kube: crate::kube::KubeArgs,
}

/// Flags for reaching Vault/OpenBao; trust is a node setting, never a Pod's.
#[derive(Debug, Clone, Args)]
pub struct VaultArgs {
    /// Vault/OpenBao address, e.g. https://vault.vault.svc:8200.
    #[arg(long, env = "VAULT_ADDR")]
    pub vault_addr: String,

    /// PEM bundle of CA certificates that sign Vault's certificate (replaces the system roots).
    #[arg(long, env = "VAULT_CACERT")]
    pub vault_ca_file: Option<PathBuf>,

    /// Directory of CA certificates (*.pem, *.crt) that sign Vault's certificate.
    #[arg(long, env = "VAULT_CAPATH")]
    pub vault_ca_dir: Option<PathBuf>,

    /// PEM client certificate for mutual TLS with Vault.
    #[arg(long, env = "VAULT_CLIENT_CERT", requires = "vault_client_key")]
    pub vault_client_cert: Option<PathBuf>,

    /// PEM private key of --vault-client-cert.
    #[arg(long, env = "VAULT_CLIENT_KEY", requires = "vault_client_cert")]
    pub vault_client_key: Option<PathBuf>,

    /// Name Vault's certificate must carry, when it differs from the address's host.
    #[arg(long, env = "VAULT_TLS_SERVER_NAME")]
    pub vault_tls_server_name: Option<String>,

    /// Accept any certificate from Vault. Insecure: for tests only.
    #[arg(long, env = "VAULT_SKIP_VERIFY")]
    pub vault_skip_verify: bool,

    /// Other Vault addresses a Pod may choose with the `service` annotation (comma-separated).
    #[arg(long, env = "VAULT_ALLOWED_ADDRS", value_delimiter = ',')]
    pub vault_allowed_addrs: Vec<String>,

    /// Audience of the Pod ServiceAccount token to log in with (the CSIDriver's tokenRequests).
    #[arg(long, env = "VAULT_AUDIENCE", default_value = "vault")]
    pub audience: String,

    /// How often `serve` asks Vault's `sys/health` for the `vault_csi_vault_up` metric (Go duration).
    #[arg(long, env = "VAULT_HEALTH_INTERVAL", default_value = "15s", value_parser = health_interval)]
    pub vault_health_interval: std::time::Duration,
}

/// A Go duration of at least 100 ms (a busier probe would only load Vault).
fn health_interval(text: &str) -> Result<std::time::Duration, String> {
    let interval = crate::inject::go_duration(text)
        .map_err(|_| format!("{text:?} is not a Go duration such as 15s or 1m"))?;
    if interval < std::time::Duration::from_millis(100) {
        return Err("must be at least 100ms".into());
    }
    Ok(interval)
}

impl VaultArgs {
    /// The Vault client settings these flags describe.
    pub fn settings(&self) -> crate::vault::VaultSettings {
        crate::vault::VaultSettings {
            address: self.vault_addr.clone(),
            tls: crate::vault::VaultTlsConfig {
                ca_file: self.vault_ca_file.clone(),
                ca_dir: self.vault_ca_dir.clone(),
                client_cert: self.vault_client_cert.clone(),
                client_key: self.vault_client_key.clone(),
                server_name: self.vault_tls_server_name.clone(),
                skip_verify: self.vault_skip_verify,
            },
            ..Default::default()
        }
    }
}

/// Validated settings of the node plugin.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Path of the unix socket to serve on.
    pub socket_path: PathBuf,
    /// CSI driver name.
    pub driver_name: String,
    /// Node id reported to kubelet.
    pub node_id: String,
    /// Kubelet's root directory, as given.
    pub kubelet_dir: PathBuf,
    /// tmpfs size limit per volume, in bytes.
    pub tmpfs_size_bytes: u64,
    /// Token audience to log in with.
    pub audience: String,
    /// Bytes of secret files the node may hold; `None`: no limit.
    pub tmpfs_budget: Option<u64>,
}

/// A flag whose value cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("--{flag}: {problem}")]
pub struct ConfigError {
    /// The flag at fault, without dashes.
    pub flag: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl ServeArgs {
    /// Checks every flag and turns it into typed settings.
    pub fn validate(&self) -> Result<NodeConfig, ConfigError> {
        let socket_path = socket_path(&self.endpoint).map_err(|problem| ConfigError {
            flag: "endpoint",
            problem,
        })?;
        if self.driver_name.is_empty() || self.driver_name.len() > 63 {
            return Err(ConfigError {
                flag: "driver-name",
                problem: "must be 1 to 63 characters".into(),
            });
        }
        if self.node_id.trim().is_empty() {
            return Err(ConfigError {
                flag: "node-id",
                problem: "is empty (set it or NODE_NAME)".into(),
            });
        }
        if !self.kubelet_dir.is_absolute() {
            return Err(ConfigError {
                flag: "kubelet-dir",
                problem: "must be an absolute path".into(),
            });
        }
        if self.vault.audience.trim().is_empty() {
            return Err(ConfigError {
                flag: "audience",
                problem: "is empty".into(),
            });
        }
        let tmpfs_size_bytes =
            quantity::parse_bytes(&self.tmpfs_size).map_err(|problem| ConfigError {
                flag: "tmpfs-size",
                problem,
            })?;
        let headroom =
            quantity::parse_bytes(&self.memory_headroom).map_err(|problem| ConfigError {
                flag: "memory-headroom",
                problem,
            })?;
        let tmpfs_budget = match self.tmpfs_budget.trim() {
            "auto" => crate::volume::budget::default_budget(
                crate::volume::budget::cgroup_memory_limit(std::path::Path::new("/sys/fs/cgroup")),
                headroom,
            ),
            bytes => Some(quantity::parse_bytes(bytes).map_err(|problem| ConfigError {
                flag: "tmpfs-budget",
                problem: format!("{problem} (or auto)"),
            })?),
        };
        Ok(NodeConfig {
            tmpfs_budget,
            socket_path,
            driver_name: self.driver_name.clone(),
            node_id: self.node_id.clone(),
            kubelet_dir: self.kubelet_dir.clone(),
            tmpfs_size_bytes,
            audience: self.vault.audience.clone(),
        })
    }
}

/// Turns `unix:///csi/csi.sock` (or a bare absolute path) into the socket path.
fn socket_path(endpoint: &str) -> Result<PathBuf, String> {
    let path = match endpoint.strip_prefix("unix://") {
        Some(rest) => rest,
        None if endpoint.contains("://") => {
            return Err(format!("{endpoint:?}: only unix:// endpoints are served"));
        }
        None => endpoint,
    };
    let path = PathBuf::from(path);
    if !path.is_absolute() {
        return Err(format!("{endpoint:?}: the socket path must be absolute"));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ServeArgs {
        ServeArgs {
            endpoint: "unix:///csi/csi.sock".into(),
            driver_name: "vault-csi-driver".into(),
            node_id: "node-1".into(),
            kubelet_dir: "/var/lib/kubelet".into(),
            tmpfs_size: "8Mi".into(),
            tmpfs_budget: "auto".into(),
            memory_headroom: "64Mi".into(),
            log_format: LogFormat::Text,
            state_dir: "/run/vault-csi-driver".into(),
            metrics_addr: "0.0.0.0:9810".into(),
            watch_pods: true,
            vault: VaultArgs {
                vault_addr: "http://127.0.0.1:8200".into(),
                vault_ca_file: None,
                vault_ca_dir: None,
                vault_client_cert: None,
                vault_client_key: None,
                vault_tls_server_name: None,
                vault_skip_verify: false,
                vault_allowed_addrs: Vec::new(),
                audience: "vault".into(),
                vault_health_interval: std::time::Duration::from_secs(15),
            },
            kube: crate::kube::KubeArgs {
                kube_api_url: None,
                kube_ca_file: None,
                kube_token_file: None,
            },
        }
    }

    #[test]
    fn unix_url_and_bare_path_name_the_same_socket() {
        assert_eq!(
            socket_path("unix:///csi/csi.sock").unwrap(),
            PathBuf::from("/csi/csi.sock")
        );
        assert_eq!(
            socket_path("/csi/csi.sock").unwrap(),
            PathBuf::from("/csi/csi.sock")
        );
    }

    #[test]
    fn tcp_and_relative_endpoints_are_refused() {
        assert!(socket_path("tcp://127.0.0.1:10000").is_err());
        assert!(socket_path("unix://csi.sock").is_err());
    }

    #[test]
    fn defaults_validate() {
        let config = args().validate().unwrap();
        assert_eq!(config.tmpfs_size_bytes, 8 << 20);
    }

    #[test]
    fn empty_node_id_names_the_flag() {
        let mut bad = args();
        bad.node_id = " ".into();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("--node-id")
        );
    }

    #[test]
    fn bad_tmpfs_size_names_the_flag() {
        let mut bad = args();
        bad.tmpfs_size = "lots".into();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("--tmpfs-size")
        );
    }
}
