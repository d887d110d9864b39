//! A small Kubernetes API client: read a Pod, post an Event. In-cluster
//! settings by default, overridable for running outside a cluster.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use clap::Args;

use crate::pod::Pod;

const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Flags for reaching the API server (defaults: the in-cluster settings).
#[derive(Debug, Clone, Args)]
pub struct KubeArgs {
    /// API server URL; default `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`.
    #[arg(long, env = "KUBE_API_URL")]
    pub kube_api_url: Option<String>,
    /// CA bundle that signs the API server's certificate; default the ServiceAccount's `ca.crt`.
    #[arg(long, env = "KUBE_CA_FILE")]
    pub kube_ca_file: Option<PathBuf>,
    /// Bearer token file of the driver's own ServiceAccount (re-read when it changes); default the ServiceAccount's `token`.
    #[arg(long, env = "KUBE_TOKEN_FILE")]
    pub kube_token_file: Option<PathBuf>,
}

/// Errors talking to the API server.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No API server address could be worked out.
    #[error("no Kubernetes API server configured: set --kube-api-url or run in a cluster")]
    NotConfigured,
    /// A setting (CA file, URL) is unusable.
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
    /// The API server answered something that is not a Pod.
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

/// The driver's API server client; cheap to clone.
#[derive(Debug, Clone)]
pub struct KubeClient {
    base: String,
    http: reqwest::Client,
    token: std::sync::Arc<TokenFile>,
    reporting_instance: String,
}

impl KubeClient {
    /// Builds a client from flags, falling back to the in-cluster settings.
    pub fn new(args: &KubeArgs, node_id: &str) -> Result<Self, KubeError> {
        let base = match &args.kube_api_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => in_cluster_url().ok_or(KubeError::NotConfigured)?,
        };
        let default_dir = Path::new(SERVICE_ACCOUNT_DIR);
        let ca_file = args
            .kube_ca_file
            .clone()
            .or_else(|| Some(default_dir.join("ca.crt")).filter(|p| p.exists()));
        let token_file = args
            .kube_token_file
            .clone()
            .or_else(|| Some(default_dir.join("token")).filter(|p| p.exists()));
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .tcp_nodelay(true);
        if let Some(ca_file) = &ca_file {
            let pem = std::fs::read(ca_file)
                .map_err(|e| KubeError::Settings(format!("{}: {e}", ca_file.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| KubeError::Settings(format!("{}: {e}", ca_file.display())))?;
            builder = builder.tls_certs_only(certs);
        }
        let http = builder
            .build()
            .map_err(|e| KubeError::Settings(e.to_string()))?;
        Ok(Self {
            base,
            http,
            token: std::sync::Arc::new(TokenFile::new(token_file)),
            reporting_instance: node_id.to_string(),
        })
    }

    /// `GET /api/v1/namespaces/{namespace}/pods/{name}`.
    pub async fn get_pod(&self, namespace: &str, name: &str) -> Result<Pod, KubeError> {
        let what = format!("pod {namespace}/{name}");
        let url = format!(
            "{}/api/v1/namespaces/{}/pods/{}",
            self.base,
            path_segment(namespace),
            path_segment(name)
        );
        let response = self
            .authorized(self.http.get(url))
            .send()
            .await
            .map_err(|e| unavailable(&what, &e))?;
        match response.status().as_u16() {
            200 => {
                let body = response.bytes().await.map_err(|e| unavailable(&what, &e))?;
                Pod::from_json(&body).map_err(|e| KubeError::BadResponse {
                    what,
                    reason: e.to_string(),
                })
            }
            404 => Err(KubeError::PodNotFound {
                namespace: namespace.to_string(),
                name: name.to_string(),
            }),
            status @ (401 | 403) => Err(KubeError::Refused { status, what }),
            status => Err(KubeError::Unavailable {
                what,
                reason: format!("HTTP {status}"),
            }),
        }
    }

    /// `GET /api/v1/namespaces/{namespace}/configmaps/{name}`: its `data`.
    pub async fn get_config_map(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, KubeError> {
        #[derive(serde::Deserialize)]
        struct ConfigMap {
            #[serde(default)]
            data: Option<std::collections::BTreeMap<String, String>>,
        }
        let what = format!("configmap {namespace}/{name}");
        let url = format!(
            "{}/api/v1/namespaces/{}/configmaps/{}",
            self.base,
            path_segment(namespace),
            path_segment(name)
        );
        let response = self
            .authorized(self.http.get(url))
            .send()
            .await
            .map_err(|e| unavailable(&what, &e))?;
        match response.status().as_u16() {
            200 => {
                let body = response.bytes().await.map_err(|e| unavailable(&what, &e))?;
                let map: ConfigMap =
                    serde_json::from_slice(&body).map_err(|e| KubeError::BadResponse {
                        what,
                        reason: e.to_string(),
                    })?;
                Ok(map.data.unwrap_or_default())
            }
            404 => Err(KubeError::ConfigMapNotFound {
                namespace: namespace.to_string(),
                name: name.to_string(),
            }),
            status @ (401 | 403) => Err(KubeError::Refused { status, what }),
            status => Err(KubeError::Unavailable {
                what,
                reason: format!("HTTP {status}"),
            }),
        }
    }

    /// Posts an Event on the Pod (`core/v1`), attributed to this driver and node.
    pub async fn post_event(&self, pod: &Pod, event: &PodEvent) -> Result<String, KubeError> {
        let namespace = &pod.metadata.namespace;
        let what = format!("event on pod {namespace}/{}", pod.metadata.name);
        let now = rfc3339_now();
        let body = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "generateName": format!("{}.", pod.metadata.name),
                "namespace": namespace,
            },
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": pod.metadata.name,
                "namespace": namespace,
                "uid": pod.metadata.uid,
            },
            "type": event.kind,
            "reason": event.reason,
            "message": event.message,
            "source": {"component": "vault-csi-driver", "host": self.reporting_instance},
            "reportingComponent": "vault-csi-driver",
            "reportingInstance": self.reporting_instance,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        });
        let url = format!(
            "{}/api/v1/namespaces/{}/events",
            self.base,
            path_segment(namespace)
        );
        let response = self
            .authorized(self.http.post(url))
            .json(&body)
            .send()
            .await
            .map_err(|e| unavailable(&what, &e))?;
        match response.status().as_u16() {
            200..=299 => {
                let created: serde_json::Value = response.json().await.unwrap_or_default();
                Ok(created["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string())
            }
            status @ (401 | 403) => Err(KubeError::Refused { status, what }),
            status => Err(KubeError::Unavailable {
                what,
                reason: format!("HTTP {status}"),
            }),
        }
    }

    /// Bumps `count` and `lastTimestamp` of an event posted before.
    pub async fn patch_event_count(
        &self,
        namespace: &str,
        name: &str,
        count: u32,
    ) -> Result<(), KubeError> {
        let what = format!("event {namespace}/{name}");
        let url = format!(
            "{}/api/v1/namespaces/{}/events/{}",
            self.base,
            path_segment(namespace),
            path_segment(name)
        );
        let body = serde_json::json!({"count": count, "lastTimestamp": rfc3339_now()});
        let response = self
            .authorized(self.http.patch(url))
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| unavailable(&what, &e))?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            status @ (401 | 403) => Err(KubeError::Refused { status, what }),
            status => Err(KubeError::Unavailable {
                what,
                reason: format!("HTTP {status}"),
            }),
        }
    }

    /// Every Pod on `node` (`GET /api/v1/pods?fieldSelector=spec.nodeName=..`,
    /// page by page), and the list's resourceVersion to watch from.
    pub async fn list_node_pods(&self, node: &str) -> Result<(Vec<Pod>, String), KubeError> {
        let what = format!("pods on node {node}");
        let mut pods = Vec::new();
        let mut next_page = String::new();
        loop {
            let mut query = vec![
                ("fieldSelector", format!("spec.nodeName={node}")),
                ("limit", "500".to_string()),
            ];
            if !next_page.is_empty() {
                query.push(("continue", next_page.clone()));
            }
            let response = self
                .authorized(self.http.get(self.url_with_query("/api/v1/pods", &query)?))
                .send()
                .await
                .map_err(|e| unavailable(&what, &e))?;
            let body = match response.status().as_u16() {
                200 => response.bytes().await.map_err(|e| unavailable(&what, &e))?,
                status @ (401 | 403) => return Err(KubeError::Refused { status, what }),
                status => {
                    return Err(KubeError::Unavailable {
                        what,
                        reason: format!("HTTP {status}"),
                    });
                }
            };
            let page: PodList =
                serde_json::from_slice(&body).map_err(|e| KubeError::BadResponse {
                    what: what.clone(),
                    reason: e.to_string(),
                })?;
            pods.extend(page.items);
            if page.metadata.next_page.is_empty() {
                return Ok((pods, page.metadata.resource_version));
            }
            next_page = page.metadata.next_page;
        }
    }

    /// Watches the Pods on `node` from `resource_version` until the API
    /// server ends the watch (after about `timeout`).
    pub async fn watch_node_pods(
        &self,
        node: &str,
        resource_version: &str,
        timeout: Duration,
    ) -> Result<PodWatch, KubeError> {
        let what = format!("watch of pods on node {node}");
        let query = [
            ("fieldSelector", format!("spec.nodeName={node}")),
            ("watch", "true".to_string()),
            ("resourceVersion", resource_version.to_string()),
            ("allowWatchBookmarks", "true".to_string()),
            ("timeoutSeconds", timeout.as_secs().to_string()),
        ];
        let response = self
            .authorized(self.http.get(self.url_with_query("/api/v1/pods", &query)?))
            // The watch is long; this bounds a server that stops talking.
            .timeout(timeout + Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| unavailable(&what, &e))?;
        match response.status().as_u16() {
            200 => Ok(PodWatch {
                response: Some(response),
                buffer: Vec::new(),
                what,
            }),
            // Too old to resume from (some servers say so before streaming).
            410 => Ok(PodWatch {
                response: None,
                buffer: Vec::new(),
                what,
            }),
            status @ (401 | 403) => Err(KubeError::Refused { status, what }),
            status => Err(KubeError::Unavailable {
                what,
                reason: format!("HTTP {status}"),
            }),
        }
    }

    fn url_with_query(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<reqwest::Url, KubeError> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| KubeError::Settings(format!("API server URL: {e}")))?;
        url.query_pairs_mut()
            .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        Ok(url)
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.token.read() {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}

/// `v1.PodList`, reduced to what a Pod cache needs.
#[derive(Debug, serde::Deserialize)]
struct PodList {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(default)]
    items: Vec<Pod>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListMeta {
    #[serde(default)]
    resource_version: String,
    #[serde(default, rename = "continue")]
    next_page: String,
}

/// One change a Pod watch reports.
#[derive(Debug)]
pub enum PodChange {
    /// The Pod was added or modified: this is its state now.
    Applied {
        /// The Pod.
        pod: Box<Pod>,
        /// Its `metadata.resourceVersion`, to resume from.
        resource_version: String,
    },
    /// The Pod was deleted.
    Deleted {
        /// The Pod's last state.
        pod: Box<Pod>,
        /// The deletion's resourceVersion.
        resource_version: String,
    },
    /// Nothing changed, but the watch has seen everything up to here.
    Bookmark {
        /// The resourceVersion to resume from.
        resource_version: String,
    },
    /// The resourceVersion is too old to resume from: list again.
    Expired,
}

impl PodChange {
    /// The resourceVersion to resume a watch from after this change.
    pub fn resource_version(&self) -> Option<&str> {
        match self {
            PodChange::Applied {
                resource_version, ..
            }
            | PodChange::Deleted {
                resource_version, ..
            }
            | PodChange::Bookmark { resource_version } => Some(resource_version),
            PodChange::Expired => None,
        }
    }
}

/// A running watch: one JSON event per line of a long response.
#[derive(Debug)]
pub struct PodWatch {
    /// `None` when the server refused the resourceVersion as too old.
    response: Option<reqwest::Response>,
    buffer: Vec<u8>,
    what: String,
}

/// One line of a watch: `{"type": "ADDED", "object": {...}}`.
#[derive(Debug, serde::Deserialize)]
struct WatchLine {
    #[serde(rename = "type")]
    kind: String,
    object: serde_json::Value,
}

impl PodWatch {
    /// The next change, or `None` when the server ended the watch.
    pub async fn next(&mut self) -> Result<Option<PodChange>, KubeError> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return self.parse(&line).map(Some);
            }
            let Some(response) = self.response.as_mut() else {
                return Ok(Some(PodChange::Expired));
            };
            match response.chunk().await {
                Ok(Some(chunk)) => self.buffer.extend_from_slice(&chunk),
                Ok(None) if self.buffer.iter().all(u8::is_ascii_whitespace) => return Ok(None),
                // A last event without its newline.
                Ok(None) => self.buffer.push(b'\n'),
                Err(e) => return Err(unavailable(&self.what, &e)),
            }
        }
    }

    fn parse(&self, line: &[u8]) -> Result<PodChange, KubeError> {
        let bad = |reason: String| KubeError::BadResponse {
            what: self.what.clone(),
            reason,
        };
        let event: WatchLine = serde_json::from_slice(line).map_err(|e| bad(e.to_string()))?;
        let resource_version = event.object["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match event.kind.as_str() {
            "ADDED" | "MODIFIED" | "DELETED" => {
                let pod: Pod =
                    serde_json::from_value(event.object).map_err(|e| bad(e.to_string()))?;
                let pod = Box::new(pod);
                Ok(if event.kind == "DELETED" {
                    PodChange::Deleted {
                        pod,
                        resource_version,
                    }
                } else {
                    PodChange::Applied {
                        pod,
                        resource_version,
                    }
                })
            }
            "BOOKMARK" => Ok(PodChange::Bookmark { resource_version }),
            // A `Status`: 410 Gone means "too old, list again".
            "ERROR" if event.object["code"].as_u64() == Some(410) => Ok(PodChange::Expired),
            "ERROR" => Err(KubeError::Unavailable {
                what: self.what.clone(),
                reason: event.object["message"]
                    .as_str()
                    .unwrap_or("watch error")
                    .to_string(),
            }),
            other => Err(bad(format!("unknown watch event type {other:?}"))),
        }
    }
}

fn unavailable(what: &str, error: &reqwest::Error) -> KubeError {
    let reason = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "connection failed".to_string()
    } else {
        error.to_string()
    };
    KubeError::Unavailable {
        what: what.to_string(),
        reason,
    }
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
/// kubelet's request: keep anything else from reshaping the URL.
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

fn rfc3339_now() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::timefmt::rfc3339(secs)
}

/// The driver's ServiceAccount token, re-read when the file changes
/// (kubelet rotates projected tokens in place).
#[derive(Debug)]
struct TokenFile {
    path: Option<PathBuf>,
    cached: Mutex<Option<(SystemTime, u64, String)>>,
}

impl TokenFile {
    fn new(path: Option<PathBuf>) -> Self {
        Self {
            path,
            cached: Mutex::new(None),
        }
    }

    fn read(&self) -> Option<String> {
        let path = self.path.as_ref()?;
        let meta = std::fs::metadata(path).ok()?;
        let stamp = (meta.modified().ok()?, meta.len());
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((modified, len, token)) = cached.as_ref()
            && (*modified, *len) == stamp
        {
            return Some(token.clone());
        }
        let token = std::fs::read_to_string(path).ok()?.trim().to_string();
        *cached = Some((stamp.0, stamp.1, token.clone()));
        Some(token)
    }
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
    fn a_changed_token_file_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first\n").unwrap();
        let token = TokenFile::new(Some(path.clone()));
        assert_eq!(token.read().as_deref(), Some("first"));
        std::fs::write(&path, "second-longer\n").unwrap();
        assert_eq!(token.read().as_deref(), Some("second-longer"));
    }

    #[test]
    fn no_token_file_means_no_bearer() {
        assert_eq!(TokenFile::new(None).read(), None);
    }
}
