//! `vault-csi-driver check`: whether each Pod, as it runs under the injector
//! today, would get the same files from the driver. Pure: Pods and settings
//! in, one verdict per Pod out; no Vault, no API server.

use std::fmt;

use crate::content::normalise_addr;
use crate::inject::{self, ClusterDefaults, Defaults, PlanWarning, WarningKind, prefix};
use crate::pod::Pod;
use crate::webhook::patch;
use crate::webhook::review::SYSTEM_NAMESPACES;

/// What `check` knows of the cluster: the driver's name and settings.
#[derive(Debug, Clone, Default)]
pub struct CheckSettings {
    /// The CSI driver name.
    pub driver_name: String,
    /// The injector's cluster-wide settings, as `serve` will read them.
    pub cluster: ClusterDefaults,
    /// The node's Vault address (`--vault-addr`, else `AGENT_INJECT_VAULT_ADDR`), if known.
    pub vault_addr: Option<String>,
    /// Other addresses Pods may choose with `service` (`--vault-allowed-addrs`).
    pub allowed_addrs: Vec<String>,
}

/// The verdict on one Pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The Pod does not ask for injection, or is never injected.
    Skipped(String),
    /// The driver gives the Pod what the injector gives it.
    Identical,
    /// The Pod would start, but get something else; each entry says what and why.
    Differs(Vec<String>),
    /// The driver would refuse the Pod's volume; the message names the key.
    Refused(String),
}

impl Verdict {
    /// Whether the Pod moves over without a difference (skipped Pods do).
    pub fn is_ok(&self) -> bool {
        matches!(self, Verdict::Skipped(_) | Verdict::Identical)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Skipped(why) => write!(f, "skipped: {why}"),
            Verdict::Identical => f.write_str("identical"),
            Verdict::Differs(reasons) => write!(f, "differs: {}", reasons.join("; ")),
            Verdict::Refused(message) => write!(f, "refused: {message}"),
        }
    }
}

/// Names of the containers the injectors add (vault-k8s and openbao-k8s).
const AGENT_CONTAINERS: [&str; 4] = [
    "vault-agent-init",
    "vault-agent",
    "openbao-agent-init",
    "openbao-agent",
];

/// Volumes the injectors add (`container_volume.go`); `-custom-N` ones too.
const AGENT_VOLUMES: [&str; 11] = [
    "vault-secrets",
    "home-init",
    "home-sidecar",
    "vault-config",
    "extra-secrets",
    "vault-tls-secrets",
    "vault-agent-cache",
    "openbao-secrets",
    "openbao-config",
    "openbao-tls-secrets",
    "openbao-agent-cache",
];

/// The Pod as it was before the injector changed it: without the agent
/// containers and the volumes (and mounts) they brought. A Pod without an
/// agent container comes back as it is, so a volume of the driver that
/// happens to be called `vault-secrets` stays.
pub fn without_injector(pod: &Pod) -> Pod {
    let mut pod = pod.clone();
    let injected = pod
        .spec
        .all_containers()
        .any(|c| AGENT_CONTAINERS.contains(&c.name.as_str()));
    if !injected {
        return pod;
    }
    let added = |name: &str| {
        AGENT_VOLUMES.contains(&name)
            || ["vault-secrets-custom-", "openbao-secrets-custom-"]
                .iter()
                .any(|p| name.starts_with(p))
    };
    let removed: Vec<String> = pod
        .spec
        .volumes
        .iter()
        .filter(|v| v.csi.is_none() && added(&v.name))
        .map(|v| v.name.clone())
        .collect();
    pod.spec.volumes.retain(|v| !removed.contains(&v.name));
    for list in [&mut pod.spec.init_containers, &mut pod.spec.containers] {
        list.retain(|c| !AGENT_CONTAINERS.contains(&c.name.as_str()));
        for c in list.iter_mut() {
            c.volume_mounts.retain(|m| !removed.contains(&m.name));
        }
    }
    pod
}

/// The verdict on `pod` under `settings`.
pub fn classify(pod: &Pod, settings: &CheckSettings) -> Verdict {
    let annotations = pod.annotations();
    match inject::selected(annotations) {
        Ok(true) => {}
        Ok(false) => return Verdict::Skipped("no agent-inject: \"true\"".into()),
        Err(e) => return Verdict::Refused(e.to_string()),
    }
    if SYSTEM_NAMESPACES.contains(&pod.metadata.namespace.as_str()) {
        return Verdict::Skipped(format!(
            "Pods in namespace {} are never injected",
            pod.metadata.namespace
        ));
    }
    let admission = match patch::admitted(&without_injector(pod), &settings.driver_name) {
        Ok(admission) => admission,
        Err(e) => return Verdict::Refused(e.to_string()),
    };
    let pod = admission.pod;
    // A container named in agent-inject-containers that does not exist is
    // skipped by the injector too; a path a container already uses is not.
    let mut differs: Vec<String> = admission.unmounted;
    let volumes: Vec<&str> = pod
        .spec
        .volumes
        .iter()
        .filter(|v| {
            v.csi
                .as_ref()
                .is_some_and(|c| c.driver == settings.driver_name)
        })
        .map(|v| v.name.as_str())
        .collect();
    if volumes.is_empty() {
        differs.push("no volume of the driver would be added, so no secrets are mounted".into());
        return Verdict::Differs(differs);
    }
    let defaults = Defaults::new(Some(settings.driver_name.clone()), settings.cluster.clone());
    for volume in volumes {
        let plan = match inject::plan(&pod, volume, &defaults) {
            Ok(plan) => plan,
            Err(e) => return Verdict::Refused(e.to_string()),
        };
        if let Some(address) = &plan.identity.service
            && let Some(problem) =
                service_problem(&plan.identity.service_annotation, address, settings)
        {
            match problem {
                ServiceProblem::NotAllowed(message) => return Verdict::Refused(message),
                ServiceProblem::Unknown(message) => differs.push(message),
            }
        }
        for w in plan.warnings.iter().chain(&plan.notices) {
            if changes_files(w) {
                differs.push(w.to_string());
            }
        }
    }
    if let Some(message) = blank_namespace(pod.annotations(), &settings.cluster) {
        differs.push(message);
    }
    let mut seen = std::collections::BTreeSet::new();
    differs.retain(|d| seen.insert(d.clone()));
    if differs.is_empty() {
        Verdict::Identical
    } else {
        Verdict::Differs(differs)
    }
}

/// Whether a warning or notice means the Pod gets something other than
/// under the injector. Every kind is named, so a new one must be judged.
fn changes_files(warning: &PlanWarning) -> bool {
    match warning.kind {
        WarningKind::CommandNotRun
        | WarningKind::TemplateFileNotRead { .. }
        | WarningKind::NodeTrustSetting
        | WarningKind::AgentConfigMap
        | WarningKind::ExtraSecret
        | WarningKind::ProxyAddress
        | WarningKind::SecretsNotPlaced { .. }
        | WarningKind::TokenNotPlaced { .. }
        | WarningKind::NotServed { .. }
        // A stanza that needs a running agent is not served here.
        | WarningKind::AgentConfigUnserved { .. } => true,
        // The agent does the same, or the key shapes only its containers.
        WarningKind::DelimitersWithDefaultTemplate { .. }
        | WarningKind::UnknownSecretName { .. }
        | WarningKind::AgentContainerOnly
        | WarningKind::UnknownAnnotation
        // The injector too ignores annotations an agent config replaces.
        | WarningKind::ReplacedByAgentConfig { .. } => false,
    }
}

enum ServiceProblem {
    /// The node refuses the address.
    NotAllowed(String),
    /// Nothing says what the node allows.
    Unknown(String),
}

/// What the driver will say of a Pod's `service` address.
fn service_problem(key: &str, address: &str, settings: &CheckSettings) -> Option<ServiceProblem> {
    let wanted = normalise_addr(address);
    let node = settings
        .vault_addr
        .as_deref()
        .or(settings.cluster.vault_addr.as_deref());
    let Some(node) = node else {
        return Some(ServiceProblem::Unknown(format!(
            "annotation {key}: {address:?} is used only when it is the nodes' Vault or in --vault-allowed-addrs; give --vault-addr (or AGENT_INJECT_VAULT_ADDR) and --vault-allowed-addrs to check it"
        )));
    };
    let allowed = normalise_addr(node) == wanted
        || settings
            .allowed_addrs
            .iter()
            .any(|a| normalise_addr(a) == wanted);
    (!allowed).then(|| {
        ServiceProblem::NotAllowed(format!(
            "annotation {key}: {address:?} is not an allowed Vault address on this node (--vault-allowed-addrs)"
        ))
    })
}

/// A `namespace` annotation that is present but blank: the injector copies
/// it over its cluster namespace (it checks presence), the driver counts
/// blank as absent and uses the cluster namespace.
fn blank_namespace(
    annotations: &std::collections::BTreeMap<String, String>,
    cluster: &ClusterDefaults,
) -> Option<String> {
    let cluster_namespace = cluster.namespace.as_deref()?;
    prefix::PREFIXES.iter().find_map(|p| {
        let key = format!("{p}namespace");
        annotations
            .get(&key)
            .filter(|v| v.trim().is_empty())
            .map(|_| {
                format!(
                    "{key} is blank: the injector logs in at Vault's root namespace, the driver at {} {cluster_namespace:?} (remove the annotation or set it)",
                    inject::ENV_NAMESPACE
                )
            })
    })
}

/// Flags of `vault-csi-driver check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Pods to check: a file, or `-` for standard input. A Pod, a List or
    /// PodList (`kubectl get pods -A -o json`), or several YAML documents.
    pub pods: std::path::PathBuf,

    /// The driver name whose volumes count.
    #[arg(long, env = "DRIVER_NAME", default_value = "vault-csi-driver")]
    pub driver_name: String,

    /// The nodes' Vault address, to judge `service` annotations (default: AGENT_INJECT_VAULT_ADDR).
    #[arg(long, env = "VAULT_ADDR")]
    pub vault_addr: Option<String>,

    /// Other Vault addresses the nodes allow for `service` (comma-separated).
    #[arg(long, env = "VAULT_ALLOWED_ADDRS", value_delimiter = ',')]
    pub vault_allowed_addrs: Vec<String>,

    /// The injector's cluster-wide settings, as the driver will read them.
    #[command(flatten)]
    pub cluster: crate::config::ClusterArgs,
}

/// One Pod's line: `namespace/name: verdict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `namespace/name` (or `#N` for a Pod without a name).
    pub pod: String,
    /// The verdict.
    pub verdict: Verdict,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pod, self.verdict)
    }
}

/// Why the input holds no Pods to check, or a setting is wrong.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file, or `-`.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A document is not YAML or JSON.
    #[error("{path}: document {index} is not YAML or JSON: {problem}")]
    Syntax {
        /// The file, or `-`.
        path: String,
        /// 1-based document number.
        index: usize,
        /// The parser's message.
        problem: String,
    },
    /// A document is neither a Pod nor a list of Pods.
    #[error("{path}: document {index} is a {kind}, not a Pod, List or PodList")]
    NotPods {
        /// The file, or `-`.
        path: String,
        /// 1-based document number.
        index: usize,
        /// Its `kind`.
        kind: String,
    },
    /// An item does not have the shape of a Pod.
    #[error("{path}: {what} does not have the shape of a v1 Pod: {problem}")]
    BadPod {
        /// The file, or `-`.
        path: String,
        /// Which document or item.
        what: String,
        /// The parser's message.
        problem: String,
    },
    /// A setting is wrong.
    #[error(transparent)]
    Setting(#[from] inject::ClusterSettingError),
    /// `--vault-addr` and `AGENT_INJECT_VAULT_ADDR` disagree.
    #[error(transparent)]
    Address(#[from] crate::config::ConfigError),
}

/// Every Pod in `text`: YAML or JSON, one or more documents, each a Pod or a
/// List/PodList of Pods. `path` only names the input in messages.
///
/// # Errors
///
/// A document that cannot be read, or that holds something else.
pub fn pods_from_text(text: &str, path: &str) -> Result<Vec<Pod>, InputError> {
    use serde::Deserialize;
    let mut pods = Vec::new();
    for (i, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let index = i + 1;
        let value = serde_json::Value::deserialize(document).map_err(|e| InputError::Syntax {
            path: path.to_owned(),
            index,
            problem: e.to_string(),
        })?;
        if value.is_null() {
            continue;
        }
        let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or("Pod");
        let bad = |what: String, e: serde_json::Error| InputError::BadPod {
            path: path.to_owned(),
            what,
            problem: e.to_string(),
        };
        match kind {
            "Pod" => pods
                .push(Pod::deserialize(&value).map_err(|e| bad(format!("document {index}"), e))?),
            "List" | "PodList" => {
                let items = value.get("items").and_then(|i| i.as_array());
                for (n, item) in items.into_iter().flatten().enumerate() {
                    let item_kind = item.get("kind").and_then(|k| k.as_str()).unwrap_or("Pod");
                    if item_kind != "Pod" {
                        return Err(InputError::NotPods {
                            path: path.to_owned(),
                            index,
                            kind: format!("List holding a {item_kind}"),
                        });
                    }
                    pods.push(
                        Pod::deserialize(item)
                            .map_err(|e| bad(format!("document {index}, item {}", n + 1), e))?,
                    );
                }
            }
            other => {
                return Err(InputError::NotPods {
                    path: path.to_owned(),
                    index,
                    kind: other.to_owned(),
                });
            }
        }
    }
    Ok(pods)
}

/// One line per Pod, in input order.
pub fn check_pods(pods: &[Pod], settings: &CheckSettings) -> Vec<Line> {
    pods.iter()
        .enumerate()
        .map(|(i, pod)| {
            let meta = &pod.metadata;
            let name = match (meta.namespace.as_str(), meta.name.as_str()) {
                (_, "") => format!("#{}", i + 1),
                ("", name) => name.to_owned(),
                (ns, name) => format!("{ns}/{name}"),
            };
            Line {
                pod: name,
                verdict: classify(pod, settings),
            }
        })
        .collect()
}

/// Reads the Pods `args` names and checks them.
///
/// # Errors
///
/// The input cannot be read or holds something other than Pods, or a
/// setting is wrong.
pub fn run(args: &CheckArgs) -> Result<Vec<Line>, InputError> {
    use std::io::Read;
    let cluster = args.cluster.validate()?;
    let vault_addr = crate::config::node_vault_addr(args.vault_addr.as_deref(), &cluster)?;
    let path = args.pods.display().to_string();
    let read_error = |source| InputError::Read {
        path: path.clone(),
        source,
    };
    let text = if path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(read_error)?;
        text
    } else {
        std::fs::read_to_string(&args.pods).map_err(read_error)?
    };
    let pods = pods_from_text(&text, &path)?;
    let settings = CheckSettings {
        driver_name: args.driver_name.clone(),
        vault_addr,
        allowed_addrs: args.vault_allowed_addrs.clone(),
        cluster,
    };
    Ok(check_pods(&pods, &settings))
}

#[cfg(test)]
mod tests;
