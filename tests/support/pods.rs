//! Pods as the API server returns them, and the NodePublishVolume request
//! kubelet sends for their inline CSI volume.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use vault_csi_driver::csi::proto::{
    NodePublishVolumeRequest, NodeUnpublishVolumeRequest, VolumeCapability, volume_capability,
};

use super::driver::Driver;
use super::jwt::PodIdentity;
use super::{Fixture, unique};

/// The driver name tests run the driver under (its default).
pub(crate) const DRIVER_NAME: &str = "vault-csi-driver";
/// The Pod spec's volume name in [`pod_json`].
pub(crate) const VOLUME: &str = "vault-secrets";
/// Where kubelet passes ServiceAccount tokens.
pub(crate) const TOKENS_KEY: &str = "csi.storage.k8s.io/serviceAccount.tokens";

/// A Pod with one container mounting [`VOLUME`] at `/vault/secrets`, and
/// `vault.hashicorp.com/` + each annotation key (a key with a `/` as written).
pub(crate) fn pod_json(id: &PodIdentity, annotations: &[(&str, &str)]) -> Value {
    let annotations: serde_json::Map<String, Value> = annotations
        .iter()
        .map(|(k, v)| {
            let key = if k.contains('/') {
                (*k).to_string()
            } else {
                format!("vault.hashicorp.com/{k}")
            };
            (key, Value::String(v.to_string()))
        })
        .collect();
    json!({
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": id.pod_name,
            "namespace": id.namespace,
            "uid": id.pod_uid,
            "resourceVersion": "4711",
            "creationTimestamp": "2026-11-28T12:00:00Z",
            "labels": {"app": "web"},
            "annotations": annotations,
        },
        "spec": {
            "serviceAccountName": id.service_account,
            "nodeName": super::kube_api::NODE_NAME,
            "containers": [{
                "name": "app",
                "image": "registry.example/app:1",
                "securityContext": {"runAsUser": 1234, "runAsGroup": 4321},
                "volumeMounts": [
                    {"name": VOLUME, "mountPath": "/vault/secrets", "readOnly": true},
                    {"name": "kube-api-access-x", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}
                ]
            }],
            "volumes": [
                {"name": VOLUME, "csi": {"driver": DRIVER_NAME, "readOnly": true}},
                {"name": "kube-api-access-x", "projected": {"sources": []}}
            ],
            "restartPolicy": "Always",
        },
        "status": {"phase": "Pending"},
    })
}

/// One Pod with a role that may read some paths, registered with the stand-in.
pub(crate) struct TestPod {
    /// Its identity (namespace, ServiceAccount, name, uid).
    pub id: PodIdentity,
    /// The Vault role bound to its ServiceAccount.
    pub role: String,
}

impl TestPod {
    /// A Pod whose kubernetes-auth role may read `paths`.
    pub(crate) fn kubernetes(fixture: &Fixture, paths: &[&str]) -> TestPod {
        let (id, role) = fixture.kube_identity(paths);
        TestPod { id, role }
    }

    /// A Pod whose jwt-auth role may read `paths`.
    pub(crate) fn jwt(fixture: &Fixture, paths: &[&str]) -> TestPod {
        let (id, role) = fixture.jwt_identity(paths);
        TestPod { id, role }
    }

    /// Another Pod of the same identity (a Deployment's next replica): the
    /// same ServiceAccount and role, its name with `suffix`, a new uid.
    pub(crate) fn replica(&self, suffix: &str) -> TestPod {
        let mut id = self.id.clone();
        id.pod_name = format!("{}-{suffix}", self.id.pod_name);
        id.pod_uid = super::jwt::new_uid();
        TestPod {
            id,
            role: self.role.clone(),
        }
    }

    /// Registers the Pod with `agent-inject: "true"`, its role, and `annotations`.
    pub(crate) fn register(&self, fixture: &Fixture, annotations: &[(&str, &str)]) {
        let mut all = vec![("agent-inject", "true"), ("role", self.role.as_str())];
        all.extend_from_slice(annotations);
        fixture.kube.put_pod(pod_json(&self.id, &all));
    }

    /// Like [`TestPod::register`], for a Pod scheduled to `node`.
    pub(crate) fn register_on(&self, fixture: &Fixture, node: &str, annotations: &[(&str, &str)]) {
        let mut all = vec![("agent-inject", "true"), ("role", self.role.as_str())];
        all.extend_from_slice(annotations);
        let mut pod = pod_json(&self.id, &all);
        pod["spec"]["nodeName"] = Value::String(node.to_string());
        fixture.kube.put_pod(pod);
    }

    /// A fresh projected token for audience `vault`.
    pub(crate) fn token(&self, fixture: &Fixture) -> String {
        fixture
            .kube
            .mint(&self.id, "vault", Duration::from_secs(3600))
    }

    /// The target path of volume `volume` of this Pod on `driver`'s node.
    pub(crate) fn target(&self, driver: &Driver, volume: &str) -> PathBuf {
        driver.target(&self.id.pod_uid, volume)
    }

    /// The request kubelet sends for volume `volume`, carrying `jwt`.
    pub(crate) fn publish_request(
        &self,
        driver: &Driver,
        volume: &str,
        jwt: &str,
    ) -> NodePublishVolumeRequest {
        let tokens =
            json!({"vault": {"token": jwt, "expirationTimestamp": "2026-11-28T23:00:00Z"}});
        let context: HashMap<String, String> = [
            ("csi.storage.k8s.io/pod.name", self.id.pod_name.as_str()),
            (
                "csi.storage.k8s.io/pod.namespace",
                self.id.namespace.as_str(),
            ),
            ("csi.storage.k8s.io/pod.uid", self.id.pod_uid.as_str()),
            (
                "csi.storage.k8s.io/serviceAccount.name",
                self.id.service_account.as_str(),
            ),
            ("csi.storage.k8s.io/ephemeral", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([(TOKENS_KEY.to_string(), tokens.to_string())])
        .collect();
        NodePublishVolumeRequest {
            volume_id: format!("csi-{}-{volume}", self.id.pod_uid),
            target_path: self.target(driver, volume).display().to_string(),
            volume_capability: Some(VolumeCapability {
                access_type: Some(volume_capability::AccessType::Mount(
                    volume_capability::MountVolume::default(),
                )),
                access_mode: Some(volume_capability::AccessMode {
                    mode: volume_capability::access_mode::Mode::SingleNodeWriter as i32,
                }),
            }),
            readonly: true,
            volume_context: context,
            ..Default::default()
        }
    }

    /// Sends the publish request for `volume` to `driver`.
    pub(crate) async fn publish(
        &self,
        driver: &Driver,
        volume: &str,
        jwt: &str,
    ) -> Result<(), tonic::Status> {
        let request = self.publish_request(driver, volume, jwt);
        driver
            .node()
            .await
            .node_publish_volume(request)
            .await
            .map(drop)
    }

    /// The matching unpublish request.
    pub(crate) fn unpublish_request(
        &self,
        driver: &Driver,
        volume: &str,
    ) -> NodeUnpublishVolumeRequest {
        NodeUnpublishVolumeRequest {
            volume_id: format!("csi-{}-{volume}", self.id.pod_uid),
            target_path: self.target(driver, volume).display().to_string(),
        }
    }
}

/// A fresh KV v2 mount holding `data` at `key`; returns `(mount, key)`.
pub(crate) fn kv2_secret(fixture: &Fixture, data: Value) -> (String, String) {
    let mount = unique("kv2");
    fixture.bao.enable_kv(&mount, 2);
    fixture.bao.write_kv2(&mount, "app/config", data);
    (mount, "app/config".to_string())
}

/// A fresh KV v1 mount holding the raw JSON `data` at `key`; returns the path.
pub(crate) fn kv1_secret(fixture: &Fixture, data: Value) -> String {
    let mount = unique("kv1");
    fixture.bao.enable_kv(&mount, 1);
    let path = format!("{mount}/app/config");
    fixture.bao.write_kv1(&path, data);
    path
}
