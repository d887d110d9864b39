//! The driver's Kubernetes API client on kube-rs: read a Pod, post an Event,
//! follow the node's Pods. In-cluster settings by default, overridable for
//! running outside a cluster.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ::kube::api::{Api, Patch, PatchParams, PostParams};
use ::kube::runtime::watcher;
use clap::Args;
use futures_util::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

use crate::pod::Pod;

const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
const COMPONENT: &str = "vault-csi-driver";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on one request, retries of 429/503/504 included (the watch has its own).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one watch request runs before it is renewed.
const WATCH_TIMEOUT_SECS: u32 = 300;

/// Flags for reaching the API server (defaults: the in-cluster settings).
#[derive(Debug, Clone, Args)]
pub struct KubeArgs {
    /// API server URL; default `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`.
    #[arg(long, env = "KUBE_API_URL")]
    pub kube_api_url: Option<String>,
    /// CA bundle that signs the API server's certificate (re-read about every minute); default the ServiceAccount's `ca.crt`.
    #[arg(long, env = "KUBE_CA_FILE")]
    pub kube_ca_file: Option<PathBuf>,
    /// Bearer token file of the driver's own ServiceAccount (re-read about every minute, as kubelet rotates it); default the ServiceAccount's `token`.
    #[arg(long, env = "KUBE_TOKEN_FILE")]
    pub kube_token_file: Option<PathBuf>,
}

/// Errors talking to the API server.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No API server address could be worked out.
    #[error("no Kubernetes API server configured: set --kube-api-url or run in a cluster")]
    NotConfigured,
    /// A setting (CA file, URL, token file) is unusable.
    #[error("Kubernetes client settings: {0}")]
    Settings(String),
    /// The Pod does not exist.
    #[error("pod {namespace}/{name} not found")]
    PodNotFound {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// The ConfigMap does not exist.
    #[error("configmap {namespace}/{name} not found")]
    ConfigMapNotFound {
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
    },
    /// The API server refused the driver's own credentials.
    #[error(
        "the API server refused the driver's credentials ({status}) for {what}: check the driver's ServiceAccount and RBAC"
    )]
    Refused {
        /// HTTP status.
        status: u16,
        /// What was asked.
        what: String,
    },
    /// The API server could not be reached or failed.
    #[error("Kubernetes API server unavailable for {what}: {reason}")]
    Unavailable {
        /// What was asked.
        what: String,
        /// Why.
        reason: String,
    },
    /// The API server answered something that is not what was asked for.
    #[error("unexpected answer from the API server for {what}: {reason}")]
    BadResponse {
        /// What was asked.
        what: String,
        /// Why it could not be used.
        reason: String,
    },
}

/// A Kubernetes `Event` about a Pod, as the driver posts it.
#[derive(Debug, Clone)]
pub struct PodEvent {
    /// `Normal` or `Warning`.
    pub kind: &'static str,
    /// CamelCase reason, e.g. `IgnoredAnnotation`.
    pub reason: String,
    /// What a person reads in `kubectl describe pod`.
    pub message: String,
}

/// One change to the node's Pods.
#[derive(Debug)]
pub enum PodChange {
    /// A complete list of the node's Pods: it replaces whatever was held.
    Listed(Vec<Pod>),
    /// The Pod was added or modified: this is its state now.
    Applied(Box<Pod>),
    /// The Pod was deleted; this was its last state.
    Deleted(Box<Pod>),
    /// The watch cannot resume (410 Gone): a fresh list follows.
    Expired,
}

/// The driver's API server client; cheap to clone.
#[derive(Clone)]
pub struct KubeClient {
    client: ::kube::Client,
    url: String,
    reporting_instance: String,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient")
            .field("url", &self.url)
            .field("reporting_instance", &self.reporting_instance)
            .finish_non_exhaustive()
    }
}

impl KubeClient {
    /// Builds a client from flags, falling back to the in-cluster settings.
    /// Needs a Tokio runtime (kube's client starts a task).
    pub fn new(args: &KubeArgs, node_id: &str) -> Result<Self, KubeError> {
        let url = match &args.kube_api_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => in_cluster_url().ok_or(KubeError::NotConfigured)?,
        };
        let mut config = ::kube::Config::new(
            url.parse()
                .map_err(|e| KubeError::Settings(format!("API server URL {url:?}: {e}")))?,
        );
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        let default_dir = Path::new(SERVICE_ACCOUNT_DIR);
        let ca_file = args
            .kube_ca_file
            .clone()
            .or_else(|| Some(default_dir.join("ca.crt")).filter(|p| p.exists()));
        if let Some(ca_file) = ca_file {
            let unusable = |e: String| KubeError::Settings(format!("{}: {e}", ca_file.display()));
            let pem = std::fs::read(&ca_file).map_err(|e| unusable(e.to_string()))?;
            config.root_cert = Some(pem_certificates(&pem).map_err(unusable)?);
            config.root_cert_file = Some(ca_file);
        }
        let token_file = args
            .kube_token_file
            .clone()
            .or_else(|| Some(default_dir.join("token")).filter(|p| p.exists()));
        config.auth_info.token_file = token_file.map(|p| p.to_string_lossy().into_owned());
        let client =
            ::kube::Client::try_from(config).map_err(|e| KubeError::Settings(e.to_string()))?;
        Ok(Self {
            client,
            url,
            reporting_instance: node_id.to_string(),
        })
    }

    /// `GET /api/v1/namespaces/{namespace}/pods/{name}`.
    pub async fn get_pod(&self, namespace: &str, name: &str) -> Result<Pod, KubeError> {
        let what = format!("pod {namespace}/{name}");
        let pods: Api<NodePod> = Api::namespaced(self.client.clone(), &path_segment(namespace));
        let pod = bounded(&what, pods.get_opt(&path_segment(name))).await?;
        pod.map(|pod| pod.pod)
            .ok_or_else(|| KubeError::PodNotFound {
                namespace: namespace.to_string(),
                name: name.to_string(),
            })
    }

    /// `GET /api/v1/namespaces/{namespace}/configmaps/{name}`: its `data`.
    pub async fn get_config_map(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, KubeError> {
        let what = format!("configmap {namespace}/{name}");
        let maps: Api<ConfigMap> = Api::namespaced(self.client.clone(), &path_segment(namespace));
        let map = bounded(&what, maps.get_opt(&path_segment(name))).await?;
        map.map(|map| map.data.unwrap_or_default())
            .ok_or_else(|| KubeError::ConfigMapNotFound {
                namespace: namespace.to_string(),
                name: name.to_string(),
            })
    }

    /// Posts an Event on the Pod (`core/v1`), attributed to this driver and
    /// node; returns the Event's name.
    pub async fn post_event(&self, pod: &Pod, event: &PodEvent) -> Result<String, KubeError> {
        let namespace = &pod.metadata.namespace;
        let what = format!("event on pod {namespace}/{}", pod.metadata.name);
        let now = Time(Timestamp::now());
        let body = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!("{}.", pod.metadata.name)),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(pod.metadata.name.clone()),
                namespace: Some(namespace.clone()),
                uid: Some(pod.metadata.uid.clone()),
                ..ObjectReference::default()
            },
            type_: Some(event.kind.into()),
            reason: Some(event.reason.clone()),
            message: Some(event.message.clone()),
            source: Some(EventSource {
                component: Some(COMPONENT.into()),
                host: Some(self.reporting_instance.clone()),
            }),
            reporting_component: Some(COMPONENT.into()),
            reporting_instance: Some(self.reporting_instance.clone()),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            count: Some(1),
            ..Event::default()
        };
        let events: Api<Event> = Api::namespaced(self.client.clone(), &path_segment(namespace));
        let created = bounded(&what, events.create(&PostParams::default(), &body)).await?;
        Ok(created.metadata.name.unwrap_or_default())
    }

    /// Bumps `count` and `lastTimestamp` of an Event posted before.
    pub async fn patch_event_count(
        &self,
        namespace: &str,
        name: &str,
        count: u32,
    ) -> Result<(), KubeError> {
        let what = format!("event {namespace}/{name}");
        let patch = Patch::Merge(serde_json::json!({
            "count": count,
            "lastTimestamp": Time(Timestamp::now()),
        }));
        let events: Api<Event> = Api::namespaced(self.client.clone(), &path_segment(namespace));
        let (name, params) = (path_segment(name), PatchParams::default());
        bounded(&what, events.patch(&name, &params, &patch))
            .await
            .map(drop)
    }

    /// The Pods on `node` (`spec.nodeName`), followed: a complete list first,
    /// then each change as it happens. A watch the API server ends is
    /// resumed; one it cannot resume is followed by a fresh list. Errors
    /// are yielded as they happen; polling on resumes where it can.
    pub fn watch_node_pods(
        &self,
        node: &str,
    ) -> impl Stream<Item = Result<PodChange, KubeError>> + Send + 'static {
        let what = format!("watch of pods on node {node}");
        let config = watcher::Config::default()
            .fields(&format!("spec.nodeName={node}"))
            .timeout(WATCH_TIMEOUT_SECS);
        let mut listing: Vec<Pod> = Vec::new();
        watcher(Api::<NodePod>::all(self.client.clone()), config).filter_map(move |event| {
            let change = match event {
                Ok(watcher::Event::Init) => {
                    listing.clear();
                    None
                }
                Ok(watcher::Event::InitApply(pod)) => {
                    listing.push(pod.pod);
                    None
                }
                Ok(watcher::Event::InitDone) => {
                    Some(Ok(PodChange::Listed(std::mem::take(&mut listing))))
                }
                Ok(watcher::Event::Apply(pod)) => Some(Ok(PodChange::Applied(Box::new(pod.pod)))),
                Ok(watcher::Event::Delete(pod)) => Some(Ok(PodChange::Deleted(Box::new(pod.pod)))),
                Err(watcher::Error::WatchError(status)) if status.code == 410 => {
                    Some(Ok(PodChange::Expired))
                }
                Err(error) => {
                    listing = Vec::new();
                    Some(Err(watch_error(&what, error)))
                }
            };
            std::future::ready(change)
        })
    }
}

/// A Pod as list, watch and GET return it: the lean [`Pod`], and the
/// metadata kube's watcher reads (only `resourceVersion`).
#[derive(Debug, Clone)]
struct NodePod {
    meta: ObjectMeta,
    pod: Pod,
}

impl<'de> serde::Deserialize<'de> for NodePod {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pod = Pod::deserialize(deserializer)?;
        let meta = ObjectMeta {
            resource_version: Some(pod.metadata.resource_version.clone()),
            ..ObjectMeta::default()
        };
        Ok(Self { meta, pod })
    }
}

type CorePod = k8s_openapi::api::core::v1::Pod;

impl ::kube::Resource for NodePod {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        <CorePod as k8s_openapi::Resource>::KIND.into()
    }

    fn group(_: &()) -> Cow<'_, str> {
        <CorePod as k8s_openapi::Resource>::GROUP.into()
    }

    fn version(_: &()) -> Cow<'_, str> {
        <CorePod as k8s_openapi::Resource>::VERSION.into()
    }

    fn plural(_: &()) -> Cow<'_, str> {
        <CorePod as k8s_openapi::Resource>::URL_PATH_SEGMENT.into()
    }

    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.meta
    }
}

/// `request`, given up after [`REQUEST_TIMEOUT`]: kube's client sets no
/// overall timeout, and a publish must not wait on a silent API server.
async fn bounded<T>(
    what: &str,
    request: impl Future<Output = Result<T, ::kube::Error>>,
) -> Result<T, KubeError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, request).await {
        Ok(result) => result.map_err(|error| kube_error(what.to_string(), error)),
        Err(_) => Err(KubeError::Unavailable {
            what: what.to_string(),
            reason: "timed out".into(),
        }),
    }
}

fn kube_error(what: String, error: ::kube::Error) -> KubeError {
    match error {
        ::kube::Error::Api(status) if matches!(status.code, 401 | 403) => KubeError::Refused {
            status: status.code,
            what,
        },
        ::kube::Error::Api(status) => KubeError::Unavailable {
            what,
            reason: format!("HTTP {}: {}", status.code, status.message),
        },
        ::kube::Error::SerdeError(error) => KubeError::BadResponse {
            what,
            reason: error.to_string(),
        },
        other => KubeError::Unavailable {
            what,
            reason: transport_reason(&other),
        },
    }
}

fn watch_error(what: &str, error: watcher::Error) -> KubeError {
    let what = what.to_string();
    match error {
        watcher::Error::InitialListFailed(error)
        | watcher::Error::WatchStartFailed(error)
        | watcher::Error::WatchFailed(error) => kube_error(what, error),
        watcher::Error::WatchError(status) => KubeError::Unavailable {
            what,
            reason: format!("HTTP {}: {}", status.code, status.message),
        },
        error @ watcher::Error::NoResourceVersion => KubeError::BadResponse {
            what,
            reason: error.to_string(),
        },
    }
}

/// A short reason for a failure below HTTP: the I/O error at the bottom of
/// the chain says more than the layers of client wrappers above it.
fn transport_reason(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::TimedOut => "timed out".to_string(),
                _ => format!("connection failed ({io})"),
            };
        }
        cause = current.source();
    }
    error.to_string()
}

/// The DER certificates of a PEM bundle.
fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem)
        .map(|cert| cert.map(|der| der.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate in the file".into());
    }
    Ok(certs)
}

fn in_cluster_url() -> Option<String> {
    let host = std::env::var("KUBERNETES_SERVICE_HOST").ok()?;
    let port = std::env::var("KUBERNETES_SERVICE_PORT").ok()?;
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    Some(format!("https://{host}:{port}"))
}

/// Names and namespaces are DNS labels/subdomains, but the values come from
/// kubelet's request and kube's client puts them in the path as they are:
/// keep anything else from reshaping the URL.
fn path_segment(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '.' | '_' => c.to_string(),
            other => {
                let mut buf = [0u8; 4];
                other
                    .encode_utf8(&mut buf)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_cannot_add_path_parts() {
        assert_eq!(path_segment("web-0"), "web-0");
        assert_eq!(path_segment("../x"), "..%2Fx");
        assert_eq!(path_segment("a?b"), "a%3Fb");
    }

    #[test]
    fn a_watched_pod_carries_its_resource_version_for_the_watcher() {
        use ::kube::ResourceExt;
        let pod: NodePod = serde_json::from_str(
            r#"{"metadata": {"name": "web", "namespace": "ns", "uid": "u", "resourceVersion": "42"}}"#,
        )
        .unwrap();
        assert_eq!(pod.resource_version().as_deref(), Some("42"));
        assert_eq!(pod.pod.metadata.uid, "u");
    }

    #[test]
    fn a_pod_is_addressed_as_core_v1_pods() {
        use ::kube::Resource;
        assert_eq!(
            NodePod::url_path(&(), Some("ns")),
            "/api/v1/namespaces/ns/pods"
        );
        assert_eq!(NodePod::api_version(&()), "v1");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        assert!(pem_certificates(b"not a certificate").is_err());
    }

    #[test]
    fn io_failures_name_the_connection() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(transport_reason(&refused).starts_with("connection failed"));
        let slow = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(transport_reason(&slow), "timed out");
    }
}
