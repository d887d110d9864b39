//! Vault Agent Injector annotations -> a typed [`Plan`] for one CSI volume.
//!
//! This is the only place that reads `vault.hashicorp.com/*` strings (and
//! OpenBao's `openbao.openbao.org/*` spelling of them, see [`prefix`]): the
//! rest of the driver works from the [`Plan`]. The injector's cluster-wide
//! settings ([`ClusterDefaults`]) fill in what a Pod leaves out. Pure: no I/O,
//! no clock, no panics.
//!
//! Semantics follow the injector (defaults, key spellings, per-NAME lookups by
//! the raw NAME, blank values as absent) except where the driver's SPEC says
//! otherwise (e.g. `auth/jwt` as the default jwt mount).

mod agent_config;
mod annotations;
pub mod catalog;
mod cluster;
mod config_plan;
mod error;
mod keys;
mod ownership;
mod path;
mod plan;
pub mod prefix;
mod settings;
mod survey;
mod value;
mod warning;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

pub use cluster::*;
pub use error::{Echo, ErrorKind, NotInjectedReason, PlanError};
pub use ownership::{Owned, Ownership, PodSecurity, agent_process, ownership};
pub use path::{PathProblem, RelPath};
pub use plan::{
    agent_configmap_name, global_secret_volume_path, plan, plan_with_config, secret_volume_paths,
    selected,
};
pub(crate) use value::go_duration;
pub use warning::{PlanWarning, WarningKind};

/// Mode of a secret file when `agent-inject-perms-NAME` is not set.
pub const DEFAULT_FILE_MODE: u32 = 0o644;
/// Mode of the token file.
pub const TOKEN_FILE_MODE: u32 = 0o640;
/// The volume's version file in its root: a number that grows by one each
/// time the files change, and a newline. No secret may use this name.
pub const VERSION_FILE: &str = ".vault-csi-version";
/// Where the injector expects secrets when `secret-volume-path` is not set.
pub const DEFAULT_SECRET_VOLUME_PATH: &str = "/vault/secrets";
/// Where the injector mounts the `agent-configmap` in its agent containers:
/// each key is a file there.
pub const CONFIGMAP_MOUNT_PATH: &str = "/vault/configs";

/// The `agent-configmap` of a Pod, as read from the API server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentConfigMap {
    /// `metadata.name`.
    pub name: String,
    /// `data`: file name -> content.
    pub data: std::collections::BTreeMap<String, String>,
}

/// What one CSI volume of one Pod must contain, and how to get it.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Who logs in to Vault, and where.
    pub identity: Identity,
    /// The rendered files of this volume, in order of their raw NAME.
    pub files: Vec<FileSpec>,
    /// Write the Vault token to `<volume>/token` (mode 0640). With one
    /// secret-volume-path in use every volume gets it; with several, only the
    /// volume mounted at the global `secret-volume-path`, where the injector
    /// writes it.
    pub token_file: bool,
    /// Where the token file goes in the volume (`token`, or an agent
    /// config's file sink).
    pub token_path: RelPath,
    /// Mode of the token file ([`TOKEN_FILE_MODE`], or the sink's `mode`).
    pub token_mode: u32,
    /// Refresh, ownership and client settings.
    pub options: Options,
    /// Annotations accepted but not (fully) honoured; post each as a Warning event.
    pub warnings: Vec<PlanWarning>,
    /// Annotations that only shape the injector's agent containers, and
    /// unknown keys: shown at admission and by `render`, not posted as events.
    pub notices: Vec<PlanWarning>,
}

/// The Vault login of a Pod (the node adds address, audience and the Pod's
/// ServiceAccount to make the full identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Auth method.
    pub auth_type: AuthType,
    /// Auth mount, always starting with `auth/`.
    pub auth_path: AuthPath,
    /// Vault role.
    pub role: String,
    /// Vault Enterprise / OpenBao namespace, without surrounding `/`.
    pub namespace: Option<String>,
    /// Vault address requested by the Pod; honoured only if the node allows it.
    pub service: Option<String>,
    /// The `service` annotation as the Pod spells it, for messages.
    pub service_annotation: String,
}

/// Supported Vault auth methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// Kubernetes auth: Vault checks the JWT with the TokenReview API.
    Kubernetes,
    /// JWT auth: Vault checks the JWT's signature itself.
    Jwt,
}

impl AuthType {
    /// The method's name as Vault spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::Kubernetes => "kubernetes",
            AuthType::Jwt => "jwt",
        }
    }
}

/// A Vault auth mount path such as `auth/kubernetes`: no surrounding `/`, no
/// empty, `.` or `..` components, nothing that would change a URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthPath(String);

impl AuthPath {
    /// Normalises a mount path: surrounding whitespace and `/` are dropped and
    /// `auth/` is prefixed when missing (`kubernetes` -> `auth/kubernetes`).
    /// The error says what is wrong with the path.
    pub fn new(raw: &str) -> Result<AuthPath, &'static str> {
        let trimmed = raw.trim().trim_matches('/');
        if trimmed.is_empty() {
            return Err("is empty");
        }
        let full = if trimmed.starts_with("auth/") {
            trimmed.to_owned()
        } else {
            format!("auth/{trimmed}")
        };
        match path::vault_path_problem(&full) {
            Some(problem) => Err(problem),
            None => Ok(AuthPath(full)),
        }
    }

    /// `auth/kubernetes`, the default mount for [`AuthType::Kubernetes`].
    pub fn kubernetes() -> AuthPath {
        AuthPath("auth/kubernetes".to_owned())
    }

    /// `auth/jwt`, the default mount for [`AuthType::Jwt`].
    pub fn jwt() -> AuthPath {
        AuthPath("auth/jwt".to_owned())
    }

    /// The path, e.g. `auth/kubernetes`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The login endpoint below `/v1/`, e.g. `auth/kubernetes/login`.
    pub fn login_path(&self) -> String {
        format!("{}/login", self.0)
    }
}

impl fmt::Display for AuthPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One file in the volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Secret NAME after the case rules.
    pub name: String,
    /// Where the file goes, relative to the volume root.
    pub path: RelPath,
    /// What to render.
    pub source: Source,
    /// File mode (permission bits and possibly setuid/setgid/sticky, at most 0o7777).
    pub mode: u32,
    /// A missing map key fails the render instead of printing `<no value>`.
    pub error_on_missing_key: bool,
    /// `agent-inject-command-NAME` was set and is not run (a warning says so).
    pub command_ignored: bool,
    /// The annotation holding the template or Vault path, to name in messages
    /// about this file (e.g. a template that does not parse).
    pub annotation: String,
}

/// What a file is rendered from.
#[derive(Clone, PartialEq, Eq)]
pub enum Source {
    /// The injector's default template over one Vault path.
    DefaultTemplate {
        /// The Vault path, as written in `agent-inject-secret-NAME`.
        secret_path: String,
        /// `map` or `json`.
        format: DefaultFormat,
    },
    /// A Go template written by the Pod author.
    Template {
        /// Template text; never shown in logs or messages.
        text: String,
        /// Left action delimiter, `{{` by default.
        left_delim: String,
        /// Right action delimiter, `}}` by default.
        right_delim: String,
    },
}

impl Source {
    /// The template text to parse: the default template filled in with the
    /// Vault path, or the author's text.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Source::DefaultTemplate {
                secret_path,
                format,
            } => Cow::Owned(format.template(secret_path)),
            Source::Template { text, .. } => Cow::Borrowed(text),
        }
    }

    /// Left and right delimiters to parse [`Source::text`] with.
    pub fn delimiters(&self) -> (&str, &str) {
        match self {
            Source::DefaultTemplate { .. } => ("{{", "}}"),
            Source::Template {
                left_delim,
                right_delim,
                ..
            } => (left_delim, right_delim),
        }
    }
}

/// Template text may embed literal credentials, so it stays out of `Debug`.
impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::DefaultTemplate {
                secret_path,
                format,
            } => f
                .debug_struct("DefaultTemplate")
                .field("secret_path", secret_path)
                .field("format", format)
                .finish(),
            Source::Template {
                text,
                left_delim,
                right_delim,
            } => f
                .debug_struct("Template")
                .field("text", &format_args!("<{} bytes>", text.len()))
                .field("left_delim", left_delim)
                .field("right_delim", right_delim)
                .finish(),
        }
    }
}

/// The injector's two default templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DefaultFormat {
    /// One `key: value` line per key of `.Data`.
    Map,
    /// `.Data` as JSON on one line.
    Json,
}

impl DefaultFormat {
    /// The template text the injector would generate for `secret_path`, byte
    /// for byte (SPEC section 5).
    pub fn template(self, secret_path: &str) -> String {
        match self {
            DefaultFormat::Map => format!(
                "{{{{ with secret \"{secret_path}\" }}}}{{{{ range $k, $v := .Data }}}}{{{{ $k }}}}: {{{{ $v }}}}\n{{{{ end }}}}{{{{ end }}}}"
            ),
            DefaultFormat::Json => format!(
                "{{{{ with secret \"{secret_path}\" }}}}{{{{ .Data | toJSON }}}}\n{{{{ end }}}}"
            ),
        }
    }
}

/// How the volume is kept up to date and who owns its files.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Render once at publish, never refresh.
    pub pre_populate_only: bool,
    /// Owner of the rendered files.
    pub run_as_user: u32,
    /// Group of the rendered files.
    pub run_as_group: u32,
    /// `set-security-context`: the agent runs as `run_as_user`:`run_as_group`
    /// only when true; otherwise as the Pod's user (see [`ownership`]).
    pub set_security_context: bool,
    /// The Pod's `runAsUser`, `runAsGroup` and `fsGroup`.
    pub pod_security: PodSecurity,
    /// Revoke the token (and its leases) at unpublish.
    pub revoke_on_shutdown: bool,
    /// Base interval for re-rendering secrets without a lease.
    pub static_secret_render_interval: Duration,
    /// Fraction of a non-renewable lease after which the secret is fetched again.
    pub lease_renewal_threshold: f64,
    /// Accepted for compatibility; publish always fails fast on a definitive error.
    pub exit_on_retry_failure: bool,
    /// First wait before retrying a failed login during refresh.
    pub auth_min_backoff: Duration,
    /// Longest wait between login retries during refresh.
    pub auth_max_backoff: Duration,
    /// Retries of a Vault request on 412 and 5xx (but 501).
    pub client_max_retries: u32,
    /// Timeout of one Vault request.
    pub client_timeout: Duration,
}

impl Default for Options {
    /// The injector's defaults: 100:1000 with a security context, 5m, 0.9, 1s..5m backoff, 2 retries, 60s.
    fn default() -> Options {
        Options {
            pre_populate_only: false,
            run_as_user: 100,
            run_as_group: 1000,
            set_security_context: true,
            pod_security: PodSecurity::default(),
            revoke_on_shutdown: false,
            static_secret_render_interval: Duration::from_secs(300),
            lease_renewal_threshold: 0.9,
            exit_on_retry_failure: true,
            auth_min_backoff: Duration::from_secs(1),
            auth_max_backoff: Duration::from_secs(300),
            client_max_retries: 2,
            client_timeout: Duration::from_secs(60),
        }
    }
}

/// Node-level settings that fill in what a Pod leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// Auth method when `auth-type` is absent.
    pub auth_type: AuthType,
    /// Mount when `auth-path` is absent and the method is kubernetes.
    pub kubernetes_auth_path: AuthPath,
    /// Mount when `auth-path` is absent and the method is jwt.
    pub jwt_auth_path: AuthPath,
    /// Default template when `agent-inject-default-template` is absent.
    pub default_format: DefaultFormat,
    /// File owner when `agent-run-as-user` is absent.
    pub run_as_user: u32,
    /// File group when `agent-run-as-group` is absent.
    pub run_as_group: u32,
    /// This driver's name: only CSI volumes of this driver count as its
    /// volumes. `None` counts every CSI volume.
    pub driver_name: Option<String>,
    /// The cluster settings; those with a field of their own above are
    /// already in it (see [`Defaults::new`]).
    pub cluster: ClusterDefaults,
}

impl Defaults {
    /// The defaults for this driver's volumes under `cluster`'s settings:
    /// its auth path for both methods, default template and owner in place
    /// of the built-in ones.
    pub fn new(driver_name: Option<String>, cluster: ClusterDefaults) -> Defaults {
        let builtin = Defaults::default();
        Defaults {
            auth_type: builtin.auth_type,
            kubernetes_auth_path: cluster
                .auth_path
                .clone()
                .unwrap_or(builtin.kubernetes_auth_path),
            jwt_auth_path: cluster.auth_path.clone().unwrap_or(builtin.jwt_auth_path),
            default_format: cluster.default_format.unwrap_or(builtin.default_format),
            run_as_user: cluster.run_as_user.unwrap_or(builtin.run_as_user),
            run_as_group: cluster.run_as_group.unwrap_or(builtin.run_as_group),
            driver_name,
            cluster,
        }
    }
}

impl Default for Defaults {
    /// The SPEC's defaults: kubernetes at `auth/kubernetes` (jwt at
    /// `auth/jwt`), `map`, 100:1000, any CSI driver.
    fn default() -> Defaults {
        Defaults {
            auth_type: AuthType::Kubernetes,
            kubernetes_auth_path: AuthPath::kubernetes(),
            jwt_auth_path: AuthPath::jwt(),
            default_format: DefaultFormat::Map,
            run_as_user: 100,
            run_as_group: 1000,
            driver_name: None,
            cluster: ClusterDefaults::default(),
        }
    }
}
