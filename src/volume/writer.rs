//! Writes a volume's files as one generation and switches to it atomically.
//!
//! Layout (the pattern kubelet uses for Secret volumes):
//! ```text
//! <root>/..gen-<n>/<files>     one directory per generation
//! <root>/..data -> ..gen-<n>   switched with a single rename(2)
//! <root>/<name> -> ..data/<name>   one link per top-level entry
//! ```
//! A reader opening `<root>/<name>` sees the old generation or the new one,
//! never a mix.
//!
//! Each generation also holds [`VERSION_FILE`], linked from the root like
//! the files: a counter that grows by one with every switch, so a file
//! watcher or a restart controller can tell that the content changed. It
//! switches with the files, so a version never points at files not yet there. The previous generation is kept until the next switch so a
//! reader that resolved `..data` just before a switch still finds its file.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt, symlink};
use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::inject::{Owned, Ownership};

const DATA_LINK: &str = "..data";
const DATA_LINK_TMP: &str = "..data_tmp";
const GENERATION_PREFIX: &str = "..gen-";
pub use crate::inject::VERSION_FILE;
/// Mode of [`VERSION_FILE`].
const VERSION_FILE_MODE: u32 = 0o644;

/// One file of a volume: where, what, with which mode.
#[derive(Clone, PartialEq, Eq)]
pub struct FileContent {
    /// Path relative to the volume root, plain components only.
    pub path: PathBuf,
    /// The bytes to write.
    pub bytes: Vec<u8>,
    /// Permission bits (e.g. 0o644).
    pub mode: u32,
}

impl std::fmt::Debug for FileContent {
    // Never print the bytes: they are secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileContent")
            .field("path", &self.path)
            .field("len", &self.bytes.len())
            .field("mode", &format_args!("{:o}", self.mode))
            .finish()
    }
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Every file already had these bytes, mode and owner: nothing was touched.
    Unchanged,
    /// A new generation is live; these paths differ from the previous one.
    Switched {
        /// Paths whose content, mode or owner changed, or that are new.
        changed: Vec<PathBuf>,
        /// The new generation's number, as [`VERSION_FILE`] now says.
        version: u64,
    },
}

/// Makes `files` the volume's content: unchanged sets are a no-op, anything
/// else becomes a new generation switched in atomically. Files and the
/// directories below the root get the owners and modes of `ownership`.
pub fn write_generation(
    root: &Path,
    files: &[FileContent],
    ownership: &Ownership,
) -> Result<WriteOutcome> {
    write_generation_within(root, files, ownership, |_| Ok(()))
}

/// tmpfs hands out whole pages: what a file of `len` bytes takes.
fn pages(len: usize) -> u64 {
    const PAGE: u64 = 4096;
    (len as u64).div_ceil(PAGE).max(1) * PAGE
}

/// [`write_generation`] that asks `admit` first whether the bytes a new
/// generation adds (its changed files; unchanged ones are hard links) may
/// be written. Nothing is asked, or written, when nothing changed.
pub fn write_generation_within(
    root: &Path,
    files: &[FileContent],
    ownership: &Ownership,
    admit: impl FnOnce(u64) -> Result<()>,
) -> Result<WriteOutcome> {
    let mut by_path = BTreeMap::new();
    for file in files {
        check_relative(&file.path)?;
        if file.path == Path::new(VERSION_FILE) {
            return Err(Error::InvalidArgument(format!(
                "file path {VERSION_FILE} is the volume's version file"
            )));
        }
        if by_path.insert(file.path.clone(), file).is_some() {
            return Err(Error::InvalidArgument(format!(
                "two files want the same path {}",
                file.path.display()
            )));
        }
    }
    let current = current_generation(root)?;
    let changed: Vec<PathBuf> = by_path
        .values()
        .filter(|f| !same_file(current.as_deref(), f, ownership))
        .map(|f| f.path.clone())
        .collect();
    let same_set = current
        .as_deref()
        .map(|dir| listed_files(dir).is_ok_and(|old| old.iter().eq(by_path.keys())))
        .unwrap_or(false);
    if changed.is_empty() && same_set {
        return Ok(WriteOutcome::Unchanged);
    }
    let incoming: u64 = changed
        .iter()
        .filter_map(|path| by_path.get(path))
        .map(|file| pages(file.bytes.len()))
        .sum::<u64>()
        + pages(1);
    admit(incoming)?;

    let version = current.as_deref().map_or(0, read_version) + 1;
    let generation = new_generation_name();
    let generation_dir = root.join(&generation);
    let fill = || {
        fill_generation(
            &generation_dir,
            current.as_deref(),
            &by_path,
            &changed,
            ownership,
        )?;
        let version_file = FileContent {
            path: VERSION_FILE.into(),
            bytes: format!("{version}\n").into_bytes(),
            mode: VERSION_FILE_MODE,
        };
        let path = generation_dir.join(VERSION_FILE);
        write_file(&path, &version_file, ownership.file(VERSION_FILE_MODE))
    };
    if let Err(error) = fill() {
        let _ = fs::remove_dir_all(&generation_dir);
        if !is_out_of_space(&error) {
            return Err(error);
        }
        // Generations kept for readers filled the tmpfs: keep only the
        // current one and try once more.
        prune_all_but(root, current.as_deref())?;
        if let Err(error) = fill() {
            let _ = fs::remove_dir_all(&generation_dir);
            return Err(error);
        }
    }
    switch_data_link(root, &generation)?;
    let version_path = PathBuf::from(VERSION_FILE);
    link_top_level(root, by_path.keys().chain([&version_path]))?;
    // A volume's first generation has no predecessor whose links or
    // directories could be left over (links are made only after a switch),
    // so the two listings of the root are skipped: a first publish is
    // 8 syscalls cheaper. A crashed fill's directory goes at the next switch.
    if current.is_some() {
        remove_stale_links(root, by_path.keys().chain([&version_path]))?;
        remove_old_generations(root, &generation, current.as_deref())?;
    }
    Ok(WriteOutcome::Switched { changed, version })
}

/// The version a generation directory holds; 0 when it has none (written
/// before versions existed, or unreadable), so the next one is 1 or more.
fn read_version(generation: &Path) -> u64 {
    fs::read_to_string(generation.join(VERSION_FILE))
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
}

/// The directory `..data` points at, if any.
pub fn current_generation(root: &Path) -> Result<Option<PathBuf>> {
    match fs::read_link(root.join(DATA_LINK)) {
        Ok(target) => Ok(Some(root.join(target))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read link", root.join(DATA_LINK), e)),
    }
}

fn check_relative(path: &Path) -> Result<()> {
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
    let first = path.components().next();
    let reserved =
        matches!(first, Some(Component::Normal(name)) if name.to_string_lossy().starts_with(".."));
    if !plain || first.is_none() || reserved {
        return Err(Error::InvalidArgument(format!(
            "file path {:?} must be relative, without `..`, and not start with `..`",
            path.display()
        )));
    }
    Ok(())
}

fn same_file(generation: Option<&Path>, file: &FileContent, ownership: &Ownership) -> bool {
    let Some(dir) = generation else { return false };
    let path = dir.join(&file.path);
    let Ok(meta) = fs::symlink_metadata(&path) else {
        return false;
    };
    meta.is_file()
        && meta.mode() & 0o7777 == file.mode
        && meta.uid() == ownership.file_uid
        && meta.gid() == ownership.file_gid
        && meta.len() == file.bytes.len() as u64
        && fs::read(&path).is_ok_and(|old| old == file.bytes)
}

/// Every regular file below a generation directory, relative to it, but
/// the version file.
fn listed_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in fs::read_dir(dir.join(&relative))? {
            let entry = entry?;
            let path = relative.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                pending.push(path);
            } else if path != Path::new(VERSION_FILE) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Time for people reading the directory, a counter so two writes in one
/// clock tick still get distinct names.
fn new_generation_name() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{GENERATION_PREFIX}{nanos}-{n}")
}

fn fill_generation(
    dir: &Path,
    previous: Option<&Path>,
    files: &BTreeMap<PathBuf, &FileContent>,
    changed: &[PathBuf],
    ownership: &Ownership,
) -> Result<()> {
    make_dir(dir, ownership.dirs)?;
    for (relative, file) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            make_dirs_below(dir, parent, ownership.dirs)?;
        }
        match previous {
            // Unchanged files are the same inode as before: nothing rewritten.
            Some(old) if !changed.contains(relative) => {
                fs::hard_link(old.join(relative), &path).map_err(|e| Error::io("link", &path, e))?
            }
            _ => write_file(&path, file, ownership.file(file.mode))?,
        }
    }
    Ok(())
}

fn make_dir(path: &Path, owned: Owned) -> Result<()> {
    fs::create_dir(path).map_err(|e| Error::io("create directory", path, e))?;
    set_owner(path, owned)
}

/// Owner first, then mode: a chown can clear setgid, and the mode must not
/// depend on the process umask.
fn set_owner(path: &Path, owned: Owned) -> Result<()> {
    let meta = fs::symlink_metadata(path).map_err(|e| Error::io("stat", path, e))?;
    if (meta.uid(), meta.gid()) != (owned.uid, owned.gid) {
        std::os::unix::fs::lchown(path, Some(owned.uid), Some(owned.gid))
            .map_err(|e| Error::io("chown", path, e))?;
    }
    fs::set_permissions(path, fs::Permissions::from_mode(owned.mode))
        .map_err(|e| Error::io("chmod", path, e))
}

fn make_dirs_below(base: &Path, dir: &Path, owned: Owned) -> Result<()> {
    if dir == base || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        make_dirs_below(base, parent, owned)?;
    }
    make_dir(dir, owned)
}

/// Gives the volume root its owner and mode, when they differ.
pub fn set_root(root: &Path, owned: Owned) -> Result<()> {
    let meta = fs::metadata(root).map_err(|e| Error::io("stat", root, e))?;
    if (meta.uid(), meta.gid(), meta.mode() & 0o7777) == (owned.uid, owned.gid, owned.mode) {
        return Ok(());
    }
    set_owner(root, owned)
}

fn write_file(path: &Path, file: &FileContent, owner: Owned) -> Result<()> {
    let io_error = |action| move |e| Error::io(action, path, e);
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error("create"))?;
    out.write_all(&file.bytes).map_err(io_error("write"))?;
    std::os::unix::fs::fchown(&out, Some(owner.uid), Some(owner.gid)).map_err(io_error("chown"))?;
    // Explicit chmod: the mode must not depend on the process umask.
    out.set_permissions(fs::Permissions::from_mode(owner.mode))
        .map_err(io_error("chmod"))
}

fn switch_data_link(root: &Path, generation: &str) -> Result<()> {
    let tmp = root.join(DATA_LINK_TMP);
    let _ = fs::remove_file(&tmp);
    symlink(generation, &tmp).map_err(|e| Error::io("symlink", &tmp, e))?;
    fs::rename(&tmp, root.join(DATA_LINK)).map_err(|e| Error::io("rename", &tmp, e))
}

/// The top-level names `paths` need at the volume root.
fn top_level_names<'a>(
    paths: impl Iterator<Item = &'a PathBuf>,
) -> std::collections::BTreeSet<std::ffi::OsString> {
    paths
        .filter_map(|p| p.components().next())
        .map(|c| c.as_os_str().to_owned())
        .collect()
}

/// Ensures `<root>/<first component>` links into `..data` for every file.
fn link_top_level<'a>(root: &Path, paths: impl Iterator<Item = &'a PathBuf>) -> Result<()> {
    for name in &top_level_names(paths) {
        let link = root.join(name);
        let target = Path::new(DATA_LINK).join(name);
        match fs::read_link(&link) {
            Ok(current) if current == target => continue,
            // A new name: made in place, which is as atomic as a rename.
            Err(e) if e.kind() == io::ErrorKind::NotFound => match symlink(&target, &link) {
                Ok(()) => continue,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io("symlink", &link, e)),
            },
            _ => {}
        }
        let tmp = root.join(format!("..link_tmp.{}", name.to_string_lossy()));
        let _ = fs::remove_file(&tmp);
        symlink(&target, &tmp).map_err(|e| Error::io("symlink", &tmp, e))?;
        fs::rename(&tmp, &link).map_err(|e| Error::io("rename", &link, e))?;
    }
    Ok(())
}

/// Removes root links for entries that `paths` no longer have.
fn remove_stale_links<'a>(root: &Path, paths: impl Iterator<Item = &'a PathBuf>) -> Result<()> {
    let wanted = top_level_names(paths);
    for entry in fs::read_dir(root).map_err(|e| Error::io("list", root, e))? {
        let entry = entry.map_err(|e| Error::io("list", root, e))?;
        let name = entry.file_name();
        let ours = name.to_string_lossy().starts_with("..");
        if !ours && !wanted.contains(&name) && fs::read_link(entry.path()).is_ok() {
            fs::remove_file(entry.path()).map_err(|e| Error::io("remove", entry.path(), e))?;
        }
    }
    Ok(())
}

/// A replaced generation stays this long, so a reader that resolved
/// `..data` just before a switch can still open its file.
const GRACE_NANOS: u128 = 10_000_000_000;
/// But never more generations than this, so a burst of switches cannot fill
/// the tmpfs.
const MAX_GENERATIONS: usize = 64;

fn is_out_of_space(error: &Error) -> bool {
    matches!(error, Error::Io { source, .. } if source.raw_os_error() == Some(nix::libc::ENOSPC))
}

/// Removes every generation except `keep`.
fn prune_all_but(root: &Path, keep: Option<&Path>) -> Result<()> {
    for entry in fs::read_dir(root).map_err(|e| Error::io("list", root, e))? {
        let path = entry.map_err(|e| Error::io("list", root, e))?.path();
        let is_generation = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(GENERATION_PREFIX));
        if is_generation && Some(path.as_path()) != keep {
            fs::remove_dir_all(&path).map_err(|e| Error::io("remove", &path, e))?;
        }
    }
    Ok(())
}

/// `..gen-<nanos>-<counter>` -> (nanos, counter), the order of creation.
fn generation_stamp(name: &str) -> Option<(u128, u64)> {
    let (nanos, counter) = name.strip_prefix(GENERATION_PREFIX)?.split_once('-')?;
    Some((nanos.parse().ok()?, counter.parse().ok()?))
}

/// Removes generations replaced more than the grace period ago (a
/// generation is replaced when its successor is created), keeping the
/// current one and the one it replaced, and at most [`MAX_GENERATIONS`].
fn remove_old_generations(root: &Path, current: &str, previous: Option<&Path>) -> Result<()> {
    let mut generations: Vec<((u128, u64), std::ffi::OsString)> = Vec::new();
    for entry in fs::read_dir(root).map_err(|e| Error::io("list", root, e))? {
        let name = entry.map_err(|e| Error::io("list", root, e))?.file_name();
        let text = name.to_string_lossy();
        if text.starts_with(GENERATION_PREFIX) {
            generations.push((generation_stamp(&text).unwrap_or((0, 0)), name.clone()));
        }
    }
    generations.sort();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let count = generations.len();
    for (index, (_, name)) in generations.iter().enumerate() {
        let pinned = name == current || previous.is_some_and(|p| p.file_name() == Some(name));
        let replaced_at = generations
            .get(index + 1)
            .map_or(now, |((nanos, _), _)| *nanos);
        let in_grace = now.saturating_sub(replaced_at) < GRACE_NANOS;
        let within_cap = count - index <= MAX_GENERATIONS;
        if pinned || (in_grace && within_cap) {
            continue;
        }
        let path = root.join(name);
        fs::remove_dir_all(&path).map_err(|e| Error::io("remove", &path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> &'static Ownership {
        static ME: std::sync::LazyLock<Ownership> = std::sync::LazyLock::new(|| {
            Ownership::single_owner(
                nix::unistd::getuid().as_raw(),
                nix::unistd::getgid().as_raw(),
            )
        });
        &ME
    }

    fn file(path: &str, bytes: &str, mode: u32) -> FileContent {
        FileContent {
            path: path.into(),
            bytes: bytes.as_bytes().to_vec(),
            mode,
        }
    }

    #[test]
    fn files_are_readable_through_top_level_links() {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            file("a.txt", "alpha", 0o644),
            file("sub/b.txt", "beta", 0o600),
        ];
        write_generation(dir.path(), &files, me()).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("a.txt")).unwrap(),
            "alpha"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("sub/b.txt")).unwrap(),
            "beta"
        );
        let mode = fs::metadata(dir.path().join("sub/b.txt")).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn the_same_content_twice_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let files = [file("a", "1", 0o644)];
        write_generation(dir.path(), &files, me()).unwrap();
        let before = current_generation(dir.path()).unwrap();
        assert_eq!(
            write_generation(dir.path(), &files, me()).unwrap(),
            WriteOutcome::Unchanged
        );
        assert_eq!(current_generation(dir.path()).unwrap(), before);
    }

    #[test]
    fn a_change_switches_generation_and_reports_only_changed_paths() {
        let dir = tempfile::tempdir().unwrap();
        write_generation(
            dir.path(),
            &[file("a", "1", 0o644), file("b", "x", 0o644)],
            me(),
        )
        .unwrap();
        let inode_b = fs::metadata(dir.path().join("b")).unwrap().ino();
        let outcome = write_generation(
            dir.path(),
            &[file("a", "2", 0o644), file("b", "x", 0o644)],
            me(),
        )
        .unwrap();
        assert_eq!(
            outcome,
            WriteOutcome::Switched {
                changed: vec!["a".into()],
                version: 2
            }
        );
        assert_eq!(fs::read_to_string(dir.path().join("a")).unwrap(), "2");
        assert_eq!(
            fs::metadata(dir.path().join("b")).unwrap().ino(),
            inode_b,
            "b not rewritten"
        );
    }

    #[test]
    fn a_mode_change_counts_as_a_change() {
        let dir = tempfile::tempdir().unwrap();
        write_generation(dir.path(), &[file("a", "1", 0o644)], me()).unwrap();
        let outcome = write_generation(dir.path(), &[file("a", "1", 0o400)], me()).unwrap();
        assert!(matches!(outcome, WriteOutcome::Switched { .. }));
    }

    fn generations(dir: &Path) -> usize {
        fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with(GENERATION_PREFIX)
            })
            .count()
    }

    #[test]
    fn removed_files_disappear() {
        let dir = tempfile::tempdir().unwrap();
        let both = [file("a", "1", 0o644), file("b", "1", 0o644)];
        write_generation(dir.path(), &both, me()).unwrap();
        write_generation(dir.path(), &[file("a", "2", 0o644)], me()).unwrap();
        assert!(!dir.path().join("b").exists());
        assert!(!dir.path().join("..data/b").exists());
    }

    #[test]
    fn recently_replaced_generations_stay_up_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        for n in 0..MAX_GENERATIONS + 4 {
            write_generation(dir.path(), &[file("a", &n.to_string(), 0o644)], me()).unwrap();
        }
        assert_eq!(generations(dir.path()), MAX_GENERATIONS);
    }

    #[test]
    fn a_full_tmpfs_drops_kept_generations_instead_of_failing() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("mnt");
        crate::volume::ensure_tmpfs(&root, 64 << 10).expect("mount (needs root)");
        let big = "x".repeat(20 << 10);
        let result = (0..10).try_for_each(|n| {
            write_generation(&root, &[file("f", &format!("{n}{big}"), 0o644)], me()).map(drop)
        });
        let content = fs::read_to_string(root.join("f"));
        crate::volume::teardown(&root).unwrap();
        result.expect("every write fits once old generations go");
        assert!(content.unwrap().starts_with('9'));
    }

    #[test]
    fn generations_replaced_long_ago_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        for ancient in ["..gen-1-0", "..gen-2-0"] {
            fs::create_dir(dir.path().join(ancient)).unwrap();
        }
        write_generation(dir.path(), &[file("a", "1", 0o644)], me()).unwrap();
        write_generation(dir.path(), &[file("a", "2", 0o644)], me()).unwrap();
        // gen-1 was replaced (by gen-2) long ago; gen-2 only just now.
        assert!(!dir.path().join("..gen-1-0").exists());
        assert!(dir.path().join("..gen-2-0").exists());
    }

    #[test]
    fn escaping_and_reserved_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["../x", "/etc/x", "..data", "a/../../x", ""] {
            let result = write_generation(dir.path(), &[file(bad, "1", 0o644)], me());
            assert!(matches!(result, Err(Error::InvalidArgument(_))), "{bad}");
        }
    }

    #[test]
    fn duplicate_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let result = write_generation(
            dir.path(),
            &[file("a", "1", 0o644), file("a", "2", 0o644)],
            me(),
        );
        assert!(matches!(result, Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn a_reader_sees_whole_files_through_hundreds_of_swaps() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let body = |n: usize| format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(4096));
        write_generation(&root, &[file("c.json", &body(0), 0o644)], me()).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (stop, path) = (stop.clone(), root.join("c.json"));
            std::thread::spawn(move || {
                let mut reads = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let text = fs::read_to_string(&path).expect("never missing");
                    assert!(
                        text.starts_with("{\"n\":") && text.ends_with("\"}"),
                        "torn read"
                    );
                    reads += 1;
                }
                reads
            })
        };
        for n in 1..=300 {
            write_generation(&root, &[file("c.json", &body(n), 0o644)], me()).unwrap();
            // Far faster than any refresh, yet paced so the reader gets turns
            // even on a loaded machine (a reader would have to stall for
            // MAX_GENERATIONS switches to miss a generation).
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
    }

    #[test]
    fn the_version_file_counts_switches_and_only_switches() {
        let dir = tempfile::tempdir().unwrap();
        let version = || fs::read_to_string(dir.path().join(VERSION_FILE)).unwrap();
        write_generation(dir.path(), &[file("a", "1", 0o644)], me()).unwrap();
        assert_eq!(version(), "1\n");
        write_generation(dir.path(), &[file("a", "1", 0o644)], me()).unwrap();
        assert_eq!(version(), "1\n", "no switch, same version");
        let outcome = write_generation(dir.path(), &[file("a", "2", 0o644)], me()).unwrap();
        assert_eq!(
            outcome,
            WriteOutcome::Switched {
                changed: vec!["a".into()],
                version: 2
            }
        );
        assert_eq!(version(), "2\n");
        let link = fs::read_link(dir.path().join(VERSION_FILE)).unwrap();
        assert_eq!(link, Path::new(DATA_LINK).join(VERSION_FILE));
        let meta = fs::metadata(dir.path().join(VERSION_FILE)).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o644);
    }

    #[test]
    fn the_version_file_name_is_not_a_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let result = write_generation(dir.path(), &[file(VERSION_FILE, "9", 0o644)], me());
        assert!(matches!(result, Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn debug_output_never_shows_the_bytes() {
        let shown = format!("{:?}", file("a", "hunter2", 0o644));
        assert!(!shown.contains("hunter2"));
    }
}
