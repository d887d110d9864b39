//! Cluster-wide settings: what the injector takes from its Helm values as
//! `AGENT_INJECT_*` environment variables, typed. A Pod's annotation wins over
//! them, and they win over the built-in defaults.

use std::time::Duration;

use super::value::{self, DurationError};
use super::{AuthPath, DefaultFormat, path};

/// `global.externalVaultAddr`, `injector.externalVaultAddr`, or the chart's own Vault service.
pub const ENV_VAULT_ADDR: &str = "AGENT_INJECT_VAULT_ADDR";
/// `injector.authPath`.
pub const ENV_AUTH_PATH: &str = "AGENT_INJECT_VAULT_AUTH_PATH";
/// The injector's `-vault-namespace`.
pub const ENV_NAMESPACE: &str = "AGENT_INJECT_VAULT_NAMESPACE";
/// `injector.agentDefaults.template`.
pub const ENV_DEFAULT_TEMPLATE: &str = "AGENT_INJECT_DEFAULT_TEMPLATE";
/// The injector's `-run-as-user`.
pub const ENV_RUN_AS_USER: &str = "AGENT_INJECT_RUN_AS_USER";
/// The injector's `-run-as-group`.
pub const ENV_RUN_AS_GROUP: &str = "AGENT_INJECT_RUN_AS_GROUP";
/// The injector's `-run-as-same-user`.
pub const ENV_RUN_AS_SAME_USER: &str = "AGENT_INJECT_RUN_AS_SAME_USER";
/// The injector's `-set-security-context`; the chart sets it false with `global.openshift`.
pub const ENV_SET_SECURITY_CONTEXT: &str = "AGENT_INJECT_SET_SECURITY_CONTEXT";
/// `injector.agentDefaults.templateConfig.exitOnRetryFailure`.
pub const ENV_EXIT_ON_RETRY_FAILURE: &str = "AGENT_INJECT_TEMPLATE_CONFIG_EXIT_ON_RETRY_FAILURE";
/// `injector.agentDefaults.templateConfig.staticSecretRenderInterval`.
pub const ENV_STATIC_SECRET_RENDER_INTERVAL: &str =
    "AGENT_INJECT_TEMPLATE_STATIC_SECRET_RENDER_INTERVAL";
/// The injector's `-auth-min-backoff`.
pub const ENV_AUTH_MIN_BACKOFF: &str = "AGENT_INJECT_AUTH_MIN_BACKOFF";
/// The injector's `-auth-max-backoff`.
pub const ENV_AUTH_MAX_BACKOFF: &str = "AGENT_INJECT_AUTH_MAX_BACKOFF";
/// `injector.revokeOnShutdown`: the chart always sets it.
pub const ENV_REVOKE_ON_SHUTDOWN: &str = "AGENT_INJECT_REVOKE_ON_SHUTDOWN";

/// Every cluster setting the driver reads.
pub const ENV_NAMES: [&str; 13] = [
    ENV_VAULT_ADDR,
    ENV_AUTH_PATH,
    ENV_NAMESPACE,
    ENV_DEFAULT_TEMPLATE,
    ENV_RUN_AS_USER,
    ENV_RUN_AS_GROUP,
    ENV_RUN_AS_SAME_USER,
    ENV_SET_SECURITY_CONTEXT,
    ENV_EXIT_ON_RETRY_FAILURE,
    ENV_STATIC_SECRET_RENDER_INTERVAL,
    ENV_AUTH_MIN_BACKOFF,
    ENV_AUTH_MAX_BACKOFF,
    ENV_REVOKE_ON_SHUTDOWN,
];

/// The injector's cluster-wide defaults; `None` where the cluster sets
/// nothing and the built-in default applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterDefaults {
    /// The Vault address of Pods without `service`, `scheme://host[:port]`.
    /// The node's Vault client uses it; planning does not.
    pub vault_addr: Option<String>,
    /// Auth mount of Pods without `auth-path`, whatever their `auth-type`
    /// (the injector writes it into the Pod before it reads `auth-type`).
    pub auth_path: Option<AuthPath>,
    /// Vault namespace of Pods without `namespace`, without outer `/`.
    pub namespace: Option<String>,
    /// `agent-inject-default-template` of Pods without it.
    pub default_format: Option<DefaultFormat>,
    /// `agent-run-as-user` of Pods without it.
    pub run_as_user: Option<u32>,
    /// `agent-run-as-group` of Pods without it.
    pub run_as_group: Option<u32>,
    /// `agent-run-as-same-user` of Pods without it.
    pub run_as_same_user: Option<bool>,
    /// `agent-set-security-context` of Pods without it.
    pub set_security_context: Option<bool>,
    /// `template-config-exit-on-retry-failure` of Pods without it.
    pub exit_on_retry_failure: Option<bool>,
    /// `template-static-secret-render-interval` of Pods without it; zero
    /// means the built-in 5m, as in the annotation.
    pub static_secret_render_interval: Option<Duration>,
    /// `auth-min-backoff` of Pods without it; zero means the built-in 1s.
    pub auth_min_backoff: Option<Duration>,
    /// `auth-max-backoff` of Pods without it; zero means the built-in 5m.
    pub auth_max_backoff: Option<Duration>,
    /// `agent-revoke-on-shutdown` of Pods without it.
    pub revoke_on_shutdown: Option<bool>,
}

/// A cluster setting that cannot be used, named by its variable and flag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{env} (--{flag}): {problem}", flag = flag_name(env))]
pub struct ClusterSettingError {
    /// The variable, e.g. `AGENT_INJECT_VAULT_AUTH_PATH`.
    pub env: &'static str,
    /// What is wrong with its value.
    pub problem: String,
}

/// The flag that sets the variable `env`: `AGENT_INJECT_X_Y` is `--agent-inject-x-y`.
pub fn flag_name(env: &str) -> String {
    env.to_ascii_lowercase().replace('_', "-")
}

impl ClusterDefaults {
    /// Reads every setting with `get` (the value of a variable or its flag,
    /// by variable name) as the injector reads it; blank values count as
    /// unset, as in the injector. The Vault address is only trimmed: whoever
    /// connects to it checks it.
    ///
    /// # Errors
    ///
    /// The first setting whose value cannot be used, and why.
    pub fn parse(
        get: impl Fn(&'static str) -> Option<String>,
    ) -> Result<ClusterDefaults, ClusterSettingError> {
        let read = |env: &'static str| {
            get(env)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let fail = |env: &'static str, problem: String| ClusterSettingError { env, problem };
        let boolean = |env: &'static str| {
            read(env)
                .map(|v| {
                    value::bool(&v).ok_or_else(|| {
                        fail(env, format!("{v:?} is not a boolean (use true or false)"))
                    })
                })
                .transpose()
        };
        let id = |env: &'static str| {
            read(env)
                .map(|v| {
                    value::id(&v).ok_or_else(|| {
                        fail(
                            env,
                            format!("{v:?} is not a user or group id from 0 to 4294967294"),
                        )
                    })
                })
                .transpose()
        };
        let duration = |env: &'static str,
                        parser: fn(&str) -> Result<Duration, DurationError>,
                        expected: &str| {
            read(env)
                .map(|v| {
                    parser(&v).map_err(|e| {
                        let expected = match e {
                            DurationError::Syntax => expected,
                            DurationError::Negative => "a duration of zero or more",
                        };
                        fail(env, format!("{v:?} is not {expected}"))
                    })
                })
                .transpose()
        };
        let auth_path = read(ENV_AUTH_PATH)
            .map(|v| {
                AuthPath::new(&v).map_err(|reason| fail(ENV_AUTH_PATH, format!("{v:?} {reason}")))
            })
            .transpose()?;
        let namespace = match read(ENV_NAMESPACE) {
            None => None,
            Some(raw) => match raw.trim_matches('/') {
                "" => None,
                ns => match path::vault_path_problem(ns) {
                    None => Some(ns.to_owned()),
                    Some(reason) => return Err(fail(ENV_NAMESPACE, format!("{raw:?} {reason}"))),
                },
            },
        };
        let default_format = match read(ENV_DEFAULT_TEMPLATE) {
            None => None,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "map" => Some(DefaultFormat::Map),
                "json" => Some(DefaultFormat::Json),
                _ => {
                    return Err(fail(
                        ENV_DEFAULT_TEMPLATE,
                        format!("default template {v:?} is unknown; use map or json"),
                    ));
                }
            },
        };
        let defaults = ClusterDefaults {
            vault_addr: read(ENV_VAULT_ADDR),
            auth_path,
            namespace,
            default_format,
            run_as_user: id(ENV_RUN_AS_USER)?,
            run_as_group: id(ENV_RUN_AS_GROUP)?,
            run_as_same_user: boolean(ENV_RUN_AS_SAME_USER)?,
            set_security_context: boolean(ENV_SET_SECURITY_CONTEXT)?,
            exit_on_retry_failure: boolean(ENV_EXIT_ON_RETRY_FAILURE)?,
            static_secret_render_interval: duration(
                ENV_STATIC_SECRET_RENDER_INTERVAL,
                value::duration_or_seconds,
                "a duration like 30s, 5m or 1h30m, or a number of seconds",
            )?,
            auth_min_backoff: duration(
                ENV_AUTH_MIN_BACKOFF,
                value::go_duration,
                "a duration like 500ms, 30s, 5m or 1h30m",
            )?,
            auth_max_backoff: duration(
                ENV_AUTH_MAX_BACKOFF,
                value::go_duration,
                "a duration like 500ms, 30s, 5m or 1h30m",
            )?,
            revoke_on_shutdown: boolean(ENV_REVOKE_ON_SHUTDOWN)?,
        };
        let nonzero = |d: Option<Duration>| d.filter(|d| !d.is_zero());
        if let (Some(min), Some(max)) = (
            nonzero(defaults.auth_min_backoff),
            nonzero(defaults.auth_max_backoff),
        ) && min > max
        {
            return Err(fail(
                ENV_AUTH_MIN_BACKOFF,
                format!("{min:?} is longer than {ENV_AUTH_MAX_BACKOFF} ({max:?})"),
            ));
        }
        Ok(defaults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<ClusterDefaults, ClusterSettingError> {
        ClusterDefaults::parse(|env| {
            pairs
                .iter()
                .find(|(k, _)| *k == env)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn nothing_set_is_the_built_in_defaults() {
        assert_eq!(parse(&[]), Ok(ClusterDefaults::default()));
    }

    #[test]
    fn blank_values_count_as_unset() {
        let all: Vec<(&str, &str)> = ENV_NAMES.iter().map(|e| (*e, "  ")).collect();
        assert_eq!(parse(&all), Ok(ClusterDefaults::default()));
    }

    #[test]
    fn every_setting_is_typed() {
        let d = parse(&[
            (ENV_VAULT_ADDR, " https://vault.example:8200 "),
            (ENV_AUTH_PATH, "k8s-prod"),
            (ENV_NAMESPACE, "/team-a/"),
            (ENV_DEFAULT_TEMPLATE, "JSON"),
            (ENV_RUN_AS_USER, "2000"),
            (ENV_RUN_AS_GROUP, "3000"),
            (ENV_RUN_AS_SAME_USER, "t"),
            (ENV_SET_SECURITY_CONTEXT, "false"),
            (ENV_EXIT_ON_RETRY_FAILURE, "0"),
            (ENV_STATIC_SECRET_RENDER_INTERVAL, "90"),
            (ENV_AUTH_MIN_BACKOFF, "2s"),
            (ENV_AUTH_MAX_BACKOFF, "1m"),
            (ENV_REVOKE_ON_SHUTDOWN, "true"),
        ])
        .unwrap();
        assert_eq!(
            d,
            ClusterDefaults {
                vault_addr: Some("https://vault.example:8200".into()),
                auth_path: Some(AuthPath::new("auth/k8s-prod").unwrap()),
                namespace: Some("team-a".into()),
                default_format: Some(DefaultFormat::Json),
                run_as_user: Some(2000),
                run_as_group: Some(3000),
                run_as_same_user: Some(true),
                set_security_context: Some(false),
                exit_on_retry_failure: Some(false),
                static_secret_render_interval: Some(Duration::from_secs(90)),
                auth_min_backoff: Some(Duration::from_secs(2)),
                auth_max_backoff: Some(Duration::from_secs(60)),
                revoke_on_shutdown: Some(true),
            }
        );
    }

    #[test]
    fn a_bad_value_is_refused_naming_the_variable_and_its_flag() {
        for (env, value, says) in [
            (ENV_AUTH_PATH, "auth/../sys", "component"),
            (ENV_NAMESPACE, "a b", "whitespace"),
            (ENV_DEFAULT_TEMPLATE, "yaml", "use map or json"),
            (ENV_RUN_AS_USER, "-1", "user or group id"),
            (ENV_RUN_AS_GROUP, "root", "user or group id"),
            (ENV_RUN_AS_SAME_USER, "yes", "boolean"),
            (ENV_SET_SECURITY_CONTEXT, "on", "boolean"),
            (ENV_EXIT_ON_RETRY_FAILURE, "2", "boolean"),
            (ENV_STATIC_SECRET_RENDER_INTERVAL, "soon", "duration"),
            (ENV_AUTH_MIN_BACKOFF, "5", "duration"),
            (ENV_AUTH_MAX_BACKOFF, "-1s", "zero or more"),
            (ENV_REVOKE_ON_SHUTDOWN, "maybe", "boolean"),
        ] {
            let e = parse(&[(env, value)]).unwrap_err();
            assert_eq!(e.env, env);
            let msg = e.to_string();
            assert!(
                msg.starts_with(&format!("{env} (--{}): ", flag_name(env))),
                "{msg}"
            );
            assert!(msg.contains(says), "{msg}");
        }
    }

    #[test]
    fn min_backoff_above_max_backoff_is_refused() {
        let e = parse(&[(ENV_AUTH_MIN_BACKOFF, "10m"), (ENV_AUTH_MAX_BACKOFF, "1m")]).unwrap_err();
        assert_eq!(e.env, ENV_AUTH_MIN_BACKOFF);
        assert!(e.to_string().contains(ENV_AUTH_MAX_BACKOFF));
    }

    #[test]
    fn flags_are_the_variables_in_lower_case() {
        assert_eq!(flag_name(ENV_AUTH_PATH), "agent-inject-vault-auth-path");
    }
}
