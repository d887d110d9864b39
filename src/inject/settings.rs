//! Pod-wide settings: the Vault identity and the options.

use std::time::Duration;

use super::annotations::{Annotations, invalid};
use super::cluster::{ENV_AUTH_MAX_BACKOFF, ENV_AUTH_MIN_BACKOFF, ENV_RUN_AS_SAME_USER};
use super::error::{Echo, PlanError};
use super::keys;
use super::path;
use super::value;
use super::{AuthPath, AuthType, Defaults, Identity, Options, PodSecurity};
use crate::pod::Pod;

/// What a Go duration annotation accepts, for messages.
const GO_DURATION: &str = "a duration like 500ms, 30s, 5m or 1h30m";
/// What an agent duration annotation accepts, for messages.
const AGENT_DURATION: &str = "a duration like 30s, 5m or 1h30m, or a number of seconds";

/// The Vault login settings, with node defaults for what the Pod leaves out.
pub(super) fn identity(ann: &Annotations<'_>, defaults: &Defaults) -> Result<Identity, PlanError> {
    let auth_type = match ann.scalar(keys::AUTH_TYPE) {
        None => defaults.auth_type,
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "kubernetes" => AuthType::Kubernetes,
            "jwt" => AuthType::Jwt,
            _ => {
                return Err(invalid(
                    |key, value| PlanError::UnknownAuthType { key, value },
                    keys::AUTH_TYPE,
                    v,
                ));
            }
        },
    };
    let auth_path = match ann.scalar(keys::AUTH_PATH) {
        Some(v) => AuthPath::new(v).map_err(|reason| PlanError::InvalidVaultPath {
            key: keys::AUTH_PATH.to_owned(),
            value: Echo::new(v),
            reason,
        })?,
        None => match auth_type {
            AuthType::Kubernetes => defaults.kubernetes_auth_path.clone(),
            AuthType::Jwt => defaults.jwt_auth_path.clone(),
        },
    };
    let role = ann
        .scalar(keys::ROLE)
        .or_else(|| ann.scalar(keys::AUTH_CONFIG_ROLE))
        .ok_or(PlanError::MissingRole)?
        .to_owned();
    let namespace = match ann
        .scalar(keys::NAMESPACE)
        .map(|v| (v, v.trim_matches('/')))
    {
        None => defaults.cluster.namespace.clone(),
        Some((_, "")) => None,
        Some((raw, ns)) => match path::vault_path_problem(ns) {
            None => Some(ns.to_owned()),
            Some(reason) => {
                return Err(PlanError::InvalidVaultPath {
                    key: keys::NAMESPACE.to_owned(),
                    value: Echo::new(raw),
                    reason,
                });
            }
        },
    };
    Ok(Identity {
        auth_type,
        auth_path,
        role,
        namespace,
        service: ann.scalar(keys::SERVICE).map(str::to_owned),
        service_annotation: ann.name(keys::SERVICE),
    })
}

/// Refresh, ownership and client settings, with the injector's defaults.
pub(super) fn options(
    ann: &Annotations<'_>,
    pod: &Pod,
    defaults: &Defaults,
) -> Result<Options, PlanError> {
    let base = Options::default();
    let cluster = &defaults.cluster;
    let mut run_as_user = ann.id(keys::RUN_AS_USER, defaults.run_as_user)?;
    let same_user_source = match ann.bool(keys::RUN_AS_SAME_USER)? {
        Some(same) => same.then_some(keys::RUN_AS_SAME_USER),
        None => (cluster.run_as_same_user == Some(true)).then_some(ENV_RUN_AS_SAME_USER),
    };
    if let Some(source) = same_user_source {
        run_as_user = first_container_user(pod, source)?;
    }
    // As the injector: with the cluster setting off, a Pod that names its
    // agent's user or group gets a security context anyway.
    let set_security_context = match ann.bool(keys::SET_SECURITY_CONTEXT)? {
        Some(set) => set,
        None => match cluster.set_security_context {
            Some(false) => [
                keys::RUN_AS_USER,
                keys::RUN_AS_GROUP,
                keys::RUN_AS_SAME_USER,
            ]
            .iter()
            .any(|k| ann.get(k).is_some()),
            other => other.unwrap_or(base.set_security_context),
        },
    };
    // Zero means "the default" for waits and intervals, as in the agent.
    let nonzero_or = |d: Option<Duration>, default| d.filter(|d| !d.is_zero()).unwrap_or(default);
    let backoff = |key: &'static str, env: &'static str, cluster: Option<Duration>, builtin| {
        // An annotation of zero means the built-in value, not the cluster's.
        Ok::<_, PlanError>(match ann.duration(key, value::go_duration, GO_DURATION)? {
            Some(d) => (nonzero_or(Some(d), builtin), key),
            None => match cluster.filter(|d| !d.is_zero()) {
                Some(d) => (d, env),
                None => (builtin, key),
            },
        })
    };
    let (auth_min_backoff, min_source) = backoff(
        keys::AUTH_MIN_BACKOFF,
        ENV_AUTH_MIN_BACKOFF,
        cluster.auth_min_backoff,
        base.auth_min_backoff,
    )?;
    let (auth_max_backoff, max_source) = backoff(
        keys::AUTH_MAX_BACKOFF,
        ENV_AUTH_MAX_BACKOFF,
        cluster.auth_max_backoff,
        base.auth_max_backoff,
    )?;
    if auth_min_backoff > auth_max_backoff {
        return Err(PlanError::BackoffOrder {
            min: auth_min_backoff,
            max: auth_max_backoff,
            min_source: min_source.to_owned(),
            max_source: max_source.to_owned(),
        });
    }
    // Unlike the agent, a zero timeout is refused: it would mean "wait forever".
    let client_timeout = match ann.duration(
        keys::CLIENT_TIMEOUT,
        value::duration_or_seconds,
        AGENT_DURATION,
    )? {
        None => base.client_timeout,
        Some(d) if d.is_zero() => {
            return Err(PlanError::InvalidDuration {
                key: keys::CLIENT_TIMEOUT.to_owned(),
                value: Echo::new(ann.scalar(keys::CLIENT_TIMEOUT).unwrap_or_default()),
                expected: "a duration greater than zero",
            });
        }
        Some(d) => d,
    };
    Ok(Options {
        pre_populate_only: ann.bool(keys::PRE_POPULATE_ONLY)?.unwrap_or(false),
        run_as_user,
        run_as_group: ann.id(keys::RUN_AS_GROUP, defaults.run_as_group)?,
        set_security_context,
        pod_security: pod_security(pod),
        revoke_on_shutdown: ann
            .bool(keys::REVOKE_ON_SHUTDOWN)?
            .or(cluster.revoke_on_shutdown)
            .unwrap_or(base.revoke_on_shutdown),
        static_secret_render_interval: nonzero_or(
            ann.duration(
                keys::STATIC_SECRET_RENDER_INTERVAL,
                value::duration_or_seconds,
                AGENT_DURATION,
            )?
            .or(cluster.static_secret_render_interval),
            base.static_secret_render_interval,
        ),
        lease_renewal_threshold: match ann.scalar(keys::LEASE_RENEWAL_THRESHOLD) {
            None => base.lease_renewal_threshold,
            Some(v) => value::fraction(v).ok_or_else(|| PlanError::InvalidNumber {
                key: keys::LEASE_RENEWAL_THRESHOLD.to_owned(),
                value: Echo::new(v),
                expected: "a number greater than 0 and at most 1",
            })?,
        },
        exit_on_retry_failure: ann
            .bool(keys::EXIT_ON_RETRY_FAILURE)?
            .or(cluster.exit_on_retry_failure)
            .unwrap_or(base.exit_on_retry_failure),
        auth_min_backoff,
        auth_max_backoff,
        client_max_retries: match ann.scalar(keys::CLIENT_MAX_RETRIES) {
            None => base.client_max_retries,
            Some(v) => value::u32_decimal(v).ok_or_else(|| PlanError::InvalidNumber {
                key: keys::CLIENT_MAX_RETRIES.to_owned(),
                value: Echo::new(v),
                expected: "a whole number of retries (0 or more)",
            })?,
        },
        client_timeout,
    })
}

/// The Pod-level user, group and fsGroup; ids outside what Linux can use are
/// left out, as the runtime would refuse the Pod.
fn pod_security(pod: &Pod) -> PodSecurity {
    let sc = pod.spec.security_context.unwrap_or_default();
    let id = |v: Option<i64>| {
        v.and_then(|v| u32::try_from(v).ok())
            .filter(|&v| v != u32::MAX)
    };
    PodSecurity {
        run_as_user: id(sc.run_as_user),
        run_as_group: id(sc.run_as_group),
        fs_group: id(sc.fs_group),
    }
}

/// The effective `runAsUser` of the first app container (its own, else the
/// Pod's), refusing root as the injector does; `source` is the annotation or
/// cluster setting that asks for it.
fn first_container_user(pod: &Pod, source: &str) -> Result<u32, PlanError> {
    let fail = |problem: String| {
        Err(PlanError::RunAsSameUser {
            problem,
            source_key: source.to_owned(),
        })
    };
    let Some(first) = pod.spec.containers.first() else {
        return fail("the Pod has no containers".to_owned());
    };
    let user = first
        .security_context
        .and_then(|sc| sc.run_as_user)
        .or_else(|| pod.spec.security_context.and_then(|sc| sc.run_as_user));
    match user {
        None => fail(format!(
            "the first container {:?} has no securityContext.runAsUser, and neither has the Pod",
            first.name
        )),
        Some(0) => fail(format!(
            "the first container {:?} runs as root (runAsUser 0); set agent-run-as-user instead",
            first.name
        )),
        Some(uid) => match u32::try_from(uid).ok().filter(|&u| u != u32::MAX) {
            Some(uid) => Ok(uid),
            None => fail(format!(
                "runAsUser {uid} of the first container {:?} is not a valid user id",
                first.name
            )),
        },
    }
}
