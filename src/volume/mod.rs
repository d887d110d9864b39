//! The volume on the node: a tmpfs mounted at kubelet's target path.
//! Everything here is blocking file-system work; callers run it off the
//! async executor.

pub mod budget;
pub mod mountinfo;
pub mod target;
pub mod writer;

use std::io;
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};

use crate::error::{Error, Result};

/// Mount flags of every volume: secrets are data, never devices or programs.
const TMPFS_FLAGS: MsFlags = MsFlags::MS_NODEV
    .union(MsFlags::MS_NOSUID)
    .union(MsFlags::MS_NOEXEC);

/// Whether anything is mounted exactly at `path`. Asks the kernel about
/// this one path (statx's mount-root attribute, Linux 5.8+), which costs the
/// same with 10 or 1000 volumes; older kernels read the mount table.
pub fn is_mounted(path: &Path) -> Result<bool> {
    match mount_root(path) {
        Ok(Some(answer)) => return Ok(answer),
        Ok(None) => {}
        Err(e) if e == rustix::io::Errno::NOENT => return Ok(false),
        // Whatever statx cannot say (a dead mount, say), the mount table can.
        Err(_) => {}
    }
    let entries = mountinfo::read().map_err(|e| Error::io("read", "/proc/self/mountinfo", e))?;
    Ok(mountinfo::mounts_at(&entries, path) > 0)
}

/// statx's answer to "is `path` the root of a mount", when the kernel knows.
fn mount_root(path: &Path) -> rustix::io::Result<Option<bool>> {
    use rustix::fs::{AtFlags, CWD, StatxAttributes, StatxFlags, statx};
    let stat = statx(CWD, path, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::empty())?;
    let root = StatxAttributes::MOUNT_ROOT;
    Ok(stat
        .stx_attributes_mask
        .contains(root)
        .then_some(stat.stx_attributes.contains(root)))
}

/// Creates `path` and mounts a fresh tmpfs of `size_bytes` on it, unless one
/// is mounted there already. Returns whether a new mount was made.
pub fn ensure_tmpfs(path: &Path, size_bytes: u64) -> Result<bool> {
    if is_mounted(path)? {
        return Ok(false);
    }
    std::fs::create_dir_all(path).map_err(|e| Error::io("create directory", path, e))?;
    // mode=0755 so the app's user can enter the root; file modes guard the files.
    let options = format!("size={size_bytes},mode=0755");
    nix::mount::mount(
        Some("tmpfs"),
        path,
        Some("tmpfs"),
        TMPFS_FLAGS,
        Some(options.as_str()),
    )
    .map_err(|source| Error::Mount {
        action: "mount tmpfs on",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(true)
}

/// Unmounts everything stacked on `path` and removes the directory. A path
/// that is missing or not mounted counts as done.
pub fn teardown(path: &Path) -> Result<()> {
    // Bounded, in case something keeps remounting underneath us.
    for _ in 0..16 {
        if !is_mounted(path)? {
            break;
        }
        unmount_once(path)?;
    }
    if is_mounted(path)? {
        return Err(Error::Internal(format!(
            "{} is still mounted after unmounting",
            path.display()
        )));
    }
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

fn unmount_once(path: &Path) -> Result<()> {
    match nix::mount::umount2(path, MntFlags::empty()) {
        Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => Ok(()),
        // A reader still holds a file open: detach now, the kernel frees it later.
        Err(Errno::EBUSY) => {
            nix::mount::umount2(path, MntFlags::MNT_DETACH).map_err(|source| Error::Mount {
                action: "unmount",
                path: path.to_path_buf(),
                source,
            })
        }
        Err(source) => Err(Error::Mount {
            action: "unmount",
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_path_is_not_mounted() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_mounted(&dir.path().join("absent")).unwrap());
    }

    #[test]
    fn a_plain_directory_is_not_mounted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("plain")).unwrap();
        assert!(!is_mounted(&dir.path().join("plain")).unwrap());
    }

    #[test]
    fn a_mount_point_is_mounted_and_agrees_with_the_mount_table() {
        let table = mountinfo::read().unwrap();
        for path in ["/proc", "/sys"] {
            let path = Path::new(path);
            assert!(is_mounted(path).unwrap(), "{}", path.display());
            assert!(mountinfo::mounts_at(&table, path) > 0);
        }
    }
}
