//! Mutating admission webhook: Pods that carry the Vault Agent Injector's
//! annotations get this driver's inline CSI volumes and their mounts, so that
//! manifests written for the injector work unchanged.
//!
//! [`patch`] decides (pure), [`review`] speaks AdmissionReview (pure),
//! [`server`] serves HTTPS, [`tls`] keeps the certificate fresh. The process
//! talks to neither Vault nor the API server.

pub mod metrics;
pub mod patch;
pub mod review;
pub mod server;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args};

use crate::config::{ClusterArgs, ConfigError, LogFormat};
use crate::inject::{ClusterDefaults, ClusterSettingError};

/// The API server sends at most about 3 MiB (an object near etcd's 1.5 MiB
/// limit, twice for an update); leave room for the envelope.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 4 << 20;

/// Flags of `vault-csi-driver webhook`.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Address to serve HTTPS on.
    #[arg(long, env = "WEBHOOK_ADDR", default_value = "0.0.0.0:8443")]
    pub webhook_addr: SocketAddr,

    /// PEM certificate chain served to the API server (re-read when it changes).
    #[arg(
        long,
        env = "TLS_CERT_FILE",
        default_value = "/etc/vault-csi-webhook/tls/tls.crt"
    )]
    pub tls_cert_file: PathBuf,

    /// PEM private key of --tls-cert-file (re-read when it changes).
    #[arg(
        long,
        env = "TLS_KEY_FILE",
        default_value = "/etc/vault-csi-webhook/tls/tls.key"
    )]
    pub tls_key_file: PathBuf,

    /// Seconds between checks of the certificate files for a rotation.
    #[arg(long, env = "TLS_RELOAD_SECONDS", default_value_t = 10)]
    pub tls_reload_seconds: u64,

    /// CSI driver name written into the volumes (the name the node plugin registers under).
    #[arg(long, env = "DRIVER_NAME", default_value = "vault-csi-driver")]
    pub driver_name: String,

    /// Refuse Pods whose annotations the driver would refuse at mount (`--deny-invalid=false` admits them with a warning).
    #[arg(
        long,
        env = "DENY_INVALID",
        default_value_t = true,
        action = ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub deny_invalid: bool,

    /// Largest AdmissionReview body accepted, in bytes; larger ones get HTTP 413.
    #[arg(long, env = "MAX_REQUEST_BYTES", default_value_t = DEFAULT_MAX_REQUEST_BYTES)]
    pub max_request_bytes: usize,

    /// Log format: `text` for people, `json` for log collectors. Verbosity comes from RUST_LOG.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// The injector's cluster-wide settings: Pods are checked as the driver will plan them.
    #[command(flatten)]
    pub cluster: ClusterArgs,

    /// Address of the plain-HTTP `/metrics`, `/healthz` and `/readyz`; empty to turn them off.
    #[arg(long, env = "METRICS_ADDR", default_value = "0.0.0.0:9811")]
    pub metrics_addr: String,
}

/// Validated settings of the webhook.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// Certificate file.
    pub cert_file: PathBuf,
    /// Key file.
    pub key_file: PathBuf,
    /// Time between checks of the certificate files.
    pub reload_interval: Duration,
    /// What the patches contain and whether invalid Pods are refused.
    pub settings: patch::Settings,
    /// Body size limit.
    pub max_request_bytes: usize,
    /// The injector's cluster-wide settings.
    pub cluster: ClusterDefaults,
    /// Where metrics and health are served, if anywhere.
    pub metrics_addr: Option<SocketAddr>,
}

impl WebhookArgs {
    /// Checks every flag and turns it into typed settings.
    ///
    /// # Errors
    ///
    /// The flag at fault and what is wrong with it.
    pub fn validate(&self) -> Result<WebhookConfig, WebhookError> {
        if self.driver_name.is_empty() || self.driver_name.len() > 63 {
            return Err(WebhookError::Config(ConfigError {
                flag: "driver-name",
                problem: "must be 1 to 63 characters".into(),
            }));
        }
        if self.tls_reload_seconds == 0 {
            return Err(WebhookError::Config(ConfigError {
                flag: "tls-reload-seconds",
                problem: "must be at least 1".into(),
            }));
        }
        if self.max_request_bytes < 1024 {
            return Err(WebhookError::Config(ConfigError {
                flag: "max-request-bytes",
                problem: "must be at least 1024 (the API server sends up to about 3 MiB)".into(),
            }));
        }
        let cluster = self.cluster.validate()?;
        let metrics_addr = match self.metrics_addr.trim() {
            "" => None,
            addr => Some(addr.parse().map_err(|_| {
                WebhookError::Config(ConfigError {
                    flag: "metrics-addr",
                    problem: format!("{addr:?} is not an address such as 0.0.0.0:9811"),
                })
            })?),
        };
        Ok(WebhookConfig {
            metrics_addr,
            addr: self.webhook_addr,
            cert_file: self.tls_cert_file.clone(),
            key_file: self.tls_key_file.clone(),
            reload_interval: Duration::from_secs(self.tls_reload_seconds),
            settings: patch::Settings {
                driver_name: self.driver_name.clone(),
                deny_invalid: self.deny_invalid,
            },
            max_request_bytes: self.max_request_bytes,
            cluster,
        })
    }
}

/// Why the webhook could not run.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// A flag is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A cluster setting is wrong.
    #[error(transparent)]
    Cluster(#[from] ClusterSettingError),
    /// The certificate cannot be served.
    #[error("serving certificate: {0}")]
    Tls(#[from] tls::TlsError),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Set once the HTTPS listener is bound.
static SERVING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs the webhook until `shutdown` resolves.
///
/// # Errors
///
/// Bad flags, an unusable certificate at start, or an address in use.
pub async fn run(
    args: &WebhookArgs,
    shutdown: impl Future<Output = ()>,
) -> Result<(), WebhookError> {
    let config = args.validate()?;
    let certs = tls::ReloadingCert::load(&config.cert_file, &config.key_file)?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| WebhookError::Bind {
            addr: config.addr,
            source,
        })?;
    tracing::info!(
        addr = %config.addr,
        driver = %config.settings.driver_name,
        deny_invalid = config.settings.deny_invalid,
        "admission webhook serving"
    );
    SERVING.store(true, std::sync::atomic::Ordering::SeqCst);
    if let Some(addr) = config.metrics_addr {
        let served = tokio::spawn(crate::metrics::serve_exposition(
            addr,
            |format| metrics::global().encode(format),
            &SERVING,
            "webhook not serving yet",
        ));
        tokio::spawn(async move {
            if let Ok(Err(error)) = served.await {
                tracing::error!(%error, "metrics endpoint stopped");
            }
        });
    }
    let handler = server::Handler::new(config.settings, config.max_request_bytes)
        .with_cluster(config.cluster);
    server::Server::new(handler, certs, config.reload_interval)
        .serve(listener, shutdown)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: WebhookArgs,
    }

    fn parse(flags: &[&str]) -> WebhookArgs {
        let argv = std::iter::once("webhook").chain(flags.iter().copied());
        Cli::try_parse_from(argv).expect("flags parse").args
    }

    #[test]
    fn deny_invalid_defaults_to_on() {
        assert!(parse(&[]).deny_invalid);
        assert!(parse(&["--deny-invalid"]).deny_invalid);
    }

    #[test]
    fn deny_invalid_can_be_switched_off() {
        assert!(!parse(&["--deny-invalid=false"]).deny_invalid);
        assert!(!parse(&["--deny-invalid", "false"]).deny_invalid);
    }

    #[test]
    fn defaults_validate() {
        let config = parse(&[]).validate().unwrap();
        assert_eq!(config.addr.port(), 8443);
        assert_eq!(config.max_request_bytes, 4 << 20);
        assert_eq!(config.reload_interval, Duration::from_secs(10));
    }

    #[test]
    fn zero_reload_interval_names_the_flag() {
        let e = parse(&["--tls-reload-seconds", "0"])
            .validate()
            .unwrap_err();
        assert!(e.to_string().starts_with("--tls-reload-seconds"));
    }

    #[test]
    fn cluster_settings_are_read_and_a_bad_one_names_its_variable() {
        let config = parse(&["--agent-inject-default-template", "json"])
            .validate()
            .unwrap();
        assert_eq!(
            config.cluster.default_format,
            Some(crate::inject::DefaultFormat::Json)
        );
        let e = parse(&["--agent-inject-default-template", "yaml"])
            .validate()
            .unwrap_err();
        assert!(
            e.to_string().starts_with("AGENT_INJECT_DEFAULT_TEMPLATE"),
            "{e}"
        );
    }

    #[test]
    fn tiny_body_limit_names_the_flag() {
        let e = parse(&["--max-request-bytes", "10"])
            .validate()
            .unwrap_err();
        assert!(e.to_string().starts_with("--max-request-bytes"));
    }
}
