//! The publish path: from a kubelet request to rendered files in the tmpfs.
//!
//! ```text
//! request -> Pod (API server, uid checked) -> Plan -> Vault login with the
//! Pod's token -> secrets fetched once per path -> bytes -> tmpfs generation
//! ```
//! Everything that can fail on bad input or an unreachable service fails
//! before the mount, so a failed first publish leaves nothing behind.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::content::{ContentBuilder, FetchedSet, Recipe, pod_env};
use crate::csi::context::{PodRef, PodToken, PublishContext};
use crate::error::{Error, Result};
use crate::inject::{self, Defaults, Plan};
use crate::kube::{KubeClient, PodEvent};
use crate::pod::Pod;
use crate::volume::{self, writer};

/// Node-level settings of the publish path.
#[derive(Debug, Clone)]
pub struct PublishSettings {
    /// This driver's name (only its volumes count in a Pod spec).
    pub driver_name: String,
    /// tmpfs size limit per volume, in bytes.
    pub tmpfs_size_bytes: u64,
}

/// A volume this process has published, kept for republish and refresh.
#[derive(Debug, Clone)]
pub struct PublishedVolume {
    /// The resolved mount point.
    pub target: PathBuf,
    /// Whose volume it is.
    pub pod: PodRef,
    /// The freshest Pod token kubelet handed in.
    pub pod_token: PodToken,
}

/// Serves NodePublishVolume's Vault part; one per node.
#[derive(Debug)]
pub struct Publisher {
    settings: PublishSettings,
    kube: KubeClient,
    content: ContentBuilder,
    volumes: Mutex<HashMap<String, PublishedVolume>>,
}

impl Publisher {
    /// A publisher using the node's API server and Vault clients.
    pub fn new(settings: PublishSettings, kube: KubeClient, content: ContentBuilder) -> Self {
        Self {
            settings,
            kube,
            content,
            volumes: Mutex::new(HashMap::new()),
        }
    }

    /// Publishes (or republishes) `volume_id` at `target` for the Pod in `context`.
    pub async fn publish(
        self: &Arc<Self>,
        volume_id: &str,
        target: PathBuf,
        context: PublishContext,
    ) -> Result<()> {
        if self.refresh_token_of_known_volume(volume_id, &target, &context)? {
            tracing::debug!("republish of a live volume: token stored");
            return Ok(());
        }
        let started = std::time::Instant::now();
        let pod = self.fetch_pod(&context.pod).await?;
        let pod_done = started.elapsed();
        let volume_name = volume_name(&target)?;
        let plan = inject::plan(&pod, &volume_name, &self.defaults())?;
        let pod_ref = &context.pod;
        let env = pod_env(
            &pod_ref.namespace,
            &pod_ref.name,
            &pod_ref.uid,
            &pod_ref.service_account,
        );
        let recipe = Recipe::new(&plan, env)?;
        let vault_target = self.content.target_for(&plan)?;
        let token = self
            .content
            .login(&plan, &vault_target, context.token.jwt())
            .await?;
        let mut fetched = FetchedSet::default();
        let (files, _used) = self
            .content
            .build(&recipe, &vault_target, &token, &mut fetched)
            .await?;
        let rendered = (files, recipe.owner());
        let vault_done = started.elapsed();
        self.report_warnings(&pod, &plan);
        let size = self.settings.tmpfs_size_bytes;
        let root = target.clone();
        let outcome = tokio::task::spawn_blocking(move || write_volume(&root, size, &rendered))
            .await
            .map_err(|e| Error::Internal(format!("write task failed: {e}")))??;
        tracing::info!(
            files = plan.files.len(),
            ?outcome,
            pod_ms = millis(pod_done),
            vault_ms = millis(vault_done - pod_done),
            write_ms = millis(started.elapsed() - vault_done),
            "volume published"
        );
        self.lock_volumes().insert(
            volume_id.to_string(),
            PublishedVolume {
                target,
                pod: context.pod,
                pod_token: context.token,
            },
        );
        Ok(())
    }

    /// Forgets `volume_id` after its unpublish.
    pub fn forget(&self, volume_id: &str) {
        self.lock_volumes().remove(volume_id);
    }

    fn lock_volumes(&self) -> std::sync::MutexGuard<'_, HashMap<String, PublishedVolume>> {
        self.volumes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A republish of a volume this process published and that is still
    /// mounted only hands in a fresh token: keep it, touch nothing else.
    fn refresh_token_of_known_volume(
        &self,
        volume_id: &str,
        target: &Path,
        context: &PublishContext,
    ) -> Result<bool> {
        let known = self
            .lock_volumes()
            .get(volume_id)
            .is_some_and(|v| v.target == target && v.pod.uid == context.pod.uid);
        if !known || !volume::is_mounted(target)? {
            return Ok(false);
        }
        if let Some(volume) = self.lock_volumes().get_mut(volume_id) {
            volume.pod_token = context.token.clone();
        }
        Ok(true)
    }

    fn defaults(&self) -> Defaults {
        Defaults {
            driver_name: Some(self.settings.driver_name.clone()),
            ..Defaults::default()
        }
    }

    async fn fetch_pod(&self, pod_ref: &PodRef) -> Result<Pod> {
        let pod = self.kube.get_pod(&pod_ref.namespace, &pod_ref.name).await?;
        if pod.metadata.uid != pod_ref.uid {
            return Err(Error::FailedPrecondition(format!(
                "pod {}/{} has uid {:?}, not {:?} as kubelet says: the Pod was replaced",
                pod_ref.namespace, pod_ref.name, pod.metadata.uid, pod_ref.uid
            )));
        }
        Ok(pod)
    }

    /// Ignored annotations become Warning events on the Pod; best effort,
    /// off the publish path.
    fn report_warnings(&self, pod: &Pod, plan: &Plan) {
        let mut messages: Vec<String> = plan.warnings.iter().map(ToString::to_string).collect();
        messages.sort();
        messages.dedup();
        for message in &messages {
            tracing::warn!(warning = %message, "annotation not served");
        }
        if messages.is_empty() {
            return;
        }
        let kube = self.kube.clone();
        let pod = pod.clone();
        tokio::spawn(async move {
            for message in messages {
                let event = PodEvent {
                    kind: "Warning",
                    reason: "IgnoredAnnotation".into(),
                    message,
                };
                if let Err(error) = kube.post_event(&pod, &event).await {
                    tracing::warn!(%error, "could not post event");
                }
            }
        });
    }
}

fn millis(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 1e5).round() / 100.0
}

/// Mounts the tmpfs if needed and writes the files; a mount made here is
/// undone when the write fails, so a failed publish leaves no mount.
fn write_volume(
    root: &Path,
    size: u64,
    (files, owner): &(Vec<writer::FileContent>, writer::Owner),
) -> Result<writer::WriteOutcome> {
    let mounted_now = volume::ensure_tmpfs(root, size)?;
    match writer::write_generation(root, files, *owner) {
        Ok(outcome) => Ok(outcome),
        Err(error) => {
            if mounted_now && let Err(cleanup) = volume::teardown(root) {
                tracing::error!(%cleanup, "could not undo the mount after a failed write");
            }
            Err(error)
        }
    }
}

/// The Pod spec's volume name: the last-but-one part of
/// `<kubelet>/pods/<uid>/volumes/kubernetes.io~csi/<volume>/mount`.
fn volume_name(target: &Path) -> Result<String> {
    target
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "target path {} does not name a volume",
                target.display()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_volume_name_is_the_last_but_one_part_of_the_target() {
        let target =
            Path::new("/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/vault-secrets/mount");
        assert_eq!(volume_name(target).unwrap(), "vault-secrets");
    }
}
