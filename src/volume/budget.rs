//! The node-wide budget for secret files. tmpfs pages are charged to the
//! memory cgroup of the process that writes them, the driver's container:
//! without a bound, one Pod with a huge secret set could push the node's
//! only driver into an OOM kill, taking every volume's refresh with it.
//!
//! The budget counts what each volume's tmpfs holds (measured after each
//! write, old generations kept for readers included) and admits a write
//! only if its new files fit on top of that, since the replaced generation
//! stays for a grace period.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the volume's files ({incoming} bytes) would take the node's secret files to {after} bytes, over the node's budget of {limit} bytes (the driver container's memory limit less headroom, or --tmpfs-budget; see docs/operations.md, Memory)"
)]
pub struct Exhausted {
    /// Bytes the write would add.
    pub incoming: u64,
    /// Bytes in use after it.
    pub after: u64,
    /// The budget.
    pub limit: u64,
}

/// Bytes of secret files the node holds, per volume, against a limit.
#[derive(Debug, Default)]
pub struct Budget {
    limit: Option<u64>,
    volumes: Mutex<HashMap<String, u64>>,
}

impl Budget {
    /// A budget of `limit` bytes; `None` admits everything (still counted).
    pub fn new(limit: Option<u64>) -> Budget {
        Budget {
            limit,
            volumes: Mutex::new(HashMap::new()),
        }
    }

    fn volumes(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.volumes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The limit, if there is one.
    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// Bytes in use on the node.
    pub fn in_use(&self) -> u64 {
        self.volumes().values().sum()
    }

    /// Whether `incoming` new bytes for a volume fit. The volume's own
    /// current bytes stay counted: its old generation outlives the switch.
    pub fn admit(&self, incoming: u64) -> Result<(), Exhausted> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let after = self.in_use().saturating_add(incoming);
        if after > limit {
            return Err(Exhausted {
                incoming,
                after,
                limit,
            });
        }
        Ok(())
    }

    /// Records what a volume's tmpfs holds now.
    pub fn record(&self, volume_id: &str, bytes: u64) {
        self.volumes().insert(volume_id.to_string(), bytes);
    }

    /// Forgets an unpublished volume.
    pub fn forget(&self, volume_id: &str) {
        self.volumes().remove(volume_id);
    }
}

/// Bytes a mounted tmpfs holds (its used blocks).
pub fn tmpfs_bytes(root: &Path) -> std::io::Result<u64> {
    let stats = nix::sys::statvfs::statvfs(root).map_err(std::io::Error::from)?;
    let used = stats.blocks().saturating_sub(stats.blocks_free());
    Ok(used.saturating_mul(stats.fragment_size()))
}

/// The memory limit of the cgroup the process runs in (cgroup v2's
/// `memory.max`, or v1's `memory.limit_in_bytes`) under `cgroup_root`
/// (`/sys/fs/cgroup` in a container); `None` when there is no limit.
pub fn cgroup_memory_limit(cgroup_root: &Path) -> Option<u64> {
    let read = |name: &str| std::fs::read_to_string(cgroup_root.join(name)).ok();
    if let Some(text) = read("memory.max") {
        return text.trim().parse().ok();
    }
    // v1 reports "no limit" as a huge page-aligned number.
    let limit: u64 = read("memory/memory.limit_in_bytes")?.trim().parse().ok()?;
    (limit < 1 << 62).then_some(limit)
}

/// The default budget for a container limit: the limit less `headroom` for
/// the driver itself, but at least half the limit.
pub fn default_budget(memory_limit: Option<u64>, headroom: u64) -> Option<u64> {
    let limit = memory_limit?;
    Some(limit.saturating_sub(headroom).max(limit / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: u64 = 1 << 20;

    #[test]
    fn without_a_limit_everything_is_admitted_and_still_counted() {
        let budget = Budget::new(None);
        budget.record("v1", 10 * MI);
        assert_eq!(budget.admit(u64::MAX), Ok(()));
        assert_eq!(budget.in_use(), 10 * MI);
    }

    #[test]
    fn a_write_that_fits_on_top_of_what_is_held_is_admitted() {
        let budget = Budget::new(Some(10 * MI));
        budget.record("v1", 4 * MI);
        budget.record("v2", 4 * MI);
        assert_eq!(budget.admit(2 * MI), Ok(()));
    }

    #[test]
    fn a_write_past_the_limit_is_refused_with_the_numbers() {
        let budget = Budget::new(Some(10 * MI));
        budget.record("v1", 9 * MI);
        let refused = budget.admit(2 * MI).unwrap_err();
        assert_eq!(
            refused,
            Exhausted {
                incoming: 2 * MI,
                after: 11 * MI,
                limit: 10 * MI
            }
        );
        assert!(
            refused
                .to_string()
                .contains("over the node's budget of 10485760 bytes")
        );
    }

    #[test]
    fn a_volume_s_own_old_generation_still_counts() {
        // Replacing 6 MiB with 6 MiB needs room for both until the old goes.
        let budget = Budget::new(Some(10 * MI));
        budget.record("v1", 6 * MI);
        assert!(budget.admit(6 * MI).is_err());
    }

    #[test]
    fn recording_replaces_and_forgetting_frees() {
        let budget = Budget::new(Some(10 * MI));
        budget.record("v1", 9 * MI);
        budget.record("v1", 3 * MI);
        assert_eq!(budget.in_use(), 3 * MI);
        budget.forget("v1");
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn cgroup_v2_limits_are_read_and_max_is_no_limit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("memory.max"), "268435456\n").unwrap();
        assert_eq!(cgroup_memory_limit(dir.path()), Some(256 * MI));
        std::fs::write(dir.path().join("memory.max"), "max\n").unwrap();
        assert_eq!(cgroup_memory_limit(dir.path()), None);
    }

    #[test]
    fn cgroup_v1_limits_are_read_and_the_huge_default_is_no_limit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("memory")).unwrap();
        let file = dir.path().join("memory/memory.limit_in_bytes");
        std::fs::write(&file, "134217728").unwrap();
        assert_eq!(cgroup_memory_limit(dir.path()), Some(128 * MI));
        std::fs::write(&file, "9223372036854771712").unwrap();
        assert_eq!(cgroup_memory_limit(dir.path()), None);
    }

    #[test]
    fn no_cgroup_files_means_no_limit() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(cgroup_memory_limit(dir.path()), None);
    }

    #[test]
    fn the_default_budget_leaves_headroom_but_keeps_at_least_half() {
        assert_eq!(default_budget(Some(1024 * MI), 64 * MI), Some(960 * MI));
        assert_eq!(default_budget(Some(100 * MI), 64 * MI), Some(50 * MI));
        assert_eq!(default_budget(None, 64 * MI), None);
    }
}
