//! The node's Pod cache against the API server stand-in: list, watch,
//! resume and relist, and a publish that finds its Pod without a GET.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::driver::Driver;
use support::jwt::PodIdentity;
use support::pods::{TestPod, VOLUME, kv2_secret};
use support::{fixture, unique};
use vault_csi_driver::kube::{KubeArgs, KubeClient};
use vault_csi_driver::pod_cache::PodCache;

/// A cache following the Pods of its own node (so other tests' Pods stay
/// out), and the directory holding its API token.
async fn follow(node: &str) -> (PodCache, tempfile::TempDir) {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, fx.kube.api_token("vault-csi", "vault-csi-driver")).unwrap();
    let args = KubeArgs {
        kube_api_url: Some(fx.kube.url()),
        kube_ca_file: None,
        kube_token_file: Some(token),
    };
    let kube = KubeClient::new(&args, node).unwrap();
    let cache = PodCache::default();
    tokio::spawn(cache.clone().follow(kube, node.to_string()));
    assert!(cache.wait_synced(Duration::from_secs(10)).await);
    (cache, dir)
}

/// Waits (up to 10 s) until `check` holds.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn test_pod() -> TestPod {
    TestPod::kubernetes(fixture(), &["secret/data/none"])
}

fn has(cache: &PodCache, pod: &TestPod) -> bool {
    cache
        .get(&pod.id.namespace, &pod.id.pod_name, &pod.id.pod_uid)
        .is_some()
}

#[tokio::test]
async fn pods_already_on_the_node_are_listed() {
    let node = unique("node");
    let pod = test_pod();
    pod.register_on(fixture(), &node, &[]);
    let (cache, _dir) = follow(&node).await;
    assert!(has(&cache, &pod));
}

#[tokio::test]
async fn a_new_pod_on_the_node_arrives_through_the_watch() {
    let node = unique("node");
    let (cache, _dir) = follow(&node).await;
    let pod = test_pod();
    pod.register_on(fixture(), &node, &[]);
    eventually("the new Pod is in the cache", || has(&cache, &pod)).await;
}

#[tokio::test]
async fn a_replaced_pod_is_answered_for_its_new_uid_only() {
    let node = unique("node");
    let (cache, _dir) = follow(&node).await;
    let old = test_pod();
    old.register_on(fixture(), &node, &[]);
    eventually("the first incarnation", || has(&cache, &old)).await;
    let mut new = TestPod {
        id: old.id.clone(),
        role: old.role.clone(),
    };
    new.id.pod_uid = support::jwt::new_uid();
    new.register_on(fixture(), &node, &[]);
    eventually("the second incarnation", || has(&cache, &new)).await;
    assert!(!has(&cache, &old));
}

#[tokio::test]
async fn a_deleted_pod_leaves_the_cache() {
    let node = unique("node");
    let (cache, _dir) = follow(&node).await;
    let pod = test_pod();
    pod.register_on(fixture(), &node, &[]);
    eventually("the Pod is in the cache", || has(&cache, &pod)).await;
    fixture()
        .kube
        .delete_pod(&pod.id.namespace, &pod.id.pod_name);
    eventually("the Pod is gone", || !has(&cache, &pod)).await;
}

#[tokio::test]
async fn pods_of_other_nodes_are_not_followed() {
    let node = unique("node");
    let (cache, _dir) = follow(&node).await;
    let elsewhere = test_pod();
    elsewhere.register_on(fixture(), &unique("other-node"), &[]);
    let here = test_pod();
    here.register_on(fixture(), &node, &[]);
    // Changes arrive in order: once the later Pod is here, the earlier
    // one would be too if the watch selected it.
    eventually("this node's Pod", || has(&cache, &here)).await;
    assert!(!has(&cache, &elsewhere));
    assert_eq!(cache.len(), 1);
}

#[tokio::test]
async fn the_watch_resumes_after_the_api_server_ends_it() {
    let node = unique("node");
    let (cache, _dir) = follow(&node).await;
    fixture().kube.end_watches();
    let pod = test_pod();
    pod.register_on(fixture(), &node, &[]);
    eventually("a Pod added after the watch ended", || has(&cache, &pod)).await;
}

#[tokio::test]
async fn an_expired_resource_version_is_listed_again() {
    let node = unique("node");
    let (cache, _dir) = follow(&node).await;
    fixture().kube.compact();
    let pod = test_pod();
    pod.register_on(fixture(), &node, &[]);
    eventually("a Pod added after compaction", || has(&cache, &pod)).await;
}

/// Registers `count` Pods on `node` (no Vault role needed: only listed).
fn many_pods_on(node: &str, count: usize) -> Vec<PodIdentity> {
    (0..count)
        .map(|i| {
            let id = PodIdentity::new(&unique("ns"), "app", &format!("web-{i}"));
            let mut pod = support::pods::pod_json(&id, &[("agent-inject", "true")]);
            pod["spec"]["nodeName"] = json!(node);
            fixture().kube.put_pod(pod);
            id
        })
        .collect()
}

#[tokio::test]
async fn the_stand_in_pages_a_list_from_one_snapshot() {
    let node = unique("node");
    many_pods_on(&node, 3);
    let fx = fixture();
    let http = reqwest::Client::new();
    let token = fx.kube.api_token("vault-csi", "vault-csi-driver");
    let page = |query: Vec<(&'static str, String)>| {
        let url =
            reqwest::Url::parse_with_params(&format!("{}/api/v1/pods", fx.kube.url()), &query)
                .unwrap();
        let request = http.get(url).bearer_auth(&token);
        async move {
            let answer = request.send().await.unwrap();
            (
                answer.status().as_u16(),
                answer.json::<Value>().await.unwrap(),
            )
        }
    };
    let selector = ("fieldSelector", format!("spec.nodeName={node}"));
    let (status, first) = page(vec![selector.clone(), ("limit", "2".into())]).await;
    assert_eq!(status, 200);
    assert_eq!(first["kind"], "PodList");
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let next = first["metadata"]["continue"].as_str().unwrap().to_owned();
    // A change between pages is not in the list's later pages.
    many_pods_on(&node, 1);
    let (_, second) = page(vec![
        selector.clone(),
        ("limit", "2".into()),
        ("continue", next.clone()),
    ])
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        second["metadata"]["resourceVersion"],
        first["metadata"]["resourceVersion"]
    );
    assert!(second["metadata"].get("continue").is_none());
    let (status, refused) = page(vec![
        selector.clone(),
        ("continue", next.clone()),
        ("resourceVersion", "1".into()),
    ])
    .await;
    assert_eq!(
        (status, refused["reason"].as_str()),
        (400, Some("BadRequest"))
    );
    fx.kube.compact();
    let (status, gone) = page(vec![selector, ("continue", next)]).await;
    assert_eq!((status, gone["reason"].as_str()), (410, Some("Expired")));
}

#[tokio::test]
async fn the_stand_in_writes_watch_events_type_first() {
    let node = unique("node");
    let fx = fixture();
    let query = [
        ("fieldSelector", format!("spec.nodeName={node}")),
        ("watch", "true".into()),
        ("timeoutSeconds", "5".into()),
    ];
    let url =
        reqwest::Url::parse_with_params(&format!("{}/api/v1/pods", fx.kube.url()), &query).unwrap();
    let mut answer = reqwest::Client::new()
        .get(url)
        .bearer_auth(fx.kube.api_token("vault-csi", "vault-csi-driver"))
        .send()
        .await
        .unwrap();
    many_pods_on(&node, 1);
    let line = answer.chunk().await.unwrap().unwrap();
    assert!(
        line.starts_with(br#"{"type":"ADDED","object":{"#),
        "{}",
        String::from_utf8_lossy(&line)
    );
}

#[tokio::test]
async fn a_list_longer_than_one_page_is_cached_whole() {
    let node = unique("node");
    // The watcher asks for 500 Pods a page.
    let ids = many_pods_on(&node, 501);
    let (cache, _dir) = follow(&node).await;
    assert_eq!(cache.len(), 501);
    for id in [&ids[0], &ids[250], &ids[500]] {
        assert!(
            cache
                .get(&id.namespace, &id.pod_name, &id.pod_uid)
                .is_some()
        );
    }
}

fn pod_reads(driver: &Driver, source: &str) -> u64 {
    let series = format!("vault_csi_pod_reads_total{{source=\"{source}\"}}");
    driver.metric(&series).map_or(0, |v| v as u64)
}

#[tokio::test]
async fn a_pod_listed_before_the_publish_needs_no_get() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"user": "app"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    pod.register(fx, &[("agent-inject-secret-db", &format!("{mount}/{key}"))]);
    // The driver lists the node's Pods before it serves.
    let driver = Driver::start().await;
    let mut node = driver.node().await;
    node.node_publish_volume(pod.publish_request(&driver, VOLUME, &pod.token(fx)))
        .await
        .unwrap();
    assert_eq!(fx.kube.pod_gets_of(&pod.id.namespace, &pod.id.pod_name), 0);
    assert_eq!(pod_reads(&driver, "cache"), 1);
    let files = std::fs::read_to_string(pod.target(&driver, VOLUME).join("db")).unwrap();
    assert!(files.contains("user:app"), "{files}");
}

#[tokio::test]
async fn a_pod_the_watch_has_not_seen_is_read_with_a_get() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"user": "app"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    let driver = Driver::start().await;
    // Scheduled elsewhere as far as the watch knows; kubelet says otherwise.
    pod.register_on(
        fx,
        &unique("other-node"),
        &[("agent-inject-secret-db", &format!("{mount}/{key}"))],
    );
    let mut node = driver.node().await;
    node.node_publish_volume(pod.publish_request(&driver, VOLUME, &pod.token(fx)))
        .await
        .unwrap();
    assert_eq!(fx.kube.pod_gets_of(&pod.id.namespace, &pod.id.pod_name), 1);
    assert_eq!(pod_reads(&driver, "api"), 1);
}

#[tokio::test]
async fn without_the_watch_every_publish_reads_its_pod_with_a_get() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"user": "app"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    pod.register(fx, &[("agent-inject-secret-db", &format!("{mount}/{key}"))]);
    let driver = Driver::start_with(support::driver::DriverOptions::args(&[
        "--watch-pods=false",
    ]))
    .await;
    let mut node = driver.node().await;
    node.node_publish_volume(pod.publish_request(&driver, VOLUME, &pod.token(fx)))
        .await
        .unwrap();
    assert_eq!(fx.kube.pod_gets_of(&pod.id.namespace, &pod.id.pod_name), 1);
    assert_eq!(pod_reads(&driver, "cache"), 0);
}
