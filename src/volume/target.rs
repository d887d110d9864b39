//! Where a volume may be mounted: only below `<kubelet-dir>/pods/`, judged
//! after `..` and the symlinks of existing parents are resolved.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Why a target path was refused.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The path is not absolute.
    #[error("target path {0:?} must be absolute")]
    NotAbsolute(PathBuf),
    /// The resolved path lies outside the kubelet pods directory.
    #[error("target path {given:?} resolves to {resolved:?}, which is not under {pods_dir:?}")]
    OutsidePods {
        /// The path as sent.
        given: PathBuf,
        /// The path after resolving `..` and symlinks.
        resolved: PathBuf,
        /// `<kubelet-dir>/pods`, resolved.
        pods_dir: PathBuf,
    },
    /// The kubelet pods directory itself cannot be resolved.
    #[error("kubelet pods directory {path:?}: {source}")]
    PodsDir {
        /// `<kubelet-dir>/pods`.
        path: PathBuf,
        /// Why it could not be resolved.
        source: io::Error,
    },
    /// A symlink on the way could not be resolved.
    #[error("resolving {path:?}: {source}")]
    Resolve {
        /// The component being resolved.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// Resolves `target` and checks that it lies strictly below `<kubelet_dir>/pods`.
pub fn resolve(kubelet_dir: &Path, target: &Path) -> Result<PathBuf, TargetError> {
    if !target.is_absolute() {
        return Err(TargetError::NotAbsolute(target.to_path_buf()));
    }
    let pods = kubelet_dir.join("pods");
    let pods_dir = pods
        .canonicalize()
        .map_err(|source| TargetError::PodsDir { path: pods, source })?;
    let resolved = resolve_existing_prefix(target)?;
    if resolved.starts_with(&pods_dir) && resolved != pods_dir {
        Ok(resolved)
    } else {
        Err(TargetError::OutsidePods {
            given: target.to_path_buf(),
            resolved,
            pods_dir,
        })
    }
}

/// Walks the path one component at a time: components that exist are
/// canonicalised (following symlinks), the rest are joined lexically, and
/// `..` always pops what has been resolved so far.
fn resolve_existing_prefix(target: &Path) -> Result<PathBuf, TargetError> {
    let mut resolved = PathBuf::from("/");
    for component in target.components() {
        match component {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                resolved.pop();
            }
            Component::Normal(name) => {
                let next = resolved.join(name);
                resolved = match next.symlink_metadata() {
                    // `resolved` is canonical already, so only a symlink
                    // needs resolving: one lstat per part, not a realpath.
                    Ok(meta) if meta.file_type().is_symlink() => next
                        .canonicalize()
                        .map_err(|source| TargetError::Resolve { path: next, source })?,
                    Ok(_) => next,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => next,
                    Err(source) => return Err(TargetError::Resolve { path: next, source }),
                };
            }
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn kubelet() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let kubelet = dir.path().join("kubelet");
        fs::create_dir_all(kubelet.join("pods/uid-1/volumes")).unwrap();
        (dir, kubelet)
    }

    #[test]
    fn a_path_below_pods_is_accepted_even_when_it_does_not_exist_yet() {
        let (_dir, kubelet) = kubelet();
        let target = kubelet.join("pods/uid-1/volumes/kubernetes.io~csi/v/mount");
        let resolved = resolve(&kubelet, &target).unwrap();
        assert!(resolved.ends_with("pods/uid-1/volumes/kubernetes.io~csi/v/mount"));
    }

    #[test]
    fn dot_dot_out_of_pods_is_refused() {
        let (_dir, kubelet) = kubelet();
        let target = kubelet.join("pods/uid-1/../../etc/mount");
        assert!(matches!(
            resolve(&kubelet, &target),
            Err(TargetError::OutsidePods { .. })
        ));
    }

    #[test]
    fn dot_dot_in_a_missing_part_is_resolved_lexically() {
        let (_dir, kubelet) = kubelet();
        let target = kubelet.join("pods/uid-1/missing/../../../x");
        assert!(resolve(&kubelet, &target).is_err());
    }

    #[test]
    fn a_symlinked_parent_that_leaves_pods_is_refused() {
        let (dir, kubelet) = kubelet();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        symlink(&outside, kubelet.join("pods/uid-1/escape")).unwrap();
        let target = kubelet.join("pods/uid-1/escape/mount");
        assert!(matches!(
            resolve(&kubelet, &target),
            Err(TargetError::OutsidePods { .. })
        ));
    }

    #[test]
    fn a_symlinked_kubelet_dir_is_followed() {
        let (dir, kubelet) = kubelet();
        let link = dir.path().join("kubelet-link");
        symlink(&kubelet, &link).unwrap();
        let target = link.join("pods/uid-1/volumes/v/mount");
        assert!(resolve(&link, &target).is_ok());
    }

    #[test]
    fn the_pods_dir_itself_and_relative_paths_are_refused() {
        let (_dir, kubelet) = kubelet();
        assert!(resolve(&kubelet, &kubelet.join("pods")).is_err());
        assert!(matches!(
            resolve(&kubelet, Path::new("pods/x")),
            Err(TargetError::NotAbsolute(_))
        ));
    }

    #[test]
    fn a_missing_kubelet_dir_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let kubelet = dir.path().join("nope");
        assert!(matches!(
            resolve(&kubelet, &kubelet.join("pods/x/mount")),
            Err(TargetError::PodsDir { .. })
        ));
    }
}
