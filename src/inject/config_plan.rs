//! A [`Plan`] from the agent config of an `agent-configmap`: under the
//! injector that config replaces the one it generates from the annotations,
//! so its `template` stanzas are the files, its `auto_auth` the login, its
//! `vault` the address and namespace, its `template_config` the refresh.
//!
//! Which key: the injector runs `config-init.hcl` in its init container and
//! `config.hcl` in its sidecar (vault-k8s `container_init_sidecar.go`,
//! `container_sidecar.go`). The sidecar re-renders every template as soon as
//! it starts and keeps them current, so the files a Pod lives with are
//! `config.hcl`'s: the driver renders it at mount and at every refresh. With
//! `agent-pre-populate-only` only the init container runs, and the driver
//! renders `config-init.hcl` once.

use std::collections::BTreeSet;
use std::time::Duration;

use super::agent_config::{self, AgentConfig, ConfigError, TemplateStanza};
use super::annotations::Annotations;
use super::error::PlanError;
use super::keys;
use super::path::{self, RelPath};
use super::settings::options;
use super::survey::{configmap_file, driver_mounts, notices, pod_warnings, secret_names};
use super::warning::{PlanWarning, WarningKind};
use super::{
    AgentConfigMap, AuthPath, AuthType, DEFAULT_FILE_MODE, DEFAULT_SECRET_VOLUME_PATH, Defaults,
    FileSpec, Identity, Plan, Source, TOKEN_FILE_MODE,
};
use crate::pod::Pod;

/// The sidecar's config.
const SIDECAR_KEY: &str = "config.hcl";
/// The init container's config.
const INIT_KEY: &str = "config-init.hcl";

/// The agent's own default for re-rendering secrets without a lease.
const AGENT_RENDER_INTERVAL: Duration = Duration::from_secs(300);
/// The agent's own default lease renewal threshold.
const AGENT_RENEWAL_THRESHOLD: f64 = 0.9;

/// The key and text of the agent config the driver serves, or `None` when
/// the ConfigMap holds no agent config at all (only template files).
pub(super) fn agent_config<'c>(
    ann: &Annotations<'_>,
    cm: &'c AgentConfigMap,
) -> Result<Option<(&'static str, &'c str)>, PlanError> {
    if !cm.data.contains_key(SIDECAR_KEY) && !cm.data.contains_key(INIT_KEY) {
        return Ok(None);
    }
    let pre_populate_only = ann.bool(keys::PRE_POPULATE_ONLY)?.unwrap_or(false);
    let (key, why) = if pre_populate_only {
        (
            INIT_KEY,
            "the injector's init container runs, the only agent of an agent-pre-populate-only Pod",
        )
    } else {
        (
            SIDECAR_KEY,
            "the injector's sidecar runs, the agent that keeps the files current",
        )
    };
    match cm.data.get(key) {
        Some(text) => Ok(Some((key, text))),
        None => Err(PlanError::ConfigKeyMissing {
            configmap: cm.name.clone(),
            key,
            why,
        }),
    }
}

/// The Plan of `volume_name` from the agent config `text` (ConfigMap key `key`).
pub(super) fn plan(
    pod: &Pod,
    ann: &Annotations<'_>,
    volume_name: &str,
    defaults: &Defaults,
    cm: &AgentConfigMap,
    key: &'static str,
    text: &str,
) -> Result<Plan, PlanError> {
    if !driver_mounts(pod, defaults).contains_key(volume_name) {
        return Err(PlanError::VolumeNotInPod {
            volume: volume_name.to_owned(),
        });
    }
    let stanza_error = |stanza: String, problem: String| PlanError::ConfigStanza {
        configmap: cm.name.clone(),
        key,
        stanza,
        problem,
    };
    let config = agent_config::parse(text).map_err(|e| match e {
        ConfigError::Syntax {
            line,
            column,
            message,
        } => PlanError::ConfigSyntax {
            configmap: cm.name.clone(),
            key,
            line,
            column,
            message,
        },
        ConfigError::Stanza { stanza, problem } => stanza_error(stanza, problem),
    })?;

    let mut options = options(ann, pod, defaults)?;
    options.static_secret_render_interval = config
        .static_secret_render_interval
        .filter(|d| !d.is_zero())
        .unwrap_or(AGENT_RENDER_INTERVAL);
    options.lease_renewal_threshold = config
        .lease_renewal_threshold
        .unwrap_or(AGENT_RENEWAL_THRESHOLD);
    options.exit_on_retry_failure = config.exit_on_retry_failure.unwrap_or(false);

    let mut identity =
        identity(&config).map_err(|(stanza, problem)| stanza_error(stanza, problem))?;
    identity.service_annotation = format!("{} (vault.address)", ann.name(keys::CONFIGMAP));
    let mount = path::clean(
        ann.scalar(keys::SECRET_VOLUME_PATH)
            .unwrap_or(DEFAULT_SECRET_VOLUME_PATH),
    );
    let mut files = Vec::with_capacity(config.templates.len());
    for stanza in &config.templates {
        files.push(
            file(stanza, &mount, cm, key)
                .map_err(|problem| stanza_error(stanza.describe(), problem))?,
        );
    }
    let mut warnings = unserved_warnings(&config, cm, key);
    let token = token_file(&config, &mount, &mut warnings, cm, key)
        .map_err(|(stanza, problem)| stanza_error(stanza, problem))?;
    check_destinations(&files, token.as_ref())
        .map_err(|(stanza, problem)| stanza_error(stanza, problem))?;
    if files.is_empty() && token.is_none() {
        return Err(stanza_error(
            "template".into(),
            format!(
                "no template stanza writes under {mount}, where the Pod mounts the volume (secret-volume-path)"
            ),
        ));
    }
    warnings.extend(annotation_warnings(ann, cm, key)?);
    let (token_path, token_mode) = token.clone().unwrap_or((RelPath::token(), TOKEN_FILE_MODE));
    let notices = notices(ann, &warnings);
    Ok(Plan {
        identity,
        files,
        token_file: token.is_some(),
        token_path,
        token_mode,
        options,
        warnings,
        notices,
    })
}

/// The login `auto_auth` describes, at the address and namespace of `vault`.
fn identity(config: &AgentConfig) -> Result<Identity, (String, String)> {
    let stanza = |s: &str| s.to_owned();
    let Some(auth) = &config.auto_auth else {
        return Err((
            stanza("auto_auth"),
            "is missing: the driver logs in to Vault as the auto_auth method says".into(),
        ));
    };
    let auth_type = match auth.method.as_str() {
        "kubernetes" => AuthType::Kubernetes,
        "jwt" => AuthType::Jwt,
        other => {
            return Err((
                stanza("auto_auth.method"),
                format!("type {other:?} is not supported; use kubernetes or jwt"),
            ));
        }
    };
    let auth_path = match &auth.mount_path {
        Some(p) => AuthPath::new(p).map_err(|reason| {
            (
                stanza("auto_auth.method.mount_path"),
                format!("{p:?} {reason}"),
            )
        })?,
        None => match auth_type {
            AuthType::Kubernetes => AuthPath::kubernetes(),
            AuthType::Jwt => AuthPath::jwt(),
        },
    };
    let role = auth
        .role
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            (
                stanza("auto_auth.method.config.role"),
                "is missing: the driver needs the Vault role to log in with".into(),
            )
        })?
        .to_owned();
    let namespace = match config
        .vault_namespace
        .as_deref()
        .or(auth.namespace.as_deref())
        .map(|ns| ns.trim().trim_matches('/'))
    {
        None | Some("") => None,
        Some(ns) => match path::vault_path_problem(ns) {
            None => Some(ns.to_owned()),
            Some(reason) => return Err((stanza("vault.namespace"), format!("{ns:?} {reason}"))),
        },
    };
    Ok(Identity {
        auth_type,
        auth_path,
        role,
        namespace,
        service: config
            .vault_address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
        // Set by the caller, who knows how the Pod spells the annotation.
        service_annotation: String::new(),
    })
}

/// The file of one `template` stanza.
fn file(
    stanza: &TemplateStanza,
    mount: &str,
    cm: &AgentConfigMap,
    key: &str,
) -> Result<FileSpec, String> {
    let destination = stanza.destination.as_deref().ok_or("has no destination")?;
    let relative = in_volume(destination, mount)?;
    let text = match (&stanza.contents, &stanza.source) {
        (Some(_), Some(_)) => return Err("sets both contents and source; set one".into()),
        (None, None) => return Err("sets neither contents nor source".into()),
        (Some(contents), None) => contents.clone(),
        (None, Some(source)) => configmap_file(cm, source)
            .map_err(|problem| format!("source: {problem}"))?
            .to_owned(),
    };
    Ok(FileSpec {
        name: relative.as_str().to_owned(),
        path: relative,
        source: Source::Template {
            text,
            left_delim: stanza.left_delimiter.clone().unwrap_or_else(|| "{{".into()),
            right_delim: stanza
                .right_delimiter
                .clone()
                .unwrap_or_else(|| "}}".into()),
        },
        mode: stanza.perms.unwrap_or(DEFAULT_FILE_MODE),
        error_on_missing_key: stanza.error_on_missing_key,
        command_ignored: false,
        annotation: format!(
            "vault.hashicorp.com/agent-configmap {:?} {key}, {}",
            cm.name,
            stanza.describe()
        ),
    })
}

/// `destination` as a path in the volume mounted at `mount`.
fn in_volume(destination: &str, mount: &str) -> Result<RelPath, String> {
    let cleaned = path::clean(destination);
    let rest = if mount == "/" {
        Some(cleaned.as_str())
    } else {
        cleaned
            .strip_prefix(mount)
            .and_then(|rest| rest.strip_prefix('/'))
    };
    let rest = rest.filter(|r| !r.is_empty()).ok_or_else(|| {
        format!(
            "destination is outside the volume, which the Pod mounts at {mount} (secret-volume-path): the CSI driver writes only into its volume"
        )
    })?;
    RelPath::new(rest).map_err(|problem| format!("destination {problem}"))
}

/// The token file a `sink "file"` writes into the volume, if one does.
fn token_file(
    config: &AgentConfig,
    mount: &str,
    warnings: &mut Vec<PlanWarning>,
    cm: &AgentConfigMap,
    key: &'static str,
) -> Result<Option<(RelPath, u32)>, (String, String)> {
    let Some(auth) = &config.auto_auth else {
        return Ok(None);
    };
    let mut found = None;
    for sink in &auth.file_sinks {
        let stanza = format!("auto_auth.sink \"file\" (path {:?})", sink.path);
        // Outside the volume: the agent's own copy (/home/vault), unseen by the app.
        let Ok(relative) = in_volume(&sink.path, mount) else {
            continue;
        };
        if sink.transformed {
            warnings.push(PlanWarning::new(
                keys::CONFIGMAP,
                WarningKind::AgentConfigUnserved {
                    configmap: cm.name.clone(),
                    key,
                    stanza,
                    why: "is not written: the CSI driver writes no wrapped or encrypted token",
                },
            ));
            continue;
        }
        if found.is_some() {
            return Err((stanza, "is a second file sink in the volume".into()));
        }
        found = Some((relative, sink.mode.unwrap_or(TOKEN_FILE_MODE)));
    }
    Ok(found)
}

/// Two outputs may not need the same path, nor one the other as a directory.
fn check_destinations(
    files: &[FileSpec],
    token: Option<&(RelPath, u32)>,
) -> Result<(), (String, String)> {
    let version = RelPath::version_file();
    let mut outputs: Vec<(&RelPath, String)> = files
        .iter()
        .map(|f| (&f.path, f.annotation.clone()))
        .collect();
    if let Some((path, _)) = token {
        outputs.push((path, "the file sink".into()));
    }
    outputs.push((&version, "the driver's version file".into()));
    for (i, (a, a_what)) in outputs.iter().enumerate() {
        if let Some((b, b_what)) = outputs[i + 1..].iter().find(|(b, _)| a.conflicts_with(b)) {
            return Err((
                "template".into(),
                format!("files collide in the volume: {a_what} writes {a} and {b_what} writes {b}"),
            ));
        }
    }
    Ok(())
}

fn unserved_warnings(
    config: &AgentConfig,
    cm: &AgentConfigMap,
    key: &'static str,
) -> Vec<PlanWarning> {
    config
        .unserved
        .iter()
        .map(|(stanza, why)| {
            PlanWarning::new(
                keys::CONFIGMAP,
                WarningKind::AgentConfigUnserved {
                    configmap: cm.name.clone(),
                    key,
                    stanza: stanza.clone(),
                    why,
                },
            )
        })
        .collect()
}

/// The Pod's annotation warnings, with every per-secret annotation named as
/// replaced by the agent config.
fn annotation_warnings(
    ann: &Annotations<'_>,
    cm: &AgentConfigMap,
    key: &'static str,
) -> Result<Vec<PlanWarning>, PlanError> {
    let names = secret_names(ann)?;
    let mut warnings: Vec<PlanWarning> = pod_warnings(ann, &names)
        .into_iter()
        .filter(|w| {
            !matches!(
                w.kind,
                WarningKind::AgentConfigMap | WarningKind::UnknownSecretName { .. }
            )
        })
        .collect();
    let replaced: BTreeSet<&str> = ann
        .present()
        .map(|(k, _)| k)
        .filter(|k| {
            keys::DEFINING
                .iter()
                .chain(keys::REFINING.iter())
                .any(|p| k.starts_with(p))
                || [
                    keys::INJECT_TOKEN,
                    keys::DEFAULT_TEMPLATE,
                    keys::ROLE,
                    keys::AUTH_PATH,
                    keys::AUTH_TYPE,
                    keys::NAMESPACE,
                    keys::SERVICE,
                    keys::STATIC_SECRET_RENDER_INTERVAL,
                    keys::LEASE_RENEWAL_THRESHOLD,
                    keys::EXIT_ON_RETRY_FAILURE,
                ]
                .contains(k)
        })
        .collect();
    for annotation in replaced {
        warnings.push(PlanWarning::new(
            annotation,
            WarningKind::ReplacedByAgentConfig {
                configmap: cm.name.clone(),
                key,
            },
        ));
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inject::{ErrorKind, plan_with_config};

    const CONFIG: &str = r#"
vault {
  address = "https://vault.example:8200"
}
auto_auth {
  method "kubernetes" {
    mount_path = "auth/k8s"
    config = { role = "web" }
  }
  sink "file" { config = { path = "/home/vault/.vault-token" } }
}
template_config {
  static_secret_render_interval = "30s"
}
template {
  destination = "/vault/secrets/db.env"
  contents = "[[ with secret \"kv/db\" ]][[ .Data.password ]][[ end ]]"
  left_delimiter = "[["
  right_delimiter = "]]"
  perms = "0400"
}
template {
  destination = "/vault/secrets/conf/app.json"
  source = "/vault/configs/app.ctmpl"
  error_on_missing_key = true
}
"#;

    fn pod(extra: &[(&str, &str)]) -> Pod {
        let mut annotations = serde_json::json!({
            "vault.hashicorp.com/agent-inject": "true",
            "vault.hashicorp.com/agent-configmap": "agent",
        });
        for (k, v) in extra {
            annotations[format!("vault.hashicorp.com/{k}")] = (*v).into();
        }
        let json = serde_json::json!({
            "metadata": {"name": "p", "namespace": "ns", "uid": "u", "annotations": annotations},
            "spec": {
                "containers": [{"name": "app", "volumeMounts": [{"name": "v", "mountPath": "/vault/secrets"}]}],
                "volumes": [{"name": "v", "csi": {"driver": "d"}}]
            }
        });
        Pod::from_json(json.to_string().as_bytes()).unwrap()
    }

    fn cm(entries: &[(&str, &str)]) -> AgentConfigMap {
        AgentConfigMap {
            name: "agent".into(),
            data: entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn plan_of(pod: &Pod, cm: &AgentConfigMap) -> Result<Plan, PlanError> {
        plan_with_config(pod, "v", &Defaults::default(), Some(cm))
    }

    #[test]
    fn the_sidecar_config_gives_files_login_and_refresh() {
        let cm = cm(&[("config.hcl", CONFIG), ("app.ctmpl", "{{ .x }}")]);
        let plan = plan_of(&pod(&[("role", "ignored")]), &cm).unwrap();
        assert_eq!(plan.identity.role, "web");
        assert_eq!(plan.identity.auth_path.as_str(), "auth/k8s");
        assert_eq!(
            plan.identity.service.as_deref(),
            Some("https://vault.example:8200")
        );
        assert_eq!(
            plan.options.static_secret_render_interval,
            Duration::from_secs(30)
        );
        let paths: Vec<&str> = plan.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["db.env", "conf/app.json"]);
        assert_eq!(plan.files[0].mode, 0o400);
        assert_eq!(plan.files[0].source.delimiters(), ("[[", "]]"));
        assert_eq!(plan.files[1].source.text(), "{{ .x }}");
        assert!(plan.files[1].error_on_missing_key);
        assert!(
            !plan.token_file,
            "the sink outside the volume is the agent's own"
        );
        assert!(
            plan.warnings
                .iter()
                .any(|w| w.annotation == "vault.hashicorp.com/role"
                    && matches!(w.kind, WarningKind::ReplacedByAgentConfig { .. }))
        );
    }

    #[test]
    fn pre_populate_only_renders_the_init_config_and_needs_it() {
        let init = CONFIG.replace("db.env", "init.env");
        let both = cm(&[
            ("config.hcl", CONFIG),
            ("config-init.hcl", &init),
            ("app.ctmpl", "x"),
        ]);
        let plan = plan_of(&pod(&[("agent-pre-populate-only", "true")]), &both).unwrap();
        assert_eq!(plan.files[0].path.as_str(), "init.env");
        let sidecar_only = cm(&[("config.hcl", CONFIG), ("app.ctmpl", "x")]);
        let e = plan_of(&pod(&[("agent-pre-populate-only", "true")]), &sidecar_only).unwrap_err();
        assert!(
            e.to_string().contains("has no key \"config-init.hcl\""),
            "{e}"
        );
        let init_only = cm(&[("config-init.hcl", &init), ("app.ctmpl", "x")]);
        let e = plan_of(&pod(&[]), &init_only).unwrap_err();
        assert!(e.to_string().contains("has no key \"config.hcl\""), "{e}");
    }

    #[test]
    fn destinations_outside_the_volume_are_refused_naming_the_stanza() {
        let config = CONFIG.replace("/vault/secrets/conf/app.json", "/etc/app.json");
        let e = plan_of(
            &pod(&[]),
            &cm(&[("config.hcl", &config), ("app.ctmpl", "x")]),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let message = e.to_string();
        assert!(message.contains("ConfigMap \"agent\" key config.hcl, template stanza 2 (destination \"/etc/app.json\")"), "{message}");
        assert!(message.contains("outside the volume"), "{message}");
    }

    #[test]
    fn a_secret_volume_path_moves_the_volume() {
        let config = CONFIG.replace("/vault/secrets/", "/etc/secrets/");
        let plan = plan_of(
            &pod(&[("secret-volume-path", "/etc/secrets")]),
            &cm(&[("config.hcl", &config), ("app.ctmpl", "x")]),
        )
        .unwrap();
        assert_eq!(plan.files[1].path.as_str(), "conf/app.json");
    }

    #[test]
    fn sources_outside_the_configmap_or_missing_keys_are_refused() {
        let e = plan_of(&pod(&[]), &cm(&[("config.hcl", CONFIG)])).unwrap_err();
        assert!(e.to_string().contains("has no key \"app.ctmpl\""), "{e}");
        let config = CONFIG.replace("/vault/configs/app.ctmpl", "/etc/app.ctmpl");
        let e = plan_of(&pod(&[]), &cm(&[("config.hcl", &config)])).unwrap_err();
        assert!(e.to_string().contains("template stanza 2"), "{e}");
        assert!(e.to_string().contains("/vault/configs"), "{e}");
    }

    #[test]
    fn syntax_errors_name_the_key_and_position() {
        let e = plan_of(
            &pod(&[]),
            &cm(&[("config.hcl", "template {\n  destination = \n")]),
        )
        .unwrap_err();
        let message = e.to_string();
        assert!(
            message.contains("ConfigMap \"agent\" key config.hcl: HCL syntax error at line"),
            "{message}"
        );
    }

    #[test]
    fn other_auth_methods_and_a_missing_role_are_refused() {
        let approle = CONFIG.replace("method \"kubernetes\"", "method \"approle\"");
        let e = plan_of(
            &pod(&[]),
            &cm(&[("config.hcl", &approle), ("app.ctmpl", "x")]),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("auto_auth.method: type \"approle\" is not supported"),
            "{e}"
        );
        let no_role = CONFIG.replace("config = { role = \"web\" }", "");
        let e = plan_of(
            &pod(&[]),
            &cm(&[("config.hcl", &no_role), ("app.ctmpl", "x")]),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("auto_auth.method.config.role: is missing"),
            "{e}"
        );
    }

    #[test]
    fn a_file_sink_in_the_volume_is_the_token_file() {
        let config = CONFIG.replace(
            "sink \"file\" { config = { path = \"/home/vault/.vault-token\" } }",
            "sink \"file\" { config = { path = \"/vault/secrets/.token\", mode = 0600 } }",
        );
        let plan = plan_of(
            &pod(&[]),
            &cm(&[("config.hcl", &config), ("app.ctmpl", "x")]),
        )
        .unwrap();
        assert!(plan.token_file);
        assert_eq!(
            (plan.token_path.as_str(), plan.token_mode),
            (".token", 0o600)
        );
    }

    #[test]
    fn stanzas_needing_an_agent_are_warned_about_by_name() {
        let config = format!("{CONFIG}\ncache {{}}\nlistener \"tcp\" {{}}\n");
        let plan = plan_of(
            &pod(&[]),
            &cm(&[("config.hcl", &config), ("app.ctmpl", "x")]),
        )
        .unwrap();
        let shown: Vec<String> = plan.warnings.iter().map(ToString::to_string).collect();
        assert!(shown.iter().any(|w| w.starts_with("vault.hashicorp.com/agent-configmap: ConfigMap \"agent\" key config.hcl: cache needs a running agent")), "{shown:?}");
        assert!(
            shown
                .iter()
                .any(|w| w.contains(": listener needs a running agent")),
            "{shown:?}"
        );
    }

    #[test]
    fn a_configmap_without_agent_config_serves_template_files() {
        let p = pod(&[
            ("role", "r"),
            ("agent-inject-template-file-db", "/vault/configs/db.ctmpl"),
        ]);
        let plan = plan_of(&p, &cm(&[("db.ctmpl", "{{ .db }}")])).unwrap();
        assert_eq!(plan.files[0].path.as_str(), "db");
        assert_eq!(plan.files[0].source.text(), "{{ .db }}");
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
        let outside = pod(&[
            ("role", "r"),
            ("agent-inject-template-file-db", "/etc/db.ctmpl"),
        ]);
        let e = plan_of(&outside, &cm(&[("db.ctmpl", "x")])).unwrap_err();
        let message = e.to_string();
        assert!(
            message.starts_with("vault.hashicorp.com/agent-inject-template-file-db: "),
            "{message}"
        );
        assert!(message.contains("/vault/configs"), "{message}");
    }
}
