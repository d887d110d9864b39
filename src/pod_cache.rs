//! The Pods scheduled to this node, kept current by one list-and-watch, so
//! that a publish finds its Pod without a round trip to the API server.
//!
//! Kubelet learns about a Pod from its own watch before it mounts anything,
//! so the Pod is normally here by the time its volume is published. When it
//! is not (not seen yet, another uid, the watch broken), the publish reads
//! the Pod with a GET as before: the cache only ever saves a request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::watch;

use crate::kube::{KubeClient, PodChange};
use crate::pod::Pod;

/// First and longest wait before listing again after a failure.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Pause before listing again when the resourceVersion expired.
const RELIST_PAUSE: Duration = Duration::from_millis(100);

/// Pods by (namespace, name).
type PodMap = HashMap<(String, String), CachedPod>;

/// A Pod as the cache holds it.
#[derive(Debug, Clone)]
pub struct CachedPod {
    /// The Pod as last listed or watched.
    pub pod: Arc<Pod>,
    /// When this incarnation (uid) first reached the cache: the Pod existed
    /// by then, so a Vault answer requested later is newer than the Pod.
    pub seen: Instant,
}

/// The node's Pods by namespace and name; cheap to clone.
#[derive(Debug, Clone)]
pub struct PodCache {
    pods: Arc<Mutex<PodMap>>,
    /// Whether the cache follows the API server right now.
    synced: Arc<watch::Sender<bool>>,
}

impl Default for PodCache {
    fn default() -> Self {
        Self {
            pods: Arc::default(),
            synced: Arc::new(watch::channel(false).0),
        }
    }
}

impl PodCache {
    /// The Pod `namespace/name` with uid `uid`, if the cache is in sync and
    /// holds that very incarnation.
    pub fn get(&self, namespace: &str, name: &str, uid: &str) -> Option<CachedPod> {
        if !*self.synced.borrow() {
            return None;
        }
        lock(&self.pods)
            .get(&(namespace.to_string(), name.to_string()))
            .filter(|held| held.pod.metadata.uid == uid)
            .cloned()
    }

    /// How many Pods the cache holds.
    pub fn len(&self) -> usize {
        lock(&self.pods).len()
    }

    /// Whether the cache holds no Pod.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until the cache is in sync, for at most `limit`; returns
    /// whether it is.
    pub async fn wait_synced(&self, limit: Duration) -> bool {
        let mut synced = self.synced.subscribe();
        tokio::time::timeout(limit, synced.wait_for(|s| *s))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Replaces everything with a fresh list; the cache is in sync.
    pub fn replace(&self, pods: Vec<Pod>) {
        let now = Instant::now();
        let mut held = lock(&self.pods);
        let fresh = pods
            .into_iter()
            .map(|pod| {
                let key = key(&pod);
                let seen = seen_before(&held, &key, &pod).unwrap_or(now);
                let pod = Arc::new(pod);
                (key, CachedPod { pod, seen })
            })
            .collect();
        *held = fresh;
        drop(held);
        self.synced.send_replace(true);
    }

    /// Applies one change from the watch.
    pub fn apply(&self, change: PodChange) {
        match change {
            PodChange::Listed(pods) => self.replace(pods),
            PodChange::Applied(pod) => {
                let mut held = lock(&self.pods);
                let key = key(&pod);
                let seen = seen_before(&held, &key, &pod).unwrap_or_else(Instant::now);
                let pod = Arc::from(pod);
                held.insert(key, CachedPod { pod, seen });
            }
            PodChange::Deleted(pod) => {
                let mut pods = lock(&self.pods);
                // A delete of an older incarnation leaves a newer one alone.
                if pods
                    .get(&key(&pod))
                    .is_some_and(|held| held.pod.metadata.uid == pod.metadata.uid)
                {
                    pods.remove(&key(&pod));
                }
            }
            // Changes were missed: nothing held is trusted until the list
            // that follows.
            PodChange::Expired => self.lose_sync(),
        }
    }

    /// The watch broke: answers are no longer trusted until the next list.
    pub fn lose_sync(&self) {
        self.synced.send_replace(false);
    }

    /// Lists and watches the Pods on `node` for as long as the driver runs,
    /// listing again whenever the watch cannot resume.
    pub async fn follow(self, kube: KubeClient, node: String) {
        let mut backoff = FIRST_BACKOFF;
        loop {
            // A fresh watch starts with a list: after a failure, answers
            // wait for it rather than trust what may have been missed.
            let mut changes = std::pin::pin!(kube.watch_node_pods(&node));
            while let Some(change) = changes.next().await {
                match change {
                    Ok(PodChange::Listed(pods)) => {
                        tracing::debug!(pods = pods.len(), "listed the node's Pods");
                        self.replace(pods);
                        backoff = FIRST_BACKOFF;
                    }
                    // The API server asked for a fresh list: no failure, and
                    // only a short pause in case it keeps asking.
                    Ok(PodChange::Expired) => {
                        self.lose_sync();
                        tokio::time::sleep(RELIST_PAUSE).await;
                    }
                    Ok(change) => self.apply(change),
                    Err(error) => {
                        tracing::warn!(%error, retry_in = ?backoff, "the node's Pod watch failed; publishes read Pods with a GET meanwhile");
                        break;
                    }
                }
            }
            self.lose_sync();
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

fn key(pod: &Pod) -> (String, String) {
    (pod.metadata.namespace.clone(), pod.metadata.name.clone())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// When the cache first saw this incarnation of `pod`, if it holds it.
fn seen_before(held: &PodMap, key: &(String, String), pod: &Pod) -> Option<Instant> {
    held.get(key)
        .filter(|h| h.pod.metadata.uid == pod.metadata.uid)
        .map(|h| h.seen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::ObjectMeta;

    fn pod(name: &str, uid: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: name.into(),
                namespace: "ns".into(),
                uid: uid.into(),
                ..ObjectMeta::default()
            },
            ..Pod::default()
        }
    }

    fn applied(pod: Pod) -> PodChange {
        PodChange::Applied(Box::new(pod))
    }

    #[test]
    fn nothing_is_answered_before_the_first_list() {
        let cache = PodCache::default();
        cache.apply(applied(pod("web", "u1")));
        assert!(cache.get("ns", "web", "u1").is_none());
    }

    #[test]
    fn a_listed_pod_is_answered_for_its_own_uid_only() {
        let cache = PodCache::default();
        cache.replace(vec![pod("web", "u1")]);
        assert_eq!(cache.get("ns", "web", "u1").unwrap().pod.metadata.uid, "u1");
        assert!(cache.get("ns", "web", "u2").is_none());
        assert!(cache.get("other", "web", "u1").is_none());
    }

    #[test]
    fn a_modified_pod_replaces_the_one_held() {
        let cache = PodCache::default();
        cache.replace(vec![pod("web", "u1")]);
        cache.apply(applied(pod("web", "u2")));
        assert!(cache.get("ns", "web", "u1").is_none());
        assert!(cache.get("ns", "web", "u2").is_some());
    }

    #[test]
    fn an_update_keeps_when_the_incarnation_was_first_seen() {
        let cache = PodCache::default();
        cache.replace(vec![pod("web", "u1")]);
        let first = cache.get("ns", "web", "u1").unwrap().seen;
        cache.apply(applied(pod("web", "u1")));
        cache.replace(vec![pod("web", "u1")]);
        assert_eq!(cache.get("ns", "web", "u1").unwrap().seen, first);
    }

    #[test]
    fn a_new_incarnation_is_not_taken_for_one_seen_before() {
        let cache = PodCache::default();
        cache.replace(vec![pod("web", "u1")]);
        let held = lock(&cache.pods);
        let key = ("ns".to_string(), "web".to_string());
        assert!(seen_before(&held, &key, &pod("web", "u1")).is_some());
        assert!(seen_before(&held, &key, &pod("web", "u2")).is_none());
    }

    #[test]
    fn a_deleted_pod_is_gone_but_not_a_newer_incarnation() {
        let cache = PodCache::default();
        cache.replace(vec![pod("web", "u2")]);
        cache.apply(PodChange::Deleted(Box::new(pod("web", "u1"))));
        assert!(cache.get("ns", "web", "u2").is_some());
        cache.apply(PodChange::Deleted(Box::new(pod("web", "u2"))));
        assert!(cache.get("ns", "web", "u2").is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn a_broken_watch_stops_answers_until_the_next_list() {
        let cache = PodCache::default();
        cache.replace(vec![pod("web", "u1")]);
        cache.lose_sync();
        assert!(cache.get("ns", "web", "u1").is_none());
        cache.replace(vec![pod("web", "u1")]);
        assert!(cache.get("ns", "web", "u1").is_some());
    }

    #[test]
    fn an_expired_watch_stops_answers_until_the_next_list() {
        let cache = PodCache::default();
        cache.apply(PodChange::Listed(vec![pod("web", "u1")]));
        cache.apply(PodChange::Expired);
        assert!(cache.get("ns", "web", "u1").is_none());
        cache.apply(PodChange::Listed(vec![pod("web", "u1")]));
        assert!(cache.get("ns", "web", "u1").is_some());
    }

    #[test]
    fn a_new_list_forgets_pods_that_left_the_node() {
        let cache = PodCache::default();
        cache.replace(vec![pod("web", "u1"), pod("db", "u3")]);
        cache.replace(vec![pod("db", "u3")]);
        assert!(cache.get("ns", "web", "u1").is_none());
        assert_eq!(cache.len(), 1);
    }
}
