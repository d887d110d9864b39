//! `sprig_env` and `sprig_expandenv` read the Pod's environment
//! (`NAMESPACE`, `POD_NAME`, `POD_UID`, `SERVICE_ACCOUNT`), as the agent
//! container would see them, never the driver's own process environment
//! (the driver runs as root on the node).

use super::{add, text_arg};
use crate::args::{charge_bytes, string};
use crate::funcs::{Ctx, Func, Funcs, Param};

/// Registers `env` and `expandenv`.
pub(super) fn register(funcs: &mut Funcs) {
    add(
        funcs,
        "env",
        Func::new(&[Param::String], |ctx, a| {
            Ok(string(
                ctx.host_ref().env(text_arg(a, 0)).unwrap_or_default(),
            ))
        }),
    );
    add(
        funcs,
        "expandenv",
        Func::new(&[Param::String], |ctx, a| {
            let s = text_arg(a, 0);
            charge_bytes(ctx, s.len())?;
            let out = expand(s, &mut |name| lookup(ctx, name));
            charge_bytes(ctx, out.len())?;
            Ok(string(out))
        }),
    );
}

fn lookup(ctx: &Ctx<'_>, name: &str) -> String {
    ctx.host_ref().env(name).unwrap_or_default().to_string()
}

fn is_shell_special(c: u8) -> bool {
    matches!(
        c,
        b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-' | b'0'..=b'9'
    )
}

fn is_alnum(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

/// Go's `os.getShellName`: the name after a `$` and how many bytes it
/// takes (a name of "" with a width is bad syntax that is dropped).
fn shell_name(s: &[u8]) -> (&[u8], usize) {
    if s[0] == b'{' {
        if s.len() > 2 && is_shell_special(s[1]) && s[2] == b'}' {
            return (&s[1..2], 3);
        }
        for i in 1..s.len() {
            if s[i] == b'}' {
                if i == 1 {
                    return (&[], 2);
                }
                return (&s[1..i], i + 1);
            }
        }
        return (&[], 1);
    }
    if is_shell_special(s[0]) {
        return (&s[0..1], 1);
    }
    let i = s.iter().take_while(|&&c| is_alnum(c)).count();
    (&s[..i], i)
}

/// Go's `os.Expand`.
pub(super) fn expand(s: &str, mapping: &mut dyn FnMut(&str) -> String) -> String {
    let b = s.as_bytes();
    let mut buf: Option<Vec<u8>> = None;
    let mut i = 0;
    let mut j = 0;
    while j < b.len() {
        if b[j] == b'$' && j + 1 < b.len() {
            let out = buf.get_or_insert_with(Vec::new);
            out.extend_from_slice(&b[i..j]);
            let (name, w) = shell_name(&b[j + 1..]);
            if name.is_empty() && w > 0 {
                // Bad syntax: the characters are dropped.
            } else if name.is_empty() {
                out.push(b[j]);
            } else {
                out.extend_from_slice(mapping(&String::from_utf8_lossy(name)).as_bytes());
            }
            j += w;
            i = j + 1;
        }
        j += 1;
    }
    match buf {
        None => s.to_string(),
        Some(mut out) => {
            out.extend_from_slice(&b[i.min(b.len())..]);
            String::from_utf8(out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> String {
        match name {
            "HOME" => "/home".into(),
            "*" => "all".into(),
            _ => String::new(),
        }
    }

    #[test]
    fn expand_follows_go() {
        for (input, want) in [
            ("$HOME/x", "/home/x"),
            ("${HOME}x", "/homex"),
            ("$", "$"),
            ("a$", "a$"),
            ("$$", ""),
            ("${}", ""),
            ("${", ""),
            ("$*", "all"),
            ("${*}", "all"),
            ("$ x", "$ x"),
            ("no vars", "no vars"),
            ("$UNSET-", "-"),
        ] {
            assert_eq!(expand(input, &mut |n| env(n)), want, "{input}");
        }
    }
}
