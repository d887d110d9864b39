//! A small stand-in for the Kubernetes API server: TokenReview, GET, list and
//! watch of Pods, GET of ConfigMaps, POST and PATCH of Events, with the real API's JSON shapes,
//! on plain HTTP at 127.0.0.1.
//!
//! It runs on its own runtime thread so that it keeps answering while a test's
//! runtime is blocked, and so one instance can serve every test of a binary.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::jwt::{API_AUDIENCE, JwtIssuer, PodIdentity, new_uid, unix_now};

/// Every answer's body: whole, or a watch's stream of lines.
type Body = BoxBody<Bytes, std::convert::Infallible>;

/// The node every Pod the harness registers is scheduled to (the driver's
/// `--node-id`).
pub(crate) const NODE_NAME: &str = "test-node";

/// How long a checked API bearer token counts as checked (kube-apiserver's
/// default token success cache).
const AUTH_CACHE_TTL: Duration = Duration::from_secs(10);

/// How the stand-in answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Like a healthy API server.
    Normal,
    /// Every request gets a 500 `Status`.
    Error500,
}

#[derive(Default)]
struct Inner {
    mode: Option<Mode>,
    pods: HashMap<(String, String), Value>,
    config_maps: HashMap<(String, String), Value>,
    /// RBAC without `get` on configmaps: every ConfigMap GET is forbidden.
    config_maps_forbidden: bool,
    events: Vec<Value>,
    revoked_jti: HashSet<String>,
    revoked_pod_uids: HashSet<String>,
    token_reviews: usize,
    pod_gets: usize,
    pod_gets_by: HashMap<(String, String), usize>,
    /// The last resourceVersion handed out.
    resource_version: u64,
    /// Pod changes a watch can resume from: (resourceVersion, type, object).
    history: Vec<(u64, &'static str, Value)>,
    /// Changes before this resourceVersion are compacted away (410 Gone).
    history_start: u64,
    /// The Pods as paged lists saw them, by resourceVersion, so that every
    /// page of one list comes from one snapshot (etcd serves a continued
    /// list at the first page's revision). Oldest first, a few kept.
    snapshots: Vec<(u64, Arc<Vec<Value>>)>,
    /// Open watches.
    watchers: Vec<Watcher>,
}

/// An open Pod watch: its node filter and where its lines go.
struct Watcher {
    id: u64,
    node: Option<String>,
    lines: tokio::sync::mpsc::UnboundedSender<Bytes>,
}

impl Inner {
    /// Records a Pod change and sends it to every watch that selects it.
    fn pod_changed(&mut self, kind: &'static str, mut pod: Value) {
        self.resource_version += 1;
        let rv = self.resource_version;
        pod["metadata"]["resourceVersion"] = json!(rv.to_string());
        let line = watch_line(kind, &pod);
        self.watchers
            .retain(|w| !selects(w.node.as_deref(), &pod) || w.lines.send(line.clone()).is_ok());
        self.history.push((rv, kind, pod));
    }
}

/// Whether a `spec.nodeName` field selector (`None`: none) selects `pod`.
fn selects(node: Option<&str>, pod: &Value) -> bool {
    node.is_none_or(|node| pod["spec"]["nodeName"].as_str() == Some(node))
}

/// One line of a watch response, `type` before `object` as the API server
/// writes it (Go's `metav1.WatchEvent` field order): a client that reads
/// the object by its type can decode it in one pass.
fn watch_line(kind: &str, object: &Value) -> Bytes {
    Bytes::from(format!(
        "{{\"type\":{},\"object\":{object}}}\n",
        json!(kind)
    ))
}

struct State {
    issuer: JwtIssuer,
    inner: Mutex<Inner>,
    /// Bearer tokens of API requests that passed, and until when they count
    /// as checked, as kube-apiserver caches successful authentication for
    /// 10 s. TokenReviews are always answered afresh, so a test that revokes
    /// a Pod's token sees Vault's next login fail at once.
    authenticated: Mutex<HashMap<String, std::time::Instant>>,
}

impl State {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The stand-in API server. Dropping it stops it.
pub(crate) struct KubeApi {
    addr: SocketAddr,
    state: Arc<State>,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: Mutex<Option<watch::Sender<bool>>>,
}

impl KubeApi {
    /// Starts a stand-in on a free port with a fresh signing key.
    pub(crate) fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kube-api-stand-in")
            .enable_all()
            .build()
            .expect("stand-in runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind stand-in");
        let addr = listener.local_addr().expect("stand-in address");
        let api = Self {
            addr,
            state: Arc::new(State {
                issuer: JwtIssuer::generate(),
                inner: Mutex::new(Inner::default()),
                authenticated: Mutex::new(HashMap::new()),
            }),
            runtime: Some(runtime),
            shutdown: Mutex::new(None),
        };
        api.serve(listener);
        api
    }

    fn serve(&self, listener: std::net::TcpListener) {
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let (tx, rx) = watch::channel(false);
        *self.shutdown.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        let state = self.state.clone();
        self.runtime
            .as_ref()
            .expect("runtime")
            .spawn(accept_loop(listener, state, rx));
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The signing key of every token the stand-in accepts.
    pub(crate) fn issuer(&self) -> &JwtIssuer {
        &self.state.issuer
    }

    /// A Pod's projected token for `audience`.
    pub(crate) fn mint(&self, id: &PodIdentity, audience: &str, ttl: Duration) -> String {
        self.state.issuer.mint(id, audience, ttl)
    }

    /// A token for the API itself (the driver's own, or Vault's token reviewer).
    pub(crate) fn api_token(&self, namespace: &str, service_account: &str) -> String {
        let id = PodIdentity::new(namespace, service_account, &format!("{service_account}-0"));
        self.state
            .issuer
            .mint(&id, API_AUDIENCE, Duration::from_secs(24 * 3600))
    }

    /// Invalidates one token, as deleting its Pod would.
    pub(crate) fn revoke_token(&self, jwt: &str) {
        if let Some(jti) = self
            .state
            .issuer
            .verify(jwt)
            .and_then(|c| c["jti"].as_str().map(str::to_owned))
        {
            self.state.lock().revoked_jti.insert(jti);
        }
    }

    /// Invalidates every token bound to a Pod uid.
    pub(crate) fn revoke_pod_tokens(&self, pod_uid: &str) {
        self.state
            .lock()
            .revoked_pod_uids
            .insert(pod_uid.to_owned());
    }

    /// Registers (or replaces) a Pod object: GET, list and watch see it.
    pub(crate) fn put_pod(&self, pod: Value) {
        let ns = pod["metadata"]["namespace"]
            .as_str()
            .expect("pod namespace")
            .to_owned();
        let name = pod["metadata"]["name"]
            .as_str()
            .expect("pod name")
            .to_owned();
        let mut inner = self.state.lock();
        let kind = if inner.pods.contains_key(&(ns.clone(), name.clone())) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        inner.pod_changed(kind, pod);
        let stored = inner.history.last().expect("just recorded").2.clone();
        inner.pods.insert((ns, name), stored);
    }

    /// Registers (or replaces) a ConfigMap with `data`, as the API stores it.
    pub(crate) fn put_config_map(&self, namespace: &str, name: &str, data: &[(&str, &str)]) {
        let data: serde_json::Map<String, Value> = data
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        let mut inner = self.state.lock();
        inner.resource_version += 1;
        let object = json!({
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": new_uid(),
                "resourceVersion": inner.resource_version.to_string(),
                "creationTimestamp": "2026-01-01T00:00:00Z",
            },
            "data": data,
        });
        inner
            .config_maps
            .insert((namespace.to_owned(), name.to_owned()), object);
    }

    /// Answers every ConfigMap GET with 403, as RBAC does for a
    /// ServiceAccount without `get` on configmaps.
    pub(crate) fn forbid_config_maps(&self, forbidden: bool) {
        self.state.lock().config_maps_forbidden = forbidden;
    }

    /// Removes a Pod object.
    pub(crate) fn delete_pod(&self, namespace: &str, name: &str) {
        let mut inner = self.state.lock();
        if let Some(pod) = inner.pods.remove(&(namespace.to_owned(), name.to_owned())) {
            inner.pod_changed("DELETED", pod);
        }
    }

    /// Ends every open watch, as an API server does when its watch times
    /// out or it restarts; clients resume from their last resourceVersion.
    pub(crate) fn end_watches(&self) {
        self.state.lock().watchers.clear();
    }

    /// Forgets the change history (etcd compaction): resuming a watch from
    /// an older resourceVersion gets 410 Gone, and clients must list again.
    pub(crate) fn compact(&self) {
        let mut inner = self.state.lock();
        inner.history.clear();
        inner.history_start = inner.resource_version + 1;
        inner.snapshots.clear();
        inner.watchers.clear();
    }

    /// How many Pod GETs asked for `namespace/name`.
    pub(crate) fn pod_gets_of(&self, namespace: &str, name: &str) -> usize {
        self.state
            .lock()
            .pod_gets_by
            .get(&(namespace.to_owned(), name.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Events posted so far, in order.
    pub(crate) fn events(&self) -> Vec<Value> {
        self.state.lock().events.clone()
    }

    /// How many TokenReviews were answered.
    pub(crate) fn token_reviews(&self) -> usize {
        self.state.lock().token_reviews
    }

    /// How many Pod GETs were answered.
    pub(crate) fn pod_gets(&self) -> usize {
        self.state.lock().pod_gets
    }

    /// Switches between healthy and failing answers.
    pub(crate) fn set_mode(&self, mode: Mode) {
        self.state.lock().mode = Some(mode);
    }

    /// Stops listening and drops open connections: clients get "connection refused".
    pub(crate) fn go_down(&self) {
        if let Some(tx) = self
            .shutdown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = tx.send(true);
        }
        // Wait until the port is really closed.
        for _ in 0..200 {
            if std::net::TcpStream::connect(self.addr).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("stand-in still accepting after go_down");
    }

    /// Listens again on the same port after [`KubeApi::go_down`].
    pub(crate) fn come_back(&self) {
        let mut last_err = None;
        for _ in 0..100 {
            match std::net::TcpListener::bind(self.addr) {
                Ok(listener) => {
                    self.serve(listener);
                    return;
                }
                Err(e) => last_err = Some(e),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("cannot listen again on {}: {last_err:?}", self.addr);
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Dropping a runtime inside a test's async context would panic.
            runtime.shutdown_background();
        }
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        // Without this, each small answer waits for the peer's delayed ACK (~40 ms).
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let mut conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(state.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new()
                // One buffer per answer: headers and body leave in a single write.
                .writev(false)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = conn_shutdown.changed() => {}
            }
        });
    }
}

fn respond(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .expect("response")
}

/// A `Status` object as the API server sends with errors.
fn status_object(code: StatusCode, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    if let Some(details) = details {
        status["details"] = details;
    }
    status
}

fn failure(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    respond(code, &status_object(code, reason, message, None))
}

fn audiences(claims: &Value) -> Vec<String> {
    match &claims["aud"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

impl State {
    /// Why a token is not valid for `wanted` audiences, or its claims and the
    /// matching audiences.
    fn review(&self, token: &str, wanted: &[String]) -> Result<(Value, Vec<String>), String> {
        let claims = self.issuer.verify(token).ok_or_else(|| {
            "[invalid bearer token, square/go-jose: error in cryptographic primitive]".to_owned()
        })?;
        if claims["exp"].as_i64().unwrap_or(0) <= unix_now() {
            return Err("[invalid bearer token, service account token has expired]".to_owned());
        }
        let inner = self.lock();
        let jti = claims["jti"].as_str().unwrap_or_default();
        let pod_uid = claims["kubernetes.io"]["pod"]["uid"]
            .as_str()
            .unwrap_or_default();
        if inner.revoked_jti.contains(jti) || inner.revoked_pod_uids.contains(pod_uid) {
            return Err(
                "[invalid bearer token, service account token has been invalidated]".to_owned(),
            );
        }
        drop(inner);
        let token_aud = audiences(&claims);
        let matching: Vec<String> = wanted
            .iter()
            .filter(|w| token_aud.contains(w))
            .cloned()
            .collect();
        if matching.is_empty() {
            return Err(format!(
                "[invalid bearer token, token audiences {token_aud:?} is invalid for the target audiences {wanted:?}, unknown]"
            ));
        }
        Ok((claims, matching))
    }

    /// Checks the `Authorization: Bearer` of an API request.
    fn authenticate(&self, req: &Request<Incoming>) -> bool {
        let Some(token) = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        let token = token.trim();
        let now = std::time::Instant::now();
        let mut cache = self.authenticated.lock().unwrap_or_else(|p| p.into_inner());
        if cache.get(token).is_some_and(|until| *until > now) {
            return true;
        }
        let ok = self.review(token, &[API_AUDIENCE.to_owned()]).is_ok();
        if ok {
            cache.retain(|_, until| *until > now);
            cache.insert(token.to_owned(), now + AUTH_CACHE_TTL);
        }
        ok
    }
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, hyper::Error> {
    let mode = state.lock().mode.unwrap_or(Mode::Normal);
    if mode == Mode::Error500 {
        return Ok(failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "Internal error occurred: stand-in set to fail",
        ));
    }
    if !state.authenticate(&req) {
        return Ok(failure(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized",
        ));
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = query_pairs(req.uri().query().unwrap_or(""));
    let body = req.into_body().collect().await?.to_bytes();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let answer = match (&method, segments.as_slice()) {
        (&Method::POST, ["apis", "authentication.k8s.io", "v1", "tokenreviews"]) => {
            token_review(&state, &body)
        }
        (&Method::GET, ["api", "v1", "namespaces", ns, "pods", name]) => get_pod(&state, ns, name),
        (&Method::GET, ["api", "v1", "pods"]) => list_or_watch_pods(&state, &query),
        (&Method::GET, ["api", "v1", "namespaces", ns, "configmaps", name]) => {
            get_config_map(&state, ns, name)
        }
        (&Method::POST, ["api", "v1", "namespaces", ns, "events"]) => post_event(&state, ns, &body),
        (&Method::PATCH, ["api", "v1", "namespaces", ns, "events", name]) => {
            patch_event(&state, ns, name, &body)
        }
        _ => failure(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        ),
    };
    Ok(answer)
}

fn token_review(state: &State, body: &[u8]) -> Response<Body> {
    let Ok(review) = serde_json::from_slice::<Value>(body) else {
        return failure(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "invalid TokenReview body",
        );
    };
    state.lock().token_reviews += 1;
    let token = review["spec"]["token"].as_str().unwrap_or_default();
    let mut wanted: Vec<String> = review["spec"]["audiences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if wanted.is_empty() {
        wanted.push(API_AUDIENCE.to_owned());
    }
    let status = match state.review(token, &wanted) {
        Ok((claims, matching)) => {
            let k8s = &claims["kubernetes.io"];
            let ns = k8s["namespace"].as_str().unwrap_or_default();
            let sa = k8s["serviceaccount"]["name"].as_str().unwrap_or_default();
            json!({
                "authenticated": true,
                "user": {
                    "username": format!("system:serviceaccount:{ns}:{sa}"),
                    "uid": k8s["serviceaccount"]["uid"],
                    "groups": [
                        "system:serviceaccounts",
                        format!("system:serviceaccounts:{ns}"),
                        "system:authenticated",
                    ],
                    "extra": {
                        "authentication.kubernetes.io/credential-id": [format!("JTI={}", claims["jti"].as_str().unwrap_or_default())],
                        "authentication.kubernetes.io/node-name": [k8s["node"]["name"]],
                        "authentication.kubernetes.io/node-uid": [k8s["node"]["uid"]],
                        "authentication.kubernetes.io/pod-name": [k8s["pod"]["name"]],
                        "authentication.kubernetes.io/pod-uid": [k8s["pod"]["uid"]],
                    },
                },
                "audiences": matching,
            })
        }
        // `authenticated: false` is omitted by the real API (omitempty).
        Err(error) => json!({"user": {}, "error": error}),
    };
    let mut spec = review["spec"].clone();
    if !spec.is_object() {
        spec = json!({});
    }
    respond(
        StatusCode::CREATED,
        &json!({
            "kind": "TokenReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": spec,
            "status": status,
        }),
    )
}

fn get_pod(state: &State, ns: &str, name: &str) -> Response<Body> {
    let mut inner = state.lock();
    inner.pod_gets += 1;
    *inner
        .pod_gets_by
        .entry((ns.to_owned(), name.to_owned()))
        .or_default() += 1;
    match inner.pods.get(&(ns.to_owned(), name.to_owned())) {
        Some(pod) => respond(StatusCode::OK, pod),
        None => respond(
            StatusCode::NOT_FOUND,
            &status_object(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("pods \"{name}\" not found"),
                Some(json!({"name": name, "kind": "pods"})),
            ),
        ),
    }
}

fn get_config_map(state: &State, ns: &str, name: &str) -> Response<Body> {
    let inner = state.lock();
    if inner.config_maps_forbidden {
        // The driver's token is the stand-in's API token for this account.
        let user = "system:serviceaccount:vault-csi:vault-csi-driver";
        return respond(
            StatusCode::FORBIDDEN,
            &status_object(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &format!(
                    "configmaps \"{name}\" is forbidden: User \"{user}\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"{ns}\""
                ),
                Some(json!({"name": name, "kind": "configmaps"})),
            ),
        );
    }
    match inner.config_maps.get(&(ns.to_owned(), name.to_owned())) {
        Some(map) => respond(StatusCode::OK, map),
        None => respond(
            StatusCode::NOT_FOUND,
            &status_object(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("configmaps \"{name}\" not found"),
                Some(json!({"name": name, "kind": "configmaps"})),
            ),
        ),
    }
}

/// `?a=b&c=d`, percent-decoded.
fn query_pairs(query: &str) -> HashMap<String, String> {
    let url = reqwest::Url::parse(&format!("http://stand-in/?{query}")).expect("a query string");
    url.query_pairs().into_owned().collect()
}

/// `GET /api/v1/pods`: a `PodList`, or with `watch=true` a stream of
/// changes after `resourceVersion`, filtered by a `spec.nodeName=` field
/// selector (the only one the stand-in knows).
fn list_or_watch_pods(state: &Arc<State>, query: &HashMap<String, String>) -> Response<Body> {
    let node = match query.get("fieldSelector").map(String::as_str) {
        None | Some("") => None,
        Some(selector) => match selector.strip_prefix("spec.nodeName=") {
            Some(node) => Some(node.to_owned()),
            None => {
                return failure(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("unable to parse requirement: field label not supported: {selector}"),
                );
            }
        },
    };
    let mut inner = state.lock();
    if query.get("watch").map(String::as_str) != Some("true") {
        return list_pods(&mut inner, node.as_deref(), query);
    }
    let (lines, rx) = tokio::sync::mpsc::unbounded_channel();
    let from: u64 = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if from == 0 {
        // "Any": the current state as ADDED events, then changes.
        let mut current: Vec<&Value> = inner
            .pods
            .values()
            .filter(|pod| selects(node.as_deref(), pod))
            .collect();
        current.sort_by_key(|pod| {
            pod["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        });
        for pod in current {
            let _ = lines.send(watch_line("ADDED", pod));
        }
    } else if from + 1 < inner.history_start {
        let gone = status_object(
            StatusCode::GONE,
            "Expired",
            &format!("too old resource version: {from} ({})", inner.history_start),
            None,
        );
        let _ = lines.send(watch_line("ERROR", &gone));
        drop(lines);
        return stream(rx);
    } else {
        for (rv, kind, pod) in &inner.history {
            if *rv > from && selects(node.as_deref(), pod) {
                let _ = lines.send(watch_line(kind, pod));
            }
        }
    }
    let id = {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    };
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs);
    if let Some(timeout) = timeout {
        // The watch ends after its timeout, as the real server's does.
        let state = state.clone();
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            state.lock().watchers.retain(|w| w.id != id);
        });
    }
    inner.watchers.push(Watcher { id, node, lines });
    stream(rx)
}

/// How many snapshots of paged lists the stand-in keeps; a continue token
/// of an older one is answered as a compacted one is (410 Gone).
const LIST_SNAPSHOTS: usize = 8;

/// A `PodList`, whole or (with `limit`) one page of it: items in key order
/// (namespace, then name), and a `continue` token while more remain.
fn list_pods(
    inner: &mut Inner,
    node: Option<&str>,
    query: &HashMap<String, String>,
) -> Response<Body> {
    let limit = match query.get("limit").map(|v| v.parse::<i64>()) {
        None => 0,
        Some(Ok(limit)) => limit.max(0) as usize,
        Some(Err(_)) => {
            return failure(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "limit: Invalid value: not an integer",
            );
        }
    };
    let (rv, snapshot, start) = match query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            if query.contains_key("resourceVersion") {
                return failure(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "specifying resource version is not allowed when using continue",
                );
            }
            let Some((rv, start)) = parse_continue(token) else {
                return failure(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
                );
            };
            let held = inner.snapshots.iter().find(|(at, _)| *at == rv);
            match held {
                Some((_, snapshot)) if rv + 1 >= inner.history_start => {
                    (rv, snapshot.clone(), start)
                }
                _ => {
                    return failure(
                        StatusCode::GONE,
                        "Expired",
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                    );
                }
            }
        }
        None => {
            let mut pods: Vec<Value> = inner.pods.values().cloned().collect();
            pods.sort_by_key(pod_key);
            (inner.resource_version, Arc::new(pods), String::new())
        }
    };
    let mut selected = snapshot
        .iter()
        .filter(|pod| pod_key(pod) >= start)
        .filter(|pod| selects(node, pod));
    let items: Vec<&Value> = if limit == 0 {
        selected.by_ref().collect()
    } else {
        selected.by_ref().take(limit).collect()
    };
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if let (Some(last), Some(_)) = (items.last(), selected.next()) {
        // The real server resumes after the last key it returned.
        metadata["continue"] = json!(continue_token(rv, &format!("{}\u{0}", pod_key(last))));
        if node.is_none() {
            let remaining = snapshot
                .iter()
                .filter(|pod| pod_key(pod) > pod_key(last))
                .count();
            metadata["remainingItemCount"] = json!(remaining);
        }
        if !inner.snapshots.iter().any(|(at, _)| *at == rv) {
            if inner.snapshots.len() == LIST_SNAPSHOTS {
                inner.snapshots.remove(0);
            }
            inner.snapshots.push((rv, snapshot.clone()));
        }
    }
    respond(
        StatusCode::OK,
        &json!({
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": metadata,
            "items": items,
        }),
    )
}

/// A Pod's key in the store: `namespace/name`.
fn pod_key(pod: &Value) -> String {
    format!(
        "{}/{}",
        pod["metadata"]["namespace"].as_str().unwrap_or(""),
        pod["metadata"]["name"].as_str().unwrap_or("")
    )
}

/// The API server's continue token: unpadded URL-safe base64 of
/// `{"v":"meta.k8s.io/v1","rv":N,"start":KEY}`.
fn continue_token(rv: u64, start: &str) -> String {
    use base64::Engine;
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn parse_continue(token: &str) -> Option<(u64, String)> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let token: Value = serde_json::from_slice(&bytes).ok()?;
    if token["v"] != "meta.k8s.io/v1" {
        return None;
    }
    Some((token["rv"].as_u64()?, token["start"].as_str()?.to_owned()))
}

/// A chunked answer whose lines come from `rx` until every sender is gone.
fn stream(rx: tokio::sync::mpsc::UnboundedReceiver<Bytes>) -> Response<Body> {
    let frames = futures_util::stream::unfold(rx, |mut rx| async move {
        let line = rx.recv().await?;
        Some((Ok(hyper::body::Frame::data(line)), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(StreamBody::new(frames).boxed())
        .expect("response")
}

fn post_event(state: &State, ns: &str, body: &[u8]) -> Response<Body> {
    let Ok(mut event) = serde_json::from_slice::<Value>(body) else {
        return failure(StatusCode::BAD_REQUEST, "BadRequest", "invalid Event body");
    };
    if !event.is_object() {
        return failure(StatusCode::BAD_REQUEST, "BadRequest", "invalid Event body");
    }
    let meta = &mut event["metadata"];
    if !meta.is_object() {
        *meta = json!({});
    }
    meta["namespace"] = json!(ns);
    meta["uid"] = json!(new_uid());
    meta["resourceVersion"] = json!(format!("{}", 1000 + state.lock().events.len()));
    meta["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
    if meta["name"].is_null()
        && let Some(prefix) = meta["generateName"].as_str()
    {
        meta["name"] = json!(format!("{prefix}{}", &new_uid()[..5]));
    }
    state.lock().events.push(event.clone());
    respond(StatusCode::CREATED, &event)
}

/// A JSON merge patch of a recorded event (the API's `PATCH` with
/// `application/merge-patch+json`).
fn patch_event(state: &State, ns: &str, name: &str, body: &[u8]) -> Response<Body> {
    let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(body) else {
        return failure(StatusCode::BAD_REQUEST, "BadRequest", "invalid merge patch");
    };
    let mut inner = state.lock();
    let Some(event) = inner
        .events
        .iter_mut()
        .find(|e| e["metadata"]["name"] == name && e["metadata"]["namespace"] == ns)
    else {
        return failure(StatusCode::NOT_FOUND, "NotFound", "events not found");
    };
    for (key, value) in patch {
        event[key] = value;
    }
    let event = event.clone();
    drop(inner);
    respond(StatusCode::OK, &event)
}

/// A Pod object as the API returns it, with a Vault CSI volume mounted at
/// `/vault/secrets` in one container named `app`.
pub(crate) fn pod_json(id: &PodIdentity, annotations: &BTreeMap<String, String>) -> Value {
    json!({
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": id.pod_name,
            "namespace": id.namespace,
            "uid": id.pod_uid,
            "resourceVersion": "4242",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": id.pod_name},
            "annotations": annotations,
        },
        "spec": {
            "serviceAccountName": id.service_account,
            "nodeName": NODE_NAME,
            "volumes": [{
                "name": "vault-secrets",
                "csi": {"driver": "vault.csi.openbao.org", "readOnly": true},
            }],
            "containers": [{
                "name": "app",
                "image": "busybox:1.36",
                "volumeMounts": [{"name": "vault-secrets", "mountPath": "/vault/secrets", "readOnly": true}],
            }],
        },
        "status": {"phase": "Running", "podIP": "10.0.0.12"},
    })
}
