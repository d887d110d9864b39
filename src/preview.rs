//! `vault-csi-driver render`: what a Pod's volume would hold, rendered into a
//! directory without kubelet, for people checking their annotations.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::config::{ClusterArgs, VaultArgs};
use crate::content::{ContentBuilder, FetchedSet, Recipe};
use crate::error::{Error, Result};
use crate::inject::{self, Defaults};
use crate::pod::Pod;
use crate::vault::{VaultClient, VaultToken};
use crate::volume::writer::{self, WriteOutcome};
use crate::webhook::patch;
use consul_funcs::pod_env;

/// Flags of `vault-csi-driver render`.
#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// The Pod manifest (YAML or JSON) whose annotations to render: as it runs
    /// under the injector today, or with the driver's CSI volume.
    #[arg(long)]
    pub pod: PathBuf,

    /// A ServiceAccount token (JWT) of the Pod's identity, to log in as the Pod would.
    #[arg(
        long,
        conflicts_with = "vault_token_file",
        required_unless_present = "vault_token_file"
    )]
    pub jwt_file: Option<PathBuf>,

    /// A Vault token to read with instead of logging in.
    #[arg(long)]
    pub vault_token_file: Option<PathBuf>,

    /// Directory to write the files into (created if missing).
    #[arg(long)]
    pub out: PathBuf,

    /// The manifest (YAML or JSON) of the ConfigMap the Pod names in
    /// `vault.hashicorp.com/agent-configmap`.
    #[arg(long)]
    pub configmap: Option<PathBuf>,

    /// The Pod spec volume to render; default: the Pod's first volume of this driver.
    #[arg(long)]
    pub volume: Option<String>,

    /// The driver name whose volumes count.
    #[arg(long, env = "DRIVER_NAME", default_value = "vault-csi-driver")]
    pub driver_name: String,

    /// How to reach Vault.
    #[command(flatten)]
    pub vault: VaultArgs,

    /// The injector's cluster-wide settings, as the driver will read them.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Renders the Pod's volume into `args.out` and returns one line per file.
///
/// A Pod without a volume of the driver (one that runs under the injector
/// today) is first given the volumes the admission webhook would add; the
/// injector's own containers and volumes are left out.
pub async fn run(args: &RenderArgs) -> Result<Vec<String>> {
    let cluster = args
        .cluster
        .validate()
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let address = args
        .vault
        .address(&cluster)
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let admission = patch::admitted(
        &crate::check::without_injector(&read_pod(&args.pod)?),
        &args.driver_name,
    )?;
    let pod = admission.pod;
    let volume = args
        .volume
        .clone()
        .or_else(|| first_driver_volume(&pod, &args.driver_name))
        .unwrap_or_else(|| "vault-secrets".to_string());
    let defaults = Defaults::new(Some(args.driver_name.clone()), cluster);
    let configmap = match (
        inject::agent_configmap_name(pod.annotations()),
        &args.configmap,
    ) {
        (None, _) => None,
        (Some(name), None) => {
            return Err(Error::InvalidArgument(format!(
                "the Pod names ConfigMap {name:?} in its agent-configmap annotation: give its manifest with --configmap"
            )));
        }
        (Some(_), Some(path)) => Some(read_configmap(path)?),
    };
    let plan = inject::plan_with_config(&pod, &volume, &defaults, configmap.as_ref())?;
    let mut lines: Vec<String> = admission
        .warnings
        .iter()
        .map(|w| format!("warning: {w}"))
        .chain(
            plan.warnings
                .iter()
                .chain(&plan.notices)
                .map(|w| format!("warning: {w}")),
        )
        .collect();
    let meta = &pod.metadata;
    let env = pod_env(
        &meta.namespace,
        &meta.name,
        &meta.uid,
        &pod.spec.service_account_name,
    );
    let recipe = Recipe::new(&plan, env)?;
    let vault = VaultClient::new(&args.vault.settings(&address))?;
    let builder = ContentBuilder::new(vault, &args.vault.vault_allowed_addrs);
    let target = builder.target_for(&plan)?;
    let token = match (&args.jwt_file, &args.vault_token_file) {
        (Some(path), _) => builder.login(&plan, &target, &read_trimmed(path)?).await?,
        (None, Some(path)) => VaultToken::from_secret(read_trimmed(path)?),
        (None, None) => {
            return Err(Error::InvalidArgument(
                "give --jwt-file or --vault-token-file".into(),
            ));
        }
    };
    let (files, _used) = builder
        .build(
            &recipe,
            &target,
            &token,
            &mut FetchedSet::default(),
            &args.out,
        )
        .await?;
    // Only root can hand files to another user; a preview by anyone else keeps them.
    let ownership = if nix::unistd::geteuid().is_root() {
        recipe.ownership()
    } else {
        inject::Ownership::single_owner(
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    };
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io("create directory", &args.out, e))?;
    let outcome = writer::write_generation(&args.out, &files, &ownership)?;
    for file in &files {
        lines.push(format!(
            "{} ({:o}, {} bytes)",
            args.out.join(&file.path).display(),
            file.mode,
            file.bytes.len()
        ));
    }
    if outcome == WriteOutcome::Unchanged {
        lines.push("unchanged since the last render".into());
    }
    Ok(lines)
}

fn read_trimmed(path: &Path) -> Result<String> {
    Ok(std::fs::read_to_string(path)
        .map_err(|e| Error::io("read", path, e))?
        .trim()
        .to_string())
}

/// Reads a Pod manifest; YAML is a superset of JSON, so one parser serves both.
fn read_pod(path: &Path) -> Result<Pod> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    serde_yaml_ng::from_str(&text)
        .map_err(|e| Error::InvalidArgument(format!("{}: not a Pod manifest: {e}", path.display())))
}

/// Reads a ConfigMap manifest: its name and `data`.
fn read_configmap(path: &Path) -> Result<inject::AgentConfigMap> {
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(default)]
        name: String,
    }
    #[derive(serde::Deserialize)]
    struct ConfigMap {
        metadata: Meta,
        #[serde(default)]
        data: Option<std::collections::BTreeMap<String, String>>,
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    let map: ConfigMap = serde_yaml_ng::from_str(&text).map_err(|e| {
        Error::InvalidArgument(format!("{}: not a ConfigMap manifest: {e}", path.display()))
    })?;
    Ok(inject::AgentConfigMap {
        name: map.metadata.name,
        data: map.data.unwrap_or_default(),
    })
}

fn first_driver_volume(pod: &Pod, driver: &str) -> Option<String> {
    pod.spec
        .volumes
        .iter()
        .find(|v| v.csi.as_ref().is_some_and(|c| c.driver == driver))
        .map(|v| v.name.clone())
}
