//! sprig's regular expressions (Go's RE2 syntax, through the library's
//! translation to the `regex` crate): `regexMatch`, `regexFind`,
//! `regexFindAll`, `regexReplaceAll`, `regexReplaceAllLiteral`,
//! `regexSplit` and their `must` forms. The plain forms of the finders
//! panic on a bad pattern (`regexp.MustCompile`), `regexMatch` answers
//! false.

use ::regex::Regex;

use gotemplate::quote::{can_backquote, quote};
use gotemplate::value::Value;

use super::{add, int, text_arg};
use crate::args::{charge_bytes, string};
use crate::funcs::{Ctx, Func, FuncError, Funcs, Param};
use crate::regex::{compile, replace_all};

use Param::{Int, String as S};

/// Registers the functions.
pub(super) fn register(funcs: &mut Funcs) {
    add(
        funcs,
        "regexMatch",
        Func::new(&[S, S], |ctx, a| {
            let re = compiled(ctx, a, false).ok();
            Ok(Value::Bool(
                re.is_some_and(|re| re.is_match(text_arg(a, 1))),
            ))
        }),
    );
    add(
        funcs,
        "mustRegexMatch",
        Func::new(&[S, S], |ctx, a| {
            let re = compiled(ctx, a, false)?;
            Ok(Value::Bool(re.is_match(text_arg(a, 1))))
        }),
    );
    for (name, must) in [("regexFindAll", false), ("mustRegexFindAll", true)] {
        add(
            funcs,
            name,
            Func::new(&[S, S, Int], move |ctx, a| {
                let re = compiled(ctx, a, !must)?;
                let s = text_arg(a, 1);
                let found = find_all(&re, s, int(&a[2]));
                ctx.charge(found.len() as u64)?;
                Ok(if found.is_empty() {
                    Value::NilStrings
                } else {
                    Value::Strings(found.iter().map(|&(b, e)| s[b..e].to_string()).collect())
                })
            }),
        );
    }
    for (name, must) in [("regexFind", false), ("mustRegexFind", true)] {
        add(
            funcs,
            name,
            Func::new(&[S, S], move |ctx, a| {
                let re = compiled(ctx, a, !must)?;
                Ok(string(re.find(text_arg(a, 1)).map_or("", |m| m.as_str())))
            }),
        );
    }
    for (name, must, literal) in [
        ("regexReplaceAll", false, false),
        ("mustRegexReplaceAll", true, false),
        ("regexReplaceAllLiteral", false, true),
        ("mustRegexReplaceAllLiteral", true, true),
    ] {
        add(
            funcs,
            name,
            Func::new(&[S, S, S], move |ctx, a| {
                let re = compiled(ctx, a, !must)?;
                let (s, repl) = (text_arg(a, 1), text_arg(a, 2));
                // `$$` is a literal dollar in Go's replacement templates.
                let repl = if literal {
                    repl.replace('$', "$$")
                } else {
                    repl.to_string()
                };
                let out = replace_all(&re, s, &repl, &mut |n| charge_bytes(ctx, n))?;
                Ok(string(out))
            }),
        );
    }
    for (name, must) in [("regexSplit", false), ("mustRegexSplit", true)] {
        add(
            funcs,
            name,
            Func::new(&[S, S, Int], move |ctx, a| {
                let re = compiled(ctx, a, !must)?;
                let parts = split(&re, text_arg(a, 0), text_arg(a, 1), int(&a[2]));
                ctx.charge(parts.as_ref().map_or(0, Vec::len) as u64)?;
                Ok(parts.map_or(Value::NilStrings, Value::Strings))
            }),
        );
    }
}

/// Compiles argument 0; `panics`: the message `regexp.MustCompile` panics
/// with.
fn compiled(ctx: &mut Ctx<'_>, a: &[Value], panics: bool) -> Result<Regex, FuncError> {
    let pattern = text_arg(a, 0);
    charge_bytes(
        ctx,
        pattern
            .len()
            .saturating_mul(8)
            .saturating_add(text_arg(a, 1).len()),
    )?;
    compile(pattern).map_err(|e| {
        if panics {
            let shown = if can_backquote(pattern) {
                format!("`{pattern}`")
            } else {
                quote(pattern, false)
            };
            FuncError::new(format!("regexp: Compile({shown}): {}", e.message()))
        } else {
            e
        }
    })
}

/// Go's `allMatches`: successive leftmost matches, at most `n` (all when
/// negative), an empty match right after a match skipped.
fn find_all(re: &Regex, s: &str, n: i64) -> Vec<(usize, usize)> {
    let limit = if n < 0 { usize::MAX } else { n as usize };
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut prev_end: Option<usize> = None;
    while out.len() < limit && pos <= s.len() {
        let Some(m) = re.find_at(s, pos) else {
            break;
        };
        let mut accept = true;
        if m.end() == pos {
            if Some(m.start()) == prev_end {
                accept = false;
            }
            pos += s[pos..].chars().next().map_or(1, char::len_utf8);
        } else {
            pos = m.end();
        }
        prev_end = Some(m.end());
        if accept {
            out.push((m.start(), m.end()));
        }
    }
    out
}

/// Go's `Regexp.Split`; `None` is a nil slice.
fn split(re: &Regex, expr: &str, s: &str, n: i64) -> Option<Vec<String>> {
    if n == 0 {
        return None;
    }
    if !expr.is_empty() && s.is_empty() {
        return Some(vec![String::new()]);
    }
    let matches = find_all(re, s, n);
    let mut out = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for (start, stop) in matches {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = start;
        if stop != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = stop;
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> Regex {
        compile(p).unwrap()
    }

    #[test]
    fn find_all_skips_empty_matches_after_a_match() {
        let s = "baaac";
        let got: Vec<&str> = find_all(&re("a*"), s, -1)
            .iter()
            .map(|&(b, e)| &s[b..e])
            .collect();
        assert_eq!(got, ["", "aaa", ""]);
    }

    #[test]
    fn split_follows_go_samples() {
        assert_eq!(
            split(&re("a*"), "a*", "abaabaccadaaae", 5).unwrap(),
            ["", "b", "b", "c", "cadaaae"]
        );
        assert_eq!(split(&re("z+"), "z+", "pizza", -1).unwrap(), ["pi", "a"]);
        assert_eq!(split(&re(""), "", "abc", -1).unwrap(), ["a", "b", "c"]);
        assert!(split(&re("x"), "x", "abc", 0).is_none());
    }
}
