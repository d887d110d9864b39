//! `base`, `dir`, `clean`, `ext`, `isAbs` (Go's `path`) and their `os`
//! forms (`path/filepath`, which on Linux, where the agent runs, are the
//! same). They only look at the text: no file is touched.

use gotemplate::value::Value;

use super::{add, text_arg};
use crate::args::{charge_bytes, string};
use crate::funcs::{Func, Funcs, Param};

/// Registers the path functions.
pub(super) fn register(funcs: &mut Funcs) {
    for (prefix_free, os) in [
        ("base", "osBase"),
        ("dir", "osDir"),
        ("clean", "osClean"),
        ("ext", "osExt"),
    ] {
        let f: fn(&str) -> String = match prefix_free {
            "base" => base,
            "dir" => dir,
            "clean" => clean,
            _ => |p: &str| ext(p).to_string(),
        };
        for name in [prefix_free, os] {
            add(
                funcs,
                name,
                Func::new(&[Param::String], move |ctx, a| {
                    let p = text_arg(a, 0);
                    charge_bytes(ctx, p.len())?;
                    Ok(string(f(p)))
                }),
            );
        }
    }
    for name in ["isAbs", "osIsAbs"] {
        add(
            funcs,
            name,
            Func::new(&[Param::String], |_, a| {
                Ok(Value::Bool(text_arg(a, 0).starts_with('/')))
            }),
        );
    }
}

/// Go's `path.Clean`.
pub(super) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let p = path.as_bytes();
    let rooted = p[0] == b'/';
    let n = p.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0, 0);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    while r < n {
        if p[r] == b'/' || (p[r] == b'.' && (r + 1 == n || p[r + 1] == b'/')) {
            r += 1;
        } else if p[r] == b'.' && p[r + 1] == b'.' && (r + 2 == n || p[r + 2] == b'/') {
            r += 2;
            if out.len() > dotdot {
                let mut w = out.len() - 1;
                while w > dotdot && out[w] != b'/' {
                    w -= 1;
                }
                out.truncate(w);
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && p[r] != b'/' {
                out.push(p[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return ".".into();
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Go's `path.Base`.
fn base(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let trimmed = path.trim_end_matches('/');
    let last = match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    };
    if last.is_empty() {
        "/".into()
    } else {
        last.into()
    }
}

/// Go's `path.Dir`.
fn dir(path: &str) -> String {
    let cut = path.rfind('/').map_or(0, |i| i + 1);
    clean(&path[..cut])
}

/// Go's `path.Ext`.
fn ext(path: &str) -> &str {
    for (i, b) in path.bytes().enumerate().rev() {
        if b == b'/' {
            break;
        }
        if b == b'.' {
            return &path[i..];
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_follows_go() {
        for (input, want) in [
            ("", "."),
            ("a/c", "a/c"),
            ("a//c", "a/c"),
            ("a/c/.", "a/c"),
            ("a/c/b/..", "a/c"),
            ("/../c", "/c"),
            ("../../abc", "../../abc"),
            ("abc/../../././../def", "../../def"),
            ("/abc/def/../../..", "/"),
            ("a/../..", ".."),
            ("./", "."),
        ] {
            assert_eq!(clean(input), want, "{input}");
        }
    }

    #[test]
    fn base_dir_ext_follow_go() {
        assert_eq!(base("/a/b/"), "b");
        assert_eq!(base("///"), "/");
        assert_eq!(dir("/a/b/c"), "/a/b");
        assert_eq!(dir("abc"), ".");
        assert_eq!(ext("a/b.tar.gz"), ".gz");
        assert_eq!(ext("a.b/c"), "");
    }
}
