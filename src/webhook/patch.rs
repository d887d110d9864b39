//! The pure part of the webhook: a Pod's JSON in, the JSON Patch that gives it
//! this driver's CSI volumes out, or the reason to refuse it. No I/O.
//!
//! The patch only ever adds: volumes, volume mounts and the status annotation.
//! Everything else in the Pod is left as the API server sent it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Value, json};

use crate::gopath;
use crate::inject::{self, ClusterDefaults, Defaults, Echo, PlanError, prefix};
use crate::pod::{Container, CsiVolumeSource, Pod, Volume, VolumeMount};

/// Marks a Pod as handled, as the Vault Agent Injector does; `injected` stops
/// further mutation, any other value (the injector documents `update`) asks
/// for it again. A Pod that selects injection with OpenBao's prefix gets it
/// with that prefix, and either spelling counts.
pub const STATUS_ANNOTATION: &str = "vault.hashicorp.com/agent-inject-status";
/// [`STATUS_ANNOTATION`] without its prefix.
const STATUS_KEY: &str = "agent-inject-status";
/// [`CONTAINERS_ANNOTATION`] without its prefix.
const CONTAINERS_KEY: &str = "agent-inject-containers";
/// The value of [`STATUS_ANNOTATION`] after injection.
pub const STATUS_INJECTED: &str = "injected";
/// Comma-separated app containers that get the secrets (default: all).
pub const CONTAINERS_ANNOTATION: &str = "vault.hashicorp.com/agent-inject-containers";
/// Name of the first added volume; later ones get `-1`, `-2`, ... and any
/// name the Pod already uses is skipped.
pub const VOLUME_NAME: &str = "vault-secrets";

/// How the webhook treats Pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The CSI driver name put in `volumes[].csi.driver`.
    pub driver_name: String,
    /// Refuse Pods whose annotations the driver would refuse at mount; when
    /// false they are admitted with a warning.
    pub deny_invalid: bool,
}

/// One JSON Patch operation. Only `add` is needed: on an existing object
/// member it replaces the value, and `-` appends to an array.
#[derive(Debug, Clone, PartialEq)]
pub struct AddOp {
    /// JSON Pointer of the target, already escaped.
    pub path: String,
    /// The value to add.
    pub value: Value,
}

impl Serialize for AddOp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            op: &'static str,
            path: &'a str,
            value: &'a Value,
        }
        Wire {
            op: "add",
            path: &self.path,
            value: &self.value,
        }
        .serialize(serializer)
    }
}

/// What to answer for one Pod.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Admit the Pod as it is.
    Unchanged {
        /// Shown to the client that created the Pod.
        warnings: Vec<String>,
    },
    /// Admit the Pod with these operations applied.
    Patched {
        /// The JSON Patch, in order.
        patch: Vec<AddOp>,
        /// Shown to the client that created the Pod.
        warnings: Vec<String>,
    },
    /// Refuse the Pod with the message the driver would give at mount.
    Denied {
        /// The [`PlanError`] message.
        message: String,
        /// The injector key at fault, for metrics ([`PlanError::metric_key`]).
        key: &'static str,
    },
}

impl Decision {
    fn unchanged(warnings: Warnings) -> Decision {
        Decision::Unchanged {
            warnings: warnings.0,
        }
    }
}

/// Warnings in order of appearance, each once (every volume's plan repeats
/// the Pod-wide ones).
#[derive(Debug, Default)]
struct Warnings(Vec<String>);

impl Warnings {
    fn push(&mut self, warning: String) {
        if !self.0.contains(&warning) {
            self.0.push(warning);
        }
    }

    /// A plan's warnings, then its notices.
    fn extend_from(&mut self, plan: &inject::Plan) {
        for w in plan.warnings.iter().chain(&plan.notices) {
            self.push(w.to_string());
        }
    }
}

/// Escapes one JSON Pointer reference token (RFC 6901): `~` first, then `/`.
pub fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Decides what to do with a Pod that asks the API server to be created.
///
/// `object` is the Pod exactly as in the AdmissionReview. A Pod that does not
/// select injection, is already injected, or cannot be read is left alone.
pub fn mutate(object: &Value, settings: &Settings) -> Decision {
    mutate_with(object, settings, &ClusterDefaults::default())
}

/// [`mutate`] under the injector's cluster-wide settings, which the driver
/// applies to Pods that leave an annotation out.
pub fn mutate_with(object: &Value, settings: &Settings, cluster: &ClusterDefaults) -> Decision {
    let mut warnings = Warnings::default();
    let Ok(pod) = Pod::deserialize(object) else {
        // The serde message could quote a field value; say only what failed.
        warnings.push(
            "the object does not have the shape of a v1 Pod; it is admitted without Vault secrets"
                .to_owned(),
        );
        return Decision::unchanged(warnings);
    };
    let annotations = pod.annotations();
    match inject::selected(annotations) {
        Ok(true) => {}
        Ok(false) => return Decision::unchanged(warnings),
        Err(e) => return invalid(e, settings, warnings),
    }
    if prefix::PREFIXES.iter().any(|p| {
        annotations
            .get(&format!("{p}{STATUS_KEY}"))
            .map(String::as_str)
            == Some(STATUS_INJECTED)
    }) {
        return Decision::unchanged(warnings);
    }
    let defaults = Defaults::new(Some(settings.driver_name.clone()), cluster.clone());

    // A Pod that already declares a volume of this driver was written for it:
    // its author chose the mounts. Only check what the driver will check.
    let own: Vec<&str> = pod
        .spec
        .volumes
        .iter()
        .filter(|v| is_driver_volume(v, &settings.driver_name))
        .map(|v| v.name.as_str())
        .collect();
    if !own.is_empty() {
        for volume in own {
            match inject::plan(&pod, volume, &defaults) {
                Ok(plan) => warnings.extend_from(&plan),
                Err(e) => return invalid(e, settings, warnings),
            }
        }
        return Decision::unchanged(warnings);
    }

    let mut refused = None;
    let paths = match inject::secret_volume_paths(annotations) {
        Ok(paths) => paths,
        Err(e) if settings.deny_invalid => return denied(&e),
        // Still give the Pod a volume so that the driver reports the
        // problem on the Pod itself, where its owners look.
        Err(e) => {
            refused = Some(e);
            BTreeSet::new()
        }
    };
    let paths = ordered_paths(paths, inject::global_secret_volume_path(annotations));
    let targets = targets(&pod, &mut warnings);
    let additions = additions(&pod, &paths, &targets, &mut warnings);
    // Nothing to mount means nothing the driver will ever check either.
    if additions.is_empty() {
        if let Some(e) = refused {
            warnings.push(refusal_warning(&e));
        }
        return Decision::unchanged(warnings);
    }

    // Check the Pod as the driver will see it, volume by volume, so that the
    // admission error is the one a mount would give.
    let patched = with_additions(pod.clone(), &additions, &targets, &settings.driver_name);
    for addition in &additions {
        match inject::plan(&patched, &addition.volume, &defaults) {
            Ok(plan) => warnings.extend_from(&plan),
            Err(e) if settings.deny_invalid => return denied(&e),
            Err(e) => {
                refused.get_or_insert(e);
            }
        }
    }
    if let Some(e) = refused {
        warnings.push(refusal_warning(&e));
    }
    let status = format!("{}{STATUS_KEY}", prefix::selecting(annotations));
    Decision::Patched {
        patch: operations(object, &additions, &targets, &settings.driver_name, &status),
        warnings: warnings.0,
    }
}

/// A Pod as the driver will read it once admitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted {
    /// The Pod with the volumes and mounts [`mutate`] would add.
    pub pod: Pod,
    /// Every warning admission would give about the mounts.
    pub warnings: Vec<String>,
    /// Those of `warnings` that mean a container does not get secrets it
    /// gets from the injector (a path it already mounts something at).
    pub unmounted: Vec<String>,
}

/// The Pod as the driver will read it once admitted: with the volumes and
/// mounts [`mutate`] would add, and the warnings it would give about them.
/// A Pod that already has a volume of the driver comes back as it is.
///
/// # Errors
///
/// The error the driver would give for the Pod's secret paths.
pub fn admitted(pod: &Pod, driver_name: &str) -> Result<Admitted, PlanError> {
    if pod
        .spec
        .volumes
        .iter()
        .any(|v| is_driver_volume(v, driver_name))
    {
        return Ok(Admitted {
            pod: pod.clone(),
            warnings: Vec::new(),
            unmounted: Vec::new(),
        });
    }
    let annotations = pod.annotations();
    let paths = ordered_paths(
        inject::secret_volume_paths(annotations)?,
        inject::global_secret_volume_path(annotations),
    );
    let mut warnings = Warnings::default();
    let targets = targets(pod, &mut warnings);
    let mut unmounted = Warnings::default();
    let additions = additions(pod, &paths, &targets, &mut unmounted);
    for w in &unmounted.0 {
        warnings.push(w.clone());
    }
    Ok(Admitted {
        pod: with_additions(pod.clone(), &additions, &targets, driver_name),
        warnings: warnings.0,
        unmounted: unmounted.0,
    })
}

/// The answer for annotations the driver would refuse.
fn invalid(e: PlanError, settings: &Settings, mut warnings: Warnings) -> Decision {
    if settings.deny_invalid {
        return denied(&e);
    }
    warnings.push(refusal_warning(&e));
    Decision::unchanged(warnings)
}

fn denied(e: &PlanError) -> Decision {
    Decision::Denied {
        message: e.to_string(),
        key: e.metric_key(),
    }
}

fn refusal_warning(e: &PlanError) -> String {
    format!("the Vault CSI driver will refuse this Pod's secrets: {e}")
}

fn is_driver_volume(volume: &Volume, driver_name: &str) -> bool {
    volume
        .csi
        .as_ref()
        .is_some_and(|csi| csi.driver == driver_name)
}

/// The global path first (its volume gets the plain name), then the others in
/// order; the global path alone when nothing would be written, so that the
/// driver's "empty volume" error is what the Pod gets.
fn ordered_paths(mut paths: BTreeSet<String>, global: String) -> Vec<String> {
    let global_in_use = paths.remove(&global) || paths.is_empty();
    let mut ordered = Vec::with_capacity(paths.len() + 1);
    if global_in_use {
        ordered.push(global);
    }
    ordered.extend(paths);
    ordered
}

/// Which list a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    Init,
    App,
}

impl List {
    fn field(self) -> &'static str {
        match self {
            List::Init => "initContainers",
            List::App => "containers",
        }
    }
}

/// A container that gets the secrets.
#[derive(Debug)]
struct Target<'p> {
    list: List,
    index: usize,
    container: &'p Container,
}

/// Every init container, and the app containers that
/// `agent-inject-containers` selects (all when it is absent or blank).
fn targets<'p>(pod: &'p Pod, warnings: &mut Warnings) -> Vec<Target<'p>> {
    let containers = prefix::lookup(pod.annotations(), CONTAINERS_KEY);
    let containers_key = containers.map_or(CONTAINERS_ANNOTATION, |(k, _)| k);
    let chosen: Vec<&str> = containers
        .map(|(_, v)| {
            v.split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default();
    for name in &chosen {
        if !pod.spec.all_containers().any(|c| c.name == *name) {
            warnings.push(format!(
                "{containers_key} names {}, which is not a container of this Pod",
                Echo::new(name)
            ));
        }
    }
    let init = pod
        .spec
        .init_containers
        .iter()
        .enumerate()
        .map(|(index, container)| Target {
            list: List::Init,
            index,
            container,
        });
    let app = pod
        .spec
        .containers
        .iter()
        .enumerate()
        .filter(|(_, c)| chosen.is_empty() || chosen.contains(&c.name.as_str()))
        .map(|(index, container)| Target {
            list: List::App,
            index,
            container,
        });
    init.chain(app).collect()
}

/// One volume to add, and which targets mount it.
#[derive(Debug)]
struct Addition {
    volume: String,
    mount_path: String,
    /// Indexes into the target list.
    targets: Vec<usize>,
}

/// Decides the volumes and mounts. A container that already mounts
/// something at a path keeps it and gets no second mount there; a path that
/// no container can take gets no volume.
fn additions(
    pod: &Pod,
    paths: &[String],
    targets: &[Target],
    warnings: &mut Warnings,
) -> Vec<Addition> {
    let containers_key =
        prefix::lookup(pod.annotations(), CONTAINERS_KEY).map_or(CONTAINERS_ANNOTATION, |(k, _)| k);
    let mut taken: BTreeSet<String> = pod.spec.volumes.iter().map(|v| v.name.clone()).collect();
    let mut out = Vec::new();
    for path in paths {
        let mut users = Vec::new();
        for (i, target) in targets.iter().enumerate() {
            let container = target.container;
            match container
                .volume_mounts
                .iter()
                .find(|m| gopath::clean(&m.mount_path) == *path)
            {
                Some(existing) => warnings.push(format!(
                    "container {:?} already mounts volume {:?} at {path}, so the Vault secrets for that path are not mounted in it",
                    container.name, existing.name
                )),
                None => users.push(i),
            }
        }
        if users.is_empty() {
            warnings.push(format!(
                "no container can take the Vault secrets for {path} (each already mounts something there, or {containers_key} selects none), so no volume is added for them"
            ));
            continue;
        }
        let volume = free_name(&taken);
        taken.insert(volume.clone());
        out.push(Addition {
            volume,
            mount_path: path.clone(),
            targets: users,
        });
    }
    out
}

/// `vault-secrets`, else the first of `vault-secrets-1`, `-2`, ... not taken.
fn free_name(taken: &BTreeSet<String>) -> String {
    let mut n: u64 = 0;
    loop {
        let name = match n {
            0 => VOLUME_NAME.to_owned(),
            n => format!("{VOLUME_NAME}-{n}"),
        };
        if !taken.contains(&name) {
            return name;
        }
        n += 1;
    }
}

/// The Pod as the driver will read it once the patch is applied.
fn with_additions(
    mut pod: Pod,
    additions: &[Addition],
    targets: &[Target],
    driver_name: &str,
) -> Pod {
    for addition in additions {
        pod.spec.volumes.push(Volume {
            name: addition.volume.clone(),
            csi: Some(CsiVolumeSource {
                driver: driver_name.to_owned(),
                read_only: true,
                volume_attributes: Default::default(),
            }),
        });
        for target in addition.targets.iter().filter_map(|&i| targets.get(i)) {
            let list = match target.list {
                List::Init => &mut pod.spec.init_containers,
                List::App => &mut pod.spec.containers,
            };
            if let Some(container) = list.get_mut(target.index) {
                container.volume_mounts.push(VolumeMount {
                    name: addition.volume.clone(),
                    mount_path: addition.mount_path.clone(),
                    read_only: true,
                });
            }
        }
    }
    pod
}

/// The JSON Patch. A missing (or null) array is added whole, since `-` can
/// only append to an array that exists.
fn operations(
    object: &Value,
    additions: &[Addition],
    targets: &[Target],
    driver_name: &str,
    status_annotation: &str,
) -> Vec<AddOp> {
    let mut ops = Vec::new();
    let volumes: Vec<Value> = additions
        .iter()
        .map(|a| json!({ "name": a.volume, "csi": { "driver": driver_name, "readOnly": true } }))
        .collect();
    append(&mut ops, object, "/spec/volumes", volumes);
    for (i, target) in targets.iter().enumerate() {
        let mounts: Vec<Value> = additions
            .iter()
            .filter(|a| a.targets.contains(&i))
            .map(|a| json!({ "name": a.volume, "mountPath": a.mount_path, "readOnly": true }))
            .collect();
        let array = format!(
            "/spec/{}/{}/volumeMounts",
            target.list.field(),
            target.index
        );
        append(&mut ops, object, &array, mounts);
    }
    let annotation = format!("/metadata/annotations/{}", pointer_token(status_annotation));
    ops.push(AddOp {
        path: annotation,
        value: Value::String(STATUS_INJECTED.to_owned()),
    });
    ops
}

/// Appends `items` to the array at `array` (a JSON Pointer into `object`).
fn append(ops: &mut Vec<AddOp>, object: &Value, array: &str, items: Vec<Value>) {
    if items.is_empty() {
        return;
    }
    if object.pointer(array).is_some_and(Value::is_array) {
        ops.extend(items.into_iter().map(|value| AddOp {
            path: format!("{array}/-"),
            value,
        }));
    } else {
        ops.push(AddOp {
            path: array.to_owned(),
            value: Value::Array(items),
        });
    }
}

#[cfg(test)]
mod tests;
