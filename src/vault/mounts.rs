//! Which mount holds a path, remembered per mount: the agent asks
//! `sys/internal/ui/mounts/<path>` before every read, which costs a round
//! trip on every publish and refresh. Mount types and KV versions change
//! rarely, so answers are kept for a while, and one answer serves every
//! path below its mount: Vault refuses to mount an engine under another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::target::Target;

/// What `sys/internal/ui/mounts/<path>` says about the mount holding a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// The mount path with its trailing `/`, e.g. `secret/`.
    pub path: String,
    /// The engine type, e.g. `kv`, `pki`.
    pub mount_type: String,
    /// `options.version` when it is a string (`"1"`, `"2"`).
    pub version: Option<String>,
}

impl MountInfo {
    /// Whether reads on this mount need the KV v2 rewriting.
    pub fn is_kv_v2(&self) -> bool {
        self.mount_type == "kv" && self.version.as_deref() == Some("2")
    }
}

/// How long an answer is trusted; a KV v1 -> v2 upgrade is seen after this.
const TTL: Duration = Duration::from_secs(300);

/// Upper bound on remembered answers, so odd templates cannot grow it without end.
const MAX_ENTRIES: usize = 10_000;

/// (Vault address, namespace, `prefix/`).
type Key = (String, Option<String>, String);

/// What is known about the paths below a prefix.
#[derive(Debug, Clone)]
struct Entry {
    at: Instant,
    info: MountInfo,
    /// The prefix is the mount itself, so it answers for every path below.
    /// Otherwise (an answer whose mount path is not a prefix of the asked
    /// path, e.g. relative to a namespace in the path) it answers for the
    /// asked path alone.
    whole_mount: bool,
}

/// Known mounts by (address, namespace, mount path). Only positive answers
/// are kept: "no answer" may be one identity's lack of access, not a fact
/// about the path.
#[derive(Debug, Default, Clone)]
pub(crate) struct MountCache {
    entries: Arc<Mutex<HashMap<Key, Entry>>>,
    /// One lookup at a time per first path segment, so a burst of reads
    /// below one mount asks Vault once and the rest find the answer.
    lookups: Arc<Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>>,
}

impl MountCache {
    /// The mount of `path` at `target`, if known and fresh.
    pub(crate) fn get(&self, target: &Target, path: &str) -> Option<MountInfo> {
        let path = normalise(path);
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Every `a/`, `a/b/`, ... of the path; mounts do not nest, so at most
        // one of them is a mount.
        path.match_indices('/').find_map(|(end, _)| {
            let prefix = &path[..=end];
            entries
                .get(&key(target, prefix))
                .filter(|e| e.at.elapsed() < TTL && (e.whole_mount || prefix == path))
                .map(|e| e.info.clone())
        })
    }

    /// The turn to look up the mount of `path` at `target`: held while
    /// asking Vault, so that others below the same first segment wait and
    /// then find the answer with [`MountCache::get`].
    pub(crate) fn lookup_turn(&self, target: &Target, path: &str) -> Arc<tokio::sync::Mutex<()>> {
        let path = normalise(path);
        let first = path.split_inclusive('/').next().unwrap_or_default();
        let mut lookups = self.lookups.lock().unwrap_or_else(|p| p.into_inner());
        if lookups.len() >= MAX_ENTRIES {
            lookups.retain(|_, turn| Arc::strong_count(turn) > 1);
        }
        lookups.entry(key(target, first)).or_default().clone()
    }

    /// Remembers what Vault said about the mount of `path` at `target`.
    pub(crate) fn put(&self, target: &Target, path: &str, info: MountInfo) {
        let path = normalise(path);
        let mount = normalise(&info.path);
        let whole_mount = path.starts_with(&mount);
        let prefix = if whole_mount { mount } else { path };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.at.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        let entry = Entry {
            at: Instant::now(),
            info,
            whole_mount,
        };
        entries.insert(key(target, &prefix), entry);
    }
}

/// `a/b` and `/a/b/` alike as `a/b/`, so prefixes end on a whole segment.
fn normalise(path: &str) -> String {
    format!("{}/", path.trim().trim_matches('/'))
}

fn key(target: &Target, prefix: &str) -> Key {
    (
        target.address().to_string(),
        target.namespace().map(str::to_string),
        prefix.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv2() -> MountInfo {
        MountInfo {
            path: "secret/".into(),
            mount_type: "kv".into(),
            version: Some("2".into()),
        }
    }

    #[test]
    fn a_remembered_mount_is_returned_for_the_same_path_and_target() {
        let cache = MountCache::default();
        let target = Target::new("http://127.0.0.1:8200").unwrap();
        cache.put(&target, "secret/a", kv2());
        assert_eq!(cache.get(&target, "secret/a"), Some(kv2()));
        assert_eq!(cache.get(&target, "other/a"), None);
    }

    #[test]
    fn namespaces_and_addresses_are_kept_apart() {
        let cache = MountCache::default();
        let target = Target::new("http://127.0.0.1:8200").unwrap();
        cache.put(&target, "secret/a", kv2());
        let other_ns = target.clone().with_namespace(Some("team")).unwrap();
        let other_addr = Target::new("http://127.0.0.2:8200").unwrap();
        assert_eq!(cache.get(&other_ns, "secret/a"), None);
        assert_eq!(cache.get(&other_addr, "secret/a"), None);
    }

    #[test]
    fn one_answer_serves_every_path_below_its_mount() {
        let cache = MountCache::default();
        let target = Target::new("http://127.0.0.1:8200").unwrap();
        cache.put(&target, "secret/team-a/db", kv2());
        assert_eq!(cache.get(&target, "secret/team-b/api"), Some(kv2()));
        assert_eq!(cache.get(&target, "/secret/x/"), Some(kv2()));
    }

    #[test]
    fn a_mount_with_a_similar_name_is_not_the_same_mount() {
        let cache = MountCache::default();
        let target = Target::new("http://127.0.0.1:8200").unwrap();
        cache.put(&target, "secret/a", kv2());
        assert_eq!(cache.get(&target, "secret-v1/a"), None);
        assert_eq!(cache.get(&target, "secre/a"), None);
    }

    #[test]
    fn an_answer_whose_mount_is_not_a_prefix_serves_only_the_asked_path() {
        let cache = MountCache::default();
        let target = Target::new("http://127.0.0.1:8200").unwrap();
        // Asked with a namespace in the path; the answer is relative to it.
        cache.put(&target, "team/secret/a", kv2());
        assert_eq!(cache.get(&target, "team/secret/a"), Some(kv2()));
        assert_eq!(cache.get(&target, "team/secret/b"), None);
        assert_eq!(cache.get(&target, "secret/a"), None);
    }

    #[test]
    fn lookups_below_one_first_segment_take_turns() {
        let cache = MountCache::default();
        let target = Target::new("http://127.0.0.1:8200").unwrap();
        let a = cache.lookup_turn(&target, "secret/team-a/db");
        let b = cache.lookup_turn(&target, "/secret/team-b/api");
        let other = cache.lookup_turn(&target, "secrets/x");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
    }
}
