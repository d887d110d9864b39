//! The part of a Kubernetes `v1.Pod` the driver reads, as the API server returns it.
//!
//! Only the fields the driver needs are declared; everything else in the JSON is
//! ignored. Absent or `null` lists, maps and strings become empty, so code that
//! walks a Pod never has to tell "missing" from "empty".

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// A Pod, reduced to metadata and the parts of its spec the driver uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Pod {
    /// Name, namespace, uid and annotations.
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: ObjectMeta,
    /// Containers, volumes and security context.
    #[serde(deserialize_with = "null_as_default")]
    pub spec: PodSpec,
}

impl Pod {
    /// Parses a Pod from the JSON body of `GET /api/v1/namespaces/{ns}/pods/{name}`.
    ///
    /// # Errors
    ///
    /// The body is not JSON, or a field the driver reads has the wrong type.
    pub fn from_json(body: &[u8]) -> Result<Pod, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// The Pod's annotations (empty when it has none).
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.metadata.annotations
    }
}

/// `metadata` of a Pod.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectMeta {
    /// `metadata.name`.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// `metadata.namespace`.
    #[serde(deserialize_with = "null_as_default")]
    pub namespace: String,
    /// `metadata.uid`, compared with the uid kubelet puts in the request.
    #[serde(deserialize_with = "null_as_default")]
    pub uid: String,
    /// `metadata.resourceVersion`: where a watch of the Pod resumes.
    #[serde(deserialize_with = "null_as_default")]
    pub resource_version: String,
    /// `metadata.annotations`; sorted so that everything derived from them is
    /// deterministic.
    #[serde(deserialize_with = "null_as_default")]
    pub annotations: BTreeMap<String, String>,
}

/// `spec` of a Pod.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSpec {
    /// `spec.serviceAccountName`.
    #[serde(deserialize_with = "null_as_default")]
    pub service_account_name: String,
    /// `spec.containers`, the app containers in declaration order.
    #[serde(deserialize_with = "null_as_default")]
    pub containers: Vec<Container>,
    /// `spec.initContainers`.
    #[serde(deserialize_with = "null_as_default")]
    pub init_containers: Vec<Container>,
    /// `spec.volumes`.
    #[serde(deserialize_with = "null_as_default")]
    pub volumes: Vec<Volume>,
    /// `spec.securityContext`, the Pod-wide defaults for its containers.
    pub security_context: Option<SecurityContext>,
}

impl PodSpec {
    /// Init containers first, then app containers: every container that can
    /// mount a volume.
    pub fn all_containers(&self) -> impl Iterator<Item = &Container> {
        self.init_containers.iter().chain(self.containers.iter())
    }

    /// The volume called `name`, if the Pod declares one.
    pub fn volume(&self, name: &str) -> Option<&Volume> {
        self.volumes.iter().find(|v| v.name == name)
    }
}

/// One container (app or init) of a Pod.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Container {
    /// `name`.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// `volumeMounts`.
    #[serde(deserialize_with = "null_as_default")]
    pub volume_mounts: Vec<VolumeMount>,
    /// `securityContext`; overrides the Pod's for this container.
    pub security_context: Option<SecurityContext>,
}

/// One entry of a container's `volumeMounts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VolumeMount {
    /// Name of the Pod volume mounted here.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// Where the volume appears inside the container.
    #[serde(deserialize_with = "null_as_default")]
    pub mount_path: String,
    /// Whether the container sees it read-only.
    #[serde(deserialize_with = "null_as_default")]
    pub read_only: bool,
}

/// The user and group fields of a Pod's or a container's `securityContext`.
///
/// Kubernetes types them as int64, so negative values survive parsing and are
/// judged by whoever uses them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityContext {
    /// `runAsUser`.
    pub run_as_user: Option<i64>,
    /// `runAsGroup`.
    pub run_as_group: Option<i64>,
    /// `fsGroup` (Pod level only): the group kubelet gives the Pod's volumes.
    pub fs_group: Option<i64>,
}

/// One entry of `spec.volumes`; only CSI volumes carry a source here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Volume {
    /// Volume name, referenced by `volumeMounts[].name`.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// Set when the volume is an inline CSI volume.
    pub csi: Option<CsiVolumeSource>,
}

/// `csi` source of an inline ephemeral volume.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CsiVolumeSource {
    /// Name of the CSI driver that serves the volume.
    #[serde(deserialize_with = "null_as_default")]
    pub driver: String,
    /// `readOnly` as the Pod author wrote it (absent means false).
    #[serde(deserialize_with = "null_as_default")]
    pub read_only: bool,
    /// Free-form attributes written by the Pod author: never trusted for identity.
    #[serde(deserialize_with = "null_as_default")]
    pub volume_attributes: BTreeMap<String, String>,
}

/// Reads `null` as the type's default, as Go's decoder does for these fields.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Pod as `kubectl get pod -o json` shows it: managed fields, status,
    /// probes, env, projected token volumes and other fields the driver ignores.
    const API_SERVER_POD: &str = r#"{
      "kind": "Pod",
      "apiVersion": "v1",
      "metadata": {
        "name": "web-7d9c6b5f4-x2k8q",
        "generateName": "web-7d9c6b5f4-",
        "namespace": "shop",
        "uid": "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
        "resourceVersion": "918273",
        "creationTimestamp": "2026-01-12T09:14:03Z",
        "labels": { "app": "web", "pod-template-hash": "7d9c6b5f4" },
        "annotations": {
          "vault.hashicorp.com/agent-inject": "true",
          "vault.hashicorp.com/role": "web",
          "vault.hashicorp.com/agent-inject-secret-db": "database/creds/web",
          "kubectl.kubernetes.io/restartedAt": "2026-01-12T09:13:59Z"
        },
        "ownerReferences": [{
          "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9c6b5f4",
          "uid": "0a1b2c3d-0000-4000-8000-000000000001", "controller": true,
          "blockOwnerDeletion": true
        }],
        "managedFields": [{
          "manager": "kube-controller-manager", "operation": "Update",
          "apiVersion": "v1", "time": "2026-01-12T09:14:03Z",
          "fieldsType": "FieldsV1", "fieldsV1": { "f:metadata": {} }
        }]
      },
      "spec": {
        "volumes": [
          {
            "name": "vault-secrets",
            "csi": {
              "driver": "vault.csi.example.com",
              "readOnly": true,
              "volumeAttributes": { "note": "anything" }
            }
          },
          {
            "name": "kube-api-access-abcde",
            "projected": {
              "sources": [
                { "serviceAccountToken": { "expirationSeconds": 3607, "path": "token" } },
                { "configMap": { "name": "kube-root-ca.crt",
                  "items": [{ "key": "ca.crt", "path": "ca.crt" }] } }
              ],
              "defaultMode": 420
            }
          },
          { "name": "scratch", "emptyDir": {} }
        ],
        "initContainers": [{
          "name": "migrate",
          "image": "registry.example.com/web:1.4.2",
          "command": ["/bin/migrate"],
          "volumeMounts": [
            { "name": "vault-secrets", "mountPath": "/vault/secrets", "readOnly": true }
          ],
          "terminationMessagePath": "/dev/termination-log",
          "imagePullPolicy": "IfNotPresent"
        }],
        "containers": [
          {
            "name": "web",
            "image": "registry.example.com/web:1.4.2",
            "ports": [{ "name": "http", "containerPort": 8080, "protocol": "TCP" }],
            "env": [{ "name": "POD_NAME",
              "valueFrom": { "fieldRef": { "apiVersion": "v1", "fieldPath": "metadata.name" } } }],
            "resources": { "limits": { "memory": "256Mi" }, "requests": { "cpu": "100m" } },
            "volumeMounts": [
              { "name": "vault-secrets", "mountPath": "/vault/secrets", "readOnly": true },
              { "name": "kube-api-access-abcde", "readOnly": true,
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount" }
            ],
            "livenessProbe": { "httpGet": { "path": "/healthz", "port": 8080, "scheme": "HTTP" } },
            "securityContext": {
              "runAsUser": 1001,
              "runAsNonRoot": true,
              "allowPrivilegeEscalation": false,
              "capabilities": { "drop": ["ALL"] }
            }
          },
          { "name": "log-shipper", "image": "registry.example.com/shipper:2", "resources": {} }
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "web",
        "serviceAccount": "web",
        "nodeName": "node-3",
        "securityContext": { "runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000 },
        "schedulerName": "default-scheduler",
        "tolerations": [{ "key": "node.kubernetes.io/not-ready", "operator": "Exists",
          "effect": "NoExecute", "tolerationSeconds": 300 }],
        "priority": 0,
        "enableServiceLinks": true,
        "preemptionPolicy": "PreemptLowerPriority"
      },
      "status": {
        "phase": "Pending",
        "conditions": [{ "type": "PodScheduled", "status": "True",
          "lastProbeTime": null, "lastTransitionTime": "2026-01-12T09:14:03Z" }],
        "hostIP": "10.0.0.13",
        "podIP": "10.244.3.17",
        "qosClass": "Burstable"
      }
    }"#;

    fn parsed() -> Pod {
        Pod::from_json(API_SERVER_POD.as_bytes()).expect("realistic Pod JSON parses")
    }

    #[test]
    fn metadata_fields_are_read() {
        let pod = parsed();
        assert_eq!(pod.metadata.name, "web-7d9c6b5f4-x2k8q");
        assert_eq!(pod.metadata.namespace, "shop");
        assert_eq!(pod.metadata.uid, "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b");
        assert_eq!(pod.metadata.resource_version, "918273");
        assert_eq!(pod.annotations().len(), 4);
        assert_eq!(
            pod.annotations()["vault.hashicorp.com/agent-inject-secret-db"],
            "database/creds/web"
        );
    }

    #[test]
    fn spec_fields_are_read() {
        let pod = parsed();
        assert_eq!(pod.spec.service_account_name, "web");
        assert_eq!(pod.spec.containers.len(), 2);
        assert_eq!(pod.spec.init_containers.len(), 1);
        assert_eq!(pod.spec.volumes.len(), 3);
        assert_eq!(
            pod.spec.security_context,
            Some(SecurityContext {
                run_as_user: Some(1000),
                run_as_group: Some(3000),
                fs_group: Some(2000)
            })
        );
    }

    #[test]
    fn container_mounts_and_security_context_are_read() {
        let pod = parsed();
        let web = &pod.spec.containers[0];
        assert_eq!(web.name, "web");
        assert_eq!(
            web.volume_mounts[0],
            VolumeMount {
                name: "vault-secrets".into(),
                mount_path: "/vault/secrets".into(),
                read_only: true
            }
        );
        assert_eq!(
            web.security_context,
            Some(SecurityContext {
                run_as_user: Some(1001),
                run_as_group: None,
                fs_group: None
            })
        );
        let shipper = &pod.spec.containers[1];
        assert!(shipper.volume_mounts.is_empty());
        assert_eq!(shipper.security_context, None);
    }

    #[test]
    fn csi_volume_source_is_read_and_other_sources_are_ignored() {
        let pod = parsed();
        let csi = pod
            .spec
            .volume("vault-secrets")
            .and_then(|v| v.csi.as_ref());
        let csi = csi.expect("csi source");
        assert_eq!(csi.driver, "vault.csi.example.com");
        assert!(csi.read_only);
        assert_eq!(csi.volume_attributes["note"], "anything");
        assert_eq!(pod.spec.volume("kube-api-access-abcde").unwrap().csi, None);
        assert_eq!(pod.spec.volume("missing"), None);
    }

    #[test]
    fn all_containers_lists_init_containers_first() {
        let pod = parsed();
        let names: Vec<&str> = pod.spec.all_containers().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["migrate", "web", "log-shipper"]);
    }

    #[test]
    fn absent_lists_and_maps_default_to_empty() {
        let pod =
            Pod::from_json(br#"{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c"}]}}"#)
                .unwrap();
        assert!(pod.annotations().is_empty());
        assert!(pod.spec.volumes.is_empty());
        assert!(pod.spec.init_containers.is_empty());
        assert!(pod.spec.containers[0].volume_mounts.is_empty());
        assert_eq!(pod.spec.security_context, None);
    }

    #[test]
    fn null_fields_read_as_empty() {
        let pod = Pod::from_json(
            br#"{"metadata":{"name":null,"annotations":null},
                 "spec":{"containers":null,"volumes":[{"name":"v","csi":{"driver":"d","volumeAttributes":null,"readOnly":null}}]}}"#,
        )
        .unwrap();
        assert_eq!(pod.metadata.name, "");
        assert!(pod.annotations().is_empty());
        assert!(pod.spec.containers.is_empty());
        let csi = pod.spec.volumes[0].csi.as_ref().unwrap();
        assert!(!csi.read_only);
        assert!(csi.volume_attributes.is_empty());
    }

    #[test]
    fn empty_object_is_an_empty_pod() {
        assert_eq!(Pod::from_json(b"{}").unwrap(), Pod::default());
    }

    #[test]
    fn malformed_json_is_an_error_not_a_panic() {
        assert!(Pod::from_json(b"{\"metadata\": [").is_err());
        assert!(Pod::from_json(br#"{"metadata":{"annotations":{"a":1}}}"#).is_err());
    }
}
