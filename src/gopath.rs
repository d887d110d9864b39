//! Go's `path` package semantics (slash-separated, lexical): the injector
//! and the agent compare and build paths this way, so the driver does too.

/// Go's `path.Clean`: collapses `//`, resolves `.` and `..`, drops a trailing
/// `/`; empty becomes `.`.
pub(crate) fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                // `/..` is `/`; a relative path keeps its leading `..`.
                _ if rooted => {}
                _ => parts.push(".."),
            },
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Go's `path.Join`: joins the non-empty parts with `/` and cleans the
/// result; all parts empty gives an empty string.
pub fn join(parts: &[&str]) -> String {
    let non_empty: Vec<&str> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
    if non_empty.is_empty() {
        return String::new();
    }
    clean(&non_empty.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_matches_go() {
        for (input, want) in [
            ("", "."),
            ("a//b", "a/b"),
            ("a/./b/", "a/b"),
            ("a/../b", "b"),
            ("../a", "../a"),
            ("/../a", "/a"),
            ("a/b/../../..", ".."),
            ("/", "/"),
            ("/vault//./secrets/", "/vault/secrets"),
        ] {
            assert_eq!(clean(input), want, "clean({input:?})");
        }
    }

    #[test]
    fn join_skips_empty_parts() {
        assert_eq!(join(&["secret/", "data", "x"]), "secret/data/x");
        assert_eq!(join(&["", ""]), "");
        assert_eq!(join(&["secret/", "data", ""]), "secret/data");
    }
}
