//! Reading the kernel's mount table (`/proc/self/mountinfo`).

use std::path::{Path, PathBuf};

/// One line of mountinfo, reduced to what the driver asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// File system type (`tmpfs`, `ext4`, ...).
    pub fs_type: String,
}

/// Parses mountinfo text; lines that do not parse are skipped.
pub fn parse(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_line).collect()
}

/// Reads this process's mount table.
pub fn read() -> std::io::Result<Vec<MountEntry>> {
    Ok(parse(&std::fs::read_to_string("/proc/self/mountinfo")?))
}

/// How many mounts sit exactly on `path` (stacked mounts count each).
pub fn mounts_at(entries: &[MountEntry], path: &Path) -> usize {
    entries.iter().filter(|e| e.mount_point == path).count()
}

/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw`: field 5 is
/// the mount point; the fs type follows the ` - ` separator.
fn parse_line(line: &str) -> Option<MountEntry> {
    let (before, after) = line.split_once(" - ")?;
    let mount_point = before.split(' ').nth(4)?;
    let fs_type = after.split(' ').next()?;
    Some(MountEntry {
        mount_point: PathBuf::from(unescape(mount_point)),
        fs_type: unescape(fs_type),
    })
}

/// The kernel writes space, tab, newline and backslash as octal `\NNN`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && is_octal_escape(&bytes[i + 1..i + 4]) {
            let value =
                (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(value);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_octal_escape(digits: &[u8]) -> bool {
    digits.len() == 3 && digits[0] <= b'3' && digits.iter().all(|d| (b'0'..=b'7').contains(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /var/lib/kubelet/pods/u1/volumes/kubernetes.io~csi/v/mount rw,nosuid,nodev,noexec shared:20 - tmpfs tmpfs rw,size=8192k,mode=755
41 22 0:36 / /tmp/with\\040space rw - tmpfs tmpfs rw
";

    #[test]
    fn mount_point_and_type_are_read() {
        let entries = parse(SAMPLE);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[1].fs_type, "tmpfs");
        assert_eq!(
            entries[1].mount_point,
            PathBuf::from("/var/lib/kubelet/pods/u1/volumes/kubernetes.io~csi/v/mount")
        );
    }

    #[test]
    fn octal_escapes_are_decoded() {
        let entries = parse(SAMPLE);
        assert_eq!(entries[2].mount_point, PathBuf::from("/tmp/with space"));
        assert_eq!(unescape("a\\011b\\012c\\134d"), "a\tb\nc\\d");
    }

    #[test]
    fn a_trailing_backslash_is_kept() {
        assert_eq!(unescape("a\\"), "a\\");
        assert_eq!(unescape("a\\04"), "a\\04");
    }

    #[test]
    fn stacked_mounts_are_counted() {
        let mut entries = parse(SAMPLE);
        entries.push(entries[1].clone());
        let path = entries[1].mount_point.clone();
        assert_eq!(mounts_at(&entries, &path), 2);
        assert_eq!(mounts_at(&entries, Path::new("/nowhere")), 0);
    }

    #[test]
    fn garbage_lines_are_skipped() {
        assert!(parse("nonsense\n\n1 2 3\n").is_empty());
    }
}
