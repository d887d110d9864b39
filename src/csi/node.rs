//! The CSI Node service: publish and unpublish of ephemeral secret volumes.

use std::path::PathBuf;
use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::Instrument;

use super::context;
use super::locks::VolumeLocks;
use super::proto::{
    NodeExpandVolumeRequest, NodeExpandVolumeResponse, NodeGetCapabilitiesRequest,
    NodeGetCapabilitiesResponse, NodeGetInfoRequest, NodeGetInfoResponse,
    NodeGetVolumeStatsRequest, NodeGetVolumeStatsResponse, NodePublishVolumeRequest,
    NodePublishVolumeResponse, NodeServiceCapability, NodeStageVolumeRequest,
    NodeStageVolumeResponse, NodeUnpublishVolumeRequest, NodeUnpublishVolumeResponse,
    NodeUnstageVolumeRequest, NodeUnstageVolumeResponse, VolumeCondition, VolumeUsage,
    node_server::Node, node_service_capability, volume_capability::AccessType, volume_usage,
};
use super::redact::PublishRequestLog;
use crate::config::NodeConfig;
use crate::error::{Error, Result};
use crate::publish::Publisher;
use crate::volume;

/// The CSI spec caps identifiers at 128 bytes.
const MAX_ID_BYTES: usize = 128;

/// Serves Node RPCs for this node.
#[derive(Debug, Clone)]
pub struct NodeService {
    config: Arc<NodeConfig>,
    locks: VolumeLocks,
    publisher: Arc<Publisher>,
}

impl NodeService {
    /// A node service for the given settings.
    pub fn new(config: Arc<NodeConfig>, publisher: Arc<Publisher>) -> Self {
        Self {
            config,
            locks: VolumeLocks::default(),
            publisher,
        }
    }

    async fn publish(&self, request: NodePublishVolumeRequest) -> Result<()> {
        check_publish(&request)?;
        let context = context::parse(
            &request.volume_context,
            &request.secrets,
            &self.config.audience,
        )?;
        let target = resolve_target(&self.config, &request.target_path)?;
        // A republish of a live volume only brings a fresh token: it takes
        // no lock, so a refresh in flight never makes it fail.
        if self
            .publisher
            .republish(&request.volume_id, &target, &context)
        {
            tracing::debug!("republish of a live volume: token stored");
            return Ok(());
        }
        let _guard = self.locks.try_lock(&request.volume_id)?;
        self.publisher
            .publish(&request.volume_id, target, context)
            .await
    }

    async fn unpublish(&self, request: NodeUnpublishVolumeRequest) -> Result<()> {
        require("volume_id", &request.volume_id)?;
        require("target_path", &request.target_path)?;
        let guard = self.locks.try_lock(&request.volume_id)?;
        let target = resolve_target(&self.config, &request.target_path)?;
        // First out of the refresh loop (waiting for a refresh in flight),
        // so nothing writes into the directory once it is unmounted.
        self.publisher.forget(&request.volume_id).await?;
        // On this task, without an await: a caller that goes away cannot
        // release the volume lock halfway through the teardown.
        volume::teardown(&target)?;
        drop(guard);
        tracing::info!(target = %target.display(), "volume unpublished");
        Ok(())
    }

    fn volume_stats(
        &self,
        request: &NodeGetVolumeStatsRequest,
    ) -> Result<NodeGetVolumeStatsResponse> {
        require("volume_id", &request.volume_id)?;
        require("volume_path", &request.volume_path)?;
        let Some(condition) = self.publisher.condition(&request.volume_id) else {
            return Err(Error::NotFound(format!(
                "volume {:?} is not published on this node",
                request.volume_id
            )));
        };
        let path = resolve_target(&self.config, &request.volume_path)?;
        let stats = nix::sys::statvfs::statvfs(&path).map_err(|source| Error::Mount {
            action: "statvfs",
            path: path.clone(),
            source,
        })?;
        let block = stats.fragment_size() as i64;
        let usage = |unit: volume_usage::Unit, total: u64, free: u64| VolumeUsage {
            total: total as i64
                * if unit == volume_usage::Unit::Bytes {
                    block
                } else {
                    1
                },
            available: free as i64
                * if unit == volume_usage::Unit::Bytes {
                    block
                } else {
                    1
                },
            used: (total.saturating_sub(free)) as i64
                * if unit == volume_usage::Unit::Bytes {
                    block
                } else {
                    1
                },
            unit: unit as i32,
        };
        Ok(NodeGetVolumeStatsResponse {
            usage: vec![
                usage(
                    volume_usage::Unit::Bytes,
                    stats.blocks(),
                    stats.blocks_available(),
                ),
                usage(
                    volume_usage::Unit::Inodes,
                    stats.files(),
                    stats.files_available(),
                ),
            ],
            volume_condition: Some(VolumeCondition {
                abnormal: condition.abnormal,
                message: condition.message,
            }),
        })
    }
}

fn resolve_target(config: &NodeConfig, target_path: &str) -> Result<PathBuf> {
    volume::target::resolve(&config.kubelet_dir, target_path.as_ref())
        .map_err(|e| Error::InvalidArgument(e.to_string()))
}

fn require(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::InvalidArgument(format!("{field} is required")));
    }
    if value.len() > MAX_ID_BYTES && field == "volume_id" {
        return Err(Error::InvalidArgument(format!(
            "{field} is longer than {MAX_ID_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Argument checks that need no I/O.
fn check_publish(request: &NodePublishVolumeRequest) -> Result<()> {
    require("volume_id", &request.volume_id)?;
    require("target_path", &request.target_path)?;
    let capability = request
        .volume_capability
        .as_ref()
        .ok_or_else(|| Error::InvalidArgument("volume_capability is required".into()))?;
    match &capability.access_type {
        Some(AccessType::Mount(mount)) => {
            if !(mount.fs_type.is_empty() || mount.fs_type == "tmpfs") {
                return Err(Error::InvalidArgument(format!(
                    "volume_capability.mount.fs_type {:?} is not served: volumes are tmpfs",
                    mount.fs_type
                )));
            }
        }
        Some(AccessType::Block(_)) => {
            return Err(Error::InvalidArgument(
                "volume_capability: block volumes are not served, only mount".into(),
            ));
        }
        None => {
            return Err(Error::InvalidArgument(
                "volume_capability.access_type is required (mount)".into(),
            ));
        }
    }
    if !request.readonly {
        return Err(Error::InvalidArgument(
            "readonly must be true: secret volumes are read-only (set csi.readOnly: true on the Pod's volume)"
                .into(),
        ));
    }
    Ok(())
}

/// Counts a call and its latency under `ok` or the error's label.
fn observe<T>(
    calls: &crate::metrics::ResultFamily,
    seconds: &prometheus_client::metrics::family::Family<
        crate::metrics::ResultLabels,
        prometheus_client::metrics::histogram::Histogram,
        fn() -> prometheus_client::metrics::histogram::Histogram,
    >,
    outcome: &Result<T>,
    started: std::time::Instant,
) {
    let labels = crate::metrics::ResultLabels {
        result: match outcome {
            Ok(_) => "ok",
            Err(e) => e.metric_label(),
        }
        .to_string(),
    };
    calls.get_or_create(&labels).inc();
    seconds
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
}

fn unimplemented(rpc: &str) -> Status {
    Status::unimplemented(format!("{rpc} is not served by this node-only plugin"))
}

#[tonic::async_trait]
impl Node for NodeService {
    async fn node_stage_volume(
        &self,
        _request: Request<NodeStageVolumeRequest>,
    ) -> Result<Response<NodeStageVolumeResponse>, Status> {
        Err(unimplemented("NodeStageVolume"))
    }

    async fn node_unstage_volume(
        &self,
        _request: Request<NodeUnstageVolumeRequest>,
    ) -> Result<Response<NodeUnstageVolumeResponse>, Status> {
        Err(unimplemented("NodeUnstageVolume"))
    }

    async fn node_publish_volume(
        &self,
        request: Request<NodePublishVolumeRequest>,
    ) -> Result<Response<NodePublishVolumeResponse>, Status> {
        let started = std::time::Instant::now();
        let request = request.into_inner();
        let span = tracing::info_span!("publish", volume = %request.volume_id);
        async {
            // Debug: kubelet republishes every volume about once a minute;
            // outcomes are logged at info (first publishes) and warn.
            tracing::debug!(request = ?PublishRequestLog(&request), "NodePublishVolume");
            let service = self.clone();
            // Own task: kubelet timing out must not cut a publish in half.
            let outcome =
                tokio::spawn(async move { service.publish(request).await }.in_current_span())
                    .await
                    .unwrap_or_else(|e| Err(Error::Internal(format!("publish task failed: {e}"))));
            if let Err(error) = &outcome {
                tracing::warn!(error = %error, code = ?error.code(), "NodePublishVolume failed");
            }
            let metrics = crate::metrics::global();
            observe(
                &metrics.publishes,
                &metrics.publish_seconds,
                &outcome,
                started,
            );
            outcome
                .map(|()| Response::new(NodePublishVolumeResponse {}))
                .map_err(Status::from)
        }
        .instrument(span)
        .await
    }

    async fn node_unpublish_volume(
        &self,
        request: Request<NodeUnpublishVolumeRequest>,
    ) -> Result<Response<NodeUnpublishVolumeResponse>, Status> {
        let started = std::time::Instant::now();
        let request = request.into_inner();
        let span = tracing::info_span!("unpublish", volume = %request.volume_id);
        async {
            tracing::debug!(target_path = %request.target_path, "NodeUnpublishVolume");
            let service = self.clone();
            let outcome =
                tokio::spawn(async move { service.unpublish(request).await }.in_current_span())
                    .await
                    .unwrap_or_else(|e| {
                        Err(Error::Internal(format!("unpublish task failed: {e}")))
                    });
            if let Err(error) = &outcome {
                tracing::warn!(error = %error, code = ?error.code(), "NodeUnpublishVolume failed");
            }
            let metrics = crate::metrics::global();
            observe(
                &metrics.unpublishes,
                &metrics.unpublish_seconds,
                &outcome,
                started,
            );
            outcome
                .map(|()| Response::new(NodeUnpublishVolumeResponse {}))
                .map_err(Status::from)
        }
        .instrument(span)
        .await
    }

    async fn node_get_volume_stats(
        &self,
        request: Request<NodeGetVolumeStatsRequest>,
    ) -> Result<Response<NodeGetVolumeStatsResponse>, Status> {
        self.volume_stats(&request.into_inner())
            .map(Response::new)
            .map_err(Status::from)
    }

    async fn node_expand_volume(
        &self,
        _request: Request<NodeExpandVolumeRequest>,
    ) -> Result<Response<NodeExpandVolumeResponse>, Status> {
        Err(unimplemented("NodeExpandVolume"))
    }

    async fn node_get_capabilities(
        &self,
        _request: Request<NodeGetCapabilitiesRequest>,
    ) -> Result<Response<NodeGetCapabilitiesResponse>, Status> {
        let rpc = |kind: node_service_capability::rpc::Type| NodeServiceCapability {
            r#type: Some(node_service_capability::Type::Rpc(
                node_service_capability::Rpc {
                    r#type: kind as i32,
                },
            )),
        };
        Ok(Response::new(NodeGetCapabilitiesResponse {
            capabilities: vec![
                rpc(node_service_capability::rpc::Type::GetVolumeStats),
                rpc(node_service_capability::rpc::Type::VolumeCondition),
            ],
        }))
    }

    async fn node_get_info(
        &self,
        _request: Request<NodeGetInfoRequest>,
    ) -> Result<Response<NodeGetInfoResponse>, Status> {
        Ok(Response::new(NodeGetInfoResponse {
            node_id: self.config.node_id.clone(),
            max_volumes_per_node: 0,
            accessible_topology: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csi::proto::{VolumeCapability, volume_capability};

    fn valid() -> NodePublishVolumeRequest {
        NodePublishVolumeRequest {
            volume_id: "csi-abc".into(),
            target_path: "/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/v/mount".into(),
            volume_capability: Some(VolumeCapability {
                access_type: Some(AccessType::Mount(volume_capability::MountVolume::default())),
                access_mode: None,
            }),
            readonly: true,
            ..Default::default()
        }
    }

    fn message(request: &NodePublishVolumeRequest) -> String {
        check_publish(request).unwrap_err().to_string()
    }

    #[test]
    fn a_complete_read_only_mount_request_passes() {
        assert!(check_publish(&valid()).is_ok());
    }

    #[test]
    fn missing_fields_are_named() {
        let mut r = valid();
        r.volume_id.clear();
        assert!(message(&r).contains("volume_id"));
        let mut r = valid();
        r.target_path.clear();
        assert!(message(&r).contains("target_path"));
        let mut r = valid();
        r.volume_capability = None;
        assert!(message(&r).contains("volume_capability"));
    }

    #[test]
    fn block_access_is_refused() {
        let mut r = valid();
        r.volume_capability = Some(VolumeCapability {
            access_type: Some(AccessType::Block(volume_capability::BlockVolume {})),
            access_mode: None,
        });
        assert!(message(&r).contains("block"));
    }

    #[test]
    fn writable_requests_are_refused() {
        let mut r = valid();
        r.readonly = false;
        assert!(message(&r).contains("readonly"));
    }

    #[test]
    fn overlong_volume_ids_are_refused() {
        let mut r = valid();
        r.volume_id = "x".repeat(129);
        assert!(message(&r).contains("128"));
    }
}
