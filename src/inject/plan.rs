//! Building a [`Plan`] from a Pod.

use std::collections::{BTreeMap, BTreeSet};

use super::annotations::{Annotations, invalid};
use super::error::{Echo, NotInjectedReason, PlanError};
use super::keys::{self, per_name};
use super::path::{self, RelPath};
use super::settings::{identity, options};
use super::survey::{configmap_file, driver_mounts, notices, pod_warnings, secret_names};
use super::value;
use super::warning::{PlanWarning, WarningKind};
use super::{
    AgentConfigMap, DEFAULT_FILE_MODE, DEFAULT_SECRET_VOLUME_PATH, DefaultFormat, Defaults,
    FileSpec, Identity, Plan, Source, TOKEN_FILE_MODE,
};
use crate::pod::Pod;

/// Turns the Pod's injector annotations into the plan for its volume
/// `volume_name` (the last-but-one part of kubelet's target path).
///
/// Every annotation of the Pod is validated, not only those of this volume, so
/// all volumes of a Pod fail or succeed together on a bad value.
///
/// # Errors
///
/// [`PlanError::NotInjected`] (see [`PlanError::kind`]) when the Pod does not
/// ask for injection; otherwise an error naming the annotation or volume at
/// fault.
pub fn plan(pod: &Pod, volume_name: &str, defaults: &Defaults) -> Result<Plan, PlanError> {
    plan_with_config(pod, volume_name, defaults, None)
}

/// Like [`plan`], with the Pod's `agent-configmap` as read from the API
/// server (`None` when the Pod names none, or where it cannot be read).
///
/// When the ConfigMap holds an agent config (`config.hcl`, or
/// `config-init.hcl` for `agent-pre-populate-only`), that config replaces
/// the annotations' templates and login, as under the injector. A
/// ConfigMap without either holds template files for
/// `agent-inject-template-file-NAME`. When the Pod names a ConfigMap that
/// is not given (admission), the Plan holds what the annotations say, may
/// have no files and, without a `role` annotation, an empty role.
///
/// # Errors
///
/// As [`plan`], and errors naming the ConfigMap key, stanza or annotation
/// at fault in what the ConfigMap holds.
pub fn plan_with_config(
    pod: &Pod,
    volume_name: &str,
    defaults: &Defaults,
    configmap: Option<&AgentConfigMap>,
) -> Result<Plan, PlanError> {
    let (ann, conflict) = Annotations::checked(&pod.metadata.annotations);
    // Messages name each key as the Pod spells it.
    let rename = |e: PlanError| e.renamed(|k| ann.name(k));
    let not_injected = |reason| PlanError::NotInjected {
        reason,
        key: keys::INJECT.to_owned(),
    };
    match ann.bool(keys::INJECT).map_err(rename)? {
        Some(true) => {}
        Some(false) => return Err(rename(not_injected(NotInjectedReason::Disabled))),
        None => return Err(rename(not_injected(NotInjectedReason::Missing))),
    }
    if let Some(conflict) = conflict {
        return Err(conflict);
    }
    if let Some(cm) = configmap
        && let Some((key, text)) = super::config_plan::agent_config(&ann, cm).map_err(rename)?
    {
        return super::config_plan::plan(pod, &ann, volume_name, defaults, cm, key, text)
            .map_err(rename);
    }
    let mut plan = selected_plan(pod, &ann, volume_name, defaults, configmap).map_err(rename)?;
    for w in plan.warnings.iter_mut().chain(plan.notices.iter_mut()) {
        w.annotation = ann.name(&w.annotation);
    }
    for f in &mut plan.files {
        f.annotation = ann.name(&f.annotation);
    }
    Ok(plan)
}

/// [`plan`] for a Pod that selects injection, with canonical key names.
fn selected_plan(
    pod: &Pod,
    ann: &Annotations<'_>,
    volume_name: &str,
    defaults: &Defaults,
    configmap: Option<&AgentConfigMap>,
) -> Result<Plan, PlanError> {
    let configmap_unread = configmap.is_none() && ann.get(keys::CONFIGMAP).is_some();
    let mounts = driver_mounts(pod, defaults);
    if !mounts.contains_key(volume_name) {
        return Err(PlanError::VolumeNotInPod {
            volume: volume_name.to_owned(),
        });
    }

    let identity = match identity(ann, defaults) {
        // The unread agent config's auto_auth names the role.
        Err(PlanError::MissingRole) if configmap_unread => Identity {
            auth_type: defaults.auth_type,
            auth_path: defaults.kubernetes_auth_path.clone(),
            role: String::new(),
            namespace: None,
            service: None,
            service_annotation: ann.name(keys::SERVICE),
        },
        other => other?,
    };
    let options = options(ann, pod, defaults)?;
    let format = match ann.scalar(keys::DEFAULT_TEMPLATE) {
        None => defaults.default_format,
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "map" => DefaultFormat::Map,
            "json" => DefaultFormat::Json,
            _ => {
                return Err(invalid(
                    |key, value| PlanError::UnknownDefaultTemplate { key, value },
                    keys::DEFAULT_TEMPLATE,
                    v,
                ));
            }
        },
    };
    let inject_token = ann.bool(keys::INJECT_TOKEN)?.unwrap_or(false);
    let global_path = path::clean(
        ann.scalar(keys::SECRET_VOLUME_PATH)
            .unwrap_or(DEFAULT_SECRET_VOLUME_PATH),
    );

    let names = secret_names(ann)?;
    let mut entries = Vec::with_capacity(names.len());
    for (raw, defining_key) in &names {
        entries.push(entry(
            ann,
            raw,
            defining_key,
            format,
            &global_path,
            configmap,
        )?);
    }

    // One path in use: the volume holds everything. Several: the volume holds
    // what belongs at the one path where the Pod mounts it.
    let paths_in_use: BTreeSet<String> = entries
        .iter()
        .filter(|e| e.file.is_some())
        .map(|e| e.mount_path.clone())
        .collect();
    let this_mount = if paths_in_use.len() > 1 {
        Some(mount_path_of(volume_name, &mounts, &paths_in_use)?)
    } else {
        None
    };
    let here = |p: &str| this_mount.as_deref().is_none_or(|m| m == p);

    let mut warnings = pod_warnings(ann, &names);
    if configmap.is_some() {
        // Read: its template files are served, nothing about it is ignored.
        warnings.retain(|w| w.kind != WarningKind::AgentConfigMap);
    }
    let notices = notices(ann, &warnings);
    if this_mount.is_some() {
        warnings.extend(placement_warnings(
            &entries,
            &mounts,
            inject_token,
            &global_path,
        ));
    }
    let token_file = inject_token && here(&global_path);
    let mut placed = Vec::new();
    for e in entries.into_iter().filter(|e| here(&e.mount_path)) {
        warnings.extend(e.warnings);
        placed.extend(e.file);
    }
    check_conflicts(&placed, token_file)?;
    let files: Vec<FileSpec> = placed.into_iter().map(|p| p.spec).collect();
    // An unread agent config may write every file; the mount checks it.
    if files.is_empty() && !token_file && !configmap_unread {
        return Err(PlanError::EmptyVolume {
            volume: volume_name.to_owned(),
            mount_path: this_mount,
            paths_in_use: paths_in_use.into_iter().collect(),
        });
    }
    Ok(Plan {
        identity,
        files,
        token_file,
        token_path: RelPath::token(),
        token_mode: TOKEN_FILE_MODE,
        options,
        warnings,
        notices,
    })
}

/// The one path where `volume` is mounted, when that decides its contents.
fn mount_path_of(
    volume: &str,
    mounts: &BTreeMap<&str, BTreeSet<String>>,
    paths_in_use: &BTreeSet<String>,
) -> Result<String, PlanError> {
    let in_use = || paths_in_use.iter().cloned().collect();
    let paths = mounts.get(volume).cloned().unwrap_or_default();
    let mut iter = paths.iter();
    match (iter.next(), iter.next()) {
        (Some(only), None) => Ok(only.clone()),
        (None, _) => Err(PlanError::VolumeNotMounted {
            volume: volume.to_owned(),
            paths_in_use: in_use(),
        }),
        (Some(_), Some(_)) => Err(PlanError::VolumeMountedAtSeveralPaths {
            volume: volume.to_owned(),
            mount_paths: paths.into_iter().collect(),
            paths_in_use: in_use(),
        }),
    }
}

/// One secret NAME, fully parsed, before it is assigned to a volume.
struct Entry {
    /// Cleaned secret-volume-path of the NAME.
    mount_path: String,
    /// The key that set it (per-NAME or global).
    mount_key: String,
    /// `None` when the NAME is skipped (template file only).
    file: Option<PlacedFile>,
    /// Warnings about this NAME, shown by the volume that would hold it.
    warnings: Vec<PlanWarning>,
}

/// A file and the annotation that chose its name, for conflict messages.
struct PlacedFile {
    spec: FileSpec,
    path_key: String,
}

/// Parses every per-secret key of the NAME `raw`.
fn entry(
    ann: &Annotations<'_>,
    raw: &str,
    defining_key: &str,
    format: DefaultFormat,
    global_path: &str,
    configmap: Option<&AgentConfigMap>,
) -> Result<Entry, PlanError> {
    let key = |prefix| per_name(prefix, raw);
    let preserve = match ann.bool(&key(keys::PRESERVE_SECRET_CASE_FOR))? {
        Some(b) => b,
        None => ann.bool(keys::PRESERVE_SECRET_CASE)?.unwrap_or(false),
    };
    let name = if preserve {
        raw.to_owned()
    } else {
        raw.to_ascii_lowercase()
    };
    let mount_key = key(keys::SECRET_VOLUME_PATH_FOR);
    let (mount_path, mount_key) = match ann.scalar(&mount_key) {
        Some(p) => (path::clean(p), mount_key),
        None => (global_path.to_owned(), keys::SECRET_VOLUME_PATH.to_owned()),
    };
    let mut warnings = Vec::new();

    let template_key = key(keys::TEMPLATE);
    let mut template = ann.get(&template_key).map(str::to_owned);
    let mut from_file = None;
    if template.is_none()
        && let (Some(cm), Some(file)) = (configmap, ann.scalar(&key(keys::TEMPLATE_FILE)))
    {
        let file_key = key(keys::TEMPLATE_FILE);
        let text = configmap_file(cm, file).map_err(|problem| PlanError::TemplateFile {
            key: file_key.clone(),
            problem,
        })?;
        template = Some(text.to_owned());
        from_file = Some(file_key);
    }
    if template.is_none() && ann.get(&key(keys::TEMPLATE_FILE)).is_some() {
        warnings.push(PlanWarning::new(
            key(keys::TEMPLATE_FILE),
            WarningKind::TemplateFileNotRead {
                name: raw.to_owned(),
            },
        ));
        return Ok(Entry {
            mount_path,
            mount_key,
            file: None,
            warnings,
        });
    }

    let (source, mut annotation) = source(ann, raw, template.as_deref(), format, &mut warnings)?;
    if let Some(file_key) = from_file {
        annotation = file_key;
    }

    let file_key = key(keys::FILE);
    let (path_key, file_name) = match ann.get(&file_key) {
        Some(v) => (file_key, v),
        None => (defining_key.to_owned(), name.as_str()),
    };
    let path = RelPath::new(file_name).map_err(|problem| PlanError::InvalidFilePath {
        key: path_key.clone(),
        value: Echo::new(file_name),
        problem,
    })?;

    let perms_key = key(keys::PERMS);
    let mode = match ann.scalar(&perms_key) {
        None => DEFAULT_FILE_MODE,
        Some(v) => value::perms(v).ok_or_else(|| {
            invalid(
                |key, value| PlanError::InvalidPerms { key, value },
                &perms_key,
                v,
            )
        })?,
    };
    let error_on_missing_key = ann.bool(&key(keys::ERROR_ON_MISSING_KEY))?.unwrap_or(false);
    let command_ignored = ann.get(&key(keys::COMMAND)).is_some();
    if command_ignored {
        warnings.push(PlanWarning::new(
            key(keys::COMMAND),
            WarningKind::CommandNotRun,
        ));
    }

    Ok(Entry {
        mount_path,
        mount_key,
        file: Some(PlacedFile {
            spec: FileSpec {
                name,
                path,
                source,
                mode,
                error_on_missing_key,
                command_ignored,
                annotation,
            },
            path_key,
        }),
        warnings,
    })
}

/// What NAME's file is rendered from, and the annotation that holds it.
fn source(
    ann: &Annotations<'_>,
    raw: &str,
    template: Option<&str>,
    format: DefaultFormat,
    warnings: &mut Vec<PlanWarning>,
) -> Result<(Source, String), PlanError> {
    let key = |prefix| per_name(prefix, raw);
    let template_key = key(keys::TEMPLATE);
    let left = ann.get(&key(keys::LEFT_DELIM));
    let right = ann.get(&key(keys::RIGHT_DELIM));
    let delims = |l: Option<&str>, r: Option<&str>| {
        (l.unwrap_or("{{").to_owned(), r.unwrap_or("}}").to_owned())
    };
    match template {
        Some(text) => {
            let (left_delim, right_delim) = delims(left, right);
            let source = Source::Template {
                text: text.to_owned(),
                left_delim,
                right_delim,
            };
            Ok((source, template_key))
        }
        None => {
            let secret_key = key(keys::SECRET);
            // A NAME without a template or template file was defined by its
            // secret key, so the path is present.
            // Trimmed so a YAML block scalar's trailing newline does not end up
            // inside the template's quoted string; `secret` trims spaces anyway.
            let secret_path = ann.scalar(&secret_key).unwrap_or_default();
            if secret_path.contains(['"', '\\']) || secret_path.chars().any(char::is_control) {
                return Err(PlanError::InvalidSecretPath { key: secret_key });
            }
            let source = if left.is_some() || right.is_some() {
                for delim_key in [key(keys::LEFT_DELIM), key(keys::RIGHT_DELIM)] {
                    if ann.get(&delim_key).is_some() {
                        warnings.push(PlanWarning::new(
                            delim_key,
                            WarningKind::DelimitersWithDefaultTemplate {
                                name: raw.to_owned(),
                            },
                        ));
                    }
                }
                let (left_delim, right_delim) = delims(left, right);
                Source::Template {
                    text: format.template(secret_path),
                    left_delim,
                    right_delim,
                }
            } else {
                Source::DefaultTemplate {
                    secret_path: secret_path.to_owned(),
                    format,
                }
            };
            Ok((source, secret_key))
        }
    }
}

/// With several paths in use, paths that no volume of this driver is mounted at.
fn placement_warnings(
    entries: &[Entry],
    mounts: &BTreeMap<&str, BTreeSet<String>>,
    inject_token: bool,
    global_path: &str,
) -> Vec<PlanWarning> {
    let mounted: BTreeSet<&str> = mounts.values().flatten().map(String::as_str).collect();
    let mut warned = BTreeSet::new();
    let mut warnings = Vec::new();
    for e in entries.iter().filter(|e| e.file.is_some()) {
        let path = e.mount_path.as_str();
        if mounted.contains(path) || !warned.insert(path) {
            continue;
        }
        warnings.push(PlanWarning::new(
            e.mount_key.clone(),
            WarningKind::SecretsNotPlaced {
                path: path.to_owned(),
            },
        ));
    }
    if inject_token && !mounted.contains(global_path) {
        warnings.push(PlanWarning::new(
            keys::INJECT_TOKEN,
            WarningKind::TokenNotPlaced {
                path: global_path.to_owned(),
            },
        ));
    }
    warnings
}

/// Refuses two outputs of the volume that need the same path, or where one
/// would have to be a directory holding the other.
fn check_conflicts(files: &[PlacedFile], token_file: bool) -> Result<(), PlanError> {
    let token = RelPath::token();
    let version = RelPath::version_file();
    let mut outputs: Vec<(&RelPath, &str)> = files
        .iter()
        .map(|f| (&f.spec.path, f.path_key.as_str()))
        .collect();
    if token_file {
        outputs.push((&token, keys::INJECT_TOKEN));
    }
    outputs.push((&version, "the driver's version file"));
    for (i, (a, a_key)) in outputs.iter().enumerate() {
        if let Some((b, b_key)) = outputs[i + 1..].iter().find(|(b, _)| a.conflicts_with(b)) {
            return Err(PlanError::FileConflict {
                first_key: a_key.to_string(),
                first_path: a.to_string(),
                second_key: b_key.to_string(),
                second_path: b.to_string(),
            });
        }
    }
    Ok(())
}

/// The `agent-configmap` a Pod names, if any (trimmed).
pub fn agent_configmap_name(annotations: &BTreeMap<String, String>) -> Option<String> {
    Annotations::lenient(annotations)
        .scalar(keys::CONFIGMAP)
        .map(str::to_owned)
}

/// Whether the annotations ask for injection: `agent-inject` read as a Go
/// boolean, absent or blank meaning no.
///
/// # Errors
///
/// [`PlanError::InvalidBool`] when `agent-inject` is not a boolean.
pub fn selected(annotations: &BTreeMap<String, String>) -> Result<bool, PlanError> {
    // A key set under both prefixes is reported by planning, not here: a Pod
    // that does not select injection is no business of the driver.
    let ann = Annotations::lenient(annotations);
    Ok(ann
        .bool(keys::INJECT)
        .map_err(|e| e.renamed(|k| ann.name(k)))?
        .unwrap_or(false))
}

/// The global `secret-volume-path`, cleaned, or [`DEFAULT_SECRET_VOLUME_PATH`].
pub fn global_secret_volume_path(annotations: &BTreeMap<String, String>) -> String {
    path::clean(
        Annotations::lenient(annotations)
            .scalar(keys::SECRET_VOLUME_PATH)
            .unwrap_or(DEFAULT_SECRET_VOLUME_PATH),
    )
}

/// The cleaned container paths where the Pod expects a volume, from its
/// annotations alone (before any volume exists): the secret-volume-path of
/// every NAME that has a file, and the global one when the token file is
/// asked for. Empty when nothing would be written.
///
/// # Errors
///
/// The same errors [`plan`] gives for a bad NAME or per-secret value.
pub fn secret_volume_paths(
    annotations: &BTreeMap<String, String>,
) -> Result<BTreeSet<String>, PlanError> {
    let ann = Annotations::new(annotations)?;
    let global_path = global_secret_volume_path(annotations);
    let paths = || {
        let mut paths = BTreeSet::new();
        for (raw, defining_key) in secret_names(&ann)? {
            // The default format only shapes the template text, not where it goes.
            let e = entry(
                &ann,
                raw,
                defining_key,
                DefaultFormat::Map,
                &global_path,
                None,
            )?;
            if e.file.is_some() {
                paths.insert(e.mount_path);
            }
        }
        // An agent config writes under the global path, where the injector
        // mounts its secrets volume.
        if ann.bool(keys::INJECT_TOKEN)?.unwrap_or(false) || ann.get(keys::CONFIGMAP).is_some() {
            paths.insert(global_path.clone());
        }
        Ok(paths)
    };
    paths().map_err(|e: PlanError| e.renamed(|k| ann.name(k)))
}
