//! The publish path: from a kubelet request to rendered files in the tmpfs,
//! and the volume's handover to the refresh loop.
//!
//! ```text
//! request -> Pod (node's Pod watch or API server, uid checked) -> Plan -> Vault token (the
//! identity's live one, or a login with the Pod's JWT) -> secrets fetched
//! once each -> files -> tmpfs generation -> state record -> refresh loop
//! ```
//! Everything that can fail on bad input or an unreachable service fails
//! before the mount, so a failed first publish leaves nothing behind. A
//! republish never fails a live volume: kubelet may tear down volumes whose
//! republish fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::content::{ContentBuilder, FetchedSet, Recipe};
use crate::csi::context::{PodRef, PublishContext};
use crate::error::{Error, Result};
use crate::events::EventRecorder;
use crate::inject::{self, Defaults, Plan};
use crate::kube::{KubeClient, PodEvent};
use crate::metrics::SourceLabels;
use crate::pod::Pod;
use crate::pod_cache::PodCache;
use crate::refresh::{Condition, NewVolume, Refresher, schedule};
use crate::state::{StateDir, VolumeRecord};
use crate::vault::ErrorKind;
use crate::volume::budget::{self, Budget};
use crate::volume::{self, writer};
use consul_funcs::pod_env;

const SOURCE_CACHE: SourceLabels = SourceLabels { source: "cache" };
const SOURCE_API: SourceLabels = SourceLabels { source: "api" };

/// Node-level settings of the publish path.
#[derive(Debug, Clone)]
pub struct PublishSettings {
    /// This driver's name (only its volumes count in a Pod spec).
    pub driver_name: String,
    /// tmpfs size limit per volume, in bytes.
    pub tmpfs_size_bytes: u64,
    /// The injector's cluster-wide settings, below each Pod's annotations.
    pub cluster: crate::inject::ClusterDefaults,
}

/// Serves NodePublishVolume's Vault part and owns the node's volumes.
#[derive(Debug)]
pub struct Publisher {
    settings: PublishSettings,
    kube: KubeClient,
    /// The node's Pods, so most publishes need no GET.
    pods: PodCache,
    events: EventRecorder,
    content: ContentBuilder,
    refresher: Refresher,
    state: StateDir,
    /// Bytes of secret files the node may hold.
    budget: Arc<Budget>,
    /// Volumes found mounted at start, waiting for a republish with a token.
    dormant: Mutex<HashMap<String, VolumeRecord>>,
}

impl Publisher {
    /// A publisher; volumes recorded in `state` whose mounts still exist are
    /// kept (dormant until kubelet's next republish), the rest forgotten.
    pub fn new(
        settings: PublishSettings,
        kube: KubeClient,
        pods: PodCache,
        content: ContentBuilder,
        refresher: Refresher,
        state: StateDir,
        budget: Arc<Budget>,
    ) -> Result<Self> {
        let mut dormant = HashMap::new();
        for record in state.load()? {
            if volume::is_mounted(&record.target)? {
                // Its files stay charged to this container: count them.
                budget.record(
                    &record.volume_id,
                    budget::tmpfs_bytes(&record.target).unwrap_or(0),
                );
                tracing::info!(volume = %record.volume_id, target = %record.target.display(), "found a volume from before the restart");
                dormant.insert(record.volume_id.clone(), record);
            } else {
                state.remove(&record.volume_id)?;
            }
        }
        Ok(Self {
            settings,
            events: EventRecorder::new(kube.clone()),
            kube,
            pods,
            content,
            refresher,
            state,
            budget,
            dormant: Mutex::new(dormant),
        })
    }

    /// A republish of a live volume: keep the fresh Pod token, touch nothing.
    /// Returns false when the volume needs a full publish.
    pub fn republish(&self, volume_id: &str, target: &Path, context: &PublishContext) -> bool {
        if !self.refresher.is_live(volume_id, target, &context.pod.uid) {
            return false;
        }
        self.refresher
            .store_pod_token(volume_id, context.token.clone());
        true
    }

    /// The volume's condition for NodeGetVolumeStats.
    pub fn condition(&self, volume_id: &str) -> Option<Condition> {
        self.refresher.condition(volume_id).or_else(|| {
            lock(&self.dormant).contains_key(volume_id).then(|| Condition {
                abnormal: false,
                message: "files from before the driver restarted; refresh resumes at kubelet's next republish".into(),
            })
        })
    }

    /// Publishes `volume_id` at `target` for the Pod in `context`. A volume
    /// from before a restart whose publish fails keeps its files and OK.
    pub async fn publish(
        &self,
        volume_id: &str,
        target: PathBuf,
        context: PublishContext,
    ) -> Result<()> {
        let dormant = lock(&self.dormant).contains_key(volume_id);
        match self.publish_fresh(volume_id, &target, context).await {
            Ok(()) => {
                lock(&self.dormant).remove(volume_id);
                Ok(())
            }
            Err(error) if dormant && volume::is_mounted(&target)? => {
                tracing::warn!(%error, "could not resume a volume from before the restart; its files stay, the next republish tries again");
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// Forgets a volume before its unpublish tears it down: waits for a
    /// refresh in flight and revokes what its Plan says to revoke.
    pub async fn forget(&self, volume_id: &str) -> Result<()> {
        self.refresher.remove(volume_id).await;
        lock(&self.dormant).remove(volume_id);
        self.budget.forget(volume_id);
        self.state.remove(volume_id)
    }

    async fn publish_fresh(
        &self,
        volume_id: &str,
        target: &Path,
        context: PublishContext,
    ) -> Result<()> {
        let started = Instant::now();
        let (pod, known_since) = self.fetch_pod(&context.pod, started).await?;
        let pod_done = started.elapsed();
        let configmap = self.agent_configmap(&pod).await?;
        let plan = inject::plan_with_config(
            &pod,
            &volume_name(target)?,
            &self.defaults(),
            configmap.as_ref(),
        )?;
        let p = &context.pod;
        let recipe = Recipe::new(
            &plan,
            pod_env(&p.namespace, &p.name, &p.uid, &p.service_account),
        )?;
        let vault_target = self.content.target_for(&plan)?;
        // Bad input has failed by now. The mount, the writes and the record
        // run on this task: on tmpfs each is a few syscalls taking
        // microseconds, less than a hand-off to the blocking pool and back
        // (BENCHMARKS.md). The mount runs while the first Vault request is
        // in flight: `join!` polls the render first, which queues it.
        let mut fetched = FetchedSet::default();
        let volume = VolumeToRender {
            volume_id,
            target,
            context: &context,
            plan: &plan,
            recipe: &recipe,
            vault_target: &vault_target,
            known_since,
        };
        let size = self.settings.tmpfs_size_bytes;
        let (rendered, mounted_now) = tokio::join!(self.render(&volume, &mut fetched), async {
            // Yield first, so the task that writes the first Vault request
            // to its connection runs before the mount's syscalls.
            tokio::task::yield_now().await;
            volume::ensure_tmpfs(target, size)
        });
        let vault_done = started.elapsed();
        let (files, mounted_now) = match (rendered, mounted_now) {
            (Ok(files), Ok(mounted_now)) => (files, mounted_now),
            (Err(error), Ok(true)) => {
                if let Err(cleanup) = volume::teardown(target) {
                    tracing::error!(%cleanup, "could not undo the mount after a failed publish");
                }
                return Err(error);
            }
            (Err(error), Ok(false)) | (_, Err(error)) => return Err(error),
        };
        self.report_warnings(&pod, &plan);
        let record = VolumeRecord::new(volume_id, target, &context.pod);
        let outcome = write_volume(
            target,
            mounted_now,
            &files,
            &recipe.ownership(),
            &self.state,
            &record,
            &self.budget,
        )?;
        tracing::info!(
            files = plan.files.len(),
            ?outcome,
            pod_ms = millis(pod_done),
            vault_ms = millis(vault_done - pod_done),
            write_ms = millis(started.elapsed() - vault_done),
            "volume published"
        );
        self.refresher.add(NewVolume {
            id: volume_id.to_string(),
            target: target.to_path_buf(),
            pod: context.pod,
            pod_token: context.token,
            plan,
            recipe,
            vault_target,
            fetched,
        });
        Ok(())
    }

    /// The volume's files: a token (the identity's, or a login with the
    /// Pod's), then every secret its templates read, fetched once each.
    async fn render(
        &self,
        volume: &VolumeToRender<'_>,
        fetched: &mut FetchedSet,
    ) -> Result<Vec<writer::FileContent>> {
        let VolumeToRender {
            volume_id,
            target,
            context,
            plan,
            recipe,
            vault_target,
            known_since,
        } = *volume;
        let session = self
            .refresher
            .session_key(volume_id, plan, vault_target, &context.pod);
        let identity = self.refresher.identity(plan, vault_target, &context.pod);
        let mut fresh_login = false;
        loop {
            let (token, fresh) = self
                .refresher
                .token_for_publish(&session, plan, vault_target, &context.token)
                .await?;
            fresh_login |= fresh;
            let fetch = |request| {
                self.refresher.publish_fetch(
                    &identity,
                    vault_target,
                    &token,
                    request,
                    known_since,
                    target,
                )
            };
            match self
                .content
                .build_with(recipe, &token, fetched, fetch)
                .await
            {
                Ok((files, _used)) => return Ok(files),
                // The identity's shared token may have been revoked behind our back.
                Err(Error::Vault(e)) if e.code() == ErrorKind::PermissionDenied && !fresh_login => {
                    self.refresher.drop_token(&session).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn defaults(&self) -> Defaults {
        Defaults::new(
            Some(self.settings.driver_name.clone()),
            self.settings.cluster.clone(),
        )
    }

    /// The Pod kubelet names, from the node's Pod cache when it holds this
    /// incarnation, else from the API server; and since when it is known
    /// to exist ([`schedule::known_since`]).
    async fn fetch_pod(&self, pod_ref: &PodRef, started: Instant) -> Result<(Arc<Pod>, Instant)> {
        let metrics = crate::metrics::global();
        if let Some(held) = self
            .pods
            .get(&pod_ref.namespace, &pod_ref.name, &pod_ref.uid)
        {
            metrics.pod_reads.get_or_create(&SOURCE_CACHE).inc();
            return Ok((held.pod, schedule::known_since(Some(held.seen), started)));
        }
        metrics.pod_reads.get_or_create(&SOURCE_API).inc();
        let pod = self.kube.get_pod(&pod_ref.namespace, &pod_ref.name).await?;
        if pod.metadata.uid != pod_ref.uid {
            return Err(Error::FailedPrecondition(format!(
                "pod {}/{} has uid {:?}, not {:?} as kubelet says: the Pod was replaced",
                pod_ref.namespace, pod_ref.name, pod.metadata.uid, pod_ref.uid
            )));
        }
        Ok((Arc::new(pod), schedule::known_since(None, started)))
    }

    /// The Pod's `agent-configmap`, read from its namespace with the
    /// driver's own credentials.
    async fn agent_configmap(&self, pod: &Pod) -> Result<Option<inject::AgentConfigMap>> {
        let Some(name) = inject::agent_configmap_name(pod.annotations()) else {
            return Ok(None);
        };
        let namespace = &pod.metadata.namespace;
        let annotation = "vault.hashicorp.com/agent-configmap";
        match self.kube.get_config_map(namespace, &name).await {
            Ok(data) => Ok(Some(inject::AgentConfigMap { name, data })),
            Err(crate::kube::KubeError::ConfigMapNotFound { .. }) => Err(Error::NotFound(format!(
                "annotation {annotation}: ConfigMap {name:?} not found in namespace {namespace:?}"
            ))),
            Err(crate::kube::KubeError::Refused { status, .. }) => {
                Err(Error::Unavailable(format!(
                    "annotation {annotation}: the API server refused the driver's request for ConfigMap {name:?} in namespace {namespace:?} (HTTP {status}): the driver's ClusterRole needs get on configmaps"
                )))
            }
            Err(other) => Err(Error::Unavailable(format!(
                "annotation {annotation}: ConfigMap {name:?} in namespace {namespace:?} could not be read: {other}"
            ))),
        }
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
        for message in messages {
            self.events.record(
                pod,
                PodEvent {
                    kind: "Warning",
                    reason: "IgnoredAnnotation".into(),
                    message,
                },
            );
        }
    }
}

/// What a first publish renders: the volume, its Pod and its Plan.
#[derive(Clone, Copy)]
struct VolumeToRender<'a> {
    volume_id: &'a str,
    target: &'a Path,
    context: &'a PublishContext,
    plan: &'a Plan,
    recipe: &'a Recipe,
    vault_target: &'a crate::vault::Target,
    /// Since when the Pod is known to exist: lease-free reads of the
    /// identity requested since then are newer than the Pod and may serve it.
    known_since: Instant,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn millis(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 1e5).round() / 100.0
}

/// Writes the files into the mounted tmpfs and records the volume; a mount
/// made by this publish is undone when either fails, so a failed publish
/// leaves no mount.
fn write_volume(
    root: &Path,
    mounted_now: bool,
    files: &[writer::FileContent],
    ownership: &inject::Ownership,
    state: &StateDir,
    record: &VolumeRecord,
    budget: &Budget,
) -> Result<writer::WriteOutcome> {
    let written = writer::set_root(root, ownership.root)
        .and_then(|()| {
            writer::write_generation_within(root, files, ownership, |incoming| {
                Ok(budget.admit(incoming)?)
            })
        })
        .and_then(|outcome| state.save(record).map(|()| outcome));
    if written.is_ok() {
        budget.record(&record.volume_id, budget::tmpfs_bytes(root).unwrap_or(0));
    }
    if written.is_err()
        && mounted_now
        && let Err(cleanup) = volume::teardown(root)
    {
        tracing::error!(%cleanup, "could not undo the mount after a failed write");
    }
    written
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
