//! Command-line flags (each with an environment fallback), validated once
//! into typed settings that the rest of the driver uses.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::inject::{self, ClusterDefaults, ClusterSettingError};
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

    /// The injector's cluster-wide settings.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// The injector's cluster-wide settings, read from the variables its Helm
/// chart sets (or the flag of the same name): defaults for Pods that leave
/// an annotation out. A Pod's annotation wins over them.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Injector settings (AGENT_INJECT_*; a Pod's annotation wins)")]
pub struct ClusterArgs {
    /// Vault address of Pods without the `service` annotation; stands in for --vault-addr when that is not set, and must equal it when both are.
    #[arg(long, env = inject::ENV_VAULT_ADDR, value_name = "URL")]
    pub agent_inject_vault_addr: Option<String>,

    /// Auth mount of Pods without `auth-path` (either auth type), e.g. auth/k8s-prod.
    #[arg(long, env = inject::ENV_AUTH_PATH, value_name = "PATH")]
    pub agent_inject_vault_auth_path: Option<String>,

    /// Vault namespace of Pods without `namespace`.
    #[arg(long, env = inject::ENV_NAMESPACE, value_name = "NAMESPACE")]
    pub agent_inject_vault_namespace: Option<String>,

    /// Default template (map or json) of Pods without `agent-inject-default-template`.
    #[arg(long, env = inject::ENV_DEFAULT_TEMPLATE, value_name = "map|json")]
    pub agent_inject_default_template: Option<String>,

    /// File owner of Pods without `agent-run-as-user`.
    #[arg(long, env = inject::ENV_RUN_AS_USER, value_name = "UID")]
    pub agent_inject_run_as_user: Option<String>,

    /// File group of Pods without `agent-run-as-group`.
    #[arg(long, env = inject::ENV_RUN_AS_GROUP, value_name = "GID")]
    pub agent_inject_run_as_group: Option<String>,

    /// `agent-run-as-same-user` of Pods without it.
    #[arg(long, env = inject::ENV_RUN_AS_SAME_USER, value_name = "BOOL")]
    pub agent_inject_run_as_same_user: Option<String>,

    /// `agent-set-security-context` of Pods without it.
    #[arg(long, env = inject::ENV_SET_SECURITY_CONTEXT, value_name = "BOOL")]
    pub agent_inject_set_security_context: Option<String>,

    /// `template-config-exit-on-retry-failure` of Pods without it.
    #[arg(long, env = inject::ENV_EXIT_ON_RETRY_FAILURE, value_name = "BOOL")]
    pub agent_inject_template_config_exit_on_retry_failure: Option<String>,

    /// `template-static-secret-render-interval` of Pods without it.
    #[arg(long, env = inject::ENV_STATIC_SECRET_RENDER_INTERVAL, value_name = "DURATION")]
    pub agent_inject_template_static_secret_render_interval: Option<String>,

    /// `auth-min-backoff` of Pods without it.
    #[arg(long, env = inject::ENV_AUTH_MIN_BACKOFF, value_name = "DURATION")]
    pub agent_inject_auth_min_backoff: Option<String>,

    /// `auth-max-backoff` of Pods without it.
    #[arg(long, env = inject::ENV_AUTH_MAX_BACKOFF, value_name = "DURATION")]
    pub agent_inject_auth_max_backoff: Option<String>,

    /// `agent-revoke-on-shutdown` of Pods without it.
    #[arg(long, env = inject::ENV_REVOKE_ON_SHUTDOWN, value_name = "BOOL")]
    pub agent_inject_revoke_on_shutdown: Option<String>,
}

impl ClusterArgs {
    /// The settings, typed and checked.
    ///
    /// # Errors
    ///
    /// The first setting that cannot be used, named by variable and flag.
    pub fn validate(&self) -> Result<ClusterDefaults, ClusterSettingError> {
        let defaults = ClusterDefaults::parse(|env| self.raw(env).cloned())?;
        if let Some(address) = &defaults.vault_addr {
            crate::vault::Target::new(address).map_err(|e| ClusterSettingError {
                env: inject::ENV_VAULT_ADDR,
                problem: e.to_string(),
            })?;
        }
        Ok(defaults)
    }

    /// The value given for the variable `env`, by flag or environment.
    fn raw(&self, env: &str) -> Option<&String> {
        match env {
            inject::ENV_VAULT_ADDR => self.agent_inject_vault_addr.as_ref(),
            inject::ENV_AUTH_PATH => self.agent_inject_vault_auth_path.as_ref(),
            inject::ENV_NAMESPACE => self.agent_inject_vault_namespace.as_ref(),
            inject::ENV_DEFAULT_TEMPLATE => self.agent_inject_default_template.as_ref(),
            inject::ENV_RUN_AS_USER => self.agent_inject_run_as_user.as_ref(),
            inject::ENV_RUN_AS_GROUP => self.agent_inject_run_as_group.as_ref(),
            inject::ENV_RUN_AS_SAME_USER => self.agent_inject_run_as_same_user.as_ref(),
            inject::ENV_SET_SECURITY_CONTEXT => self.agent_inject_set_security_context.as_ref(),
            inject::ENV_EXIT_ON_RETRY_FAILURE => self
                .agent_inject_template_config_exit_on_retry_failure
                .as_ref(),
            inject::ENV_STATIC_SECRET_RENDER_INTERVAL => self
                .agent_inject_template_static_secret_render_interval
                .as_ref(),
            inject::ENV_AUTH_MIN_BACKOFF => self.agent_inject_auth_min_backoff.as_ref(),
            inject::ENV_AUTH_MAX_BACKOFF => self.agent_inject_auth_max_backoff.as_ref(),
            inject::ENV_REVOKE_ON_SHUTDOWN => self.agent_inject_revoke_on_shutdown.as_ref(),
            _ => None,
        }
    }
}

/// `AGENT_INJECT_*` variables in `environment` that the injector reads and
/// the driver does not (`AGENT_INJECT_VAULT_IMAGE`, `AGENT_INJECT_CPU_LIMIT`,
/// OpenBao's `AGENT_INJECT_BAO_*`, ...), so that a copied injector
/// configuration is never dropped silently.
pub fn unread_injector_variables(
    environment: impl IntoIterator<Item = (String, String)>,
) -> Vec<String> {
    let mut unread: Vec<String> = environment
        .into_iter()
        .filter(|(name, value)| {
            name.starts_with("AGENT_INJECT_")
                && !value.trim().is_empty()
                && !inject::ENV_NAMES.contains(&name.as_str())
        })
        .map(|(name, _)| name)
        .collect();
    unread.sort();
    unread
}

/// Flags for reaching Vault/OpenBao; trust is a node setting, never a Pod's.
#[derive(Debug, Clone, Args)]
pub struct VaultArgs {
    /// Vault/OpenBao address, e.g. https://vault.vault.svc:8200 (default: AGENT_INJECT_VAULT_ADDR).
    #[arg(long, env = "VAULT_ADDR")]
    pub vault_addr: Option<String>,

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
    /// The node's Vault address: `--vault-addr`, else the injector's
    /// `AGENT_INJECT_VAULT_ADDR`. Both name the Vault of Pods without
    /// `service`, so when both are set they must agree.
    ///
    /// # Errors
    ///
    /// Neither is set, or they differ.
    pub fn address(&self, cluster: &ClusterDefaults) -> Result<String, ConfigError> {
        node_vault_addr(self.vault_addr.as_deref(), cluster)?.ok_or_else(|| ConfigError {
            flag: "vault-addr",
            problem: format!("is not set (set VAULT_ADDR, or {})", inject::ENV_VAULT_ADDR),
        })
    }

    /// The Vault client settings these flags describe, for the node's
    /// Vault at `address` (see [`VaultArgs::address`]).
    pub fn settings(&self, address: &str) -> crate::vault::VaultSettings {
        crate::vault::VaultSettings {
            address: address.to_owned(),
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

/// The nodes' Vault address from `--vault-addr` and the injector's
/// `AGENT_INJECT_VAULT_ADDR` (see [`VaultArgs::address`]); `None` when
/// neither is set.
///
/// # Errors
///
/// Both are set and name different addresses.
pub fn node_vault_addr(
    vault_addr: Option<&str>,
    cluster: &ClusterDefaults,
) -> Result<Option<String>, ConfigError> {
    let node = vault_addr.filter(|a| !a.trim().is_empty());
    match (node, cluster.vault_addr.as_deref()) {
        (Some(node), Some(injector))
            if crate::content::normalise_addr(node) != crate::content::normalise_addr(injector) =>
        {
            Err(ConfigError {
                flag: "vault-addr",
                problem: format!(
                    "VAULT_ADDR {node:?} and {} {injector:?} differ; both are the Vault of Pods without a service annotation, so set one of them (another Vault a Pod may choose goes in --vault-allowed-addrs)",
                    inject::ENV_VAULT_ADDR
                ),
            })
        }
        (Some(address), _) | (None, Some(address)) => Ok(Some(address.to_owned())),
        (None, None) => Ok(None),
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
                vault_addr: Some("http://127.0.0.1:8200".into()),
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
            cluster: ClusterArgs::default(),
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

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        cluster: ClusterArgs,
    }

    #[test]
    fn each_cluster_setting_has_a_flag_and_its_injector_variable() {
        use clap::CommandFactory;
        let command = Cli::command();
        let envs: Vec<(String, String)> = command
            .get_arguments()
            .filter_map(|a| Some((a.get_long()?.to_owned(), a.get_env()?.to_str()?.to_owned())))
            .collect();
        assert_eq!(envs.len(), inject::ENV_NAMES.len());
        for env in inject::ENV_NAMES {
            assert!(
                envs.iter()
                    .any(|(flag, e)| e == env && *flag == inject::flag_name(env)),
                "{env}: {envs:?}"
            );
        }
    }

    #[test]
    fn a_flag_gives_the_same_setting_as_its_variable() {
        use clap::Parser;
        let cli = Cli::try_parse_from([
            "x",
            "--agent-inject-vault-auth-path",
            "k8s-prod",
            "--agent-inject-default-template=json",
        ])
        .unwrap();
        let d = cli.cluster.validate().unwrap();
        assert_eq!(d.auth_path.unwrap().as_str(), "auth/k8s-prod");
        assert_eq!(d.default_format, Some(inject::DefaultFormat::Json));
    }

    #[test]
    fn a_bad_injector_vault_address_names_the_variable() {
        let cluster = ClusterArgs {
            agent_inject_vault_addr: Some("vault:8200".into()),
            ..ClusterArgs::default()
        };
        let e = cluster.validate().unwrap_err();
        assert!(
            e.to_string()
                .starts_with("AGENT_INJECT_VAULT_ADDR (--agent-inject-vault-addr): "),
            "{e}"
        );
    }

    #[test]
    fn the_node_address_falls_back_to_the_injectors_and_must_agree_with_it() {
        let mut vault = args().vault;
        let injector = |a: &str| ClusterDefaults {
            vault_addr: Some(a.into()),
            ..ClusterDefaults::default()
        };
        assert_eq!(
            vault.address(&injector("http://127.0.0.1:8200/")).unwrap(),
            "http://127.0.0.1:8200"
        );
        let e = vault.address(&injector("https://other:8200")).unwrap_err();
        assert!(e.to_string().contains("AGENT_INJECT_VAULT_ADDR"), "{e}");
        vault.vault_addr = None;
        assert_eq!(
            vault.address(&injector("https://other:8200")).unwrap(),
            "https://other:8200"
        );
        let e = vault.address(&ClusterDefaults::default()).unwrap_err();
        assert!(e.to_string().starts_with("--vault-addr: is not set"), "{e}");
    }

    #[test]
    fn injector_variables_the_driver_does_not_read_are_listed() {
        let env = [
            ("AGENT_INJECT_VAULT_AUTH_PATH", "auth/x"),
            ("AGENT_INJECT_VAULT_IMAGE", "hashicorp/vault:1.15"),
            ("AGENT_INJECT_BAO_ADDR", "https://bao:8200"),
            ("AGENT_INJECT_CPU_LIMIT", ""),
            ("VAULT_ADDR", "https://vault:8200"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(
            unread_injector_variables(env),
            ["AGENT_INJECT_BAO_ADDR", "AGENT_INJECT_VAULT_IMAGE"]
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
