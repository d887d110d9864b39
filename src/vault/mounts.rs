//! Which mount holds a path, remembered per path: the agent asks
//! `sys/internal/ui/mounts/<path>` before every read, which costs a round
//! trip on every publish and refresh. Mount types and KV versions change
//! rarely, so answers are kept for a while.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Target;
use super::kv::MountInfo;

/// How long an answer is trusted; a KV v1 -> v2 upgrade is seen after this.
const TTL: Duration = Duration::from_secs(300);

/// Upper bound on remembered paths, so odd templates cannot grow it without end.
const MAX_ENTRIES: usize = 10_000;

/// (Vault address, namespace, path).
type Key = (String, Option<String>, String);

/// Known mounts by (address, namespace, path). Only positive answers are
/// kept: "no answer" may be one identity's lack of access, not a fact about
/// the path.
#[derive(Debug, Default, Clone)]
pub(crate) struct MountCache {
    entries: Arc<Mutex<HashMap<Key, (Instant, MountInfo)>>>,
}

impl MountCache {
    /// The mount of `path` at `target`, if known and fresh.
    pub(crate) fn get(&self, target: &Target, path: &str) -> Option<MountInfo> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&key(target, path))
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, info)| info.clone())
    }

    /// Remembers the mount of `path` at `target`.
    pub(crate) fn put(&self, target: &Target, path: &str, info: MountInfo) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key(target, path), (Instant::now(), info));
    }
}

fn key(target: &Target, path: &str) -> Key {
    (
        target.address().to_string(),
        target.namespace().map(str::to_string),
        path.to_string(),
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
        assert_eq!(cache.get(&target, "secret/b"), None);
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
}
