//! Paths: file names inside a volume, container mount paths, Vault mount paths.

use std::fmt;

/// Longest single file name Linux accepts.
const NAME_MAX: usize = 255;

/// A validated, normalised path relative to the volume root.
///
/// Never empty, never absolute, no `.` or `..` components, no empty components,
/// no control characters, and its first component does not start with `..`
/// (that prefix is reserved for the volume's atomic generation swap).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(String);

/// Why a file name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProblem {
    /// Nothing is left once `/` and `.` components are dropped.
    Empty,
    /// A `..` component would leave the volume (or climb inside it).
    ParentDir,
    /// The first component starts with `..`, which the volume uses itself.
    Reserved,
    /// A control character (including NUL) in the name.
    ControlChar,
    /// One component is longer than 255 bytes.
    TooLong,
}

impl fmt::Display for PathProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathProblem::Empty => "names no file",
            PathProblem::ParentDir => "contains a `..` component, which could leave the volume",
            PathProblem::Reserved => {
                "starts with `..`, which is reserved for the volume's own bookkeeping"
            }
            PathProblem::ControlChar => "contains a control character",
            PathProblem::TooLong => "has a component longer than 255 bytes",
        })
    }
}

impl RelPath {
    /// Validates and normalises `raw`: a leading `/` is dropped (an absolute
    /// value lives under the volume too), `./` and repeated `/` disappear.
    pub fn new(raw: &str) -> Result<RelPath, PathProblem> {
        if raw.chars().any(char::is_control) {
            return Err(PathProblem::ControlChar);
        }
        let mut parts = Vec::new();
        for part in raw.split('/') {
            match part {
                "" | "." => {}
                ".." => return Err(PathProblem::ParentDir),
                p if p.len() > NAME_MAX => return Err(PathProblem::TooLong),
                p => parts.push(p),
            }
        }
        match parts.first() {
            None => Err(PathProblem::Empty),
            Some(first) if first.starts_with("..") => Err(PathProblem::Reserved),
            Some(_) => Ok(RelPath(parts.join("/"))),
        }
    }

    /// The token file's path, `token`.
    pub fn token() -> RelPath {
        RelPath("token".to_owned())
    }

    /// The volume's version file, [`super::VERSION_FILE`].
    pub fn version_file() -> RelPath {
        RelPath(super::VERSION_FILE.to_owned())
    }

    /// The path as `a/b/c`, without leading or trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The components, first to last.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// True when the two paths cannot both be files: they are equal, or one is
    /// a directory the other needs.
    pub fn conflicts_with(&self, other: &RelPath) -> bool {
        let (a, b) = (self.as_str(), other.as_str());
        a == b || is_dir_prefix(a, b) || is_dir_prefix(b, a)
    }
}

/// `dir` is an ancestor directory of `path`.
fn is_dir_prefix(dir: &str, path: &str) -> bool {
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Container paths compare after Go's `path.Clean`, so that `/vault/secrets/`,
/// `/vault//secrets` and `/vault/./secrets` are one path.
pub(super) use crate::gopath::clean;

/// Why a Vault auth mount path or namespace was refused.
pub(super) fn vault_path_problem(path: &str) -> Option<&'static str> {
    if path.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Some("contains whitespace or a control character");
    }
    if path.contains(['?', '#', '%', '\\']) {
        return Some("contains one of ? # % \\");
    }
    if path
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..")
    {
        return Some("has an empty, `.` or `..` component");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(s: &str) -> Result<String, PathProblem> {
        RelPath::new(s).map(|p| p.as_str().to_owned())
    }

    #[test]
    fn relative_names_are_kept() {
        assert_eq!(rel("db"), Ok("db".into()));
        assert_eq!(rel("config/app.env"), Ok("config/app.env".into()));
        assert_eq!(rel(".env"), Ok(".env".into()));
        assert_eq!(rel("a/..b"), Ok("a/..b".into()));
    }

    #[test]
    fn absolute_names_are_joined_under_the_volume() {
        assert_eq!(rel("/etc/app.conf"), Ok("etc/app.conf".into()));
        assert_eq!(rel("//x"), Ok("x".into()));
    }

    #[test]
    fn dot_and_repeated_slashes_are_normalised() {
        assert_eq!(rel("./a//b/./c/"), Ok("a/b/c".into()));
    }

    #[test]
    fn names_without_a_file_are_refused() {
        for s in ["", "/", ".", "./", "/././/"] {
            assert_eq!(rel(s), Err(PathProblem::Empty), "{s:?}");
        }
    }

    #[test]
    fn parent_components_are_refused_anywhere() {
        for s in ["..", "../x", "a/../b", "/a/..", "a/b/../../.."] {
            assert_eq!(rel(s), Err(PathProblem::ParentDir), "{s:?}");
        }
    }

    #[test]
    fn first_component_with_dotdot_prefix_is_reserved() {
        assert_eq!(rel("..data"), Err(PathProblem::Reserved));
        assert_eq!(rel("/..2026_01_01/x"), Err(PathProblem::Reserved));
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(rel("a\0b"), Err(PathProblem::ControlChar));
        assert_eq!(rel("a\nb"), Err(PathProblem::ControlChar));
    }

    #[test]
    fn overlong_components_are_refused() {
        assert_eq!(rel(&"x".repeat(256)), Err(PathProblem::TooLong));
        assert!(rel(&"x".repeat(255)).is_ok());
    }

    #[test]
    fn conflicts_cover_equal_paths_and_directory_prefixes() {
        let p = |s| RelPath::new(s).unwrap();
        assert!(p("a").conflicts_with(&p("a")));
        assert!(p("a").conflicts_with(&p("a/b")));
        assert!(p("a/b").conflicts_with(&p("a")));
        assert!(!p("a").conflicts_with(&p("ab")));
        assert!(!p("a/b").conflicts_with(&p("a/c")));
    }

    #[test]
    fn vault_paths_refuse_odd_components_and_characters() {
        assert_eq!(vault_path_problem("auth/kubernetes"), None);
        assert_eq!(vault_path_problem("team-a/child"), None);
        assert!(vault_path_problem("auth//k8s").is_some());
        assert!(vault_path_problem("auth/../sys").is_some());
        assert!(vault_path_problem("auth/k8s?x=1").is_some());
        assert!(vault_path_problem("auth/k 8s").is_some());
    }
}
