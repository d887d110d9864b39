//! One small record per published volume, so a restarted driver finds its
//! volumes again. Records hold where and whose, never a secret or a token.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::csi::context::PodRef;
use crate::error::{Error, Result};

/// What survives a driver restart about one volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeRecord {
    /// The CSI volume id.
    pub volume_id: String,
    /// The resolved mount point.
    pub target: PathBuf,
    /// Pod namespace.
    pub namespace: String,
    /// Pod name.
    pub pod_name: String,
    /// Pod uid.
    pub pod_uid: String,
    /// The Pod's ServiceAccount.
    pub service_account: String,
}

impl VolumeRecord {
    /// A record for a volume of `pod` at `target`.
    pub fn new(volume_id: &str, target: &Path, pod: &PodRef) -> Self {
        Self {
            volume_id: volume_id.to_string(),
            target: target.to_path_buf(),
            namespace: pod.namespace.clone(),
            pod_name: pod.name.clone(),
            pod_uid: pod.uid.clone(),
            service_account: pod.service_account.clone(),
        }
    }

    /// The Pod this record names.
    pub fn pod(&self) -> PodRef {
        PodRef {
            namespace: self.namespace.clone(),
            name: self.pod_name.clone(),
            uid: self.pod_uid.clone(),
            service_account: self.service_account.clone(),
        }
    }
}

/// The state directory (`--state-dir`).
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Opens (and creates, 0700) the state directory.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create state directory", dir, e))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io("chmod", dir, e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// Writes a record atomically (temporary file, then rename). No fsync: a
    /// record matters only while its tmpfs mount exists, and whatever loses
    /// unsynced pages (a kernel crash, a power cut) loses the mounts too,
    /// while a driver crash loses neither.
    pub fn save(&self, record: &VolumeRecord) -> Result<()> {
        let path = self.path_of(&record.volume_id);
        let tmp = path.with_extension("tmp");
        let json = serde_json::to_vec_pretty(record)
            .map_err(|e| Error::Internal(format!("encoding a volume record: {e}")))?;
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&json)?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| Error::io("write volume record", &path, e))
    }

    /// Removes a volume's record; a missing one is fine.
    pub fn remove(&self, volume_id: &str) -> Result<()> {
        let path = self.path_of(volume_id);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove volume record", &path, e)),
        }
    }

    /// Every readable record; unreadable files are reported and skipped.
    pub fn load(&self) -> Result<Vec<VolumeRecord>> {
        let mut records = Vec::new();
        let entries = std::fs::read_dir(&self.dir).map_err(|e| Error::io("list", &self.dir, e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match std::fs::read(&path).map(|bytes| serde_json::from_slice::<VolumeRecord>(&bytes)) {
                Ok(Ok(record)) => records.push(record),
                Ok(Err(e)) => {
                    tracing::warn!(path = %path.display(), error = %e, "skipping an unreadable volume record")
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "skipping an unreadable volume record")
                }
            }
        }
        records.sort_by(|a, b| a.volume_id.cmp(&b.volume_id));
        Ok(records)
    }

    /// Volume ids come from kubelet: hex keeps any of them a safe file name.
    fn path_of(&self, volume_id: &str) -> PathBuf {
        let name: String = volume_id.bytes().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> VolumeRecord {
        VolumeRecord {
            volume_id: id.into(),
            target: "/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/v/mount".into(),
            namespace: "shop".into(),
            pod_name: "web-0".into(),
            pod_uid: "u".into(),
            service_account: "web".into(),
        }
    }

    #[test]
    fn saved_records_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        state.save(&record("csi-b")).unwrap();
        state.save(&record("csi-a")).unwrap();
        let loaded = state.load().unwrap();
        assert_eq!(loaded, vec![record("csi-a"), record("csi-b")]);
    }

    #[test]
    fn removed_records_are_gone_and_removing_twice_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        state.save(&record("csi-a")).unwrap();
        state.remove("csi-a").unwrap();
        state.remove("csi-a").unwrap();
        assert!(state.load().unwrap().is_empty());
    }

    #[test]
    fn odd_volume_ids_become_safe_file_names() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        state.save(&record("../../etc/passwd")).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_eq!(state.load().unwrap()[0].volume_id, "../../etc/passwd");
    }

    #[test]
    fn garbage_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("junk.json"), "{").unwrap();
        state.save(&record("csi-a")).unwrap();
        assert_eq!(state.load().unwrap().len(), 1);
    }
}
