//! Who owns a volume's files and directories, and with which modes: what the
//! injector's agent leaves in its emptyDir, worked out from the Pod alone.
//!
//! How the injector gets there:
//! - vault-k8s (`agent-inject/agent/container_sidecar.go`, `securityContext`):
//!   the agent containers run as `agent-run-as-user`:`agent-run-as-group`
//!   (100:1000; `agent-run-as-same-user` takes the first container's
//!   `runAsUser`) only while `set-security-context` is true. Without it they
//!   have no securityContext: the Pod's `runAsUser`/`runAsGroup` apply, else
//!   the image's user, which is root in the vault and openbao images (no
//!   `USER` line; their `vault`/`openbao` user is 100 with primary group 1000).
//! - kubelet's emptyDir (`medium: Memory`) is a tmpfs whose root is 1777
//!   root:root; with a Pod `fsGroup`, `SetVolumeOwnership` runs before any
//!   container starts and makes it root:fsGroup, mode | 0660 | 0110 | setgid,
//!   so 3777.
//! - consul-template's renderer writes a temp file, chmods it to exactly
//!   `perms` (0644 by default) and renames it; missing parent directories are
//!   made 0755 under the agent's umask 022. In a setgid directory, new files
//!   and directories take the directory's group and new directories keep
//!   setgid; elsewhere the group is the agent's.
//!
//! The root's write and sticky bits are the one deliberate difference: the
//! volume is read-only in the Pod, so they could never be used there, and the
//! node side stays unwritable for anyone but the driver.

use super::Options;

/// The uid of the `vault`/`openbao` user in the agent images, whose primary
/// group is [`IMAGE_USER_GID`].
const IMAGE_USER_UID: u32 = 100;
/// The primary group of [`IMAGE_USER_UID`] in the agent images.
const IMAGE_USER_GID: u32 = 1000;

/// The parts of a Pod's `spec.securityContext` that decide ownership.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PodSecurity {
    /// `runAsUser`.
    pub run_as_user: Option<u32>,
    /// `runAsGroup`.
    pub run_as_group: Option<u32>,
    /// `fsGroup`.
    pub fs_group: Option<u32>,
}

/// Owner, group and mode of one file or directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owned {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Mode bits, at most 0o7777.
    pub mode: u32,
}

/// Owners and modes of everything in a volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ownership {
    /// The volume root (the tmpfs mount point).
    pub root: Owned,
    /// Every directory below the root.
    pub dirs: Owned,
    /// Owner of every file.
    pub file_uid: u32,
    /// Group of every file.
    pub file_gid: u32,
}

impl Ownership {
    /// Owner, group and mode of a file written with `mode`.
    pub fn file(&self, mode: u32) -> Owned {
        Owned {
            uid: self.file_uid,
            gid: self.file_gid,
            mode,
        }
    }

    /// Everything owned by `uid`:`gid`, directories 0755: for writes by a
    /// user who cannot hand files to anyone else.
    pub fn single_owner(uid: u32, gid: u32) -> Ownership {
        let dir = Owned {
            uid,
            gid,
            mode: 0o755,
        };
        Ownership {
            root: dir,
            dirs: dir,
            file_uid: uid,
            file_gid: gid,
        }
    }
}

/// The user and group the injector's agent process runs as.
pub fn agent_process(options: &Options) -> (u32, u32) {
    if options.set_security_context {
        return (options.run_as_user, options.run_as_group);
    }
    let pod = options.pod_security;
    match (pod.run_as_user, pod.run_as_group) {
        (user, Some(group)) => (user.unwrap_or(0), group),
        // The runtime takes the group from the image's passwd entry, and
        // group 0 for a user the image does not know.
        (Some(user), None) if user == IMAGE_USER_UID => (user, IMAGE_USER_GID),
        (Some(user), None) => (user, 0),
        (None, None) => (0, 0),
    }
}

/// Owners and modes of a volume as the injector's agent would leave them,
/// from the Plan's options (which carry the Pod's security context).
pub fn ownership(options: &Options) -> Ownership {
    let (uid, agent_gid) = agent_process(options);
    let fs_group = options.pod_security.fs_group;
    let setgid = if fs_group.is_some() { 0o2000 } else { 0 };
    let gid = fs_group.unwrap_or(agent_gid);
    Ownership {
        root: Owned {
            uid: 0,
            gid: fs_group.unwrap_or(0),
            mode: 0o755 | setgid,
        },
        dirs: Owned {
            uid,
            gid,
            mode: 0o755 | setgid,
        },
        file_uid: uid,
        file_gid: gid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(set_security_context: bool, user: u32, group: u32, pod: PodSecurity) -> Options {
        Options {
            set_security_context,
            run_as_user: user,
            run_as_group: group,
            pod_security: pod,
            ..Options::default()
        }
    }

    fn pod(user: Option<u32>, group: Option<u32>, fs_group: Option<u32>) -> PodSecurity {
        PodSecurity {
            run_as_user: user,
            run_as_group: group,
            fs_group,
        }
    }

    fn owned(uid: u32, gid: u32, mode: u32) -> Owned {
        Owned { uid, gid, mode }
    }

    #[test]
    fn by_default_the_agent_owns_everything_as_100_1000() {
        let o = ownership(&Options::default());
        assert_eq!(o.root, owned(0, 0, 0o755));
        assert_eq!(o.dirs, owned(100, 1000, 0o755));
        assert_eq!(o.file(0o644), owned(100, 1000, 0o644));
    }

    #[test]
    fn run_as_user_and_group_own_the_files() {
        let o = ownership(&options(true, 2000, 3000, PodSecurity::default()));
        assert_eq!(o.file(0o400), owned(2000, 3000, 0o400));
        assert_eq!(o.dirs, owned(2000, 3000, 0o755));
    }

    #[test]
    fn run_as_same_user_owns_the_files_with_the_agent_group() {
        // options() has put the first container's runAsUser in run_as_user.
        let o = ownership(&options(true, 1234, 1000, pod(Some(999), Some(888), None)));
        assert_eq!(o.file(0o644), owned(1234, 1000, 0o644));
    }

    #[test]
    fn fs_group_becomes_the_group_and_directories_are_setgid() {
        let o = ownership(&options(true, 100, 1000, pod(None, None, Some(2000))));
        assert_eq!(o.root, owned(0, 2000, 0o2755));
        assert_eq!(o.dirs, owned(100, 2000, 0o2755));
        assert_eq!(o.file(0o640), owned(100, 2000, 0o640));
    }

    #[test]
    fn fs_group_wins_over_run_as_group() {
        let o = ownership(&options(true, 2000, 3000, pod(None, None, Some(4000))));
        assert_eq!(o.file(0o600), owned(2000, 4000, 0o600));
    }

    #[test]
    fn without_security_context_the_agent_runs_as_the_pod_user() {
        let o = ownership(&options(
            false,
            100,
            1000,
            pod(Some(1234), Some(4321), None),
        ));
        assert_eq!(o.file(0o644), owned(1234, 4321, 0o644));
        assert_eq!(o.dirs, owned(1234, 4321, 0o755));
    }

    #[test]
    fn without_security_context_or_pod_user_the_agent_image_runs_as_root() {
        let o = ownership(&options(false, 2000, 3000, PodSecurity::default()));
        assert_eq!(o.file(0o644), owned(0, 0, 0o644));
        assert_eq!(o.dirs, owned(0, 0, 0o755));
    }

    #[test]
    fn without_security_context_a_pod_user_without_group_takes_the_image_group() {
        let known = ownership(&options(false, 2000, 3000, pod(Some(100), None, None)));
        assert_eq!(known.file(0o644), owned(100, 1000, 0o644));
        let unknown = ownership(&options(false, 2000, 3000, pod(Some(1234), None, None)));
        assert_eq!(unknown.file(0o644), owned(1234, 0, 0o644));
        let group_only = ownership(&options(false, 2000, 3000, pod(None, Some(5000), None)));
        assert_eq!(group_only.file(0o644), owned(0, 5000, 0o644));
    }

    #[test]
    fn without_security_context_fs_group_still_decides_the_group() {
        let o = ownership(&options(
            false,
            100,
            1000,
            pod(Some(1234), Some(4321), Some(2000)),
        ));
        assert_eq!(o.file(0o440), owned(1234, 2000, 0o440));
        assert_eq!(o.root, owned(0, 2000, 0o2755));
    }

    #[test]
    fn perms_are_kept_exactly() {
        let o = ownership(&Options::default());
        for mode in [0o400, 0o600, 0o640, 0o644, 0o755, 0o4755] {
            assert_eq!(o.file(mode).mode, mode);
        }
    }
}
