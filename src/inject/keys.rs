//! Annotation names, spelled once.
//!
//! Global keys are full keys; per-secret keys are prefixes that end in `-` and
//! are followed by the raw NAME.

// Selection.
pub(super) const INJECT: &str = "vault.hashicorp.com/agent-inject";

// Identity.
pub(super) const ROLE: &str = "vault.hashicorp.com/role";
/// The injector also takes the role from the auth-method config annotation.
pub(super) const AUTH_CONFIG_ROLE: &str = "vault.hashicorp.com/auth-config-role";
pub(super) const AUTH_TYPE: &str = "vault.hashicorp.com/auth-type";
pub(super) const AUTH_PATH: &str = "vault.hashicorp.com/auth-path";
pub(super) const NAMESPACE: &str = "vault.hashicorp.com/namespace";
pub(super) const SERVICE: &str = "vault.hashicorp.com/service";

// Files.
pub(super) const DEFAULT_TEMPLATE: &str = "vault.hashicorp.com/agent-inject-default-template";
pub(super) const INJECT_TOKEN: &str = "vault.hashicorp.com/agent-inject-token";
pub(super) const SECRET_VOLUME_PATH: &str = "vault.hashicorp.com/secret-volume-path";
pub(super) const PRESERVE_SECRET_CASE: &str = "vault.hashicorp.com/preserve-secret-case";

// Options.
pub(super) const PRE_POPULATE_ONLY: &str = "vault.hashicorp.com/agent-pre-populate-only";
pub(super) const RUN_AS_USER: &str = "vault.hashicorp.com/agent-run-as-user";
pub(super) const RUN_AS_GROUP: &str = "vault.hashicorp.com/agent-run-as-group";
pub(super) const RUN_AS_SAME_USER: &str = "vault.hashicorp.com/agent-run-as-same-user";
pub(super) const SET_SECURITY_CONTEXT: &str = "vault.hashicorp.com/agent-set-security-context";
pub(super) const REVOKE_ON_SHUTDOWN: &str = "vault.hashicorp.com/agent-revoke-on-shutdown";
pub(super) const STATIC_SECRET_RENDER_INTERVAL: &str =
    "vault.hashicorp.com/template-static-secret-render-interval";
pub(super) const LEASE_RENEWAL_THRESHOLD: &str =
    "vault.hashicorp.com/template-lease-renewal-threshold";
pub(super) const EXIT_ON_RETRY_FAILURE: &str =
    "vault.hashicorp.com/template-config-exit-on-retry-failure";
pub(super) const AUTH_MIN_BACKOFF: &str = "vault.hashicorp.com/auth-min-backoff";
pub(super) const AUTH_MAX_BACKOFF: &str = "vault.hashicorp.com/auth-max-backoff";
pub(super) const CLIENT_MAX_RETRIES: &str = "vault.hashicorp.com/client-max-retries";
pub(super) const CLIENT_TIMEOUT: &str = "vault.hashicorp.com/client-timeout";

// Keys that point at files or settings inside the agent container; the
// driver has no such container, and trust is a node setting.
pub(super) const TLS_SKIP_VERIFY: &str = "vault.hashicorp.com/tls-skip-verify";
pub(super) const NODE_TRUST_KEYS: [&str; 6] = [
    "vault.hashicorp.com/ca-cert",
    "vault.hashicorp.com/ca-key",
    "vault.hashicorp.com/client-cert",
    "vault.hashicorp.com/client-key",
    "vault.hashicorp.com/tls-secret",
    "vault.hashicorp.com/tls-server-name",
];
pub(super) const CONFIGMAP: &str = "vault.hashicorp.com/agent-configmap";
pub(super) const EXTRA_SECRET: &str = "vault.hashicorp.com/agent-extra-secret";
pub(super) const PROXY_ADDRESS: &str = "vault.hashicorp.com/proxy-address";

// Per-secret prefixes that define a NAME, in the order the injector tries
// them: `template-file-` before `template-`, since the latter is a prefix of
// the former.
pub(super) const SECRET: &str = "vault.hashicorp.com/agent-inject-secret-";
pub(super) const TEMPLATE_FILE: &str = "vault.hashicorp.com/agent-inject-template-file-";
pub(super) const TEMPLATE: &str = "vault.hashicorp.com/agent-inject-template-";
pub(super) const DEFINING: [&str; 3] = [SECRET, TEMPLATE_FILE, TEMPLATE];

// Per-secret prefixes that only refine a NAME defined by one of the above.
pub(super) const FILE: &str = "vault.hashicorp.com/agent-inject-file-";
pub(super) const PERMS: &str = "vault.hashicorp.com/agent-inject-perms-";
pub(super) const LEFT_DELIM: &str = "vault.hashicorp.com/agent-template-left-delim-";
pub(super) const RIGHT_DELIM: &str = "vault.hashicorp.com/agent-template-right-delim-";
pub(super) const ERROR_ON_MISSING_KEY: &str = "vault.hashicorp.com/error-on-missing-key-";
pub(super) const SECRET_VOLUME_PATH_FOR: &str = "vault.hashicorp.com/secret-volume-path-";
pub(super) const COMMAND: &str = "vault.hashicorp.com/agent-inject-command-";
pub(super) const PRESERVE_SECRET_CASE_FOR: &str = "vault.hashicorp.com/preserve-secret-case-";
pub(super) const REFINING: [&str; 8] = [
    FILE,
    PERMS,
    LEFT_DELIM,
    RIGHT_DELIM,
    ERROR_ON_MISSING_KEY,
    SECRET_VOLUME_PATH_FOR,
    COMMAND,
    PRESERVE_SECRET_CASE_FOR,
];

/// The per-secret key `prefix` + raw NAME.
pub(super) fn per_name(prefix: &str, raw_name: &str) -> String {
    format!("{prefix}{raw_name}")
}
